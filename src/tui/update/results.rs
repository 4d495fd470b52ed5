//! Results the worker sends back, landing in the state: pages, documents, and the
//! outcome of each write (a conflict is reported, never overwritten). Results of an
//! older generation (the user moved on) are dropped.

use super::{follow_selection, load_document, maybe_more, open_namespace, writes};
use crate::error::{Error, ErrorKind};
use crate::tui::action::{Action, Effect, KeyRow, SaveOutcome};
use crate::tui::app::{App, Modal, Pane};
use crate::tui::components::conflict::ConflictState;
use crate::tui::components::keys::KeysPane;

fn describe(e: &Error) -> String {
    format!("{}: {}", e.kind.code(), e.message)
}

pub(super) fn on_result(app: &mut App, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::Namespaces(result) => namespaces(app, result, fx),
        Action::Keys {
            generation,
            append,
            result,
        } => {
            if generation != app.keys.generation {
                return;
            }
            app.keys.loading = false;
            match result {
                Ok(page) => {
                    let keep = app.keys.selected_key();
                    if append {
                        app.keys.rows.extend(page.rows);
                    } else {
                        app.keys.rows = page.rows;
                        app.keys.view.clear();
                    }
                    app.keys.cursor = page.cursor;
                    app.keys.has_more = page.has_more;
                    app.keys.scanned += page.scanned;
                    app.keys.refresh_view();
                    if let Some(k) = keep
                        && let Some(p) = position(&app.keys, &k)
                    {
                        app.keys.selected = p;
                    }
                    follow_selection(app, fx, false);
                    maybe_more(app, fx);
                }
                Err(e) => app.error(format!("cannot list keys: {}", describe(&e))),
            }
        }
        Action::Document { generation, result } => {
            if generation != app.doc.generation {
                return;
            }
            app.doc.loading = false;
            match result {
                Ok(loaded) => {
                    let cfg = &app.session.config;
                    let triage = loaded
                        .preview
                        .is_none()
                        .then(|| KeyRow::triage(&loaded.doc.value, cfg));
                    if app.keys.ns.as_deref() == Some(loaded.doc.meta.namespace.as_str())
                        && let Some(row) = app.keys.row_mut(&loaded.doc.meta.key)
                    {
                        row.meta = loaded.doc.meta.clone();
                        if let Some((reviewed, action)) = triage {
                            row.reviewed = reviewed;
                            row.action = action;
                        }
                    }
                    app.doc.set(loaded);
                }
                Err(e) => {
                    let text = if e.kind == ErrorKind::NotFound {
                        "not found: deleted meanwhile? (R reloads)".to_string()
                    } else {
                        describe(&e)
                    };
                    app.doc.clear();
                    app.doc.failed = Some(text.clone());
                    if e.kind != ErrorKind::NotFound {
                        app.error(format!("cannot load the document: {text}"));
                    }
                }
            }
        }
        Action::Triaged {
            ns,
            action,
            results,
        } => triaged(app, ns, action, results, fx),
        Action::Saved { ns, key, outcome } => saved(app, ns, key, outcome, fx),
        Action::Bulk { ns, results } => bulk_results(app, ns, results, fx),
        Action::Deleted { ns, key, result } => {
            app.busy = app.busy.saturating_sub(1);
            match result {
                Ok(()) => {
                    app.info(format!("deleted {ns}/{key}"));
                    if app.keys.ns.as_deref() == Some(ns.as_str()) {
                        app.keys.rows.retain(|r| r.meta.key != key);
                        app.keys.marked.remove(&key);
                        app.keys.view.clear();
                        app.keys.refresh_view();
                    }
                    if app.doc.shows() == Some((&ns, &key)) {
                        app.doc.clear();
                    }
                    follow_selection(app, fx, false);
                    app.namespaces.loading = true;
                    fx.push(Effect::LoadNamespaces);
                }
                Err(e) if e.kind == ErrorKind::Conflict => app.error(format!(
                    "{ns}/{key} changed since you saw it: not deleted (R reloads)"
                )),
                Err(e) => app.error(format!("cannot delete {ns}/{key}: {}", describe(&e))),
            }
        }
        Action::NamespaceDeleted { ns, result } => {
            app.busy = app.busy.saturating_sub(1);
            match result {
                Ok(n) => {
                    app.info(format!("deleted {n} documents of namespace {ns}"));
                    if app.keys.ns.as_deref() == Some(ns.as_str()) {
                        let generation = app.keys.generation;
                        app.keys = KeysPane {
                            generation,
                            ..KeysPane::default()
                        };
                        app.doc.clear();
                    }
                    app.namespaces.loading = true;
                    fx.push(Effect::LoadNamespaces);
                }
                Err(e) => app.error(format!("cannot delete namespace {ns}: {}", describe(&e))),
            }
        }
        Action::ExternalEdited(result) => writes::external_done(app, result, fx),
        _ => {}
    }
}

