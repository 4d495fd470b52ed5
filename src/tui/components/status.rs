//! The two bottom lines: the message line (errors, results, the loading indicator) and the
//! status bar (where the data is, workspace, READ-ONLY badge, triage progress, and the
//! key hints of whatever has focus, from the keymap table).

use super::clip;
use crate::text::escape_controls;
use crate::tui::app::App;
use crate::tui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// "reviewed N of M" for the namespace listed, or `None` when none is.
pub fn progress(app: &App) -> Option<String> {
    let ns = app.keys.ns.as_deref()?;
    let (reviewed, loaded) = app.keys.progress();
    let total = app.namespaces.documents(ns);
    if app.keys.applied.is_some() {
        // Under a query: the review state of its matches.
        return Some(format!("reviewed {reviewed} of {loaded} matching"));
    }
    Some(match total {
        Some(t) if !app.keys.has_more => format!("reviewed {reviewed} of {t}"),
        _ => format!("reviewed {reviewed} of {loaded} loaded"),
    })
}

/// The end of `s`, at most `width` characters, with an ellipsis when cut (paths).
fn clip_left(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let tail: String = s.chars().skip(n + 1 - width).collect();
    format!("…{tail}")
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let width = area.width as usize;
    let message = match (&app.message, app.loading()) {
        (Some(m), _) => Line::styled(
            clip(&escape_controls(&m.text), width),
            if m.error {
                theme::error()
            } else {
                theme::info()
            },
        ),
        (None, true) => Line::styled("⟳ loading…", theme::dim()),
        (None, false) => Line::raw(""),
    };
    let mut spans = Vec::new();
    if app.session.read_only {
        spans.push(Span::styled(" READ-ONLY ", theme::badge()));
        spans.push(Span::raw(" "));
    }
    if app.loading() && app.message.is_some() {
        spans.push(Span::styled("⟳ ", theme::dim()));
    }
    spans.push(Span::raw(format!(
        "{} · ws {}",
        clip_left(
            &escape_controls(&app.session.location),
            (width / 5).clamp(12, 40)
        ),
        escape_controls(&app.session.workspace)
    )));
    if let Some(p) = progress(app) {
        spans.push(Span::raw(format!(" · {p}")));
    }
    if let Some(s) = super::history::indicator(app.live.feed) {
        spans.push(Span::raw(" · "));
        spans.push(s);
    }
    if !app.keys.filter.is_empty() {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            format!("filter: {}", clip(&escape_controls(&app.keys.filter), 30)),
            theme::key_hint(),
        ));
    }
    spans.push(Span::raw(" │"));
    for (label, desc) in app.keymap.hints(app.context()) {
        spans.push(Span::styled(format!(" {label}"), theme::key_hint()));
        spans.push(Span::raw(format!(" {desc}")));
    }
    let status = Line::from(spans).style(theme::status());
    f.render_widget(Paragraph::new(vec![message, status]), area);
}
