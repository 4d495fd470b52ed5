//! The handlers of the contract's endpoints (`spec/api.md`): namespaces, key listing,
//! document read, put, patch and delete, namespace delete, workspaces and health, with the
//! conditional headers (`If-Match`, `If-None-Match`) and the `ETag` / `X-Storage-*` headers.

use super::envelope::ApiResult;
use super::openapi::{
    DocumentDeleted, DocumentEnvelope, DocumentValue, ErrorEnvelope, Health, KeyList,
    MetadataEnvelope, NamespaceDeleted, NamespaceList, WorkspaceEntry, WorkspaceList,
};
use super::{AppState, Caller};
use crate::error::{Error, Result};
use crate::model::{self, Key, Meta, Namespace};
use crate::store::Usage;
use crate::store::{DEFAULT_LIMIT, ListOptions, PutOptions};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::collections::HashMap;

pub type Params = Query<HashMap<String, String>>;

/// A conditional write's `If-Match`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IfMatch {
    Version(u64),
    /// `*`: the document must exist.
    Any,
}

/// Parses an entity tag: `3`, `"3"` or `W/"3"`.
pub fn parse_etag(text: &str) -> Option<u64> {
    let t = text.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    let t = t
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // No stored version is larger: a bigger one is a mistake, not a conflict.
    t.parse().ok().filter(|v| *v <= model::MAX_VERSION)
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>> {
    super::auth::single_header(headers, name)
}

pub fn if_match(headers: &HeaderMap) -> Result<Option<IfMatch>> {
    let Some(text) = header_text(headers, "if-match")? else {
        return Ok(None);
    };
    if text.trim() == "*" {
        return Ok(Some(IfMatch::Any));
    }
    parse_etag(text)
        .map(|v| Some(IfMatch::Version(v)))
        .ok_or_else(|| {
            Error::invalid(format!(
                "If-Match must be a version such as 3, \"3\" or W/\"3\" (got {})",
                model::shown(text)
            ))
        })
}

fn create_only(headers: &HeaderMap) -> Result<bool> {
    match header_text(headers, "if-none-match")? {
        None => Ok(false),
        Some(t) if t.trim() == "*" => Ok(true),
        Some(t) => Err(Error::invalid(format!(
            "If-None-Match on a write must be * (got {})",
            model::shown(t)
        ))),
    }
}

/// The query parameters each route of the contract takes. Any other is refused rather than
/// ignored: a misspelt `?tll=` or an unsupported `?search=` must not pass for success.
/// Routes not listed here (other surfaces) check their own.
fn known_params(route: &str) -> Option<&'static [&'static str]> {
    Some(match route {
        "/storage/{ns}" => &["limit", "cursor", "prefix", "detail", "fields", "where"],
        "/storage/{ns}/_facets" => &["field", "where"],
        "/storage/{ns}/{key}" => &["ttl", "initial_version", "max_documents"],
        "/storage/_changes" => &["after", "namespace", "limit"],
        "/storage/_watch" | "/storage/{ns}/_watch" | "/storage/{ns}/{key}/_watch" => &["after"],
        "/workspaces"
        | "/storage"
        | "/storage/_stats"
        | "/storage/{ns}/_stats"
        | "/storage/{ns}/{key}/_history"
        | "/storage/{ns}/{key}/_history/{version}"
        | "/storage/{ns}/{key}/_incr" => &[],
        _ => return None,
    })
}

/// Refuses query parameters the route does not take, and any given twice.
pub(crate) fn check_query(parts: &axum::http::request::Parts) -> Result<()> {
    if parts.uri.query().is_none_or(str::is_empty) {
        return Ok(());
    }
    let Some(route) = parts.extensions.get::<axum::extract::MatchedPath>() else {
        return Ok(());
    };
    let Some(known) = known_params(route.as_str()) else {
        return Ok(());
    };
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        .map_err(|e| Error::invalid(format!("the query string is malformed: {e}")))?;
    let mut seen: Vec<String> = Vec::new();
    for (name, _) in pairs {
        if !known.contains(&name.as_str()) {
            let takes = if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            };
            return Err(Error::invalid(format!(
                "unknown query parameter {} (this endpoint takes: {takes})",
                model::shown(&name)
            )));
        }
        if seen.contains(&name) {
            return Err(Error::invalid(format!(
                "the query parameter {name} is given more than once"
            )));
        }
        seen.push(name);
    }
    Ok(())
}

