//! What an operator relies on: `GET /metrics` counts a known load exactly (in-process
//! server), can move to its own listener or be turned off (the real binary), and
//! `console backup` takes a whole, checked copy of a store while `console serve` writes
//! to it, which `console restore` puts back.

use agent_console::server::ServerOptions;
use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

mod common;
use common::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_console");

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The value of one sample line of a scrape (`name{labels} value`), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn scrape(c: &Client, url: &str) -> String {
    let r = c.get(url).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    r.text().unwrap()
}

#[test]
fn metrics_count_a_known_load() {
    let s = TestServer::start(ServerOptions::default());
    let key = s.key("acme");
    let c = client();
    let call = |method: Method, path: &str, auth: Option<&str>| {
        let mut rb = c.request(method.clone(), s.url(path));
        if let Some(k) = auth {
            rb = rb.bearer_auth(k);
        }
        if method == Method::PUT {
            rb = rb.json(&json!({"n": path}));
        }
        rb.send().unwrap().status().as_u16()
    };
    // The known load: 3 creates, 2 reads, 1 miss, 1 without a key, then past the limit.
    for k in ["a", "b", "c"] {
        assert_eq!(
            call(Method::PUT, &format!("/storage/jobs/{k}"), Some(&key)),
            201
        );
    }
    assert_eq!(call(Method::GET, "/storage/jobs/a", Some(&key)), 200);
    assert_eq!(call(Method::GET, "/storage/jobs/b", Some(&key)), 200);
    assert_eq!(call(Method::GET, "/storage/jobs/zz", Some(&key)), 404);
    assert_eq!(call(Method::GET, "/storage/jobs/a", None), 401);
    // An open change feed.
    let feed = c
        .get(s.url("/storage/jobs/_watch"))
        .bearer_auth(&key)
        .send()
        .unwrap();
    assert_eq!(feed.status().as_u16(), 200);

    let text = scrape(&c, &s.url("/metrics"));
    let get =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    let doc = r#"route="/storage/{ns}/{key}""#;
    assert_eq!(
        get(&format!(
            r#"console_http_requests_total{{{doc},method="PUT",status="201"}}"#
        )),
        3.0
    );
    assert_eq!(
        get(&format!(
            r#"console_http_requests_total{{{doc},method="GET",status="200"}}"#
        )),
        2.0
    );
    assert_eq!(
        get(&format!(
            r#"console_http_requests_total{{{doc},method="GET",status="404"}}"#
        )),
        1.0
    );
    assert_eq!(
        get(&format!(
            r#"console_http_requests_total{{{doc},method="GET",status="401"}}"#
        )),
        1.0
    );
    assert_eq!(
        get(&format!(
            r#"console_http_request_duration_seconds_count{{{doc},method="GET"}}"#
        )),
        4.0
    );
    assert_eq!(
        get(&format!(
            r#"console_http_request_duration_seconds_count{{{doc},method="PUT"}}"#
        )),
        3.0
    );
    assert!(
        !text.contains("/storage/jobs/a"),
        "raw paths never become labels"
    );
    assert_eq!(
        get("console_write_batch_size_sum"),
        3.0,
        "three writes committed"
    );
    assert!(get("console_write_batch_size_count") >= 1.0);
    assert!(get("console_write_batch_seconds_count") >= 1.0);
    assert_eq!(get(r#"console_refused_requests_total{code="401"}"#), 1.0);
    assert_eq!(get("console_rate_limited_requests_total"), 0.0);
    assert_eq!(get("console_change_feeds_open"), 1.0);
    assert_eq!(get(r#"console_store_documents{workspace="acme"}"#), 3.0);
    assert!(get(r#"console_store_bytes{workspace="acme"}"#) > 0.0);
    assert!(text.contains("# TYPE console_http_request_duration_seconds histogram"));

    // The feed closes: the gauge follows. /metrics needs no key and is not rate limited.
    drop(feed);
    let mut open = 1.0;
    for _ in 0..100 {
        open = get_open(&c, &s);
        if open == 0.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(open, 0.0, "a closed feed is no longer counted");
}

#[test]
fn metrics_count_rate_limited_requests() {
    let s = TestServer::start(ServerOptions {
        rate_limit_per_minute: 1,
        ..ServerOptions::default()
    });
    let key = s.key("acme");
    let c = client();
    let mut limited = 0;
    for _ in 0..5 {
        let r = c
            .get(s.url("/storage/a/b"))
            .bearer_auth(&key)
            .send()
            .unwrap();
        if r.status().as_u16() == 429 {
            limited += 1;
        }
    }
    assert!(
        limited >= 3,
        "a budget of 1 a minute: {limited} refused of 5"
    );
    let text = scrape(&c, &s.url("/metrics"));
    assert_eq!(
        sample(&text, "console_rate_limited_requests_total"),
        Some(limited as f64),
        "{text}"
    );
}

fn get_open(c: &Client, s: &TestServer) -> f64 {
    sample(&scrape(c, &s.url("/metrics")), "console_change_feeds_open").unwrap()
}

/// A command with a private config and data dir.
fn console(root: &Path) -> Command {
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
    c.env("CONSOLE_CONFIG_DIR", root.join("config"))
        .env("CONSOLE_DATA_DIR", root.join("data"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    c
}

struct Served {
    child: Child,
    lines: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `console serve` on `store`, with the first `banner` lines it prints.
fn serve(root: &Path, store: &Path, args: &[&str], banner: usize) -> Served {
    let mut child = console(root)
        .arg("--store")
        .arg(store)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let lines = (0..banner)
        .map(|_| {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            line.trim().to_string()
        })
        .collect();
    Served { child, lines }
}

#[test]
fn metrics_move_to_their_own_listener_or_turn_off() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let c = client();
    let s = serve(dir.path(), &store, &["--metrics-listen", "127.0.0.1:0"], 2);
    let base = s.lines[0].strip_prefix("listening on ").unwrap();
    let metrics = s.lines[1].strip_prefix("metrics on ").unwrap();
    assert_eq!(
        c.get(format!("{base}/metrics"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        c.get(format!("{base}/healthz"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let text = scrape(&c, metrics);
    assert_eq!(
        sample(
            &text,
            r#"console_http_requests_total{route="/healthz",method="GET",status="200"}"#
        ),
        Some(1.0),
        "{text}"
    );
    drop(s);
    let s = serve(dir.path(), &store, &["--no-metrics"], 1);
    let base = s.lines[0].strip_prefix("listening on ").unwrap();
    assert_eq!(
        c.get(format!("{base}/metrics"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        404
    );
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_backup_under_write_load_is_whole_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let store = root.join("live.db");
    // Enough data that the copy takes many steps of the backup API.
    let filler = "x".repeat(4000);
    let lines: String = (0..3000)
        .map(|i| {
            format!(
                "{}\n",
                json!({"namespace": "bulk", "key": format!("d{i}"), "version": 1,
                "size_bytes": 4020, "created_at": "2026-01-01T00:00:00.000Z",
                "updated_at": "2026-01-01T00:00:00.000Z", "updated_by": "t", "expires_at": null,
                "value": {"i": i, "pad": filler}})
            )
        })
        .collect();
    std::fs::write(root.join("bulk.jsonl"), lines).unwrap();
    run(console(&root)
        .arg("--store")
        .arg(&store)
        .args(["import"])
        .arg(root.join("bulk.jsonl")));
    let key_out = run(console(&root)
        .arg("--store")
        .arg(&store)
        .args(["keys", "create", "--json"]));
    let key: serde_json::Value = serde_json::from_slice(&key_out.stdout).unwrap();
    let key = key["key"].as_str().unwrap().to_string();
    let server = serve(&root, &store, &[], 1);
    let base = server.lines[0]
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();

    // A writer that never stops during the backup; it records each acknowledged write.
    let acked = Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop, base, key) = (acked.clone(), stop.clone(), base.clone(), key.clone());
        std::thread::spawn(move || {
            let c = client();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && n < 100_000 {
                let r = c
                    .put(format!("{base}/storage/load/w{n}"))
                    .bearer_auth(&key)
                    .json(&json!({"n": n}))
                    .send()
                    .unwrap();
                assert_eq!(r.status().as_u16(), 201);
                acked.lock().unwrap().push(n);
                n += 1;
            }
        })
    };
    while acked.lock().unwrap().len() < 20 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let before: Vec<u64> = acked.lock().unwrap().clone();
    let backup = root.join("copy.db");
    let out = run(console(&root)
        .arg("--store")
        .arg(&store)
        .arg("backup")
        .arg(&backup));
    let during = acked.lock().unwrap().len() - before.len();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("backed up "),
        "{out:?}"
    );
    assert!(during > 0, "writes went on during the backup");

    // The copy opens, passes the integrity check and holds every write acknowledged
    // before the backup started.
    let copy =
        rusqlite::Connection::open_with_flags(&backup, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(copy);
    assert!(!PathBuf::from(format!("{}-wal", backup.display())).exists());
    let keys = |store: &Path, ns: &str| -> Vec<String> {
        let out = run(console(&root)
            .arg("--store")
            .arg(store)
            .args(["list", ns, "--all", "--fields", "key"]));
        let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        items
            .iter()
            .map(|i| i["key"].as_str().unwrap().to_string())
            .collect()
    };
    let in_copy: std::collections::HashSet<String> = keys(&backup, "load").into_iter().collect();
    for n in &before {
        assert!(
            in_copy.contains(&format!("w{n}")),
            "w{n} was acknowledged before the backup"
        );
    }
    assert_eq!(keys(&backup, "bulk").len(), 3000);
    // A second backup to the same name is refused, the first left as it was.
    let again = console(&root)
        .arg("--store")
        .arg(&store)
        .arg("backup")
        .arg(&backup)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(5));

    // Restore into a new store: the same documents; without --yes it asks for it.
    drop(server);
    let restored = root.join("restored.db");
    let out = console(&root)
        .arg("--store")
        .arg(&restored)
        .arg("restore")
        .arg(&backup)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    run(console(&root)
        .arg("--store")
        .arg(&restored)
        .arg("restore")
        .arg(&backup)
        .arg("--yes"));
    assert_eq!(keys(&restored, "load").len(), in_copy.len());
    assert_eq!(keys(&restored, "bulk").len(), 3000);
    // Not a store: refused, nothing written.
    std::fs::write(
        root.join("junk.db"),
        b"not a database at all, not even close........",
    )
    .unwrap();
    let out = console(&root)
        .arg("--store")
        .arg(&restored)
        .arg("restore")
        .arg(root.join("junk.db"))
        .arg("--yes")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(keys(&restored, "bulk").len(), 3000);
}
