//! The help overlay: every binding of the keymap table, grouped by where it applies.

use super::centered;
use crate::tui::keymap::{BINDINGS, Context};
use crate::tui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

const ORDER: [Context; 10] = [
    Context::Global,
    Context::Namespaces,
    Context::Keys,
    Context::Document,
    Context::Editor,
    Context::Conflict,
    Context::Menu,
    Context::Confirm,
    Context::Help,
    Context::History,
];

/// The help text, one line per binding under a heading per context.
pub fn lines() -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for ctx in ORDER {
        out.push(Line::styled(ctx.title(), theme::header()));
        for b in BINDINGS.iter().filter(|b| b.ctx == ctx) {
            out.push(Line::from(vec![
                Span::styled(format!("  {:<10}", b.label), theme::key_hint()),
                Span::raw(b.desc),
            ]));
        }
    }
    out
}

pub fn draw(f: &mut Frame, area: Rect, scroll: u16) {
    let r = centered(area, 64, area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::border(true))
        .title(Span::styled(
            " Help (j/k scroll, Esc close) ",
            theme::title(true),
        ));
    f.render_widget(Paragraph::new(lines()).block(block).scroll((scroll, 0)), r);
}
