//! The OpenAPI 3.1 document (`GET /openapi.json`), generated with utoipa from the handler
//! annotations and the body types below. The body types are the ones the handlers send
//! (or, for the store's own types, mirrors checked against them by a test).

use super::{ext, routes, sse};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// A document's metadata (the metadata envelope).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MetadataEnvelope {
    pub namespace: String,
    pub key: String,
    /// 1 on create, +1 on every write.
    pub version: u64,
    /// Bytes of the compact JSON encoding.
    pub size_bytes: u64,
    /// RFC 3339 UTC, millisecond precision.
    pub created_at: String,
    pub updated_at: String,
    /// The key's actor label, `cli` or `api`.
    pub updated_by: String,
    pub expires_at: Option<String>,
}

/// A document: its metadata and its value (an object or array).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DocumentEnvelope {
    pub namespace: String,
    pub key: String,
    #[schema(value_type = DocumentValue)]
    pub value: Value,
    pub version: u64,
    pub size_bytes: u64,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: String,
    pub expires_at: Option<String>,
}

/// A document value: a JSON object or array (scalars and null are refused).
pub struct DocumentValue;

impl utoipa::PartialSchema for DocumentValue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            ArrayBuilder, ObjectBuilder, OneOfBuilder, SchemaType, Type,
        };
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Object))
            .item(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(SchemaType::AnyValue)))
            .description(Some("A JSON object or array"))
            .into()
    }
}

impl ToSchema for DocumentValue {}

/// `GET /storage`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NamespaceList {
    pub namespaces: Vec<String>,
}

/// `GET /storage/{ns}`: one page of keys.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<String>,
    /// Opaque, `[A-Za-z0-9_-]` only; `null` on the last page.
    pub cursor: Option<String>,
    pub has_more: bool,
    /// With `detail=true`: the metadata of each key.
    pub items: Option<Vec<MetadataEnvelope>>,
    /// With `where`: how many documents this page examined, matching or not.
    pub scanned: Option<u64>,
}

/// `GET /storage/{ns}/_facets`: how the documents spread over a member's values.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FacetList {
    /// The member path, as asked.
    pub field: String,
    /// Most frequent first, at most 1000.
    pub values: Vec<FacetValueBody>,
    /// Documents (matching `where`) without the member.
    pub missing: u64,
    /// Documents counted: all that match `where`.
    pub total: u64,
}

/// One value of a member and how many documents hold it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FacetValueBody {
    /// Any JSON value.
    #[schema(value_type = Object)]
    pub value: Value,
    pub count: u64,
}

/// `DELETE /storage/{ns}/{key}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DocumentDeleted {
    pub deleted: bool,
    pub namespace: String,
    pub key: String,
}

/// `DELETE /storage/{ns}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NamespaceDeleted {
    pub deleted: bool,
    pub namespace: String,
    pub documents_deleted: u64,
}

/// One workspace the key can act in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkspaceEntry {
    pub id: String,
    pub name: String,
    pub slug: String,
}

/// `GET /workspaces`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkspaceList {
    pub workspaces: Vec<WorkspaceEntry>,
}

/// Statistics of one namespace.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NamespaceStatsBody {
    pub namespace: String,
    pub documents: u64,
    pub bytes: u64,
    pub created_at: String,
    /// When a document of the namespace was last written.
    pub updated_at: String,
}

/// `GET /storage/_stats`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatsList {
    pub namespaces: Vec<NamespaceStatsBody>,
}

/// `GET /storage/{ns}/{key}/_history`: retained versions, newest (current) first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryList {
    pub namespace: String,
    pub key: String,
    pub versions: Vec<MetadataEnvelope>,
}

/// `POST /storage/{ns}/{key}/_incr`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncrRequest {
    /// The top-level member to add to (created when missing).
    pub field: String,
    /// The amount (default 1); integers stay integers.
    #[schema(value_type = Option<f64>)]
    pub by: Option<serde_json::Number>,
}

