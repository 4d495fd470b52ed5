//! `console serve`: the REST server of the wire contract (`spec/api.md`) over a `Store`.
//! This module holds the shared state, the router (routes, middleware order, body limit,
//! fallbacks) and `serve`, which runs it on a listener until a shutdown future resolves.

pub mod auth;
mod conn;
pub mod envelope;
pub mod ext;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod sse;

use crate::error::{Error, Result};
use crate::model::Workspace;
use crate::store::{SqliteStore, Store, Usage};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use envelope::ApiError;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

pub use auth::{AuthMode, Caller};

/// Settings of a running server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub auth: AuthMode,
    /// Largest request body accepted (413 beyond).
    pub body_limit_bytes: usize,
    /// Requests per minute per key; 0: unlimited.
    pub rate_limit_per_minute: u32,
    /// Interval of the heartbeat comments of change feeds.
    pub heartbeat: Duration,
    /// How often a change feed polls the change log when nothing woke it.
    pub poll_interval: Duration,
    /// A request's head must arrive within this, counted from when the connection began
    /// waiting for it: it also closes idle keep-alive connections.
    pub header_timeout: Duration,
    /// A request body may not stall for longer than this between two pieces.
    pub body_timeout: Duration,
    /// After a shutdown signal, requests in flight get this long to finish; then the
    /// connections still open are closed.
    pub shutdown_grace: Duration,
    /// Serve `GET /metrics` on this router (off when it has its own listener, or disabled).
    pub metrics_route: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            auth: AuthMode::Keys,
            body_limit_bytes: 12 * 1024 * 1024,
            rate_limit_per_minute: 0,
            heartbeat: Duration::from_secs(15),
            poll_interval: Duration::from_millis(150),
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            metrics_route: true,
        }
    }
}

/// A write queued for the executor: it runs the operation and returns the workspace it
/// wrote to (when it succeeded) and its answer, sent once the batch it is part of has been
/// committed (or has failed to), with that workspace's usage.
type Job = Box<dyn FnOnce(&Store) -> (Option<Workspace>, Answer) + Send>;

type Answer = Box<dyn FnOnce(Result<()>, Option<Usage>) + Send>;

/// Writes run in at most this many per commit.
const MAX_BATCH: usize = 256;

pub(crate) struct Inner {
    pub(crate) store: Store,
    /// The queue of the write executor.
    writes: std::sync::mpsc::Sender<Job>,
    pub(crate) options: ServerOptions,
    pub(crate) limiter: ratelimit::RateLimiter,
    pub(crate) metrics: metrics::Metrics,
    /// Woken after every write through this server, so feeds answer without waiting a poll.
    pub(crate) changed: Notify,
    /// Becomes `true` when the server shuts down: change feeds end.
    pub(crate) shutdown: watch::Sender<bool>,
}

/// The state every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

