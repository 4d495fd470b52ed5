//! Bulk actions on everything a query matches (`B`): choose what to do, a preview (how
//! many, a sample, old -> new), then the run, each document written conditionally on the
//! version the query saw, with a progress bar, and its report (done, changed by someone
//! else in between, failed).

use super::centered;
use super::keys::thousands;
use crate::text::escape_controls;
use crate::tui::action::KeyRow;
use crate::tui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// Seconds of the "expire in a day" choice.
pub const DAY: u64 = 86_400;
/// Documents the preview names.
const SAMPLE: usize = 5;
/// Documents written per store call (each call reports progress).
pub const CHUNK: usize = 50;

/// What a bulk action does to each document.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkOp {
    Review,
    /// Set this action (and mark reviewed).
    Action(String),
    /// Expire this many seconds from now.
    Ttl(u64),
    Delete,
}

impl BulkOp {
    /// The choices, in menu order: the configured actions come from `[tui] actions`.
    pub fn choices(actions: &[String]) -> Vec<BulkOp> {
        let mut v = vec![BulkOp::Review];
        v.extend(actions.iter().cloned().map(BulkOp::Action));
        v.push(BulkOp::Ttl(DAY));
        v.push(BulkOp::Delete);
        v
    }

    pub fn label(&self) -> String {
        match self {
            BulkOp::Review => "mark reviewed".into(),
            BulkOp::Action(a) => format!("set action {} (marks reviewed)", escape_controls(a)),
            BulkOp::Ttl(s) => format!("expire in {}", duration(*s)),
            BulkOp::Delete => "delete".into(),
        }
    }

