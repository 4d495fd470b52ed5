//! The extension endpoints under reserved `_` segments (besides the change feeds):
//! namespace statistics, document history, one past version, and atomic increment.

use super::envelope::ApiResult;
use super::openapi::ChangeBatchBody;
use super::openapi::{
    DocumentEnvelope, ErrorEnvelope, FacetList, HistoryList, IncrRequest, NamespaceStatsBody,
    StatsList,
};
use super::routes::{etag, json_with, parse_key, parse_ns, write_headers};
use super::{AppState, Caller};
use crate::error::Error;
use crate::model::Meta;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Statistics of every namespace of the workspace.
#[utoipa::path(get, path = "/storage/_stats", tag = "extensions", security(("bearer" = [])),
    responses((status = 200, body = StatsList)))]
pub async fn stats_all(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let stats = state.run(move |s| s.stats(&caller.scope, None)).await?;
    Ok(Json(serde_json::json!({ "namespaces": stats })).into_response())
}

/// The change log after a sequence number, as JSON (the polling form of `_watch`).
#[utoipa::path(get, path = "/storage/_changes", tag = "extensions", security(("bearer" = [])),
    params(("after" = Option<u64>, Query, description = "Changes after this sequence number (default 0)"),
        ("namespace" = Option<String>, Query, description = "Only this namespace"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1-1000 (default 100)")),
    responses((status = 200, body = ChangeBatchBody), (status = 400, body = ErrorEnvelope)))]
pub async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): super::routes::Params,
) -> ApiResult<Response> {
    let after = super::routes::parse_u64(&params, "after")?.unwrap_or(0);
    let limit = super::routes::parse_u64(&params, "limit")?.unwrap_or(100) as usize;
    crate::store::check_limit(limit)?;
    let ns = params
        .get("namespace")
        .map(|n| super::routes::parse_ns(n))
        .transpose()?;
    let batch = state
        .run(move |s| s.changes(&caller.scope, after, ns.as_ref(), limit))
        .await?;
    if after > batch.last_seq {
        return Err(Error::invalid(format!(
            "after={after} is past the end of the change log (last_seq {}): list again, \
             then read changes after last_seq",
            batch.last_seq
        ))
        .into());
    }
    Ok(Json(batch).into_response())
}

/// How the documents of a namespace (those matching `where`) spread over the values of
/// one member: counts, most frequent first.
#[utoipa::path(get, path = "/storage/{ns}/_facets", tag = "extensions", security(("bearer" = [])),
    params(("ns" = String, Path),
        ("field" = String, Query, description = "The member path, dotted into objects: `severity`, `evidence.source`"),
        ("where" = Option<String>, Query, description = "Only documents matching this query (docs/query.md)")),
    responses((status = 200, body = FacetList), (status = 400, body = ErrorEnvelope)))]
pub async fn facets(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
    Query(params): super::routes::Params,
) -> ApiResult<Response> {
    let ns = parse_ns(&ns)?;
    let field = params.get("field").ok_or_else(|| {
        Error::invalid("field is required: the member path to count, like severity")
    })?;
    let field = crate::query::Path::parse(field)?;
    let query = crate::query::parse_opt(params.get("where").map(String::as_str))?;
    let facets = state
        .run(move |s| s.facets(&caller.scope, &ns, &field, query.as_ref()))
        .await?;
    Ok(Json(facets).into_response())
}

/// Statistics of one namespace: documents, bytes, created, last written.
#[utoipa::path(get, path = "/storage/{ns}/_stats", tag = "extensions", security(("bearer" = [])),
    params(("ns" = String, Path)),
    responses((status = 200, body = NamespaceStatsBody), (status = 404, body = ErrorEnvelope)))]
pub async fn stats_namespace(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
) -> ApiResult<Response> {
    let ns = parse_ns(&ns)?;
    let mut stats = state
        .run(move |s| s.stats(&caller.scope, Some(&ns)))
        .await?;
    let one = stats
        .pop()
        .ok_or_else(|| Error::not_found("the namespace does not exist"))?;
    Ok(Json(one).into_response())
}

/// The retained versions of a document, newest (the current one) first.
#[utoipa::path(get, path = "/storage/{ns}/{key}/_history", tag = "extensions",
    security(("bearer" = [])), params(("ns" = String, Path), ("key" = String, Path)),
    responses((status = 200, body = HistoryList), (status = 404, body = ErrorEnvelope)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (ns, key) = (parse_ns(&ns)?, parse_key(&key)?);
    let (n, k) = (ns.as_str().to_string(), key.as_str().to_string());
    let versions: Vec<Meta> = state
        .run(move |s| s.history(&caller.scope, &ns, &key))
        .await?;
    Ok(Json(serde_json::json!({"namespace": n, "key": k, "versions": versions})).into_response())
}

/// One retained version of a document, with its value.
#[utoipa::path(get, path = "/storage/{ns}/{key}/_history/{version}", tag = "extensions",
    security(("bearer" = [])),
    params(("ns" = String, Path), ("key" = String, Path), ("version" = u64, Path)),
    responses((status = 200, body = DocumentEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn history_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, key, version)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let (ns, key) = (parse_ns(&ns)?, parse_key(&key)?);
    let version = super::routes::parse_etag(&version)
        .filter(|v| *v > 0)
        .ok_or_else(|| Error::invalid("the version must be a positive integer"))?;
    let doc = state
        .run(move |s| s.history_version(&caller.scope, &ns, &key, version))
        .await?;
    let mut h = HeaderMap::new();
    h.insert(header::ETAG, etag(doc.meta.version));
    Ok(json_with(StatusCode::OK, &doc, h))
}

/// Atomically adds `by` (default 1) to a numeric member; the document and the member are
/// created when missing. Answers the whole new document.
#[utoipa::path(post, path = "/storage/{ns}/{key}/_incr", tag = "extensions",
    security(("bearer" = [])),
    params(("ns" = String, Path), ("key" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Increment only at this version: 3, \"3\", W/\"3\" or *")),
    request_body(content = IncrRequest),
    responses((status = 200, body = DocumentEnvelope),
        (status = 400, body = ErrorEnvelope, description = "Not a number, not an object, or a sum outside the integer range"),
        (status = 409, body = ErrorEnvelope, description = "If-Match does not match")))]
pub async fn incr(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let (ns, key) = (parse_ns(&ns)?, parse_key(&key)?);
    let cond = super::routes::if_match(&headers)?;
    let req: IncrRequest = serde_json::from_slice(&body).map_err(|e| {
        Error::invalid(format!(
            "the body must be {{\"field\": NAME, \"by\": NUMBER}}: {e}"
        ))
    })?;
    let by = req.by.unwrap_or_else(|| serde_json::Number::from(1));
    let who = caller.clone();
    let (doc, usage) = state
        .write(&caller, move |s| {
            // Checked in the same job as the increment: no write comes in between.
            if let Some(want) = super::routes::expected(s, &who, &ns, &key, cond)? {
                let current = s.current_version(&who.scope, &ns, &key)?;
                if current != Some(want) {
                    return Err(Error::conflict(Some(want), current));
                }
            }
            s.incr(&who.scope, &ns, &key, &req.field, &by)
        })
        .await?;
    let h = write_headers(Some(doc.meta.version), usage);
    Ok(json_with(StatusCode::OK, &doc, h))
}
