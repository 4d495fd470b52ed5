//! The worker: a background thread that runs the store calls `update` asks for and sends
//! each result back as an `Action`, so the UI never waits on storage. Superseded loads
//! (the user moved on before they ran) are skipped.

use super::action::{Action, BulkWrite, Effect, KeyRow, Loaded, Page, SaveOutcome};
use super::components::keys::PAGE;
use crate::config::TuiConfig;
use crate::error::{ErrorKind, Result};
use crate::model::{Key, Namespace};
use crate::store::{ListOptions, PutOptions, Scope, Store};
use serde_json::Value;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

pub struct Worker {
    pub store: Arc<Store>,
    pub scope: Scope,
    pub config: TuiConfig,
}

/// Starts the worker thread; effects sent to the returned channel run in order.
pub fn spawn(worker: Worker, out: Sender<Action>) -> Sender<Effect> {
    let (tx, rx) = channel::<Effect>();
    std::thread::Builder::new()
        .name("console-store".into())
        .spawn(move || serve(worker, rx, out))
        .expect("spawning the store thread");
    tx
}

fn serve(worker: Worker, rx: Receiver<Effect>, out: Sender<Action>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        for effect in coalesce(batch) {
            if let Some(action) = worker.run(effect)
                && out.send(action).is_err()
            {
                return;
            }
        }
    }
}

/// Drops loads that a newer load of the same kind supersedes.
pub fn coalesce(batch: Vec<Effect>) -> Vec<Effect> {
    let newest_doc = batch
        .iter()
        .filter_map(|e| match e {
            Effect::LoadDocument { generation, .. } => Some(*generation),
            _ => None,
        })
        .max();
    let newest_keys = batch
        .iter()
        .filter_map(|e| match e {
            Effect::LoadKeys {
                generation,
                cursor: None,
                ..
            } => Some(*generation),
            _ => None,
        })
        .max();
    batch
        .into_iter()
        .filter(|e| match e {
            Effect::LoadDocument { generation, .. } => Some(*generation) == newest_doc,
            Effect::LoadKeys { generation, .. } => newest_keys.is_none_or(|n| *generation >= n),
            _ => true,
        })
        .collect()
}

fn names(ns: &str, key: &str) -> Result<(Namespace, Key)> {
    Ok((Namespace::parse(ns)?, Key::parse(key)?))
}

impl Worker {
    /// Runs one effect against the store.
    pub fn run(&self, effect: Effect) -> Option<Action> {
        let (store, scope) = (&self.store, &self.scope);
        Some(match effect {
            Effect::LoadNamespaces => Action::Namespaces(store.stats(scope, None)),
            Effect::LoadKeys {
                ns,
                cursor,
                generation,
                query,
            } => Action::Keys {
                generation,
                append: cursor.is_some(),
                result: self.page(&ns, cursor, query),
            },
            Effect::LoadDocument {
                ns,
                key,
                generation,
            } => Action::Document {
                generation,
                result: self.document(&ns, &key),
            },
            Effect::Patch {
                ns,
                targets,
                partial,
            } => {
                let action = partial
                    .get(&self.config.action_field)
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let results = targets
                    .into_iter()
                    .map(|(key, version)| {
                        let r = names(&ns, &key).and_then(|(n, k)| {
                            store.patch(scope, &n, &k, partial.clone(), Some(version))
                        });
                        (key, r)
                    })
                    .collect();
                Action::Triaged {
                    ns,
                    action,
                    results,
                }
            }
            Effect::Put {
                ns,
                key,
                value,
                expected_version,
                create_only,
            } => {
                let outcome = self.put(&ns, &key, value, expected_version, create_only);
                Action::Saved { ns, key, outcome }
            }
            Effect::Delete {
                ns,
                key,
                expected_version,
            } => {
                let result = names(&ns, &key)
                    .and_then(|(n, k)| store.delete(scope, &n, &k, Some(expected_version)));
                Action::Deleted { ns, key, result }
            }
            Effect::DeleteNamespace { ns } => {
                let result = Namespace::parse(&ns).and_then(|n| store.delete_namespace(scope, &n));
                Action::NamespaceDeleted { ns, result }
            }
            Effect::Bulk { ns, write, targets } => {
                let results = targets
                    .into_iter()
                    .map(|(key, version)| {
                        let r = names(&ns, &key)
                            .and_then(|(n, k)| self.bulk_one(&n, &k, &write, version));
                        (key, r)
                    })
                    .collect();
                Action::Bulk { ns, results }
            }
            Effect::ExternalEdit { .. }
            | Effect::Quit
            | Effect::Copy { .. }
            | Effect::SwitchProfile { .. } => return None,
            other => return self.run_live(other),
        })
    }

