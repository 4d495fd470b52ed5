//! The keys pane: one page of a namespace's keys at a time (more load as the selection
//! nears the end), with triage markers, a query (`/`, answered by the store over the whole
//! namespace, its pages loaded one after another with the count and progress shown),
//! "only unreviewed", marks for batch triage and sorting by column. `view` holds the rows
//! shown, in order.

use super::{clip, scroll_to};
use crate::model::parse_time;
use crate::text::{escape_controls, human_bytes, relative_time};
use crate::tui::action::KeyRow;
use crate::tui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use std::cell::Cell;
use std::collections::BTreeSet;

/// Keys fetched per page.
pub const PAGE: usize = 200;
/// Load the next page when the selection is this close to the end of the view.
pub const NEAR_END: usize = 40;
/// A query's matches load on their own up to this many rows; past it, as the selection
/// nears the end.
pub const QUERY_AUTO_ROWS: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortCol {
    #[default]
    Key,
    Version,
    Updated,
    By,
    Size,
}

impl SortCol {
    fn next(self) -> SortCol {
        match self {
            SortCol::Key => SortCol::Version,
            SortCol::Version => SortCol::Updated,
            SortCol::Updated => SortCol::By,
            SortCol::By => SortCol::Size,
            SortCol::Size => SortCol::Key,
        }
    }
}

#[derive(Debug, Default)]
pub struct KeysPane {
    /// The namespace listed.
    pub ns: Option<String>,
    pub rows: Vec<KeyRow>,
    pub cursor: Option<String>,
    pub has_more: bool,
    pub loading: bool,
    pub generation: u64,
    /// Indices into `rows` of the rows shown, in display order.
    pub view: Vec<usize>,
    /// Index into `view`.
    pub selected: usize,
    pub marked: BTreeSet<String>,
    /// The query text as typed (`/`); Enter sends it to the store.
    pub filter: String,
    pub filtering: bool,
    /// The query the listing answers (`None`: every key), and its text as typed.
    pub applied: Option<crate::query::Query>,
    pub applied_text: String,
    /// Why the typed query does not parse.
    pub query_error: Option<String>,
    /// Documents the store examined so far for the applied query.
    pub scanned: u64,
    /// The applied query's scan was stopped (Esc) before the end.
    pub cancelled: bool,
    /// Documents in the namespace (for the scan's progress).
    pub ns_docs: u64,
    pub unreviewed_only: bool,
    pub sort: SortCol,
    pub reverse: bool,
    pub offset: Cell<usize>,
    /// Keys written by others since the user last saw them (kept by `update`).
    pub changed: BTreeSet<String>,
}

impl KeysPane {
    pub fn selected_row(&self) -> Option<&KeyRow> {
        self.view.get(self.selected).and_then(|&i| self.rows.get(i))
    }

    pub fn selected_key(&self) -> Option<String> {
        self.selected_row().map(|r| r.meta.key.clone())
    }

    pub fn row_mut(&mut self, key: &str) -> Option<&mut KeyRow> {
        self.rows.iter_mut().find(|r| r.meta.key == key)
    }

    /// Recomputes `view` after rows, filter, sort or the unreviewed switch changed,
    /// keeping the selected key selected when it is still shown.
    pub fn refresh_view(&mut self) {
        let keep = self.selected_key();
        let mut view: Vec<usize> = (0..self.rows.len())
            .filter(|&i| !self.unreviewed_only || !self.rows[i].reviewed)
            .collect();
        let rows = &self.rows;
        match self.sort {
            SortCol::Key => {}
            SortCol::Version => view.sort_by_key(|&i| rows[i].meta.version),
            SortCol::Updated => {
                view.sort_by(|&a, &b| rows[a].meta.updated_at.cmp(&rows[b].meta.updated_at))
            }
            SortCol::By => {
                view.sort_by(|&a, &b| rows[a].meta.updated_by.cmp(&rows[b].meta.updated_by))
            }
            SortCol::Size => view.sort_by_key(|&i| rows[i].meta.size_bytes),
        }
        if self.reverse {
            view.reverse();
        }
        self.view = view;
        self.selected = keep
            .and_then(|k| self.view.iter().position(|&i| self.rows[i].meta.key == k))
            .unwrap_or(self.selected)
            .min(self.view.len().saturating_sub(1));
    }

    pub fn cycle_sort(&mut self) {
        self.sort = self.sort.next();
        self.refresh_view();
    }