/// The data of one `change` event of a change feed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangeEvent {
    /// The event id: resume with `Last-Event-ID: <seq>`.
    pub seq: u64,
    /// `put`, `patch`, `incr`, `delete`, `expire` or `delete_namespace`.
    pub op: String,
    pub namespace: String,
    /// `null` for `delete_namespace`.
    pub key: Option<String>,
    pub version: Option<u64>,
    pub at: String,
    /// The value written (`null` for deletions, or when that version is no longer retained).
    #[schema(value_type = Option<Object>)]
    pub value: Option<Value>,
    /// Single-key feeds only: the value before this change.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub old_value: Option<Value>,
}

/// `GET /storage/_changes`: a slice of the change log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangeBatchBody {
    pub changes: Vec<ChangeRecord>,
    /// The oldest sequence number still retained: a reader behind it has missed changes.
    pub oldest_seq: u64,
    /// The newest sequence number written so far.
    pub last_seq: u64,
}

/// One entry of the change log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangeRecord {
    pub seq: u64,
    pub op: String,
    pub namespace: String,
    pub key: Option<String>,
    pub version: Option<u64>,
    pub at: String,
}

/// The body of every error response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
    pub metadata: ResponseMetadata,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// INVALID_INPUT, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, DOCUMENT_TOO_LARGE,
    /// STORAGE_QUOTA_EXCEEDED, RATE_LIMITED, METHOD_NOT_ALLOWED or INTERNAL_ERROR.
    pub code: String,
    pub message: String,
    pub is_retryable: bool,
    /// Extra context, e.g. `{"current_version": 3}` on a conflict.
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResponseMetadata {
    /// Also sent as `X-Request-Id`.
    pub request_id: String,
}

/// `GET /healthz`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key from `console keys create`."))
                    .build(),
            ),
        );
    }
}

/// Makes the generated document say what the server does, in one place rather than on
/// every handler: every operation that takes a key can answer 401 (no or a bad key) and
/// 400 (a malformed header or an unknown query parameter), `ns` and `key` path parameters
/// carry the pattern the server checks, and `limit` its bounds.
struct Exact;

fn error_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(RefOr::Ref(Ref::from_schema_name("ErrorEnvelope")))),
            )
            .build(),
    )
}

impl Modify for Exact {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::Schema;
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    let r = &mut op.responses.responses;
                    r.entry("401".into()).or_insert_with(|| {
                        error_response("No API key, a malformed one, or a revoked one")
                    });
                    r.entry("400".into()).or_insert_with(|| {
                        error_response(
                            "A malformed request: a header given twice, an unknown query parameter",
                        )
                    });
                }
                for p in op.parameters.iter_mut().flatten() {
                    let RefOr::T(p) = p else { continue };
                    let Some(RefOr::T(Schema::Object(schema))) = p.schema.as_mut() else {
                        continue;
                    };
                    match (p.name.as_str(), &p.parameter_in) {
                        ("ns", utoipa::openapi::path::ParameterIn::Path) => {
                            schema.pattern = Some(crate::model::NAMESPACE_PATTERN.into());
                        }
                        ("key", utoipa::openapi::path::ParameterIn::Path) => {
                            schema.pattern = Some(crate::model::KEY_PATTERN.into());
                        }
                        ("limit", utoipa::openapi::path::ParameterIn::Query) => {
                            schema.minimum = Some(utoipa::Number::UInt(1));
                            schema.maximum = Some(utoipa::Number::UInt(crate::store::MAX_LIMIT));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Agent Storage (console serve)",
        description = "A workspace-scoped JSON document store. Every error is the envelope \
            `ErrorEnvelope`; every response carries `X-Request-Id`. Paths segments starting \
            with `_` are this server's extensions."
    ),
    paths(
        routes::healthz,
        super::metrics::render,
        routes::workspaces,
        routes::list_namespaces,
        routes::list_keys,
        routes::delete_namespace,
        routes::get_document,
        routes::put_document,
        routes::patch_document,
        routes::delete_document,
        ext::stats_all,
        ext::changes,
        ext::stats_namespace,
        ext::facets,
        ext::history,
        ext::history_version,
        ext::incr,
        sse::watch_all,
        sse::watch_namespace,
        sse::watch_key,
    ),
    components(schemas(ChangeEvent)),
    modifiers(&BearerAuth, &Exact),
    tags(
        (name = "storage", description = "The Agent Storage contract"),
        (name = "extensions", description = "This server's own additions"),
    )
)]
pub struct ApiDoc;

