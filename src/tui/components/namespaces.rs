//! The namespaces pane: every namespace with its document count, from `Store::stats`.

use super::{clip, scroll_to};
use crate::store::NamespaceStats;
use crate::text::escape_controls;
use crate::tui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use std::cell::Cell;

#[derive(Debug, Default)]
pub struct NamespacesPane {
    pub items: Vec<NamespaceStats>,
    pub selected: usize,
    pub loading: bool,
    pub loaded: bool,
    pub offset: Cell<usize>,
}

impl NamespacesPane {
    pub fn current(&self) -> Option<&NamespaceStats> {
        self.items.get(self.selected)
    }

    pub fn documents(&self, ns: &str) -> Option<u64> {
        self.items
            .iter()
            .find(|s| s.namespace == ns)
            .map(|s| s.documents)
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, focused: bool, open: Option<&str>) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme::border(focused))
            .title(Span::styled(" Namespaces ", theme::title(focused)));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let height = inner.height as usize;
        let offset = scroll_to(self.offset.get(), self.selected, height);
        self.offset.set(offset);
        let width = inner.width as usize;
        let mut lines = Vec::new();
        if self.items.is_empty() {
            let text = if self.loading || !self.loaded {
                "loading…"
            } else {
                "no namespaces yet"
            };
            lines.push(Line::styled(text, theme::dim()));
        }
        for (i, s) in self.items.iter().enumerate().skip(offset).take(height) {
            let count = s.documents.to_string();
            let marker = if open == Some(s.namespace.as_str()) {
                "▸"
            } else {
                " "
            };
            let name_w = width.saturating_sub(count.len() + 2);
            let name = clip(&escape_controls(&s.namespace), name_w);
            let pad = width.saturating_sub(name.chars().count() + count.len() + 1);
            let style = if i == self.selected {
                theme::selected(focused)
            } else {
                ratatui::style::Style::new()
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{marker}{name}{}", " ".repeat(pad)), style),
                Span::styled(count, style.patch(theme::dim())),
            ]));
        }
        f.render_widget(Paragraph::new(lines), inner);
    }
}
