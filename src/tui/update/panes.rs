//! Keys for the three panes: navigation, drilling in and out, filter and search input,
//! folding, marks and sorting. Writes are handed to `writes`.

use super::{focus, follow_selection, maybe_more, open_namespace, reload, writes};
use crate::tui::action::Effect;
use crate::tui::app::{App, Modal, Pane};
use crate::tui::keymap::Cmd;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(super) fn on_key(app: &mut App, key: KeyEvent, fx: &mut Vec<Effect>) {
    if app.focus == Pane::Keys && app.keys.filtering {
        filter_input(app, key, fx);
        return;
    }
    if app.focus == Pane::Document && app.doc.searching {
        search_input(app, key);
        return;
    }
    if app.focus == Pane::Document && app.doc.pending_z {
        app.doc.pending_z = false;
        match key.code {
            KeyCode::Char('a') => app.doc.toggle_fold(),
            KeyCode::Char('c') => app.doc.set_fold(true),
            KeyCode::Char('o') => app.doc.set_fold(false),
            KeyCode::Char('M') => app.doc.fold_all(true),
            KeyCode::Char('R') => app.doc.fold_all(false),
            _ => {}
        }
        return;
    }
    if let Some(cmd) = app.keymap.lookup(app.context(), &key) {
        run(app, cmd, fx);
    }
}

/// Runs a command in the focused pane (from a key, or chosen in the palette).
pub(crate) fn run(app: &mut App, cmd: Cmd, fx: &mut Vec<Effect>) {
    match cmd {
        Cmd::Up => move_by(app, -1, fx),
        Cmd::Down => move_by(app, 1, fx),
        Cmd::PageUp => move_by(app, -(app.half_page() as isize), fx),
        Cmd::PageDown => move_by(app, app.half_page() as isize, fx),
        Cmd::Top => move_by(app, isize::MIN / 2, fx),
        Cmd::Bottom => move_by(app, isize::MAX / 2, fx),
        Cmd::DrillIn => drill_in(app, fx),
        Cmd::Back => back(app, fx),
        Cmd::NextPane => focus(app, app.focus.next(), fx),
        Cmd::PrevPane => focus(app, app.focus.prev(), fx),
        Cmd::Filter => match app.focus {
            Pane::Keys => app.keys.filtering = true,
            Pane::Document => {
                app.doc.searching = true;
                app.doc.search.clear();
            }
            Pane::Namespaces => {}
        },
        Cmd::SearchNext | Cmd::SearchPrev
            if !app.doc.search_step(cmd == Cmd::SearchNext, false) =>
        {
            app.info("no match");
        }
        Cmd::ToggleFold => app.doc.toggle_fold(),
        Cmd::FoldPrefix => app.doc.pending_z = true,
        Cmd::ToggleMark => {
            if let Some(k) = app.keys.selected_key() {
                if !app.keys.marked.remove(&k) {
                    app.keys.marked.insert(k);
                }
                move_by(app, 1, fx);
            }
        }
        Cmd::UnreviewedOnly => {
            app.keys.unreviewed_only = !app.keys.unreviewed_only;
            app.keys.refresh_view();
            follow_selection(app, fx, false);
            maybe_more(app, fx);
        }
        Cmd::Sort => app.keys.cycle_sort(),
        Cmd::SortReverse => {
            app.keys.reverse = !app.keys.reverse;
            app.keys.refresh_view();
        }
        Cmd::Review => writes::review(app, None, fx),
        Cmd::ActionMenu => writes::action_menu(app),
        Cmd::Edit => writes::edit(app, false, fx),
        Cmd::ExternalEdit => writes::edit(app, true, fx),
        Cmd::Delete => writes::ask_delete(app),
        Cmd::DeleteNamespace => writes::ask_delete_namespace(app),
        Cmd::Reload => reload(app, fx),
        Cmd::Undo | Cmd::History | Cmd::DiffSeen => super::history::on_cmd(app, cmd, fx),
        Cmd::Help => app.modal = Some(Modal::Help { scroll: 0 }),
        Cmd::Quit => {
            app.quit = true;
            fx.push(Effect::Quit);
        }
        Cmd::CopyValue | Cmd::CopyKey | Cmd::CopyPath | Cmd::CopyCommand | Cmd::CopyCurl => {
            super::copy::copy(app, cmd, fx)
        }
        Cmd::Palette => crate::tui::palette::open(app),
        Cmd::Bulk => writes::bulk(app),
        _ => {}
    }
}

