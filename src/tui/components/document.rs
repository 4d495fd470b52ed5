//! The document pane: a metadata header, then the value as pretty, highlighted JSON with
//! a line cursor, folding of objects and arrays, and search (`/`, `n`, `N`). Documents
//! over the preview limit show the first part of their text and a note.

use super::{clip, scroll_to};
use crate::model::parse_time;
use crate::text::{escape_controls, human_bytes, relative_time};
use crate::tui::action::Loaded;
use crate::tui::json::{self, JLine};
use crate::tui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use std::cell::Cell;
use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub struct DocPane {
    pub loaded: Option<Loaded>,
    /// Why the last load failed (shown in place of the document).
    pub failed: Option<String>,
    pub lines: Vec<JLine>,
    pub folded: BTreeSet<usize>,
    /// Indices into `lines` of the lines shown.
    pub visible: Vec<usize>,
    /// Index into `visible`.
    pub cursor: usize,
    pub offset: Cell<usize>,
    pub search: String,
    pub searching: bool,
    pub generation: u64,
    pub loading: bool,
    /// `z` was pressed; the next key says which fold command.
    pub pending_z: bool,
    /// A line under the header (set by `update`: "changed since you last looked").
    pub note: Option<String>,
}

impl DocPane {
    /// (namespace, key) of the document shown.
    pub fn shows(&self) -> Option<(&str, &str)> {
        self.loaded
            .as_ref()
            .map(|l| (l.doc.meta.namespace.as_str(), l.doc.meta.key.as_str()))
    }

    pub fn clear(&mut self) {
        *self = DocPane {
            generation: self.generation,
            search: std::mem::take(&mut self.search),
            ..DocPane::default()
        };
    }

    /// Shows a loaded document; a reload of the same document keeps folds and cursor.
    pub fn set(&mut self, loaded: Loaded) {
        let same = self.shows() == Some((&loaded.doc.meta.namespace, &loaded.doc.meta.key));
        self.lines = match &loaded.preview {
            Some(text) => json::plain_lines(text),
            None => json::lines(&loaded.doc.value),
        };
        if !same {
            self.folded.clear();
            self.cursor = 0;
            self.offset.set(0);
        }
        self.folded
            .retain(|&i| self.lines.get(i).is_some_and(|l| l.close.is_some()));
        self.loaded = Some(loaded);
        self.failed = None;
        self.refresh_visible();
    }

    pub fn refresh_visible(&mut self) {
        self.visible = json::visible(&self.lines, &self.folded);
        self.cursor = self.cursor.min(self.visible.len().saturating_sub(1));
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.visible.len().saturating_sub(1) as isize;
        self.cursor = (self.cursor as isize + delta).clamp(0, last.max(0)) as usize;
    }

    fn cursor_line(&self) -> Option<usize> {
        self.visible.get(self.cursor).copied()
    }

    fn place_cursor_on(&mut self, line: usize) {
        self.refresh_visible();
        if let Some(p) = self.visible.iter().position(|&l| l == line) {
            self.cursor = p;
        }
    }

    /// Folds or unfolds the container the cursor is in.
    pub fn toggle_fold(&mut self) {
        let Some(line) = self.cursor_line() else {
            return;
        };
        let Some(opener) = json::enclosing_opener(&self.lines, line) else {
            return;
        };
        if !self.folded.remove(&opener) {
            self.folded.insert(opener);
        }
        self.place_cursor_on(opener);
    }

    pub fn set_fold(&mut self, fold: bool) {
        let Some(line) = self.cursor_line() else {
            return;
        };
        if let Some(opener) = json::enclosing_opener(&self.lines, line) {
            if fold {
                self.folded.insert(opener);
            } else {
                self.folded.remove(&opener);
            }
            self.place_cursor_on(opener);
        }
    }

    /// Folds every container below the top level (`zM`), or opens all (`zR`).
    pub fn fold_all(&mut self, fold: bool) {
        let line = self.cursor_line().unwrap_or(0);
        self.folded.clear();
        if fold {
            self.folded
                .extend((1..self.lines.len()).filter(|&i| self.lines[i].close.is_some()));
        }
        self.refresh_visible();
        let shown = (0..=line)
            .rev()
            .find(|l| self.visible.contains(l))
            .unwrap_or(0);
        self.place_cursor_on(shown);
    }

    fn is_match(&self, line: usize) -> bool {
        !self.search.is_empty()
            && self.lines[line]
                .text()
                .to_lowercase()
                .contains(&self.search.to_lowercase())
    }

