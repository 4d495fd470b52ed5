//! Queries (`where`) and facets on PostgreSQL: the rows of a namespace are read in key
//! order and each is judged by `Query::matches`, the query language's reference meaning,
//! so both backends answer alike by construction. A page examines at most `SCAN_BUDGET`
//! keys (expired rows included, as on SQLite), and says how many it examined.

use super::super::{FacetValue, Facets, KeyPage, ListOptions, MAX_FACET_VALUES, SCAN_BUDGET};
use super::super::{Scope, cursor};
use super::{PostgresStore, stored};
use crate::error::Result;
use crate::model::{self, Namespace};
use crate::query::{Path, Query};
use serde_json::Value;
use std::cmp::Ordering;

impl PostgresStore {
    /// A page of the keys whose documents match `query` (see `ListOptions::query`).
    pub(super) fn list_matching(
        &self,
        scope: &Scope,
        ns: &Namespace,
        opts: &ListOptions,
        query: &Query,
        bounds: (&str, &str, &str),
    ) -> Result<KeyPage> {
        let (after, prefix, upper) = bounds;
        let rows = self.conn()?.query(
            "SELECT key, value, version, size_bytes, created_at, updated_at, updated_by, expires_at
             FROM documents
             WHERE workspace = $1 AND namespace = $2 AND key > $3 AND key >= $4 AND key < $5
             ORDER BY key LIMIT $6",
            &[
                &scope.workspace.as_str(),
                &ns.as_str(),
                &after,
                &prefix,
                &upper,
                &(SCAN_BUDGET as i64),
            ],
        )?;
        let now = model::now_ms();
        let detail = opts.detail || !opts.fields.is_empty();
        let (mut keys, mut items) = (Vec::new(), Vec::new());
        let mut full = false;
        for r in &rows {
            let key: String = r.get(0);
            let row = stored(r, 1);
            if row.expired(now) {
                continue;
            }
            let doc = row.clone().document(ns.as_str(), &key)?;
            if !query.matches(&doc, now) {
                continue;
            }
            if keys.len() == opts.limit {
                full = true;
                break;
            }
            if detail {
                let mut meta = doc.meta;
                if !opts.fields.is_empty() {
                    meta.fields = Some(model::pick_fields(&row.value, &opts.fields));
                }
                items.push(meta);
            }
            keys.push(key);
        }
        let window_end =
            (rows.len() == SCAN_BUDGET).then(|| rows[rows.len() - 1].get::<_, String>(0));
        let (cursor_key, scanned) = if full {
            // Examined up to the last key returned.
            let last = keys.last().cloned();
            let upto = rows
                .iter()
                .position(|r| Some(r.get::<_, String>(0)) == last)
                .map_or(0, |i| i + 1);
            (last, upto)
        } else {
            (window_end, rows.len())
        };
        Ok(KeyPage {
            has_more: cursor_key.is_some(),
            cursor: cursor_key.map(|k| cursor::encode(&k)),
            keys,
            items: detail.then_some(items),
            scanned: Some(scanned as u64),
        })
    }

    /// How the live documents of a namespace matching `query` spread over the values of
    /// the member at `field` (see `Store::facets`).
    pub fn facets(
        &self,
        scope: &Scope,
        ns: &Namespace,
        field: &Path,
        query: Option<&Query>,
    ) -> Result<Facets> {
        let now = model::now_ms();
        let rows = self.conn()?.query(
            "SELECT key, value, version, size_bytes, created_at, updated_at, updated_by, expires_at
             FROM documents
             WHERE workspace = $1 AND namespace = $2 AND (expires_at IS NULL OR expires_at > $3)",
            &[&scope.workspace.as_str(), &ns.as_str(), &now],
        )?;
        let mut facets = Facets {
            field: field.to_string(),
            values: Vec::new(),
            missing: 0,
            total: 0,
        };
        let mut counts: Vec<(Value, u64)> = Vec::new();
        for r in &rows {
            let key: String = r.get(0);
            let doc = stored(r, 1).document(ns.as_str(), &key)?;
            if query.is_some_and(|q| !q.matches(&doc, now)) {
                continue;
            }
            facets.total += 1;
            match field.lookup(&doc.value) {
                None => facets.missing += 1,
                Some(v) => match counts.iter_mut().find(|(seen, _)| same(seen, v)) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((v.clone(), 1)),
                },
            }
        }
        counts.sort_by(|(a, n), (b, m)| m.cmp(n).then_with(|| order(a, b)));
        counts.truncate(MAX_FACET_VALUES);
        facets.values = counts
            .into_iter()
            .map(|(value, count)| FacetValue { value, count })
            .collect();
        Ok(facets)
    }
}

/// SQLite's `json_type` of a value: facets group and order by it first.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(true) => "true",
        Value::Bool(false) => "false",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "real",
        Value::String(_) => "text",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One facet value: the same type and the same value (numbers by their value).
fn same(a: &Value, b: &Value) -> bool {
    type_name(a) == type_name(b) && order(a, b) == Ordering::Equal
}

/// The order of facet values with equal counts, as on SQLite: by type, then value.
fn order(a: &Value, b: &Value) -> Ordering {
    type_name(a).cmp(type_name(b)).then_with(|| match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => model::compact(a).cmp(&model::compact(b)),
    })
}
