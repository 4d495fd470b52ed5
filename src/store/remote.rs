//! The remote backend: the storage contract spoken over HTTP to any server of
//! `spec/api.md` (such as `console serve`). Error envelopes map back to the same
//! `Error` values the embedded store returns. Reads, conditional writes and requests
//! that never reached the server are retried with backoff; an unconditional write that
//! may have landed is never repeated.

use super::feed::{FeedItem, FeedState, SseParser};
use super::{
    Change, ChangeBatch, Facets, KeyPage, ListOptions, NamespaceStats, PutOptions, Scope, Written,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Document, Key, Meta, Namespace, Workspace};
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// How to reach a server.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    pub url: String,
    pub api_key: Option<String>,
    /// Sent as `X-Workspace-Id` when set; otherwise the key's own workspace is used.
    pub workspace: Option<Workspace>,
    /// Sent as `X-Orchagent-Client` (`cli` makes the server record `updated_by: cli`).
    pub client_name: Option<String>,
    pub timeout: Duration,
    /// Attempts for a request that may be retried (1 = no retry).
    pub attempts: u32,
    /// Told (a sentence) before each wait for a rate limit, so a person is not left
    /// staring at a silent command; the command line prints it on stderr.
    pub on_wait: Option<fn(&str)>,
}

impl RemoteOptions {
    pub fn new(url: &str) -> RemoteOptions {
        RemoteOptions {
            url: url.trim_end_matches('/').to_string(),
            api_key: None,
            workspace: None,
            client_name: None,
            timeout: Duration::from_secs(10),
            attempts: 3,
            on_wait: None,
        }
    }
}

pub struct RemoteStore {
    options: RemoteOptions,
    client: Client,
}

/// Whether a request may be sent again after a failure that may have reached the server.
#[derive(Clone, Copy, PartialEq)]
enum Replay {
    Safe,
    Unsafe,
}

impl RemoteStore {
    pub fn open(options: RemoteOptions) -> Result<RemoteStore> {
        if !(options.url.starts_with("http://") || options.url.starts_with("https://")) {
            return Err(Error::invalid(format!(
                "remote URL {:?} must start with http:// or https://",
                options.url
            )));
        }
        let client = Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(RemoteStore { options, client })
    }

    /// Sets the `on_wait` notice of rate-limit waits.
    pub fn on_wait(&mut self, tell: fn(&str)) {
        self.options.on_wait = Some(tell);
    }

    fn url(&self, segments: &[&str]) -> String {
        let mut url = format!("{}/storage", self.options.url);
        for s in segments {
            url.push('/');
            url.push_str(s);
        }
        url
    }

    fn request(&self, method: Method, url: &str) -> RequestBuilder {
        let mut rb = self.client.request(method, url);
        if let Some(key) = &self.options.api_key {
            rb = rb.bearer_auth(key);
        }
        if let Some(ws) = &self.options.workspace {
            rb = rb.header("X-Workspace-Id", ws.as_str());
        }
        if let Some(name) = &self.options.client_name {
            rb = rb.header("X-Orchagent-Client", name);
        }
        rb
    }

