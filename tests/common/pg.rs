//! A throwaway PostgreSQL cluster for the tests: `initdb` and `pg_ctl` from Debian's
//! `postgresql` package, in a temporary directory, listening on 127.0.0.1 on a free
//! port, trusted local connections. One cluster per test process (started on first use);
//! each fixture gets a database of its own. A watchdog stops the cluster and removes its
//! directory when the test process ends, however it ends.
//!
//! As root (CI, the dev container) the cluster runs as user `postgres`: `initdb` refuses
//! root. Without PostgreSQL installed, `cluster()` fails the test under CI (`CI` set) and
//! otherwise says so loudly on stderr and returns `None`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Cluster {
    pub port: u16,
    pub dir: PathBuf,
    pub bin: PathBuf,
    databases: AtomicUsize,
}

/// The directory of `initdb` and `pg_ctl`: `CONSOLE_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CONSOLE_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args…`, as user `postgres` when we are root.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut c: Command, what: &str) {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start() -> Option<Cluster> {
    let Some(bin) = bin_dir() else {
        let msg = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
                   install the `postgresql` package (.ci/run does)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("\n!!!!!!!! SKIPPING POSTGRESQL TESTS: {msg} !!!!!!!!\n");
        return None;
    };
    let dir = tempfile::Builder::new()
        .prefix("console-pg-")
        .tempdir()
        .unwrap()
        .keep();
    if is_root() {
        run(
            {
                let mut c = Command::new("chown");
                c.args(["-R", "postgres:postgres"]).arg(&dir);
                c
            },
            "chown",
        );
    }
    let data = dir.join("data");
    let mut init = as_owner(&bin.join("initdb"));
    init.args([
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--no-sync",
        "-D",
    ])
    .arg(&data);
    run(init, "initdb");
    let port = free_port();
    let options = format!(
        "-c listen_addresses=127.0.0.1 -p {port} -k {} -c max_connections=300 \
         -c shared_buffers=32MB",
        dir.display()
    );
    let mut ctl = as_owner(&bin.join("pg_ctl"));
    ctl.args(["-w", "-t", "60", "-D"])
        .arg(&data)
        .args(["-l"])
        .arg(dir.join("log"))
        .args(["-o", &options, "start"]);
    run(ctl, "pg_ctl start");
    // The watchdog: when this process is gone, stop the cluster and remove it.
    let watchdog = format!(
        "while [ -d /proc/{pid} ]; do sleep 0.5; done; \
         {ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let mut w = as_owner(Path::new("sh"));
    w.args(["-c", &watchdog])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // Never waited for: it outlives this process on purpose.
    #[allow(clippy::zombie_processes)]
    w.spawn().expect("start the cluster's watchdog");
    Some(Cluster {
        port,
        dir,
        bin,
        databases: AtomicUsize::new(0),
    })
}

/// The cluster of this test process, started on first use; `None` (said loudly) when
/// PostgreSQL is not installed outside CI.
pub fn cluster() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER.get_or_init(start).as_ref()
}

impl Cluster {
    /// The URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A new, empty database; returns its URL.
    pub fn database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::SeqCst);
        let name = format!("t{}_{n}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    /// Runs `sql` with `psql` on database `db` (the URL's last part or a name) and returns
    /// its unaligned output: tests look into the database with it.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let db = db.rsplit('/').next().unwrap_or(db);
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
            ])
            .args(["-p", &self.port.to_string(), "-d", db, "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}
