//! Acceptance tests of the `console` command line (spec/cli.md): the real binary, run as a
//! child process against a store in a temp dir (CONSOLE_DATA_DIR / CONSOLE_CONFIG_DIR point
//! there too, so nothing touches $HOME). Every command, every error kind and its exit code,
//! output formats, validation, quotas, TTL, paging stability and CAS under concurrency.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_console");

/// The result of one run of the binary.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }

    fn err_json(&self) -> Value {
        serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {:?}", self.stderr))
    }
}

/// A private data dir, config dir and store file.
struct Env {
    _dir: TempDir,
    root: PathBuf,
    store: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        Env {
            store: root.join("store.db"),
            root,
            _dir: dir,
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn config_dir(&self) -> PathBuf {
        self.root.join("config")
    }

    /// The binary with this environment only, no `--store`.
    fn bare(&self) -> Command {
        let mut c = Command::new(BIN);
        for var in [
            "CONSOLE_STORE",
            "CONSOLE_REMOTE",
            "CONSOLE_API_KEY",
            "CONSOLE_WORKSPACE",
            "CONSOLE_PROFILE",
            "RUST_LOG",
        ] {
            c.env_remove(var);
        }
        c.env("CONSOLE_DATA_DIR", self.data_dir())
            .env("CONSOLE_CONFIG_DIR", self.config_dir())
            .stdin(Stdio::null());
        c
    }

    /// The binary on this env's store file.
    fn command(&self) -> Command {
        let mut c = self.bare();
        c.arg("--store").arg(&self.store);
        c
    }

    fn run(&self, args: &[&str]) -> Out {
        output(self.command().args(args))
    }

    fn run_stdin(&self, args: &[&str], input: &[u8]) -> Out {
        let mut cmd = self.command();
        cmd.args(args);
        let o = assert_cmd::Command::from_std(cmd)
            .write_stdin(input.to_vec())
            .timeout(Duration::from_secs(60))
            .output()
            .expect("run console");
        to_out(o)
    }

    /// Runs and asserts success.
    fn ok(&self, args: &[&str]) -> Out {
        let out = self.run(args);
        assert_eq!(out.code, 0, "console {args:?} failed: {out:?}");
        out
    }

    /// Runs and asserts the exit code.
    fn fails(&self, args: &[&str], code: i32) -> Out {
        let out = self.run(args);
        assert_eq!(out.code, code, "console {args:?}: {out:?}");
        out
    }

    /// The full envelope of a document (`get --json`).
    fn doc(&self, ns: &str, key: &str) -> Value {
        self.ok(&["get", ns, key, "--json"]).json()
    }

    fn set(&self, ns: &str, key: &str, value: &str) {
        self.ok(&["set", ns, key, value]);
    }

    fn write_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.root.join(name);
        std::fs::write(&path, bytes).expect("write file");
        path
    }
}

fn output(cmd: &mut Command) -> Out {
    to_out(cmd.output().expect("run console"))
}

fn to_out(o: std::process::Output) -> Out {
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(o.stderr).expect("stderr is UTF-8"),
    }
}

fn keys_of(page: &Value) -> Vec<String> {
    page["keys"]
        .as_array()
        .expect("keys array")
        .iter()
        .map(|k| k.as_str().expect("key string").to_string())
        .collect()
}

fn at(path: &Path) -> String {
    format!("@{}", path.display())
}

// ---------------------------------------------------------------- list

