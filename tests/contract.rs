//! The storage contract suite, written once and run against every backend: the embedded
//! SQLite store, PostgreSQL (a throwaway cluster, `common/pg.rs`), and the remote backend
//! pointed at an in-process `console serve` on SQLite and on PostgreSQL. Any difference
//! in behaviour between the backends fails here.

use agent_console::error::ErrorKind;
use agent_console::model::{Key, Namespace, Workspace};
use agent_console::query;
use agent_console::store::sqlite::SqliteOptions;
use agent_console::store::{
    Backend, ListOptions, PostgresOptions, PostgresStore, PutOptions, Scope, SqliteStore, Store,
};
use serde_json::{Value, json};

mod common;

/// A store under test, and whatever keeps it alive.
pub struct Fixture {
    pub store: Store,
    pub scope: Scope,
    _keep: Box<dyn std::any::Any + Send + Sync>,
}

fn sqlite_fixture() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("c.db"), SqliteOptions::default()).unwrap();
    Some(Fixture {
        store: Store::new(Backend::Sqlite(store)),
        scope: Scope::new(Workspace::parse("default").unwrap(), "tester"),
        _keep: Box::new(dir),
    })
}

/// A fresh database of the test cluster (`None`, said loudly, without PostgreSQL).
fn postgres_fixture() -> Option<Fixture> {
    let url = common::pg::cluster()?.database();
    let store = PostgresStore::open(&url, PostgresOptions::default()).unwrap();
    Some(Fixture {
        store: Store::new(Backend::Postgres(store)),
        scope: Scope::new(Workspace::parse("default").unwrap(), "tester"),
        _keep: Box::new(url),
    })
}

fn remote_fixture() -> Option<Fixture> {
    remote_on(common::TestServer::start(
        agent_console::server::ServerOptions::default(),
    ))
}

/// The remote backend on a server whose store is PostgreSQL.
fn remote_on_postgres_fixture() -> Option<Fixture> {
    let url = common::pg::cluster()?.database();
    remote_on(common::TestServer::start_postgres(
        agent_console::server::ServerOptions::default(),
        &url,
    ))
}

fn remote_on(server: common::TestServer) -> Option<Fixture> {
    let mut options = agent_console::store::RemoteOptions::new(&server.base);
    options.api_key = Some(server.key("default"));
    options.client_name = Some("cli".into());
    let remote = agent_console::store::RemoteStore::open(options).unwrap();
    Some(Fixture {
        store: Store::new(Backend::Remote(remote)),
        // The server records `updated_by` from the request; the scope's actor is not sent.
        scope: Scope::new(Workspace::parse("default").unwrap(), "cli"),
        _keep: Box::new(std::sync::Mutex::new(server)),
    })
}

fn ns(s: &str) -> Namespace {
    Namespace::parse(s).unwrap()
}