impl AppState {
    pub fn new(store: Store, options: ServerOptions) -> AppState {
        let (shutdown, _) = watch::channel(false);
        let (writes, queue) = std::sync::mpsc::channel();
        let inner = Arc::new(Inner {
            limiter: ratelimit::RateLimiter::new(options.rate_limit_per_minute),
            metrics: metrics::Metrics::default(),
            store,
            writes,
            options,
            changed: Notify::new(),
            shutdown,
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("console-writer".into())
            .spawn(move || execute_writes(weak, queue))
            .expect("cannot start the write executor thread");
        AppState { inner }
    }

    /// Runs a write. On a store that groups writes (SQLite) it goes to the executor: it
    /// joins the writes queued with it in one transaction (group commit), and its result
    /// is returned only once that transaction is durable. Otherwise (PostgreSQL) it runs
    /// on the blocking pool in its own transaction, side by side with others.
    /// Also returns the caller's workspace usage (the `X-Storage-*` headers of every write)
    /// as of that transaction's commit: read once per workspace at the end of the batch.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        caller: &Caller,
        op: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<(T, Usage), ApiError> {
        if !self.inner.store.groups_writes() {
            let ws = caller.scope.workspace.clone();
            let out = self
                .run(move |s| {
                    let value = op(s)?;
                    Ok((value, s.usage(&ws)?))
                })
                .await?;
            self.notify_write();
            return Ok(out);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let ws = caller.scope.workspace.clone();
        let job: Job = Box::new(move |store| {
            let out = op(store);
            let wrote = out.is_ok().then_some(ws);
            let answer: Answer = Box::new(move |commit, usage| {
                let _ = tx.send(commit.and(out).map(|value| (value, usage)));
            });
            (wrote, answer)
        });
        let stopped = || ApiError(Error::internal("the write executor has stopped"));
        self.inner.writes.send(job).map_err(|_| stopped())?;
        let (value, usage) = rx.await.map_err(|_| stopped())?.map_err(ApiError)?;
        self.notify_write();
        let usage = match usage {
            Some(u) => u,
            None => self.point_read(|s| s.usage(&caller.scope.workspace))?,
        };
        Ok((value, usage))
    }

    /// Runs a store call on the blocking pool (SQLite calls block).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state.inner.store))
            .await
            .map_err(|e| ApiError(Error::internal(format!("a store task failed: {e}"))))?
            .map_err(ApiError)
    }

    /// Runs a point read (an indexed lookup of one row, served from SQLite's page cache in
    /// microseconds) on the current task. Moving such a read to the blocking pool costs
    /// more than the read itself; anything that writes, scans or waits stays on `run`.
    /// On a store that is not embedded (a read is a network round trip), the task's
    /// thread is handed over to the runtime's other tasks while it waits.
    pub(crate) fn point_read<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T, ApiError> {
        let store = &self.inner.store;
        if store.groups_writes() {
            f(store).map_err(ApiError)
        } else {
            tokio::task::block_in_place(|| f(store)).map_err(ApiError)
        }
    }

    /// Tells change feeds that something was written.
    pub(crate) fn notify_write(&self) {
        self.inner.changed.notify_waiters();
    }

    /// Ends every change feed, so graceful shutdown can finish.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }
}

/// The write executor: one thread takes every queued write, runs them back to back in one
/// transaction, commits once, then answers each. No writer waits on a lock held by
/// another, and one sync to disk serves the whole queue.
fn execute_writes(inner: std::sync::Weak<Inner>, queue: std::sync::mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let Some(inner) = inner.upgrade() else { return };
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let store = &inner.store;
        let (size, started) = (jobs.len(), std::time::Instant::now());
        // A job that panics (a bug) drops its reply, so its request fails alone; the
        // executor and the other writes of the batch go on.
        let run = |jobs: Vec<Job>| {
            let done: Vec<_> = jobs
                .into_iter()
                .filter_map(|job| {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(store))).ok()
                })
                .collect();
            // Each workspace written to, with its usage at the end of the batch. A usage
            // that cannot be read now is read again after the commit.
            let mut usages: Vec<(Workspace, Option<Usage>)> = Vec::new();
            for ws in done.iter().filter_map(|(ws, _)| ws.as_ref()) {
                if !usages.iter().any(|(seen, _)| seen == ws) {
                    let usage = store.usage_in_batch(ws).ok();
                    usages.push((ws.clone(), usage));
                }
            }
            (done, usages)
        };
        let ((done, usages), commit) = match store.write_batch(|| run(jobs)) {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, "the write executor cannot reach the store");
                continue;
            }
        };
        inner.metrics.write_batch(size, started.elapsed());
        for (ws, answer) in done {
            let usage = ws.and_then(|ws| usages.iter().find(|(seen, _)| *seen == ws)?.1);
            answer(commit.clone(), usage);
        }
    }
}

/// How long reads may share a snapshot (see `store/readers.rs`): the most a write made
/// by another process on the same file can lag behind in the server's answers. Writes
/// through the server are seen by every read that starts after they were acknowledged.
pub const READ_SNAPSHOT_WINDOW: Duration = Duration::from_millis(1);

/// Sets up an embedded store for a long-running server: checkpoints in the background and
/// reads that share snapshots.
pub fn tune_store(store: &SqliteStore) -> Result<()> {
    store.checkpoint_in_background()?;
    store.share_read_snapshots(READ_SNAPSHOT_WINDOW);
    Ok(())
}

/// The whole HTTP interface.
pub fn router(state: AppState) -> Router {
    let storage = Router::new()
        .route("/workspaces", get(routes::workspaces))
        .route("/storage", get(routes::list_namespaces))
        .route("/storage/_stats", get(ext::stats_all))
        .route("/storage/_changes", get(ext::changes))
        .route("/storage/_watch", get(sse::watch_all))
        .route(
            "/storage/{ns}",
            get(routes::list_keys).delete(routes::delete_namespace),
        )
        .route("/storage/{ns}/_stats", get(ext::stats_namespace))
        .route("/storage/{ns}/_facets", get(ext::facets))
        .route("/storage/{ns}/_watch", get(sse::watch_namespace))
        .route(
            "/storage/{ns}/{key}",
            get(routes::get_document)
                .put(routes::put_document)
                .patch(routes::patch_document)
                .delete(routes::delete_document),
        )
        .route("/storage/{ns}/{key}/_watch", get(sse::watch_key))
        .route("/storage/{ns}/{key}/_history", get(ext::history))
        .route(
            "/storage/{ns}/{key}/_history/{version}",
            get(ext::history_version),
        )
        .route("/storage/{ns}/{key}/_incr", post(ext::incr));
    let body_limit = state.inner.options.body_limit_bytes;
    let body_timeout = state.inner.options.body_timeout;
    let mut app = Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/openapi.json", get(openapi::document));
    if state.inner.options.metrics_route {
        app = app.route("/metrics", get(metrics::render));
    }
    app.merge(storage)
        .fallback(envelope::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(envelope::RequestIdLayer { body_timeout })
        .with_state(state)
}

/// `GET /metrics` alone, for a listener of its own (`console serve --metrics-listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::render))
        .fallback(envelope::not_found)
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` resolves, then finishes the requests in
/// flight within the shutdown grace period (change feeds end at once).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    conn::run(listener, state, app, shutdown).await
}
