//! Live updates: the feed thread (it follows the store's change log with `Store::follow`
//! and sends every item into the event loop), the session state that goes with it (the
//! feed's state, the version of each document the user last saw, the edit banner, the
//! "changed since you looked" diff, the undo stack), and the store calls those need,
//! run on the worker thread.

use super::action::{Action, Effect};
use super::diff::{Tag, diff};
use super::undo::{After, Before, UndoEntry, UndoStack};
use super::worker::Worker;
use crate::error::{ErrorKind, Result};
use crate::model::{Key, Meta, Namespace};
use crate::store::{FeedItem, FeedState, PutOptions, Scope, Store};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

/// Why a past version was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionFor {
    /// The diff from the version the user last saw (`c`).
    Seen,
    /// The history view (`H`).
    History,
}

/// "Someone else wrote the document you are editing."
#[derive(Debug, Clone, PartialEq)]
pub struct Banner {
    pub ns: String,
    pub key: String,
    /// `None`: it was deleted.
    pub version: Option<u64>,
    pub by: String,
}

/// A line diff between two versions of the document shown.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffView {
    pub ns: String,
    pub key: String,
    pub from: u64,
    pub to: u64,
    pub lines: Vec<(Tag, String)>,
    pub scroll: usize,
}

impl DiffView {
    pub fn new(ns: &str, key: &str, from: (u64, &Value), to: (u64, &Value)) -> DiffView {
        DiffView {
            ns: ns.to_string(),
            key: key.to_string(),
            from: from.0,
            to: to.0,
            lines: diff_values(from.1, to.1),
            scroll: 0,
        }
    }
}

/// The lines of `new` against `old`, both pretty-printed.
pub fn diff_values(old: &Value, new: &Value) -> Vec<(Tag, String)> {
    let pretty = super::components::editor::pretty;
    let (a, b) = (pretty(old), pretty(new));
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    diff(&a, &b)
        .into_iter()
        .map(|(t, s)| (t, s.to_string()))
        .collect()
}

/// The live part of the session's state.
#[derive(Debug, Default)]
pub struct LiveState {
    /// The feed's state; `None` until the feed reports (no feed in tests).
    pub feed: Option<FeedState>,
    /// Per namespace, per key: the version the user last saw (listed or viewed).
    pub seen: HashMap<String, HashMap<String, u64>>,
    /// The document shown and the version the user had seen before this viewing of it.
    pub base: Option<(String, String, u64)>,
    /// Namespace stats are being re-read for the feed; `stats_dirty`: again after that.
    pub stats_inflight: bool,
    pub stats_dirty: bool,
    /// Documents being re-read for the feed; `refresh_again`: changed again meanwhile.
    pub refreshing: HashSet<(String, String)>,
    pub refresh_again: HashSet<(String, String)>,
    pub banner: Option<Banner>,
    pub diff: Option<DiffView>,
    pub undo: UndoStack,
    /// What the next write recorded for undo is called, when not inferred ("revert").
    pub next_what: Option<&'static str>,
}

impl LiveState {
    pub fn seen(&self, ns: &str, key: &str) -> Option<u64> {
        self.seen.get(ns).and_then(|m| m.get(key)).copied()
    }

    pub fn set_seen(&mut self, ns: &str, key: &str, version: u64) {
        self.seen
            .entry(ns.to_string())
            .or_default()
            .insert(key.to_string(), version);
    }

    /// The user's own write produced `version`: seen, and not "changed since you looked".
    pub fn own_write(&mut self, ns: &str, key: &str, version: u64) {
        self.set_seen(ns, key, version);
        if let Some(base) = &mut self.base
            && base.0 == ns
            && base.1 == key
        {
            base.2 = version;
        }
    }

    pub fn forget(&mut self, ns: &str, key: &str) {
        if let Some(m) = self.seen.get_mut(ns) {
            m.remove(key);
        }
    }
}

/// Starts the feed thread: it follows every namespace of the workspace from now on and
/// sends each item as `Action::Feed`; when following fails it says "offline", waits and
/// resumes after the last change it passed on, so nothing is missed.
pub fn spawn_feed(store: Arc<Store>, scope: Scope, out: Sender<Action>) {
    let _ = std::thread::Builder::new()
        .name("console-feed".into())
        .spawn(move || follow_forever(&store, &scope, &out));
}