fn position(keys: &KeysPane, key: &str) -> Option<usize> {
    keys.view.iter().position(|&i| keys.rows[i].meta.key == key)
}

fn namespaces(
    app: &mut App,
    result: Result<Vec<crate::store::NamespaceStats>, Error>,
    fx: &mut Vec<Effect>,
) {
    app.namespaces.loading = false;
    let items = match result {
        Ok(items) => items,
        Err(e) => {
            app.error(format!("cannot list namespaces: {}", describe(&e)));
            return;
        }
    };
    let first = !app.namespaces.loaded;
    let keep = app.namespaces.current().map(|s| s.namespace.clone());
    app.namespaces.items = items;
    app.namespaces.loaded = true;
    let find = |name: &str| {
        app.namespaces
            .items
            .iter()
            .position(|s| s.namespace == name)
    };
    app.namespaces.selected = keep
        .as_deref()
        .and_then(find)
        .unwrap_or(app.namespaces.selected)
        .min(app.namespaces.items.len().saturating_sub(1));
    if first && let Some(start) = app.session.start_namespace.clone() {
        match find(&start) {
            Some(i) => {
                app.namespaces.selected = i;
                open_namespace(app, &start, fx);
                app.focus = Pane::Keys;
                return;
            }
            None => app.error(format!("namespace {start} has no documents")),
        }
    }
    if app.keys.ns.is_none()
        && let Some(ns) = app.namespaces.current().map(|s| s.namespace.clone())
    {
        open_namespace(app, &ns, fx);
    }
}

fn triaged(
    app: &mut App,
    ns: String,
    action: Option<String>,
    results: Vec<(String, Result<crate::model::Meta, Error>)>,
    fx: &mut Vec<Effect>,
) {
    app.busy = app.busy.saturating_sub(1);
    let total = results.len();
    let mut ok = 0;
    let mut conflicts = Vec::new();
    let mut failures = Vec::new();
    let mut reload_doc = false;
    for (key, r) in results {
        match r {
            Ok(meta) => {
                ok += 1;
                if app.keys.ns.as_deref() == Some(ns.as_str())
                    && let Some(row) = app.keys.row_mut(&key)
                {
                    row.meta = meta;
                    row.reviewed = true;
                    if action.is_some() {
                        row.action = action.clone();
                    }
                }
                reload_doc |= app.doc.shows() == Some((&ns, &key));
            }
            Err(e) if e.kind == ErrorKind::Conflict => conflicts.push(key),
            Err(e) => failures.push(format!("{key}: {}", describe(&e))),
        }
    }
    app.keys.refresh_view();
    if reload_doc {
        follow_selection(app, fx, true);
    }
    let mut text = if total == 1 && ok == 1 {
        format!(
            "marked reviewed{}",
            action.map(|a| format!(", action {a}")).unwrap_or_default()
        )
    } else {
        format!("{ok} of {total} succeeded")
    };
    if !conflicts.is_empty() {
        text.push_str(&format!(
            "; changed since you saw them (not touched, R reloads): {}",
            conflicts.join(", ")
        ));
    }
    if !failures.is_empty() {
        text.push_str(&format!("; failed: {}", failures.join("; ")));
    }
    if ok == total {
        app.info(text);
    } else {
        app.error(text);
    }
}

