//! Store-level tests through `agent_console::store::Store` on the embedded backend: CRUD
//! and versions, CAS, quotas under concurrent writers (several connections on one file),
//! atomic patch and incr, stable paging while keys come and go, expiry, history, the change
//! log, workspace isolation and the read-only switch.

use agent_console::error::ErrorKind;
use agent_console::model::{Key, Namespace, Workspace};
use agent_console::store::sqlite::SqliteOptions;
use agent_console::store::{Backend, ListOptions, PutOptions, Scope, SqliteStore, Store, Tier};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;

fn open_with(path: &Path, options: SqliteOptions) -> Store {
    Store::new(Backend::Sqlite(
        SqliteStore::open(path, options).expect("open store"),
    ))
}

fn open(path: &Path) -> Store {
    open_with(path, SqliteOptions::default())
}

fn fresh() -> (TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = open(&path);
    (dir, path, store)
}

fn scope(ws: &str) -> Scope {
    Scope::new(Workspace::parse(ws).unwrap(), "tester")
}

fn ns(s: &str) -> Namespace {
    Namespace::parse(s).unwrap()
}

fn key(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn put(store: &Store, sc: &Scope, n: &str, k: &str, v: Value) -> agent_console::Result<u64> {
    store
        .put(sc, &ns(n), &key(k), v, &PutOptions::default())
        .map(|w| w.meta.version)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

/// The versions `history` lists for key `k` of namespace `ns`, newest first.
fn versions(store: &Store, sc: &Scope, k: &str) -> Vec<u64> {
    store
        .history(sc, &ns("ns"), &key(k))
        .unwrap()
        .into_iter()
        .map(|m| m.version)
        .collect()
}

fn sqlite(store: &Store) -> &SqliteStore {
    match &store.backend {
        Backend::Sqlite(s) => s,
        _ => panic!("these tests open an embedded store"),
    }
}

#[test]
fn put_get_replace_and_versions() {
    let (_d, _p, store) = fresh();
    let sc = scope("default");
    let w = store
        .put(
            &sc,
            &ns("ns"),
            &key("k"),
            json!({"a":1}),
            &PutOptions::default(),
        )
        .unwrap();
    assert!(w.created);
    assert_eq!(w.meta.version, 1);
    assert_eq!(w.meta.size_bytes, 7);
    assert_eq!(w.meta.updated_by, "tester");
    let w = store
        .put(
            &sc,
            &ns("ns"),
            &key("k"),
            json!([1, 2]),
            &PutOptions::default(),
        )
        .unwrap();
    assert!(!w.created);
    assert_eq!(w.meta.version, 2);
    let doc = store.get(&sc, &ns("ns"), &key("k")).unwrap();
    assert_eq!(doc.value, json!([1, 2]));
    assert_eq!(doc.meta.version, 2);
    assert!(doc.meta.created_at <= doc.meta.updated_at);
    // Scalars are refused by the store itself, not only by the front ends.
    for bad in [json!(1), json!("s"), Value::Null, json!(true)] {
        let err = put(&store, &sc, "ns", "k", bad).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
    }
    assert_eq!(
        store.get(&sc, &ns("ns"), &key("k")).unwrap().meta.version,
        2
    );
    let err = store.get(&sc, &ns("ns"), &key("nope")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[test]
fn cas_and_create_only_report_the_current_version_and_change_nothing() {
    let (_d, _p, store) = fresh();
    let sc = scope("default");
    put(&store, &sc, "ns", "k", json!({"v":1})).unwrap();
    put(&store, &sc, "ns", "k", json!({"v":2})).unwrap();
    let before = store.get(&sc, &ns("ns"), &key("k")).unwrap();
    let cas = |expected| PutOptions {
        expected_version: Some(expected),
        ..Default::default()
    };
    let err = store
        .put(&sc, &ns("ns"), &key("k"), json!({"v":"x"}), &cas(1))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(err.current_version, Some(2));
    let create_only = PutOptions {
        create_only: true,
        ..Default::default()
    };
    let err = store
        .put(&sc, &ns("ns"), &key("k"), json!({}), &create_only)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(err.current_version, Some(2));
    let err = store
        .patch(&sc, &ns("ns"), &key("k"), obj(json!({"v":0})), Some(5))
        .unwrap_err();
    assert_eq!(err.current_version, Some(2));
    let err = store
        .delete(&sc, &ns("ns"), &key("k"), Some(1))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(store.get(&sc, &ns("ns"), &key("k")).unwrap(), before);
    // On a missing document a CAS write is a conflict with no current version.
    let err = store
        .put(&sc, &ns("ns"), &key("new"), json!({}), &cas(1))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(err.current_version, None);
    store
        .put(&sc, &ns("ns"), &key("k"), json!({"v":3}), &cas(2))
        .unwrap();
    assert_eq!(
        store.get(&sc, &ns("ns"), &key("k")).unwrap().meta.version,
        3
    );
}

#[test]
fn quotas_hold_under_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let admin = open(&path);
    sqlite(&admin)
        .upsert_workspace(&Workspace::parse("tiny").unwrap(), None, Some(Tier::Free))
        .unwrap();
    let path = Arc::new(path);
    // Four connections (as four processes would have) race to put 40 documents each.
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = open(&path);
                let sc = scope("tiny");
                let (mut ok, mut refused) = (0, 0);
                for i in 0..40 {
                    match put(&store, &sc, "ns", &format!("t{t}-{i}"), json!({"i": i})) {
                        Ok(_) => ok += 1,
                        Err(e) => {
                            assert_eq!(e.kind, ErrorKind::QuotaExceeded, "{e}");
                            refused += 1;
                        }
                    }
                }
                (ok, refused)
            })
        })
        .collect();
    let (ok, refused) = workers
        .into_iter()
        .map(|w| w.join().unwrap())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert_eq!((ok, refused), (100, 60));
    let sc = scope("tiny");
    let stats = admin.stats(&sc, Some(&ns("ns"))).unwrap();
    assert_eq!(stats[0].documents, 100);
    let page = admin
        .list(
            &sc,
            &ns("ns"),
            &ListOptions {
                limit: 1000,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(page.keys.len(), 100);
    // The per-document size limit of the free tier: 100 KiB (replacing a stored document).
    let stored = page.keys[0].as_str();
    let big = json!({"b": "x".repeat(100 * 1024)});
    let err = put(&admin, &sc, "ns", stored, big).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge);
    let fits = json!({"b": "x".repeat(100 * 1024 - 8)});
    assert_eq!(agent_console::model::compact(&fits).len(), 100 * 1024);
    put(&admin, &sc, "ns", stored, fits).unwrap();
}

