//! The remote backend through the real binary: one scripted CLI session run against an
//! embedded store and against `console serve` must print the same output and exit with the
//! same codes; export from one, import into the other, export again gives the same
//! documents; and an unreachable or silent server fails fast with exit 1, naming the URL.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_console");

struct Dirs {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Dirs {
    fn new() -> Dirs {
        let tmp = tempfile::tempdir().unwrap();
        Dirs {
            root: tmp.path().to_path_buf(),
            _tmp: tmp,
        }
    }

    fn cmd(&self) -> Command {
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
        c.env("CONSOLE_DATA_DIR", self.root.join("data"))
            .env("CONSOLE_CONFIG_DIR", self.root.join("config"))
            .stdin(Stdio::null());
        c
    }
}

/// A `console serve` child on 127.0.0.1 and an API key for its `default` workspace.
struct Server {
    child: Child,
    url: String,
    key: String,
    store: PathBuf,
}

impl Server {
    fn start(dirs: &Dirs, store: &Path, listen: &str) -> Server {
        let out = dirs
            .cmd()
            .args([
                "--store",
                store.to_str().unwrap(),
                "keys",
                "create",
                "--workspace",
                "default",
                "--json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut server = Server::spawn(dirs, store, listen);
        server.key = key["key"].as_str().unwrap().to_string();
        server
    }

    fn spawn(dirs: &Dirs, store: &Path, listen: &str) -> Server {
        let mut child = dirs
            .cmd()
            .args([
                "serve",
                "--store",
                store.to_str().unwrap(),
                "--listen",
                listen,
            ])
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
            .expect("the serve banner")
            .to_string();
        Server {
            child,
            url,
            key: String::new(),
            store: store.to_path_buf(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces RFC 3339 times (`2026-11-23T09:20:01.120Z`) and relative ages with a marker.
fn normalize(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let t = &bytes[i..];
        let is_time = t.len() >= 24
            && t[..24].iter().enumerate().all(|(j, c)| match j {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                19 => *c == b'.',
                23 => *c == b'Z',
                _ => c.is_ascii_digit(),
            });
        if is_time {
            out.push_str("<time>");
            i += 24;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    out
}

/// The session both backends run: (arguments, standard input).
fn session() -> Vec<(Vec<&'static str>, Option<&'static str>)> {
    let s = |args: &[&'static str]| (args.to_vec(), None);
    vec![
        s(&["list"]),
        s(&[
            "set",
            "signals",
            "2026-03-05",
            r#"{"pending": ["a"], "done": []}"#,
        ]),
        s(&[
            "set",
            "signals",
            "2026-03-05",
            r#"{"pending": [], "done": ["a"]}"#,
            "--version",
            "1",
        ]),
        s(&[
            "set",
            "signals",
            "2026-03-05",
            r#"{"x": 1}"#,
            "--version",
            "1",
        ]),
        s(&[
            "set",
            "signals",
            "2026-03-05",
            r#"{"x": 1}"#,
            "--create-only",
        ]),
        (
            vec!["set", "signals", "from-stdin", "-"],
            Some(r#"{"via": "stdin"}"#),
        ),
        s(&["get", "signals", "2026-03-05"]),
        s(&["get", "signals", "2026-03-05", "--raw"]),
        s(&["get", "signals", "2026-03-05", "--json"]),
        s(&[
            "patch",
            "signals",
            "2026-03-05",
            r#"{"reviewed": true, "pending": null}"#,
        ]),
        s(&[
            "patch",
            "signals",
            "2026-03-05",
            r#"{"x": 1}"#,
            "--version",
            "1",
        ]),
        s(&["patch", "signals", "missing", r#"{"x": 1}"#]),
        s(&["get", "signals", "2026-03-05", "--raw"]),
        s(&["list"]),
        s(&["list", "signals"]),
        s(&["list", "signals", "--limit", "1"]),
        s(&["list", "signals", "--limit", "1", "--all"]),
        s(&[
            "list",
            "signals",
            "--fields",
            "key,version,size_bytes,updated_by",
        ]),
        s(&["list", "signals", "--prefix", "from"]),
        s(&["list", "signals", "--cursor", "zz"]),
        s(&["list", "signals", "--limit", "5000"]),
        s(&["incr", "counters", "emails", "sent", "--by", "5"]),
        s(&["incr", "counters", "emails", "sent", "--by", "-2"]),
        s(&["incr", "signals", "2026-03-05", "reviewed"]),
        s(&["history", "signals", "2026-03-05"]),
        s(&[
            "history",
            "signals",
            "2026-03-05",
            "--version",
            "1",
            "--raw",
        ]),
        s(&["history", "signals", "2026-03-05", "--version", "99"]),
        s(&["stats", "signals"]),
        s(&["stats", "nope"]),
        s(&["get", "signals", "missing"]),
        s(&["get", "Signals", "k"]),
        s(&["get", "signals", "bad/key"]),
        s(&["set", "signals", "k", "42"]),
        s(&["set", "signals", "k", "{not json"]),
        s(&["delete", "signals", "from-stdin", "--version", "7"]),
        s(&["delete", "signals", "from-stdin"]),
        s(&["delete", "signals", "from-stdin"]),
        s(&["delete", "counters", "--all", "--yes"]),
        s(&["delete", "counters", "--all", "--yes"]),
        s(&["list"]),
    ]
}

fn run_session(dirs: &Dirs, backend: &[String]) -> Vec<(i32, String, String)> {
    session()
        .into_iter()
        .map(|(args, stdin)| {
            let mut cmd = dirs.cmd();
            cmd.args(backend)
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            if stdin.is_some() {
                cmd.stdin(Stdio::piped());
            }
            let mut child = cmd.spawn().unwrap();
            if let Some(text) = stdin {
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(text.as_bytes())
                    .unwrap();
            }
            let out = child.wait_with_output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                normalize(&String::from_utf8_lossy(&out.stdout)),
                normalize(&String::from_utf8_lossy(&out.stderr)),
            )
        })
        .collect()
}

#[test]
fn the_same_session_gives_the_same_output_on_both_backends() {
    let dirs = Dirs::new();
    let server = Server::start(&dirs, &dirs.root.join("served.db"), "127.0.0.1:0");
    let embedded = vec![
        "--store".to_string(),
        dirs.root.join("local.db").display().to_string(),
    ];
    let remote = vec![
        "--remote".to_string(),
        server.url.clone(),
        "--api-key".to_string(),
        server.key.clone(),
    ];
    let local = run_session(&dirs, &embedded);
    let served = run_session(&dirs, &remote);
    let mut codes = Vec::new();
    for (((args, _), l), r) in session().iter().zip(&local).zip(&served) {
        assert_eq!(
            l,
            r,
            "`console {}` differs between the embedded store (left) and the server (right)",
            args.join(" ")
        );
        codes.push(l.0);
    }
    // The session exercises success and every error kind a store can produce.
    for code in [0, 3, 4, 5] {
        assert!(
            codes.contains(&code),
            "no command of the session exited {code}: {codes:?}"
        );
    }
    // Writes through the remote backend from the CLI are recorded as `cli`.
    assert!(
        served
            .iter()
            .any(|(_, out, _)| out.contains("\"updated_by\":\"cli\""))
    );
}

fn export(dirs: &Dirs, backend: &[String]) -> Vec<serde_json::Value> {
    let out = dirs.cmd().args(backend).arg("export").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let d: serde_json::Value = serde_json::from_str(l).unwrap();
            serde_json::json!({"namespace": d["namespace"], "key": d["key"], "value": d["value"], "version": d["version"]})
        })
        .collect()
}

#[test]
fn export_import_export_round_trips_through_a_server() {
    let dirs = Dirs::new();
    let local = vec![
        "--store".to_string(),
        dirs.root.join("local.db").display().to_string(),
    ];
    for (ns, key, value) in [
        ("findings", "f1", r#"{"severity":"high"}"#),
        ("findings", "f2", "[1,2]"),
        ("state", "cp", r#"{"n":1}"#),
    ] {
        let ok = dirs
            .cmd()
            .args(&local)
            .args(["set", ns, key, value])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let ok = dirs
        .cmd()
        .args(&local)
        .args(["patch", "findings", "f1", r#"{"reviewed":true}"#])
        .status()
        .unwrap();
    assert!(ok.success());
    let before = export(&dirs, &local);
    assert_eq!(before.len(), 3);

    let server = Server::start(&dirs, &dirs.root.join("served.db"), "127.0.0.1:0");
    let remote = vec![
        "--remote".to_string(),
        server.url.clone(),
        "--api-key".to_string(),
        server.key.clone(),
    ];
    let file = dirs.root.join("export.jsonl");
    let out = dirs
        .cmd()
        .args(&local)
        .args(["export", "-o", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = dirs
        .cmd()
        .args(&remote)
        .args(["import", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = export(&dirs, &remote);
    assert_eq!(before, after, "values and versions survive the move");
    assert!(after.iter().any(|d| d["version"] == 2));

    // A bad export line changes nothing.
    let bad = dirs.root.join("bad.jsonl");
    std::fs::write(&bad, "{\"namespace\":\"x\",\"key\":\"k\",\"value\":{},\"version\":1,\"size_bytes\":2,\"created_at\":\"\",\"updated_at\":\"\",\"updated_by\":\"\",\"expires_at\":null}\nnot json\n").unwrap();
    let out = dirs
        .cmd()
        .args(&remote)
        .args(["import", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
    assert_eq!(export(&dirs, &remote), after);
}

#[test]
fn a_stopped_server_fails_fast_with_exit_1_naming_the_url() {
    let dirs = Dirs::new();
    let server = Server::start(&dirs, &dirs.root.join("served.db"), "127.0.0.1:0");
    let (url, key, store) = (server.url.clone(), server.key.clone(), server.store.clone());
    drop(server);
    let started = Instant::now();
    let out = dirs
        .cmd()
        .args([
            "--remote",
            &url,
            "--api-key",
            &key,
            "--timeout",
            "3",
            "list",
        ])
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&url), "{err}");

    // A server that accepts connections but never answers: the configured timeout holds.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let started = Instant::now();
    let out = dirs
        .cmd()
        .args([
            "--remote",
            &silent_url,
            "--api-key",
            &key,
            "--timeout",
            "1",
            "get",
            "a",
            "b",
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&silent_url) && err.trim().lines().count() == 1,
        "{err}"
    );
    drop(silent);

    // A wrong key is exit 7, with the server's message.
    let server = Server::spawn(&dirs, &store, "127.0.0.1:0");
    let out = dirs
        .cmd()
        .args(["--remote", &server.url, "--api-key", "csk_nope", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&out.stderr).contains("UNAUTHORIZED"));
}

#[test]
fn profiles_select_a_remote_and_read_its_key_from_the_environment() {
    let dirs = Dirs::new();
    let server = Server::start(&dirs, &dirs.root.join("served.db"), "127.0.0.1:0");
    let config = dirs.root.join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[profiles.team]\nremote = \"{}\"\napi_key_env = \"TEAM_KEY\"\n\n[profiles.viewer]\nremote = \"{}\"\napi_key_command = \"printf %s $TEAM_KEY\"\nread_only = true\n",
            server.url, server.url
        ),
    )
    .unwrap();
    let out = dirs
        .cmd()
        .env("TEAM_KEY", &server.key)
        .args(["--profile", "team", "set", "ns", "k", "{}"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = dirs
        .cmd()
        .env("TEAM_KEY", &server.key)
        .args(["--profile", "viewer", "get", "ns", "k", "--raw"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "{}");
    let out = dirs
        .cmd()
        .env("TEAM_KEY", &server.key)
        .args(["--profile", "viewer", "delete", "ns", "k"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(7),
        "a read-only profile refuses writes"
    );
    let out = dirs
        .cmd()
        .args(["--profile", "team", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "the key's variable is not set");
    let out = dirs
        .cmd()
        .env("CONSOLE_API_KEY", "csk_secret_value")
        .args(["config", "show"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("[profiles.team]") && !shown.contains("csk_secret_value"),
        "{shown}"
    );
}
