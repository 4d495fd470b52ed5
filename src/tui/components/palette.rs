//! Draws the command palette: the query, then the entries best first with the matched
//! letters highlighted and each entry's keys (or kind) at the right.

use super::{centered, clip};
use crate::text::escape_controls;
use crate::tui::palette::PaletteState;
use crate::tui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub fn draw(f: &mut Frame, area: Rect, p: &PaletteState) {
    let r = centered(area, 72, area.height.saturating_sub(2).min(22));
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::border(true))
        .title(Span::styled(
            format!(
                " Command palette ({} of {}) ",
                p.shown.len(),
                p.entries.len()
            ),
            theme::title(true),
        ));
    let inner = block.inner(r);
    f.render_widget(block, r);
    if inner.height == 0 {
        return;
    }
    let width = inner.width as usize;
    let mut lines = vec![Line::from(vec![
        Span::styled(": ", theme::key_hint()),
        Span::raw(format!("{}▏", escape_controls(&p.query))),
    ])];
    let height = (inner.height as usize).saturating_sub(1);
    let offset = super::scroll_to(0, p.selected, height);
    if p.shown.is_empty() {
        lines.push(Line::styled("no entry matches", theme::dim()));
    }
    for (n, (i, pos)) in p.shown.iter().enumerate().skip(offset).take(height) {
        let e = &p.entries[*i];
        let row = if n == p.selected {
            theme::selected(true)
        } else {
            Style::new()
        };
        let detail = clip(&escape_controls(&e.detail), 24);
        let title_w = width.saturating_sub(detail.chars().count() + 3);
        let title = clip(&escape_controls(&e.title), title_w);
        let mut spans = vec![Span::styled(" ", row)];
        for (ci, ch) in title.chars().enumerate() {
            let style = if pos.contains(&ci) {
                row.patch(theme::key_hint())
            } else {
                row
            };
            spans.push(Span::styled(ch.to_string(), style));
        }
        let pad = width.saturating_sub(title.chars().count() + detail.chars().count() + 2);
        spans.push(Span::styled(" ".repeat(pad), row));
        spans.push(Span::styled(detail, row.patch(theme::dim())));
        spans.push(Span::styled(" ", row));
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
