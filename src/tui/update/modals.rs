//! Keys while a dialog is open: help, the editor, the conflict view, the delete
//! confirmations and the action menu. The dialog gets every key; Esc leaves it.

use super::{load_document, writes};
use crate::tui::action::Effect;
use crate::tui::app::{App, Modal};
use crate::tui::components::bulk::{BulkOp, BulkState, Phase};
use crate::tui::components::conflict::ConflictState;
use crate::tui::keymap::Cmd;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(super) fn on_key(app: &mut App, key: KeyEvent, fx: &mut Vec<Effect>) {
    let ctx = app.context();
    let cmd = app.keymap.lookup(ctx, &key);
    let Some(modal) = app.modal.take() else {
        return;
    };
    app.modal = match modal {
        Modal::Help { scroll } => match cmd {
            Some(Cmd::Up) => Some(Modal::Help {
                scroll: scroll.saturating_sub(1),
            }),
            Some(Cmd::Down) => Some(Modal::Help {
                scroll: scroll.saturating_add(1),
            }),
            Some(Cmd::Cancel) => None,
            _ => Some(Modal::Help { scroll }),
        },
        Modal::Editor(mut e) => match cmd {
            Some(Cmd::Save) => {
                app.modal = Some(Modal::Editor(e));
                writes::save(app, fx);
                return;
            }
            Some(Cmd::Cancel) if e.saving => Some(Modal::Editor(e)),
            Some(Cmd::Cancel) if e.changed() && !e.discard_armed => {
                e.discard_armed = true;
                Some(Modal::Editor(e))
            }
            Some(Cmd::Cancel) => {
                app.info("edit closed, nothing saved");
                None
            }
            _ => {
                if !e.saving {
                    e.textarea.input(key);
                    e.discard_armed = false;
                    e.check();
                }
                Some(Modal::Editor(e))
            }
        },
        Modal::Conflict(mut c) => match cmd {
            Some(Cmd::ConflictReload) => {
                let (ns, key) = (c.editor.ns.clone(), c.editor.key.clone());
                app.info(format!("reloaded {ns}/{key}: your edit was discarded"));
                load_document(app, ns, key, fx);
                None
            }
            Some(Cmd::ConflictOverwrite) => overwrite(app, c, fx),
            Some(Cmd::ConflictBack) => {
                c.editor.saving = false;
                Some(Modal::Editor(c.editor))
            }
            Some(Cmd::Up) => {
                c.scroll = c.scroll.saturating_sub(1);
                Some(Modal::Conflict(c))
            }
            Some(Cmd::Down) => {
                c.scroll = c.scroll.saturating_add(1);
                Some(Modal::Conflict(c))
            }
            _ => Some(Modal::Conflict(c)),
        },
        Modal::ConfirmDelete(d) => match cmd {
            Some(Cmd::Confirm) => {
                app.info(format!("deleting {}/{}…", d.ns, d.key));
                fx.push(Effect::Delete {
                    ns: d.ns,
                    key: d.key,
                    expected_version: d.version,
                });
                app.busy += 1;
                None
            }
            Some(Cmd::Cancel) => {
                app.info("not deleted");
                None
            }
            _ => Some(Modal::ConfirmDelete(d)),
        },
        Modal::ConfirmNamespace(mut d) => match key.code {
            KeyCode::Esc => {
                app.info("not deleted");
                None
            }
            KeyCode::Enter if d.matches() => {
                app.info(format!("deleting namespace {}…", d.ns));
                fx.push(Effect::DeleteNamespace { ns: d.ns });
                app.busy += 1;
                None
            }
            KeyCode::Enter => {
                app.error(format!("type {} exactly to delete it (Esc cancels)", d.ns));
                Some(Modal::ConfirmNamespace(d))
            }
            KeyCode::Backspace => {
                d.typed.pop();
                Some(Modal::ConfirmNamespace(d))
            }
            KeyCode::Char(ch) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                d.typed.push(ch);
                Some(Modal::ConfirmNamespace(d))
            }
            _ => Some(Modal::ConfirmNamespace(d)),
        },
        Modal::History(h) => super::history::on_key(app, h, cmd, fx),
        Modal::Bulk(b) => bulk_key(app, b, cmd, fx),
        Modal::Palette(p) => crate::tui::palette::on_key(app, p, cmd, key, fx),
        Modal::Menu(mut m) => {
            let n = app.session.config.actions.len();
            let digit = match key.code {
                KeyCode::Char(c @ '1'..='9') => Some(c as usize - '1' as usize),
                _ => None,
            };
            match (cmd, digit) {
                (_, Some(i)) if i < n => {
                    m.selected = i;
                    writes::choose_action(app, m, fx);
                    None
                }
                (Some(Cmd::Up), _) => {
                    m.selected = m.selected.saturating_sub(1);
                    Some(Modal::Menu(m))
                }
                (Some(Cmd::Down), _) => {
                    m.selected = (m.selected + 1).min(n.saturating_sub(1));
                    Some(Modal::Menu(m))
                }
                (Some(Cmd::Confirm), _) => {
                    writes::choose_action(app, m, fx);
                    None
                }
                (Some(Cmd::Cancel), _) => None,
                _ => Some(Modal::Menu(m)),
            }
        }
    };
}

/// Keys of the bulk action dialog: choose, preview, run (keys wait), report.
fn bulk_key(
    app: &mut App,
    mut b: Box<BulkState>,
    cmd: Option<Cmd>,
    fx: &mut Vec<Effect>,
) -> Option<Modal> {
    let choices = BulkOp::choices(&app.session.config.actions);
    match (b.phase.clone(), cmd) {
        (Phase::Choose { selected }, Some(Cmd::Up)) => {
            b.phase = Phase::Choose {
                selected: selected.saturating_sub(1),
            }
        }
        (Phase::Choose { selected }, Some(Cmd::Down)) => {
            b.phase = Phase::Choose {
                selected: (selected + 1).min(choices.len() - 1),
            }
        }
        (Phase::Choose { selected }, Some(Cmd::Confirm)) => {
            b.phase = Phase::Preview(choices[selected].clone())
        }
        (Phase::Preview(op), Some(Cmd::Confirm)) => {
            writes::run_bulk(app, &b, &op, fx);
            app.info(format!("{}: {} documents…", op.label(), b.rows.len()));
            b.phase = Phase::Running(op);
        }
        (Phase::Choose { .. } | Phase::Preview(_), Some(Cmd::Cancel)) => {
            app.info("bulk action cancelled: nothing written");
            return None;
        }
        (Phase::Report(_), Some(Cmd::Confirm | Cmd::Cancel)) => return None,
        _ => {}
    }
    Some(Modal::Bulk(b))
}

/// Writes my edit over theirs, conditional on the version the store has now.
fn overwrite(app: &mut App, c: Box<ConflictState>, fx: &mut Vec<Effect>) -> Option<Modal> {
    let ConflictState {
        mut editor,
        current,
        ..
    } = *c;
    if app.session.read_only {
        return Some(Modal::Editor(editor));
    }
    let Ok(value) = editor.parse() else {
        return Some(Modal::Editor(editor));
    };
    editor.saving = true;
    fx.push(Effect::Put {
        ns: editor.ns.clone(),
        key: editor.key.clone(),
        value,
        expected_version: current.as_ref().map(|d| d.meta.version),
        create_only: current.is_none(),
    });
    app.busy += 1;
    // Later saves from this editor are conditional on the version overwritten.
    if let Some(d) = current {
        editor.base_version = d.meta.version;
        editor.base_value = d.value;
    }
    Some(Modal::Editor(editor))
}
