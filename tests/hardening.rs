//! Hardening of `console serve` (issue 16): inputs that once answered 500, ambiguous
//! headers, resume points ahead of the log, errors raised by the HTTP layer, early refusals
//! on keep-alive connections, unknown query parameters, timeouts and revoked keys. Each
//! test here failed on the code before its fix.

use agent_console::server::ServerOptions;
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

mod common;
use common::TestServer;

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

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

fn expect_error(r: Response, status: u16, code: &str) -> Value {
    let (got, headers, v) = body(r);
    assert_eq!(got, status, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    let id = headers["x-request-id"].to_str().unwrap();
    assert_eq!(v["metadata"]["request_id"], id);
    v
}

fn server() -> (TestServer, String) {
    let s = TestServer::start(ServerOptions::default());
    let k = s.key("acme");
    (s, k)
}

fn get_doc(c: &Client, s: &TestServer, k: &str, path: &str) -> Value {
    let (st, _, v) = body(req(c, s, Method::GET, path, k).send().unwrap());
    assert_eq!(st, 200, "{v}");
    v
}

// ---------------------------------------------------------------- versions and numbers

#[test]
fn versions_near_the_integer_limit_are_refused_and_the_document_stays_writable() {
    let (s, k) = server();
    let c = client();
    // A version no write could follow is refused up front.
    for big in [
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
    ] {
        let r = req(
            &c,
            &s,
            Method::PUT,
            &format!("/storage/ns/max?initial_version={big}"),
            &k,
        )
        .json(&json!({"a": 1}))
        .send()
        .unwrap();
        expect_error(r, 400, "INVALID_INPUT");
    }
    // The largest accepted initial version still leaves room for writes.
    let top = 9007199254740991u64; // 2^53 - 1: exact in every JSON reader
    let r = req(
        &c,
        &s,
        Method::PUT,
        &format!("/storage/ns/max?initial_version={top}"),
        &k,
    )
    .json(&json!({"a": 1}))
    .send()
    .unwrap();
    let (st, _, v) = body(r);
    assert_eq!((st, v["version"].as_u64()), (201, Some(top)), "{v}");
    let r = req(&c, &s, Method::PUT, "/storage/ns/max", &k)
        .json(&json!({"a": 2}))
        .send()
        .unwrap();
    assert_eq!(body(r).0, 200);
    let r = req(&c, &s, Method::PATCH, "/storage/ns/max", &k)
        .json(&json!({"b": 1}))
        .send()
        .unwrap();
    assert_eq!(body(r).0, 200);
    let r = req(&c, &s, Method::POST, "/storage/ns/max/_incr", &k)
        .json(&json!({"field": "n"}))
        .send()
        .unwrap();
    let (st, _, v) = body(r);
    assert_eq!((st, v["version"].as_u64()), (200, Some(top + 3)), "{v}");
    // If-Match values at and past the i64 limit are a conflict (or a 400), never a 500.
    for tag in [
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
    ] {
        for method in [Method::PUT, Method::PATCH, Method::DELETE] {
            let mut rb = req(&c, &s, method.clone(), "/storage/ns/max", &k).header("If-Match", tag);
            if method != Method::DELETE {
                rb = rb.json(&json!({"c": 1}));
            }
            let st = rb.send().unwrap().status().as_u16();
            assert!((400..500).contains(&st), "{method} If-Match {tag}: {st}");
        }
    }
    let v = get_doc(&c, &s, &k, "/storage/ns/max");
    assert_eq!(v["version"].as_u64(), Some(top + 3));
}

#[test]
fn increment_honours_if_match() {
    let (s, k) = server();
    let c = client();
    let incr = |tag: &str| {
        req(&c, &s, Method::POST, "/storage/n/ctr/_incr", &k)
            .header("If-Match", tag)
            .json(&json!({"field": "n"}))
            .send()
            .unwrap()
    };
    // `*` on a missing document: nothing to match.
    expect_error(incr("*"), 409, "CONFLICT");
    let r = req(&c, &s, Method::POST, "/storage/n/ctr/_incr", &k)
        .json(&json!({"field": "n"}))
        .send()
        .unwrap();
    assert_eq!(body(r).0, 200);
    expect_error(incr("nope"), 400, "INVALID_INPUT");
    let v = expect_error(incr("7"), 409, "CONFLICT");
    assert_eq!(v["error"]["details"]["current_version"], 1);
    let (st, h, v) = body(incr("\"1\""));
    assert_eq!((st, v["value"]["n"].as_i64()), (200, Some(2)), "{v}");
    assert_eq!(h["etag"], "\"2\"");
    let (st, _, v) = body(incr("*"));
    assert_eq!((st, v["value"]["n"].as_i64()), (200, Some(3)), "{v}");
    assert_eq!(get_doc(&c, &s, &k, "/storage/n/ctr")["version"], 3);
}

#[test]
fn an_increment_past_the_integer_range_is_refused_and_changes_nothing() {
    let (s, k) = server();
    let c = client();
    let r = req(&c, &s, Method::PUT, "/storage/n/big", &k)
        .json(&json!({"n": i64::MAX - 1, "m": i64::MIN + 1}))
        .send()
        .unwrap();
    assert_eq!(body(r).0, 201);
    for (field, by) in [("n", json!(2)), ("m", json!(-2)), ("n", json!(u64::MAX))] {
        let r = req(&c, &s, Method::POST, "/storage/n/big/_incr", &k)
            .json(&json!({"field": field, "by": by}))
            .send()
            .unwrap();
        let v = expect_error(r, 400, "INVALID_INPUT");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("range"),
            "{v}"
        );
    }
    let v = get_doc(&c, &s, &k, "/storage/n/big");
    assert_eq!(v["version"], 1);
    assert_eq!(v["value"]["n"].as_i64(), Some(i64::MAX - 1));
    assert_eq!(v["value"]["m"].as_i64(), Some(i64::MIN + 1));
    // Floats still add as floats.
    let r = req(&c, &s, Method::POST, "/storage/n/big/_incr", &k)
        .json(&json!({"field": "f", "by": 0.5}))
        .send()
        .unwrap();
    assert_eq!(body(r).2["value"]["f"], 0.5);
}