#[test]
fn quotas_and_counters_within_one_write_batch_count_the_batch_s_own_writes() {
    // The server runs concurrent writes back to back in one transaction; the counters
    // they change reach their table at the commit. Every check inside the batch must
    // still see the writes before it.
    let (_d, _p, store) = fresh();
    let tiny = Workspace::parse("tiny").unwrap();
    let db = sqlite(&store);
    db.upsert_workspace(&tiny, None, Some(Tier::Free)).unwrap();
    let sc = scope("tiny");
    let limits = Tier::Free.limits();
    let (max_ns, max_docs) = (
        limits.namespaces.unwrap(),
        limits.docs_per_namespace.unwrap(),
    );
    let before = store.changes(&sc, 0, None, 10).unwrap().last_seq;
    let (usage_in_batch, commit) = db
        .batch(|| {
            for i in 0..max_ns {
                put(&store, &sc, &format!("n{i}"), "k", json!({})).unwrap();
            }
            let err = put(&store, &sc, "extra", "k", json!({})).unwrap_err();
            assert_eq!(err.kind, ErrorKind::QuotaExceeded, "{err}");
            // Emptying a namespace frees its place, within the same batch.
            store.delete(&sc, &ns("n0"), &key("k"), None).unwrap();
            put(&store, &sc, "extra", "k", json!({})).unwrap();
            // n0, created and emptied within the batch, is no namespace: the limit is
            // reached again.
            put(&store, &sc, "n0", "k", json!({})).unwrap_err();
            for i in 1..max_docs {
                put(&store, &sc, "n1", &format!("more{i}"), json!({"i": i})).unwrap();
            }
            let err = put(&store, &sc, "n1", "one-too-many", json!({})).unwrap_err();
            assert_eq!(err.kind, ErrorKind::QuotaExceeded, "{err}");
            db.usage_in_write(&tiny).unwrap()
        })
        .unwrap();
    commit.unwrap();

    let mut names = vec!["extra".to_string()];
    names.extend((1..max_ns).map(|i| format!("n{i}")));
    assert_eq!(store.namespaces(&sc).unwrap(), names);
    let stats = store.stats(&sc, None).unwrap();
    let docs: Vec<u64> = stats.iter().map(|s| s.documents).collect();
    let mut expected = vec![1, max_docs];
    expected.extend((2..max_ns).map(|_| 1));
    assert_eq!(docs, expected);
    let bytes: u64 = stats.iter().map(|s| s.bytes).sum();
    assert_eq!(db.usage(&tiny).unwrap().used_bytes, bytes);
    assert_eq!(
        usage_in_batch.used_bytes, bytes,
        "the usage inside the batch"
    );
    // The change log holds each write of the batch once, in order, numbered on.
    let log = store.changes(&sc, before, None, 1000).unwrap().changes;
    let writes = max_ns as usize + 2 + (max_docs as usize - 1);
    assert_eq!(log.len(), writes);
    assert!(log.iter().zip(before + 1..).all(|(c, seq)| c.seq == seq));
    let ops: Vec<(&str, &str)> = log[..7]
        .iter()
        .map(|c| (c.op.as_str(), c.namespace.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("put", "n0"),
            ("put", "n1"),
            ("put", "n2"),
            ("put", "n3"),
            ("put", "n4"),
            ("delete", "n0"),
            ("put", "extra")
        ]
    );
}