fn saved(app: &mut App, ns: String, key: String, outcome: SaveOutcome, fx: &mut Vec<Effect>) {
    app.busy = app.busy.saturating_sub(1);
    let editing = matches!(&app.modal, Some(Modal::Editor(e)) if e.ns == ns && e.key == key);
    match outcome {
        SaveOutcome::Saved(meta) => {
            if editing {
                app.modal = None;
            }
            app.info(format!("saved {ns}/{key} (version {})", meta.version));
            if app.keys.ns.as_deref() == Some(ns.as_str())
                && let Some(row) = app.keys.row_mut(&key)
            {
                row.meta = meta;
            }
            load_document(app, ns, key, fx);
        }
        SaveOutcome::Conflict(current) => {
            if let (true, Some(Modal::Editor(mut e))) = (editing, app.modal.take()) {
                e.saving = false;
                app.modal = Some(Modal::Conflict(Box::new(ConflictState::new(e, current))));
            }
            app.error(format!(
                "CONFLICT: {ns}/{key} changed since you loaded it; nothing was saved"
            ));
        }
        SaveOutcome::Failed(e) => {
            if let Some(Modal::Editor(ed)) = &mut app.modal {
                ed.saving = false;
            }
            app.error(format!("cannot save {ns}/{key}: {}", describe(&e)));
        }
    }
}

/// One chunk of a bulk action came back: rows follow what was written; the dialog counts
/// each outcome and turns into the report after the last chunk.
fn bulk_results(
    app: &mut App,
    ns: String,
    results: Vec<(
        String,
        Result<Option<crate::model::Meta>, crate::error::Error>,
    )>,
    fx: &mut Vec<Effect>,
) {
    use crate::tui::components::bulk::{BulkOp, Outcome, Phase};
    app.busy = app.busy.saturating_sub(1);
    let op = match &app.modal {
        Some(Modal::Bulk(b)) => match &b.phase {
            Phase::Running(op) => Some(op.clone()),
            _ => None,
        },
        _ => None,
    };
    let listed = app.keys.ns.as_deref() == Some(ns.as_str());
    let mut outcomes = Vec::new();
    for (key, r) in results {
        let (outcome, why) = match &r {
            Ok(_) => (Outcome::Done, String::new()),
            Err(e) if matches!(e.kind, ErrorKind::Conflict | ErrorKind::NotFound) => {
                (Outcome::Changed, describe(e))
            }
            Err(e) => (Outcome::Failed, describe(e)),
        };
        match r {
            Ok(Some(meta)) if listed => {
                if let Some(row) = app.keys.row_mut(&key) {
                    row.meta = meta;
                    match &op {
                        Some(BulkOp::Review) => row.reviewed = true,
                        Some(BulkOp::Action(a)) => {
                            row.reviewed = true;
                            row.action = Some(a.clone());
                        }
                        _ => {}
                    }
                }
            }
            Ok(None) if listed => {
                app.keys.rows.retain(|row| row.meta.key != key);
                app.keys.marked.remove(&key);
            }
            _ => {}
        }
        outcomes.push((key, outcome, why));
    }
    app.keys.refresh_view();
    let Some(Modal::Bulk(b)) = &mut app.modal else {
        return;
    };
    b.outcomes.extend(outcomes);
    let (Some(op), true) = (op, b.finished()) else {
        return;
    };
    let report = format!(
        "{}: done {}, changed by someone else {}, failed {}",
        op.label(),
        b.count(Outcome::Done),
        b.count(Outcome::Changed),
        b.count(Outcome::Failed)
    );
    b.phase = Phase::Report(op);
    app.info(report);
    app.namespaces.loading = true;
    fx.push(Effect::LoadNamespaces);
    follow_selection(app, fx, true);
}
