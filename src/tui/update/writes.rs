//! Commands that write: triage (`r`, the action menu), edit (in app or $EDITOR, then a
//! conditional save), and the delete confirmations. Each refuses at once in a read-only
//! session; every write is conditional on the version the user saw.

use super::{follow_selection, maybe_more};
use crate::model::format_ms;
use crate::tui::action::{BulkWrite, Effect};
use crate::tui::app::{App, Modal, Pane, Session};
use crate::tui::components::bulk::{BulkOp, BulkState, CHUNK};
use crate::tui::components::dialogs::{ConfirmDelete, ConfirmNamespace, Menu};
use crate::tui::components::editor::{EditorState, pretty};
use serde_json::{Map, Value};

/// The merge-patch that marks a document reviewed (and sets its action, when chosen).
pub fn triage_patch(s: &Session, now_ms: i64, action: Option<&str>) -> Map<String, Value> {
    let c = &s.config;
    let mut m = Map::new();
    m.insert(c.reviewed_field.clone(), Value::Bool(true));
    m.insert(
        c.reviewed_at_field.clone(),
        Value::String(format_ms(now_ms)),
    );
    m.insert(
        c.reviewed_by_field.clone(),
        Value::String(s.reviewer.clone()),
    );
    if let Some(a) = action {
        m.insert(c.action_field.clone(), Value::String(a.to_string()));
    }
    m
}

/// True (and says so) when this session refuses writes.
fn refused(app: &mut App) -> bool {
    if app.session.read_only {
        app.error("read-only session: writes are disabled (started with --read-only or a read-only profile)");
    }
    app.session.read_only
}

/// The documents a triage command applies to: the marked keys, else the one in focus,
/// each with the version shown.
fn targets(app: &App) -> Vec<(String, u64)> {
    if !app.keys.marked.is_empty() {
        return app
            .keys
            .view
            .iter()
            .map(|&i| &app.keys.rows[i].meta)
            .filter(|m| app.keys.marked.contains(&m.key))
            .map(|m| (m.key.clone(), m.version))
            .collect();
    }
    focused_document(app)
        .map(|(_, k, v)| vec![(k, v)])
        .unwrap_or_default()
}

/// (namespace, key, version shown) of the document in focus.
fn focused_document(app: &App) -> Option<(String, String, u64)> {
    match app.focus {
        Pane::Document => app.doc.loaded.as_ref().map(|l| {
            let m = &l.doc.meta;
            (m.namespace.clone(), m.key.clone(), m.version)
        }),
        Pane::Keys => {
            let ns = app.keys.ns.clone()?;
            app.keys
                .selected_row()
                .map(|r| (ns, r.meta.key.clone(), r.meta.version))
        }
        Pane::Namespaces => None,
    }
}

pub(super) fn review(app: &mut App, action: Option<String>, fx: &mut Vec<Effect>) {
    if refused(app) {
        return;
    }
    let Some(ns) = app.keys.ns.clone() else {
        return;
    };
    let targets = targets(app);
    if targets.is_empty() {
        app.info("nothing to mark: select a key");
        return;
    }
    let batch = !app.keys.marked.is_empty();
    let partial = triage_patch(&app.session, app.now_ms, action.as_deref());
    app.info(format!(
        "marking {} document{} reviewed…",
        targets.len(),
        if targets.len() == 1 { "" } else { "s" }
    ));
    fx.push(Effect::Patch {
        ns,
        targets,
        partial,
    });
    app.busy += 1;
    app.keys.marked.clear();
    if !batch && let Some(v) = app.keys.next_unreviewed() {
        app.keys.selected = v;
        follow_selection(app, fx, false);
        maybe_more(app, fx);
    }
}

/// Opens the bulk action dialog on every document the query matches (all loaded: the
/// query's scan must have ended).
pub(super) fn bulk(app: &mut App) {
    if refused(app) {
        return;
    }
    let k = &app.keys;
    let Some(ns) = k.ns.clone() else {
        return;
    };
    if k.applied.is_none() {
        app.info("bulk actions work on a query: type / and a query first");
        return;
    }
    if k.has_more {
        app.info("the query has not listed every match yet: wait for it, or narrow it");
        return;
    }
    if k.rows.is_empty() {
        app.info("no document matches the query");
        return;
    }
    let state = BulkState::new(ns, k.applied_text.clone(), k.rows.clone());
    app.modal = Some(Modal::Bulk(Box::new(state)));
}

/// Starts a bulk action: its writes go out in chunks, each reporting when done.
pub(super) fn run_bulk(app: &mut App, b: &BulkState, op: &BulkOp, fx: &mut Vec<Effect>) {
    let write = match op {
        BulkOp::Review => BulkWrite::Patch(triage_patch(&app.session, app.now_ms, None)),
        BulkOp::Action(a) => BulkWrite::Patch(triage_patch(&app.session, app.now_ms, Some(a))),
        BulkOp::Ttl(s) => BulkWrite::Ttl(*s),
        BulkOp::Delete => BulkWrite::Delete,
    };
    let targets: Vec<(String, u64)> = b
        .rows
        .iter()
        .map(|r| (r.meta.key.clone(), r.meta.version))
        .collect();
    for chunk in targets.chunks(CHUNK) {
        fx.push(Effect::Bulk {
            ns: b.ns.clone(),
            write: write.clone(),
            targets: chunk.to_vec(),
        });
        app.busy += 1;
    }
}