#[test]
fn a_tier_changed_by_another_process_applies_to_the_next_write() {
    let (_d, path, store) = fresh();
    let sc = scope("w");
    let big = json!({"b": "x".repeat(200 * 1024)});
    put(&store, &sc, "ns", "a", big.clone()).unwrap();
    let other = open(&path);
    sqlite(&other)
        .upsert_workspace(&Workspace::parse("w").unwrap(), None, Some(Tier::Free))
        .unwrap();
    let err = put(&store, &sc, "ns", "b", big).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge, "{err}");
}

#[test]
fn the_total_bytes_quota_counts_replacements_once() {
    total_bytes_quota(false);
}

#[test]
fn the_total_bytes_quota_holds_within_one_write_batch() {
    total_bytes_quota(true);
}

/// Fills a free workspace to its 10 MiB total, in separate transactions or in one batch.
fn total_bytes_quota(in_one_batch: bool) {
    let (_d, _p, store) = fresh();
    let tiny = Workspace::parse("tiny").unwrap();
    let db = sqlite(&store);
    db.upsert_workspace(&tiny, None, Some(Tier::Free)).unwrap();
    let sc = scope("tiny");
    // 10 MiB total; 100 KiB per document. 99 documents of ~100 KiB fit, ~10 more do not.
    let doc = json!({"b": "x".repeat(100 * 1024 - 8)});
    let fill = || {
        let mut stored = 0u64;
        let mut quota_hit = false;
        for ns_i in 0..2 {
            for i in 0..100 {
                let (n, k) = (format!("n{ns_i}"), format!("k{i}"));
                match put(&store, &sc, &n, &k, doc.clone()) {
                    Ok(_) => stored += 1,
                    Err(e) => {
                        assert_eq!(e.kind, ErrorKind::QuotaExceeded, "{e}");
                        quota_hit = true;
                    }
                }
            }
        }
        (stored, quota_hit)
    };
    let (stored, quota_hit) = if in_one_batch {
        let (filled, commit) = db.batch(fill).unwrap();
        commit.unwrap();
        filled
    } else {
        fill()
    };
    assert!(quota_hit);
    assert_eq!(stored, 10 * 1024 / 100);
    let used = db.usage(&tiny).unwrap();
    assert_eq!(used.used_bytes, stored * 100 * 1024);
    assert_eq!(used.limit_bytes, Some(10 * 1024 * 1024));
    // Replacing a document with one of the same size is still allowed at the limit.
    put(&store, &sc, "n0", "k0", doc).unwrap();
}

