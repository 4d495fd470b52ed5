//! Live updates in `update`: feed items become targeted re-reads (the changed document,
//! the namespace stats), whose results land in place, keeping the selection, the cursor
//! and the editor's text. After every action `sync` keeps the derived state current: the
//! "changed since you looked" markers, the document's note, the edit banner, and the
//! undo bookkeeping of writes just sent.

use super::{follow_selection, open_namespace};
use crate::error::ErrorKind;
use crate::store::FeedItem;
use crate::tui::action::{Action, Effect, KeyRow, Loaded, SaveOutcome};
use crate::tui::app::{App, Modal, Pane};
use crate::tui::live::{Banner, DiffView, VersionFor};
use crate::tui::undo::{After, Before, Pending};
use ratatui::crossterm::event::KeyEvent;
use serde_json::Value;

/// Re-reads the namespace stats, at most one read in flight.
pub(super) fn stats(app: &mut App, fx: &mut Vec<Effect>) {
    if app.live.stats_inflight {
        app.live.stats_dirty = true;
    } else {
        app.live.stats_inflight = true;
        fx.push(Effect::LoadNamespaces);
    }
}

/// Re-reads one document, at most one read per document in flight.
pub(super) fn refresh(app: &mut App, ns: &str, key: &str, fx: &mut Vec<Effect>) {
    let id = (ns.to_string(), key.to_string());
    if app.live.refreshing.contains(&id) {
        app.live.refresh_again.insert(id);
        return;
    }
    app.live.refreshing.insert(id);
    fx.push(Effect::Refresh {
        ns: ns.to_string(),
        key: key.to_string(),
    });
}

/// Whether a change to `ns/key` touches anything on screen.
fn shown(app: &App, ns: &str, key: &str) -> bool {
    app.keys.ns.as_deref() == Some(ns)
        || app.doc.shows() == Some((ns, key))
        || matches!(&app.modal, Some(Modal::Editor(e)) if e.ns == ns && e.key == key)
        || matches!(&app.modal, Some(Modal::History(h)) if h.ns == ns && h.key == key)
}

pub(super) fn on_feed(app: &mut App, item: FeedItem, fx: &mut Vec<Effect>) {
    match item {
        FeedItem::State(s) => app.live.feed = Some(s),
        FeedItem::Truncated => {
            // Changes were missed: re-read everything shown.
            stats(app, fx);
            if let Some(ns) = app.keys.ns.clone() {
                open_namespace(app, &ns, fx);
            }
            if let Some((ns, key)) = app.doc.shows().map(|(n, k)| (n.to_string(), k.to_string())) {
                refresh(app, &ns, &key, fx);
            }
        }
        FeedItem::Change(c) => {
            stats(app, fx);
            match c.key {
                Some(key) => {
                    if shown(app, &c.namespace, &key) {
                        refresh(app, &c.namespace, &key, fx);
                    }
                }
                None => {
                    // A whole namespace went away.
                    if app.keys.ns.as_deref() == Some(c.namespace.as_str()) {
                        open_namespace(app, &c.namespace.clone(), fx);
                    }
                    if app.doc.shows().map(|(n, _)| n) == Some(c.namespace.as_str()) {
                        app.doc.clear();
                        app.doc.failed = Some("deleted by another writer".into());
                    }
                    app.live.seen.remove(&c.namespace);
                }
            }
        }
    }
}