    /// Sends a request (built anew for each attempt) and returns a 2xx response, or the
    /// contract error the server answered with.
    /// The whole call, waits for rate limits included, stays within the timeout: a wait
    /// that would pass it is not started, and the rate-limit error is returned instead.
    fn send(&self, replay: Replay, build: impl Fn() -> RequestBuilder) -> Result<Response> {
        let mut attempt = 1;
        let deadline = std::time::Instant::now() + self.options.timeout;
        loop {
            let outcome = build().send();
            let retry_after = match &outcome {
                Ok(resp) if resp.status().is_success() => None,
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    // RATE_LIMITED carries Retry-After; a quota refusal (also 429) does not.
                    let rate_limited = status == 429 && resp.headers().contains_key("Retry-After");
                    // A 429 rate limit was refused before it ran; a 5xx may have run.
                    if rate_limited || (status >= 500 && replay == Replay::Safe) {
                        Some(retry_delay(resp, attempt))
                    } else {
                        None
                    }
                }
                // Never reached the server: safe to send again whatever the method.
                Err(e) if e.is_connect() => Some(backoff(attempt)),
                // A timeout already took the whole budget the user configured: report it.
                Err(e) if e.is_timeout() => None,
                Err(_) if replay == Replay::Safe => Some(backoff(attempt)),
                Err(_) => None,
            };
            let rate_limited = matches!(&outcome, Ok(r) if r.status().as_u16() == 429);
            let fits = |delay: Duration| std::time::Instant::now() + delay <= deadline;
            match (retry_after, attempt < self.options.attempts) {
                (Some(delay), true) if !rate_limited || fits(delay) => {
                    if rate_limited && let Some(tell) = self.options.on_wait {
                        tell(&format!(
                            "rate limited by {}: waiting {} s as the server asks (attempt {} of {})",
                            self.options.url,
                            delay.as_secs_f64().ceil(),
                            attempt + 1,
                            self.options.attempts
                        ));
                    }
                    std::thread::sleep(delay);
                    attempt += 1;
                }
                _ => {
                    if rate_limited && let Some(tell) = self.options.on_wait {
                        tell(&format!(
                            "rate limited by {}: giving up (the wait would pass the {} s timeout, or no attempts are left)",
                            self.options.url,
                            self.options.timeout.as_secs()
                        ));
                    }
                    return self.finish(outcome);
                }
            }
        }
    }

    fn finish(&self, outcome: reqwest::Result<Response>) -> Result<Response> {
        let resp = outcome.map_err(|e| self.transport_error(e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let mut err = envelope_error(resp);
        if err.kind == ErrorKind::Unauthorized && self.options.api_key.is_none() {
            // The server's words are for HTTP clients; a console user sets a flag.
            err.message = format!(
                "no API key was sent: pass --api-key KEY, set CONSOLE_API_KEY, or give the \
                 profile api_key_env or api_key_command (the server said: {})",
                err.message
            );
        }
        Err(err)
    }

    fn transport_error(&self, e: reqwest::Error) -> Error {
        let url = &self.options.url;
        let why = if e.is_timeout() {
            format!("no answer from {url} within {:?}", self.options.timeout)
        } else if e.is_connect() {
            format!("cannot reach {url}: {}", root_cause(&e))
        } else {
            format!("request to {url} failed: {}", root_cause(&e))
        };
        Error::new(ErrorKind::Unavailable, why)
    }

    fn json<T: DeserializeOwned>(&self, resp: Response) -> Result<T> {
        let url = resp.url().to_string();
        resp.json().map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("{url} answered with unexpected JSON: {e}"),
            )
        })
    }

    fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T> {
        let resp = self.send(Replay::Safe, || self.request(Method::GET, url))?;
        self.json(resp)
    }

    // ---- the contract ----

    pub fn get(&self, _scope: &Scope, ns: &Namespace, key: &Key) -> Result<Document> {
        self.get_json(&self.url(&[ns.as_str(), key.as_str()]))
    }

    pub fn put(
        &self,
        _scope: &Scope,
        ns: &Namespace,
        key: &Key,
        value: Value,
        opts: &PutOptions,
    ) -> Result<Written> {
        let url = self.url(&[ns.as_str(), key.as_str()]);
        let conditional = opts.expected_version.is_some() || opts.create_only;
        let replay = if conditional {
            Replay::Safe
        } else {
            Replay::Unsafe
        };
        let body = serde_json::to_vec(&value)?;
        let resp = self.send(replay, || {
            let mut rb = self
                .request(Method::PUT, &url)
                .header("Content-Type", "application/json")
                .body(body.clone());
            if let Some(v) = opts.expected_version {
                rb = rb.header("If-Match", format!("\"{v}\""));
            }
            if opts.create_only {
                rb = rb.header("If-None-Match", "*");
            }
            if let Some(ttl) = opts.ttl {
                rb = rb.query(&[("ttl", ttl)]);
            }
            if let Some(v) = opts.initial_version {
                rb = rb.query(&[("initial_version", v)]);
            }
            rb
        })?;
        let created = resp.status().as_u16() == 201;
        Ok(Written {
            meta: self.json(resp)?,
            created,
        })
    }

    pub fn patch(
        &self,
        _scope: &Scope,
        ns: &Namespace,
        key: &Key,
        partial: Map<String, Value>,
        expected_version: Option<u64>,
    ) -> Result<Meta> {
        let url = self.url(&[ns.as_str(), key.as_str()]);
        let body = serde_json::to_vec(&partial)?;
        // Merging the same members twice gives the same document: a patch may be replayed.
        let resp = self.send(Replay::Safe, || {
            let mut rb = self
                .request(Method::PATCH, &url)
                .header("Content-Type", "application/json")
                .body(body.clone());
            if let Some(v) = expected_version {
                rb = rb.header("If-Match", format!("\"{v}\""));
            }
            rb
        })?;
        self.json(resp)
    }

    pub fn delete(
        &self,
        _scope: &Scope,
        ns: &Namespace,
        key: &Key,
        expected_version: Option<u64>,
    ) -> Result<()> {
        let url = self.url(&[ns.as_str(), key.as_str()]);
        let replay = if expected_version.is_some() {
            Replay::Safe
        } else {
            Replay::Unsafe
        };
        self.send(replay, || {
            let mut rb = self.request(Method::DELETE, &url);
            if let Some(v) = expected_version {
                rb = rb.header("If-Match", format!("\"{v}\""));
            }
            rb
        })?;
        Ok(())
    }

    pub fn delete_namespace(&self, _scope: &Scope, ns: &Namespace) -> Result<u64> {
        let url = self.url(&[ns.as_str()]);
        let resp = self.send(Replay::Unsafe, || self.request(Method::DELETE, &url))?;
        let body: Value = self.json(resp)?;
        Ok(body["documents_deleted"].as_u64().unwrap_or(0))
    }

    pub fn namespaces(&self, _scope: &Scope) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Names {
            namespaces: Vec<String>,
        }
        let names: Names = self.get_json(&format!("{}/storage", self.options.url))?;
        Ok(names.namespaces)
    }

    pub fn list(&self, _scope: &Scope, ns: &Namespace, opts: &ListOptions) -> Result<KeyPage> {
        super::check_limit(opts.limit)?;
        let url = self.url(&[ns.as_str()]);
        let mut query = vec![("limit", opts.limit.to_string())];
        if let Some(c) = &opts.cursor {
            query.push(("cursor", c.clone()));
        }
        if let Some(p) = &opts.prefix {
            query.push(("prefix", p.clone()));
        }
        if opts.detail {
            query.push(("detail", "true".into()));
        }
        if !opts.fields.is_empty() {
            query.push(("fields", opts.fields.join(",")));
        }
        if let Some(q) = opts.query.as_ref().filter(|q| !q.is_empty()) {
            query.push(("where", q.to_string()));
        }
        let resp = self.send(Replay::Safe, || {
            self.request(Method::GET, &url).query(&query)
        })?;
        self.json(resp)
    }

    /// The server counts: the query travels as its canonical text.
    pub fn facets(
        &self,
        _scope: &Scope,
        ns: &Namespace,
        field: &crate::query::Path,
        query: Option<&crate::query::Query>,
    ) -> Result<Facets> {
        let url = self.url(&[ns.as_str(), "_facets"]);
        let mut params = vec![("field", field.to_string())];
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            params.push(("where", q.to_string()));
        }
        let resp = self.send(Replay::Safe, || {
            self.request(Method::GET, &url).query(&params)
        })?;
        self.json(resp)
    }

    pub fn stats(&self, _scope: &Scope, ns: Option<&Namespace>) -> Result<Vec<NamespaceStats>> {
        match ns {
            Some(ns) => Ok(vec![self.get_json(&self.url(&[ns.as_str(), "_stats"]))?]),
            None => {
                #[derive(serde::Deserialize)]
                struct All {
                    namespaces: Vec<NamespaceStats>,
                }
                let all: All = self.get_json(&self.url(&["_stats"]))?;
                Ok(all.namespaces)
            }
        }
    }

    pub fn incr(
        &self,
        _scope: &Scope,
        ns: &Namespace,
        key: &Key,
        field: &str,
        by: &serde_json::Number,
    ) -> Result<Document> {
        let url = self.url(&[ns.as_str(), key.as_str(), "_incr"]);
        let body = json!({"field": field, "by": by});
        let resp = self.send(Replay::Unsafe, || {
            self.request(Method::POST, &url).json(&body)
        })?;
        self.json(resp)
    }

    pub fn history(&self, _scope: &Scope, ns: &Namespace, key: &Key) -> Result<Vec<Meta>> {
        #[derive(serde::Deserialize)]
        struct Versions {
            versions: Vec<Meta>,
        }
        let v: Versions = self.get_json(&self.url(&[ns.as_str(), key.as_str(), "_history"]))?;
        Ok(v.versions)
    }

    pub fn history_version(
        &self,
        _scope: &Scope,
        ns: &Namespace,
        key: &Key,
        version: u64,
    ) -> Result<Document> {
        self.get_json(&self.url(&[ns.as_str(), key.as_str(), "_history", &version.to_string()]))
    }

    pub fn changes(
        &self,
        _scope: &Scope,
        after_seq: u64,
        ns: Option<&Namespace>,
        limit: usize,
    ) -> Result<ChangeBatch> {
        let url = self.url(&["_changes"]);
        let mut query = vec![
            ("after", after_seq.to_string()),
            ("limit", limit.to_string()),
        ];
        if let Some(ns) = ns {
            query.push(("namespace", ns.to_string()));
        }
        let resp = self.send(Replay::Safe, || {
            self.request(Method::GET, &url).query(&query)
        })?;
        self.json(resp)
    }

    pub fn location(&self) -> String {
        self.options.url.clone()
    }

    // ---- what a server needs beyond the wire: read through the wire, or refused ----

    pub fn get_raw(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<(Meta, String)> {
        let doc = self.get(scope, ns, key)?;
        Ok((doc.meta, crate::model::compact(&doc.value)))
    }

    pub fn current_version(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<Option<u64>> {
        match self.get(scope, ns, key) {
            Ok(doc) => Ok(Some(doc.meta.version)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn usage(&self, _ws: &Workspace) -> Result<super::Usage> {
        Err(super::not_here("workspace quotas"))
    }

    pub fn workspaces(&self) -> Result<Vec<super::WorkspaceInfo>> {
        Err(super::not_here("workspaces"))
    }

    pub fn upsert_workspace(
        &self,
        _ws: &Workspace,
        _name: Option<&str>,
        _tier: Option<super::Tier>,
    ) -> Result<super::WorkspaceInfo> {
        Err(super::not_here("workspaces"))
    }

    pub fn create_key(
        &self,
        _ws: &Workspace,
        _name: Option<&str>,
        _actor: Option<&str>,
        _read_only: bool,
    ) -> Result<super::keys::NewKey> {
        Err(super::not_here("API keys"))
    }

    pub fn list_keys(&self) -> Result<Vec<super::keys::KeyInfo>> {
        Err(super::not_here("API keys"))
    }

    pub fn revoke_key(&self, _id: &str) -> Result<super::keys::KeyInfo> {
        Err(super::not_here("API keys"))
    }

    pub fn authenticate(&self, _token: &str) -> Result<std::sync::Arc<super::keys::KeyInfo>> {
        Err(super::not_here("API keys"))
    }
}

impl RemoteStore {
    /// Follows the server's change stream (SSE) after `after_seq`, reconnecting with
    /// `Last-Event-ID` after a drop, until `on` returns `false`.
    pub fn follow(
        &self,
        ns: Option<&Namespace>,
        after_seq: u64,
        mut on: impl FnMut(FeedItem) -> bool,
    ) -> Result<()> {
        use std::io::BufRead;
        let url = match ns {
            Some(ns) => self.url(&[ns.as_str(), "_watch"]),
            None => self.url(&["_watch"]),
        };
        let mut last = after_seq;
        let mut attempt = 0;
        loop {
            // The stream stays open: no overall timeout, only the connect timeout.
            let resp = self
                .request(Method::GET, &url)
                .header("Accept", "text/event-stream")
                .header("Last-Event-ID", last.to_string())
                .timeout(Duration::from_secs(24 * 3600))
                .send();
            match resp {
                Ok(resp) if resp.status().is_success() => {
                    attempt = 0;
                    if !on(FeedItem::State(FeedState::Live)) {
                        return Ok(());
                    }
                    let mut parser = SseParser::default();
                    for line in std::io::BufReader::new(resp).lines() {
                        let Ok(line) = line else { break };
                        let Some(event) = parser.line(line.trim_end_matches('\r')) else {
                            continue;
                        };
                        let item = match event.event.as_str() {
                            "change" => match serde_json::from_str::<Change>(&event.data) {
                                Ok(change) => {
                                    last = change.seq;
                                    FeedItem::Change(change)
                                }
                                Err(_) => continue,
                            },
                            "error" => {
                                // FEED_TRUNCATED tells where the log stands now: resume there
                                // after the follower re-reads what it shows.
                                let data: Value =
                                    serde_json::from_str(&event.data).unwrap_or_default();
                                match data["last_seq"].as_u64() {
                                    Some(seq) => last = seq,
                                    None => {
                                        return Err(Error::internal(format!(
                                            "change feed failed: {}",
                                            event.data
                                        )));
                                    }
                                }
                                FeedItem::Truncated
                            }
                            _ => continue,
                        };
                        if !on(item) {
                            return Ok(());
                        }
                    }
                }
                Ok(resp) if resp.status().is_client_error() && resp.status().as_u16() != 429 => {
                    return Err(envelope_error(resp));
                }
                _ => {}
            }
            attempt += 1;
            let state = if attempt > 5 {
                FeedState::Offline
            } else {
                FeedState::Reconnecting
            };
            if !on(FeedItem::State(state)) {
                return Ok(());
            }
            std::thread::sleep(backoff(attempt.min(4)));
        }
    }
}

/// The contract error in an error response (or an UNAVAILABLE one when the body is not
/// the envelope, so a proxy's HTML page never passes for a contract answer).
fn envelope_error(resp: Response) -> Error {
    let status = resp.status();
    let retry_after = header_secs(&resp, "Retry-After");
    let url = resp.url().to_string();
    let body: Option<Value> = resp.json().ok();
    let err = body.as_ref().and_then(|b| b.get("error"));
    let kind = err
        .and_then(|e| e["code"].as_str())
        .and_then(ErrorKind::from_code)
        .or_else(|| kind_of_status(status.as_u16()));
    let Some(kind) = kind else {
        return Error::new(ErrorKind::Unavailable, format!("{url} answered {status}"));
    };
    let message = err
        .and_then(|e| e["message"].as_str())
        .map_or_else(|| format!("{url} answered {status}"), str::to_string);
    Error {
        current_version: err.and_then(|e| e["details"]["current_version"].as_u64()),
        retry_after,
        ..Error::new(kind, message)
    }
}

fn kind_of_status(status: u16) -> Option<ErrorKind> {
    ErrorKind::ALL.into_iter().find(|k| {
        k.status() == status && *k != ErrorKind::RateLimited && *k != ErrorKind::Unavailable
    })
}

fn header_secs(resp: &Response, name: &str) -> Option<u64> {
    resp.headers().get(name)?.to_str().ok()?.trim().parse().ok()
}

fn retry_delay(resp: &Response, attempt: u32) -> Duration {
    header_secs(resp, "Retry-After")
        .map(|s| Duration::from_secs(s.min(30)))
        .unwrap_or_else(|| backoff(attempt))
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100 * 2u64.pow(attempt.min(6)))
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Key, Namespace, Workspace};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const META: &str = r#"{"namespace":"n","key":"k","version":2,"size_bytes":2,"created_at":"2026-01-01T00:00:00.000Z","updated_at":"2026-01-01T00:00:00.000Z","updated_by":"api","expires_at":null}"#;

    fn reply(status: &str, headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
            body.len()
        )
    }

    fn envelope(code: &str, details: &str) -> String {
        format!(
            r#"{{"error":{{"code":"{code}","message":"m","is_retryable":false{details}}},"metadata":{{"request_id":"r"}}}}"#
        )
    }

    /// A server on 127.0.0.1 that answers the n-th request with `replies[n]` and counts
    /// the requests it got (each on its own connection).
    fn scripted(replies: Vec<String>) -> (RemoteStore, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(AtomicUsize::new(0));
        let count = seen.clone();
        std::thread::spawn(move || {
            for (stream, reply) in listener.incoming().zip(replies) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                stream.write_all(reply.as_bytes()).unwrap();
            }
        });
        let mut options = RemoteOptions::new(&url);
        options.timeout = Duration::from_secs(5);
        (RemoteStore::open(options).unwrap(), seen)
    }

    fn names() -> (Scope, Namespace, Key) {
        (
            Scope::new(Workspace::parse("w").unwrap(), "cli"),
            Namespace::parse("n").unwrap(),
            Key::parse("k").unwrap(),
        )
    }

    fn doc() -> String {
        format!("{},\"value\":{{}}}}", &META[..META.len() - 1])
    }

    #[test]
    fn reads_are_retried_after_a_server_error() {
        let (store, seen) = scripted(vec![
            reply("503 Service Unavailable", "", "oops"),
            reply("200 OK", "", &doc()),
        ]);
        let (scope, ns, key) = names();
        assert_eq!(store.get(&scope, &ns, &key).unwrap().meta.version, 2);
        assert_eq!(seen.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn an_unconditional_write_that_may_have_landed_is_not_repeated() {
        let (store, seen) = scripted(vec![
            reply(
                "500 Internal Server Error",
                "",
                &envelope("INTERNAL_ERROR", ""),
            ),
            reply("200 OK", "", META),
        ]);
        let (scope, ns, key) = names();
        let e = store
            .put(
                &scope,
                &ns,
                &key,
                serde_json::json!({}),
                &PutOptions::default(),
            )
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Internal);
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_conditional_write_is_repeated_and_rate_limits_honour_retry_after() {
        let (store, seen) = scripted(vec![
            reply("502 Bad Gateway", "", "down"),
            reply(
                "429 Too Many Requests",
                "Retry-After: 0\r\n",
                &envelope("RATE_LIMITED", ""),
            ),
            reply("200 OK", "", META),
        ]);
        let (scope, ns, key) = names();
        let opts = PutOptions {
            expected_version: Some(1),
            ..PutOptions::default()
        };
        let w = store
            .put(&scope, &ns, &key, serde_json::json!({}), &opts)
            .unwrap();
        assert_eq!((w.meta.version, w.created), (2, false));
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_rate_limit_wait_never_passes_the_timeout() {
        static TOLD: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let limited = || {
            reply(
                "429 Too Many Requests",
                "Retry-After: 5\r\n",
                &envelope("RATE_LIMITED", ""),
            )
        };
        let (mut store, seen) = scripted(vec![limited(), limited(), limited()]);
        store.options.timeout = Duration::from_secs(2);
        store.options.on_wait = Some(|m| TOLD.lock().unwrap().push(m.to_string()));
        let (scope, ns, key) = names();
        let started = std::time::Instant::now();
        let e = store.get(&scope, &ns, &key).unwrap_err();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.kind.exit_code(), 8);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        let told = TOLD.lock().unwrap().clone();
        assert!(told.len() == 1 && told[0].contains("giving up"), "{told:?}");
    }

    #[test]
    fn a_rate_limit_wait_within_the_timeout_is_announced() {
        static TOLD: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let (mut store, seen) = scripted(vec![
            reply(
                "429 Too Many Requests",
                "Retry-After: 1\r\n",
                &envelope("RATE_LIMITED", ""),
            ),
            reply("200 OK", "", &doc()),
        ]);
        store.options.on_wait = Some(|m| TOLD.lock().unwrap().push(m.to_string()));
        let (scope, ns, key) = names();
        assert_eq!(store.get(&scope, &ns, &key).unwrap().meta.version, 2);
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        let told = TOLD.lock().unwrap().clone();
        assert!(
            told.len() == 1 && told[0].contains("waiting 1 s"),
            "{told:?}"
        );
    }

    #[test]
    fn contract_errors_map_back_to_the_same_values() {
        let (store, seen) = scripted(vec![
            reply(
                "409 Conflict",
                "",
                &envelope("CONFLICT", r#","details":{"current_version":7}"#),
            ),
            reply(
                "429 Too Many Requests",
                "",
                &envelope("STORAGE_QUOTA_EXCEEDED", ""),
            ),
            reply("200 OK", "", "<html>a proxy page</html>"),
        ]);
        let (scope, ns, key) = names();
        let opts = PutOptions {
            expected_version: Some(1),
            ..PutOptions::default()
        };
        let e = store
            .put(&scope, &ns, &key, serde_json::json!({}), &opts)
            .unwrap_err();
        assert_eq!((e.kind, e.current_version), (ErrorKind::Conflict, Some(7)));
        let e = store
            .put(
                &scope,
                &ns,
                &key,
                serde_json::json!({}),
                &PutOptions::default(),
            )
            .unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::QuotaExceeded,
            "a quota refusal is not retried"
        );
        let e = store.get(&scope, &ns, &key).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }
}