    /// What happens to one row: "reviewed: false → true".
    fn change(&self, row: &KeyRow) -> String {
        match self {
            BulkOp::Review => format!("reviewed: {} → true", row.reviewed),
            BulkOp::Action(a) => format!(
                "action: {} → {}, reviewed: {} → true",
                row.action
                    .as_deref()
                    .map_or("(none)".into(), escape_controls),
                escape_controls(a),
                row.reviewed
            ),
            BulkOp::Ttl(s) => format!(
                "expires: {} → in {}",
                row.meta.expires_at.as_deref().unwrap_or("never"),
                duration(*s)
            ),
            BulkOp::Delete => format!("version {} → deleted", row.meta.version),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Choose { selected: usize },
    Preview(BulkOp),
    Running(BulkOp),
    Report(BulkOp),
}

/// The outcome of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Changed or deleted by someone else since the query saw it: left alone.
    Changed,
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkState {
    pub ns: String,
    /// The query, as typed.
    pub query: String,
    /// Each matching document (key, version the query saw) with its row as listed.
    pub rows: Vec<KeyRow>,
    pub phase: Phase,
    /// Each document's outcome, as results come in.
    pub outcomes: Vec<(String, Outcome, String)>,
}

impl BulkState {
    pub fn new(ns: String, query: String, rows: Vec<KeyRow>) -> BulkState {
        BulkState {
            ns,
            query,
            rows,
            phase: Phase::Choose { selected: 0 },
            outcomes: Vec::new(),
        }
    }

    pub fn count(&self, o: Outcome) -> usize {
        self.outcomes.iter().filter(|(_, x, _)| *x == o).count()
    }

    pub fn finished(&self) -> bool {
        self.outcomes.len() >= self.rows.len()
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, actions: &[String]) {
        let n = thousands(self.rows.len() as u64);
        let query = escape_controls(&self.query);
        let mut lines = Vec::new();
        let title;
        match &self.phase {
            Phase::Choose { selected } => {
                title = "Bulk action";
                lines.push(Line::styled(
                    format!("On all {n} documents matching: {query}"),
                    theme::dim(),
                ));
                for (i, op) in BulkOp::choices(actions).iter().enumerate() {
                    let style = if i == *selected {
                        theme::selected(true)
                    } else {
                        Style::new()
                    };
                    lines.push(Line::styled(format!(" {}", op.label()), style));
                }
                lines.push(hints(&[("⏎", "preview"), ("Esc", "cancel")]));
            }
            Phase::Preview(op) => {
                title = "Bulk action: preview";
                lines.push(Line::raw(format!(
                    "{}: {n} documents of {} matching {query}",
                    capitalized(&op.label()),
                    escape_controls(&self.ns)
                )));
                for r in self.rows.iter().take(SAMPLE) {
                    lines.push(Line::raw(format!(
                        "  {}  {}",
                        escape_controls(&r.meta.key),
                        op.change(r)
                    )));
                }
                if self.rows.len() > SAMPLE {
                    lines.push(Line::styled(
                        format!(
                            "  … and {} more",
                            thousands((self.rows.len() - SAMPLE) as u64)
                        ),
                        theme::dim(),
                    ));
                }
                lines.push(Line::styled(
                    "Each is written only if nobody changed it since the query saw it.",
                    theme::dim(),
                ));
                lines.push(hints(&[("y/⏎", "apply"), ("n/Esc", "cancel")]));
            }
            Phase::Running(op) | Phase::Report(op) => {
                let running = matches!(self.phase, Phase::Running(_));
                title = if running {
                    "Bulk action: running"
                } else {
                    "Bulk action: report"
                };
                lines.push(Line::raw(format!(
                    "{} — {n} documents matching {query}",
                    capitalized(&op.label())
                )));
                lines.push(bar(self.outcomes.len(), self.rows.len(), 40));
                lines.push(Line::raw(format!(
                    "done {}   changed by someone else {}   failed {}",
                    self.count(Outcome::Done),
                    self.count(Outcome::Changed),
                    self.count(Outcome::Failed)
                )));
                for (key, o, why) in self
                    .outcomes
                    .iter()
                    .filter(|(_, o, _)| *o != Outcome::Done)
                    .take(SAMPLE)
                {
                    let what = if *o == Outcome::Changed {
                        "changed since the query: left alone".to_string()
                    } else {
                        escape_controls(why).into_owned()
                    };
                    lines.push(Line::styled(
                        format!("  {}  {what}", escape_controls(key)),
                        theme::error(),
                    ));
                }
                if !running {
                    lines.push(hints(&[("⏎/Esc", "close")]));
                }
            }
        }
        let h = lines.len() as u16 + 2;
        let r = centered(area, 76, h);
        f.render_widget(Clear, r);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme::border(true))
            .title(Span::styled(format!(" {title} "), theme::title(true)));
        let width = r.width.saturating_sub(2) as usize;
        let lines: Vec<Line> = lines
            .into_iter()
            .map(|l| {
                let style = l.style;
                let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                if text.chars().count() > width {
                    Line::styled(super::clip(&text, width), style)
                } else {
                    l
                }
            })
            .collect();
        f.render_widget(Paragraph::new(lines).block(block), r);
    }
}

fn duration(s: u64) -> String {
    match s {
        DAY => "1 day".into(),
        s if s.is_multiple_of(DAY) => format!("{} days", s / DAY),
        s => format!("{s} s"),
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn hints(pairs: &[(&str, &str)]) -> Line<'static> {
    let mut spans = Vec::new();
    for (k, label) in pairs {
        spans.push(Span::styled(k.to_string(), theme::key_hint()));
        spans.push(Span::raw(format!(" {label}   ")));
    }
    Line::from(spans)
}

/// "████████░░░░ 120/370".
fn bar(done: usize, total: usize, width: usize) -> Line<'static> {
    let filled = (done * width).checked_div(total).unwrap_or(width);
    Line::from(vec![
        Span::styled("█".repeat(filled), theme::info()),
        Span::styled("░".repeat(width - filled), theme::dim()),
        Span::raw(format!(
            " {}/{}",
            thousands(done as u64),
            thousands(total as u64)
        )),
    ])
}
