//! History and undo in `update`: `H` opens a document's versions (each selected one
//! diffed against the current version; revert writes it back, conditional on the current
//! version), `c` the diff since the user last looked, `U` undoes the session's last write
//! (refused when the document changed since).

use super::live;
use crate::error::{Error, ErrorKind};
use crate::model::{Document, Meta};
use crate::tui::action::Effect;
use crate::tui::app::{App, Modal, Pane};
use crate::tui::components::history::HistoryState;
use crate::tui::keymap::Cmd;
use crate::tui::live::VersionFor;
use crate::tui::undo::{After, UndoEntry};

/// The commands of live updates, history and undo from the panes.
pub(super) fn on_cmd(app: &mut App, cmd: Cmd, fx: &mut Vec<Effect>) {
    match cmd {
        Cmd::Undo => undo(app, fx),
        Cmd::History => open(app, fx),
        Cmd::DiffSeen => live::toggle_diff(app, fx),
        _ => {}
    }
}

fn open(app: &mut App, fx: &mut Vec<Effect>) {
    let target = match app.focus {
        Pane::Document => app.doc.shows().map(|(n, k)| (n.to_string(), k.to_string())),
        Pane::Keys => app.keys.ns.clone().zip(app.keys.selected_key()),
        Pane::Namespaces => None,
    };
    let Some((ns, key)) = target else {
        app.info("select a document first");
        return;
    };
    app.modal = Some(Modal::History(Box::new(HistoryState::new(&ns, &key))));
    fx.push(Effect::LoadHistory { ns, key });
}

/// Loads the values the diff needs (the current and the selected version).
fn want_values(h: &HistoryState, fx: &mut Vec<Effect>) {
    let mut want: Vec<u64> = [h.current(), h.selected_meta()]
        .into_iter()
        .flatten()
        .map(|m| m.version)
        .filter(|v| !h.values.contains_key(v))
        .collect();
    want.dedup();
    for version in want {
        fx.push(Effect::LoadVersion {
            ns: h.ns.clone(),
            key: h.key.clone(),
            version,
            purpose: VersionFor::History,
        });
    }
}

fn open_history<'a>(app: &'a mut App, ns: &str, key: &str) -> Option<&'a mut HistoryState> {
    match &mut app.modal {
        Some(Modal::History(h)) if h.ns == ns && h.key == key => Some(h),
        _ => None,
    }
}

pub(super) fn on_history(
    app: &mut App,
    ns: String,
    key: String,
    result: Result<Vec<Meta>, Error>,
    fx: &mut Vec<Effect>,
) {
    let Some(h) = open_history(app, &ns, &key) else {
        return;
    };
    h.loading = false;
    match result {
        Ok(versions) => {
            let keep = h.selected_meta().map(|m| m.version);
            h.versions = versions;
            h.selected = keep
                .and_then(|v| h.versions.iter().position(|m| m.version == v))
                .unwrap_or(usize::from(h.versions.len() > 1));
            h.error = None;
            h.refresh_diff();
            want_values(h, fx);
        }
        Err(e) => h.error = Some(format!("{}: {}", e.kind.code(), e.message)),
    }
}

pub(super) fn on_version(
    app: &mut App,
    ns: &str,
    key: &str,
    version: u64,
    result: Result<Document, Error>,
    _fx: &mut Vec<Effect>,
) {
    let Some(h) = open_history(app, ns, key) else {
        return;
    };
    match result {
        Ok(d) => {
            h.values.insert(version, d.value);
            h.refresh_diff();
        }
        Err(e) => h.error = Some(format!("v{version}: {}", e.message)),
    }
}

/// Keys in the history view; returns the dialog to keep open, if any.
pub(super) fn on_key(
    app: &mut App,
    mut h: Box<HistoryState>,
    cmd: Option<Cmd>,
    fx: &mut Vec<Effect>,
) -> Option<Modal> {
    if h.confirm {
        match cmd {
            Some(Cmd::Confirm) => {
                revert(app, &h, fx);
                return None;
            }
            Some(Cmd::Cancel) => {
                h.confirm = false;
                app.info("not reverted");
            }
            _ => {}
        }
        return Some(Modal::History(h));
    }
    let page = app.half_page();
    match cmd {
        Some(Cmd::Up | Cmd::Down) => {
            let last = h.versions.len().saturating_sub(1);
            h.selected = if cmd == Some(Cmd::Up) {
                h.selected.saturating_sub(1)
            } else {
                (h.selected + 1).min(last)
            };
            h.scroll = 0;
            h.refresh_diff();
            want_values(&h, fx);
        }
        Some(Cmd::PageUp) => h.scroll = h.scroll.saturating_sub(page),
        Some(Cmd::PageDown) => {
            h.scroll = (h.scroll + page).min(h.diff.len().saturating_sub(1));
        }
        Some(Cmd::Revert) => {
            if app.session.read_only {
                app.error("read-only session: writes are disabled");
            } else if h.selected == 0 {
                app.info("that is the current version: choose an older one (j)");
            } else if h
                .selected_meta()
                .is_none_or(|m| !h.values.contains_key(&m.version))
            {
                app.info("that version is still loading");
            } else {
                h.confirm = true;
            }
        }
        Some(Cmd::Cancel) => return None,
        _ => {}
    }
    Some(Modal::History(h))
}