#[test]
fn concurrent_patches_of_different_members_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("p.db"));
    let sc = scope("default");
    put(&open(&path), &sc, "ns", "k", json!({})).unwrap();
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = open(&path);
                let sc = scope("default");
                for i in 0..25 {
                    let member = format!("t{t}-{i}");
                    store
                        .patch(&sc, &ns("ns"), &key("k"), obj(json!({ member: i })), None)
                        .unwrap();
                    store
                        .incr(&sc, &ns("ns"), &key("k"), "count", &1.into())
                        .unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let doc = open(&path).get(&sc, &ns("ns"), &key("k")).unwrap();
    let map = doc.value.as_object().unwrap();
    assert_eq!(map.len(), 4 * 25 + 1);
    assert_eq!(map["count"], 100);
    assert_eq!(doc.meta.version, 1 + 200);
}

#[test]
fn paging_is_stable_while_keys_are_inserted_and_deleted() {
    let (_d, _p, store) = fresh();
    let sc = scope("default");
    let originals: Vec<String> = (0..50).map(|i| format!("k{i:02}")).collect();
    for k in &originals {
        put(&store, &sc, "ns", k, json!({})).unwrap();
    }
    let mut opts = ListOptions {
        limit: 4,
        ..Default::default()
    };
    let mut seen: Vec<String> = Vec::new();
    for round in 0..100 {
        let page = store.list(&sc, &ns("ns"), &opts).unwrap();
        assert!(page.keys.len() <= 4);
        seen.extend(page.keys.iter().cloned());
        if !page.has_more {
            assert_eq!(page.cursor, None);
            break;
        }
        // Between pages: insert keys before, inside and after the rest of the walk, and
        // delete some keys that were inserted earlier.
        for k in [
            format!("a{round}"),
            format!("k{:02}x{round}", (round * 7) % 50),
            format!("z{round}"),
        ] {
            put(&store, &sc, "ns", &k, json!({})).unwrap();
        }
        if round > 1 {
            let old = format!("z{}", round - 2);
            store.delete(&sc, &ns("ns"), &key(&old), None).unwrap();
        }
        opts.cursor = page.cursor;
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    for k in &originals {
        assert_eq!(seen.iter().filter(|s| *s == k).count(), 1, "{k}");
    }
}

#[test]
fn list_detail_and_prefix() {
    let (_d, _p, store) = fresh();
    let sc = scope("default");
    for k in ["a.1", "a.2", "a_3", "b", "B"] {
        put(&store, &sc, "ns", k, json!({"k": k})).unwrap();
    }
    let page = store
        .list(
            &sc,
            &ns("ns"),
            &ListOptions {
                prefix: Some("a.".into()),
                detail: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(page.keys, ["a.1", "a.2"]);
    let items = page.items.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].key, "a.2");
    assert_eq!(items[1].size_bytes, 11);
    // Ascending byte order: uppercase before lowercase.
    let all = store.list(&sc, &ns("ns"), &ListOptions::default()).unwrap();
    assert_eq!(all.keys, ["B", "a.1", "a.2", "a_3", "b"]);
    assert_eq!(all.items, None);
    for limit in [0, 1001] {
        let err = store
            .list(
                &sc,
                &ns("ns"),
                &ListOptions {
                    limit,
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
    }
}

#[test]
fn expiry_hides_documents_and_reclaims_their_space() {
    let (_d, _p, store) = fresh();
    let sc = scope("default");
    put(&store, &sc, "ns", "keep", json!({"a": 1})).unwrap();
    let ttl = PutOptions {
        ttl: Some(1),
        ..Default::default()
    };
    let w = store
        .put(
            &sc,
            &ns("ns"),
            &key("gone"),
            json!({"big": "x".repeat(1000)}),
            &ttl,
        )
        .unwrap();
    assert!(w.meta.expires_at.is_some());
    // A patch and an incr keep the expiry.
    let m = store
        .patch(&sc, &ns("ns"), &key("gone"), obj(json!({"p": 1})), None)
        .unwrap();
    assert_eq!(m.expires_at, w.meta.expires_at);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        store.get(&sc, &ns("ns"), &key("gone")).unwrap_err().kind,
        ErrorKind::NotFound
    );
    let keys = store
        .list(&sc, &ns("ns"), &ListOptions::default())
        .unwrap()
        .keys;
    assert_eq!(keys, ["keep"]);
    let stats = store.stats(&sc, Some(&ns("ns"))).unwrap();
    assert_eq!((stats[0].documents, stats[0].bytes), (1, 7));
    let usage = sqlite(&store)
        .usage(&Workspace::parse("default").unwrap())
        .unwrap();
    assert_eq!(usage.used_bytes, 7);
    // The key can be created again, from version 1.
    let w = store
        .put(
            &sc,
            &ns("ns"),
            &key("gone"),
            json!({}),
            &PutOptions::default(),
        )
        .unwrap();
    assert!(w.created);
    assert_eq!(w.meta.version, 1);
    assert_eq!(
        versions(&store, &sc, "gone"),
        [1],
        "the expired past is gone"
    );
    let ops: Vec<String> = store
        .changes(&sc, 0, None, 100)
        .unwrap()
        .changes
        .into_iter()
        .map(|c| c.op)
        .collect();
    assert!(ops.contains(&"expire".to_string()), "{ops:?}");
}

#[test]
fn a_document_that_expires_within_a_batch_is_refused_without_harm_and_replaced_by_a_write() {
    let (_d, _p, store) = fresh();
    let sc = scope("default");
    let ttl = PutOptions {
        ttl: Some(1),
        ..Default::default()
    };
    for holder in ["a", "b"] {
        store
            .put(
                &sc,
                &ns("ns"),
                &key("lease"),
                json!({"holder": holder}),
                &ttl,
            )
            .unwrap();
    }
    put(&store, &sc, "ns", "other", json!({"a": 1})).unwrap();
    let (outcomes, commit) = sqlite(&store)
        .batch(|| {
            // The batch's transaction starts (and reclaims) before the lease expires.
            let first = put(&store, &sc, "ns", "first", json!({}));
            std::thread::sleep(std::time::Duration::from_millis(1100));
            // Refusals on the expired document: each fails alone and changes nothing.
            let patch = store.patch(&sc, &ns("ns"), &key("lease"), obj(json!({"x": 1})), None);
            let delete = store.delete(&sc, &ns("ns"), &key("lease"), None);
            let cas = store.put(
                &sc,
                &ns("ns"),
                &key("lease"),
                json!({"holder": "c"}),
                &PutOptions {
                    expected_version: Some(2),
                    ..Default::default()
                },
            );
            // A plain write takes the key: a new document.
            let taken = store.put(
                &sc,
                &ns("ns"),
                &key("lease"),
                json!({"holder": "d"}),
                &PutOptions::default(),
            );
            (
                first.is_ok(),
                patch.unwrap_err().kind,
                delete.unwrap_err().kind,
                cas.unwrap_err().kind,
                taken.map(|w| (w.created, w.meta.version)).unwrap(),
            )
        })
        .unwrap();
    assert!(commit.is_ok());
    assert_eq!(
        outcomes,
        (
            true,
            ErrorKind::NotFound,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            (true, 1)
        )
    );
    let doc = store.get(&sc, &ns("ns"), &key("lease")).unwrap();
    assert_eq!(
        (doc.value, doc.meta.expires_at),
        (json!({"holder": "d"}), None)
    );
    // The expired versions went with it; the counters hold the three live documents.
    assert_eq!(versions(&store, &sc, "lease"), [1]);
    let stats = store.stats(&sc, Some(&ns("ns"))).unwrap();
    let bytes = [json!({}), json!({"a": 1}), json!({"holder": "d"})]
        .iter()
        .map(|v| v.to_string().len() as u64)
        .sum::<u64>();
    assert_eq!((stats[0].documents, stats[0].bytes), (3, bytes));
    assert!(store.get(&sc, &ns("ns"), &key("first")).is_ok());
}

#[test]
fn an_expired_document_does_not_count_against_the_quota_of_the_write_that_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(
        &dir.path().join("q.db"),
        SqliteOptions {
            default_tier: Tier::Free,
            ..Default::default()
        },
    );
    let sc = scope("default");
    let max = Tier::Free.limits().docs_per_namespace.unwrap();
    let ttl = PutOptions {
        ttl: Some(1),
        ..Default::default()
    };
    store
        .put(&sc, &ns("ns"), &key("k0"), json!({}), &ttl)
        .unwrap();
    for i in 1..max {
        put(&store, &sc, "ns", &format!("k{i}"), json!({})).unwrap();
    }
    let (replaced, commit) = sqlite(&store)
        .batch(|| {
            put(&store, &sc, "ns", "k1", json!({"again": 1})).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1100));
            // The namespace is full, counting k0, which has expired: k0 can be written again.
            put(&store, &sc, "ns", "k0", json!({"new": true}))
        })
        .unwrap();
    assert!(commit.is_ok());
    assert_eq!(replaced.unwrap(), 1);
    assert_eq!(
        put(&store, &sc, "ns", "extra", json!({})).unwrap_err().kind,
        ErrorKind::QuotaExceeded
    );
    let stats = store.stats(&sc, Some(&ns("ns"))).unwrap();
    assert_eq!(stats[0].documents, max);
}

