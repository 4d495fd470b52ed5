//! End-to-end: the real binary driven in tmux (a private socket per test, bounded waits),
//! checked afterwards with `console get`.

mod pane;
mod remap;

use pane::Pane;

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_console");

/// A temp data/config dir and store file, and a tmux server of our own.
struct Session {
    dir: tempfile::TempDir,
    pane: Pane,
}

impl Session {
    fn new(name: &str) -> Session {
        let dir = tempfile::tempdir().unwrap();
        let pane = Pane::new(&format!("e2e-{name}"));
        Session { dir, pane }
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .env("CONSOLE_DATA_DIR", self.dir.path())
            .env("CONSOLE_CONFIG_DIR", self.dir.path())
            .arg("--store")
            .arg(self.store())
            .args(args)
            .output()
            .unwrap()
    }

    fn set(&self, ns: &str, key: &str, value: Value) {
        let out = self.cli(&["set", ns, key, &value.to_string()]);
        assert!(out.status.success(), "{out:?}");
    }

    fn get(&self, ns: &str, key: &str) -> Option<Value> {
        let out = self.cli(&["get", ns, key, "--json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }

    /// Starts `console tui ARGS` in a 140x35 pane.
    fn start(&self, args: &str) {
        let cmd = format!(
            "CONSOLE_DATA_DIR='{d}' CONSOLE_CONFIG_DIR='{d}' USER=tester '{BIN}' --store '{s}' tui {args}; echo EXITED $?; sleep 30",
            d = self.dir.path().display(),
            s = self.store().display(),
        );
        self.pane.start(&cmd, 140, 35);
    }
}

impl std::ops::Deref for Session {
    type Target = Pane;
    fn deref(&self) -> &Pane {
        &self.pane
    }
}

fn value(doc: &Value) -> &Value {
    &doc["value"]
}

#[test]
fn review_edit_and_delete_a_namespace_then_the_cli_sees_exactly_that() {
    let s = Session::new("flow");
    s.set("findings", "a1", json!({"severity": "high", "title": "A1"}));
    s.set("findings", "a2", json!({"severity": "low", "title": "A2"}));
    s.set("findings", "a3", json!({"severity": "low", "title": "A3"}));
    s.set("scratch", "x1", json!({"n": 1}));
    s.set("scratch", "x2", json!({"n": 2}));
    s.start("--namespace findings");
    s.wait_for("findings/a1");
    // Mark a1 reviewed; the selection moves on to a2.
    s.keys(&["r"]);
    s.wait_for("marked reviewed");
    s.wait_for("findings/a2");
    // Edit a2: add a member after the opening brace, save.
    s.keys(&["e"]);
    s.wait_for("Edit findings/a2 (from v1)");
    s.keys(&["End"]);
    s.type_text(" \"edited\": true,");
    s.wait_for("valid JSON");
    s.keys(&["C-s"]);
    s.wait_for("saved findings/a2 (version 2)");
    // Delete the namespace scratch: back to namespaces, down to it, D, type its name.
    s.keys(&["Escape"]);
    s.wait_for("D delete namespace");
    s.keys(&["j"]);
    s.wait_for("▸scratch");
    s.keys(&["D"]);
    s.wait_for("This deletes all 2 documents");
    s.keys(&["Enter"]);
    s.wait_for("type scratch exactly");
    s.type_text("scratch");
    s.keys(&["Enter"]);
    s.wait_for("deleted 2 documents of namespace scratch");
    s.keys(&["q"]);
    s.wait_for("EXITED 0");

    let a1 = s.get("findings", "a1").unwrap();
    assert_eq!(a1["version"], json!(2));
    assert_eq!(a1["updated_by"], json!("tui"));
    assert_eq!(value(&a1)["reviewed"], json!(true));
    assert_eq!(value(&a1)["reviewed_by"], json!("tester"));
    assert!(value(&a1)["reviewed_at"].is_string());
    assert_eq!(value(&a1)["title"], json!("A1"));
    let a2 = s.get("findings", "a2").unwrap();
    assert_eq!(a2["version"], json!(2));
    assert_eq!(
        value(&a2),
        &json!({"edited": true, "severity": "low", "title": "A2"})
    );
    let a3 = s.get("findings", "a3").unwrap();
    assert_eq!(a3["version"], json!(1));
    assert!(s.get("scratch", "x1").is_none());
    assert!(s.get("scratch", "x2").is_none());
}

#[test]
fn a_conflicting_save_shows_the_conflict_view_and_reload_keeps_the_other_write() {
    let s = Session::new("conflict");
    s.set("findings", "c1", json!({"n": 1}));
    s.start("--namespace findings");
    s.wait_for("findings/c1");
    s.keys(&["e"]);
    s.wait_for("Edit findings/c1 (from v1)");
    // Someone else writes meanwhile.
    s.set("findings", "c1", json!({"n": 1, "theirs": "yes"}));
    s.keys(&["End"]);
    s.type_text(" \"mine\": true,");
    s.wait_for("valid JSON");
    s.keys(&["C-s"]);
    let screen = s.wait_for("CONFLICT");
    assert!(screen.contains("Store now (v2 by cli)"), "{screen}");
    assert!(screen.contains("\"theirs\": \"yes\""), "{screen}");
    assert!(screen.contains("\"mine\": true"), "{screen}");
    s.keys(&["r"]);
    s.wait_for("reloaded findings/c1");
    s.wait_for("\"theirs\": \"yes\"");
    s.keys(&["q"]);
    s.wait_for("EXITED 0");
    let c1 = s.get("findings", "c1").unwrap();
    assert_eq!(c1["version"], json!(2));
    assert_eq!(value(&c1), &json!({"n": 1, "theirs": "yes"}));
}

#[test]
fn a_bulk_review_of_a_query_changes_exactly_its_matches_and_leaves_a_concurrent_change_alone() {
    let s = Session::new("bulk");
    let key = |i: usize| format!("f-{i:02}");
    let import: String = (0..30)
        .map(|i| {
            let value = json!({
                "severity": if i % 3 == 0 { "high" } else { "low" },
                "reviewed": i % 2 == 0,
                "title": format!("finding {i}"),
            });
            json!({"namespace": "findings", "key": key(i), "value": value, "version": 1,
                   "size_bytes": 0, "created_at": "2026-02-25T06:00:00.000Z",
                   "updated_at": "2026-02-25T06:00:00.000Z", "updated_by": "agent",
                   "expires_at": null})
            .to_string()
                + "\n"
        })
        .collect();
    let file = s.dir.path().join("findings.jsonl");
    std::fs::write(&file, import).unwrap();
    let out = s.cli(&["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let matching = |q: &str| -> Vec<String> {
        let out = s.cli(&["list", "findings", "--where", q, "--all", "--json"]);
        assert!(out.status.success(), "{out:?}");
        let page: Value = serde_json::from_slice(&out.stdout).unwrap();
        serde_json::from_value(page["keys"].clone()).unwrap()
    };
    let targets = matching("severity=high !reviewed");
    assert_eq!(targets, ["f-03", "f-09", "f-15", "f-21", "f-27"]);
    let reviewed_before = matching("reviewed");

    s.start("--namespace findings");
    s.wait_for("findings/f-00");
    s.keys(&["/"]);
    s.type_text("severity=high !reviewed");
    s.keys(&["Enter"]);
    s.wait("5 of 30 match", 30);
    s.keys(&["B"]);
    s.wait_for("On all 5 documents matching: severity=high !reviewed");
    s.keys(&["Enter"]);
    s.wait_for("Mark reviewed: 5 documents of findings");
    // Another writer changes one of them between the query and the bulk write.
    s.set(
        "findings",
        "f-09",
        json!({"severity": "high", "reviewed": false, "owner": "someone"}),
    );
    s.keys(&["y"]);
    let report = s.wait("done 4   changed by someone else 1   failed 0", 30);
    assert!(
        report.contains("f-09  changed since the query: left alone"),
        "{report}"
    );
    s.keys(&["Escape"]);
    s.keys(&["q"]);
    s.wait_for("EXITED 0");

    // Exactly the four others changed; f-09 holds the other writer's value.
    let mut reviewed_after = reviewed_before.clone();
    reviewed_after.extend(["f-03", "f-15", "f-21", "f-27"].map(String::from));
    reviewed_after.sort();
    assert_eq!(matching("reviewed"), reviewed_after);
    assert_eq!(matching("severity=high !reviewed"), ["f-09"]);
    assert_eq!(matching("by:tui"), ["f-03", "f-15", "f-21", "f-27"]);
    let f09 = s.get("findings", "f-09").unwrap();
    assert_eq!(value(&f09)["owner"], json!("someone"));
    assert_eq!(f09["version"], json!(2));
    for i in (0..30).filter(|i| ![3, 15, 21, 27, 9].contains(i)) {
        assert_eq!(
            s.get("findings", &key(i)).unwrap()["version"],
            json!(1),
            "{}",
            key(i)
        );
    }
}