pub fn parse_ns(s: &str) -> Result<Namespace> {
    Namespace::parse(s)
}

pub fn parse_key(s: &str) -> Result<Key> {
    Key::parse(s)
}

pub fn parse_u64(params: &HashMap<String, String>, name: &str) -> Result<Option<u64>> {
    params
        .get(name)
        .map(|v| {
            v.trim().parse::<u64>().map_err(|_| {
                Error::invalid(format!(
                    "{name} must be a non-negative integer (got {})",
                    model::shown(v)
                ))
            })
        })
        .transpose()
}

fn parse_bool(params: &HashMap<String, String>, name: &str) -> Result<bool> {
    match params.get(name).map(|s| s.trim()) {
        None | Some("false") | Some("0") | Some("") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(Error::invalid(format!(
            "{name} must be true or false (got {})",
            model::shown(other)
        ))),
    }
}

pub fn etag(version: u64) -> HeaderValue {
    // `"` digits `"`, written into a stack buffer: every read and write sends one.
    let mut text = [b'"'; 22];
    let mut end = text.len() - 1;
    let mut n = version;
    loop {
        end -= 1;
        text[end] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    HeaderValue::from_bytes(&text[end - 1..]).expect("quotes and digits are a valid header")
}

/// A JSON body with a status and extra headers.
pub fn json_with(status: StatusCode, body: &impl Serialize, headers: HeaderMap) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().extend(headers);
    r
}

/// The headers of a write: ETag (when a version exists) and the workspace's usage.
pub fn write_headers(version: Option<u64>, usage: Usage) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(v) = version {
        h.insert(header::ETAG, etag(v));
    }
    h.insert("x-storage-used", HeaderValue::from(usage.used_bytes));
    if let Some(limit) = usage.limit_bytes {
        h.insert("x-storage-limit", HeaderValue::from(limit));
    }
    h
}

/// Liveness: always 200 while the server runs.
#[utoipa::path(get, path = "/healthz", tag = "extensions",
    responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// The workspace of the key.
#[utoipa::path(get, path = "/workspaces", tag = "storage", security(("bearer" = [])),
    responses((status = 200, body = WorkspaceList), (status = 401, body = ErrorEnvelope)))]
pub async fn workspaces(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<WorkspaceList>> {
    let ws = caller.scope.workspace.clone();
    let name = state
        .run(move |s| {
            let all = s.workspaces()?;
            Ok(all
                .into_iter()
                .find(|w| w.slug == ws.as_str())
                .map(|w| w.name))
        })
        .await?;
    let slug = caller.scope.workspace.as_str().to_string();
    Ok(Json(WorkspaceList {
        workspaces: vec![WorkspaceEntry {
            id: slug.clone(),
            name: name.unwrap_or_else(|| slug.clone()),
            slug,
        }],
    }))
}

/// The namespaces that hold documents, sorted.
#[utoipa::path(get, path = "/storage", tag = "storage", security(("bearer" = [])),
    responses((status = 200, body = NamespaceList), (status = 401, body = ErrorEnvelope)))]
