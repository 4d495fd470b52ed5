//! The error envelope of the wire contract and the request id: `ApiError` turns a
//! `crate::error::Error` into `{"error":{..},"metadata":{"request_id"}}` with the status of
//! its kind, and the outermost middleware gives every response an `X-Request-Id` (and the
//! `X-RateLimit-*` budget the `Caller` extractor reported) and turns
//! any other error response (axum's own rejections, 404, 405, 413) into the same envelope.

use super::ratelimit::Budget;
use crate::error::{Error, ErrorKind};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

tokio::task_local! {
    /// The request being handled: its id, for error bodies built deep in a handler, and
    /// the rate-limit budget its key has left, for the response headers.
    static REQUEST: RequestScope;
}

struct RequestScope {
    id: RequestId,
    budget: std::cell::Cell<Option<Budget>>,
}

/// Records the caller's rate-limit budget: the response reports it.
pub fn report_budget(b: Budget) {
    let _ = REQUEST.try_with(|r| r.budget.set(Some(b)));
}

/// A request id: a random prefix per process and a counter, so ids are unique without a
/// system call per request. Shown as `req_` and 24 hex digits.
#[derive(Clone, Copy)]
struct RequestId(u32, u64);

impl RequestId {
    /// `req_`, the process prefix and the counter in hex, written without `fmt`.
    fn text(self) -> [u8; 28] {
        let mut text = *b"req_000000000000000000000000";
        let digits = (u128::from(self.0) << 64) | u128::from(self.1);
        for (i, b) in text[4..].iter_mut().enumerate() {
            *b = b"0123456789abcdef"[(digits >> (92 - 4 * i) & 0xf) as usize];
        }
        text
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(&self.text()).map_err(|_| std::fmt::Error)?)
    }
}

/// Marks a response whose body already is the error envelope.
#[derive(Clone, Copy)]
struct Enveloped;

/// A contract error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

fn current_request_id() -> String {
    REQUEST.try_with(|r| r.id.to_string()).unwrap_or_default()
}

/// The envelope body of an error with `code`.
fn body(code: &str, message: &str, retryable: bool, details: Option<Value>, id: &str) -> Value {
    let mut error = json!({"code": code, "message": message, "is_retryable": retryable});
    if let Some(d) = details {
        error["details"] = d;
    }
    json!({"error": error, "metadata": {"request_id": id}})
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    r.extensions_mut().insert(Enveloped);
    r
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status =
            StatusCode::from_u16(e.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if e.kind == ErrorKind::Internal {
            tracing::error!(message = %e.message, "internal error");
        }
        let details = match e.kind {
            ErrorKind::Conflict => Some(json!({"current_version": e.current_version})),
            ErrorKind::RateLimited => e.retry_after.map(|s| json!({"retry_after": s})),
            _ => None,
        };
        let b = body(
            e.kind.code(),
            &e.message,
            e.kind.is_retryable(),
            details,
            &current_request_id(),
        );
        let mut r = json_response(status, &b);
        if let Some(secs) = e.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

fn new_request_id() -> RequestId {
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let mut buf = [0u8; 4];
        if getrandom::fill(&mut buf).is_err() {
            buf = (crate::model::now_ms() as u32).to_be_bytes();
        }
        u32::from_be_bytes(buf)
    });
    RequestId(
        *prefix,
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    )
}

/// A new request id and the envelope of an INVALID_INPUT error with it, for answers made
/// below the router (a request hyper could not parse).
pub(crate) fn bare_error(message: &str) -> (String, String) {
    let id = new_request_id().to_string();
    let b = body(ErrorKind::InvalidInput.code(), message, false, None, &id);
    (id, b.to_string())
}

/// The code and status an error response that is not ours becomes.
fn foreign(status: StatusCode) -> (StatusCode, &'static str) {
    match status.as_u16() {
        401 => (status, ErrorKind::Unauthorized.code()),
        403 => (status, ErrorKind::Forbidden.code()),
        404 => (status, ErrorKind::NotFound.code()),
        405 => (status, "METHOD_NOT_ALLOWED"),
        413 => (status, ErrorKind::TooLarge.code()),
        // Unprocessable JSON, unsupported media type, bad query...: a bad request.
        400..=499 => (StatusCode::BAD_REQUEST, ErrorKind::InvalidInput.code()),
        _ => (status, ErrorKind::Internal.code()),
    }
}

