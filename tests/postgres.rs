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