pub async fn list_namespaces(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<NamespaceList>> {
    let namespaces = state.run(move |s| s.namespaces(&caller.scope)).await?;
    Ok(Json(NamespaceList { namespaces }))
}

/// One page of a namespace's keys, in ascending byte order.
#[utoipa::path(get, path = "/storage/{ns}", tag = "storage", security(("bearer" = [])),
    params(
        ("ns" = String, Path, description = "Namespace"),
        ("limit" = Option<u32>, Query, description = "1..=1000, default 100"),
        ("cursor" = Option<String>, Query, description = "From the previous page"),
        ("prefix" = Option<String>, Query, description = "Only keys starting with this"),
        ("detail" = Option<bool>, Query, description = "Add `items`: each key's metadata"),
        ("fields" = Option<String>, Query, description = "Comma-separated top-level members of each value to add as `items[].fields` (implies detail)"),
        ("where" = Option<String>, Query, description = "Only documents matching this query (docs/query.md), e.g. `severity=high !reviewed`. A page examines at most 20,000 documents: it may hold fewer keys than `limit`, even none, while `has_more` is true; `scanned` says how many it examined"),
    ),
    responses((status = 200, body = KeyList), (status = 400, body = ErrorEnvelope)))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
    Query(params): Params,
) -> ApiResult<Response> {
    let ns = parse_ns(&ns)?;
    let limit = match parse_u64(&params, "limit")? {
        None => DEFAULT_LIMIT,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    crate::store::check_limit(limit)?;
    let opts = ListOptions {
        limit,
        cursor: params.get("cursor").filter(|c| !c.is_empty()).cloned(),
        prefix: params.get("prefix").filter(|p| !p.is_empty()).cloned(),
        detail: parse_bool(&params, "detail")?,
        fields: params
            .get("fields")
            .map(|f| {
                f.split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        query: crate::query::parse_opt(params.get("where").map(String::as_str))?,
    };
    let page = state
        .run(move |s| s.list(&caller.scope, &ns, &opts))
        .await?;
    Ok(Json(page).into_response())
}

/// Reads a document; `ETag` is its version.
#[utoipa::path(get, path = "/storage/{ns}/{key}", tag = "storage", security(("bearer" = [])),
    params(("ns" = String, Path), ("key" = String, Path)),
    responses((status = 200, body = DocumentEnvelope, headers(("ETag" = String))),
        (status = 404, body = ErrorEnvelope)))]
pub async fn get_document(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (ns, key) = (parse_ns(&ns)?, parse_key(&key)?);
    let (meta, value) = state.point_read(|s| s.get_raw(&caller.scope, &ns, &key))?;
    // The document envelope is the metadata envelope plus `value`: splice the stored text
    // (compact JSON the store wrote) in rather than parse and re-encode it.
    let mut body = Vec::with_capacity(value.len() + 320);
    serde_json::to_writer(&mut body, &meta).map_err(Error::from)?;
    body.pop();
    body.extend_from_slice(b",\"value\":");
    body.extend_from_slice(value.as_bytes());
    body.push(b'}');
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(header::ETAG, etag(meta.version));
    Ok(r)
}

/// Resolves `If-Match: *` to the current version (CAS keeps it exact). It runs inside the
/// write's job, and reads through the write connection, so it sees the writes queued
/// before it in the same batch.
pub(crate) fn expected(
    store: &crate::store::Store,
    caller: &Caller,
    ns: &Namespace,
    key: &Key,
    cond: Option<IfMatch>,
) -> Result<Option<u64>> {
    match cond {
        None => Ok(None),
        Some(IfMatch::Version(v)) => Ok(Some(v)),
        Some(IfMatch::Any) => match store.current_version(&caller.scope, ns, key)? {
            Some(v) => Ok(Some(v)),
            None => {
                Err(Error::conflict(None, None).with_message("If-Match: * but no document exists"))
            }
        },
    }
}

trait WithMessage {
    fn with_message(self, m: &str) -> Self;
}

impl WithMessage for Error {
    fn with_message(mut self, m: &str) -> Self {
        self.message = m.to_string();
        self
    }
}

/// Creates or replaces a document with the raw JSON body (object or array).
#[utoipa::path(put, path = "/storage/{ns}/{key}", tag = "storage", security(("bearer" = [])),
    params(("ns" = String, Path), ("key" = String, Path),
        ("ttl" = Option<u64>, Query, description = "Seconds until expiry; 0: never"),
        ("initial_version" = Option<u64>, Query, description = "Version the document gets if this write creates it (imports keep their versions); default 1"),
        ("If-Match" = Option<String>, Header, description = "Write only at this version: 3, \"3\", W/\"3\" or *"),
        ("If-None-Match" = Option<String>, Header, description = "`*`: create only")),
    request_body(content = DocumentValue, description = "The document value: a JSON object or array"),
    responses(
        (status = 201, body = MetadataEnvelope, description = "Created",
            headers(("ETag" = String), ("X-Storage-Used" = u64), ("X-Storage-Limit" = u64))),
        (status = 200, body = MetadataEnvelope, description = "Replaced"),
        (status = 400, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn put_document(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, key)): Path<(String, String)>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let (ns, key) = (parse_ns(&ns)?, parse_key(&key)?);
    let cond = if_match(&headers)?;
    let create_only = create_only(&headers)?;
    if create_only && cond.is_some() {
        return Err(Error::invalid("give If-Match or If-None-Match, not both").into());
    }
    let ttl = parse_u64(&params, "ttl")?;
    let initial_version = parse_u64(&params, "initial_version")?;
    let value = model::parse_value(&body)?;
    let who = caller.clone();
    let (written, usage) = state
        .write(&caller, move |s| {
            let expected_version = expected(s, &who, &ns, &key, cond)?;
            let opts = PutOptions {
                expected_version,
                create_only,
                ttl,
                initial_version,
                restore: None,
            };
            s.put(&who.scope, &ns, &key, value, &opts)
        })
        .await?;
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let h = write_headers(Some(written.meta.version), usage);
    Ok(json_with(status, &written.meta, h))
}

/// Merges a JSON object into the stored object (top level; `null` removes a member).
#[utoipa::path(patch, path = "/storage/{ns}/{key}", tag = "storage", security(("bearer" = [])),
    params(("ns" = String, Path), ("key" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Patch only at this version")),
    request_body(content = Object, description = "Members to set; null removes"),
    responses((status = 200, body = MetadataEnvelope),
        (status = 400, body = ErrorEnvelope, description = "Not an object, or the stored value is not"),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn patch_document(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let (ns, key) = (parse_ns(&ns)?, parse_key(&key)?);
    let cond = if_match(&headers)?;
    let partial = model::parse_patch(&body)?;
    let who = caller.clone();
    let (meta, usage): (Meta, _) = state
        .write(&caller, move |s| {
            let expected_version = expected(s, &who, &ns, &key, cond)?;
            s.patch(&who.scope, &ns, &key, partial, expected_version)
        })
        .await?;
    let h = write_headers(Some(meta.version), usage);
    Ok(json_with(StatusCode::OK, &meta, h))
}

/// Deletes a document.
#[utoipa::path(delete, path = "/storage/{ns}/{key}", tag = "storage", security(("bearer" = [])),
    params(("ns" = String, Path), ("key" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Delete only at this version")),
    responses((status = 200, body = DocumentDeleted), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)))]
pub async fn delete_document(
    State(state): State<AppState>,
    caller: Caller,
    Path((ns, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (ns, key) = (parse_ns(&ns)?, parse_key(&key)?);
    let cond = if_match(&headers)?;
    let body = DocumentDeleted {
        deleted: true,
        namespace: ns.as_str().to_string(),
        key: key.as_str().to_string(),
    };
    let who = caller.clone();
    let ((), usage) = state
        .write(&caller, move |s| {
            let expected_version = expected(s, &who, &ns, &key, cond)?;
            s.delete(&who.scope, &ns, &key, expected_version)
        })
        .await?;
    Ok(json_with(StatusCode::OK, &body, write_headers(None, usage)))
}

/// Deletes every document of a namespace.
#[utoipa::path(delete, path = "/storage/{ns}", tag = "storage", security(("bearer" = [])),
    params(("ns" = String, Path)),
    responses((status = 200, body = NamespaceDeleted), (status = 404, body = ErrorEnvelope)))]
pub async fn delete_namespace(
    State(state): State<AppState>,
    caller: Caller,
    Path(ns): Path<String>,
) -> ApiResult<Response> {
    let ns = parse_ns(&ns)?;
    let name = ns.as_str().to_string();
    let who = caller.clone();
    let (n, usage) = state
        .write(&caller, move |s| s.delete_namespace(&who.scope, &ns))
        .await?;
    let body = NamespaceDeleted {
        deleted: true,
        namespace: name,
        documents_deleted: n,
    };
    Ok(json_with(StatusCode::OK, &body, write_headers(None, usage)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_in_every_form() {
        for v in [0, 7, 10, 12345, model::MAX_VERSION] {
            let tag = etag(v);
            assert_eq!(tag.to_str().unwrap(), format!("\"{v}\""));
            assert_eq!(parse_etag(tag.to_str().unwrap()), Some(v));
        }
        assert_eq!(parse_etag("3"), Some(3));
        assert_eq!(parse_etag("\"3\""), Some(3));
        assert_eq!(parse_etag("W/\"3\""), Some(3));
        assert_eq!(parse_etag(" 12 "), Some(12));
        for bad in [
            "abc",
            "",
            "\"\"",
            "-1",
            "W/",
            "3.0",
            "\"3",
            "99999999999999999999999",
            "9223372036854775808",
        ] {
            assert_eq!(parse_etag(bad), None, "{bad}");
        }
    }
}