#[test]
fn list_namespaces_and_keys_as_json_when_stdout_is_a_pipe() {
    let env = Env::new();
    for (ns, key) in [
        ("beta", "b"),
        ("alpha", "k2"),
        ("alpha", "k1"),
        ("alpha", "j"),
    ] {
        env.set(ns, key, r#"{"x":1}"#);
    }
    assert_eq!(
        env.ok(&["list"]).json(),
        json!({"namespaces": ["alpha", "beta"]})
    );
    let page = env.ok(&["list", "alpha"]).json();
    assert_eq!(
        page,
        json!({"keys": ["j", "k1", "k2"], "cursor": null, "has_more": false})
    );
    // A namespace with no documents lists as empty.
    assert_eq!(
        env.ok(&["list", "nothing"]).json(),
        json!({"keys": [], "cursor": null, "has_more": false})
    );
}

#[test]
fn list_pages_with_limit_cursor_prefix_and_all() {
    let env = Env::new();
    for key in ["a1", "a2", "a3", "b1", "b2"] {
        env.set("ns", key, "[]");
    }
    let first = env.ok(&["list", "ns", "--limit", "2"]).json();
    assert_eq!(keys_of(&first), ["a1", "a2"]);
    assert_eq!(first["has_more"], true);
    let cursor = first["cursor"].as_str().expect("a cursor").to_string();
    assert!(
        cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "{cursor}"
    );
    let second = env
        .ok(&["list", "ns", "--limit", "2", "--cursor", &cursor])
        .json();
    assert_eq!(keys_of(&second), ["a3", "b1"]);
    let third = env
        .ok(&[
            "list",
            "ns",
            "--limit",
            "2",
            "--cursor",
            second["cursor"].as_str().unwrap(),
        ])
        .json();
    assert_eq!(keys_of(&third), ["b2"]);
    assert_eq!(third["has_more"], false);
    assert_eq!(third["cursor"], Value::Null);

    let b = env.ok(&["list", "ns", "--prefix", "b"]).json();
    assert_eq!(keys_of(&b), ["b1", "b2"]);
    let all = env.ok(&["list", "ns", "--limit", "2", "--all"]).json();
    assert_eq!(keys_of(&all), ["a1", "a2", "a3", "b1", "b2"]);
    assert_eq!(all["has_more"], false);
    let all_a = env
        .ok(&["list", "ns", "--limit", "1", "--all", "--prefix", "a"])
        .json();
    assert_eq!(keys_of(&all_a), ["a1", "a2", "a3"]);

    // Bad limits, cursors and prefixes.
    env.fails(&["list", "ns", "--limit", "0"], 5);
    env.fails(&["list", "ns", "--limit", "1001"], 5);
    env.ok(&["list", "ns", "--limit", "1000"]);
    env.fails(&["list", "ns", "--limit", "many"], 2);
    env.fails(&["list", "ns", "--cursor", "not a cursor!"], 5);
    env.fails(&["list", "ns", "--cursor", "zz"], 5);
    env.fails(&["list", "ns", "--prefix", "a/b"], 5);
    env.fails(&["list", "Bad"], 5);
}

#[test]
fn list_fields_keeps_only_the_fields_asked_for() {
    let env = Env::new();
    env.set("ns", "a", r#"{"x":1}"#);
    env.set("ns", "a", r#"{"x":2}"#);
    env.set("ns", "b", r#"{"y":"long"}"#);
    let items = env.ok(&["list", "ns", "--fields", "key,version"]).json();
    assert_eq!(
        items,
        json!([{"key": "a", "version": 2}, {"key": "b", "version": 1}])
    );
    let sizes = env.ok(&["list", "ns", "--fields", "size_bytes"]).json();
    assert_eq!(sizes, json!([{"size_bytes": 7}, {"size_bytes": 12}]));
    let namespaces = env.ok(&["list", "--fields", "namespace,documents"]).json();
    assert_eq!(namespaces, json!([{"namespace": "ns", "documents": 2}]));
}

// ---------------------------------------------------------------- get

#[test]
fn get_prints_pretty_value_raw_value_or_envelope() {
    let env = Env::new();
    env.set("ns", "doc", r#"{"b":[1,2],"a":{"c":true}}"#);
    let pretty = env.ok(&["get", "ns", "doc"]).stdout;
    assert!(pretty.contains("\n  \"b\": ["), "{pretty}");
    assert_eq!(
        serde_json::from_str::<Value>(&pretty).unwrap(),
        json!({"b": [1, 2], "a": {"c": true}})
    );
    // Member order is kept.
    assert!(pretty.find("\"b\"").unwrap() < pretty.find("\"a\"").unwrap());

    let raw = env.ok(&["get", "ns", "doc", "--raw"]).stdout;
    assert_eq!(raw, "{\"b\":[1,2],\"a\":{\"c\":true}}\n");

    let envelope = env.doc("ns", "doc");
    assert_eq!(envelope["namespace"], "ns");
    assert_eq!(envelope["key"], "doc");
    assert_eq!(envelope["value"], json!({"b": [1, 2], "a": {"c": true}}));
    assert_eq!(envelope["version"], 1);
    assert_eq!(envelope["size_bytes"], raw.trim_end().len());
    assert_eq!(envelope["updated_by"], "cli");
    assert_eq!(envelope["expires_at"], Value::Null);
    for field in ["created_at", "updated_at"] {
        let t = envelope[field].as_str().expect("a time");
        assert!(t.ends_with('Z') && t.len() == 24, "{field}: {t}");
    }
    // Global options are accepted after the subcommand too.
    let after = output(env.bare().args([
        "get",
        "ns",
        "doc",
        "--raw",
        "--store",
        env.store.to_str().unwrap(),
    ]));
    assert_eq!(after.code, 0, "{after:?}");
    assert_eq!(after.stdout, raw);

    env.fails(&["get", "ns", "doc", "--raw", "--json"], 2);
    env.fails(&["get", "ns", "missing"], 3);
    env.fails(&["get", "other", "doc"], 3);
}

#[test]
fn the_default_store_lives_in_the_data_dir() {
    let env = Env::new();
    let out = output(env.bare().args(["set", "ns", "k", "{}"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(env.data_dir().join("console.db").is_file());
    let out = output(env.bare().args(["get", "ns", "k", "--raw"]));
    assert_eq!(out.stdout, "{}\n");
    // CONSOLE_STORE picks a file too.
    let other = env.root.join("other.db");
    let out = output(
        env.bare()
            .env("CONSOLE_STORE", &other)
            .args(["get", "ns", "k"]),
    );
    assert_eq!(out.code, 3, "{out:?}");
}

// ---------------------------------------------------------------- set

#[test]
fn set_takes_a_literal_a_file_or_stdin() {
    let env = Env::new();
    let out = env.ok(&["set", "ns", "lit", r#"{"from":"literal"}"#]);
    assert!(out.stdout.contains("created ns/lit (version 1)"), "{out:?}");
    let out = env.ok(&["set", "ns", "lit", r#"{"from":"again"}"#]);
    assert!(
        out.stdout.contains("replaced ns/lit (version 2)"),
        "{out:?}"
    );

    let file = env.write_file("v.json", br#"{"from":"file"}"#);
    env.ok(&["set", "ns", "file", &at(&file)]);
    assert_eq!(env.doc("ns", "file")["value"], json!({"from": "file"}));

    let out = env.run_stdin(&["set", "ns", "stdin", "-"], br#"[1,"two"]"#);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(env.doc("ns", "stdin")["value"], json!([1, "two"]));

    // --json prints the metadata envelope, without the value.
    let meta = env.ok(&["set", "ns", "lit", r#"{"n":3}"#, "--json"]).json();
    assert_eq!(meta["version"], 3);
    assert_eq!(meta["key"], "lit");
    assert_eq!(meta["size_bytes"], 7);
    assert!(meta.get("value").is_none(), "{meta}");

    let missing = env.root.join("nope.json");
    // A file that cannot be read is an I/O failure (exit 1, cli.md), not invalid input.
    env.fails(&["set", "ns", "x", &at(&missing)], 1);
    env.fails(&["get", "ns", "x"], 3);
    env.fails(&["set", "ns", "x"], 2);
}

#[test]
fn cas_conflicts_exit_4_and_change_nothing() {
    let env = Env::new();
    env.set("ns", "k", r#"{"v":1}"#);
    env.ok(&["set", "ns", "k", r#"{"v":2}"#, "--version", "1"]);
    let before = env.doc("ns", "k");
    assert_eq!(before["version"], 2);

    let out = env.fails(&["set", "ns", "k", r#"{"v":"lost"}"#, "--version", "1"], 4);
    assert!(out.stderr.starts_with("error: CONFLICT: "), "{out:?}");
    assert_eq!(env.doc("ns", "k"), before);

    env.fails(&["set", "ns", "k", r#"{"v":"lost"}"#, "--create-only"], 4);
    env.fails(
        &["patch", "ns", "k", r#"{"v":"lost"}"#, "--version", "7"],
        4,
    );
    env.fails(&["delete", "ns", "k", "--version", "1"], 4);
    assert_eq!(env.doc("ns", "k"), before);

    // A conditional write on a missing document conflicts and creates nothing.
    env.fails(&["set", "ns", "new", "{}", "--version", "1"], 4);
    env.fails(&["get", "ns", "new"], 3);
    env.ok(&["set", "ns", "new", "{}", "--create-only"]);
    assert_eq!(env.doc("ns", "new")["version"], 1);
    env.fails(
        &["set", "ns", "new", "{}", "--create-only", "--version", "1"],
        2,
    );
    env.fails(&["set", "ns", "new", "{}", "--version", "x"], 2);

    // With --json the error object carries the code.
    let out = env.fails(&["--json", "set", "ns", "k", "{}", "--version", "1"], 4);
    let err = out.err_json();
    assert_eq!(err["error"]["code"], "CONFLICT");
    assert_eq!(err["error"]["is_retryable"], false);
}

#[test]
fn ttl_expires_documents_from_every_read() {
    let env = Env::new();
    env.set("ns", "keep", r#"{"k":1}"#);
    env.ok(&["set", "ns", "gone", r#"{"g":1}"#, "--ttl", "1"]);
    let doc = env.doc("ns", "gone");
    assert!(doc["expires_at"].is_string(), "{doc}");
    let stats = env.ok(&["stats", "ns"]).json();
    assert_eq!(stats["documents"], 2);
    // A namespace that holds only an expiring document.
    env.ok(&["set", "brief", "x", "{}", "--ttl", "1"]);

    std::thread::sleep(Duration::from_millis(1200));
    env.fails(&["get", "ns", "gone"], 3);
    assert_eq!(keys_of(&env.ok(&["list", "ns"]).json()), ["keep"]);
    let stats = env.ok(&["stats", "ns"]).json();
    assert_eq!(stats["documents"], 1);
    assert_eq!(stats["bytes"], 7);
    env.fails(&["stats", "brief"], 3);
    assert_eq!(env.ok(&["list"]).json(), json!({"namespaces": ["ns"]}));
    env.fails(&["history", "ns", "gone"], 3);
    // ttl 0 means no expiry; an absurd ttl is refused.
    env.ok(&["set", "ns", "forever", "{}", "--ttl", "0"]);
    assert_eq!(env.doc("ns", "forever")["expires_at"], Value::Null);
    env.fails(&["set", "ns", "x", "{}", "--ttl", "99999999999"], 5);
    env.fails(&["set", "ns", "x", "{}", "--ttl", "-1"], 2);
}

// ---------------------------------------------------------------- patch

#[test]
fn patch_merges_members_and_null_removes_one() {
    let env = Env::new();
    env.set("ns", "k", r#"{"a":1,"b":{"x":1},"c":3}"#);
    let out = env.ok(&["patch", "ns", "k", r#"{"a":10,"b":null,"d":[4]}"#]);
    assert!(out.stdout.contains("patched ns/k (version 2)"), "{out:?}");
    assert_eq!(
        env.doc("ns", "k")["value"],
        json!({"a": 10, "c": 3, "d": [4]})
    );
    // Nested objects are replaced, not merged (top-level merge).
    env.ok(&["patch", "ns", "k", r#"{"d":{"y":2}}"#, "--version", "2"]);
    let file = env.write_file("p.json", br#"{"c":null}"#);
    env.ok(&["patch", "ns", "k", &at(&file)]);
    let out = env.run_stdin(&["patch", "ns", "k", "-"], br#"{"e":"stdin"}"#);
    assert_eq!(out.code, 0, "{out:?}");
    let doc = env.doc("ns", "k");
    assert_eq!(doc["value"], json!({"a": 10, "d": {"y": 2}, "e": "stdin"}));
    assert_eq!(doc["version"], 5);

    env.fails(&["patch", "ns", "missing", r#"{"a":1}"#], 3);
    env.fails(&["get", "ns", "missing"], 3);
    env.fails(&["patch", "ns", "k", "[1]"], 5);
    env.fails(&["patch", "ns", "k", "null"], 5);
    env.set("ns", "arr", "[1,2]");
    env.fails(&["patch", "ns", "arr", r#"{"a":1}"#], 5);
    assert_eq!(env.doc("ns", "arr")["value"], json!([1, 2]));
    assert_eq!(env.doc("ns", "k"), doc);
}

// ---------------------------------------------------------------- delete

#[test]
fn delete_a_document_conditionally_or_not() {
    let env = Env::new();
    env.set("ns", "a", "{}");
    env.set("ns", "b", "{}");
    env.set("ns", "b", r#"{"v":2}"#);
    let out = env.ok(&["delete", "ns", "a"]);
    assert!(out.stdout.contains("deleted ns/a"), "{out:?}");
    env.fails(&["get", "ns", "a"], 3);
    env.fails(&["delete", "ns", "a"], 3);
    env.fails(&["delete", "ns", "b", "--version", "1"], 4);
    env.ok(&["get", "ns", "b"]);
    let out = env.ok(&["--json", "delete", "ns", "b", "--version", "2"]);
    assert_eq!(
        out.json(),
        json!({"deleted": true, "namespace": "ns", "key": "b"})
    );
    env.fails(&["get", "ns", "b"], 3);
    assert_eq!(env.ok(&["list"]).json(), json!({"namespaces": []}));
    env.fails(&["delete", "ns"], 2);
}

#[test]
fn delete_all_needs_yes_without_a_terminal() {
    let env = Env::new();
    for key in ["a", "b", "c"] {
        env.set("ns", key, "{}");
    }
    env.set("other", "x", "{}");
    // stdin is not a terminal here (null, or a pipe): refused, nothing deleted.
    let out = env.fails(&["delete", "ns", "--all"], 2);
    assert!(out.stderr.contains("--yes"), "{out:?}");
    let out = env.run_stdin(&["delete", "ns", "--all"], b"ns\n");
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(keys_of(&env.ok(&["list", "ns"]).json()), ["a", "b", "c"]);
    env.fails(&["delete", "ns", "a", "--all", "--yes"], 2);
    // --yes belongs to --all: with a key it is a usage error, and nothing is deleted.
    env.fails(&["delete", "ns", "a", "--yes"], 2);
    env.fails(&["delete", "ns", "--yes"], 2);
    env.ok(&["get", "ns", "a"]);

    let out = env.ok(&["--json", "delete", "ns", "--all", "--yes"]);
    assert_eq!(
        out.json(),
        json!({"deleted": true, "namespace": "ns", "documents_deleted": 3})
    );
    assert_eq!(
        keys_of(&env.ok(&["list", "ns"]).json()),
        Vec::<String>::new()
    );
    assert_eq!(env.ok(&["list"]).json(), json!({"namespaces": ["other"]}));
    env.fails(&["delete", "ns", "--all", "--yes"], 3);
    let out = env.ok(&["delete", "other", "--all", "-y"]);
    assert!(
        out.stdout.contains("deleted 1 document from other"),
        "{out:?}"
    );
}

// ---------------------------------------------------------------- incr

#[test]
fn incr_creates_adds_and_refuses_non_numbers() {
    let env = Env::new();
    assert_eq!(env.ok(&["incr", "ns", "c", "n"]).stdout, "1\n");
    assert_eq!(env.ok(&["incr", "ns", "c", "n", "--by", "5"]).stdout, "6\n");
    assert_eq!(
        env.ok(&["incr", "ns", "c", "n", "--by", "-10"]).stdout,
        "-4\n"
    );
    let out = env.ok(&["incr", "ns", "c", "f", "--by", "0.5"]);
    assert_eq!(out.stdout, "0.5\n");
    let doc = env
        .ok(&["--json", "incr", "ns", "c", "f", "--by", "0.25"])
        .json();
    assert_eq!(doc["value"], json!({"n": -4, "f": 0.75}));
    assert_eq!(doc["version"], 5);

    env.set("ns", "s", r#"{"name":"x"}"#);
    env.fails(&["incr", "ns", "s", "name"], 5);
    env.fails(&["incr", "ns", "c", "n", "--by", "abc"], 5);
    env.fails(&["incr", "ns", "c", "n", "--by", ""], 5);
    env.set("ns", "arr", "[1]");
    env.fails(&["incr", "ns", "arr", "n"], 5);
    env.fails(&["incr", "ns", "c"], 2);
    assert_eq!(env.doc("ns", "s")["value"], json!({"name": "x"}));
    assert_eq!(env.doc("ns", "s")["version"], 1);
    assert_eq!(env.doc("ns", "c")["version"], 5);
}

// ---------------------------------------------------------------- history, stats

#[test]
fn history_lists_versions_and_prints_one() {
    let env = Env::new();
    for v in 1..=3 {
        env.set("ns", "k", &format!(r#"{{"v":{v}}}"#));
    }
    let list = env.ok(&["history", "ns", "k"]).json();
    let versions: Vec<u64> = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [3, 2, 1]);
    assert!(list["versions"][0].get("value").is_none());
    assert_eq!(
        env.ok(&["history", "ns", "k", "--version", "1", "--raw"])
            .stdout,
        "{\"v\":1}\n"
    );
    let one = env
        .ok(&["--json", "history", "ns", "k", "--version", "2"])
        .json();
    assert_eq!(one["value"], json!({"v": 2}));
    assert_eq!(one["version"], 2);
    env.fails(&["history", "ns", "k", "--version", "9"], 3);
    env.fails(&["history", "ns", "nope"], 3);
    env.fails(&["history", "ns", "k", "--raw"], 2);
    // A deleted document keeps its history until it is re-created.
    env.ok(&["delete", "ns", "k"]);
    env.ok(&["history", "ns", "k", "--version", "3"]);
}

#[test]
fn stats_count_documents_and_bytes() {
    let env = Env::new();
    env.set("a", "x", r#"{"n":1}"#);
    env.set("a", "y", "[1,2,3]");
    env.set("b", "z", "{}");
    let all = env.ok(&["stats"]).json();
    let list = all["namespaces"].as_array().expect("namespaces");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["namespace"], "a");
    assert_eq!(list[0]["documents"], 2);
    assert_eq!(list[0]["bytes"], 7 + 7);
    assert_eq!(list[1]["documents"], 1);
    assert_eq!(list[1]["bytes"], 2);
    let one = env.ok(&["stats", "b"]).json();
    assert_eq!(one["namespace"], "b");
    assert!(one["created_at"].is_string() && one["updated_at"].is_string());
    env.set("a", "x", r#"{"n":1000}"#);
    assert_eq!(env.ok(&["stats", "a"]).json()["bytes"], 10 + 7);
    env.fails(&["stats", "c"], 3);
    env.fails(&["stats", "C"], 5);
}

// ---------------------------------------------------------------- workspaces, config

#[test]
fn workspaces_are_created_listed_and_retiered() {
    let env = Env::new();
    let out = env.ok(&["workspaces", "create", "tiny", "--tier", "free"]);
    assert!(out.stdout.contains("tier free"), "{out:?}");
    let created = env
        .ok(&["--json", "workspaces", "create", "big", "--name", "Big one"])
        .json();
    assert_eq!(created["slug"], "big");
    assert_eq!(created["name"], "Big one");
    assert_eq!(created["tier"], "unlimited");
    env.ok(&["workspaces", "set-tier", "big", "team"]);
    let list = env.ok(&["workspaces", "list"]).json();
    let tiers: HashMap<String, String> = list["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["slug"].as_str().unwrap().to_string(),
                w["tier"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(tiers["tiny"], "free");
    assert_eq!(tiers["big"], "team");

    env.fails(&["workspaces", "create", "x", "--tier", "gold"], 2);
    env.fails(&["workspaces", "set-tier", "big"], 2);
    env.fails(&["workspaces", "create", "Bad_Slug"], 5);

    // Workspaces are separate.
    env.ok(&["--workspace", "tiny", "set", "ns", "k", r#"{"w":"tiny"}"#]);
    env.fails(&["get", "ns", "k"], 3);
    env.fails(&["--workspace", "big", "get", "ns", "k"], 3);
    let doc = output(
        env.command()
            .env("CONSOLE_WORKSPACE", "tiny")
            .args(["get", "ns", "k", "--raw"]),
    );
    assert_eq!(doc.stdout, "{\"w\":\"tiny\"}\n");
    env.fails(&["--workspace", "NOPE", "list"], 5);
}

#[test]
fn config_path_points_into_the_config_dir() {
    let env = Env::new();
    let out = output(env.bare().args(["config", "path"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout.trim_end(),
        env.config_dir().join("config.toml").display().to_string()
    );
    let out = output(env.bare().args(["config", "show"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("# default store: "), "{out:?}");
}

#[test]
fn profiles_select_store_and_refuse_writes_when_read_only() {
    let env = Env::new();
    env.set("ns", "k", "{}");
    std::fs::create_dir_all(env.config_dir()).unwrap();
    let config = format!(
        "[profiles.ro]\nstore = {:?}\nread_only = true\n",
        env.store.display().to_string()
    );
    std::fs::write(env.config_dir().join("config.toml"), config).unwrap();
    let ro = |args: &[&str]| output(env.bare().args(["--profile", "ro"]).args(args));
    assert_eq!(ro(&["get", "ns", "k", "--raw"]).stdout, "{}\n");
    for write in [
        &["set", "ns", "k", "[]"][..],
        &["patch", "ns", "k", "{}"],
        &["delete", "ns", "k"],
        &["incr", "ns", "k", "n"],
        &["delete", "ns", "--all", "--yes"],
    ] {
        let out = ro(write);
        assert_eq!(out.code, 7, "{write:?}: {out:?}");
        assert!(out.stderr.contains("FORBIDDEN"), "{out:?}");
    }
    assert_eq!(env.doc("ns", "k")["version"], 1);
    let out = output(env.bare().args(["--profile", "missing", "list"]));
    assert_eq!(out.code, 5, "{out:?}");
    std::fs::write(env.config_dir().join("config.toml"), "nonsense = 1\n").unwrap();
    let out = env.run(&["list"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("nonsense"), "{out:?}");
}

// ---------------------------------------------------------------- errors and exit codes

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    for args in [
        &["frobnicate"][..],
        &["get"],
        &["get", "ns"],
        &["get", "ns", "k", "extra"],
        &["list", "--bogus"],
        &["set", "ns", "k", "{}", "--ttl", "soon"],
        &["delete", "ns", "k", "--version", "-1"],
        &["history", "ns", "k", "--version", "v1"],
        &["--json"],
    ] {
        let out = env.run(args);
        if args == ["--json"] {
            // No subcommand and no terminal: the TUI cannot start; anything but success.
            assert_ne!(out.code, 0, "{args:?}: {out:?}");
            continue;
        }
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(!out.stderr.is_empty());
    }
    assert_eq!(env.ok(&["--help"]).code, 0);
    assert!(env.ok(&["--version"]).stdout.starts_with("console "));
    assert_eq!(env.ok(&["list"]).json(), json!({"namespaces": []}));
}

#[test]
fn other_failures_exit_1() {
    let env = Env::new();
    // A store path that is a directory cannot be opened.
    let dir = env.root.join("a-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let out = output(env.bare().arg("--store").arg(&dir).args(["list"]));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("error: "), "{out:?}");
    // A server that cannot be reached (a closed loopback port).
    let out = output(
        env.bare()
            .args(["--remote", "http://127.0.0.1:9", "list"])
            .env("CONSOLE_API_KEY", "k"),
    );
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn errors_are_one_line_or_a_json_object_on_stderr() {
    let env = Env::new();
    let out = env.fails(&["get", "ns", "nope"], 3);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("error: NOT_FOUND: "), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");

    let out = env.fails(&["--json", "get", "ns", "nope"], 3);
    let err = out.err_json();
    assert_eq!(err["error"]["code"], "NOT_FOUND");
    assert!(err["error"]["message"].as_str().unwrap().contains("nope"));
    assert_eq!(err["error"]["is_retryable"], false);
    let err = env.fails(&["get", "Ns", "k", "--json"], 5).err_json();
    assert_eq!(err["error"]["code"], "INVALID_INPUT");
}

#[test]
fn bad_namespaces_and_keys_are_refused_with_exit_5() {
    let env = Env::new();
    let long_key = "k".repeat(257);
    let max_key = "k".repeat(256);
    let long_ns = "n".repeat(65);
    let max_ns = "n".repeat(64);
    for ns in [
        "Users",
        "users_x",
        "1abc",
        "_watch",
        "-a",
        "a b",
        "a/b",
        "",
        long_ns.as_str(),
        "é",
    ] {
        for args in [
            vec!["set", "--", ns, "k", "{}"],
            vec!["get", "--", ns, "k"],
            vec!["list", "--", ns],
        ] {
            let out = env.run(&args);
            assert_eq!(out.code, 5, "{args:?}: {out:?}");
            assert!(out.stderr.contains("INVALID_INPUT"), "{out:?}");
        }
    }
    for key in [
        "a/b",
        "a b",
        "_watch",
        ".hidden",
        "-dash",
        "",
        long_key.as_str(),
        "a\nb",
        "ké",
    ] {
        for args in [
            vec!["set", "--", "ns", key, "{}"],
            vec!["get", "--", "ns", key],
            vec!["patch", "--", "ns", key, "{}"],
            vec!["delete", "--", "ns", key],
        ] {
            let out = env.run(&args);
            assert_eq!(out.code, 5, "{args:?}: {out:?}");
        }
    }
    assert_eq!(env.ok(&["list"]).json(), json!({"namespaces": []}));
    env.ok(&["set", &max_ns, &max_key, "{}"]);
    env.ok(&["set", "a-1", "A.b_c-9", "{}"]);
    assert_eq!(keys_of(&env.ok(&["list", &max_ns]).json()), [max_key]);
}

#[test]
fn scalars_null_and_invalid_json_are_refused_and_change_nothing() {
    let env = Env::new();
    env.set("ns", "k", r#"{"keep":true}"#);
    let before = env.doc("ns", "k");
    for bad in [
        "42",
        "\"str\"",
        "null",
        "true",
        "{",
        "",
        "   ",
        "{\"a\":1} x",
        "[1,]",
        "{'a':1}",
    ] {
        for key in ["k", "fresh"] {
            let out = env.run(&["set", "ns", key, bad]);
            assert_eq!(out.code, 5, "set {bad:?}: {out:?}");
            assert!(out.stderr.contains("INVALID_INPUT"), "{out:?}");
        }
    }
    let out = env.run_stdin(&["set", "ns", "k", "-"], b"");
    assert_eq!(out.code, 5, "{out:?}");
    let out = env.run_stdin(&["set", "ns", "k", "-"], b"7");
    assert_eq!(out.code, 5, "{out:?}");
    let file = env.write_file("bad.json", b"\xff\xfe not json");
    env.fails(&["set", "ns", "k", &at(&file)], 5);
    assert_eq!(env.doc("ns", "k"), before);
    env.fails(&["get", "ns", "fresh"], 3);
    assert_eq!(env.ok(&["stats", "ns"]).json()["documents"], 1);
}

// ---------------------------------------------------------------- quotas

#[test]
fn free_tier_refuses_a_2mb_document_and_stores_nothing() {
    let env = Env::new();
    env.ok(&["workspaces", "create", "tiny", "--tier", "free"]);
    let big = format!("{{\"blob\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let file = env.write_file("big.json", big.as_bytes());
    let out = env.fails(&["--workspace", "tiny", "set", "ns", "big", &at(&file)], 6);
    assert!(out.stderr.contains("DOCUMENT_TOO_LARGE"), "{out:?}");
    let out = env.run_stdin(
        &["--workspace", "tiny", "set", "ns", "big", "-"],
        big.as_bytes(),
    );
    assert_eq!(out.code, 6, "{out:?}");
    env.fails(&["--workspace", "tiny", "get", "ns", "big"], 3);
    assert_eq!(
        env.ok(&["--workspace", "tiny", "list"]).json(),
        json!({"namespaces": []})
    );
    // Replacing a small document with a big one changes nothing either.
    env.ok(&["--workspace", "tiny", "set", "ns", "small", "{}"]);
    env.fails(
        &["--workspace", "tiny", "set", "ns", "small", &at(&file)],
        6,
    );
    let doc = env
        .ok(&["--workspace", "tiny", "get", "ns", "small", "--json"])
        .json();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["value"], json!({}));
    // The default (unlimited) workspace takes it.
    env.ok(&["set", "ns", "big", &at(&file)]);
    assert_eq!(
        env.doc("ns", "big")["size_bytes"].as_u64(),
        Some(big.len() as u64)
    );
}

#[test]
fn free_tier_caps_documents_per_namespace_and_namespaces() {
    let env = Env::new();
    env.ok(&["workspaces", "create", "tiny", "--tier", "free"]);
    let ws = ["--workspace", "tiny"];
    let tiny = |args: &[&str]| env.run(&[&ws[..], args].concat());
    for i in 0..100 {
        let key = format!("k{i:03}");
        let out = tiny(&["set", "ns", &key, "{}"]);
        assert_eq!(out.code, 0, "{key}: {out:?}");
    }
    let out = tiny(&["set", "ns", "k100", "{}"]);
    assert_eq!(out.code, 6, "{out:?}");
    assert!(out.stderr.contains("STORAGE_QUOTA_EXCEEDED"), "{out:?}");
    assert_eq!(tiny(&["incr", "ns", "k100", "n"]).code, 6);
    assert_eq!(tiny(&["get", "ns", "k100"]).code, 3);
    // Replacing an existing document is fine at the cap.
    assert_eq!(tiny(&["set", "ns", "k000", r#"{"v":2}"#]).code, 0);
    assert_eq!(tiny(&["stats", "ns"]).json()["documents"], 100);
    // After a delete there is room again.
    assert_eq!(tiny(&["delete", "ns", "k000"]).code, 0);
    assert_eq!(tiny(&["set", "ns", "k100", "{}"]).code, 0);

    for ns in ["n2", "n3", "n4", "n5"] {
        assert_eq!(tiny(&["set", ns, "k", "{}"]).code, 0, "{ns}");
    }
    let out = tiny(&["set", "n6", "k", "{}"]);
    assert_eq!(out.code, 6, "{out:?}");
    assert!(out.stderr.contains("STORAGE_QUOTA_EXCEEDED"), "{out:?}");
    assert_eq!(
        tiny(&["list"]).json()["namespaces"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    // A new document in an existing namespace is still fine.
    assert_eq!(tiny(&["set", "n5", "k2", "{}"]).code, 0);
}

// ---------------------------------------------------------------- paging

/// Walks a namespace with `--limit 7`, following the cursor; returns the pages' keys.
/// `between` runs after each page.
fn walk(env: &Env, ns: &str, mut between: impl FnMut()) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut args = vec!["list", ns, "--limit", "7"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c.as_str()]);
        }
        let page = env.ok(&args).json();
        let got = keys_of(&page);
        assert!(got.len() <= 7, "{page}");
        keys.extend(got);
        match page["cursor"].as_str() {
            Some(c) => {
                assert_eq!(page["has_more"], true);
                cursor = Some(c.to_string());
                between();
            }
            None => {
                assert_eq!(page["has_more"], false);
                return keys;
            }
        }
    }
    panic!("the walk did not end within 100 pages");
}

fn seed_100(env: &Env, ns: &str) -> Vec<String> {
    // One process writes them fast through the library, on the same file.
    let store = agent_console::store::SqliteStore::open(&env.store, Default::default()).unwrap();
    let store = agent_console::store::Store::new(agent_console::store::Backend::Sqlite(store));
    let scope = agent_console::store::Scope::new(
        agent_console::model::Workspace::parse("default").unwrap(),
        "test",
    );
    let ns = agent_console::model::Namespace::parse(ns).unwrap();
    let mut keys = Vec::new();
    for i in 0..100 {
        let key = format!("k{i:03}");
        store
            .put(
                &scope,
                &ns,
                &agent_console::model::Key::parse(&key).unwrap(),
                json!({"i": i}),
                &Default::default(),
            )
            .unwrap();
        keys.push(key);
    }
    keys
}

fn assert_each_once_in_order(walked: &[String], originals: &[String]) {
    assert!(
        walked.windows(2).all(|w| w[0] < w[1]),
        "keys are not strictly ascending: {walked:?}"
    );
    for key in originals {
        let n = walked.iter().filter(|k| *k == key).count();
        assert_eq!(n, 1, "{key} seen {n} times in {walked:?}");
    }
}

#[test]
fn paging_by_7_returns_each_of_100_keys_once() {
    let env = Env::new();
    let originals = seed_100(&env, "ns");
    let walked = walk(&env, "ns", || {});
    assert_eq!(walked, originals);
}

#[test]
fn paging_is_stable_while_another_process_inserts() {
    let env = Arc::new(Env::new());
    let originals = seed_100(&env, "ns");
    let stop = Arc::new(AtomicBool::new(false));
    let inserted = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (env, stop, inserted) = (env.clone(), stop.clone(), inserted.clone());
        std::thread::spawn(move || {
            // Keys that sort between and around the originals; at most 200 writes.
            for j in 0..200usize {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let key = match j % 3 {
                    0 => format!("k{:03}-new{j}", (j * 37) % 100),
                    1 => format!("a-new{j}"),
                    _ => format!("z-new{j}"),
                };
                env.ok(&["set", "ns", &key, "{}"]);
                inserted.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    // Between two pages, wait (bounded) until the writer has inserted at least one more key,
    // so every page boundary sees concurrent inserts.
    let wait_for_insert = |seen: &mut usize| {
        let start = Instant::now();
        while inserted.load(Ordering::SeqCst) <= *seen && start.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        *seen = inserted.load(Ordering::SeqCst);
    };
    let mut seen = 0;
    wait_for_insert(&mut seen);
    let before = seen;
    let walked = walk(&env, "ns", || wait_for_insert(&mut seen));
    let during = inserted.load(Ordering::SeqCst) - before;
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("writer thread");
    assert!(
        during >= 14,
        "only {during} inserts happened during the walk"
    );
    assert_each_once_in_order(&walked, &originals);
}

// ---------------------------------------------------------------- concurrency

#[test]
fn two_processes_incrementing_through_cas_lose_nothing() {
    let env = Arc::new(Env::new());
    env.set("ns", "counter", r#"{"n":0}"#);
    let started = Instant::now();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let env = env.clone();
            std::thread::spawn(move || {
                let mut conflicts = 0u32;
                for _ in 0..200 {
                    let mut done = false;
                    for _attempt in 0..1000 {
                        let doc = env.doc("ns", "counter");
                        let n = doc["value"]["n"].as_u64().expect("n");
                        let v = doc["version"].as_u64().expect("version").to_string();
                        let value = format!(r#"{{"n":{}}}"#, n + 1);
                        let out = env.run(&["set", "ns", "counter", &value, "--version", &v]);
                        match out.code {
                            0 => {
                                done = true;
                                break;
                            }
                            4 => conflicts += 1,
                            _ => panic!("unexpected failure: {out:?}"),
                        }
                    }
                    assert!(done, "an increment did not succeed in 1000 attempts");
                }
                conflicts
            })
        })
        .collect();
    let conflicts: u32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let doc = env.doc("ns", "counter");
    assert_eq!(doc["value"]["n"], 400);
    assert_eq!(doc["version"], 401);
    eprintln!(
        "400 CAS increments by 2 processes: {conflicts} conflicts retried, {:?}",
        started.elapsed()
    );
}

#[test]
fn concurrent_incr_is_atomic() {
    let env = Arc::new(Env::new());
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let env = env.clone();
            std::thread::spawn(move || {
                for _ in 0..30 {
                    env.ok(&["incr", "ns", "c", "n"]);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(env.doc("ns", "c")["value"]["n"], 90);
}

// ---------------------------------------------------------------- terminal safety

fn has_raw_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\n')
}

#[test]
fn control_characters_never_reach_the_terminal_raw() {
    let env = Env::new();
    // Stored through JSON escapes, and as raw bytes in a file.
    env.set(
        "ns",
        "esc",
        r#"{"msg":"\u001b[31mred\u009b2J\u0007\u007f","k\u001b":1}"#,
    );
    let expected = json!({"msg": "\u{1b}[31mred\u{9b}2J\u{7}\u{7f}", "k\u{1b}": 1});
    let raw = serde_json::to_vec(&expected).unwrap();
    let raw_text = String::from_utf8(raw.clone()).unwrap();
    assert!(
        raw_text.contains('\u{9b}'),
        "serde leaves C1 raw: the test is meaningful"
    );
    let file = env.write_file("esc.json", &raw);
    env.ok(&["set", "ns", "esc2", &at(&file)]);
    env.ok(&["patch", "ns", "esc2", r#"{"more":"\u009b\u001b"}"#]);

    for args in [
        &["get", "ns", "esc"][..],
        &["get", "ns", "esc", "--raw"],
        &["get", "ns", "esc", "--json"],
        &["history", "ns", "esc", "--version", "1"],
        &["history", "ns", "esc", "--version", "1", "--raw"],
    ] {
        let out = env.ok(args);
        assert!(!has_raw_control(&out.stdout), "{args:?}: {:?}", out.stdout);
        let parsed: Value = serde_json::from_str(&out.stdout).expect("still JSON");
        let value = parsed.get("value").cloned().unwrap_or(parsed);
        assert_eq!(value, expected, "{args:?}");
    }
    let out = env.ok(&["get", "ns", "esc2", "--raw"]);
    assert!(!has_raw_control(&out.stdout), "{:?}", out.stdout);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["more"], "\u{9b}\u{1b}");
    assert_eq!(v["msg"], expected["msg"]);

    // Names echoed in error messages are escaped too.
    let out = env.fails(&["get", "ns", "bad\u{1b}[2J\u{9b}key"], 5);
    assert!(!has_raw_control(&out.stderr), "{:?}", out.stderr);
    let out = env.fails(&["--json", "get", "n\u{1b}s", "k"], 5);
    assert!(!has_raw_control(&out.stderr), "{:?}", out.stderr);
    out.err_json();
    let out = env.fails(&["set", "ns", "k", "\u{1b}[31m"], 5);
    assert!(!has_raw_control(&out.stderr), "{:?}", out.stderr);
}

/// Runs `console ARGS` on a pseudo-terminal (util-linux `script`), typing `input`.
fn on_terminal(env: &Env, args: &str, input: &str) -> Option<Out> {
    let script = Path::new("/usr/bin/script");
    // bsdutils (an essential Debian package) ships it: a missing one is a broken machine,
    // not a reason to skip.
    assert!(
        script.exists(),
        "/usr/bin/script (util-linux) is needed for terminal tests"
    );
    let line = format!("'{BIN}' --store '{}' {args}", env.store.display());
    let mut cmd = Command::new(script);
    for (k, v) in env.bare().get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.args(["-qec", &line, "/dev/null"]);
    let o = assert_cmd::Command::from_std(cmd)
        .write_stdin(input.to_string())
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run script");
    Some(to_out(o))
}

#[test]
fn delete_all_on_a_terminal_asks_for_the_namespace_name() {
    let env = Env::new();
    env.set("ns", "a", "{}");
    env.set("ns", "b", "{}");
    let out = on_terminal(&env, "delete ns --all", "wrong\n").expect("script");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("Type the namespace name"), "{out:?}");
    assert!(out.stdout.contains("2 documents"), "{out:?}");
    assert_eq!(keys_of(&env.ok(&["list", "ns"]).json()), ["a", "b"]);
    let out = on_terminal(&env, "delete ns --all", "ns\n").expect("script");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("deleted 2 documents from ns"),
        "{out:?}"
    );
    env.fails(&["stats", "ns"], 3);
}

#[test]
fn processes_that_create_the_same_new_store_at_once_all_succeed() {
    // The first processes on a new file race to put it in WAL mode; none may fail.
    for round in 0..6 {
        let env = Arc::new(Env::new());
        let children: Vec<_> = (0..8)
            .map(|i| {
                let env = env.clone();
                std::thread::spawn(move || {
                    env.ok(&["set", "ns", &format!("k{round}-{i}"), "{}"]);
                })
            })
            .collect();
        for c in children {
            c.join().unwrap();
        }
        assert_eq!(keys_of(&env.ok(&["list", "ns"]).json()).len(), 8);
    }
}

// ---------------------------------------------------------------- shell tools

#[test]
fn bash_completes_subcommands_from_the_generated_script() {
    let env = Env::new();
    let script = env.ok(&["completions", "bash"]).stdout;
    let file = env.write_file("console.bash", script.as_bytes());
    // Source the script as a user's shell does, then ask its function what `console wa<TAB>`
    // and `console diff --con<TAB>` complete to.
    let probe = format!(
        "source '{}'\n\
         complete -p console\n\
         COMP_WORDS=(console wa); COMP_CWORD=1; COMP_LINE='console wa'; COMP_POINT=10\n\
         _console console wa console; echo \"words: ${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(console diff --con); COMP_CWORD=2; COMP_LINE='console diff --con'; COMP_POINT=18\n\
         _console console --con diff; echo \"flags: ${{COMPREPLY[*]}}\"\n",
        file.display()
    );
    let out = output(Command::new("bash").args(["--norc", "-c", &probe]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("-F _console"), "{out:?}");
    let words = out
        .stdout
        .lines()
        .find(|l| l.starts_with("words: "))
        .unwrap();
    assert_eq!(words, "words: watch", "{out:?}");
    let flags = out
        .stdout
        .lines()
        .find(|l| l.starts_with("flags: "))
        .unwrap();
    assert_eq!(flags, "flags: --context", "{out:?}");
    for shell in ["zsh", "fish", "powershell"] {
        assert!(!env.ok(&["completions", shell]).stdout.is_empty());
    }
    env.fails(&["completions", "tcsh"], 2);
}

#[test]
fn the_man_page_renders_with_man() {
    let env = Env::new();
    let page = env.ok(&["man"]).stdout;
    let file = env.write_file("console.1", page.as_bytes());
    let out = output(
        Command::new("man")
            .arg("-l")
            .arg(&file)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    for text in [
        "NAME",
        "SYNOPSIS",
        "console",
        "watch",
        "completions",
        "--remote",
    ] {
        assert!(out.stdout.contains(text), "{text} missing: {}", out.stdout);
    }
}

#[test]
fn diff_shows_two_versions_and_revert_writes_an_old_one_back_conditionally() {
    let env = Env::new();
    env.set("ns", "k", r#"{"a": 1, "b": [1, 2]}"#);
    env.set("ns", "k", r#"{"a": 2, "b": [1, 2]}"#);
    env.ok(&["patch", "ns", "k", r#"{"c": "new"}"#]);
    let out = env.ok(&["diff", "ns", "k", "1"]).stdout;
    assert!(
        out.starts_with("--- ns/k version 1\n+++ ns/k version 3\n@@ "),
        "{out}"
    );
    assert!(out.contains("\n-  \"a\": 1,\n+  \"a\": 2,\n"), "{out}");
    assert!(out.contains("\n+  \"c\": \"new\"\n"), "{out}");
    assert!(!out.contains('\u{1b}'), "no colour on a pipe: {out:?}");
    let out = env.ok(&["diff", "ns", "k", "1", "2"]).stdout;
    assert!(
        out.contains("+++ ns/k version 2") && !out.contains("\"c\""),
        "{out}"
    );
    assert_eq!(
        env.ok(&["diff", "ns", "k", "3"]).stdout,
        "",
        "no change, no output"
    );
    env.fails(&["diff", "ns", "k", "9"], 3);

    // The revert is conditional on the version read (or named): a stale one changes nothing.
    env.fails(
        &["revert", "ns", "k", "--version", "1", "--if-version", "2"],
        4,
    );
    assert_eq!(env.doc("ns", "k")["version"], 3);
    let out = env.ok(&["revert", "ns", "k", "--version", "1"]);
    assert_eq!(out.stdout, "reverted to version 1: ns/k (version 4)\n");
    assert_eq!(env.doc("ns", "k")["value"], json!({"a": 1, "b": [1, 2]}));
    assert_eq!(env.ok(&["diff", "ns", "k", "1"]).stdout, "");
    env.fails(&["revert", "ns", "k", "--version", "99"], 3);
    env.fails(&["revert", "ns", "nope", "--version", "1"], 3);
}

#[test]
fn diff_is_coloured_on_a_terminal_and_escapes_control_characters() {
    let env = Env::new();
    env.set("ns", "k", r#"{"a": "x"}"#);
    env.set("ns", "k", "{\"a\": \"\\u009b31m\"}");
    let out = on_terminal(&env, "diff ns k 1", "").expect("script");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("\u{1b}[32m+"), "{out:?}");
    assert!(out.stdout.contains("\\u009b31m"), "{out:?}");
    assert!(!out.stdout.contains('\u{9b}'), "{out:?}");
}

#[test]
fn small_edges_a_new_user_meets() {
    let env = Env::new();
    env.set("ns", "k", "{}");
    // A file that cannot be read is an I/O failure (exit 1), not invalid input (5).
    let missing = env.root.join("nope.json");
    let out = env.fails(&["set", "ns", "k", &at(&missing)], 1);
    assert!(
        out.stderr.starts_with("error: IO_ERROR: cannot read "),
        "{out:?}"
    );
    assert!(out.stderr.contains("nope.json"), "{out:?}");
    assert_eq!(env.doc("ns", "k")["version"], 1);
    env.fails(&["import", missing.to_str().unwrap()], 1);

    // --fields refuses a field that does not exist, and names the ones that do.
    let out = env.fails(&["list", "ns", "--fields", "key,bogus"], 2);
    assert!(
        out.stderr.contains("bogus") && out.stderr.contains("updated_by"),
        "{out:?}"
    );
    let out = env.fails(&["list", "--fields", "namespace,keys"], 2);
    assert!(
        out.stderr.contains("keys") && out.stderr.contains("documents"),
        "{out:?}"
    );
    assert_eq!(
        env.ok(&["list", "--fields", "namespace,documents"]).json(),
        json!([{"namespace": "ns", "documents": 1}])
    );

    // A TOML mistake is one readable line naming the place.
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_dir().join("config.toml"),
        "[profiles.a]\nstore = 1 2\n",
    )
    .unwrap();
    let out = env.fails(&["list"], 5);
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(!out.stderr.contains("\\n"), "{out:?}");
    assert!(
        out.stderr.contains("config.toml line 2, column "),
        "{out:?}"
    );

    // config show says which profile is in effect.
    std::fs::write(
        env.config_dir().join("config.toml"),
        "default_profile = \"a\"\n[profiles.a]\n[profiles.b]\n",
    )
    .unwrap();
    let show = |args: &[&str]| output(env.bare().args(args)).stdout;
    assert!(show(&["config", "show"]).contains("# profile in effect: a (default_profile)"));
    assert!(
        show(&["--profile", "b", "config", "show"])
            .contains("# profile in effect: b (from --profile")
    );
    std::fs::remove_file(env.config_dir().join("config.toml")).unwrap();
    assert!(show(&["config", "show"]).contains("# profile in effect: none"));

    // The demo store keeps its documents in workspace `demo`: an empty listing says so.
    let demo = output(env.bare().args(["demo", "--no-tui"]));
    assert_eq!(demo.code, 0, "{demo:?}");
    let path = demo.stdout.trim().to_string();
    let out = output(env.bare().args(["--store", &path, "list"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap(),
        json!({"namespaces": []})
    );
    assert!(
        out.stderr.contains("--workspace") && out.stderr.contains("demo"),
        "{out:?}"
    );
    let out = output(
        env.bare()
            .args(["--store", &path, "--workspace", "demo", "list"]),
    );
    assert!(out.stdout.contains("findings"), "{out:?}");
}

#[test]
fn store_urls_that_cannot_be_opened_are_refused_and_create_no_file() {
    let env = Env::new();
    for bad in [
        "postgres:",
        "postgresql:db",
        "mysql://127.0.0.1/db",
        "postgres://",
    ] {
        let out = output(
            env.bare()
                .current_dir(&env.root)
                .args(["--store", bad, "list"]),
        );
        assert_eq!(out.code, 5, "--store {bad}: {out:?}");
        assert!(out.stderr.contains("store"), "{bad}: {}", out.stderr);
        // The same through the environment and through `console serve`.
        let out = output(
            env.bare()
                .current_dir(&env.root)
                .env("CONSOLE_STORE", bad)
                .arg("list"),
        );
        assert_eq!(out.code, 5, "CONSOLE_STORE={bad}: {out:?}");
        let out = output(env.bare().current_dir(&env.root).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--store",
            bad,
        ]));
        assert_eq!(out.code, 5, "serve --store {bad}: {out:?}");
    }
    let made: Vec<_> = std::fs::read_dir(&env.root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        made.iter().all(|n| !n.to_string_lossy().contains(':')),
        "{made:?}"
    );
}
