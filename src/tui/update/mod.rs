//! The pure heart of the TUI: `update(&mut App, Action) -> Vec<Effect>`. Keys go to the
//! open dialog, else to the focused pane; results from the worker land in the state.
//! No I/O happens here, so every behaviour is unit-tested without a terminal.

mod copy;
mod history;
mod live;
mod modals;
mod mouse;
mod panes;
mod results;
mod writes;

#[cfg(test)]
mod live_tests;
#[cfg(test)]
pub(crate) mod tests;

use super::action::{Action, Effect};
use super::app::{App, Pane};
use ratatui::crossterm::event::{KeyEvent, KeyEventKind};

pub(crate) use panes::run as run_cmd;
pub use writes::triage_patch;

/// Applies one action to the state and says what should happen outside it.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    let mut fx = Vec::new();
    let note = live::observe(app, &action);
    match action {
        Action::Key(key) => {
            if key.kind != KeyEventKind::Release && !live::diff_key(app, &key) {
                on_key(app, key, &mut fx);
            }
        }
        Action::Resize(w, h) => {
            app.width = w;
            app.height = h;
        }
        Action::Feed(item) => live::on_feed(app, item, &mut fx),
        Action::Refreshed { ns, key, result } => live::on_refreshed(app, ns, key, result, &mut fx),
        Action::History { ns, key, result } => history::on_history(app, ns, key, result, &mut fx),
        Action::Version {
            ns,
            key,
            version,
            purpose,
            result,
        } => live::on_version(app, (ns, key, version), purpose, result, &mut fx),
        Action::Undone { entry, result } => history::on_undone(app, entry, result, &mut fx),
        Action::Mouse(m) => mouse::on_mouse(app, m, &mut fx),
        other => results::on_result(app, other, &mut fx),
    }
    if let Some(text) = note {
        app.info(text);
    }
    live::sync(app, &fx);
    fx
}

/// The first effects of a session.
pub fn start(app: &mut App) -> Vec<Effect> {
    app.namespaces.loading = true;
    vec![Effect::LoadNamespaces]
}

fn on_key(app: &mut App, key: KeyEvent, fx: &mut Vec<Effect>) {
    if app.modal.is_some() {
        modals::on_key(app, key, fx);
        return;
    }
    // A key press retires an informational message; an error stays for a few more.
    if let Some(m) = &mut app.message {
        m.age += 1;
        if !m.error || m.age > 3 {
            app.message = None;
        }
    }
    panes::on_key(app, key, fx);
}

/// Lists `ns` from its first page (a new generation: older pages are ignored).
pub(crate) fn open_namespace(app: &mut App, ns: &str, fx: &mut Vec<Effect>) {
    let same = app.keys.ns.as_deref() == Some(ns);
    let generation = app.generation();
    app.keys.ns_docs = app.namespaces.documents(ns).unwrap_or(0);
    let k = &mut app.keys;
    if !same {
        k.rows.clear();
        k.view.clear();
        k.selected = 0;
        k.marked.clear();
        k.filter.clear();
        k.filtering = false;
        k.applied = None;
        k.applied_text.clear();
        k.query_error = None;
        k.offset.set(0);
        app.doc.clear();
    }
    k.ns = Some(ns.to_string());
    k.generation = generation;
    k.loading = true;
    k.cursor = None;
    k.scanned = 0;
    k.cancelled = false;
    fx.push(Effect::LoadKeys {
        ns: ns.to_string(),
        cursor: None,
        generation,
        query: k.applied.clone(),
    });
}

/// Fetches the next page when the selection nears the end of what is loaded.
pub(crate) fn maybe_more(app: &mut App, fx: &mut Vec<Effect>) {
    if !app.keys.wants_more() {
        return;
    }
    let (Some(ns), Some(cursor)) = (app.keys.ns.clone(), app.keys.cursor.clone()) else {
        return;
    };
    app.keys.loading = true;
    fx.push(Effect::LoadKeys {
        ns,
        cursor: Some(cursor),
        generation: app.keys.generation,
        query: app.keys.applied.clone(),
    });
}

/// Loads the selected key's document into the document pane, unless it shows it already.
pub(crate) fn follow_selection(app: &mut App, fx: &mut Vec<Effect>, force: bool) {
    let (Some(ns), Some(key)) = (app.keys.ns.clone(), app.keys.selected_key()) else {
        app.doc.clear();
        return;
    };
    if !force && app.doc.shows() == Some((&ns, &key)) {
        return;
    }
    load_document(app, ns, key, fx);
}

pub(crate) fn load_document(app: &mut App, ns: String, key: String, fx: &mut Vec<Effect>) {
    let generation = app.generation();
    app.doc.generation = generation;
    app.doc.loading = true;
    fx.push(Effect::LoadDocument {
        ns,
        key,
        generation,
    });
}

/// Reloads namespaces, the listed page and the document shown (`R`).
pub(crate) fn reload(app: &mut App, fx: &mut Vec<Effect>) {
    app.namespaces.loading = true;
    fx.push(Effect::LoadNamespaces);
    if let Some(ns) = app.keys.ns.clone() {
        open_namespace(app, &ns, fx);
    }
    if let Some((ns, key)) = app.doc.shows().map(|(n, k)| (n.to_string(), k.to_string())) {
        load_document(app, ns, key, fx);
    }
}

/// Moves focus, in narrow layouts too (where it decides which pane is shown).
pub(crate) fn focus(app: &mut App, pane: Pane, fx: &mut Vec<Effect>) {
    app.focus = pane;
    if pane == Pane::Document {
        follow_selection(app, fx, false);
    }
}