    fn page(
        &self,
        ns: &str,
        cursor: Option<String>,
        query: Option<crate::query::Query>,
    ) -> Result<Page> {
        let n = Namespace::parse(ns)?;
        let page = self.store.list(
            &self.scope,
            &n,
            &ListOptions {
                limit: PAGE,
                cursor,
                prefix: None,
                detail: true,
                // The triage markers come with the page: one request, on either backend.
                fields: vec![
                    self.config.reviewed_field.clone(),
                    self.config.action_field.clone(),
                ],
                query,
            },
        )?;
        let rows = page
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|mut meta| {
                let fields = Value::Object(meta.fields.take().unwrap_or_default());
                let (reviewed, action) = KeyRow::triage(&fields, &self.config);
                KeyRow {
                    meta,
                    reviewed,
                    action,
                }
            })
            .collect();
        Ok(Page {
            rows,
            cursor: page.cursor,
            has_more: page.has_more,
            scanned: page.scanned.unwrap_or(0),
        })
    }

    /// One document of a bulk action, written only if it is still at `version`.
    fn bulk_one(
        &self,
        ns: &Namespace,
        key: &Key,
        write: &BulkWrite,
        version: u64,
    ) -> Result<Option<crate::model::Meta>> {
        let (store, scope) = (&self.store, &self.scope);
        match write {
            BulkWrite::Patch(p) => store
                .patch(scope, ns, key, p.clone(), Some(version))
                .map(Some),
            BulkWrite::Delete => store.delete(scope, ns, key, Some(version)).map(|()| None),
            BulkWrite::Ttl(secs) => {
                let doc = store.get(scope, ns, key)?;
                let opts = PutOptions {
                    expected_version: Some(version),
                    ttl: Some(*secs),
                    ..PutOptions::default()
                };
                store
                    .put(scope, ns, key, doc.value, &opts)
                    .map(|w| Some(w.meta))
            }
        }
    }

    pub(crate) fn document(&self, ns: &str, key: &str) -> Result<Loaded> {
        let (n, k) = names(ns, key)?;
        let mut doc = self.store.get(&self.scope, &n, &k)?;
        let limit = self.config.preview_limit_bytes as usize;
        if doc.meta.size_bytes as usize <= limit {
            return Ok(Loaded { doc, preview: None });
        }
        let text = serde_json::to_string_pretty(&doc.value)?;
        let mut cut = limit.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        doc.value = Value::Null;
        Ok(Loaded {
            doc,
            preview: Some(text[..cut].to_string()),
        })
    }

    fn put(
        &self,
        ns: &str,
        key: &str,
        value: Value,
        expected_version: Option<u64>,
        create_only: bool,
    ) -> SaveOutcome {
        let (n, k) = match names(ns, key) {
            Ok(nk) => nk,
            Err(e) => return SaveOutcome::Failed(e),
        };
        let opts = PutOptions {
            expected_version,
            create_only,
            ..PutOptions::default()
        };
        match self.store.put(&self.scope, &n, &k, value, &opts) {
            Ok(w) => SaveOutcome::Saved(w.meta),
            Err(e) if e.kind == ErrorKind::Conflict => match self.store.get(&self.scope, &n, &k) {
                Ok(d) => SaveOutcome::Conflict(Some(d)),
                Err(e) if e.kind == ErrorKind::NotFound => SaveOutcome::Conflict(None),
                Err(e) => SaveOutcome::Failed(e),
            },
            Err(e) => SaveOutcome::Failed(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Workspace;
    use crate::store::{Backend, SqliteStore};
    use serde_json::json;

    fn worker(dir: &std::path::Path, limit: u64) -> Worker {
        let store = SqliteStore::open(&dir.join("s.db"), Default::default()).unwrap();
        Worker {
            store: Arc::new(Store::new(Backend::Sqlite(store))),
            scope: Scope::new(Workspace::parse("default").unwrap(), "tui"),
            config: TuiConfig {
                preview_limit_bytes: limit,
                ..TuiConfig::default()
            },
        }
    }

    fn put(w: &Worker, key: &str, v: Value) {
        let (n, k) = names("findings", key).unwrap();
        w.store
            .put(&w.scope, &n, &k, v, &PutOptions::default())
            .unwrap();
    }

    #[test]
    fn pages_carry_triage_state_and_big_documents_are_previews() {
        let dir = tempfile::tempdir().unwrap();
        let w = worker(dir.path(), 200);
        put(&w, "a", json!({"reviewed": true, "action": "fix"}));
        put(&w, "b", json!({"reviewed": false}));
        put(&w, "c", json!({"blob": "x".repeat(1000)}));
        let page = w.page("findings", None, None).unwrap();
        let q = crate::query::parse("!reviewed has:blob").unwrap();
        let only = w.page("findings", None, Some(q)).unwrap();
        assert_eq!(only.rows.len(), 1);
        assert_eq!((only.rows[0].meta.key.as_str(), only.scanned), ("c", 3));
        let got: Vec<_> = page
            .rows
            .iter()
            .map(|r| (r.meta.key.as_str(), r.reviewed, r.action.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", true, Some("fix")),
                ("b", false, None),
                ("c", false, None)
            ]
        );
        let big = w.document("findings", "c").unwrap();
        let preview = big.preview.expect("a preview");
        assert!(preview.len() <= 200 && preview.starts_with("{\n  \"blob\": \"xxx"));
        assert_eq!(big.doc.value, Value::Null);
        assert!(w.document("findings", "a").unwrap().preview.is_none());
    }

    #[test]
    fn a_conflicting_put_returns_the_current_document_and_patches_are_conditional() {
        let dir = tempfile::tempdir().unwrap();
        let w = worker(dir.path(), 1 << 20);
        put(&w, "a", json!({"n": 1}));
        put(&w, "a", json!({"n": 2}));
        let outcome = w.put("findings", "a", json!({"n": 3}), Some(1), false);
        let SaveOutcome::Conflict(Some(current)) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!((current.meta.version, current.value), (2, json!({"n": 2})));
        let mut partial = serde_json::Map::new();
        partial.insert("reviewed".into(), json!(true));
        let Some(Action::Triaged { results, .. }) = w.run(Effect::Patch {
            ns: "findings".into(),
            targets: vec![("a".into(), 1), ("a".into(), 2)],
            partial,
        }) else {
            panic!()
        };
        assert_eq!(results[0].1.as_ref().unwrap_err().kind, ErrorKind::Conflict);
        assert_eq!(results[1].1.as_ref().unwrap().version, 3);
    }

    #[test]
    fn superseded_loads_are_dropped() {
        let load = |generation| Effect::LoadDocument {
            ns: "n".into(),
            key: "k".into(),
            generation,
        };
        let keys = |generation, cursor: Option<&str>| Effect::LoadKeys {
            ns: "n".into(),
            cursor: cursor.map(String::from),
            generation,
            query: None,
        };
        let out = coalesce(vec![
            load(1),
            keys(2, Some("c")),
            keys(3, None),
            Effect::LoadNamespaces,
            load(4),
        ]);
        assert_eq!(out, vec![keys(3, None), Effect::LoadNamespaces, load(4)]);
    }
}