// ---------------------------------------------------------------- change feeds

/// The first SSE event (kind, data) of a response, within `within`.
fn first_event(r: Response, within: Duration) -> Option<(String, Value)> {
    let deadline = Instant::now() + within;
    let mut reader = BufReader::new(r);
    let (mut kind, mut data) = (None, String::new());
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            if let Some(k) = kind.take() {
                return Some((k, serde_json::from_str(&data).unwrap()));
            }
        } else if let Some(v) = l.strip_prefix("event: ") {
            kind = Some(v.to_string());
        } else if let Some(v) = l.strip_prefix("data: ") {
            data.push_str(v);
        }
    }
    None
}

#[test]
fn a_resume_point_ahead_of_the_log_is_an_explicit_error() {
    let (s, k) = server();
    let c = client();
    for i in 0..3 {
        let r = req(&c, &s, Method::PUT, &format!("/storage/t/k{i}"), &k)
            .json(&json!({}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    for id in ["1000000", &u64::MAX.to_string()] {
        for path in [
            "/storage/t/_watch",
            "/storage/_watch",
            "/storage/t/k1/_watch",
        ] {
            let feed = req(&c, &s, Method::GET, path, &k)
                .header("Last-Event-ID", id)
                .send()
                .unwrap();
            assert_eq!(feed.status(), 200);
            let (kind, data) = first_event(feed, Duration::from_secs(5))
                .unwrap_or_else(|| panic!("{path} after {id}: no event"));
            assert_eq!(kind, "error", "{path} {data}");
            assert_eq!(data["code"], "FEED_TRUNCATED", "{data}");
            assert_eq!(data["last_seq"], 3, "{data}");
        }
        let r = req(
            &c,
            &s,
            Method::GET,
            &format!("/storage/_changes?after={id}"),
            &k,
        )
        .send()
        .unwrap();
        let v = expect_error(r, 400, "INVALID_INPUT");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("last_seq"),
            "{v}"
        );
    }
    // The end of the log itself is a valid resume point.
    let r = req(&c, &s, Method::GET, "/storage/_changes?after=3", &k)
        .send()
        .unwrap();
    let (st, _, v) = body(r);
    assert_eq!((st, v["changes"].as_array().map(Vec::len)), (200, Some(0)));
}

// ---------------------------------------------------------------- headers

#[test]
fn ambiguous_auth_headers_are_refused() {
    let (s, k) = server();
    let c = client();
    let url = s.url("/storage");
    // Both orders of two workspace headers: neither may pass.
    for (a, b) in [("acme", "other"), ("other", "acme")] {
        let r = c
            .get(&url)
            .bearer_auth(&k)
            .header("X-Workspace-Id", a)
            .header("X-Workspace-Id", b)
            .send()
            .unwrap();
        expect_error(r, 400, "INVALID_INPUT");
    }
    let r = c
        .get(&url)
        .header("Authorization", format!("Bearer {k}"))
        .header("Authorization", "Bearer other")
        .send()
        .unwrap();
    expect_error(r, 400, "INVALID_INPUT");
    let r = c
        .get(&url)
        .header("Authorization", format!("Bearer  {k}"))
        .send()
        .unwrap();
    expect_error(r, 401, "UNAUTHORIZED");
    // The single, well-formed forms pass.
    let r = c
        .get(&url)
        .bearer_auth(&k)
        .header("X-Workspace-Id", "acme")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn unknown_query_parameters_are_refused() {
    let (s, k) = server();
    let c = client();
    for path in [
        "/storage/n?search=x",
        "/storage/n?q=x",
        "/storage/n/d?cursor=1",
        "/storage?limit=1",
        "/storage/_changes?since=1",
        "/storage/n/_watch?from=1",
    ] {
        let r = req(&c, &s, Method::GET, path, &k).send().unwrap();
        let v = expect_error(r, 400, "INVALID_INPUT");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("parameter"),
            "{path}: {v}"
        );
    }
    let r = req(&c, &s, Method::PUT, "/storage/n/d?tll=5", &k)
        .json(&json!({}))
        .send()
        .unwrap();
    expect_error(r, 400, "INVALID_INPUT");
    // Known ones still work.
    let r = req(&c, &s, Method::PUT, "/storage/n/d?ttl=60", &k)
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = req(
        &c,
        &s,
        Method::GET,
        "/storage/n?limit=5&prefix=d&detail=true",
        &k,
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), 200);
}

// ---------------------------------------------------------------- raw HTTP

/// Sends `raw` on a new connection and reads the whole answer (until the server closes
/// or `within` passes).
fn raw_exchange(s: &TestServer, raw: &[u8], within: Duration) -> String {
    let addr = s.base.trim_start_matches("http://");
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(within)).unwrap();
    let _ = sock.write_all(raw);
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn head_has(answer: &str, header: &str) -> bool {
    let head = answer.split("\r\n\r\n").next().unwrap_or("");
    head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with(&header.to_ascii_lowercase())
    })
}

