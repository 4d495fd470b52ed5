//! The mouse (with `mouse = true`): the wheel scrolls the focused list, a click focuses
//! the pane under it and selects the row clicked. Dialogs ignore the mouse.

use super::focus;
use super::panes::move_by;
use crate::tui::action::Effect;
use crate::tui::app::{App, Modal, Pane};
use crate::tui::view::areas;
use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

/// Rows the wheel moves per notch.
const WHEEL: isize = 3;

pub(super) fn on_mouse(app: &mut App, m: MouseEvent, fx: &mut Vec<Effect>) {
    match (&mut app.modal, m.kind) {
        (Some(Modal::Help { scroll }), MouseEventKind::ScrollDown) => {
            *scroll = scroll.saturating_add(WHEEL as u16)
        }
        (Some(Modal::Help { scroll }), MouseEventKind::ScrollUp) => {
            *scroll = scroll.saturating_sub(WHEEL as u16)
        }
        (Some(_), _) => {}
        (None, MouseEventKind::ScrollDown) => move_by(app, WHEEL, fx),
        (None, MouseEventKind::ScrollUp) => move_by(app, -WHEEL, fx),
        (None, MouseEventKind::Down(MouseButton::Left)) => click(app, m.column, m.row, fx),
        _ => {}
    }
}

fn click(app: &mut App, x: u16, y: u16, fx: &mut Vec<Effect>) {
    let (main, _, panes) = areas(Rect::new(0, 0, app.width, app.height));
    let at = Position::new(x, y);
    let hit = if app.narrow() {
        main.contains(at).then_some((app.focus, main))
    } else {
        [Pane::Namespaces, Pane::Keys, Pane::Document]
            .into_iter()
            .zip(panes)
            .find(|(_, r)| r.contains(at))
    };
    let Some((pane, rect)) = hit else {
        return;
    };
    if pane != app.focus {
        focus(app, pane, fx);
    }
    // Rows inside the border, minus the pane's own header lines.
    let inner_top = rect.y + 1;
    if y < inner_top || y + 1 >= rect.y + rect.height {
        return;
    }
    let row = (y - inner_top) as usize;
    let (top, offset, current, len) = match pane {
        Pane::Namespaces => (
            0,
            app.namespaces.offset.get(),
            app.namespaces.selected,
            app.namespaces.items.len(),
        ),
        Pane::Keys => (
            app.keys.header_rows(),
            app.keys.offset.get(),
            app.keys.selected,
            app.keys.view.len(),
        ),
        Pane::Document => (
            app.doc.text_top(app.now_ms),
            app.doc.offset.get(),
            app.doc.cursor,
            app.doc.visible.len(),
        ),
    };
    let Some(target) = row.checked_sub(top).map(|r| r + offset) else {
        return;
    };
    if target < len {
        move_by(app, target as isize - current as isize, fx);
    }
}

#[cfg(test)]
mod tests {
    use crate::tui::action::Action;
    use crate::tui::app::Pane;
    use crate::tui::update::tests::loaded_app;
    use crate::tui::update::update;
    use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

    fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Action {
        Action::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    }

    #[test]
    fn clicks_focus_and_select_and_the_wheel_scrolls() {
        let mut app = loaded_app(false, 140);
        assert_eq!(app.focus, Pane::Namespaces);
        // Keys pane starts at x = 18% of 140; its rows start below border and header.
        update(
            &mut app,
            mouse(MouseEventKind::Down(MouseButton::Left), 40, 4),
        );
        assert_eq!(app.focus, Pane::Keys);
        assert_eq!(app.keys.selected_key().as_deref(), Some("k3"));
        update(&mut app, mouse(MouseEventKind::ScrollUp, 40, 4));
        assert_eq!(app.keys.selected_key().as_deref(), Some("k1"));
        update(&mut app, mouse(MouseEventKind::ScrollDown, 40, 4));
        assert_eq!(app.keys.selected_key().as_deref(), Some("k4"));
        // A click below the last row selects nothing new.
        update(
            &mut app,
            mouse(MouseEventKind::Down(MouseButton::Left), 40, 20),
        );
        assert_eq!(app.keys.selected_key().as_deref(), Some("k4"));
        // Namespaces: the first row.
        update(
            &mut app,
            mouse(MouseEventKind::Down(MouseButton::Left), 3, 1),
        );
        assert_eq!(app.focus, Pane::Namespaces);
        assert_eq!(app.keys.ns.as_deref(), Some("checkpoints"));
    }
}