#[test]
fn history_keeps_the_configured_number_of_versions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(
        &dir.path().join("h.db"),
        SqliteOptions {
            history_limit: 3,
            ..Default::default()
        },
    );
    let sc = scope("default");
    for v in 1..=10 {
        put(&store, &sc, "ns", "k", json!({ "v": v })).unwrap();
    }
    assert_eq!(versions(&store, &sc, "k"), [10, 9, 8, 7]);
    let old = store.history_version(&sc, &ns("ns"), &key("k"), 8).unwrap();
    assert_eq!(old.value, json!({"v": 8}));
    assert_eq!(
        store
            .history_version(&sc, &ns("ns"), &key("k"), 6)
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
}

#[test]
fn without_history_a_deleted_document_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h0.db");
    let store = open_with(
        &path,
        SqliteOptions {
            history_limit: 0,
            ..Default::default()
        },
    );
    let sc = scope("default");
    for i in 0..20 {
        let k = format!("k{i}");
        put(&store, &sc, "ns", &k, json!({})).unwrap();
        put(&store, &sc, "ns", &k, json!({"again": true})).unwrap();
        store.delete(&sc, &ns("ns"), &key(&k), None).unwrap();
    }
    put(&store, &sc, "ns", "kept", json!({})).unwrap();
    assert_eq!(versions(&store, &sc, "kept"), [1]);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!((rows("doc_ids"), rows("history")), (1, 0));
}