/// A re-read document lands in place: its row, the document pane (cursor and folds
/// kept), the editor's banner, the history view.
pub(super) fn on_refreshed(
    app: &mut App,
    ns: String,
    key: String,
    result: Result<Option<Loaded>, crate::error::Error>,
    fx: &mut Vec<Effect>,
) {
    let id = (ns.clone(), key.clone());
    app.live.refreshing.remove(&id);
    if app.live.refresh_again.remove(&id) {
        refresh(app, &ns, &key, fx);
    }
    let Ok(found) = result else {
        return;
    };
    let listed = app.keys.ns.as_deref() == Some(ns.as_str());
    match &found {
        Some(loaded) => {
            let meta = &loaded.doc.meta;
            let triage = loaded
                .preview
                .is_none()
                .then(|| KeyRow::triage(&loaded.doc.value, &app.session.config));
            // Under a query, a new document is listed only when it matches (a preview's
            // value is not at hand to tell).
            let wanted = app
                .keys
                .applied
                .as_ref()
                .is_none_or(|q| loaded.preview.is_none() && q.matches(&loaded.doc, app.now_ms));
            if listed {
                match app.keys.row_mut(&key) {
                    Some(row) => {
                        row.meta = meta.clone();
                        if let Some((reviewed, action)) = triage {
                            row.reviewed = reviewed;
                            row.action = action;
                        }
                    }
                    None if wanted => {
                        insert_row(app, meta.clone(), triage.unwrap_or((false, None)))
                    }
                    None => {}
                }
                app.keys.refresh_view();
            }
            let doc_version = app.doc.loaded.as_ref().map(|l| l.doc.meta.version);
            if app.doc.shows() == Some((&ns, &key))
                && !app.doc.loading
                && doc_version != Some(meta.version)
            {
                app.doc.set(loaded.clone());
            }
        }
        None => {
            if listed && app.keys.row_mut(&key).is_some() {
                let keep = app.keys.selected_key();
                app.keys.rows.retain(|r| r.meta.key != key);
                app.keys.marked.remove(&key);
                rebuild_view(app, keep);
                if app.focus == Pane::Keys {
                    follow_selection(app, fx, false);
                }
            }
            if app.doc.shows() == Some((&ns, &key)) {
                app.doc.clear();
                app.doc.failed = Some("deleted by another writer".into());
            }
            app.live.forget(&ns, &key);
        }
    }
    if let Some(Modal::Editor(e)) = &app.modal
        && e.ns == ns
        && e.key == key
    {
        let newer = found.as_ref().map(|l| &l.doc.meta);
        if newer.is_none_or(|m| m.version != e.base_version) {
            app.live.banner = Some(Banner {
                ns: ns.clone(),
                key: key.clone(),
                version: newer.map(|m| m.version),
                by: newer.map(|m| m.updated_by.clone()).unwrap_or_default(),
            });
        }
    }
    if let Some(Modal::History(h)) = &app.modal
        && h.ns == ns
        && h.key == key
        && h.current().map(|m| m.version) != found.as_ref().map(|l| l.doc.meta.version)
    {
        fx.push(Effect::LoadHistory { ns, key });
    }
}

/// A key new to the listed page: inserted in key order when it falls within what is
/// loaded (a key past the last page arrives with that page).
fn insert_row(app: &mut App, meta: crate::model::Meta, (reviewed, action): (bool, Option<String>)) {
    let k = &mut app.keys;
    let inside = !k.has_more || k.rows.last().is_some_and(|r| meta.key < r.meta.key);
    if !inside {
        return;
    }
    let at = k.rows.partition_point(|r| r.meta.key < meta.key);
    // New since the user looked: marked until viewed.
    if let Some(ns) = k.ns.clone()
        && app.live.seen(&ns, &meta.key).is_none()
    {
        app.live.set_seen(&ns, &meta.key, 0);
    }
    let k = &mut app.keys;
    let keep = k.selected_key();
    k.rows.insert(
        at,
        KeyRow {
            meta,
            reviewed,
            action,
        },
    );
    rebuild_view(app, keep);
}

/// Rebuilds the keys view after rows moved, keeping `keep` selected when still there.
fn rebuild_view(app: &mut App, keep: Option<String>) {
    let k = &mut app.keys;
    k.view.clear();
    k.refresh_view();
    if let Some(key) = keep
        && let Some(p) = k.view.iter().position(|&i| k.rows[i].meta.key == key)
    {
        k.selected = p;
    }
}

/// A past version arrived: for the "since you looked" diff or the history view.
pub(super) fn on_version(
    app: &mut App,
    (ns, key, version): (String, String, u64),
    purpose: VersionFor,
    result: Result<crate::model::Document, crate::error::Error>,
    fx: &mut Vec<Effect>,
) {
    match purpose {
        VersionFor::Seen => {
            let doc = match result {
                Ok(d) => d,
                Err(e) => {
                    app.error(format!(
                        "cannot show the diff: {} (R reloads)",
                        if e.kind == ErrorKind::NotFound {
                            format!("version {version} is no longer retained")
                        } else {
                            e.message
                        }
                    ));
                    return;
                }
            };
            let Some(l) = app.doc.loaded.as_ref().filter(|l| l.preview.is_none()) else {
                return;
            };
            if app.doc.shows() != Some((&ns, &key)) {
                return;
            }
            app.live.diff = Some(DiffView::new(
                &ns,
                &key,
                (version, &doc.value),
                (l.doc.meta.version, &l.doc.value),
            ));
        }
        VersionFor::History => super::history::on_version(app, &ns, &key, version, result, fx),
    }
}

