//! Integration tests of `console serve`: the real router in-process on 127.0.0.1:0 over a
//! temporary store (every endpoint, every error, concurrency, quotas, isolation, change
//! feeds), and the real binary (keys CLI, --no-auth, graceful shutdown, kill -9 durability).

use agent_console::model::Workspace;
use agent_console::server::ServerOptions;
use agent_console::store::keys;
use agent_console::store::sqlite::SqliteOptions;
use agent_console::store::{Backend, Store, Tier};
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

mod common;
use common::TestServer;

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A request with a bearer key.
fn req(c: &Client, s: &TestServer, method: Method, path: &str, key: &str) -> RequestBuilder {
    c.request(method, s.url(path)).bearer_auth(key)
}

fn body(r: Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().unwrap();
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text:?}"));
    (status, headers, v)
}

/// Asserts an error response: status, code, the envelope and the request id.
fn expect_error(r: Response, status: u16, code: &str) -> Value {
    let (got, headers, v) = body(r);
    assert_eq!(got, status, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    assert!(v["error"]["is_retryable"].is_boolean(), "{v}");
    let id = headers["x-request-id"].to_str().unwrap();
    assert!(id.starts_with("req_"));
    assert_eq!(v["metadata"]["request_id"], id);
    v
}

fn header(h: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    h.get(name).map(|v| v.to_str().unwrap().to_string())
}

fn put(c: &Client, s: &TestServer, key: &str, path: &str, value: Value) -> Response {
    req(c, s, Method::PUT, path, key)
        .json(&value)
        .send()
        .unwrap()
}

fn default_server() -> (TestServer, String) {
    let s = TestServer::start(ServerOptions::default());
    let k = s.key("acme");
    (s, k)
}

// ---------------------------------------------------------------- contract

#[test]
fn documents_round_trip_with_etags_and_usage_headers() {
    let (s, k) = default_server();
    let c = client();
    let (st, h, v) = body(put(&c, &s, &k, "/storage/signals/a", json!({"x": 1})));
    assert_eq!(st, 201);
    assert_eq!(v["version"], 1);
    assert_eq!(v["size_bytes"], 7);
    assert_eq!(v["updated_by"], "api");
    assert!(
        v.get("value").is_none(),
        "a write answers the metadata envelope"
    );
    assert_eq!(header(&h, "etag").as_deref(), Some("\"1\""));
    assert_eq!(header(&h, "x-storage-used").as_deref(), Some("7"));
    assert!(h.get("x-storage-limit").is_none(), "unlimited tier");

    let (st, h, v) = body(put(&c, &s, &k, "/storage/signals/a", json!([1, 2])));
    assert_eq!(st, 200);
    assert_eq!(v["version"], 2);
    assert_eq!(header(&h, "etag").as_deref(), Some("\"2\""));

    let (st, h, v) = body(
        req(&c, &s, Method::GET, "/storage/signals/a", &k)
            .send()
            .unwrap(),
    );
    assert_eq!(st, 200);
    assert_eq!(v["value"], json!([1, 2]));
    assert_eq!(v["namespace"], "signals");
    assert_eq!(v["key"], "a");
    assert_eq!(header(&h, "etag").as_deref(), Some("\"2\""));
    for f in [
        "created_at",
        "updated_at",
        "updated_by",
        "expires_at",
        "size_bytes",
    ] {
        assert!(v.get(f).is_some(), "{f} missing from {v}");
    }

    // The CLI header and TTL.
    let r = req(&c, &s, Method::PUT, "/storage/signals/b?ttl=3600", &k)
        .header("X-Orchagent-Client", "cli")
        .json(&json!({"y": true}))
        .send()
        .unwrap();
    let (st, _, v) = body(r);
    assert_eq!(st, 201);
    assert_eq!(v["updated_by"], "cli");
    assert!(v["expires_at"].is_string());

    let (_, _, v) = body(req(&c, &s, Method::GET, "/storage", &k).send().unwrap());
    assert_eq!(v, json!({"namespaces": ["signals"]}));

    // Scalars and null are not documents.
    for bad in ["3", "null", "\"s\"", "", "  "] {
        let r = req(&c, &s, Method::PUT, "/storage/signals/c", &k)
            .body(bad)
            .send()
            .unwrap();
        expect_error(r, 400, "INVALID_INPUT");
    }
    expect_error(
        req(&c, &s, Method::GET, "/storage/signals/missing", &k)
            .send()
            .unwrap(),
        404,
        "NOT_FOUND",
    );
}

#[test]
fn conditional_writes_in_every_form() {
    let (s, k) = default_server();
    let c = client();
    put(&c, &s, &k, "/storage/n/d", json!({"v": 0}));
    for (i, form) in ["1", "\"2\"", "W/\"3\""].iter().enumerate() {
        let r = req(&c, &s, Method::PUT, "/storage/n/d", &k)
            .header("If-Match", *form)
            .json(&json!({"v": i + 1}))
            .send()
            .unwrap();
        let (st, _, v) = body(r);
        assert_eq!(st, 200, "If-Match {form}: {v}");
        assert_eq!(v["version"], i as u64 + 2);
    }
    // Stale version: 409 with the current one.
    let r = req(&c, &s, Method::PUT, "/storage/n/d", &k)
        .header("If-Match", "\"1\"")
        .json(&json!({}))
        .send()
        .unwrap();
    let v = expect_error(r, 409, "CONFLICT");
    assert_eq!(v["error"]["details"]["current_version"], 4);
    // If-Match on a missing document: 409 (current_version null).
    let r = req(&c, &s, Method::PUT, "/storage/n/none", &k)
        .header("If-Match", "1")
        .json(&json!({}))
        .send()
        .unwrap();
    let v = expect_error(r, 409, "CONFLICT");
    assert!(v["error"]["details"]["current_version"].is_null());
    // If-Match: * needs an existing document.
    let r = req(&c, &s, Method::PUT, "/storage/n/none", &k)
        .header("If-Match", "*")
        .json(&json!({}))
        .send()
        .unwrap();
    expect_error(r, 409, "CONFLICT");
    let r = req(&c, &s, Method::PUT, "/storage/n/d", &k)
        .header("If-Match", "*")
        .json(&json!({"v": 9}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // Create-only.
    let create = |key: &str| {
        req(&c, &s, Method::PUT, &format!("/storage/n/{key}"), &k)
            .header("If-None-Match", "*")
            .json(&json!({"new": true}))
            .send()
            .unwrap()
    };
    assert_eq!(create("fresh").status(), 201);
    let v = expect_error(create("fresh"), 409, "CONFLICT");
    assert_eq!(v["error"]["details"]["current_version"], 1);
    // Bad precondition headers are 400, never a write.
    for (name, value) in [
        ("If-Match", "abc"),
        ("If-Match", "\"1"),
        ("If-Match", "-1"),
        ("If-None-Match", "\"3\""),
    ] {
        let r = req(&c, &s, Method::PUT, "/storage/n/d", &k)
            .header(name, value)
            .json(&json!({}))
            .send()
            .unwrap();
        expect_error(r, 400, "INVALID_INPUT");
    }
    // PATCH and DELETE honour If-Match.
    let r = req(&c, &s, Method::PATCH, "/storage/n/d", &k)
        .header("If-Match", "1")
        .json(&json!({"a": 1}))
        .send()
        .unwrap();
    assert_eq!(
        expect_error(r, 409, "CONFLICT")["error"]["details"]["current_version"],
        5
    );
    let r = req(&c, &s, Method::PATCH, "/storage/n/d", &k)
        .header("If-Match", "W/\"5\"")
        .json(&json!({"a": 1}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = req(&c, &s, Method::DELETE, "/storage/n/d", &k)
        .header("If-Match", "5")
        .send()
        .unwrap();
    expect_error(r, 409, "CONFLICT");
    let r = req(&c, &s, Method::DELETE, "/storage/n/d", &k)
        .header("If-Match", "\"6\"")
        .send()
        .unwrap();
    let (st, _, v) = body(r);
    assert_eq!(st, 200);
    assert_eq!(v, json!({"deleted": true, "namespace": "n", "key": "d"}));
}

#[test]
fn patch_merges_and_null_removes() {
    let (s, k) = default_server();
    let c = client();
    put(
        &c,
        &s,
        &k,
        "/storage/n/p",
        json!({"keep": 1, "drop": 2, "change": 3}),
    );
    let r = req(&c, &s, Method::PATCH, "/storage/n/p", &k)
        .json(&json!({"drop": null, "change": "x", "add": [1]}))
        .send()
        .unwrap();
    let (st, h, v) = body(r);
    assert_eq!(st, 200);
    assert_eq!(v["version"], 2);
    assert!(v.get("value").is_none());
    assert!(h.get("x-storage-used").is_some());
    let (_, _, v) = body(req(&c, &s, Method::GET, "/storage/n/p", &k).send().unwrap());
    assert_eq!(v["value"], json!({"keep": 1, "change": "x", "add": [1]}));
    // Missing document, array target, non-object patch.
    let r = req(&c, &s, Method::PATCH, "/storage/n/none", &k)
        .json(&json!({"a": 1}))
        .send()
        .unwrap();
    expect_error(r, 404, "NOT_FOUND");
    put(&c, &s, &k, "/storage/n/arr", json!([1]));
    let r = req(&c, &s, Method::PATCH, "/storage/n/arr", &k)
        .json(&json!({"a": 1}))
        .send()
        .unwrap();
    expect_error(r, 400, "INVALID_INPUT");
    let r = req(&c, &s, Method::PATCH, "/storage/n/p", &k)
        .json(&json!([1]))
        .send()
        .unwrap();
    expect_error(r, 400, "INVALID_INPUT");
}

#[test]
fn concurrent_patches_of_different_members_lose_nothing() {
    let (s, k) = default_server();
    let s = Arc::new(s);
    let c = client();
    put(&c, &s, &k, "/storage/n/shared", json!({}));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (s, k) = (s.clone(), k.clone());
            thread::spawn(move || {
                let c = client();
                for i in 0..10 {
                    let r = req(&c, &s, Method::PATCH, "/storage/n/shared", &k)
                        .json(&json!({ format!("m{t}-{i}"): i }))
                        .send()
                        .unwrap();
                    assert_eq!(r.status(), 200);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let (_, _, v) = body(
        req(&c, &s, Method::GET, "/storage/n/shared", &k)
            .send()
            .unwrap(),
    );
    assert_eq!(v["value"].as_object().unwrap().len(), 80);
    assert_eq!(v["version"], 81);
}

#[test]
fn deletes_answer_bodies_and_404_when_missing() {
    let (s, k) = default_server();
    let c = client();
    for i in 0..3 {
        put(&c, &s, &k, &format!("/storage/gone/k{i}"), json!({}));
    }
    let (st, h, v) = body(
        req(&c, &s, Method::DELETE, "/storage/gone/k0", &k)
            .send()
            .unwrap(),
    );
    assert_eq!(st, 200);
    assert_eq!(
        v,
        json!({"deleted": true, "namespace": "gone", "key": "k0"})
    );
    assert!(h.get("x-storage-used").is_some());
    expect_error(
        req(&c, &s, Method::DELETE, "/storage/gone/k0", &k)
            .send()
            .unwrap(),
        404,
        "NOT_FOUND",
    );
    let (st, _, v) = body(
        req(&c, &s, Method::DELETE, "/storage/gone", &k)
            .send()
            .unwrap(),
    );
    assert_eq!(st, 200);
    assert_eq!(
        v,
        json!({"deleted": true, "namespace": "gone", "documents_deleted": 2})
    );
    expect_error(
        req(&c, &s, Method::DELETE, "/storage/gone", &k)
            .send()
            .unwrap(),
        404,
        "NOT_FOUND",
    );
    // An empty namespace lists as empty.
    let (st, _, v) = body(
        req(&c, &s, Method::GET, "/storage/gone", &k)
            .send()
            .unwrap(),
    );
    assert_eq!(st, 200);
    assert_eq!(v, json!({"keys": [], "cursor": null, "has_more": false}));
}

#[test]
fn listing_pages_are_stable_while_keys_are_inserted() {
    let (s, k) = default_server();
    let c = client();
    let originals: Vec<String> = (0..50).map(|i| format!("k{:03}", i * 2)).collect();
    for key in &originals {
        put(&c, &s, &k, &format!("/storage/pages/{key}"), json!({}));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0..100 {
        let mut path = "/storage/pages?limit=7".to_string();
        if let Some(cur) = &cursor {
            // One client does not URL-encode the cursor: it must not need it.
            assert!(
                cur.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            path.push_str(&format!("&cursor={cur}"));
        }
        let (st, _, v) = body(req(&c, &s, Method::GET, &path, &k).send().unwrap());
        assert_eq!(st, 200, "{v}");
        let keys: Vec<String> = serde_json::from_value(v["keys"].clone()).unwrap();
        assert!(keys.len() <= 7);
        seen.extend(keys);
        // Insert keys before and after the walk's position between pages.
        put(
            &c,
            &s,
            &k,
            &format!("/storage/pages/k{:03}", page * 2 + 1),
            json!({}),
        );
        put(&c, &s, &k, &format!("/storage/pages/a{page:03}"), json!({}));
        if v["has_more"] == false {
            assert!(v["cursor"].is_null());
            break;
        }
        cursor = Some(v["cursor"].as_str().unwrap().to_string());
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "ascending byte order");
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no key twice");
    for key in &originals {
        assert!(seen.contains(key), "{key} was skipped");
    }
    // detail, prefix, limits.
    let (_, _, v) = body(
        req(
            &c,
            &s,
            Method::GET,
            "/storage/pages?prefix=k00&detail=true&limit=3",
            &k,
        )
        .send()
        .unwrap(),
    );
    assert_eq!(v["keys"], json!(["k000", "k001", "k002"]));
    assert_eq!(v["items"].as_array().unwrap().len(), 3);
    assert_eq!(v["items"][0]["key"], "k000");
    assert!(v["items"][0].get("value").is_none());
    for i in 0..60 {
        put(&c, &s, &k, &format!("/storage/pages/z{i:03}"), json!({}));
    }
    let (_, _, v) = body(
        req(&c, &s, Method::GET, "/storage/pages", &k)
            .send()
            .unwrap(),
    );
    assert_eq!(v["keys"].as_array().unwrap().len(), 100, "default limit");
    assert_eq!(v["has_more"], true);
    let (_, _, v) = body(
        req(&c, &s, Method::GET, "/storage/pages?limit=1000", &k)
            .send()
            .unwrap(),
    );
    assert_eq!(v["has_more"], false);
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=abc",
        "limit=-1",
        "cursor=!!",
        "detail=maybe",
        "prefix=%20x",
    ] {
        let r = req(&c, &s, Method::GET, &format!("/storage/pages?{bad}"), &k)
            .send()
            .unwrap();
        expect_error(r, 400, "INVALID_INPUT");
    }
}

#[test]
fn quotas_hold_under_eight_concurrent_writers() {
    let s = Arc::new(TestServer::start(ServerOptions::default()));
    s.workspace("small", Tier::Free);
    let k = s.key("small");
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (s, k) = (s.clone(), k.clone());
            thread::spawn(move || {
                let c = client();
                let mut created = 0;
                for i in 0..30 {
                    let r = put(
                        &c,
                        &s,
                        &k,
                        &format!("/storage/full/t{t}-{i}"),
                        json!({"i": i}),
                    );
                    match r.status().as_u16() {
                        201 => {
                            assert!(r.headers().get("x-storage-limit").is_some());
                            created += 1;
                        }
                        429 => {
                            expect_error(r, 429, "STORAGE_QUOTA_EXCEEDED");
                        }
                        other => panic!("unexpected status {other}"),
                    }
                }
                created
            })
        })
        .collect();
    let created: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(created, 100, "free tier: 100 documents per namespace");
    let c = client();
    let (_, _, v) = body(
        req(&c, &s, Method::GET, "/storage/full?limit=1000", &k)
            .send()
            .unwrap(),
    );
    assert_eq!(v["keys"].as_array().unwrap().len(), 100);
    // Replacing an existing document is still allowed; a document over 100 KB is not.
    assert_eq!(
        put(&c, &s, &k, "/storage/full/t0-0", json!({"i": -1})).status(),
        200
    );
    let big = json!({"blob": "x".repeat(101 * 1024)});
    expect_error(
        put(&c, &s, &k, "/storage/other/big", big),
        413,
        "DOCUMENT_TOO_LARGE",
    );
    // Namespaces: 5 on the free tier.
    for n in 0..4 {
        assert_eq!(
            put(&c, &s, &k, &format!("/storage/ns{n}/a"), json!({})).status(),
            201
        );
    }
    expect_error(
        put(&c, &s, &k, "/storage/ns9/a", json!({})),
        429,
        "STORAGE_QUOTA_EXCEEDED",
    );
}

#[test]
fn a_key_sees_nothing_of_another_workspace() {
    let s = TestServer::start(ServerOptions {
        heartbeat: Duration::from_millis(100),
        ..ServerOptions::default()
    });
    let a = s.key("team-a");
    let b = s.key("team-b");
    let c = client();
    put(&c, &s, &a, "/storage/secret/doc", json!({"a": 1}));
    put(&c, &s, &b, "/storage/mine/doc", json!({"b": 1}));
    let (_, _, v) = body(req(&c, &s, Method::GET, "/storage", &b).send().unwrap());
    assert_eq!(v, json!({"namespaces": ["mine"]}));
    let (st, _, v) = body(
        req(&c, &s, Method::GET, "/storage/secret", &b)
            .send()
            .unwrap(),
    );
    assert_eq!((st, v["keys"].clone()), (200, json!([])));
    for (method, path) in [
        (Method::GET, "/storage/secret/doc"),
        (Method::PATCH, "/storage/secret/doc"),
        (Method::DELETE, "/storage/secret/doc"),
        (Method::DELETE, "/storage/secret"),
        (Method::GET, "/storage/secret/doc/_history"),
        (Method::GET, "/storage/secret/doc/_history/1"),
        (Method::GET, "/storage/secret/_stats"),
    ] {
        let r = req(&c, &s, method.clone(), path, &b)
            .json(&json!({"x": 1}))
            .send()
            .unwrap();
        expect_error(r, 404, "NOT_FOUND");
    }
    let r = req(&c, &s, Method::PUT, "/storage/secret/doc", &b)
        .header("If-Match", "1")
        .json(&json!({}))
        .send()
        .unwrap();
    expect_error(r, 409, "CONFLICT");
    let (_, _, v) = body(
        req(&c, &s, Method::GET, "/storage/_stats", &b)
            .send()
            .unwrap(),
    );
    assert_eq!(v["namespaces"].as_array().unwrap().len(), 1);
    assert_eq!(v["namespaces"][0]["namespace"], "mine");
    let (_, _, v) = body(req(&c, &s, Method::GET, "/workspaces", &b).send().unwrap());
    assert_eq!(v["workspaces"][0]["slug"], "team-b");
    assert_eq!(v["workspaces"].as_array().unwrap().len(), 1);
    // X-Workspace-Id must name the key's workspace.
    let r = req(&c, &s, Method::GET, "/storage", &b)
        .header("X-Workspace-Id", "team-a")
        .send()
        .unwrap();
    expect_error(r, 403, "FORBIDDEN");
    let r = req(&c, &s, Method::GET, "/storage", &b)
        .header("X-Workspace-Id", "team-b")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // The change feed of B never carries A's changes, even from the start of the log.
    let feed = req(&c, &s, Method::GET, "/storage/secret/_watch?after=0", &b)
        .send()
        .unwrap();
    assert_eq!(feed.status(), 200);
    put(&c, &s, &a, "/storage/secret/doc2", json!({"a": 2}));
    put(&c, &s, &b, "/storage/secret/marker", json!({"b": 2}));
    let events = read_events(feed, 1, Duration::from_secs(10));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1["key"], "marker");
}

#[test]
fn keys_are_checked_revoked_and_read_only() {
    let (s, k) = default_server();
    let c = client();
    expect_error(
        c.get(s.url("/storage")).send().unwrap(),
        401,
        "UNAUTHORIZED",
    );
    for auth in [
        "Basic abc",
        "Bearer",
        "Bearer csk_000000000000_00",
        "csk_x",
        "Bearer nope",
    ] {
        let r = c
            .get(s.url("/storage"))
            .header("Authorization", auth)
            .send()
            .unwrap();
        expect_error(r, 401, "UNAUTHORIZED");
    }
    let doomed = s.key_with("acme", None, false);
    assert_eq!(
        req(&c, &s, Method::GET, "/storage", &doomed.token)
            .send()
            .unwrap()
            .status(),
        200
    );
    keys::revoke(&s.admin(), &doomed.info.id).unwrap();
    let v = expect_error(
        req(&c, &s, Method::GET, "/storage", &doomed.token)
            .send()
            .unwrap(),
        401,
        "UNAUTHORIZED",
    );
    assert!(v["error"]["message"].as_str().unwrap().contains("revoked"));
    // A read-only key reads but never writes.
    put(&c, &s, &k, "/storage/n/d", json!({"a": 1}));
    let ro = s.key_with("acme", None, true).token;
    assert_eq!(
        req(&c, &s, Method::GET, "/storage/n/d", &ro)
            .send()
            .unwrap()
            .status(),
        200
    );
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let r = req(&c, &s, method, "/storage/n/d", &ro)
            .json(&json!({"b": 1}))
            .send()
            .unwrap();
        expect_error(r, 403, "FORBIDDEN");
    }
    let r = req(&c, &s, Method::POST, "/storage/n/d/_incr", &ro)
        .json(&json!({"field": "a"}))
        .send()
        .unwrap();
    expect_error(r, 403, "FORBIDDEN");
    // An actor label is recorded as updated_by, whatever the client header says.
    let agent = s.key_with("acme", Some("acme/scanner@v2"), false).token;
    let r = req(&c, &s, Method::PUT, "/storage/n/e", &agent)
        .header("X-Orchagent-Client", "cli")
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(body(r).2["updated_by"], "acme/scanner@v2");
}

#[test]
fn twenty_clients_times_fifty_cas_increments_lose_none() {
    let (s, k) = default_server();
    let s = Arc::new(s);
    put(&client(), &s, &k, "/storage/ctr/c", json!({"n": 0}));
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let (s, k) = (s.clone(), k.clone());
            thread::spawn(move || {
                let c = client();
                let mut conflicts = 0u32;
                for _ in 0..50 {
                    let mut done = false;
                    for _attempt in 0..500 {
                        let (_, h, v) = body(
                            req(&c, &s, Method::GET, "/storage/ctr/c", &k)
                                .send()
                                .unwrap(),
                        );
                        let n = v["value"]["n"].as_i64().unwrap();
                        let etag = header(&h, "etag").unwrap();
                        let r = req(&c, &s, Method::PUT, "/storage/ctr/c", &k)
                            .header("If-Match", etag)
                            .json(&json!({"n": n + 1}))
                            .send()
                            .unwrap();
                        match r.status().as_u16() {
                            200 => {
                                done = true;
                                break;
                            }
                            409 => conflicts += 1,
                            other => panic!("unexpected {other}"),
                        }
                    }
                    assert!(done, "an increment never got through");
                }
                conflicts
            })
        })
        .collect();
    let conflicts: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let (_, _, v) = body(
        req(&client(), &s, Method::GET, "/storage/ctr/c", &k)
            .send()
            .unwrap(),
    );
    assert_eq!(v["value"]["n"], 1000, "({conflicts} conflicts retried)");
    assert_eq!(v["version"], 1001);
}

// ---------------------------------------------------------------- change feeds

/// Reads up to `n` change events (id, data) from an SSE response, within `within`.
fn read_events(r: Response, n: usize, within: Duration) -> Vec<(u64, Value)> {
    let mut events = Vec::new();
    let deadline = Instant::now() + within;
    let mut reader = BufReader::new(r);
    let (mut id, mut kind, mut data) = (None, None, String::new());
    let mut line = String::new();
    while events.len() < n && Instant::now() < deadline {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            if kind.as_deref() == Some("change") {
                events.push((id.take().unwrap(), serde_json::from_str(&data).unwrap()));
            } else if kind.as_deref() == Some("error") {
                events.push((0, serde_json::from_str(&data).unwrap()));
            }
            kind = None;
            data.clear();
        } else if let Some(v) = l.strip_prefix("id: ") {
            id = Some(v.parse().unwrap());
        } else if let Some(v) = l.strip_prefix("event: ") {
            kind = Some(v.to_string());
        } else if let Some(v) = l.strip_prefix("data: ") {
            data.push_str(v);
        }
    }
    events
}

#[test]
fn a_feed_resumes_after_a_dropped_connection_without_gap_or_duplicate() {
    let s = TestServer::start(ServerOptions {
        heartbeat: Duration::from_millis(200),
        poll_interval: Duration::from_millis(50),
        ..ServerOptions::default()
    });
    let k = s.key("acme");
    let c = client();
    let feed = req(&c, &s, Method::GET, "/storage/feed/_watch", &k)
        .send()
        .unwrap();
    assert_eq!(feed.status(), 200);
    assert!(
        header(feed.headers(), "content-type")
            .unwrap()
            .starts_with("text/event-stream")
    );
    for i in 0..5 {
        put(&c, &s, &k, &format!("/storage/feed/k{i}"), json!({"i": i}));
    }
    let first = read_events(feed, 3, Duration::from_secs(10));
    assert_eq!(first.len(), 3);
    // The connection is dropped here; more writes happen meanwhile (some by another writer
    // directly on the store file, which the feed sees by polling).
    for i in 5..8 {
        put(&c, &s, &k, &format!("/storage/feed/k{i}"), json!({"i": i}));
    }
    let direct = Store::new(Backend::Sqlite(s.admin()));
    let scope = agent_console::store::Scope::new(Workspace::parse("acme").unwrap(), "direct");
    let ns = agent_console::model::Namespace::parse("feed").unwrap();
    for i in 8..10 {
        direct
            .put(
                &scope,
                &ns,
                &agent_console::model::Key::parse(&format!("k{i}")).unwrap(),
                json!({"i": i}),
                &Default::default(),
            )
            .unwrap();
    }
    let last = first.last().unwrap().0;
    let again = req(&c, &s, Method::GET, "/storage/feed/_watch", &k)
        .header("Last-Event-ID", last.to_string())
        .send()
        .unwrap();
    let rest = read_events(again, 7, Duration::from_secs(10));
    let all: Vec<(u64, Value)> = first.into_iter().chain(rest).collect();
    let keys: Vec<String> = all
        .iter()
        .map(|(_, d)| d["key"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    assert_eq!(keys, expected, "every change once, in order");
    let seqs: Vec<u64> = all.iter().map(|(id, _)| *id).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    for (id, d) in &all {
        assert_eq!(d["seq"], *id);
        assert_eq!(d["op"], "put");
        assert_eq!(d["version"], 1);
        assert_eq!(
            d["value"]["i"],
            d["key"].as_str().unwrap()[1..].parse::<i64>().unwrap()
        );
    }
    // ?after= resumes the same way.
    let from_query = req(
        &c,
        &s,
        Method::GET,
        &format!("/storage/feed/_watch?after={}", seqs[7]),
        &k,
    )
    .send()
    .unwrap();
    let tail = read_events(from_query, 2, Duration::from_secs(10));
    assert_eq!(
        tail.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        seqs[8..].to_vec()
    );
}

#[test]
fn a_key_feed_carries_old_values_and_heartbeats() {
    let s = TestServer::start(ServerOptions {
        heartbeat: Duration::from_millis(100),
        poll_interval: Duration::from_millis(50),
        ..ServerOptions::default()
    });
    let k = s.key("acme");
    let c = client();
    put(&c, &s, &k, "/storage/w/one", json!({"v": 1}));
    let feed = req(&c, &s, Method::GET, "/storage/w/one/_watch", &k)
        .send()
        .unwrap();
    // Heartbeats arrive while idle.
    let mut reader = BufReader::new(feed);
    let mut line = String::new();
    let mut saw_heartbeat = false;
    for _ in 0..10 {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line.starts_with(':') {
            saw_heartbeat = true;
            break;
        }
    }
    assert!(saw_heartbeat, "no heartbeat comment");
    put(&c, &s, &k, "/storage/w/other", json!({"x": 1}));
    put(&c, &s, &k, "/storage/w/one", json!({"v": 2}));
    req(&c, &s, Method::PATCH, "/storage/w/one", &k)
        .json(&json!({"p": true}))
        .send()
        .unwrap();
    req(&c, &s, Method::DELETE, "/storage/w/one", &k)
        .send()
        .unwrap();
    let feed = req(&c, &s, Method::GET, "/storage/w/one/_watch?after=0", &k)
        .send()
        .unwrap();
    let events = read_events(feed, 4, Duration::from_secs(10));
    let ops: Vec<&str> = events
        .iter()
        .map(|(_, d)| d["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["put", "put", "patch", "delete"]);
    assert!(events[0].1["old_value"].is_null());
    assert_eq!(events[1].1["old_value"], json!({"v": 1}));
    assert_eq!(events[1].1["value"], json!({"v": 2}));
    assert_eq!(events[2].1["value"], json!({"v": 2, "p": true}));
    assert_eq!(events[3].1["old_value"], json!({"v": 2, "p": true}));
    assert!(events[3].1["value"].is_null());
    drop(reader);
}

#[test]
fn a_resume_point_older_than_the_log_is_an_explicit_error() {
    let s = TestServer::start_with(
        ServerOptions::default(),
        SqliteOptions {
            changes_limit: 5,
            ..SqliteOptions::default()
        },
    );
    let k = s.key("acme");
    let c = client();
    for i in 0..20 {
        put(&c, &s, &k, &format!("/storage/t/k{i}"), json!({}));
    }
    let feed = req(&c, &s, Method::GET, "/storage/t/_watch", &k)
        .header("Last-Event-ID", "1")
        .send()
        .unwrap();
    let events = read_events(feed, 1, Duration::from_secs(10));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1["code"], "FEED_TRUNCATED", "{:?}", events);
    assert!(events[0].1["last_seq"].as_u64().unwrap() >= 20);
    let r = req(&c, &s, Method::GET, "/storage/t/_watch", &k)
        .header("Last-Event-ID", "abc")
        .send()
        .unwrap();
    expect_error(r, 400, "INVALID_INPUT");
}

// ---------------------------------------------------------------- extensions

#[test]
fn history_increment_stats_openapi_and_health() {
    let (s, k) = default_server();
    let c = client();
    for v in 1..=3 {
        put(&c, &s, &k, "/storage/h/doc", json!({ "v": v }));
    }
    let (st, _, v) = body(
        req(&c, &s, Method::GET, "/storage/h/doc/_history", &k)
            .send()
            .unwrap(),
    );
    assert_eq!(st, 200);
    let versions: Vec<u64> = v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [3, 2, 1]);
    let (st, h, v) = body(
        req(&c, &s, Method::GET, "/storage/h/doc/_history/2", &k)
            .send()
            .unwrap(),
    );
    assert_eq!((st, v["value"].clone()), (200, json!({"v": 2})));
    assert_eq!(header(&h, "etag").as_deref(), Some("\"2\""));
    for bad in ["0", "abc", "-1"] {
        let r = req(
            &c,
            &s,
            Method::GET,
            &format!("/storage/h/doc/_history/{bad}"),
            &k,
        )
        .send()
        .unwrap();
        expect_error(r, 400, "INVALID_INPUT");
    }
    expect_error(
        req(&c, &s, Method::GET, "/storage/h/doc/_history/99", &k)
            .send()
            .unwrap(),
        404,
        "NOT_FOUND",
    );
    // Increment: created when missing, default by 1, integers stay integers.
    let incr = |b: Value| {
        req(&c, &s, Method::POST, "/storage/h/counter/_incr", &k)
            .json(&b)
            .send()
            .unwrap()
    };
    let (st, h, v) = body(incr(json!({"field": "hits"})));
    assert_eq!(
        (st, v["value"].clone(), v["version"].clone()),
        (200, json!({"hits": 1}), json!(1))
    );
    assert_eq!(header(&h, "etag").as_deref(), Some("\"1\""));
    let (_, _, v) = body(incr(json!({"field": "hits", "by": 41})));
    assert_eq!(v["value"], json!({"hits": 42}));
    expect_error(incr(json!({"by": 1})), 400, "INVALID_INPUT");
    expect_error(
        incr(json!({"field": "hits", "by": "x"})),
        400,
        "INVALID_INPUT",
    );
    put(&c, &s, &k, "/storage/h/text", json!({"hits": "many"}));
    let r = req(&c, &s, Method::POST, "/storage/h/text/_incr", &k)
        .json(&json!({"field": "hits"}))
        .send()
        .unwrap();
    expect_error(r, 400, "INVALID_INPUT");
    // Stats.
    let (st, _, v) = body(
        req(&c, &s, Method::GET, "/storage/h/_stats", &k)
            .send()
            .unwrap(),
    );
    assert_eq!(st, 200);
    assert_eq!(v["documents"], 3);
    assert_eq!(v["namespace"], "h");
    expect_error(
        req(&c, &s, Method::GET, "/storage/none/_stats", &k)
            .send()
            .unwrap(),
        404,
        "NOT_FOUND",
    );
    // OpenAPI and health need no key.
    let (st, _, v) = body(c.get(s.url("/openapi.json")).send().unwrap());
    assert_eq!(st, 200);
    assert_eq!(v["openapi"], "3.1.0");
    assert!(v["paths"]["/storage/{ns}/{key}"]["put"].is_object());
    assert!(v["paths"]["/storage/{ns}/_watch"]["get"].is_object());
    let (st, _, v) = body(c.get(s.url("/healthz")).send().unwrap());
    assert_eq!((st, v), (200, json!({"status": "ok"})));
}

#[test]
fn rate_limits_answer_429_with_headers() {
    let s = TestServer::start(ServerOptions {
        rate_limit_per_minute: 3,
        ..ServerOptions::default()
    });
    let k = s.key("acme");
    let other = s.key("acme");
    let c = client();
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = req(&c, &s, Method::GET, "/storage", &k).send().unwrap();
        // A minute boundary can reset the window mid-test; only the headers are certain.
        assert_eq!(
            header(r.headers(), "x-ratelimit-limit").as_deref(),
            Some("3")
        );
        assert!(header(r.headers(), "x-ratelimit-reset").is_some());
        remaining.push(header(r.headers(), "x-ratelimit-remaining").unwrap());
    }
    let mut limited = None;
    for _ in 0..5 {
        let r = req(&c, &s, Method::GET, "/storage", &k).send().unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("never rate limited");
    let retry = header(r.headers(), "retry-after").unwrap();
    assert!(retry.parse::<u64>().unwrap() >= 1);
    assert_eq!(
        header(r.headers(), "x-ratelimit-remaining").as_deref(),
        Some("0")
    );
    let v = expect_error(r, 429, "RATE_LIMITED");
    assert_eq!(v["error"]["is_retryable"], true);
    // Another key has its own budget.
    assert_eq!(
        req(&c, &s, Method::GET, "/storage", &other)
            .send()
            .unwrap()
            .status(),
        200
    );
}

// ---------------------------------------------------------------- malformed requests

#[test]
fn malformed_requests_are_4xx_envelopes_never_5xx() {
    let s = TestServer::start(ServerOptions {
        body_limit_bytes: 12 * 1024 * 1024,
        ..ServerOptions::default()
    });
    let k = s.key("acme");
    // A fresh connection per request: the server closes the connection after refusing a
    // huge body, and a pooled connection could be reused just as it closes.
    let c = Client::builder()
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    put(&c, &s, &k, "/storage/n/d", json!({"a": 1}));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let huge = vec![b' '; 20 * 1024 * 1024];
    type Case<'a> = (Method, &'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u16);
    let cases: Vec<Case> = vec![
        (Method::GET, "/storage/Bad", vec![], vec![], 400),
        (Method::GET, "/storage/n/bad%20key", vec![], vec![], 400),
        (Method::GET, "/storage/n/%FF%FE", vec![], vec![], 400),
        (Method::GET, "/storage/_nope", vec![], vec![], 400),
        (Method::GET, "/storage/n/_x", vec![], vec![], 400),
        (Method::GET, "/storage/n/d/extra/more", vec![], vec![], 404),
        (Method::GET, "/nothing-here", vec![], vec![], 404),
        (
            Method::PUT,
            "/storage/n/d",
            vec![],
            b"{\"a\":".to_vec(),
            400,
        ),
        (
            Method::PUT,
            "/storage/n/d",
            vec![],
            b"{\"a\":1} trailing".to_vec(),
            400,
        ),
        (
            Method::PUT,
            "/storage/n/d",
            vec![],
            deep.clone().into_bytes(),
            400,
        ),
        (
            Method::PUT,
            "/storage/n/d",
            vec![],
            deep_obj.into_bytes(),
            400,
        ),
        (
            Method::PATCH,
            "/storage/n/d",
            vec![],
            deep.into_bytes(),
            400,
        ),
        (
            Method::PUT,
            "/storage/n/d",
            vec![],
            b"{\"a\":\"\xff\xfe\"}".to_vec(),
            400,
        ),
        (Method::PUT, "/storage/n/d", vec![], huge, 413),
        (
            Method::PUT,
            "/storage/n/d?ttl=-1",
            vec![],
            b"{}".to_vec(),
            400,
        ),
        (
            Method::PUT,
            "/storage/n/d?ttl=abc",
            vec![],
            b"{}".to_vec(),
            400,
        ),
        (
            Method::PUT,
            "/storage/n/d?ttl=99999999999999",
            vec![],
            b"{}".to_vec(),
            400,
        ),
        (
            Method::PUT,
            "/storage/n/d",
            vec![("If-Match", "abc")],
            b"{}".to_vec(),
            400,
        ),
        (
            Method::PUT,
            "/storage/n/d",
            vec![("If-Match", "1, 2")],
            b"{}".to_vec(),
            400,
        ),
        (
            Method::DELETE,
            "/storage/n/d",
            vec![("If-Match", "W/abc")],
            vec![],
            400,
        ),
        (Method::POST, "/storage/n/d", vec![], b"{}".to_vec(), 405),
        (Method::POST, "/storage", vec![], b"{}".to_vec(), 405),
        (Method::PUT, "/storage/n", vec![], b"{}".to_vec(), 405),
        (Method::DELETE, "/storage", vec![], vec![], 405),
        (Method::GET, "/storage/n/d/_incr", vec![], vec![], 405),
        (
            Method::POST,
            "/storage/n/d/_incr",
            vec![],
            b"not json".to_vec(),
            400,
        ),
        (
            Method::POST,
            "/storage/n/d/_incr",
            vec![],
            b"{\"field\":\"\"}".to_vec(),
            400,
        ),
        (
            Method::GET,
            "/storage/n?limit=99999999999999999999999",
            vec![],
            vec![],
            400,
        ),
        (Method::GET, "/storage/n?cursor=%ZZ", vec![], vec![], 400),
        (
            Method::GET,
            "/storage/n/_watch?after=x",
            vec![],
            vec![],
            400,
        ),
        (
            Method::GET,
            "/storage",
            vec![("X-Workspace-Id", "other")],
            vec![],
            403,
        ),
        (Method::GET, "/storage/n/", vec![], vec![], 404),
    ];
    let long_key = format!("/storage/n/{}", "k".repeat(300));
    let mut all = cases;
    all.push((Method::GET, &long_key, vec![], vec![], 400));
    for (method, path, headers, payload, want) in all {
        let mut r = req(&c, &s, method.clone(), path, &k);
        for (name, value) in &headers {
            r = r.header(*name, *value);
        }
        let size = payload.len();
        let result = r.body(payload).send();
        let resp = match result {
            Ok(resp) => resp,
            // The server may close the connection while a huge body is still being sent.
            Err(e) if size > 1024 * 1024 => {
                eprintln!("{method} {path}: connection closed early ({e})");
                continue;
            }
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status().as_u16();
        assert!(status < 500, "{method} {path} -> {status}");
        let code = match want {
            400 => "INVALID_INPUT",
            401 => "UNAUTHORIZED",
            403 => "FORBIDDEN",
            404 => "NOT_FOUND",
            405 => "METHOD_NOT_ALLOWED",
            _ => "DOCUMENT_TOO_LARGE",
        };
        assert_eq!(status, want, "{method} {path} {headers:?}");
        expect_error(resp, want, code);
    }
    // Raw bytes no client library would send: a request line with invalid UTF-8 and junk.
    for raw in [
        &b"GET /storage/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"PUT /storage/n/d HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET /storage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\r\n\r\n",
    ] {
        let status = raw_status(&s, raw);
        assert!((400..500).contains(&status), "{raw:?} -> {status}");
    }
    // The document is untouched by all of that.
    let (_, _, v) = body(req(&c, &s, Method::GET, "/storage/n/d", &k).send().unwrap());
    assert_eq!(v["value"], json!({"a": 1}));
    assert_eq!(v["version"], 1);
}

fn raw_status(s: &TestServer, raw: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://");
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.write_all(raw).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = sock.read(&mut buf).unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------- the real binary

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }

    fn cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_console"));
        c.env("CONSOLE_CONFIG_DIR", self.dir.path().join("config"))
            .env("CONSOLE_DATA_DIR", self.dir.path().join("data"))
            .env_remove("CONSOLE_REMOTE")
            .env_remove("CONSOLE_PROFILE")
            .env_remove("CONSOLE_WORKSPACE")
            .env("RUST_LOG", "warn")
            .arg("--store")
            .arg(self.store());
        c
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Starts `console serve` and returns it with its base URL.
    fn serve(&self, args: &[&str]) -> (std::process::Child, String) {
        let mut child = self
            .cmd()
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        (child, base)
    }
}

fn wait_exit(
    child: &mut std::process::Child,
    within: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st);
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn the_keys_cli_creates_lists_and_revokes() {
    let env = Env::new();
    let out = env.run(&[
        "keys",
        "create",
        "--workspace",
        "acme",
        "--name",
        "ci",
        "--actor",
        "acme/bot@1",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    for f in ["id", "workspace", "name", "actor", "key"] {
        assert!(created.get(f).is_some(), "{f} missing: {created}");
    }
    assert_eq!(created["workspace"], "acme");
    let token = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    let out = env.run(&["keys", "list", "--json"]);
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(listed.contains(&id));
    assert!(
        !listed.contains(&token[token.len() - 20..]),
        "the secret is never shown again"
    );
    // The store keeps only a hash of the secret.
    let raw = std::fs::read(env.store()).unwrap();
    let secret = token.rsplit('_').next().unwrap().as_bytes();
    assert!(!raw.windows(secret.len()).any(|w| w == secret));

    let (mut child, base) = env.serve(&[]);
    let c = client();
    let r = c
        .put(format!("{base}/storage/n/d"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(body(r).2["updated_by"], "acme/bot@1");
    let out = env.run(&["keys", "revoke", &id]);
    assert!(out.status.success());
    let r = c
        .get(format!("{base}/storage"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    expect_error(r, 401, "UNAUTHORIZED");
    let out = env.run(&["keys", "revoke", "000000000000"]);
    assert_eq!(out.status.code(), Some(3));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn no_auth_is_loopback_only_and_acts_in_the_workspace() {
    let env = Env::new();
    let out = env.run(&["serve", "--no-auth", "--listen", "0.0.0.0:0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    let (mut child, base) = env.serve(&["--no-auth", "--workspace", "local"]);
    let c = client();
    let r = c
        .put(format!("{base}/storage/n/d"))
        .header("X-Orchagent-Client", "cli")
        .json(&json!({"a": 1}))
        .send()
        .unwrap();
    let (st, _, v) = body(r);
    assert_eq!((st, v["updated_by"].clone()), (201, json!("cli")));
    let (_, _, v) = body(c.get(format!("{base}/workspaces")).send().unwrap());
    assert_eq!(v["workspaces"][0]["slug"], "local");
    child.kill().unwrap();
    child.wait().unwrap();
    // The write landed in workspace "local" of the store.
    let out = env.run(&["get", "n", "d", "--workspace", "local", "--json"]);
    assert!(out.status.success());
}

#[test]
fn sigterm_shuts_down_gracefully_even_with_an_open_feed() {
    let env = Env::new();
    let (mut child, base) = env.serve(&["--no-auth"]);
    let c = client();
    let feed = c.get(format!("{base}/storage/n/_watch")).send().unwrap();
    assert_eq!(feed.status(), 200);
    let st = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(st.success());
    let exit = wait_exit(&mut child, Duration::from_secs(10));
    if exit.is_none() {
        child.kill().unwrap();
    }
    assert!(exit.expect("did not exit on SIGTERM").success());
    drop(feed);
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let env = Env::new();
    let (mut child, base) = env.serve(&["--no-auth"]);
    let acked = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (base, acked) = (base.clone(), acked.clone());
            thread::spawn(move || {
                let c = Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                for i in 0..2000 {
                    let key = format!("t{t}-{i:05}");
                    let r = c
                        .put(format!("{base}/storage/dur/{key}"))
                        .json(&json!({"i": i}))
                        .send();
                    match r {
                        Ok(r) if r.status().as_u16() == 201 => {
                            acked.lock().unwrap().insert(key);
                        }
                        // The server died: stop.
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Let some writes through, then kill the server mid-load.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 200 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 200,
        "only {} writes before the kill",
        acked.len()
    );
    let (mut child, base) = env.serve(&["--no-auth"]);
    let c = client();
    let mut present = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut url = format!("{base}/storage/dur?limit=1000");
        if let Some(cur) = &cursor {
            url.push_str(&format!("&cursor={cur}"));
        }
        let (_, _, v) = body(c.get(url).send().unwrap());
        for k in v["keys"].as_array().unwrap() {
            present.insert(k.as_str().unwrap().to_string());
        }
        match v["cursor"].as_str() {
            Some(cur) => cursor = Some(cur.to_string()),
            None => break,
        }
    }
    let lost: Vec<&String> = acked.difference(&present).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn if_match_any_sees_writes_queued_in_the_same_batch() {
    // Many concurrent `If-Match: *` writes to one existing document land in shared
    // batches; each must see the document (and its latest version), so none is a 409.
    let (s, k) = default_server();
    let c = client();
    assert_eq!(
        put(&c, &s, &k, "/storage/n/doc", json!({"n": 0})).status(),
        201
    );
    let s = Arc::new(s);
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let (s, k) = (s.clone(), k.clone());
            thread::spawn(move || {
                let c = client();
                (0..20)
                    .map(|i| {
                        req(&c, &s, Method::PUT, "/storage/n/doc", &k)
                            .header("If-Match", "*")
                            .json(&json!({"t": t, "i": i}))
                            .send()
                            .unwrap()
                            .status()
                            .as_u16()
                    })
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap().iter().all(|s| *s == 200));
    }
    let (_, _, doc) = body(
        req(&c, &s, Method::GET, "/storage/n/doc", &k)
            .send()
            .unwrap(),
    );
    assert_eq!(doc["version"], json!(1 + 16 * 20));
}

#[test]
fn queries_and_facets_over_http_stay_in_the_workspace_and_refuse_bad_input() {
    let s = TestServer::start(ServerOptions::default());
    let a = s.key("team-a");
    let b = s.key("team-b");
    let c = client();
    for (k, sev) in [("f1", "high"), ("f2", "low"), ("f3", "high")] {
        put(
            &c,
            &s,
            &a,
            &format!("/storage/findings/{k}"),
            json!({"severity": sev}),
        );
    }
    put(
        &c,
        &s,
        &b,
        "/storage/findings/mine",
        json!({"severity": "high", "reviewed": true}),
    );
    let get = |key: &str, path: &str| req(&c, &s, Method::GET, path, key).send().unwrap();
    let (st, _, v) = body(get(
        &a,
        "/storage/findings?where=severity%3Dhigh&detail=true",
    ));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["keys"], json!(["f1", "f3"]));
    assert_eq!(v["items"][1]["key"], "f3");
    assert_eq!(v["scanned"], 3);
    // B's query sees only B's document; A's facets count only A's.
    let (_, _, v) = body(get(&b, "/storage/findings?where=severity%3Dhigh"));
    assert_eq!(v["keys"], json!(["mine"]));
    let (st, _, v) = body(get(&a, "/storage/findings/_facets?field=severity"));
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v,
        json!({"field": "severity", "values": [{"value": "high", "count": 2}, {"value": "low", "count": 1}],
               "missing": 0, "total": 3})
    );
    let (_, _, v) = body(get(
        &b,
        "/storage/findings/_facets?field=reviewed&where=severity%3Dhigh",
    ));
    assert_eq!(v["values"], json!([{"value": true, "count": 1}]));
    // Malformed queries and paths: 400 saying where, and nothing else happens.
    let e = expect_error(
        get(&a, "/storage/findings?where=severity%3D"),
        400,
        "INVALID_INPUT",
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("column 10"),
        "{e}"
    );
    let e = expect_error(
        get(&a, "/storage/findings?where=title%3D%22open"),
        400,
        "INVALID_INPUT",
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not closed"),
        "{e}"
    );
    expect_error(get(&a, "/storage/findings/_facets"), 400, "INVALID_INPUT");
    expect_error(
        get(&a, "/storage/findings/_facets?field=a..b"),
        400,
        "INVALID_INPUT",
    );
    expect_error(
        get(&a, "/storage/findings/_facets?field=severity&where=%3Dx"),
        400,
        "INVALID_INPUT",
    );
    // Text that looks like SQL is only ever a value.
    let (st, _, v) = body(get(
        &a,
        "/storage/findings?where=severity%3D%22x%27%20OR%201%3D1%20--%22",
    ));
    assert_eq!((st, v["keys"].clone()), (200, json!([])));
}
