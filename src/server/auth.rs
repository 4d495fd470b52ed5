//! Who is calling: the bearer key (or the open workspace of `--no-auth`), the optional
//! `X-Workspace-Id` check, the `updated_by` label, read-only keys and the rate limit.
//! The result is the `Caller` extractor, which every authenticated handler takes and scopes by.

use super::AppState;
use super::envelope::ApiError;
use super::ratelimit;
use crate::error::{Error, ErrorKind};
use crate::store::Scope;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub scope: Scope,
    pub read_only: bool,
    /// The key id; `None` under `--no-auth`.
    pub key_id: Option<String>,
}

/// How the server authenticates.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthMode {
    /// Bearer API keys from the store.
    Keys,
    /// No authentication: every request acts in this workspace (loopback only).
    Open(crate::model::Workspace),
}

fn forbidden(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Forbidden, message)
}

/// The single value of header `name` (`None` when absent). Every header the server acts
/// on is read through here: a header given twice is ambiguous (which one counts depends on
/// the reader), so it is refused with 400, as is a value that is not text.
pub fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, Error> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::invalid(format!(
            "the {name} header is given more than once"
        )));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| Error::invalid(format!("the {name} header is not readable text")))
}

pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, Error> {
    let unauthorized = |m: &str| Error::new(ErrorKind::Unauthorized, m);
    let text = single_header(headers, "authorization")?
        .ok_or_else(|| unauthorized("missing API key: send Authorization: Bearer <key>"))?;
    let malformed = || unauthorized("the Authorization header must be `Bearer <key>`");
    let (scheme, token) = text.trim().split_once(' ').ok_or_else(malformed)?;
    // Exactly one space, and a key without blanks: `Bearer  KEY` is not a well-formed key.
    if !scheme.eq_ignore_ascii_case("bearer")
        || token.is_empty()
        || token.contains(|c: char| c.is_ascii_whitespace())
    {
        return Err(malformed());
    }
    Ok(token)
}

/// The `updated_by` label of a request without a key actor.
fn client_label(headers: &HeaderMap) -> &'static str {
    let client = headers
        .get("x-orchagent-client")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match client.as_deref() {
        Some("cli") => "cli",
        // console's TUI on the remote backend.
        Some("tui") => "tui",
        _ => "api",
    }
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, Error> {
    let (workspace, actor, read_only, key_id) = match &state.inner.options.auth {
        AuthMode::Open(ws) => (ws.clone(), None, false, None),
        AuthMode::Keys => {
            let token = bearer(headers)?;
            let info = state
                .point_read(|s| s.authenticate(token))
                .map_err(|e| e.0)?;
            let ws = crate::model::Workspace::parse(&info.workspace)?;
            (
                ws,
                info.actor.clone(),
                info.read_only,
                Some(info.id.clone()),
            )
        }
    };
    if let Some(v) = single_header(headers, "x-workspace-id")? {
        let named = v.trim();
        if named != workspace.as_str() {
            return Err(forbidden(format!(
                "this key has no access to workspace {}",
                crate::model::shown(named)
            )));
        }
    }
    let actor = actor.unwrap_or_else(|| client_label(headers).to_string());
    Ok(Caller {
        scope: Scope::new(workspace, actor),
        read_only,
        key_id,
    })
}

/// Every authenticated handler takes a `Caller`: extracting it checks the key, the
/// workspace header, read-only keys and the rate limit (whose budget the outermost
/// middleware reports in the `X-RateLimit-*` headers of the response).
impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, Response> {
        let caller = caller(state, &parts.headers)
            .await
            .map_err(|e| ApiError(e).into_response())?;
        super::routes::check_query(parts).map_err(|e| ApiError(e).into_response())?;
        let limiter = &state.inner.limiter;
        if limiter.enabled() {
            let id = caller.key_id.as_deref().unwrap_or("local");
            match limiter.check(id) {
                Ok(b) => super::envelope::report_budget(b),
                Err((e, b)) => {
                    state.inner.metrics.rate_limited();
                    let mut r = ApiError(e).into_response();
                    ratelimit::set_headers(r.headers_mut(), b);
                    return Err(r);
                }
            }
        }
        if caller.read_only && is_write(&parts.method) {
            return Err(ApiError(forbidden("this API key is read-only")).into_response());
        }
        Ok(caller)
    }
}
