//! Change feeds: Server-Sent Events read from the store's change log, for a namespace
//! (`/storage/{ns}/_watch`), every namespace (`/storage/_watch`) or one key (`/storage/{ns}/{key}/_watch`). Each `change` event
//! has `id: <seq>`; `Last-Event-ID` (or `?after=`) resumes with no gap and no duplicate, and
//! a resume point older than the retained log, or past its end, gets an `error` event
//! `FEED_TRUNCATED`.
//! The feed polls the log, and wakes at once on writes made through this server.

use super::envelope::ApiResult;
use super::openapi::{ChangeEvent, ErrorEnvelope};
use super::routes::{Params, parse_key, parse_ns, parse_u64};
use super::{AppState, Caller};
use crate::error::{Error, Result};
use crate::model::{Key, Namespace};
use crate::store::{Scope, Store};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use std::collections::VecDeque;
use std::convert::Infallible;

/// Changes read per poll.
const BATCH: usize = 500;

/// How often a feed checks that its API key still stands. With the feed's wake-ups (at
/// most `poll_interval` apart) a revoked key loses its feeds within about this plus one
/// poll interval: well under a second.
const KEY_RECHECK: std::time::Duration = std::time::Duration::from_millis(500);

/// What one feed follows, and where it is.
struct Feed {
    state: AppState,
    scope: Scope,
    /// `None`: every namespace of the workspace.
    ns: Option<Namespace>,
    key: Option<Key>,
    after: u64,
    pending: VecDeque<Event>,
    done: bool,
    shutdown: tokio::sync::watch::Receiver<bool>,
    /// The API key that opened the feed (`None` under `--no-auth`), checked again every
    /// `KEY_RECHECK`: a revoked key loses its feeds.
    token: Option<String>,
    checked: std::time::Instant,
    /// Counts the feed as open in `/metrics` while it lives.
    _open: super::metrics::FeedGuard,
}

/// The events of one poll, computed on the blocking pool.
enum Polled {
    Events(Vec<(u64, ChangeEvent)>, u64),
    Truncated { oldest_seq: u64, last_seq: u64 },
}

fn value_at(
    store: &Store,
    scope: &Scope,
    ns: &str,
    key: &str,
    version: u64,
) -> Option<serde_json::Value> {
    let ns = Namespace::parse(ns).ok()?;
    let ns = &ns;
    let key = Key::parse(key).ok()?;
    store
        .history_version(scope, ns, &key, version)
        .ok()
        .map(|d| d.value)
}

fn poll(
    store: &Store,
    scope: &Scope,
    ns: Option<&Namespace>,
    key: Option<&Key>,
    after: u64,
) -> Result<Polled> {
    let batch = store.changes(scope, after, ns, BATCH)?;
    // Behind the retained log, or ahead of it (an id this log never gave: another
    // store's, or one from before a restore): either way the client must list again.
    if after.saturating_add(1) < batch.oldest_seq || after > batch.last_seq {
        return Ok(Polled::Truncated {
            oldest_seq: batch.oldest_seq,
            last_seq: batch.last_seq,
        });
    }
    let mut next = after;
    let mut out = Vec::new();
    for c in batch.changes {
        next = next.max(c.seq);
        let for_us = match (key, c.key.as_deref()) {
            (Some(want), Some(k)) => want.as_str() == k,
            // A namespace deletion removes the watched key too.
            _ => true,
        };
        if !for_us {
            continue;
        }
        let deletes = matches!(c.op.as_str(), "delete" | "expire" | "delete_namespace");
        let value = match (&c.key, c.version, deletes) {
            (Some(k), Some(v), false) => value_at(store, scope, &c.namespace, k, v),
            _ => None,
        };
        let old_value = match (key, &c.key, c.version) {
            (Some(_), Some(k), Some(v)) => {
                let before = if deletes { v } else { v.saturating_sub(1) };
                if before == 0 {
                    Some(serde_json::Value::Null)
                } else {
                    Some(
                        value_at(store, scope, &c.namespace, k, before)
                            .unwrap_or(serde_json::Value::Null),
                    )
                }
            }
            (Some(_), _, _) => Some(serde_json::Value::Null),
            _ => None,
        };
        out.push((
            c.seq,
            ChangeEvent {
                seq: c.seq,
                op: c.op,
                namespace: c.namespace,
                key: c.key,
                version: c.version,
                at: c.at,
                value,
                old_value,
            },
        ));
    }
    Ok(Polled::Events(out, next))
}

fn error_event(code: &str, message: &str, extra: serde_json::Value) -> Event {
    let mut data = serde_json::json!({"code": code, "message": message});
    if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    Event::default().event("error").data(data.to_string())
}

impl Feed {
    /// Whether the feed's key was revoked (checked at most every `KEY_RECHECK`).
    async fn key_revoked(&mut self) -> bool {
        let Some(token) = self.token.clone() else {
            return false;
        };
        if self.checked.elapsed() < KEY_RECHECK {
            return false;
        }
        self.checked = std::time::Instant::now();
        let checked = self.state.run(move |s| s.authenticate(&token).map(|_| ()));
        matches!(checked.await, Err(e) if e.0.kind == crate::error::ErrorKind::Unauthorized)
    }