#[test]
fn the_change_log_is_ordered_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(
        &dir.path().join("c.db"),
        SqliteOptions {
            changes_limit: 5,
            ..Default::default()
        },
    );
    let sc = scope("default");
    put(&store, &sc, "a", "k", json!({})).unwrap();
    store
        .patch(&sc, &ns("a"), &key("k"), obj(json!({"x": 1})), None)
        .unwrap();
    store
        .incr(&sc, &ns("a"), &key("k"), "n", &2.into())
        .unwrap();
    put(&store, &sc, "b", "k", json!({})).unwrap();
    store.delete(&sc, &ns("a"), &key("k"), None).unwrap();
    let batch = store.changes(&sc, 0, None, 100).unwrap();
    let ops: Vec<(&str, &str, Option<u64>)> = batch
        .changes
        .iter()
        .map(|c| (c.op.as_str(), c.namespace.as_str(), c.version))
        .collect();
    assert_eq!(
        ops,
        [
            ("put", "a", Some(1)),
            ("patch", "a", Some(2)),
            ("incr", "a", Some(3)),
            ("put", "b", Some(1)),
            ("delete", "a", Some(3)),
        ]
    );
    assert!(batch.changes.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(batch.last_seq, batch.changes[4].seq);
    let only_b = store.changes(&sc, 0, Some(&ns("b")), 100).unwrap();
    assert_eq!(only_b.changes.len(), 1);
    let after = store.changes(&sc, batch.changes[2].seq, None, 1).unwrap();
    assert_eq!(after.changes.len(), 1);
    assert_eq!(after.changes[0].seq, batch.changes[3].seq);
    // Beyond the limit the oldest entries go.
    for i in 0..5 {
        put(&store, &sc, "b", &format!("m{i}"), json!({})).unwrap();
    }
    let batch2 = store.changes(&sc, 0, None, 100).unwrap();
    assert_eq!(batch2.changes.len(), 5);
    assert!(batch2.oldest_seq > batch.last_seq);
    assert_eq!(
        store
            .changes(&scope("other"), 0, None, 100)
            .unwrap()
            .changes
            .len(),
        0
    );
}