/// `c`: shows (or closes) the diff from the version the user last saw.
pub(super) fn toggle_diff(app: &mut App, fx: &mut Vec<Effect>) {
    if app.live.diff.take().is_some() {
        // Closing it acknowledges the change.
        if let (Some(l), Some(base)) = (&app.doc.loaded, &mut app.live.base) {
            base.2 = l.doc.meta.version;
        }
        return;
    }
    let Some(l) = &app.doc.loaded else {
        app.info("no document shown");
        return;
    };
    let (ns, key, v) = (
        l.doc.meta.namespace.clone(),
        l.doc.meta.key.clone(),
        l.doc.meta.version,
    );
    if l.preview.is_some() {
        app.error("this document is over the preview limit: no diff");
        return;
    }
    match app.live.base.clone() {
        Some((bn, bk, b)) if bn == ns && bk == key && b < v => fx.push(Effect::LoadVersion {
            ns,
            key,
            version: b,
            purpose: VersionFor::Seen,
        }),
        _ => app.info(format!("{ns}/{key} has not changed since you last looked")),
    }
}

/// Keys for the diff view when it covers the document pane: movement scrolls it.
pub(super) fn diff_key(app: &mut App, key: &KeyEvent) -> bool {
    use crate::tui::keymap::Cmd;
    if app.modal.is_some() || app.focus != Pane::Document || app.live.diff.is_none() {
        return false;
    }
    let page = app.half_page() as isize;
    let delta = match app.keymap.lookup(app.context(), key) {
        Some(Cmd::Up) => -1,
        Some(Cmd::Down) => 1,
        Some(Cmd::PageUp) => -page,
        Some(Cmd::PageDown) => page,
        Some(Cmd::Top) => isize::MIN / 2,
        Some(Cmd::Bottom) => isize::MAX / 2,
        _ => return false,
    };
    if let Some(d) = &mut app.live.diff {
        let last = d.lines.len().saturating_sub(1) as isize;
        d.scroll = (d.scroll as isize)
            .saturating_add(delta)
            .clamp(0, last.max(0)) as usize;
    }
    true
}

/// Results of the user's writes, seen before they land: successes go on the undo stack
/// and count as seen. Returns a message to show instead of the usual one.
pub(super) fn observe(app: &mut App, action: &Action) -> Option<String> {
    let live = &mut app.live;
    match action {
        Action::Namespaces(_) => {
            live.stats_inflight = false;
            None
        }
        Action::Saved { ns, key, outcome } => {
            let pending = live.undo.take_pending(ns, key)?;
            let SaveOutcome::Saved(meta) = outcome else {
                return None;
            };
            live.own_write(ns, key, meta.version);
            let msg = (pending.what == "revert").then(|| {
                let from = match &pending.before {
                    Before::Version { version, .. } => *version,
                    Before::Absent => 0,
                };
                format!(
                    "reverted {ns}/{key} (v{from} → v{}) — U to undo",
                    meta.version
                )
            });
            live.undo.push(pending.done(After::Version(meta.version)));
            msg
        }
        Action::Triaged { ns, results, .. } => {
            for (key, r) in results {
                let Some(pending) = live.undo.take_pending(ns, key) else {
                    continue;
                };
                if let Ok(meta) = r {
                    live.own_write(ns, key, meta.version);
                    live.undo.push(pending.done(After::Version(meta.version)));
                }
            }
            None
        }
        Action::Deleted { ns, key, result } => {
            let pending = live.undo.take_pending(ns, key)?;
            result.as_ref().ok()?;
            live.forget(ns, key);
            live.undo.push(pending.done(After::Deleted));
            Some(format!("deleted {ns}/{key} — U to undo"))
        }
        _ => None,
    }
}