#[test]
fn an_early_refusal_before_the_body_says_connection_close() {
    let (s, k) = server();
    // The body is announced but never sent: the server answers before reading it.
    for auth in ["", "Authorization: Bearer wrong\r\n"] {
        let raw = format!(
            "POST /storage/n/d/_incr HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        );
        let answer = raw_exchange(&s, raw.as_bytes(), Duration::from_secs(5));
        assert_eq!(status_of(&answer), 401, "{answer}");
        assert!(head_has(&answer, "connection: close"), "{answer}");
    }
    // A read-only key writing: 403 before the body.
    let ro = s.key_with("acme", None, true).token;
    let raw = format!(
        "PUT /storage/n/d HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ro}\r\nContent-Length: 100\r\n\r\n"
    );
    let answer = raw_exchange(&s, raw.as_bytes(), Duration::from_secs(5));
    assert_eq!(status_of(&answer), 403, "{answer}");
    assert!(head_has(&answer, "connection: close"), "{answer}");
    // A refusal after the body was read keeps the connection.
    let raw = format!(
        "PUT /storage/n/d HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {k}\r\nContent-Length: 2\r\n\r\n[]"
    );
    let answer = raw_exchange(&s, raw.as_bytes(), Duration::from_millis(500));
    assert_eq!(status_of(&answer), 201, "{answer}");
    assert!(!head_has(&answer, "connection: close"), "{answer}");
}

#[test]
fn errors_of_the_http_layer_carry_the_envelope_and_a_request_id() {
    let (s, _k) = server();
    let long = format!(
        "GET /storage/{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(100_000)
    );
    let mut raw_ff = b"GET /storage/n/\xff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"GET /storage/a b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
        (std::mem::take(&mut raw_ff), 400),
        (long.into_bytes(), 414),
        (
            b"PUT /storage/n/d HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"PUT /storage/n/d HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"PUT /storage/n/d HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n[]"
                .to_vec(),
            400,
        ),
    ];
    for (raw, want) in cases {
        let shown = String::from_utf8_lossy(&raw[..raw.len().min(60)]).into_owned();
        let answer = raw_exchange(&s, &raw, Duration::from_secs(5));
        assert_eq!(status_of(&answer), want, "{shown}: {answer}");
        assert!(head_has(&answer, "x-request-id: req_"), "{shown}: {answer}");
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
        let v: Value = serde_json::from_str(body)
            .unwrap_or_else(|_| panic!("{shown}: body is not JSON: {answer}"));
        assert_eq!(v["error"]["code"], "INVALID_INPUT", "{v}");
        assert!(
            v["metadata"]["request_id"]
                .as_str()
                .unwrap()
                .starts_with("req_")
        );
    }
}

