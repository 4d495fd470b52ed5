//! The rules of a write, once for every backend that keeps documents itself (SQLite,
//! PostgreSQL): a stored row and the metadata it shows, the conditions of a write
//! (compare-and-swap, create-only), what a patch and an increment make of a stored value,
//! expiry, and the quota check against a workspace's counters. A backend brings the
//! transaction; the decisions are made here.

use super::{PutOptions, Restore, Tier};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{self, Document, Meta};
use serde_json::{Map, Value};

/// A stored document row.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub value: String,
    pub version: u64,
    pub size_bytes: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: String,
    pub expires_at: Option<i64>,
}

impl Stored {
    pub fn meta(&self, ns: &str, key: &str) -> Meta {
        Meta {
            namespace: ns.to_string(),
            key: key.to_string(),
            version: self.version,
            size_bytes: self.size_bytes,
            created_at: model::format_ms(self.created_at),
            updated_at: model::format_ms(self.updated_at),
            updated_by: self.updated_by.clone(),
            expires_at: self.expires_at.map(model::format_ms),
            fields: None,
        }
    }

    pub fn document(self, ns: &str, key: &str) -> Result<Document> {
        let meta = self.meta(ns, key);
        Ok(Document {
            meta,
            value: serde_json::from_str(&self.value)?,
        })
    }

    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

pub(crate) fn not_found(ns: &str, key: &str) -> Error {
    Error::not_found(format!("{ns}/{key} does not exist"))
}

pub(crate) fn namespace_not_found(ns: &str) -> Error {
    Error::not_found(format!("namespace {ns} does not exist"))
}

/// A put's conditions against the live document's version (`None`: none).
pub(crate) fn check_put(opts: &PutOptions, current: Option<u64>) -> Result<()> {
    if opts.create_only && current.is_some() {
        return Err(Error::conflict(None, current));
    }
    if let Some(expected) = opts.expected_version.filter(|e| Some(*e) != current) {
        return Err(Error::conflict(Some(expected), current));
    }
    Ok(())
}

/// A patch's or a delete's `expected` version against the live document's.
pub(crate) fn check_version(expected: Option<u64>, current: u64) -> Result<()> {
    match expected.filter(|e| *e != current) {
        Some(e) => Err(Error::conflict(Some(e), Some(current))),
        None => Ok(()),
    }
}

/// A delete of a document that does not exist.
pub(crate) fn delete_missing(expected: Option<u64>, ns: &str, key: &str) -> Error {
    match expected {
        Some(e) => Error::conflict(Some(e), None),
        None => not_found(ns, key),
    }
}

/// The stored object with `partial` merged in.
pub(crate) fn patched(
    stored: &str,
    partial: Map<String, Value>,
    ns: &str,
    key: &str,
) -> Result<Value> {
    let Value::Object(mut doc) = serde_json::from_str(stored)? else {
        return Err(Error::invalid(format!(
            "{ns}/{key} holds an array; merge-patch needs an object"
        )));
    };
    model::merge_patch(&mut doc, partial);
    Ok(Value::Object(doc))
}

/// The stored object (or a new one) with `by` added to `field`.
pub(crate) fn incremented(
    stored: Option<&str>,
    field: &str,
    by: &serde_json::Number,
    ns: &str,
    key: &str,
) -> Result<Value> {
    let mut doc = match stored {
        None => Map::new(),
        Some(text) => match serde_json::from_str(text)? {
            Value::Object(map) => map,
            _ => {
                return Err(Error::invalid(format!(
                    "{ns}/{key} holds an array, not an object"
                )));
            }
        },
    };
    model::increment(&mut doc, field, by)?;
    Ok(Value::Object(doc))
}

/// The expiry of a put: the restored one, or `ttl` seconds from `now`.
pub(crate) fn put_expiry(opts: &PutOptions, now: i64) -> Result<Option<i64>> {
    match &opts.restore {
        Some(r) => Ok(r.expires_at),
        None => expiry(opts.ttl, now),
    }
}

/// Who wrote a document and when, as a write records it: the write's own (`now`, `actor`,
/// and `created_at` as the row had it) unless the put restores them.
pub(crate) fn stamp<'a>(
    restore: Option<&'a Restore>,
    created_at: i64,
    now: i64,
    actor: &'a str,
) -> Result<(i64, i64, &'a str)> {
    let Some(r) = restore else {
        return Ok((created_at, now, actor));
    };
    let by = &r.updated_by;
    if by.is_empty() || by.len() > 200 || by.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "invalid updated_by {} in the import",
            model::shown(by)
        )));
    }
    Ok((r.created_at, r.updated_at, by))
}

/// The expiry time of a write with `ttl` seconds; 0 or none: never.
pub(crate) fn expiry(ttl: Option<u64>, now: i64) -> Result<Option<i64>> {
    match ttl {
        None | Some(0) => Ok(None),
        Some(secs) if secs <= 100 * 365 * 86_400 => Ok(Some(now + secs as i64 * 1000)),
        Some(_) => Err(Error::invalid(
            "ttl is more than 100 years; use 0 for no expiry",
        )),
    }
}

/// What a backend tells the quota check about the workspace, as its open transaction
/// sees it (each asked only when a limit needs it).
pub(crate) trait Counts {
    /// The documents of the namespace written to; `None` when it does not exist.
    fn namespace_docs(&mut self) -> Result<Option<u64>>;
    /// The namespaces of the workspace.
    fn namespace_count(&mut self) -> Result<u64>;
    /// The bytes the workspace uses.
    fn used_bytes(&mut self) -> Result<u64>;
}

/// One document write, as the quota check sees it.
pub(crate) struct Write<'a> {
    pub ns: &'a str,
    /// Bytes of the new value.
    pub size: u64,
    /// Bytes of the live document it replaces, if any.
    pub live: Option<u64>,
    /// Bytes of an expired row it replaces (still counted until removed), if any.
    pub stale: Option<u64>,
}

fn quota(message: String) -> Error {
    Error::new(ErrorKind::QuotaExceeded, message)
}

/// Checks a write against the workspace's tier; nothing is changed when it refuses.
pub(crate) fn check_quota(tier: Tier, w: &Write<'_>, counts: &mut dyn Counts) -> Result<()> {
    let limits = tier.limits();
    if let Some(max) = limits.max_document_bytes.filter(|max| w.size > *max) {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "the document is {} bytes; this workspace allows at most {max}",
                w.size
            ),
        ));
    }
    if w.live.is_none() && (limits.namespaces.is_some() || limits.docs_per_namespace.is_some()) {
        // An expired row still stored is replaced by this write: it counts no more.
        let ns_docs = counts
            .namespace_docs()?
            .map(|docs| docs.saturating_sub(u64::from(w.stale.is_some())));
        if let (None, Some(max)) = (ns_docs, limits.namespaces)
            && counts.namespace_count()? >= max
        {
            return Err(quota(format!(
                "this workspace already has its maximum of {max} namespaces"
            )));
        }
        if let (Some(docs), Some(max)) = (ns_docs, limits.docs_per_namespace)
            && docs >= max
        {
            return Err(quota(format!(
                "namespace {} already holds its maximum of {max} documents",
                w.ns
            )));
        }
    }
    if let Some(max) = limits.total_bytes {
        let freed = w.live.unwrap_or(0) + w.stale.unwrap_or(0);
        let after = (counts.used_bytes()? + w.size).saturating_sub(freed);
        if after > max {
            return Err(quota(format!(
                "this write would bring the workspace to {after} bytes; its limit is {max}"
            )));
        }
    }
    Ok(())
}