fn follow_forever(store: &Store, scope: &Scope, out: &Sender<Action>) {
    let mut last: Option<u64> = None;
    loop {
        let after = match last {
            Some(s) => s,
            None => match store.last_seq(scope) {
                Ok(s) => s,
                Err(_) => {
                    if out
                        .send(Action::Feed(FeedItem::State(FeedState::Offline)))
                        .is_err()
                    {
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            },
        };
        last = Some(after);
        let mut gone = false;
        let result = store.follow(scope, None, after, |item| {
            if let FeedItem::Change(c) = &item {
                last = Some(c.seq);
            }
            gone = out.send(Action::Feed(item)).is_err();
            !gone
        });
        if gone || result.is_ok() {
            return;
        }
        if out
            .send(Action::Feed(FeedItem::State(FeedState::Offline)))
            .is_err()
        {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn names(ns: &str, key: &str) -> Result<(Namespace, Key)> {
    Ok((Namespace::parse(ns)?, Key::parse(key)?))
}

impl Worker {
    /// Runs the effects of live updates, history and undo.
    pub fn run_live(&self, effect: Effect) -> Option<Action> {
        let (store, scope) = (&self.store, &self.scope);
        Some(match effect {
            Effect::Refresh { ns, key } => {
                let result = match self.document(&ns, &key) {
                    Ok(l) => Ok(Some(l)),
                    Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                };
                Action::Refreshed { ns, key, result }
            }
            Effect::LoadHistory { ns, key } => {
                let result = names(&ns, &key).and_then(|(n, k)| store.history(scope, &n, &k));
                Action::History { ns, key, result }
            }
            Effect::LoadVersion {
                ns,
                key,
                version,
                purpose,
            } => {
                let result = names(&ns, &key)
                    .and_then(|(n, k)| store.history_version(scope, &n, &k, version));
                Action::Version {
                    ns,
                    key,
                    version,
                    purpose,
                    result,
                }
            }
            Effect::Undo(entry) => {
                let result = self.undo(&entry);
                Action::Undone { entry, result }
            }
            _ => return None,
        })
    }

    /// Writes back the state before `e`, conditional on the store still holding what
    /// `e` left.
    fn undo(&self, e: &UndoEntry) -> Result<Option<Meta>> {
        let (store, scope) = (&self.store, &self.scope);
        let (n, k) = names(&e.ns, &e.key)?;
        match (&e.before, e.after) {
            (Before::Absent, After::Version(a)) => {
                store.delete(scope, &n, &k, Some(a))?;
                Ok(None)
            }
            (Before::Absent, After::Deleted) => Ok(None),
            (Before::Version { version, value }, after) => {
                if after == After::Deleted
                    && let Ok(d) = store.get(scope, &n, &k)
                {
                    // Someone re-created it since: leave theirs alone.
                    return Err(crate::error::Error::conflict(None, Some(d.meta.version)));
                }
                let value = match value {
                    Some(v) => v.clone(),
                    None => store.history_version(scope, &n, &k, *version)?.value,
                };
                let opts = match after {
                    After::Version(a) => PutOptions {
                        expected_version: Some(a),
                        ..PutOptions::default()
                    },
                    // Re-created above the deleted version, so versions never repeat.
                    After::Deleted => PutOptions {
                        create_only: true,
                        initial_version: Some(version + 1),
                        ..PutOptions::default()
                    },
                };
                Ok(Some(store.put(scope, &n, &k, value, &opts)?.meta))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TuiConfig;
    use crate::model::Workspace;
    use crate::store::{Backend, SqliteStore};
    use serde_json::json;

    fn worker(dir: &std::path::Path) -> Worker {
        let store = SqliteStore::open(&dir.join("s.db"), Default::default()).unwrap();
        Worker {
            store: Arc::new(Store::new(Backend::Sqlite(store))),
            scope: Scope::new(Workspace::parse("default").unwrap(), "tui"),
            config: TuiConfig::default(),
        }
    }

    fn put(w: &Worker, key: &str, v: Value, opts: PutOptions) -> Result<Meta> {
        let (n, k) = names("findings", key).unwrap();
        w.store.put(&w.scope, &n, &k, v, &opts).map(|w| w.meta)
    }

    fn entry(before: Before, after: After) -> UndoEntry {
        UndoEntry {
            ns: "findings".into(),
            key: "a".into(),
            what: "edit",
            before,
            after,
        }
    }

    #[test]
    fn undo_restores_from_history_and_is_conditional() {
        let dir = tempfile::tempdir().unwrap();
        let w = worker(dir.path());
        put(&w, "a", json!({"n": 1}), PutOptions::default()).unwrap();
        put(&w, "a", json!({"n": 2}), PutOptions::default()).unwrap();
        let e = entry(
            Before::Version {
                version: 1,
                value: None,
            },
            After::Version(2),
        );
        let meta = w.undo(&e).unwrap().unwrap();
        assert_eq!(meta.version, 3);
        let (n, k) = names("findings", "a").unwrap();
        assert_eq!(
            w.store.get(&w.scope, &n, &k).unwrap().value,
            json!({"n": 1})
        );
        // The document is at 3 now, not 2: a second undo of the same write is refused.
        assert_eq!(w.undo(&e).unwrap_err().kind, ErrorKind::Conflict);
        // A delete is undone by re-creating the value above the deleted version.
        w.store.delete(&w.scope, &n, &k, Some(3)).unwrap();
        let d = entry(
            Before::Version {
                version: 3,
                value: None,
            },
            After::Deleted,
        );
        assert_eq!(w.undo(&d).unwrap().unwrap().version, 4);
        assert_eq!(
            w.store.get(&w.scope, &n, &k).unwrap().value,
            json!({"n": 1})
        );
        assert_eq!(w.undo(&d).unwrap_err().kind, ErrorKind::Conflict);
    }
}