    /// Moves the selection by `delta` rows, clamped.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.view.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last.max(0)) as usize;
    }

    /// Whether the next page should be fetched now.
    pub fn wants_more(&self) -> bool {
        if !self.has_more || self.loading {
            return false;
        }
        let near = self.selected + NEAR_END >= self.view.len();
        if self.applied.is_some() {
            // A query's pages follow one another (the store bounds each one's scan).
            return !self.cancelled && (near || self.rows.len() < QUERY_AUTO_ROWS);
        }
        // With "only unreviewed" hiding most rows, stop fetching on our own after a while.
        near && (!self.unreviewed_only
            || self.rows.len() < 20 * PAGE
            || self.selected + 1 >= self.view.len() && !self.view.is_empty())
    }

    /// Whether the applied query is still being answered.
    pub fn scanning(&self) -> bool {
        self.applied.is_some() && self.has_more && !self.cancelled
    }

    /// The query line's summary: "37 of 1,000,000 match · scanning 45%".
    pub fn query_summary(&self) -> String {
        let Some(_) = &self.applied else {
            return if self.filtering {
                "  Enter: query the whole namespace · Esc: cancel".into()
            } else {
                String::new()
            };
        };
        let matched = thousands(self.rows.len() as u64);
        let pct = (self.scanned * 100)
            .checked_div(self.ns_docs)
            .unwrap_or(0)
            .min(99);
        let mut s = format!("  {matched} of {} match", thousands(self.ns_docs));
        if self.scanning() {
            s.push_str(&format!(" · scanning {pct}% (Esc stops)"));
        } else if self.cancelled && self.has_more {
            s.push_str(&format!(" · stopped at {pct}% (R runs it again)"));
        }
        s
    }

    /// The next unreviewed row after the selection (in view order), if any.
    pub fn next_unreviewed(&self) -> Option<usize> {
        (self.selected + 1..self.view.len()).find(|&v| !self.rows[self.view[v]].reviewed)
    }

    /// (reviewed, loaded) over the rows loaded.
    pub fn progress(&self) -> (usize, usize) {
        (
            self.rows.iter().filter(|r| r.reviewed).count(),
            self.rows.len(),
        )
    }

    /// Rows above the first key inside the pane: filter line, filter error, column header.
    pub fn header_rows(&self) -> usize {
        let filter_line = self.filter_line();
        1 + usize::from(filter_line) + usize::from(filter_line && self.query_error.is_some())
    }

    fn filter_line(&self) -> bool {
        self.filtering || !self.filter.is_empty() || self.applied.is_some()
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, focused: bool, now_ms: i64) {
        let mut title = match &self.ns {
            Some(ns) => format!(" {} ", escape_controls(ns)),
            None => " Keys ".to_string(),
        };
        if self.unreviewed_only {
            title.push_str("[unreviewed] ");
        }
        if !self.marked.is_empty() {
            title.push_str(&format!("[{} selected] ", self.marked.len()));
        }
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme::border(focused))
            .title(Span::styled(title, theme::title(focused)));
        let inner = block.inner(area);
        f.render_widget(block, area);
        if inner.height == 0 {
            return;
        }
        let width = inner.width as usize;
        let mut lines = Vec::new();
        if self.filter_line() {
            let cursor = if self.filtering { "▏" } else { "" };
            let spans = vec![
                Span::styled("/", theme::key_hint()),
                Span::raw(format!("{}{cursor}", escape_controls(&self.filter))),
                Span::styled(self.query_summary(), theme::dim()),
            ];
            lines.push(Line::from(spans));
            if let Some(e) = &self.query_error {
                lines.push(Line::styled(
                    clip(&format!("✗ {}", escape_controls(e)), width),
                    theme::error(),
                ));
            }
        }
        // Columns: marker 2, key (rest), version 5, updated 8, by 10, size 8 (plus gaps).
        let fixed = 2 + 6 + 9 + 11 + 8;
        let show_meta = width >= fixed + 10;
        let key_w = if show_meta {
            width - fixed
        } else {
            width.saturating_sub(2)
        };
        let arrow = |c: SortCol| {
            if self.sort == c {
                if self.reverse { "▼" } else { "▲" }
            } else {
                ""
            }
        };
        let mut header = format!("  {:<key_w$}", format!("KEY{}", arrow(SortCol::Key)));
        if show_meta {
            header.push_str(&format!(
                "{:>5} {:<8} {:<10} {:>8}",
                format!("VER{}", arrow(SortCol::Version)),
                format!("UPDATED{}", arrow(SortCol::Updated)),
                format!("BY{}", arrow(SortCol::By)),
                format!("SIZE{}", arrow(SortCol::Size)),
            ));
        }
        lines.push(Line::styled(clip(&header, width), theme::header()));
        let height = (inner.height as usize).saturating_sub(lines.len());
        let offset = scroll_to(self.offset.get(), self.selected, height);
        self.offset.set(offset);
        if self.view.is_empty() {
            let text = if self.scanning() {
                "scanning…"
            } else if self.loading {
                "loading…"
            } else if self.ns.is_none() {
                "choose a namespace"
            } else if self.applied.is_some() && self.rows.is_empty() {
                "no document matches"
            } else if self.rows.is_empty() {
                "no documents"
            } else {
                "no loaded key matches"
            };
            lines.push(Line::styled(text, theme::dim()));
        }
        for (v, &i) in self.view.iter().enumerate().skip(offset).take(height) {
            let r = &self.rows[i];
            let marked = self.marked.contains(&r.meta.key);
            let (mut mark, mut mark_style) = match (marked, r.reviewed) {
                (true, _) => ("* ", theme::marked()),
                (false, true) => ("✓ ", theme::reviewed()),
                (false, false) => ("  ", Style::new()),
            };
            if self.changed.contains(&r.meta.key) {
                mark = match (marked, r.reviewed) {
                    (true, _) => "*•",
                    (false, true) => "✓•",
                    (false, false) => " •",
                };
                mark_style = super::history::changed_style();
            }
            let style = if v == self.selected {
                theme::selected(focused)
            } else {
                Style::new()
            };
            let key = clip(&escape_controls(&r.meta.key), key_w);
            let mut text = format!("{key:<key_w$}");
            if show_meta {
                let updated = parse_time(&r.meta.updated_at)
                    .map(|t| relative_time(t, now_ms))
                    .unwrap_or_default();
                let by = clip(&escape_controls(&r.meta.updated_by), 10);
                text.push_str(&format!(
                    "{:>5} {:<8} {:<10} {:>8}",
                    r.meta.version,
                    updated,
                    by,
                    human_bytes(r.meta.size_bytes)
                ));
            }
            lines.push(Line::from(vec![
                Span::styled(mark, mark_style.patch(style)),
                Span::styled(text, style),
            ]));
        }
        f.render_widget(Paragraph::new(lines), inner);
    }
}

/// 1234567 as "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
