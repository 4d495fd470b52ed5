//! The conflict view, shown when a save found the document changed since it was loaded:
//! your edit and the store's current version, each as a diff against the version you
//! started from, and the choices (reload theirs, overwrite with mine, back to editing).

use super::editor::{EditorState, pretty};
use crate::model::Document;
use crate::text::escape_controls;
use crate::tui::diff::{Tag, diff};
use crate::tui::theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub struct ConflictState {
    pub editor: Box<EditorState>,
    /// The document as it is in the store now (`None`: deleted meanwhile).
    pub current: Option<Document>,
    pub mine: Vec<(Tag, String)>,
    pub theirs: Vec<(Tag, String)>,
    pub scroll: u16,
}

fn owned(d: Vec<(Tag, &str)>) -> Vec<(Tag, String)> {
    d.into_iter().map(|(t, s)| (t, s.to_string())).collect()
}

impl ConflictState {
    pub fn new(editor: Box<EditorState>, current: Option<Document>) -> ConflictState {
        let base = pretty(&editor.base_value);
        let mine = editor.text();
        let theirs = current
            .as_ref()
            .map(|d| pretty(&d.value))
            .unwrap_or_default();
        let b: Vec<&str> = base.lines().collect();
        let m: Vec<&str> = mine.lines().collect();
        let t: Vec<&str> = theirs.lines().collect();
        let mine = owned(diff(&b, &m));
        let theirs = owned(diff(&b, &t));
        ConflictState {
            editor,
            current,
            mine,
            theirs,
            scroll: 0,
        }
    }

    fn column(title: String, d: &[(Tag, String)], scroll: u16, f: &mut Frame, area: Rect) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme::border(true))
            .title(Span::styled(title, theme::title(true)));
        let lines = super::history::diff_lines(d);
        f.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
    }

    pub fn draw(&self, f: &mut Frame, area: Rect) {
        f.render_widget(Clear, area);
        let [top, cols, foot] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(area);
        let e = &self.editor;
        let now = match &self.current {
            Some(d) => format!(
                "v{} by {}",
                d.meta.version,
                escape_controls(&d.meta.updated_by)
            ),
            None => "deleted".to_string(),
        };
        f.render_widget(
            Paragraph::new(vec![
                Line::styled(
                    format!(
                        "CONFLICT: {}/{} changed since you opened it (you started from v{}, the store has {now}).",
                        escape_controls(&e.ns),
                        escape_controls(&e.key),
                        e.base_version
                    ),
                    theme::error(),
                ),
                Line::styled("Nothing was saved. Both diffs are against the version you started from.", theme::dim()),
            ]),
            top,
        );
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(cols);
        Self::column(
            format!(" Your edit vs v{} ", e.base_version),
            &self.mine,
            self.scroll,
            f,
            left,
        );
        Self::column(
            format!(" Store now ({now}) vs v{} ", e.base_version),
            &self.theirs,
            self.scroll,
            f,
            right,
        );
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("r", theme::key_hint()),
                Span::raw(" reload (discard mine, load theirs)   "),
                Span::styled("o", theme::key_hint()),
                Span::raw(" overwrite with mine   "),
                Span::styled("e", theme::key_hint()),
                Span::raw(" back to editing"),
            ])),
            foot,
        );
    }
}