/// The value of `ns/key` at `version`, when the session has it at hand.
fn value_at(app: &App, ns: &str, key: &str, version: u64) -> Option<Value> {
    if let Some(Modal::Editor(e)) = &app.modal
        && e.ns == ns
        && e.key == key
        && e.base_version == version
    {
        return Some(e.base_value.clone());
    }
    if let Some(Modal::History(h)) = &app.modal
        && h.ns == ns
        && h.key == key
        && let Some(v) = h.values.get(&version)
    {
        return Some(v.clone());
    }
    app.doc
        .loaded
        .as_ref()
        .filter(|l| {
            l.preview.is_none()
                && l.doc.meta.namespace == ns
                && l.doc.meta.key == key
                && l.doc.meta.version == version
        })
        .map(|l| l.doc.value.clone())
}

/// Keeps the derived state current after every action.
pub(super) fn sync(app: &mut App, fx: &[Effect]) {
    record_writes(app, fx);
    // The document shown: the version seen before this viewing, and now this one.
    if let Some(l) = &app.doc.loaded {
        let m = &l.doc.meta;
        let (ns, key, v) = (m.namespace.clone(), m.key.clone(), m.version);
        let same = app
            .live
            .base
            .as_ref()
            .is_some_and(|b| b.0 == ns && b.1 == key);
        if !same {
            let before = app.live.seen(&ns, &key).unwrap_or(v).min(v);
            app.live.base = Some((ns.clone(), key.clone(), before));
        }
        // Versions only grow (a re-created document was forgotten when deleted).
        if app.live.seen(&ns, &key).is_none_or(|s| s < v) {
            app.live.set_seen(&ns, &key, v);
        }
        let base = app.live.base.as_ref().map_or(v, |b| b.2);
        app.doc.note = (base < v).then(|| {
            format!(
                "changed since you last looked: v{base} → v{v}, last by {} · c shows the diff",
                crate::text::escape_controls(&m.updated_by)
            )
        });
    } else {
        app.doc.note = None;
    }
    // The keys list: rows listed for the first time count as seen.
    app.keys.changed.clear();
    if let Some(ns) = app.keys.ns.clone() {
        let seen = app.live.seen.entry(ns).or_default();
        for r in &app.keys.rows {
            match seen.get(r.meta.key.as_str()) {
                Some(&s) if s < r.meta.version => {
                    app.keys.changed.insert(r.meta.key.clone());
                }
                Some(_) => {}
                None => {
                    seen.insert(r.meta.key.clone(), r.meta.version);
                }
            }
        }
    }
    // The banner lives as long as the edit of its document.
    let editing = match &app.modal {
        Some(Modal::Editor(e)) => Some((e.ns.as_str(), e.key.as_str())),
        _ => None,
    };
    if app
        .live
        .banner
        .as_ref()
        .is_some_and(|b| editing != Some((b.ns.as_str(), b.key.as_str())))
    {
        app.live.banner = None;
    }
    if app
        .live
        .diff
        .as_ref()
        .is_some_and(|d| app.doc.shows() != Some((d.ns.as_str(), d.key.as_str())))
    {
        app.live.diff = None;
    }
}

/// Notes each write just sent, with the state before it, for the undo stack.
fn record_writes(app: &mut App, fx: &[Effect]) {
    let what = app.live.next_what.take();
    for e in fx {
        match e {
            Effect::Put {
                ns,
                key,
                expected_version,
                create_only,
                ..
            } => {
                let before = match (expected_version, create_only) {
                    (Some(v), _) => Before::Version {
                        version: *v,
                        value: value_at(app, ns, key, *v),
                    },
                    (None, true) => Before::Absent,
                    (None, false) => continue,
                };
                app.live.undo.pending.push(Pending {
                    ns: ns.clone(),
                    key: key.clone(),
                    what: what.unwrap_or("edit"),
                    before,
                });
            }
            Effect::Patch { ns, targets, .. } => {
                for (key, v) in targets {
                    let value = value_at(app, ns, key, *v);
                    app.live.undo.pending.push(Pending {
                        ns: ns.clone(),
                        key: key.clone(),
                        what: what.unwrap_or("mark reviewed"),
                        before: Before::Version { version: *v, value },
                    });
                }
            }
            Effect::Delete {
                ns,
                key,
                expected_version,
            } => {
                let value = value_at(app, ns, key, *expected_version);
                app.live.undo.pending.push(Pending {
                    ns: ns.clone(),
                    key: key.clone(),
                    what: what.unwrap_or("delete"),
                    before: Before::Version {
                        version: *expected_version,
                        value,
                    },
                });
            }
            _ => {}
        }
    }
}
