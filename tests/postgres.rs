//! The PostgreSQL backend beyond the contract suite: the data is really in PostgreSQL
//! (read back with `psql`), the schema is versioned in the database and migrated once by
//! replicas that start together, a newer schema is refused, the CLI selects it with
//! `--store postgres://…`, and the expiry sweep reclaims expired documents.

use agent_console::model::{Key, Namespace, Workspace};
use agent_console::store::{Backend, PostgresOptions, PostgresStore, PutOptions, Scope, Store};
use serde_json::json;
use std::time::{Duration, Instant};

mod common;

#[test]
fn replicas_starting_together_migrate_once_and_a_newer_schema_is_refused() {
    let Some(pg) = common::pg::cluster() else {
        return;
    };
    let url = pg.database();
    let opened: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| PostgresStore::open(&url, PostgresOptions::default()).is_ok()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(opened.iter().all(|ok| *ok), "{opened:?}");
    assert_eq!(pg.psql(&url, "SELECT count(*) FROM console_schema"), "1");
    assert_eq!(pg.psql(&url, "SELECT version FROM console_schema"), "1");
    pg.psql(&url, "UPDATE console_schema SET version = 99");
    let e = PostgresStore::open(&url, PostgresOptions::default())
        .err()
        .expect("a newer schema is refused");
    assert!(e.message.contains("newer console"), "{}", e.message);
}

#[test]
fn the_cli_writes_into_postgresql() {
    let Some(pg) = common::pg::cluster() else {
        return;
    };
    let url = pg.database();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_console"))
        .env_remove("CONSOLE_STORE")
        .env("CONSOLE_DATA_DIR", dir.path().join("d"))
        .env("CONSOLE_CONFIG_DIR", dir.path().join("c"))
        .args(["--store", &url, "set", "notes", "n1", r#"{"hello":"pg"}"#])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = pg.psql(
        &url,
        "SELECT value || ' ' || updated_by FROM documents WHERE namespace = 'notes' AND key = 'n1'",
    );
    assert_eq!(stored, r#"{"hello":"pg"} cli"#);
    // No file named after the URL was made.
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains("postgres")
    }));
}

#[test]
fn the_sweep_reclaims_expired_documents_without_a_write() {
    let Some(pg) = common::pg::cluster() else {
        return;
    };
    let url = pg.database();
    let store = Store::new(Backend::Postgres(
        PostgresStore::open(&url, PostgresOptions::default()).unwrap(),
    ));
    let scope = Scope::new(Workspace::parse("default").unwrap(), "t");
    let ns = Namespace::parse("tmp").unwrap();
    for k in ["a", "b"] {
        let opts = PutOptions {
            ttl: Some(1),
            ..PutOptions::default()
        };
        store
            .put(&scope, &ns, &Key::parse(k).unwrap(), json!({}), &opts)
            .unwrap();
    }
    assert_eq!(pg.psql(&url, "SELECT count(*) FROM documents"), "2");
    store.tune_for_server(Duration::from_millis(1)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pg.psql(&url, "SELECT count(*) FROM documents") != "0" {
        assert!(Instant::now() < deadline, "the sweep did not reclaim");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(pg.psql(&url, "SELECT count(*) FROM namespaces"), "0");
    assert_eq!(
        pg.psql(&url, "SELECT string_agg(op, ',' ORDER BY seq) FROM changes"),
        "put,put,expire,expire"
    );
}

/// `console` with a private config and data dir.
fn console(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_console"))
        .env_remove("CONSOLE_STORE")
        .env("CONSOLE_DATA_DIR", dir.join("d"))
        .env("CONSOLE_CONFIG_DIR", dir.join("c"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn export_import_round_trip_sqlite_postgres_sqlite_keeps_documents_and_metadata() {
    let Some(pg) = common::pg::cluster() else {
        return;
    };
    let url = pg.database();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.db");
    {
        let store = Store::new(Backend::Sqlite(
            agent_console::store::SqliteStore::open(&first, Default::default()).unwrap(),
        ));
        let ws = Workspace::parse("default").unwrap();
        let (a, b) = (
            Scope::new(ws.clone(), "org/agent-a@v1"),
            Scope::new(ws, "bob"),
        );
        let ns = Namespace::parse("tasks").unwrap();
        let k = |s: &str| Key::parse(s).unwrap();
        store
            .put(&a, &ns, &k("t1"), json!({"n": 1}), &PutOptions::default())
            .unwrap();
        std::thread::sleep(Duration::from_millis(5));
        store
            .put(
                &b,
                &ns,
                &k("t1"),
                json!({"n": 2, "s": "é"}),
                &PutOptions::default(),
            )
            .unwrap();
        let ttl = PutOptions {
            ttl: Some(3600),
            ..PutOptions::default()
        };
        store
            .put(&b, &ns, &k("t2"), json!([1, {"x": null}]), &ttl)
            .unwrap();
        store
            .put(
                &a,
                &Namespace::parse("other").unwrap(),
                &k("o"),
                json!({}),
                &PutOptions::default(),
            )
            .unwrap();
    }
    let export = |store: &str, file: &str| {
        let path = dir.path().join(file);
        console(
            dir.path(),
            &["--store", store, "export", "-o", path.to_str().unwrap()],
        );
        std::fs::read_to_string(path).unwrap()
    };
    let from_sqlite = export(first.to_str().unwrap(), "1.jsonl");
    assert_eq!(from_sqlite.lines().count(), 3);
    console(
        dir.path(),
        &[
            "--store",
            &url,
            "import",
            dir.path().join("1.jsonl").to_str().unwrap(),
        ],
    );
    let from_postgres = export(&url, "2.jsonl");
    assert_eq!(from_postgres, from_sqlite, "SQLite -> PostgreSQL");
    // The metadata is in PostgreSQL itself.
    assert_eq!(
        pg.psql(
            &url,
            "SELECT updated_by || ' v' || version FROM documents WHERE key = 't1'"
        ),
        "bob v2"
    );
    let back = dir.path().join("back.db");
    console(
        dir.path(),
        &[
            "--store",
            back.to_str().unwrap(),
            "import",
            dir.path().join("2.jsonl").to_str().unwrap(),
        ],
    );
    let round_trip = export(back.to_str().unwrap(), "3.jsonl");
    assert_eq!(round_trip, from_sqlite, "PostgreSQL -> SQLite");
}
