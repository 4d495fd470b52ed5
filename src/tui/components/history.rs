//! The parts of live updates and history on screen: the history view (versions on the
//! left, the selected one's diff against the current version on the right, the revert
//! confirmation), the "changed since you looked" diff in the document pane, the banner
//! over an editor whose document someone else changed, and the feed's state indicator.

use super::clip;
use crate::model::{Meta, parse_time};
use crate::store::FeedState;
use crate::text::{escape_controls, relative_time};
use crate::tui::diff::Tag;
use crate::tui::live::{Banner, DiffView, diff_values};
use crate::tui::theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use serde_json::Value;
use std::collections::BTreeMap;

/// The style of "changed since you looked" markers.
pub fn changed_style() -> Style {
    theme::marked().add_modifier(Modifier::BOLD)
}

pub struct HistoryState {
    pub ns: String,
    pub key: String,
    /// Newest first: the first is the current version.
    pub versions: Vec<Meta>,
    pub loading: bool,
    pub error: Option<String>,
    /// Index into `versions`.
    pub selected: usize,
    /// Values loaded so far, by version.
    pub values: BTreeMap<u64, Value>,
    /// The selected version against the current one.
    pub diff: Vec<(Tag, String)>,
    pub scroll: usize,
    /// Asking whether to revert to the selected version.
    pub confirm: bool,
}

impl HistoryState {
    pub fn new(ns: &str, key: &str) -> HistoryState {
        HistoryState {
            ns: ns.to_string(),
            key: key.to_string(),
            versions: Vec::new(),
            loading: true,
            error: None,
            selected: 0,
            values: BTreeMap::new(),
            diff: Vec::new(),
            scroll: 0,
            confirm: false,
        }
    }

    pub fn current(&self) -> Option<&Meta> {
        self.versions.first()
    }

    pub fn selected_meta(&self) -> Option<&Meta> {
        self.versions.get(self.selected)
    }

    /// Recomputes the diff once both values are at hand.
    pub fn refresh_diff(&mut self) {
        self.diff.clear();
        let (Some(cur), Some(sel)) = (self.current(), self.selected_meta()) else {
            return;
        };
        if let (Some(a), Some(b)) = (self.values.get(&sel.version), self.values.get(&cur.version)) {
            self.diff = diff_values(a, b);
        }
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, now_ms: i64) {
        f.render_widget(Clear, area);
        let [top, body, foot] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(area);
        f.render_widget(
            Paragraph::new(Line::styled(
                clip(
                    &format!(
                        "History of {}/{}: {} version{} retained",
                        escape_controls(&self.ns),
                        escape_controls(&self.key),
                        self.versions.len(),
                        if self.versions.len() == 1 { "" } else { "s" }
                    ),
                    top.width as usize,
                ),
                theme::title(true),
            )),
            top,
        );
        let [left, right] =
            Layout::horizontal([Constraint::Length(38), Constraint::Min(10)]).areas(body);
        let list_block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme::border(true))
            .title(Span::styled(" Versions ", theme::title(true)));
        let mut rows = Vec::new();
        if self.loading && self.versions.is_empty() {
            rows.push(Line::styled("loading…", theme::dim()));
        }
        if let Some(e) = &self.error {
            rows.push(Line::styled(
                escape_controls(e).into_owned(),
                theme::error(),
            ));
        }
        for (i, m) in self.versions.iter().enumerate() {
            let when = parse_time(&m.updated_at)
                .map(|t| relative_time(t, now_ms))
                .unwrap_or_default();
            let text = format!(
                "{} v{:<4} {:<8} {}{}",
                if i == self.selected { "›" } else { " " },
                m.version,
                when,
                clip(&escape_controls(&m.updated_by), 12),
                if i == 0 { " (now)" } else { "" }
            );
            let style = if i == self.selected {
                theme::selected(true)
            } else {
                Style::new()
            };
            rows.push(Line::styled(text, style));
        }
        let inner_h = left.height.saturating_sub(2) as usize;
        let skip = self.selected.saturating_sub(inner_h.saturating_sub(1));
        let rows: Vec<Line> = rows.into_iter().skip(skip).collect();
        f.render_widget(Paragraph::new(rows).block(list_block), left);
        let title = match (self.selected_meta(), self.current()) {
            (Some(s), Some(c)) if s.version == c.version => {
                format!(" v{} is the current version ", c.version)
            }
            (Some(s), Some(c)) => format!(" v{} → current v{} ", s.version, c.version),
            _ => " Diff ".to_string(),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme::border(true))
            .title(Span::styled(title, theme::title(true)));
        let lines = if self.diff.is_empty() && !self.versions.is_empty() {
            vec![Line::styled("loading…", theme::dim())]
        } else {
            diff_lines(&self.diff)
        };
        let lines: Vec<Line> = lines.into_iter().skip(self.scroll).collect();
        f.render_widget(Paragraph::new(lines).block(block), right);
        let footer = if self.confirm {
            let (sel, cur) = (
                self.selected_meta().map_or(0, |m| m.version),
                self.current().map_or(0, |m| m.version),
            );
            Line::from(vec![
                Span::styled(
                    format!(
                        "Revert to v{sel}? Written only if still at v{cur} (then U undoes it).  "
                    ),
                    theme::error(),
                ),
                Span::styled("y", theme::key_hint()),
                Span::raw(" revert   "),
                Span::styled("n", theme::key_hint()),
                Span::raw(" cancel"),
            ])
        } else {
            Line::from(vec![
                Span::styled("j/k", theme::key_hint()),
                Span::raw(" version   "),
                Span::styled("r", theme::key_hint()),
                Span::raw(" revert to it   "),
                Span::styled("C-d/C-u", theme::key_hint()),
                Span::raw(" scroll   "),
                Span::styled("Esc", theme::key_hint()),
                Span::raw(" close"),
            ])
        };
        f.render_widget(Paragraph::new(footer), foot);
    }
}

