//! The help overlay: every binding of the keymap table, grouped by where it applies.

use super::centered;
use crate::tui::keymap::Context;
use crate::tui::keyspec::Keymap;
use crate::tui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

const ORDER: [Context; 11] = [
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
    Context::Palette,
];

/// The help text, one line per binding under a heading per context.
pub fn lines(keymap: &Keymap) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for ctx in ORDER {
        out.push(Line::styled(ctx.title(), theme::header()));
        for (b, label) in keymap.rows().filter(|(b, _)| b.ctx == ctx) {
            let label = if label.is_empty() { "(none)" } else { label };
            out.push(Line::from(vec![
                Span::styled(format!("  {label:<10}"), theme::key_hint()),
                Span::raw(b.desc),
            ]));
        }
    }
    out
}

pub fn draw(f: &mut Frame, area: Rect, scroll: u16, keymap: &Keymap) {
    let r = centered(area, 64, area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::border(true))
        .title(Span::styled(
            " Help (j/k scroll, Esc close) ",
            theme::title(true),
        ));
    f.render_widget(
        Paragraph::new(lines(keymap))
            .block(block)
            .scroll((scroll, 0)),
        r,
    );
}