#[test]
fn delete_namespace_and_workspace_isolation() {
    let (_d, _p, store) = fresh();
    let (a, b) = (scope("alpha"), scope("beta"));
    put(&store, &b, "ns", "x", json!({"b": true})).unwrap();
    for k in ["x", "y", "z"] {
        put(&store, &a, "ns", k, json!({})).unwrap();
    }
    put(&store, &a, "ns", "x", json!({"second": true})).unwrap();
    assert_eq!(store.namespaces(&a).unwrap(), ["ns"]);
    assert_eq!(store.delete_namespace(&a, &ns("ns")).unwrap(), 3);
    assert_eq!(
        store.history(&a, &ns("ns"), &key("x")).unwrap_err().kind,
        ErrorKind::NotFound,
        "a deleted namespace takes its history with it"
    );
    put(&store, &a, "ns", "x", json!({})).unwrap();
    assert_eq!(versions(&store, &a, "x"), [1], "nothing of the old x");
    assert_eq!(store.delete_namespace(&a, &ns("ns")).unwrap(), 1);
    assert_eq!(versions(&store, &b, "x"), [1]);
    assert_eq!(
        store.delete_namespace(&a, &ns("ns")).unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert!(store.namespaces(&a).unwrap().is_empty());
    assert_eq!(
        store.get(&b, &ns("ns"), &key("x")).unwrap().value,
        json!({"b": true})
    );
    assert_eq!(store.stats(&b, None).unwrap()[0].documents, 1);
    assert_eq!(
        store.stats(&a, Some(&ns("ns"))).unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[test]
fn a_read_only_store_refuses_every_write() {
    let (_d, _p, mut store) = fresh();
    let sc = scope("default");
    put(&store, &sc, "ns", "k", json!({"a": 1})).unwrap();
    store.read_only = true;
    let forbidden = |r: agent_console::Result<()>| {
        assert_eq!(r.unwrap_err().kind, ErrorKind::Forbidden);
    };
    forbidden(put(&store, &sc, "ns", "k", json!({})).map(|_| ()));
    forbidden(
        store
            .patch(&sc, &ns("ns"), &key("k"), obj(json!({"b": 1})), None)
            .map(|_| ()),
    );
    forbidden(store.delete(&sc, &ns("ns"), &key("k"), None));
    forbidden(store.delete_namespace(&sc, &ns("ns")).map(|_| ()));
    forbidden(
        store
            .incr(&sc, &ns("ns"), &key("k"), "n", &1.into())
            .map(|_| ()),
    );
    let doc = store.get(&sc, &ns("ns"), &key("k")).unwrap();
    assert_eq!((doc.meta.version, doc.value), (1, json!({"a": 1})));
}

#[test]
fn incr_handles_integers_decimals_and_overflow() {
    let (_d, _p, store) = fresh();
    let sc = scope("default");
    let incr = |field: &str, by: serde_json::Number| {
        store
            .incr(&sc, &ns("ns"), &key("c"), field, &by)
            .map(|d| d.value[field].clone())
    };
    assert_eq!(incr("n", 5.into()).unwrap(), json!(5));
    assert_eq!(incr("n", (-7).into()).unwrap(), json!(-2));
    let half = serde_json::Number::from_f64(0.5).unwrap();
    assert_eq!(incr("f", half).unwrap(), json!(0.5));
    put(&store, &sc, "ns", "c", json!({"n": i64::MAX, "s": "x"})).unwrap();
    // Past the signed 64-bit range: refused (never rounded to a float), nothing changes.
    assert_eq!(
        incr("n", 1.into()).unwrap_err().kind,
        ErrorKind::InvalidInput
    );
    assert_eq!(
        store.get(&sc, &ns("ns"), &key("c")).unwrap().value["n"],
        json!(i64::MAX)
    );
    assert_eq!(
        incr("s", 1.into()).unwrap_err().kind,
        ErrorKind::InvalidInput
    );
    assert_eq!(
        incr("", 1.into()).unwrap_err().kind,
        ErrorKind::InvalidInput
    );
}

#[test]
fn a_store_from_a_newer_console_is_refused() {
    let (_d, path, store) = fresh();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = SqliteStore::open(&path, SqliteOptions::default())
        .err()
        .expect("refused");
    assert!(err.message.contains("newer"), "{}", err.message);
}

#[test]
fn under_a_steady_write_load_the_server_store_keeps_its_log_bounded() {
    // The server's setup (`tune_store`): checkpoints in a background thread. A passive
    // checkpoint alone never lets the log restart while batches follow each other; the
    // log must still stay bounded. About 750 MiB of frames are written here; without the
    // restarts the log was seen to keep 183 MiB of them, with them 68 MiB (it restarts
    // past 64 MiB).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let sqlite = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    agent_console::server::tune_store(&sqlite).unwrap();
    let store = Store::new(Backend::Sqlite(sqlite));
    let s = scope("acme");
    let value = json!({"data": "x".repeat(300)});
    let wal = dir.path().join("s.db-wal");
    let mut largest = 0;
    let store = Arc::new(store);
    let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    // Reads go on all along, as a server's GETs do.
    let reader = {
        let (store, writing, s) = (store.clone(), writing.clone(), s.clone());
        std::thread::spawn(move || {
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = store.get(&s, &ns("load"), &key("k1"));
            }
        })
    };
    let Backend::Sqlite(sqlite) = &store.backend else {
        unreachable!()
    };
    for batch in 0..1500 {
        let (results, commit) = sqlite
            .batch(|| {
                (0..50)
                    .map(|i| {
                        let k = key(&format!("k{}", (batch * 50 + i) % 2000));
                        store.put(&s, &ns("load"), &k, value.clone(), &PutOptions::default())
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap();
        commit.unwrap();
        assert!(results.iter().all(Result::is_ok));
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    reader.join().unwrap();
    assert!(largest < 96 << 20, "the log grew to {} MiB", largest >> 20);
}

#[test]
fn a_query_page_scans_a_bounded_window_and_never_another_workspace() {
    use agent_console::store::SCAN_BUDGET;
    let (_dir, _path, store) = fresh();
    let (a, b) = (scope("team-a"), scope("team-b"));
    let Backend::Sqlite(s) = &store.backend else {
        unreachable!()
    };
    let n = SCAN_BUDGET + 10;
    let (written, committed) = s
        .batch(|| {
            for i in 0..n {
                let sev = if i >= n - 5 { "high" } else { "low" };
                put(
                    &store,
                    &a,
                    "f",
                    &format!("k{i:06}"),
                    json!({"severity": sev}),
                )
                .unwrap();
            }
        })
        .unwrap();
    committed.unwrap();
    let () = written;
    // B's namespace of the same name matches too, and must never show up in A's query.
    put(&store, &b, "f", "k999999", json!({"severity": "high"})).unwrap();
    let mut opts = ListOptions {
        limit: 100,
        query: Some(agent_console::query::parse("severity=high").unwrap()),
        ..ListOptions::default()
    };
    let first = store.list(&a, &ns("f"), &opts).unwrap();
    assert!(first.keys.is_empty(), "{:?}", first.keys);
    assert!(first.has_more);
    assert_eq!(first.scanned, Some(SCAN_BUDGET as u64));
    opts.cursor = first.cursor;
    let second = store.list(&a, &ns("f"), &opts).unwrap();
    assert_eq!(second.keys.len(), 5);
    assert!(!second.has_more);
    assert_eq!(second.scanned, Some(10));
    let facets = store
        .facets(
            &a,
            &ns("f"),
            &agent_console::query::Path::parse("severity").unwrap(),
            None,
        )
        .unwrap();
    assert_eq!(facets.total, n as u64);
    let mine = store.list(&b, &ns("f"), &opts_all()).unwrap();
    assert_eq!(mine.keys, ["k999999"]);
}

fn opts_all() -> ListOptions {
    ListOptions {
        query: Some(agent_console::query::parse("severity=high").unwrap()),
        ..ListOptions::default()
    }
}