/// A diff as lines with `-`/`+` marks.
pub fn diff_lines(d: &[(Tag, String)]) -> Vec<Line<'static>> {
    d.iter()
        .map(|(t, s)| {
            let (mark, style) = match t {
                Tag::Same => (' ', Style::new()),
                Tag::Removed => ('-', theme::removed()),
                Tag::Added => ('+', theme::added()),
            };
            Line::styled(format!("{mark} {}", escape_controls(s)), style)
        })
        .collect()
}

impl DiffView {
    /// Draws the diff in the document pane's place.
    pub fn draw(&self, f: &mut Frame, area: Rect, focused: bool) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme::border(focused))
            .title(Span::styled(
                format!(
                    " {}/{}: v{} (last seen) → v{} · c closes ",
                    escape_controls(&self.ns),
                    escape_controls(&self.key),
                    self.from,
                    self.to
                ),
                theme::title(focused),
            ));
        let lines: Vec<Line> = diff_lines(&self.lines)
            .into_iter()
            .skip(self.scroll)
            .collect();
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}

/// The banner over the editor: someone else changed the document being edited.
pub fn draw_banner(f: &mut Frame, area: Rect, b: &Banner, editing: u64) {
    let text = match b.version {
        Some(v) => format!(
            " {} changed {}/{} to v{v} while you edit v{editing}: saving shows the conflict ",
            escape_controls(&b.by),
            escape_controls(&b.ns),
            escape_controls(&b.key)
        ),
        None => format!(
            " {}/{} was deleted while you edit v{editing}: saving shows the conflict ",
            escape_controls(&b.ns),
            escape_controls(&b.key)
        ),
    };
    let r = Rect {
        height: 1.min(area.height),
        ..area
    };
    f.render_widget(
        Paragraph::new(Line::styled(clip(&text, r.width as usize), theme::badge())),
        r,
    );
}

/// The feed's state for the status bar (nothing before the feed reports).
pub fn indicator(state: Option<FeedState>) -> Option<Span<'static>> {
    let (text, style) = match state? {
        FeedState::Live => ("● live", theme::added()),
        FeedState::Reconnecting => ("◌ reconnecting", theme::info()),
        FeedState::Offline => ("○ offline", theme::error()),
    };
    Some(Span::styled(text, style))
}