fn key(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn put(f: &Fixture, n: &str, k: &str, v: Value) -> u64 {
    f.store
        .put(&f.scope, &ns(n), &key(k), v, &PutOptions::default())
        .unwrap()
        .meta
        .version
}

fn cas(version: u64) -> PutOptions {
    PutOptions {
        expected_version: Some(version),
        ..PutOptions::default()
    }
}

mod cases {
    use super::*;

    pub fn put_get_round_trip(f: &Fixture) {
        let w = f
            .store
            .put(
                &f.scope,
                &ns("signals"),
                &key("2026-03-05"),
                json!({"pending": [], "done": []}),
                &PutOptions::default(),
            )
            .unwrap();
        assert!(w.created);
        assert_eq!(w.meta.version, 1);
        assert_eq!(
            w.meta.size_bytes,
            r#"{"pending":[],"done":[]}"#.len() as u64
        );
        let w2 = f
            .store
            .put(
                &f.scope,
                &ns("signals"),
                &key("2026-03-05"),
                json!([1, 2]),
                &PutOptions::default(),
            )
            .unwrap();
        assert!(!w2.created);
        assert_eq!(w2.meta.version, 2);
        assert_eq!(w2.meta.created_at, w.meta.created_at);
        let doc = f
            .store
            .get(&f.scope, &ns("signals"), &key("2026-03-05"))
            .unwrap();
        assert_eq!(doc.value, json!([1, 2]));
        assert_eq!(doc.meta.version, 2);
        assert_eq!(doc.meta.namespace, "signals");
        assert_eq!(doc.meta.key, "2026-03-05");
        assert!(
            doc.meta.updated_at.ends_with('Z') && doc.meta.updated_at.len() == 24,
            "{}",
            doc.meta.updated_at
        );
        assert_eq!(doc.meta.expires_at, None);
        assert_eq!(doc.meta.updated_by, f.scope.actor);
        let missing = f
            .store
            .get(&f.scope, &ns("signals"), &key("nope"))
            .unwrap_err();
        assert_eq!(missing.kind, ErrorKind::NotFound);
    }

    pub fn compare_and_swap(f: &Fixture) {
        put(f, "cas", "k", json!({"n": 1}));
        let e = f
            .store
            .put(&f.scope, &ns("cas"), &key("k"), json!({"n": 2}), &cas(7))
            .unwrap_err();
        assert_eq!((e.kind, e.current_version), (ErrorKind::Conflict, Some(1)));
        assert_eq!(
            f.store.get(&f.scope, &ns("cas"), &key("k")).unwrap().value,
            json!({"n": 1})
        );
        let ok = f
            .store
            .put(&f.scope, &ns("cas"), &key("k"), json!({"n": 2}), &cas(1))
            .unwrap();
        assert_eq!(ok.meta.version, 2);
        let create_only = PutOptions {
            create_only: true,
            ..PutOptions::default()
        };
        let e = f
            .store
            .put(&f.scope, &ns("cas"), &key("k"), json!({}), &create_only)
            .unwrap_err();
        assert_eq!((e.kind, e.current_version), (ErrorKind::Conflict, Some(2)));
        assert!(
            f.store
                .put(&f.scope, &ns("cas"), &key("new"), json!({}), &create_only)
                .unwrap()
                .created
        );
        let e = f
            .store
            .put(&f.scope, &ns("cas"), &key("absent"), json!({}), &cas(1))
            .unwrap_err();
        assert_eq!((e.kind, e.current_version), (ErrorKind::Conflict, None));
    }

    pub fn merge_patch(f: &Fixture) {
        put(f, "p", "k", json!({"a": 1, "b": 2, "c": {"x": 1}}));
        let partial = json!({"b": null, "c": {"y": 2}, "d": true});
        let meta = f
            .store
            .patch(
                &f.scope,
                &ns("p"),
                &key("k"),
                partial.as_object().unwrap().clone(),
                None,
            )
            .unwrap();
        assert_eq!(meta.version, 2);
        let doc = f.store.get(&f.scope, &ns("p"), &key("k")).unwrap();
        assert_eq!(doc.value, json!({"a": 1, "c": {"y": 2}, "d": true}));
        let e = f
            .store
            .patch(
                &f.scope,
                &ns("p"),
                &key("k"),
                serde_json::Map::new(),
                Some(1),
            )
            .unwrap_err();
        assert_eq!((e.kind, e.current_version), (ErrorKind::Conflict, Some(2)));
        let e = f
            .store
            .patch(
                &f.scope,
                &ns("p"),
                &key("missing"),
                serde_json::Map::new(),
                None,
            )
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        put(f, "p", "list", json!([1]));
        let e = f
            .store
            .patch(
                &f.scope,
                &ns("p"),
                &key("list"),
                serde_json::Map::new(),
                None,
            )
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
    }

    pub fn delete_documents_and_namespaces(f: &Fixture) {
        put(f, "d", "a", json!({}));
        put(f, "d", "b", json!({}));
        put(f, "other", "c", json!({}));
        let e = f
            .store
            .delete(&f.scope, &ns("d"), &key("a"), Some(5))
            .unwrap_err();
        assert_eq!((e.kind, e.current_version), (ErrorKind::Conflict, Some(1)));
        f.store
            .delete(&f.scope, &ns("d"), &key("a"), Some(1))
            .unwrap();
        assert_eq!(
            f.store.get(&f.scope, &ns("d"), &key("a")).unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            f.store
                .delete(&f.scope, &ns("d"), &key("a"), None)
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
        assert_eq!(f.store.namespaces(&f.scope).unwrap(), vec!["d", "other"]);
        assert_eq!(f.store.delete_namespace(&f.scope, &ns("d")).unwrap(), 1);
        assert_eq!(f.store.namespaces(&f.scope).unwrap(), vec!["other"]);
        assert_eq!(
            f.store
                .delete_namespace(&f.scope, &ns("d"))
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
        let page = f
            .store
            .list(&f.scope, &ns("d"), &ListOptions::default())
            .unwrap();
        assert!(page.keys.is_empty() && !page.has_more);
    }

    pub fn paging_returns_each_key_once(f: &Fixture) {
        for i in 0..25 {
            put(f, "pg", &format!("k{i:03}"), json!({"i": i}));
        }
        put(f, "pg", "other", json!({}));
        let mut seen = Vec::new();
        let mut opts = ListOptions {
            limit: 7,
            prefix: Some("k".into()),
            ..ListOptions::default()
        };
        for _ in 0..10 {
            let page = f.store.list(&f.scope, &ns("pg"), &opts).unwrap();
            assert!(page.keys.len() <= 7);
            if let Some(c) = &page.cursor {
                assert!(
                    c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                );
            }
            seen.extend(page.keys);
            if !page.has_more {
                break;
            }
            // A key inserted behind the cursor does not disturb the walk.
            put(f, "pg", "k000a", json!({}));
            opts.cursor = page.cursor;
        }
        let expected: Vec<String> = (0..25).map(|i| format!("k{i:03}")).collect();
        let mut without_insert = seen.clone();
        without_insert.retain(|k| k != "k000a");
        assert_eq!(without_insert, expected);
        let detail = ListOptions {
            limit: 2,
            detail: true,
            ..ListOptions::default()
        };
        let page = f.store.list(&f.scope, &ns("pg"), &detail).unwrap();
        let items = page.items.unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].key, page.keys[0]);
        for bad in [0, 1001] {
            let opts = ListOptions {
                limit: bad,
                ..ListOptions::default()
            };
            assert_eq!(
                f.store.list(&f.scope, &ns("pg"), &opts).unwrap_err().kind,
                ErrorKind::InvalidInput
            );
        }
        let opts = ListOptions {
            cursor: Some("not-a-cursor".into()),
            ..ListOptions::default()
        };
        assert_eq!(
            f.store.list(&f.scope, &ns("pg"), &opts).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
    }

    pub fn listing_can_carry_chosen_members(f: &Fixture) {
        put(
            f,
            "tri",
            "a",
            json!({"reviewed": true, "action": "fix", "big": "x"}),
        );
        put(f, "tri", "b", json!({"other": 1}));
        put(f, "tri", "c", json!([1, 2]));
        let opts = ListOptions {
            fields: vec!["reviewed".into(), "action".into()],
            ..ListOptions::default()
        };
        let page = f.store.list(&f.scope, &ns("tri"), &opts).unwrap();
        let fields: Vec<Value> = page
            .items
            .unwrap()
            .into_iter()
            .map(|m| Value::Object(m.fields.unwrap()))
            .collect();
        assert_eq!(
            fields,
            vec![
                json!({"reviewed": true, "action": "fix"}),
                json!({}),
                json!({})
            ]
        );
    }

    /// Documents with a bit of everything a query can look at.
    fn findings(f: &Fixture, n: &str) -> Vec<(String, Value)> {
        let severities = ["high", "low", "medium", "High"];
        let mut docs = Vec::new();
        for i in 0..40u32 {
            let mut v = json!({
                "severity": severities[(i % 4) as usize],
                "title": format!("finding number {i}"),
                "evidence": {"confidence": f64::from(i % 10) / 10.0, "source": if i % 3 == 0 {"sast"} else {"dast"}},
                "count": i,
            });
            if i % 5 == 0 {
                v["reviewed"] = json!(true);
                v["action"] = json!(if i % 10 == 0 { "fix" } else { "ignore" });
            }
            if i % 7 == 0 {
                v["owner"] = Value::Null;
            }
            if i % 2 == 0 {
                v["tags"] = json!(["Secrets", format!("t{i}")]);
            } else if i % 3 == 0 {
                v["tags"] = json!("aws-secrets");
            }
            let k = format!("f-{i:03}");
            put(f, n, &k, v.clone());
            docs.push((k, v));
        }
        put(f, n, "list-doc", json!([1, 2, 3]));
        docs.push(("list-doc".into(), json!([1, 2, 3])));
        docs
    }

    /// Every key a query matches, walking all pages `limit` at a time.
    fn matching(f: &Fixture, n: &str, q: &str, limit: usize) -> Vec<String> {
        let mut opts = ListOptions {
            limit,
            query: Some(query::parse(q).unwrap()),
            ..ListOptions::default()
        };
        let mut out = Vec::new();
        loop {
            let page = f.store.list(&f.scope, &ns(n), &opts).unwrap();
            assert!(page.keys.len() <= limit);
            assert_eq!(page.scanned.is_some(), !q.trim().is_empty(), "{q}: scanned");
            out.extend(page.keys);
            if !page.has_more {
                return out;
            }
            opts.cursor = page.cursor;
        }
    }

    /// The keys the reference meaning (`Query::matches`) picks, reading every document.
    fn reference(f: &Fixture, n: &str, q: &str) -> Vec<String> {
        let q = query::parse(q).unwrap();
        let now = agent_console::model::now_ms();
        let all = matching(f, n, "", 1000);
        all.into_iter()
            .filter(|k| q.matches(&f.store.get(&f.scope, &ns(n), &key(k)).unwrap(), now))
            .collect()
    }

    pub fn queries_select_what_the_reference_meaning_selects(f: &Fixture) {
        findings(f, "q");
        let exact = [
            ("severity=high", 10),
            ("severity=high !reviewed", 8),
            ("severity!=low", 31),
            ("evidence.confidence>0.8", 4),
            ("has:owner", 6),
            ("tags~secrets", 27),
            ("reviewed", 8),
            ("action:fix", 4),
            ("title~\"number 1\"", 11),
            ("count>=38", 2),
            ("f-00", 10),
            ("list", 1),
        ];
        for (q, n) in exact {
            let got = matching(f, "q", q, 3);
            assert_eq!(got.len(), n, "{q}: {got:?}");
            assert_eq!(got, reference(f, "q", q), "{q}");
        }
        // Combinations of words: the store agrees with the reference on each.
        let words = [
            "severity=high",
            "!reviewed",
            "severity!=low",
            "evidence.confidence>0.5",
            "evidence.confidence<=0.2",
            "has:owner",
            "!has:tags",
            "tags~secrets",
            "tags~T1",
            "reviewed",
            "action:ignore",
            "count<10",
            "count>=10.5",
            "count=3",
            "count=\"3\"",
            "title>\"finding number 3\"",
            "evidence.source=sast",
            "evidence=null",
            "owner=null",
            "by:tester",
            "by:cli",
            "!by:nobody",
            "size>90",
            "size<=100",
            "updated<1h",
            "updated>1d",
            "f-01",
            "key:F-02",
            "reviewed=false",
            "severity~IG",
            "title~\"r 2\"",
        ];
        let mut seed = 7u64;
        for _ in 0..60 {
            let mut q = Vec::new();
            for _ in 0..(1 + seed % 3) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                q.push(words[(seed >> 33) as usize % words.len()]);
            }
            let q = q.join(" ");
            assert_eq!(matching(f, "q", &q, 7), reference(f, "q", &q), "{q}");
        }
    }

    pub fn query_paging_is_stable_while_documents_are_inserted(f: &Fixture) {
        for i in 0..30 {
            let sev = if i % 3 == 0 { "high" } else { "low" };
            put(f, "qp", &format!("k{i:03}"), json!({"severity": sev}));
        }
        let expected: Vec<String> = (0..30)
            .filter(|i| i % 3 == 0)
            .map(|i| format!("k{i:03}"))
            .collect();
        let mut opts = ListOptions {
            limit: 2,
            detail: true,
            query: Some(query::parse("severity=high").unwrap()),
            ..ListOptions::default()
        };
        let mut seen = Vec::new();
        for round in 0..50 {
            let page = f.store.list(&f.scope, &ns("qp"), &opts).unwrap();
            let items = page.items.clone().unwrap();
            assert_eq!(items.len(), page.keys.len());
            seen.extend(page.keys);
            if !page.has_more {
                break;
            }
            // Matching and non-matching documents land behind the cursor and ahead of it.
            put(
                f,
                "qp",
                &format!("k000-{round}"),
                json!({"severity": "high"}),
            );
            put(f, "qp", &format!("a-{round}"), json!({"severity": "high"}));
            put(
                f,
                "qp",
                &format!("k001-{round}"),
                json!({"severity": "low"}),
            );
            opts.cursor = page.cursor;
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), seen.len(), "no key twice: {seen:?}");
        assert_eq!(sorted, seen, "in key order");
        let original: Vec<String> = seen.iter().filter(|k| !k.contains('-')).cloned().collect();
        assert_eq!(original, expected, "every original match exactly once");
        // What was inserted ahead of the cursor is found; what went behind it is not.
        assert!(seen.iter().all(|k| !k.starts_with("a-")));
    }

    pub fn facets_count_values_most_frequent_first(f: &Fixture) {
        findings(f, "fc");
        let sev = f
            .store
            .facets(
                &f.scope,
                &ns("fc"),
                &query::Path::parse("severity").unwrap(),
                None,
            )
            .unwrap();
        assert_eq!(sev.field, "severity");
        assert_eq!(sev.total, 41);
        assert_eq!(sev.missing, 1);
        let counts: Vec<(Value, u64)> = sev
            .values
            .iter()
            .map(|v| (v.value.clone(), v.count))
            .collect();
        assert_eq!(
            counts,
            vec![
                (json!("High"), 10),
                (json!("high"), 10),
                (json!("low"), 10),
                (json!("medium"), 10)
            ]
        );
        let q = query::parse("!reviewed").unwrap();
        let src = f
            .store
            .facets(
                &f.scope,
                &ns("fc"),
                &query::Path::parse("evidence.source").unwrap(),
                Some(&q),
            )
            .unwrap();
        assert_eq!(src.total, 33);
        assert_eq!(src.missing, 1);
        assert_eq!(src.values[0].value, json!("dast"));
        assert_eq!(src.values[0].count, 21);
        assert_eq!(src.values[1].value, json!("sast"));
        assert_eq!(src.values[1].count, 11);
        let rev = f
            .store
            .facets(
                &f.scope,
                &ns("fc"),
                &query::Path::parse("reviewed").unwrap(),
                None,
            )
            .unwrap();
        assert_eq!(rev.values.len(), 1);
        assert_eq!(
            (rev.values[0].value.clone(), rev.values[0].count),
            (json!(true), 8)
        );
        assert_eq!(rev.missing, 33);
        let owner = f
            .store
            .facets(
                &f.scope,
                &ns("fc"),
                &query::Path::parse("owner").unwrap(),
                None,
            )
            .unwrap();
        assert_eq!(
            (owner.values[0].value.clone(), owner.values[0].count),
            (Value::Null, 6)
        );
        let conf = f
            .store
            .facets(
                &f.scope,
                &ns("fc"),
                &query::Path::parse("evidence.confidence").unwrap(),
                Some(&query::parse("evidence.confidence>=0.9").unwrap()),
            )
            .unwrap();
        assert_eq!(
            (
                conf.values[0].value.clone(),
                conf.values[0].count,
                conf.total
            ),
            (json!(0.9), 4, 4)
        );
        let none = f
            .store
            .facets(
                &f.scope,
                &ns("nothing-here"),
                &query::Path::parse("severity").unwrap(),
                None,
            )
            .unwrap();
        assert_eq!((none.values.len(), none.missing, none.total), (0, 0, 0));
    }

    pub fn stats_count_documents_and_bytes(f: &Fixture) {
        put(f, "st", "a", json!({"x": 1}));
        put(f, "st", "b", json!([1, 2, 3]));
        let s = f.store.stats(&f.scope, Some(&ns("st"))).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].documents, s[0].bytes), (2, 7 + 7));
        assert!(
            f.store
                .stats(&f.scope, None)
                .unwrap()
                .iter()
                .any(|s| s.namespace == "st")
        );
        assert_eq!(
            f.store.stats(&f.scope, Some(&ns("none"))).unwrap_err().kind,
            ErrorKind::NotFound
        );
    }

    pub fn increment(f: &Fixture) {
        let doc = f
            .store
            .incr(&f.scope, &ns("ctr"), &key("c"), "hits", &5.into())
            .unwrap();
        assert_eq!(
            (doc.value.clone(), doc.meta.version),
            (json!({"hits": 5}), 1)
        );
        let doc = f
            .store
            .incr(&f.scope, &ns("ctr"), &key("c"), "hits", &(-2).into())
            .unwrap();
        assert_eq!(doc.value, json!({"hits": 3}));
        let doc = f
            .store
            .incr(&f.scope, &ns("ctr"), &key("c"), "other", &1.into())
            .unwrap();
        assert_eq!(doc.value, json!({"hits": 3, "other": 1}));
        put(f, "ctr", "s", json!({"hits": "many"}));
        let e = f
            .store
            .incr(&f.scope, &ns("ctr"), &key("s"), "hits", &1.into())
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
    }

    pub fn history_keeps_past_versions(f: &Fixture) {
        for i in 1..=3 {
            put(f, "h", "k", json!({"v": i}));
        }
        let versions: Vec<u64> = f
            .store
            .history(&f.scope, &ns("h"), &key("k"))
            .unwrap()
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(versions, vec![3, 2, 1]);
        let old = f
            .store
            .history_version(&f.scope, &ns("h"), &key("k"), 1)
            .unwrap();
        assert_eq!((old.value, old.meta.version), (json!({"v": 1}), 1));
        let e = f
            .store
            .history_version(&f.scope, &ns("h"), &key("k"), 9)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        // A deleted document's past stays readable, to restore it.
        f.store.delete(&f.scope, &ns("h"), &key("k"), None).unwrap();
        let old = f
            .store
            .history_version(&f.scope, &ns("h"), &key("k"), 3)
            .unwrap();
        assert_eq!(old.value, json!({"v": 3}));
    }

    pub fn expired_documents_vanish(f: &Fixture) {
        let ttl = PutOptions {
            ttl: Some(1),
            ..PutOptions::default()
        };
        let w = f
            .store
            .put(&f.scope, &ns("tmp"), &key("k"), json!({}), &ttl)
            .unwrap();
        assert!(w.meta.expires_at.is_some());
        put(f, "tmp", "stays", json!({}));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(
            f.store
                .get(&f.scope, &ns("tmp"), &key("k"))
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
        let page = f
            .store
            .list(&f.scope, &ns("tmp"), &ListOptions::default())
            .unwrap();
        assert_eq!(page.keys, vec!["stays"]);
        let s = f.store.stats(&f.scope, Some(&ns("tmp"))).unwrap();
        assert_eq!(s[0].documents, 1);
    }

    pub fn bad_values_change_nothing(f: &Fixture) {
        for bad in [json!(1), json!("s"), json!(null), json!(true)] {
            let e = f
                .store
                .put(&f.scope, &ns("bad"), &key("k"), bad, &PutOptions::default())
                .unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput);
        }
        assert!(
            f.store
                .namespaces(&f.scope)
                .unwrap()
                .iter()
                .all(|n| n != "bad")
        );
    }

    pub fn import_keeps_versions(f: &Fixture) {
        let opts = PutOptions {
            initial_version: Some(7),
            ..PutOptions::default()
        };
        let w = f
            .store
            .put(&f.scope, &ns("imp"), &key("k"), json!({}), &opts)
            .unwrap();
        assert_eq!(w.meta.version, 7);
        let w = f
            .store
            .put(&f.scope, &ns("imp"), &key("k"), json!({"a": 1}), &opts)
            .unwrap();
        assert_eq!(w.meta.version, 8);
        // Restoring a deleted document after its last version keeps its past readable.
        f.store
            .delete(&f.scope, &ns("imp"), &key("k"), None)
            .unwrap();
        let restore = PutOptions {
            initial_version: Some(9),
            create_only: true,
            ..PutOptions::default()
        };
        f.store
            .put(&f.scope, &ns("imp"), &key("k"), json!({"a": 1}), &restore)
            .unwrap();
        let versions: Vec<u64> = f
            .store
            .history(&f.scope, &ns("imp"), &key("k"))
            .unwrap()
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(versions, vec![9, 8, 7]);
    }

    pub fn read_only_refuses_writes(f: &mut Fixture) {
        put(f, "ro", "k", json!({}));
        f.store.read_only = true;
        let e = f
            .store
            .put(
                &f.scope,
                &ns("ro"),
                &key("k"),
                json!({"x": 1}),
                &PutOptions::default(),
            )
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden);
        assert_eq!(
            f.store
                .delete(&f.scope, &ns("ro"), &key("k"), None)
                .unwrap_err()
                .kind,
            ErrorKind::Forbidden
        );
        assert_eq!(
            f.store.get(&f.scope, &ns("ro"), &key("k")).unwrap().value,
            json!({})
        );
        f.store.read_only = false;
    }

    pub fn change_log_records_writes_in_order(f: &Fixture) {
        let start = f.store.changes(&f.scope, 0, None, 1000).unwrap().last_seq;
        put(f, "log", "a", json!({}));
        put(f, "log", "a", json!({"x": 1}));
        f.store
            .delete(&f.scope, &ns("log"), &key("a"), None)
            .unwrap();
        let batch = f
            .store
            .changes(&f.scope, start, Some(&ns("log")), 1000)
            .unwrap();
        let ops: Vec<(&str, Option<u64>)> = batch
            .changes
            .iter()
            .map(|c| (c.op.as_str(), c.version))
            .collect();
        assert_eq!(
            ops,
            vec![("put", Some(1)), ("put", Some(2)), ("delete", Some(2))]
        );
        assert!(batch.changes.windows(2).all(|w| w[0].seq < w[1].seq));
    }

    pub fn follow_delivers_every_change_once_in_order(f: &Fixture) {
        let start = f.store.last_seq(&f.scope).unwrap();
        let got = std::thread::scope(|s| {
            let follower = s.spawn(|| {
                let mut got = Vec::new();
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
                f.store
                    .follow(&f.scope, Some(&ns("feed")), start, |item| {
                        if let agent_console::store::FeedItem::Change(c) = item {
                            got.push((c.key.unwrap_or_default(), c.version));
                        }
                        got.len() < 3 && std::time::Instant::now() < deadline
                    })
                    .unwrap();
                got
            });
            put(f, "other", "x", json!({}));
            put(f, "feed", "a", json!({}));
            put(f, "feed", "a", json!({"n": 1}));
            put(f, "feed", "b", json!({}));
            follower.join().unwrap()
        });
        assert_eq!(
            got,
            vec![
                ("a".to_string(), Some(1)),
                ("a".to_string(), Some(2)),
                ("b".to_string(), Some(1))
            ]
        );
    }
}

