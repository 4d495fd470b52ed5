//! End-to-end live updates and undo: the real binary in tmux (a private socket per test,
//! bounded waits, loopback only). The live test serves the store with `console serve`,
//! opens the TUI with `--remote`, writes from another process (the Python SDK when
//! `SDK_VENV` holds a venv with orchagent-sdk, else `console --remote ... set`), then
//! kills and restarts the server on the same address and checks nothing was missed.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::pane::Pane;

const BIN: &str = env!("CARGO_BIN_EXE_console");

struct Live {
    dir: tempfile::TempDir,
    pane: Pane,
    server: Option<Child>,
    url: String,
    key: String,
}

impl Live {
    fn new(name: &str) -> Live {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Live {
            dir,
            pane: Pane::new(&format!("live-{name}")),
            server: None,
            url: String::new(),
            key: String::new(),
        };
        let out = s.local(&["keys", "create", "--workspace", "default", "--json"]);
        assert!(out.status.success(), "{out:?}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        s.key = v["key"].as_str().unwrap().to_string();
        s
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("CONSOLE_DATA_DIR", self.dir.path())
            .env("CONSOLE_CONFIG_DIR", self.dir.path())
            .env_remove("CONSOLE_REMOTE")
            .env_remove("CONSOLE_PROFILE");
        c
    }

    /// A command on the store file itself (another process, no server needed).
    fn local(&self, args: &[&str]) -> Output {
        self.cmd()
            .arg("--store")
            .arg(self.store())
            .args(args)
            .output()
            .unwrap()
    }

    fn set_local(&self, ns: &str, key: &str, v: Value) {
        let out = self.local(&["set", ns, key, &v.to_string()]);
        assert!(out.status.success(), "{out:?}");
    }

    fn get(&self, ns: &str, key: &str) -> Value {
        let out = self.local(&["get", ns, key, "--json"]);
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn history_value(&self, ns: &str, key: &str, version: u64) -> Value {
        let v = version.to_string();
        let out = self.local(&["history", ns, key, "--version", &v, "--raw"]);
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn history_versions(&self, ns: &str, key: &str) -> Vec<(u64, String)> {
        let out = self.local(&["history", ns, key, "--json"]);
        assert!(out.status.success(), "{out:?}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["version"].as_u64().unwrap(),
                    m["updated_by"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Starts `console serve` on `listen` and waits (at most 10 s) for its address.
    fn serve(&mut self, listen: &str) {
        let mut child = self
            .cmd()
            .arg("--store")
            .arg(self.store())
            .args(["serve", "--listen", listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        self.url = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("console serve did not print its address");
        self.server = Some(child);
    }

    fn kill_server(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The Python SDK's interpreter when `SDK_VENV` is set (CI sets it): a venv named
    /// there must hold orchagent-sdk, so a broken setup fails instead of testing less.
    fn sdk_python() -> Option<PathBuf> {
        let venv = std::env::var_os("SDK_VENV")?;
        let py = Path::new(&venv).join("bin/python");
        let ok = Command::new(&py)
            .args(["-c", "import orchagent.storage"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "SDK_VENV={venv:?} has no orchagent-sdk");
        Some(py)
    }

    /// Writes through the server from another process: the SDK, else the CLI.
    fn write_other(&self, ns: &str, key: &str, v: Value) {
        let out = match Self::sdk_python() {
            Some(py) => Command::new(py)
                .env("ORCHAGENT_GATEWAY_URL", &self.url)
                .env("ORCHAGENT_API_KEY", &self.key)
                .env_remove("ORCHAGENT_SERVICE_KEY")
                .args([
                    "-c",
                    "import json, sys\nfrom orchagent import storage\nstorage.set(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))",
                    ns,
                    key,
                    &v.to_string(),
                ])
                .output()
                .unwrap(),
            None => self
                .cmd()
                .args(["--remote", &self.url, "--api-key", &self.key])
                .args(["set", ns, key, &v.to_string()])
                .output()
                .unwrap(),
        };
        assert!(out.status.success(), "{out:?}");
    }

    /// Starts the TUI with `where_` (`--store …` or `--remote …`) in a 140x30 pane.
    fn start(&self, where_: &str) {
        let cmd = format!(
            "CONSOLE_DATA_DIR='{d}' CONSOLE_CONFIG_DIR='{d}' USER=tester '{BIN}' {where_} tui --namespace findings; echo EXITED $?; sleep 30",
            d = self.dir.path().display(),
        );
        self.pane.start(&cmd, 140, 30);
    }
}

impl std::ops::Deref for Live {
    type Target = Pane;
    fn deref(&self) -> &Pane {
        &self.pane
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.kill_server();
    }
}

#[test]
fn a_served_store_updates_the_tui_live_and_the_feed_resumes_after_a_restart() {
    let mut s = Live::new("feed");
    s.set_local("findings", "a1", json!({"n": 1}));
    s.set_local("findings", "a2", json!({"n": 2}));
    s.serve("127.0.0.1:0");
    if Live::sdk_python().is_none() {
        eprintln!("SDK_VENV has no orchagent-sdk: writing with `console --remote ... set`");
    }
    s.start(&format!("--remote '{}' --api-key '{}'", s.url, s.key));
    s.wait("findings/a1", 10);
    s.wait("● live", 10);
    // Another process writes the document shown and a new key: no key is pressed.
    let t = Instant::now();
    s.write_other("findings", "a1", json!({"n": 1, "by_sdk": true}));
    let screen = s.wait("\"by_sdk\": true", 5);
    assert!(screen.contains("findings/a1  v2"), "{screen}");
    eprintln!(
        "update shown {} ms after the write",
        t.elapsed().as_millis()
    );
    s.write_other("findings", "a3", json!({"n": 3}));
    s.wait(" •a3", 5);
    // The server goes away: the indicator says so; a write lands meanwhile.
    let listen = s.url.trim_start_matches("http://").to_string();
    s.kill_server();
    let screen = s.wait("◌ reconnecting", 10);
    assert!(!screen.contains("● live"), "{screen}");
    s.set_local("findings", "a2", json!({"n": 2, "while_down": true}));
    s.serve(&listen);
    s.wait("● live", 15);
    // The change written while it was down arrives (resumed after the last event seen).
    s.wait(" •a2", 10);
    s.keys(&["j"]);
    let screen = s.wait("\"while_down\": true", 5);
    assert!(screen.contains("findings/a2  v2"), "{screen}");
    s.keys(&["q"]);
    s.wait("EXITED 0", 10);
}

#[test]
fn undo_after_mark_reviewed_edit_and_delete_restores_the_previous_value() {
    let s = Live::new("undo");
    let (a1, a2, a3) = (
        json!({"severity": "high", "title": "A1"}),
        json!({"severity": "low", "title": "A2"}),
        json!({"severity": "low", "title": "A3"}),
    );
    s.set_local("findings", "a1", a1.clone());
    s.set_local("findings", "a2", a2.clone());
    s.set_local("findings", "a3", a3.clone());
    s.start(&format!("--store '{}'", s.store().display()));
    s.wait("findings/a1", 10);
    // Mark a1 reviewed, then undo.
    s.keys(&["r"]);
    s.wait("marked reviewed", 10);
    s.wait("findings/a2", 10);
    s.keys(&["U"]);
    s.wait("undid the mark reviewed of findings/a1 (now v3)", 10);
    let got = s.get("findings", "a1");
    assert_eq!((&got["value"], &got["version"]), (&a1, &json!(3)));
    assert_eq!(
        s.history_value("findings", "a1", 2)["reviewed"],
        json!(true)
    );
    assert_eq!(
        s.history_versions("findings", "a1"),
        vec![(3, "tui".into()), (2, "tui".into()), (1, "cli".into())]
    );
    // Edit a2 (now selected), then undo.
    s.keys(&["e"]);
    s.wait("Edit findings/a2 (from v1)", 10);
    s.keys(&["End"]);
    s.type_text(" \"edited\": true,");
    s.wait("valid JSON", 10);
    s.keys(&["C-s"]);
    s.wait("saved findings/a2 (version 2)", 10);
    assert_eq!(s.get("findings", "a2")["value"]["edited"], json!(true));
    s.keys(&["C-z"]);
    s.wait("undid the edit of findings/a2 (now v3)", 10);
    let got = s.get("findings", "a2");
    assert_eq!((&got["value"], &got["version"]), (&a2, &json!(3)));
    assert_eq!(s.history_value("findings", "a2", 3), a2);
    // Delete a3, then undo: the message offers it.
    s.keys(&["j"]);
    s.wait("findings/a3", 10);
    s.keys(&["d"]);
    s.wait("Delete findings/a3", 10);
    s.keys(&["y"]);
    s.wait("deleted findings/a3 — U to undo", 10);
    assert!(!s.local(&["get", "findings", "a3"]).status.success());
    s.keys(&["U"]);
    s.wait("undid the delete of findings/a3 (now v2)", 10);
    let got = s.get("findings", "a3");
    assert_eq!((&got["value"], &got["version"]), (&a3, &json!(2)));
    // The restored document keeps its past: the version deleted is still in its history.
    assert_eq!(
        s.history_versions("findings", "a3"),
        vec![(2, "tui".into()), (1, "cli".into())]
    );
    // Nothing left to undo; a write by someone else since refuses the undo.
    s.keys(&["U"]);
    s.wait("nothing to undo", 10);
    s.keys(&["q"]);
    s.wait("EXITED 0", 10);
}
