//! Criterion benchmarks of the embedded store through `agent_console::store::Store`:
//! get, put (replace), patch and a list page of 100 keys, over a store holding 10,000
//! documents. Run with `cargo bench --bench store`; each case measures for 3 s.

use agent_console::model::{Key, Namespace, Workspace};
use agent_console::store::sqlite::SqliteOptions;
use agent_console::store::{Backend, ListOptions, PutOptions, Scope, SqliteStore, Store};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

const DOCS: usize = 10_000;

fn open(path: &Path, durable: bool) -> Store {
    let options = SqliteOptions {
        durable,
        ..Default::default()
    };
    Store::new(Backend::Sqlite(
        SqliteStore::open(path, options).expect("open store"),
    ))
}

fn key(i: usize) -> Key {
    Key::parse(&format!("doc-{i:05}")).expect("valid key")
}

/// A document of a realistic size (~300 bytes).
fn value(i: usize) -> Value {
    json!({
        "id": i,
        "status": if i.is_multiple_of(3) { "open" } else { "closed" },
        "title": format!("finding number {i}"),
        "tags": ["agent", "triage", "bench"],
        "score": i as f64 / 7.0,
        "details": {"source": "benchmark", "lines": [i, i + 1, i + 2], "note": "x".repeat(120)},
    })
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let scope = Scope::new(Workspace::parse("default").unwrap(), "bench");
    let ns = Namespace::parse("bench").unwrap();
    {
        // Filling without fsync per write keeps the setup short.
        let fill = open(&path, false);
        for i in 0..DOCS {
            fill.put(&scope, &ns, &key(i), value(i), &PutOptions::default())
                .expect("fill");
        }
    }
    // Measured with the defaults the CLI uses (durable writes).
    let store = open(&path, true);
    let mut group = c.benchmark_group(format!("store/{DOCS}-docs"));
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let mut i = 0usize;
    group.bench_function("get", |b| {
        b.iter(|| {
            i = (i + 7919) % DOCS;
            black_box(store.get(&scope, &ns, &key(i)).expect("get"))
        })
    });
    group.bench_function("put", |b| {
        b.iter(|| {
            i = (i + 7919) % DOCS;
            black_box(
                store
                    .put(&scope, &ns, &key(i), value(i), &PutOptions::default())
                    .expect("put"),
            )
        })
    });
    group.bench_function("patch", |b| {
        b.iter(|| {
            i = (i + 7919) % DOCS;
            let mut partial = Map::new();
            partial.insert("status".into(), json!("reviewed"));
            partial.insert("reviewed_by".into(), json!("bench"));
            black_box(
                store
                    .patch(&scope, &ns, &key(i), partial, None)
                    .expect("patch"),
            )
        })
    });
    let mut cursor: Option<String> = None;
    group.bench_function("list-100", |b| {
        b.iter(|| {
            let opts = ListOptions {
                limit: 100,
                cursor: cursor.take(),
                ..Default::default()
            };
            let page = store.list(&scope, &ns, &opts).expect("list");
            cursor = page.cursor.clone();
            black_box(page)
        })
    });
    let mut cursor: Option<String> = None;
    group.bench_function("list-100-detail", |b| {
        b.iter(|| {
            let opts = ListOptions {
                limit: 100,
                cursor: cursor.take(),
                detail: true,
                ..Default::default()
            };
            let page = store.list(&scope, &ns, &opts).expect("list");
            cursor = page.cursor.clone();
            black_box(page)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