macro_rules! contract_suite {
    ($backend:ident, $fixture:expr) => {
        mod $backend {
            use super::*;

            #[test]
            fn put_get_round_trip() {
                let Some(f) = $fixture() else { return };
                cases::put_get_round_trip(&f);
            }
            #[test]
            fn compare_and_swap() {
                let Some(f) = $fixture() else { return };
                cases::compare_and_swap(&f);
            }
            #[test]
            fn merge_patch() {
                let Some(f) = $fixture() else { return };
                cases::merge_patch(&f);
            }
            #[test]
            fn delete_documents_and_namespaces() {
                let Some(f) = $fixture() else { return };
                cases::delete_documents_and_namespaces(&f);
            }
            #[test]
            fn paging_returns_each_key_once() {
                let Some(f) = $fixture() else { return };
                cases::paging_returns_each_key_once(&f);
            }
            #[test]
            fn listing_can_carry_chosen_members() {
                let Some(f) = $fixture() else { return };
                cases::listing_can_carry_chosen_members(&f);
            }
            #[test]
            fn queries_select_what_the_reference_meaning_selects() {
                let Some(f) = $fixture() else { return };
                cases::queries_select_what_the_reference_meaning_selects(&f);
            }
            #[test]
            fn query_paging_is_stable_while_documents_are_inserted() {
                let Some(f) = $fixture() else { return };
                cases::query_paging_is_stable_while_documents_are_inserted(&f);
            }
            #[test]
            fn facets_count_values_most_frequent_first() {
                let Some(f) = $fixture() else { return };
                cases::facets_count_values_most_frequent_first(&f);
            }
            #[test]
            fn stats_count_documents_and_bytes() {
                let Some(f) = $fixture() else { return };
                cases::stats_count_documents_and_bytes(&f);
            }
            #[test]
            fn increment() {
                let Some(f) = $fixture() else { return };
                cases::increment(&f);
            }
            #[test]
            fn history_keeps_past_versions() {
                let Some(f) = $fixture() else { return };
                cases::history_keeps_past_versions(&f);
            }
            #[test]
            fn expired_documents_vanish() {
                let Some(f) = $fixture() else { return };
                cases::expired_documents_vanish(&f);
            }
            #[test]
            fn bad_values_change_nothing() {
                let Some(f) = $fixture() else { return };
                cases::bad_values_change_nothing(&f);
            }
            #[test]
            fn import_keeps_versions() {
                let Some(f) = $fixture() else { return };
                cases::import_keeps_versions(&f);
            }
            #[test]
            fn read_only_refuses_writes() {
                let Some(mut f) = $fixture() else { return };
                cases::read_only_refuses_writes(&mut f);
            }
            #[test]
            fn follow_delivers_every_change_once_in_order() {
                let Some(f) = $fixture() else { return };
                cases::follow_delivers_every_change_once_in_order(&f);
            }
            #[test]
            fn change_log_records_writes_in_order() {
                let Some(f) = $fixture() else { return };
                cases::change_log_records_writes_in_order(&f);
            }
        }
    };
}

contract_suite!(sqlite, sqlite_fixture);
contract_suite!(postgres, postgres_fixture);
contract_suite!(remote, remote_fixture);
contract_suite!(remote_on_postgres, remote_on_postgres_fixture);
