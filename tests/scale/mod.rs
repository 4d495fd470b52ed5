//! Builds the large store `scripts/bench_tui.sh` measures: one namespace of many
//! documents, written through `SqliteStore`. Ignored by default (it takes minutes); run as
//! `CONSOLE_BENCH_STORE=path CONSOLE_BENCH_DOCS=1000000 cargo test --release --test tui
//! -- --ignored seed_scale_store`.

use agent_console::model::{Key, Namespace, Workspace};
use agent_console::store::sqlite::SqliteOptions;
use agent_console::store::{PutOptions, Scope, SqliteStore};
use serde_json::json;

#[test]
#[ignore = "builds a large store for the benchmark script"]
fn seed_scale_store() {
    let Some(path) = std::env::var_os("CONSOLE_BENCH_STORE") else {
        eprintln!("set CONSOLE_BENCH_STORE");
        return;
    };
    let docs: usize = std::env::var("CONSOLE_BENCH_DOCS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let options = SqliteOptions {
        durable: false,
        history_limit: 0,
        changes_limit: 1,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(std::path::Path::new(&path), options).unwrap();
    let scope = Scope::new(Workspace::parse("default").unwrap(), "bench-agent");
    let ns = Namespace::parse("big").unwrap();
    let start = std::time::Instant::now();
    for i in 0..docs {
        let key = Key::parse(&format!("doc-{i:08}")).unwrap();
        let value = json!({
            "severity": (["high", "low", "medium"][i % 3]),
            "title": format!("finding {i}"),
            "evidence": {"file": "src/lib.rs", "line": i % 1000},
            "reviewed": i % 5 == 0,
        });
        store
            .put(&scope, &ns, &key, value, &PutOptions::default())
            .unwrap();
        if i % 100_000 == 0 {
            eprintln!("{i} documents, {:?}", start.elapsed());
        }
    }
    eprintln!("{docs} documents in {:?}", start.elapsed());
}
