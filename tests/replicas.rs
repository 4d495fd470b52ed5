//! `console serve` as N stateless replicas on one PostgreSQL database (issue 14's
//! acceptance): three real `console serve` processes on 127.0.0.1, clients spread over
//! them. CAS increments lose nothing, a quota holds across replicas, a change feed that
//! hops between replicas sees every change once and in order, killing a replica loses no
//! acknowledged write, and a revoked key is refused by every replica within a second.
//! Loops are bounded; the database is a throwaway cluster (`common/pg.rs`).

use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_console");

/// The binary with a private config and data dir.
fn console(root: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    for var in [
        "CONSOLE_STORE",
        "CONSOLE_REMOTE",
        "CONSOLE_API_KEY",
        "CONSOLE_WORKSPACE",
        "CONSOLE_PROFILE",
    ] {
        c.env_remove(var);
    }
    c.env("CONSOLE_DATA_DIR", root.join("data"))
        .env("CONSOLE_CONFIG_DIR", root.join("config"))
        .stdin(Stdio::null());
    c
}

struct Replica {
    child: Child,
    url: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three replicas on a fresh database, and the database's URL.
struct Cluster {
    _dir: tempfile::TempDir,
    db: String,
    replicas: Vec<Replica>,
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let db = common::pg::cluster()?.database();
        let dir = tempfile::tempdir().unwrap();
        let replicas = (0..3)
            .map(|_| {
                let mut child = console(dir.path())
                    .args(["serve", "--store", &db, "--listen", "127.0.0.1:0"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let mut line = String::new();
                BufReader::new(child.stdout.take().unwrap())
                    .read_line(&mut line)
                    .unwrap();
                let url = line
                    .trim()
                    .strip_prefix("listening on ")
                    .expect("banner")
                    .to_string();
                Replica { child, url }
            })
            .collect();
        Some(Cluster {
            _dir: dir,
            db,
            replicas,
        })
    }

    /// Runs the CLI on the database; returns its JSON output.
    fn cli(&self, args: &[&str]) -> Value {
        let out = console(self._dir.path())
            .args(["--store", &self.db, "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn key(&self, ws: &str) -> String {
        self.cli(&["keys", "create", "--workspace", ws])["key"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn url(&self, replica: usize, path: &str) -> String {
        format!("{}{path}", self.replicas[replica % self.replicas.len()].url)
    }
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[test]
fn cas_increments_through_three_replicas_lose_nothing() {
    let Some(c) = Cluster::start() else { return };
    let key = c.key("default");
    let http = client();
    let r = http
        .put(c.url(0, "/storage/counters/c"))
        .bearer_auth(&key)
        .json(&json!({"n": 0}))
        .send()
        .unwrap();
    assert!(r.status().is_success());
    std::thread::scope(|s| {
        for t in 0..32 {
            let (c, key) = (&c, &key);
            s.spawn(move || {
                let http = client();
                let mut attempt = t;
                for _ in 0..50 {
                    loop {
                        attempt += 1;
                        assert!(attempt < t + 50 * 400, "too many conflicts");
                        let got: Value = http
                            .get(c.url(attempt, "/storage/counters/c"))
                            .bearer_auth(key)
                            .send()
                            .unwrap()
                            .json()
                            .unwrap();
                        let (v, n) = (
                            got["version"].as_u64().unwrap(),
                            got["value"]["n"].as_u64().unwrap(),
                        );
                        let r = http
                            .put(c.url(attempt + 1, "/storage/counters/c"))
                            .bearer_auth(key)
                            .header("If-Match", v.to_string())
                            .json(&json!({"n": n + 1}))
                            .send()
                            .unwrap();
                        match r.status() {
                            s if s.is_success() => break,
                            StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => continue,
                            s => panic!("unexpected {s}: {}", r.text().unwrap()),
                        }
                    }
                }
            });
        }
    });
    let got: Value = http
        .get(c.url(2, "/storage/counters/c"))
        .bearer_auth(&key)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(got["value"]["n"], 32 * 50, "{got}");
    assert_eq!(got["version"], 32 * 50 + 1);
    // The count is in PostgreSQL itself.
    let stored = common::pg::cluster().unwrap().psql(
        &c.db,
        "SELECT value FROM documents WHERE namespace = 'counters' AND key = 'c'",
    );
    assert_eq!(serde_json::from_str::<Value>(&stored).unwrap()["n"], 1600);
}

#[test]
fn a_free_tier_quota_holds_across_replicas() {
    let Some(c) = Cluster::start() else { return };
    c.cli(&["workspaces", "create", "small", "--tier", "free"]);
    let key = c.key("small");
    let acked = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..32 {
            let (c, key, acked) = (&c, &key, &acked);
            s.spawn(move || {
                let http = client();
                for j in 0..12 {
                    let path = format!("/storage/ns{}/w{t}-{j}", (t + j) % 8);
                    let r = http
                        .put(c.url(t + j, &path))
                        .bearer_auth(key)
                        .json(&json!({"t": t, "j": j}))
                        .send()
                        .unwrap();
                    match r.status().as_u16() {
                        200 | 201 => {
                            acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        413 | 403 | 429 | 507 => {}
                        s => panic!("unexpected {s}: {}", r.text().unwrap()),
                    }
                }
            });
        }
    });
    let pg = common::pg::cluster().unwrap();
    let namespaces: u64 = pg
        .psql(
            &c.db,
            "SELECT count(DISTINCT namespace) FROM documents WHERE workspace = 'small'",
        )
        .parse()
        .unwrap();
    let fullest: u64 = pg
        .psql(
            &c.db,
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM documents
             WHERE workspace = 'small' GROUP BY namespace) t",
        )
        .parse()
        .unwrap();
    let docs: u64 = pg
        .psql(
            &c.db,
            "SELECT count(*) FROM documents WHERE workspace = 'small'",
        )
        .parse()
        .unwrap();
    assert!(namespaces <= 5, "{namespaces} namespaces on the free tier");
    assert!(
        fullest <= 100,
        "{fullest} documents in one namespace on the free tier"
    );
    // 384 attempts over 8 namespaces: the limits were reached, and every acknowledged
    // write is there.
    assert_eq!(namespaces, 5);
    assert_eq!(docs, acked.load(std::sync::atomic::Ordering::SeqCst));
}

/// Reads one SSE stream until `want` change events arrived or it ends; returns them as
/// (id, key).
fn read_feed(http: &Client, url: &str, key: &str, after: u64, want: usize) -> Vec<(u64, String)> {
    let r = http
        .get(url)
        .bearer_auth(key)
        .header("Last-Event-ID", after.to_string())
        .timeout(Duration::from_secs(60))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let mut got = Vec::new();
    let (mut id, mut event) = (None, String::new());
    for line in BufReader::new(r).lines() {
        let line = line.unwrap();
        if let Some(v) = line.strip_prefix("id:") {
            id = Some(v.trim().parse::<u64>().unwrap());
        } else if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            if event == "change" {
                let data: Value = serde_json::from_str(v.trim()).unwrap();
                got.push((id.unwrap(), data["key"].as_str().unwrap_or("").to_string()));
                if got.len() == want {
                    return got;
                }
            } else if event == "error" {
                panic!("feed error: {v}");
            }
        } else if line.is_empty() {
            event.clear();
        }
    }
    got
}

#[test]
fn a_feed_hopping_between_replicas_sees_every_change_once_in_order() {
    let Some(c) = Cluster::start() else { return };
    let key = c.key("feeds");
    const WRITES: usize = 3000;
    let (collected, writers_done) = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let http = client();
            let mut all: Vec<(u64, String)> = Vec::new();
            let mut hop = 0;
            let deadline = Instant::now() + Duration::from_secs(480);
            while all.len() < WRITES && Instant::now() < deadline {
                let after = all.last().map_or(0, |(id, _)| *id);
                let url = c.url(hop, "/storage/f/_watch");
                all.extend(read_feed(
                    &http,
                    &url,
                    &key,
                    after,
                    100.min(WRITES - all.len()),
                ));
                hop += 1;
            }
            all
        });
        let writers: Vec<_> = (0..6)
            .map(|t| {
                let (c, key) = (&c, &key);
                s.spawn(move || {
                    let http = client();
                    for i in (t..WRITES).step_by(6) {
                        let r = http
                            .put(c.url(i, &format!("/storage/f/k{i}")))
                            .bearer_auth(key)
                            .json(&json!({"i": i}))
                            .send()
                            .unwrap();
                        assert!(r.status().is_success(), "{}", r.status());
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        (reader.join().unwrap(), true)
    });
    assert!(writers_done);
    let ids: Vec<u64> = collected.iter().map(|(id, _)| *id).collect();
    let expected: Vec<u64> = (1..=ids.len() as u64).collect();
    assert_eq!(ids, expected, "ids in order, no gap, no repeat");
    assert_eq!(collected.len(), WRITES, "changes seen");
    let mut keys: Vec<&str> = collected.iter().map(|(_, k)| k.as_str()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), WRITES, "every key exactly once");
}

#[test]
fn killing_a_replica_loses_no_acknowledged_write() {
    let Some(mut c) = Cluster::start() else {
        return;
    };
    let key = c.key("default");
    let acked = std::sync::Mutex::new(Vec::<(String, u64)>::new());
    std::thread::scope(|s| {
        let (cr, key, acked) = (&c, &key, &acked);
        let writers: Vec<_> = (0..6)
            .map(|t| {
                s.spawn(move || {
                    let http = Client::builder()
                        .timeout(Duration::from_secs(5))
                        .build()
                        .unwrap();
                    for i in 0..150 {
                        let path = format!("/storage/k/t{t}-{i}");
                        // Replica 0 dies part-way: writes sent there may fail, unacknowledged.
                        if let Ok(r) = http
                            .put(cr.url(t + i, &path))
                            .bearer_auth(key)
                            .json(&json!({"i": i}))
                            .send()
                            && r.status().is_success()
                        {
                            let v: Value = r.json().unwrap();
                            acked
                                .lock()
                                .unwrap()
                                .push((format!("t{t}-{i}"), v["version"].as_u64().unwrap()));
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(700));
        let victim = &cr.replicas[0];
        // SIGKILL: no shutdown, no flush.
        let _ = Command::new("kill")
            .args(["-KILL", &victim.child.id().to_string()])
            .status();
        for w in writers {
            w.join().unwrap();
        }
    });
    c.replicas.remove(0);
    let acked = acked.into_inner().unwrap();
    assert!(
        acked.len() > 600,
        "the other replicas kept serving: {} acknowledged",
        acked.len()
    );
    let http = client();
    for (k, v) in &acked {
        let r = http
            .get(c.url(0, &format!("/storage/k/{k}")))
            .bearer_auth(&key)
            .send()
            .unwrap();
        assert!(r.status().is_success(), "acknowledged {k} is gone");
        let got: Value = r.json().unwrap();
        assert!(got["version"].as_u64().unwrap() >= *v);
    }
    // The survivors still take writes.
    for i in 0..2 {
        let r = http
            .put(c.url(i, "/storage/k/after"))
            .bearer_auth(&key)
            .json(&json!({}))
            .send()
            .unwrap();
        assert!(r.status().is_success());
    }
}

#[test]
fn a_revoked_key_is_refused_by_every_replica_within_a_second() {
    let Some(c) = Cluster::start() else { return };
    let created = c.cli(&["keys", "create", "--workspace", "default"]);
    let (key, id) = (
        created["key"].as_str().unwrap(),
        created["id"].as_str().unwrap(),
    );
    let http = client();
    // Every replica has verified (and cached) the key.
    for i in 0..3 {
        for _ in 0..3 {
            let r = http
                .get(c.url(i, "/storage"))
                .bearer_auth(key)
                .send()
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }
    }
    c.cli(&["keys", "revoke", id]);
    let revoked = Instant::now();
    let mut refused = [false; 3];
    while refused.iter().any(|r| !r) {
        assert!(
            revoked.elapsed() < Duration::from_secs(1),
            "still accepted after 1 s by replicas {refused:?}"
        );
        for (i, done) in refused.iter_mut().enumerate() {
            let r = http
                .get(c.url(i, "/storage"))
                .bearer_auth(key)
                .send()
                .unwrap();
            *done |= r.status() == StatusCode::UNAUTHORIZED;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