    /// Fills `pending`, waiting for changes when there are none.
    async fn fill(&mut self) {
        loop {
            if *self.shutdown.borrow() {
                self.done = true;
                return;
            }
            if self.key_revoked().await {
                self.pending.push_back(error_event(
                    "UNAUTHORIZED",
                    "the API key of this feed was revoked",
                    serde_json::json!({}),
                ));
                self.done = true;
                return;
            }
            // Register for a wake-up before looking, so a write in between is not missed.
            let changed = self.state.inner.changed.notified();
            let (scope, ns, key, after) = (
                self.scope.clone(),
                self.ns.clone(),
                self.key.clone(),
                self.after,
            );
            let polled = self
                .state
                .run(move |s| poll(s, &scope, ns.as_ref(), key.as_ref(), after))
                .await;
            match polled {
                Err(e) => {
                    self.pending.push_back(error_event(
                        e.0.kind.code(),
                        &e.0.message,
                        serde_json::json!({}),
                    ));
                    self.done = true;
                    return;
                }
                Ok(Polled::Truncated {
                    oldest_seq,
                    last_seq,
                }) => {
                    self.pending.push_back(error_event(
                        "FEED_TRUNCATED",
                        "this resume id is not in the retained change log (older than \
                         oldest_seq, or past last_seq): list the namespace again, then watch \
                         from last_seq",
                        serde_json::json!({"oldest_seq": oldest_seq, "last_seq": last_seq}),
                    ));
                    self.done = true;
                    return;
                }
                Ok(Polled::Events(events, next)) => {
                    self.after = next;
                    for (seq, data) in events {
                        let ev = Event::default()
                            .id(seq.to_string())
                            .event("change")
                            .json_data(&data)
                            .unwrap_or_else(|_| Event::default().comment("unserializable change"));
                        self.pending.push_back(ev);
                    }
                    if !self.pending.is_empty() {
                        return;
                    }
                    if next > after {
                        // Only other keys' changes: look again at once.
                        continue;
                    }
                }
            }
            let poll_every = self.state.inner.options.poll_interval;
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep(poll_every) => {}
                _ = self.shutdown.changed() => {}
            }
        }
    }
}

fn resume_point(
    headers: &HeaderMap,
    params: &std::collections::HashMap<String, String>,
) -> Result<Option<u64>> {
    if let Some(v) = super::auth::single_header(headers, "last-event-id")?.filter(|v| !v.is_empty())
    {
        let text = v.trim();
        return text
            .parse::<u64>()
            .map(Some)
            .map_err(|_| Error::invalid("Last-Event-ID must be the id of an event (an integer)"));
    }
    parse_u64(params, "after")
}

async fn open(
    state: AppState,
    caller: Caller,
    ns: Option<Namespace>,
    key: Option<Key>,
    headers: HeaderMap,
    params: std::collections::HashMap<String, String>,
) -> ApiResult<Response> {
    let after = match resume_point(&headers, &params)? {
        Some(a) => a,
        None => {
            let scope = caller.scope.clone();
            state
                .run(move |s| Ok(s.changes(&scope, i64::MAX as u64, None, 0)?.last_seq))
                .await?
        }
    };
    let feed = Feed {
        shutdown: state.inner.shutdown.subscribe(),
        state: state.clone(),
        scope: caller.scope,
        ns,
        key,
        after,
        pending: VecDeque::new(),
        done: false,
        token: match state.inner.options.auth {
            super::AuthMode::Keys => super::auth::bearer(&headers).ok().map(str::to_string),
            super::AuthMode::Open(_) => None,
        },
        checked: std::time::Instant::now(),
        _open: state.inner.metrics.feed_opened(),
    };
    let events = stream::unfold(feed, |mut f| async move {
        loop {
            if let Some(ev) = f.pending.pop_front() {
                return Some((Ok::<Event, Infallible>(ev), f));
            }
            if f.done {
                return None;
            }
            f.fill().await;
        }
    });
    let heartbeat = state.inner.options.heartbeat;
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat"));
    let mut r = sse.into_response();
    r.headers_mut().insert(
        "cache-control",
        axum::http::HeaderValue::from_static("no-cache"),
    );
    r.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    Ok(r)
}

/// A Server-Sent Events feed of the changes in a namespace.
#[utoipa::path(get, path = "/storage/{ns}/_watch", tag = "extensions", security(("bearer" = [])),
    params(("ns" = String, Path),
        ("after" = Option<u64>, Query, description = "Resume after this event id (0: the whole retained log)"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event id")),
    responses((status = 200, content_type = "text/event-stream", body = ChangeEvent,
        description = "`event: change` with `id: <seq>` and ChangeEvent data; `event: error` \
        (code FEED_TRUNCATED) when the resume point is no longer retained; heartbeat comments"),
        (status = 400, body = ErrorEnvelope)))]
pub async fn watch_namespace(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
    Query(params): Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let ns = parse_ns(&ns)?;
    open(state, caller, Some(ns), None, headers, params).await
}

/// A Server-Sent Events feed of the changes in every namespace of the workspace.
#[utoipa::path(get, path = "/storage/_watch", tag = "extensions", security(("bearer" = [])),
    params(("after" = Option<u64>, Query, description = "Resume after this event id (0: the whole retained log)"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event id")),
    responses((status = 200, content_type = "text/event-stream", body = ChangeEvent),
        (status = 400, body = ErrorEnvelope)))]
pub async fn watch_all(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    open(state, caller, None, None, headers, params).await
}

/// A Server-Sent Events feed of one key: each event also has `old_value`.
#[utoipa::path(get, path = "/storage/{ns}/{key}/_watch", tag = "extensions", security(("bearer" = [])),
    params(("ns" = String, Path), ("key" = String, Path),
        ("after" = Option<u64>, Query, description = "Resume after this event id"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event id")),
    responses((status = 200, content_type = "text/event-stream", body = ChangeEvent),
        (status = 400, body = ErrorEnvelope)))]
pub async fn watch_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, key)): Path<(String, String)>,
    Query(params): Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (ns, key) = (parse_ns(&ns)?, parse_key(&key)?);
    open(state, caller, Some(ns), Some(key), headers, params).await
}
