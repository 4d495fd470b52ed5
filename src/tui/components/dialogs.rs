//! Small dialogs: confirm deleting a document (y/n), confirm deleting a namespace (type
//! its name; shows its document count and bytes), and the triage action menu.

use super::centered;
use crate::text::{escape_controls, human_bytes};
use crate::tui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmDelete {
    pub ns: String,
    pub key: String,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmNamespace {
    pub ns: String,
    pub documents: u64,
    pub bytes: u64,
    pub typed: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Menu {
    pub ns: String,
    /// (key, version shown) of each document the choice applies to.
    pub targets: Vec<(String, u64)>,
    pub selected: usize,
}

fn frame(f: &mut Frame, area: Rect, title: &str, lines: Vec<Line>, w: u16) {
    let h = lines.len() as u16 + 2;
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::error())
        .title(Span::styled(format!(" {title} "), theme::title(true)));
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        r,
    );
}

impl ConfirmDelete {
    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let lines = vec![
            Line::raw(format!(
                "Delete {}/{} (version {})?",
                escape_controls(&self.ns),
                escape_controls(&self.key),
                self.version
            )),
            Line::styled(
                "It is deleted only if nobody changed it since.",
                theme::dim(),
            ),
            Line::from(vec![
                Span::styled("y", theme::key_hint()),
                Span::raw(" delete   "),
                Span::styled("n", theme::key_hint()),
                Span::raw(" keep it"),
            ]),
        ];
        frame(f, area, "Delete document", lines, 60);
    }
}

impl ConfirmNamespace {
    pub fn matches(&self) -> bool {
        self.typed == self.ns
    }

    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let lines = vec![
            Line::raw(format!(
                "This deletes all {} documents ({}) of namespace {}.",
                self.documents,
                human_bytes(self.bytes),
                escape_controls(&self.ns)
            )),
            Line::raw("Type the namespace name to confirm, then Enter (Esc cancels):"),
            Line::from(vec![
                Span::styled("> ", theme::key_hint()),
                Span::styled(
                    format!("{}▏", escape_controls(&self.typed)),
                    if self.matches() {
                        theme::error()
                    } else {
                        Style::new()
                    },
                ),
            ]),
        ];
        frame(f, area, "Delete namespace", lines, 64);
    }
}

impl Menu {
    pub fn draw(&self, f: &mut Frame, area: Rect, actions: &[String]) {
        let mut lines = vec![Line::styled(
            format!(
                "Action for {} document{} (also marks reviewed):",
                self.targets.len(),
                if self.targets.len() == 1 { "" } else { "s" }
            ),
            theme::dim(),
        )];
        for (i, a) in actions.iter().enumerate() {
            let style = if i == self.selected {
                theme::selected(true)
            } else {
                Style::new()
            };
            lines.push(Line::styled(
                format!(" {} {}", i + 1, escape_controls(a)),
                style,
            ));
        }
        frame(f, area, "Action", lines, 48);
    }
}