pub(super) fn move_by(app: &mut App, delta: isize, fx: &mut Vec<Effect>) {
    match app.focus {
        Pane::Namespaces => {
            let n = &mut app.namespaces;
            let last = n.items.len().saturating_sub(1) as isize;
            let before = n.selected;
            n.selected = (n.selected as isize)
                .saturating_add(delta)
                .clamp(0, last.max(0)) as usize;
            if (n.selected != before || app.keys.ns.is_none())
                && let Some(ns) = app.namespaces.current().map(|s| s.namespace.clone())
            {
                open_namespace(app, &ns, fx);
            }
        }
        Pane::Keys => {
            app.keys.move_by(delta);
            follow_selection(app, fx, false);
            maybe_more(app, fx);
        }
        Pane::Document => app.doc.move_by(delta),
    }
}

fn drill_in(app: &mut App, fx: &mut Vec<Effect>) {
    match app.focus {
        Pane::Namespaces => {
            if let Some(ns) = app.namespaces.current().map(|s| s.namespace.clone()) {
                if app.keys.ns.as_deref() != Some(&ns) {
                    open_namespace(app, &ns, fx);
                }
                focus(app, Pane::Keys, fx);
            }
        }
        Pane::Keys => {
            if app.keys.selected_row().is_some() {
                focus(app, Pane::Document, fx);
            }
        }
        Pane::Document => app.doc.toggle_fold(),
    }
}

fn back(app: &mut App, fx: &mut Vec<Effect>) {
    match app.focus {
        Pane::Namespaces => {}
        Pane::Keys => {
            if app.keys.scanning() {
                // Stop the scan; what it found stays listed.
                app.keys.cancelled = true;
                app.keys.generation = app.generation();
                app.keys.loading = false;
                app.info(format!(
                    "query stopped: {} matches so far",
                    app.keys.rows.len()
                ));
            } else if app.keys.applied.is_some() || !app.keys.filter.is_empty() {
                app.keys.filter.clear();
                run_query(app, fx);
            } else if !app.keys.marked.is_empty() {
                app.keys.marked.clear();
            } else {
                focus(app, Pane::Namespaces, fx);
            }
        }
        Pane::Document => {
            if !app.doc.search.is_empty() {
                app.doc.search.clear();
            } else {
                focus(app, Pane::Keys, fx);
            }
        }
    }
}

fn filter_input(app: &mut App, key: KeyEvent, fx: &mut Vec<Effect>) {
    let k = &mut app.keys;
    match key.code {
        KeyCode::Enter => run_query(app, fx),
        KeyCode::Esc => {
            // Back to the query in force.
            k.filtering = false;
            k.query_error = None;
            k.filter = k.applied_text.clone();
        }
        KeyCode::Backspace => {
            k.filter.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => k.filter.push(c),
        _ => {}
    }
}

/// Sends the typed query to the store: the listing starts again with its matches. A query
/// that does not parse says where, and stays open for editing.
pub(crate) fn run_query(app: &mut App, fx: &mut Vec<Effect>) {
    let cfg = &app.session.config;
    let vocab = crate::query::Vocabulary {
        reviewed_field: cfg.reviewed_field.clone(),
        action_field: cfg.action_field.clone(),
    };
    match crate::query::parse_with(&app.keys.filter, &vocab) {
        Err(e) => app.keys.query_error = Some(e.message),
        Ok(q) => {
            let k = &mut app.keys;
            k.filtering = false;
            k.query_error = None;
            k.applied = (!q.is_empty()).then_some(q);
            k.applied_text = k.filter.clone();
            k.selected = 0;
            k.offset.set(0);
            k.marked.clear();
            if let Some(ns) = k.ns.clone() {
                k.rows.clear();
                k.view.clear();
                open_namespace(app, &ns, fx);
            }
        }
    }
}

fn search_input(app: &mut App, key: KeyEvent) {
    let d = &mut app.doc;
    match key.code {
        KeyCode::Enter => {
            d.searching = false;
            if !d.search_step(true, true) {
                app.info("no match");
            }
        }
        KeyCode::Esc => {
            d.searching = false;
            d.search.clear();
        }
        KeyCode::Backspace => {
            d.search.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => d.search.push(c),
        _ => {}
    }
}
