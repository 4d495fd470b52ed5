//! Draws the whole screen from the state: three panes side by side on a wide terminal,
//! the focused one alone on a narrow one, the status lines, and the open dialog on top.
//! Generic over the backend, so tests render into a `TestBackend`.

use super::app::{App, Modal, Pane};
use super::components::{help, history, palette, status};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

/// The pane area above the two status lines, and the three panes' areas in the wide layout.
pub fn areas(area: Rect) -> (Rect, Rect, [Rect; 3]) {
    let [main, bottom] = Layout::vertical([Constraint::Min(1), Constraint::Length(2)]).areas(area);
    let panes = Layout::horizontal([
        Constraint::Percentage(18),
        Constraint::Percentage(42),
        Constraint::Percentage(40),
    ])
    .areas(main);
    (main, bottom, panes)
}

pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < 4 || area.height < 4 {
        return;
    }
    let (main, bottom, [a, b, c]) = areas(area);
    let open = app.keys.ns.as_deref();
    if app.narrow() {
        match app.focus {
            Pane::Namespaces => app.namespaces.draw(f, main, true, open),
            Pane::Keys => app.keys.draw(f, main, true, app.now_ms),
            Pane::Document => draw_doc(f, app, main, true),
        }
    } else {
        app.namespaces
            .draw(f, a, app.focus == Pane::Namespaces, open);
        app.keys.draw(f, b, app.focus == Pane::Keys, app.now_ms);
        draw_doc(f, app, c, app.focus == Pane::Document);
    }
    status::draw(f, bottom, app);
    match &app.modal {
        None => {}
        Some(Modal::Help { scroll }) => help::draw(f, main, *scroll, &app.keymap),
        Some(Modal::Editor(e)) => {
            e.draw(f, main);
            if let Some(b) = &app.live.banner {
                history::draw_banner(f, main, b, e.base_version);
            }
        }
        Some(Modal::Conflict(c)) => c.draw(f, main),
        Some(Modal::ConfirmDelete(d)) => d.draw(f, main),
        Some(Modal::ConfirmNamespace(d)) => d.draw(f, main),
        Some(Modal::Menu(m)) => m.draw(f, main, &app.session.config.actions),
        Some(Modal::Bulk(b)) => b.draw(f, main, &app.session.config.actions),
        Some(Modal::History(h)) => h.draw(f, main, app.now_ms),
        Some(Modal::Palette(p)) => palette::draw(f, main, p),
    }
}

/// The document pane, or the diff since the user last looked when it is open.
fn draw_doc(f: &mut Frame, app: &App, area: ratatui::layout::Rect, focused: bool) {
    match &app.live.diff {
        Some(d) => d.draw(f, area, focused),
        None => app.doc.draw(f, area, focused, app.now_ms),
    }
}