// ---------------------------------------------------------------- timeouts

fn quick_timeouts() -> ServerOptions {
    ServerOptions {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        ..ServerOptions::default()
    }
}

/// Opens a connection, sends `raw` (piece by piece, `gap` apart) and returns what came
/// back and how long until the server closed the connection (`None`: still open after
/// `within`).
fn until_closed(
    s: &TestServer,
    pieces: &[&[u8]],
    gap: Duration,
    within: Duration,
) -> (String, Option<Duration>) {
    let addr = s.base.trim_start_matches("http://");
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    let started = Instant::now();
    for p in pieces {
        if sock.write_all(p).is_err() {
            break;
        }
        std::thread::sleep(gap);
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.saturating_sub(started.elapsed());
        if left.is_zero() {
            return (String::from_utf8_lossy(&out).into_owned(), None);
        }
        sock.set_read_timeout(Some(left)).unwrap();
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), None),
        }
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        Some(started.elapsed()),
    )
}

#[test]
fn slow_silent_and_idle_connections_are_closed() {
    let s = TestServer::start(quick_timeouts());
    let k = s.key("acme");
    let within = Duration::from_secs(6);
    // Nothing at all.
    let (_, closed) = until_closed(&s, &[], Duration::ZERO, within);
    assert!(closed.is_some(), "a silent connection stayed open");
    // Half a head, then nothing.
    let (_, closed) = until_closed(
        &s,
        &[b"GET /healthz HTTP/1.1\r\nHost: x\r\n"],
        Duration::ZERO,
        within,
    );
    assert!(closed.is_some(), "a half head stayed open");
    // Slowloris: one header line every 300 ms, never the end of the head.
    let drip: Vec<&[u8]> = std::iter::once(&b"GET /healthz HTTP/1.1\r\n"[..])
        .chain(std::iter::repeat_n(&b"X-A: b\r\n"[..], 12))
        .collect();
    let (_, closed) = until_closed(&s, &drip, Duration::from_millis(300), within);
    let closed = closed.expect("a dripping head stayed open");
    assert!(closed < Duration::from_secs(5), "{closed:?}");
    // A body that stalls: refused with the envelope, and the connection closes.
    let head = format!(
        "PUT /storage/n/d HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {k}\r\nContent-Length: 100\r\n\r\n{{\"a\":"
    );
    let (answer, closed) = until_closed(&s, &[head.as_bytes()], Duration::ZERO, within);
    assert!(closed.is_some(), "a stalled body stayed open: {answer}");
    assert_eq!(status_of(&answer), 400, "{answer}");
    assert!(head_has(&answer, "x-request-id: req_"), "{answer}");
    // An idle keep-alive connection after a complete exchange.
    let (answer, closed) = until_closed(
        &s,
        &[b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"],
        Duration::ZERO,
        within,
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(
        closed.is_some(),
        "an idle keep-alive connection stayed open"
    );
    // Nothing of the stalled write landed.
    let r = req(&client(), &s, Method::GET, "/storage/n/d", &k)
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// `console serve` on a temporary store: the child and its base URL.
fn serve_binary(dir: &std::path::Path, args: &[&str]) -> (std::process::Child, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_console"))
        .env("CONSOLE_CONFIG_DIR", dir.join("config"))
        .env("CONSOLE_DATA_DIR", dir.join("data"))
        .env("RUST_LOG", "warn")
        .arg("--store")
        .arg(dir.join("store.db"))
        .args(["serve", "--listen", "127.0.0.1:0"])
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

#[test]
fn sigterm_exits_within_the_grace_period_while_clients_hold_half_requests() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = serve_binary(
        dir.path(),
        &[
            "--no-auth",
            "--header-timeout",
            "120",
            "--body-timeout",
            "120",
            "--shutdown-grace",
            "1",
        ],
    );
    let c = client();
    let r = c
        .put(format!("{base}/storage/n/acked"))
        .json(&json!({"a": 1}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let addr = base.trim_start_matches("http://");
    // One client with half a head, one with half a body: both would hold the server.
    let mut half_head = std::net::TcpStream::connect(addr).unwrap();
    half_head
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut half_body = std::net::TcpStream::connect(addr).unwrap();
    half_body
        .write_all(b"PUT /storage/n/half HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"a\"")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    let st = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(st.success());
    let mut exited = None;
    while sent.elapsed() < Duration::from_secs(10) {
        if let Some(st) = child.try_wait().unwrap() {
            exited = Some((st, sent.elapsed()));
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if exited.is_none() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let (status, took) = exited.expect("the server did not exit within 10 s of SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(
        took < Duration::from_secs(4),
        "took {took:?} with a 1 s grace period"
    );
    drop((half_head, half_body));
    // The acknowledged write is in the store; the half one is not.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_console"))
        .env("CONSOLE_CONFIG_DIR", dir.path().join("config"))
        .env("CONSOLE_DATA_DIR", dir.path().join("data"))
        .arg("--store")
        .arg(dir.path().join("store.db"))
        .args(["list", "n", "--json"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("acked") && !listed.contains("half"),
        "{listed}"
    );
}

// ---------------------------------------------------------------- terminal output

/// Runs the binary on a pseudo-terminal (`script`), so it prints as it would to a person.
fn on_terminal(dir: &std::path::Path, args: &str) -> String {
    let store = format!("--store {}", dir.join("store.db").display());
    let cmd = format!(
        "{} {} {args}",
        env!("CARGO_BIN_EXE_console"),
        if args.contains("--remote") {
            ""
        } else {
            &store
        }
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("CONSOLE_CONFIG_DIR", dir.join("config"))
        .env("CONSOLE_DATA_DIR", dir.join("data"))
        .env_remove("CONSOLE_REMOTE")
        .output()
        .expect("`script` (util-linux) runs commands on a pseudo-terminal");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bidi_and_c1_controls_never_reach_a_terminal_raw() {
    let nasty = ['\u{202e}', '\u{2066}', '\u{85}', '\u{9b}'];
    let value = json!({"a": format!("invoice{}gpj.exe", nasty.iter().collect::<String>())});
    let s = TestServer::start(ServerOptions::default());
    // Keys, namespaces and actors refuse these characters: values carry them.
    let key = s.key("default");
    let r = req(&client(), &s, Method::PUT, "/storage/n/doc", &key)
        .json(&value)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let dir = s.path.parent().unwrap();
    let remote = format!("--remote {} --api-key {key}", s.base);
    for args in [
        "get n doc".to_string(),
        "export".to_string(),
        format!("{remote} get n doc"),
        format!("{remote} export"),
    ] {
        let out = on_terminal(dir, &args);
        assert!(out.contains("gpj.exe"), "{args}: {out:?}");
        for c in nasty {
            assert!(
                !out.contains(c),
                "{args}: raw U+{:04X} in {out:?}",
                c as u32
            );
        }
    }
}

// ---------------------------------------------------------------- the remote CLI

#[test]
fn the_remote_cli_tells_it_waits_for_a_rate_limit_and_gives_up_at_its_timeout() {
    let s = TestServer::start(ServerOptions {
        rate_limit_per_minute: 1,
        ..ServerOptions::default()
    });
    let key = s.key("acme");
    let run = || {
        let started = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_console"))
            .env(
                "CONSOLE_CONFIG_DIR",
                s.path.parent().unwrap().join("config"),
            )
            .args(["--remote", &s.base, "--api-key", &key, "--timeout", "2"])
            .args(["get", "n", "d"])
            .output()
            .unwrap();
        (out, started.elapsed())
    };
    let (out, _) = run();
    assert_eq!(
        out.status.code(),
        Some(3),
        "the first call is within the limit"
    );
    let (out, took) = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rate limited"), "{stderr}");
    assert!(
        took < Duration::from_secs(5),
        "took {took:?} with --timeout 2"
    );
    if stderr.contains("giving up") {
        assert_eq!(out.status.code(), Some(8), "{stderr}");
    } else {
        // The minute ended within the timeout: it waited, said so, and went on.
        assert!(stderr.contains("waiting"), "{stderr}");
        assert_eq!(out.status.code(), Some(3), "{stderr}");
    }
}

// ---------------------------------------------------------------- revocation

#[test]
fn a_revoked_key_loses_its_open_feeds_within_a_second() {
    let s = TestServer::start(ServerOptions::default());
    let doomed = s.key_with("acme", None, false);
    let other = s.key("acme");
    let c = client();
    let mut feeds: Vec<_> = [
        "/storage/t/_watch",
        "/storage/_watch",
        "/storage/t/k/_watch",
    ]
    .iter()
    .map(|p| {
        let r = req(&c, &s, Method::GET, p, &doomed.token).send().unwrap();
        assert_eq!(r.status(), 200);
        BufReader::new(r)
    })
    .collect();
    let write = |n: u64| {
        let r = req(&c, &s, Method::PUT, "/storage/t/k", &other)
            .json(&json!({"n": n}))
            .send()
            .unwrap();
        assert!(r.status().is_success());
    };
    write(1);
    // Each feed delivers the change made before the revocation.
    for f in &mut feeds {
        let (kind, data) = next_event(f, Duration::from_secs(5)).expect("no first event");
        assert_eq!(
            (kind.as_str(), data["version"].as_u64()),
            ("change", Some(1))
        );
    }
    agent_console::store::keys::revoke(&s.admin(), &doomed.info.id).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    write(2);
    for f in &mut feeds {
        // The feed ends (an UNAUTHORIZED error event, then the end of the stream); the
        // change made after the revocation never arrives.
        let started = Instant::now();
        let mut seen = Vec::new();
        while let Some((kind, data)) = next_event(f, Duration::from_secs(3)) {
            seen.push((kind, data));
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the feed stayed open: {seen:?}"
        );
        assert!(
            seen.iter().all(|(k, _)| k == "error"),
            "events after the revocation: {seen:?}"
        );
    }
}

/// The next SSE event (kind, data) on an open feed; `None` when it ends or `within` passes.
fn next_event(r: &mut BufReader<Response>, within: Duration) -> Option<(String, Value)> {
    let deadline = Instant::now() + within;
    let (mut kind, mut data) = (None, String::new());
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            if let Some(k) = kind.take() {
                return Some((k, serde_json::from_str(&data).unwrap()));
            }
        } else if let Some(v) = l.strip_prefix("event: ") {
            kind = Some(v.to_string());
        } else if let Some(v) = l.strip_prefix("data: ") {
            data.push_str(v);
        }
    }
    None
}
