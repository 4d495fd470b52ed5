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
        s(&["diff", "signals", "2026-03-05", "1"]),
        s(&["diff", "signals", "2026-03-05", "1", "2"]),
        s(&["diff", "signals", "2026-03-05", "99"]),
        s(&[
            "revert",
            "signals",
            "2026-03-05",
            "--version",
            "1",
            "--if-version",
            "1",
        ]),
        s(&["revert", "signals", "2026-03-05", "--version", "1"]),
        s(&["diff", "signals", "2026-03-05", "1"]),
        s(&["set", "signals", "k", "@/nonexistent/value.json"]),
        s(&["list", "signals", "--fields", "key,bogus"]),
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

/// Reads a child's standard output line by line on a thread.
fn lines_of(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next `n` JSON lines of a watcher (each within 30 s).
fn take(rx: &std::sync::mpsc::Receiver<String>, n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("change {i} of {n} never came: {e}"));
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
        })
        .collect()
}

#[test]
fn watch_sees_other_processes_and_resumes_across_a_server_restart() {
    let dirs = Dirs::new();
    let store = dirs.root.join("served.db");
    let server = Server::start(&dirs, &store, "127.0.0.1:0");
    let (url, key) = (server.url.clone(), server.key.clone());
    let remote = |args: &[&str]| {
        let out = dirs
            .cmd()
            .args(["--remote", &url, "--api-key", &key])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    };
    let embedded = |args: &[&str]| {
        let out = dirs
            .cmd()
            .args(["--store", store.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        out
    };
    let spawn = |backend: &[&str], args: &[&str]| {
        dirs.cmd()
            .args(backend)
            .args(["watch", "jobs"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    remote(&["set", "jobs", "before", "{}"]);
    // Over the server, from the start; and on the store file, only what comes next.
    let mut over_server = spawn(
        &["--remote", &url, "--api-key", &key],
        &["--after", "0", "--count", "7"],
    );
    let server_lines = lines_of(&mut over_server);
    let mut on_file = spawn(&["--store", store.to_str().unwrap()], &["--count", "3"]);
    let file_lines = lines_of(&mut on_file);
    std::thread::sleep(Duration::from_millis(1500)); // the file watcher has read "now"
    remote(&["set", "jobs", "a", "{}"]);
    remote(&["patch", "jobs", "a", r#"{"n": 1}"#]);
    embedded(&["set", "other", "x", "{}"]); // another namespace: not shown
    remote(&["set", "jobs", "b", "{}"]);
    let first = take(&server_lines, 4);
    let from_file = take(&file_lines, 3);
    assert_eq!(over_server.try_wait().unwrap(), None, "still watching");

    // The server goes away; writes go on into its store; a new server comes up on the
    // same address.
    let addr = url.trim_start_matches("http://").to_string();
    drop(server);
    embedded(&["delete", "jobs", "a"]);
    embedded(&["set", "jobs", "c", r#"{"while": "down"}"#]);
    let server = Server::spawn(&dirs, &store, &addr);
    assert_eq!(server.url, url);
    remote(&["set", "jobs", "d", "{}"]);
    let rest = take(&server_lines, 3);
    assert!(over_server.wait().unwrap().success(), "stops after --count");

    let all: Vec<_> = first.iter().chain(&rest).collect();
    let seen: Vec<(String, String)> = all
        .iter()
        .map(|c| {
            (
                c["op"].as_str().unwrap().to_string(),
                c["key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        ("put", "before"),
        ("put", "a"),
        ("patch", "a"),
        ("put", "b"),
        ("delete", "a"),
        ("put", "c"),
        ("put", "d"),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(o, k)| (o.to_string(), k.to_string()))
        .collect();
    assert_eq!(seen, expect, "nothing missed, nothing repeated, in order");
    let seqs: Vec<u64> = all.iter().map(|c| c["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(all.iter().all(|c| c["namespace"] == "jobs"));

    // The file watcher saw the three writes after it started; --after resumes from the
    // last one it printed, with nothing missed or repeated.
    assert!(on_file.wait().unwrap().success());
    let file_keys: Vec<&str> = from_file
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(file_keys, ["a", "a", "b"]);
    let last = from_file[2]["seq"].as_u64().unwrap().to_string();
    let out = embedded(&["watch", "jobs", "--after", &last, "--count", "3"]);
    let resumed: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        resumed, rest,
        "the same changes, from the file as from the server"
    );

    // One key only.
    let out = embedded(&["watch", "jobs", "c", "--after", "0", "--count", "1"]);
    let only: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (only["op"].as_str(), only["key"].as_str()),
        (Some("put"), Some("c"))
    );
}

#[test]
fn remote_without_a_key_names_the_flag_and_the_variable() {
    let dirs = Dirs::new();
    let server = Server::start(&dirs, &dirs.root.join("served.db"), "127.0.0.1:0");
    let out = dirs
        .cmd()
        .args(["--remote", &server.url, "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--api-key") && err.contains("CONSOLE_API_KEY"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
