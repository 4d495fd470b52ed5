//! `GET /metrics`: the server's counters in the Prometheus text format (the
//! `prometheus-client` crate, one registry per server, no globals). Requests by matched
//! route, method and status with latency histograms; write batches (size, commit time);
//! open change feeds; rate-limited and refused requests; and, read at scrape time, the
//! bytes and documents of each workspace. It answers without an API key, so
//! `console serve --metrics-listen ADDR` can put it on a private address instead (or
//! `--no-metrics` turn it off).

use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkspaceLabels {
    workspace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_buckets() -> Histogram {
    // 100 µs to about 3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// The server's metrics and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histograms<RouteLabels>,
    batch_size: Histogram,
    batch_commit: Histogram,
    feeds_open: Gauge,
    rate_limited: Counter,
    refused: Family<CodeLabels, Counter>,
    store_bytes: Family<WorkspaceLabels, Gauge>,
    store_documents: Family<WorkspaceLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("console");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by matched route, method and status",
            requests.clone(),
        );
        let latency: Histograms<RouteLabels> = Family::new_with_constructor(latency_buckets);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request (to the response head; a change feed counts until it opens)",
            latency.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 9));
        registry.register(
            "write_batch_size",
            "Writes committed together by the write executor",
            batch_size.clone(),
        );
        let batch_commit = latency_buckets();
        registry.register(
            "write_batch_seconds",
            "Time to run and commit one batch of writes",
            batch_commit.clone(),
        );
        let feeds_open = Gauge::default();
        registry.register(
            "change_feeds_open",
            "Change feeds (SSE) open now",
            feeds_open.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited_requests",
            "Requests refused because their key was over its rate limit",
            rate_limited.clone(),
        );
        let refused = Family::<CodeLabels, Counter>::default();
        registry.register(
            "refused_requests",
            "Requests refused before they reached the store, by error code",
            refused.clone(),
        );
        let store_bytes = Family::<WorkspaceLabels, Gauge>::default();
        registry.register(
            "store_bytes",
            "Bytes of document values stored, per workspace (read at scrape time)",
            store_bytes.clone(),
        );
        let store_documents = Family::<WorkspaceLabels, Gauge>::default();
        registry.register(
            "store_documents",
            "Documents stored, per workspace (read at scrape time)",
            store_documents.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            batch_size,
            batch_commit,
            feeds_open,
            rate_limited,
            refused,
            store_bytes,
            store_documents,
        }
    }
}

impl Metrics {
    /// One batch of the write executor: how many writes, and how long until committed.
    pub fn write_batch(&self, size: usize, took: Duration) {
        self.batch_size.observe(size as f64);
        self.batch_commit.observe(took.as_secs_f64());
    }

    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// A change feed that counts as open until the guard is dropped.
    pub fn feed_opened(&self) -> FeedGuard {
        self.feeds_open.inc();
        FeedGuard(self.feeds_open.clone())
    }
}

/// Keeps a change feed counted as open.
pub struct FeedGuard(Gauge);

impl Drop for FeedGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Middleware: counts and times every request by its matched route (the path template,
/// so `/storage/{ns}/{key}`, never the raw path with its unbounded names).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let response = next.run(req).await;
    let metrics = &state.inner.metrics;
    let status = response.status();
    if matches!(status.as_u16(), 401 | 403) {
        metrics
            .refused
            .get_or_create(&CodeLabels {
                code: status.as_u16().to_string(),
            })
            .inc();
    }
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
            method: method.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: status.as_u16(),
        })
        .inc();
    response
}

/// The server's metrics in the Prometheus text format; no API key (see
/// `console serve --metrics-listen` and `--no-metrics`).
#[utoipa::path(get, path = "/metrics", tag = "extensions",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn render(State(state): State<AppState>) -> Response {
    let sizes = state
        .run(|store| {
            let mut out = Vec::new();
            for ws in store.workspaces()? {
                let slug = crate::model::Workspace::parse(&ws.slug)?;
                let scope = crate::store::Scope::new(slug.clone(), "metrics");
                let documents: u64 = store.stats(&scope, None)?.iter().map(|s| s.documents).sum();
                out.push((ws.slug, store.usage(&slug)?.used_bytes, documents));
            }
            Ok(out)
        })
        .await;
    let metrics = &state.inner.metrics;
    match sizes {
        Ok(sizes) => {
            for (workspace, bytes, documents) in sizes {
                let labels = WorkspaceLabels { workspace };
                metrics.store_bytes.get_or_create(&labels).set(bytes as i64);
                metrics
                    .store_documents
                    .get_or_create(&labels)
                    .set(documents as i64);
            }
        }
        Err(e) => tracing::warn!(error = %e.0, "metrics: cannot read the store's sizes"),
    }
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &metrics.registry) {
        return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    }
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}