/// The document as JSON text, built once.
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into()))
}

/// `GET /openapi.json` (no auth).
pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Document, Meta};
    use crate::store::{KeyPage, NamespaceStats};

    fn fields(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    fn schema_fields(doc: &Value, name: &str) -> Vec<String> {
        fields(&doc["components"]["schemas"][name]["properties"])
    }

    fn meta() -> Meta {
        Meta {
            namespace: "n".into(),
            key: "k".into(),
            version: 1,
            size_bytes: 2,
            created_at: "t".into(),
            updated_at: "t".into(),
            updated_by: "api".into(),
            expires_at: None,
            fields: None,
        }
    }

    #[test]
    fn the_mirrored_schemas_match_what_the_store_types_serialize() {
        let doc: Value = serde_json::from_str(json()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let m = serde_json::to_value(meta()).unwrap();
        assert_eq!(fields(&m), schema_fields(&doc, "MetadataEnvelope"));
        let d = serde_json::to_value(Document {
            meta: meta(),
            value: serde_json::json!({}),
        })
        .unwrap();
        assert_eq!(fields(&d), schema_fields(&doc, "DocumentEnvelope"));
        let page = serde_json::to_value(KeyPage {
            keys: vec![],
            cursor: None,
            has_more: false,
            items: Some(vec![]),
            scanned: Some(0),
        })
        .unwrap();
        assert_eq!(fields(&page), schema_fields(&doc, "KeyList"));
        let facets = serde_json::to_value(crate::store::Facets {
            field: "f".into(),
            values: vec![crate::store::FacetValue {
                value: Value::Null,
                count: 1,
            }],
            missing: 0,
            total: 1,
        })
        .unwrap();
        assert_eq!(fields(&facets), schema_fields(&doc, "FacetList"));
        assert_eq!(
            fields(&facets["values"][0]),
            schema_fields(&doc, "FacetValueBody")
        );
        let stats = serde_json::to_value(NamespaceStats {
            namespace: "n".into(),
            documents: 1,
            bytes: 1,
            created_at: "t".into(),
            updated_at: "t".into(),
        })
        .unwrap();
        assert_eq!(fields(&stats), schema_fields(&doc, "NamespaceStatsBody"));
    }

    #[test]
    fn the_document_says_what_the_server_checks() {
        let doc: Value = serde_json::from_str(json()).unwrap();
        let mut secured = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                    secured += 1;
                    for status in ["400", "401"] {
                        assert!(
                            op["responses"].get(status).is_some(),
                            "{method} {path} documents no {status}"
                        );
                    }
                }
                for p in op["parameters"].as_array().into_iter().flatten() {
                    match (p["name"].as_str(), p["in"].as_str()) {
                        (Some("ns"), Some("path")) => {
                            assert_eq!(p["schema"]["pattern"], crate::model::NAMESPACE_PATTERN)
                        }
                        (Some("key"), Some("path")) => {
                            assert_eq!(p["schema"]["pattern"], crate::model::KEY_PATTERN)
                        }
                        (Some("limit"), Some("query")) => {
                            assert_eq!(p["schema"]["minimum"], 1, "{method} {path}");
                            assert_eq!(p["schema"]["maximum"], 1000, "{method} {path}");
                        }
                        _ => {}
                    }
                }
            }
        }
        assert!(secured > 15, "{secured}");
    }

    #[test]
    fn every_route_is_documented() {
        let doc: Value = serde_json::from_str(json()).unwrap();
        let paths = fields(&doc["paths"]);
        for p in [
            "/healthz",
            "/metrics",
            "/workspaces",
            "/storage",
            "/storage/{ns}",
            "/storage/{ns}/{key}",
            "/storage/_stats",
            "/storage/{ns}/_stats",
            "/storage/{ns}/_facets",
            "/storage/{ns}/_watch",
            "/storage/{ns}/{key}/_watch",
            "/storage/{ns}/{key}/_history",
            "/storage/{ns}/{key}/_history/{version}",
            "/storage/{ns}/{key}/_incr",
        ] {
            assert!(paths.contains(&p.to_string()), "{p} is not documented");
        }
    }
}