pub(super) fn action_menu(app: &mut App) {
    if refused(app) {
        return;
    }
    let Some(ns) = app.keys.ns.clone() else {
        return;
    };
    let targets = targets(app);
    if targets.is_empty() || app.session.config.actions.is_empty() {
        app.info("nothing to act on (select a key; actions come from [tui] actions)");
        return;
    }
    app.modal = Some(Modal::Menu(Menu {
        ns,
        targets,
        selected: 0,
    }));
}

/// Chooses an action from the menu: one patch per target sets it and marks reviewed.
pub(super) fn choose_action(app: &mut App, menu: Menu, fx: &mut Vec<Effect>) {
    let Some(action) = app.session.config.actions.get(menu.selected).cloned() else {
        return;
    };
    let partial = triage_patch(&app.session, app.now_ms, Some(&action));
    app.info(format!(
        "setting {action} on {} document(s)…",
        menu.targets.len()
    ));
    fx.push(Effect::Patch {
        ns: menu.ns,
        targets: menu.targets,
        partial,
    });
    app.busy += 1;
    app.keys.marked.clear();
}

pub(super) fn edit(app: &mut App, external: bool, fx: &mut Vec<Effect>) {
    if refused(app) {
        return;
    }
    let Some((ns, key, _)) = focused_document(app) else {
        return;
    };
    let Some(l) = app.doc.loaded.as_ref().filter(|_| !app.doc.loading) else {
        app.info("the document is still loading");
        return;
    };
    if l.doc.meta.namespace != ns || l.doc.meta.key != key {
        app.info("the document is still loading");
        return;
    }
    if l.preview.is_some() {
        app.error("this document is over the preview limit: too large to edit here");
        return;
    }
    let (version, value) = (l.doc.meta.version, l.doc.value.clone());
    if external {
        fx.push(Effect::ExternalEdit {
            text: pretty(&value),
        });
        app.external = Some((ns, key, version, value));
    } else {
        let e = EditorState::new(&ns, &key, version, value, None);
        app.modal = Some(Modal::Editor(Box::new(e)));
    }
}

/// Saves the editor's text, conditional on the version the edit started from.
pub(super) fn save(app: &mut App, fx: &mut Vec<Effect>) {
    if refused(app) {
        return;
    }
    let Some(Modal::Editor(e)) = &mut app.modal else {
        return;
    };
    if e.saving {
        return;
    }
    match e.parse() {
        Err(msg) => {
            let msg = format!("cannot save: invalid JSON at {msg}");
            app.error(msg);
        }
        Ok(value) => {
            e.saving = true;
            fx.push(Effect::Put {
                ns: e.ns.clone(),
                key: e.key.clone(),
                value,
                expected_version: Some(e.base_version),
                create_only: false,
            });
            app.busy += 1;
        }
    }
}

/// The text $EDITOR left: an unchanged text is a no-op, anything else goes through the
/// in-app editor's save (invalid JSON stays open there, with its error).
pub(super) fn external_done(app: &mut App, result: Result<String, String>, fx: &mut Vec<Effect>) {
    let Some((ns, key, version, value)) = app.external.take() else {
        return;
    };
    let text = match result {
        Ok(t) => t,
        Err(e) => {
            app.error(format!("$EDITOR failed: {e}"));
            return;
        }
    };
    let unchanged = serde_json::from_str::<Value>(&text).is_ok_and(|v| v == value);
    if unchanged {
        app.info("no changes");
        return;
    }
    let e = EditorState::new(&ns, &key, version, value, Some(text.trim_end().to_string()));
    let valid = e.error.is_none();
    app.modal = Some(Modal::Editor(Box::new(e)));
    if valid {
        save(app, fx);
    } else {
        app.error("the edited text is not valid JSON: fix it here, then C-s");
    }
}

pub(super) fn ask_delete(app: &mut App) {
    if refused(app) {
        return;
    }
    if let Some((ns, key, version)) = focused_document(app) {
        app.modal = Some(Modal::ConfirmDelete(ConfirmDelete { ns, key, version }));
    }
}

pub(super) fn ask_delete_namespace(app: &mut App) {
    if refused(app) {
        return;
    }
    if let Some(s) = app.namespaces.current() {
        app.modal = Some(Modal::ConfirmNamespace(ConfirmNamespace {
            ns: s.namespace.clone(),
            documents: s.documents,
            bytes: s.bytes,
            typed: String::new(),
        }));
    }
}