/// Writes the selected version's value back, conditional on the current version.
fn revert(app: &mut App, h: &HistoryState, fx: &mut Vec<Effect>) {
    let (Some(cur), Some(sel)) = (h.current(), h.selected_meta()) else {
        return;
    };
    let Some(value) = h.values.get(&sel.version).cloned() else {
        return;
    };
    app.info(format!("reverting {}/{} to v{}…", h.ns, h.key, sel.version));
    app.live.next_what = Some("revert");
    fx.push(Effect::Put {
        ns: h.ns.clone(),
        key: h.key.clone(),
        value,
        expected_version: Some(cur.version),
        create_only: false,
    });
    app.busy += 1;
}

/// What the session knows of `ns/key` now: `Some(Some(v))` at version v, `Some(None)`
/// absent, `None` unknown (not listed or shown).
/// (A view being reloaded can be older than the list: the newest version known wins.)
fn known_version(app: &App, ns: &str, key: &str) -> Option<Option<u64>> {
    let shown = app
        .doc
        .loaded
        .as_ref()
        .filter(|l| l.doc.meta.namespace == ns && l.doc.meta.key == key)
        .map(|l| l.doc.meta.version);
    let listed = app.keys.ns.as_deref() == Some(ns);
    let row = listed
        .then(|| app.keys.rows.iter().find(|r| r.meta.key == key))
        .flatten()
        .map(|r| r.meta.version);
    match (shown.max(row), listed) {
        (Some(v), _) => Some(Some(v)),
        (None, true) if !app.keys.has_more && !app.keys.loading => Some(None),
        _ => None,
    }
}

fn undo(app: &mut App, fx: &mut Vec<Effect>) {
    if app.session.read_only {
        app.error("read-only session: writes are disabled");
        return;
    }
    let Some(entry) = app.live.undo.entries.pop() else {
        app.info("nothing to undo: no writes of yours in this session");
        return;
    };
    let now = known_version(app, &entry.ns, &entry.key);
    let unchanged = match (entry.after, now) {
        (After::Version(a), Some(Some(v))) => v == a,
        (After::Version(_), Some(None)) => false,
        (After::Deleted, Some(Some(_))) => false,
        _ => true,
    };
    if !unchanged {
        let state = match now {
            Some(Some(v)) => format!("it is at v{v} now"),
            _ => "it was deleted".to_string(),
        };
        app.error(format!(
            "cannot undo the {}: {}/{} changed since ({state}); nothing written",
            entry.what, entry.ns, entry.key
        ));
        return;
    }
    app.info(format!("undoing the {}…", entry.describe()));
    fx.push(Effect::Undo(entry));
    app.busy += 1;
}

pub(super) fn on_undone(
    app: &mut App,
    entry: UndoEntry,
    result: Result<Option<Meta>, Error>,
    fx: &mut Vec<Effect>,
) {
    app.busy = app.busy.saturating_sub(1);
    match result {
        Ok(meta) => {
            match &meta {
                Some(m) => {
                    app.live.own_write(&entry.ns, &entry.key, m.version);
                    app.info(format!(
                        "undid the {} (now v{})",
                        entry.describe(),
                        m.version
                    ));
                }
                None => {
                    app.live.forget(&entry.ns, &entry.key);
                    app.info(format!("undid the {}", entry.describe()));
                }
            }
            if app.keys.ns.as_deref() == Some(entry.ns.as_str())
                && let (Some(m), Some(row)) = (&meta, app.keys.row_mut(&entry.key))
            {
                row.meta = m.clone();
            }
            live::refresh(app, &entry.ns, &entry.key, fx);
            live::stats(app, fx);
        }
        Err(e) if e.kind == ErrorKind::Conflict => app.error(format!(
            "cannot undo the {}: it changed since you wrote it; nothing written (R reloads)",
            entry.describe()
        )),
        Err(e) => app.error(format!(
            "cannot undo the {}: {}",
            entry.describe(),
            e.message
        )),
    }
}