/// Rewrites an error response produced outside our handlers into the envelope.
async fn envelope_foreign(response: Response, id: &str) -> Response {
    let (parts, old_body) = response.into_parts();
    let text = axum::body::to_bytes(old_body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (status, code) = foreign(parts.status);
    let message = match (parts.status.as_u16(), text.is_empty()) {
        (404, _) => "no such endpoint: see GET /openapi.json".to_string(),
        (405, _) => "this method is not allowed on this path".to_string(),
        (413, _) => "the request body is larger than this server accepts".to_string(),
        (_, true) => parts
            .status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_string(),
        (_, false) => text,
    };
    let retryable = status.is_server_error();
    let mut r = json_response(status, &body(code, &message, retryable, None, id));
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        r.headers_mut().insert(header::ALLOW, allow.clone());
    }
    r
}

/// The outermost layer: request id, envelope for foreign errors, one log line. A plain
/// `tower` layer: `axum::middleware::from_fn` would clone the whole router service and
/// box a second future for every request.
/// It also watches request bodies (see `conn::WatchedBody`): a body may not stall for
/// longer than `body_timeout`, and an answer sent before the body was read says
/// `Connection: close`.
#[derive(Clone, Copy)]
pub struct RequestIdLayer {
    pub body_timeout: std::time::Duration,
}

impl<S> tower::Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> RequestIdService<S> {
        RequestIdService(inner, self.body_timeout)
    }
}

#[derive(Clone)]
pub struct RequestIdService<S>(S, std::time::Duration);

/// Whether a request announces a body (a length above zero, or chunks).
fn has_body(req: &Request<Body>) -> bool {
    let h = req.headers();
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// What a debug-level access log line needs from the request.
type Logged = Option<(axum::http::Method, String, Instant)>;

impl<S> tower::Service<Request<Body>> for RequestIdService<S>
where
    S: tower::Service<Request<Body>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let id = new_request_id();
        let mut body_read = None;
        let req = if has_body(&req) {
            let (parts, body) = req.into_parts();
            let (watched, finished) = super::conn::WatchedBody::new(body, self.1);
            body_read = Some(finished);
            Request::from_parts(parts, Body::new(watched))
        } else {
            req
        };
        // One line per request at debug level (`RUST_LOG=agent_console=debug` for an access
        // log): at info, logging every request would cost more than serving a read.
        let logged = tracing::enabled!(tracing::Level::DEBUG).then(|| {
            (
                req.method().clone(),
                req.uri().path().to_string(),
                Instant::now(),
            )
        });
        let scope = RequestScope {
            id,
            budget: std::cell::Cell::new(None),
        };
        // Creating the handler's future runs none of it: all of it runs inside the scope.
        let handled = self.0.call(req);
        Box::pin(async move {
            let (response, budget) = REQUEST
                .scope(scope, async move {
                    let Ok(response) = handled.await;
                    (response, REQUEST.with(|r| r.budget.get()))
                })
                .await;
            let mut response = finish(response, budget, id, logged).await;
            if body_read.is_some_and(|read| !read.load(std::sync::atomic::Ordering::Relaxed)) {
                // Answered before the body was read: the connection cannot be reused.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        })
    }
}

/// Completes a response: rate-limit headers, the envelope for foreign errors, the access
/// log line and `X-Request-Id`.
async fn finish(
    mut response: Response,
    budget: Option<Budget>,
    id: RequestId,
    logged: Logged,
) -> Response {
    if let Some(b) = budget {
        super::ratelimit::set_headers(response.headers_mut(), b);
    }
    let text = id.text();
    let id = std::str::from_utf8(&text).unwrap_or_default();
    let status = response.status();
    if (status.is_client_error() || status.is_server_error())
        && response.extensions().get::<Enveloped>().is_none()
    {
        response = envelope_foreign(response, id).await;
    }
    if let Some((method, path, started)) = logged {
        tracing::debug!(
            request_id = %id,
            %method,
            path = %crate::text::escape_controls(&path),
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request"
        );
    }
    if let Ok(v) = HeaderValue::from_bytes(&text) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// The answer for paths that match no route.
pub async fn not_found() -> ApiError {
    ApiError(Error::not_found("no such endpoint: see GET /openapi.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_the_prefix_and_the_counter_in_hex() {
        let id = RequestId(0xdead_beef, 0x1234_5678_9abc_def0);
        assert_eq!(id.to_string(), "req_deadbeef123456789abcdef0");
        assert_eq!(RequestId(1, 2).to_string(), "req_000000010000000000000002");
    }
}