    /// Moves to the next (or previous) shown line matching the search; false when none.
    pub fn search_step(&mut self, forward: bool, include_current: bool) -> bool {
        let n = self.visible.len();
        if n == 0 || self.search.is_empty() {
            return false;
        }
        for step in 0..n {
            let d = if include_current { step } else { step + 1 };
            let p = if forward {
                (self.cursor + d) % n
            } else {
                (self.cursor + n - d % n) % n
            };
            if self.is_match(self.visible[p]) {
                self.cursor = p;
                return true;
            }
        }
        false
    }

    fn header(&self, now_ms: i64, width: usize) -> Vec<Line<'static>> {
        let Some(l) = &self.loaded else { return vec![] };
        let m = &l.doc.meta;
        let rel = |t: &str| {
            parse_time(t)
                .map(|ms| relative_time(ms, now_ms))
                .unwrap_or_default()
        };
        let mut out = vec![
            Line::from(vec![
                Span::styled(
                    format!(
                        "{}/{}",
                        escape_controls(&m.namespace),
                        escape_controls(&m.key)
                    ),
                    theme::title(true),
                ),
                Span::styled(
                    format!("  v{} · {}", m.version, human_bytes(m.size_bytes)),
                    theme::dim(),
                ),
            ]),
            Line::styled(
                clip(
                    &format!(
                        "updated {} by {} · created {}",
                        rel(&m.updated_at),
                        escape_controls(&m.updated_by),
                        rel(&m.created_at)
                    ),
                    width,
                ),
                theme::dim(),
            ),
        ];
        if let Some(e) = &m.expires_at {
            out.push(Line::styled(format!("expires {e}"), theme::dim()));
        }
        if l.preview.is_some() {
            out.push(Line::styled(
                clip(
                    &format!(
                        "preview: the document is {}, over the preview limit; showing the start",
                        human_bytes(m.size_bytes)
                    ),
                    width,
                ),
                theme::error(),
            ));
        }
        if let Some(n) = &self.note {
            out.push(Line::styled(
                clip(n, width),
                super::history::changed_style(),
            ));
        }
        out.push(Line::styled("─".repeat(width), theme::dim()));
        out
    }

    fn line(&self, i: usize, selected: bool, focused: bool) -> Line<'static> {
        let l = &self.lines[i];
        let mut spans = Vec::with_capacity(l.spans.len() + 3);
        let hit = self.is_match(i);
        spans.push(Span::styled(
            if hit { "›" } else { " " },
            theme::search_hit(),
        ));
        spans.push(Span::raw("  ".repeat(l.indent)));
        for (t, s) in &l.spans {
            spans.push(Span::styled(s.clone(), theme::token(*t)));
        }
        if let (true, Some(close)) = (self.folded.contains(&i), l.close) {
            spans.push(Span::styled(format!(" … {} items ", l.items), theme::dim()));
            for (t, s) in &self.lines[close].spans {
                spans.push(Span::styled(s.clone(), theme::token(*t)));
            }
        }
        let line = Line::from(spans);
        if selected {
            line.style(if focused {
                theme::selected(true)
            } else {
                Style::new()
            })
        } else {
            line
        }
    }

    /// Rows above the first document line inside the pane (header and search line).
    pub fn text_top(&self, now_ms: i64) -> usize {
        self.header(now_ms, 1).len() + usize::from(self.searching || !self.search.is_empty())
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, focused: bool, now_ms: i64) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme::border(focused))
            .title(Span::styled(" Document ", theme::title(focused)));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let width = inner.width as usize;
        let mut lines = self.header(now_ms, width);
        if self.searching || !self.search.is_empty() {
            let cursor = if self.searching { "▏" } else { "" };
            lines.push(Line::from(vec![
                Span::styled("/", theme::key_hint()),
                Span::raw(format!("{}{cursor}", escape_controls(&self.search))),
            ]));
        }
        if self.loaded.is_none() {
            let text = match (&self.failed, self.loading) {
                (_, true) => "loading…".to_string(),
                (Some(e), _) => e.clone(),
                (None, false) => "no document selected".to_string(),
            };
            lines.push(Line::styled(text, theme::dim()));
        }
        let height = (inner.height as usize).saturating_sub(lines.len());
        let offset = scroll_to(self.offset.get(), self.cursor, height);
        self.offset.set(offset);
        for (p, &i) in self.visible.iter().enumerate().skip(offset).take(height) {
            lines.push(self.line(i, p == self.cursor, focused));
        }
        f.render_widget(Paragraph::new(lines), inner);
    }
}
