//! Builds the large store `scripts/bench_tui.sh` measures: one namespace of many
//! documents, written through `SqliteStore`. Run as
//! `cargo run --release --example seed_scale -- PATH [DOCS]` (1,000,000 by default).

use agent_console::model::{Key, Namespace, Workspace};
use agent_console::store::sqlite::SqliteOptions;
use agent_console::store::{PutOptions, Scope, SqliteStore};
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: seed_scale PATH [DOCS]");
        std::process::exit(2);
    };
    let docs: usize = args
        .next()
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
