//! The in-app JSON editor (ratatui-textarea): it re-checks the text on every change and
//! shows where the JSON is wrong (line and column); invalid text cannot be saved. It
//! remembers the version and value it started from, for the conditional save.

use crate::model;
use crate::text::{escape_controls, terminal_safe_json};
use crate::tui::theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui_textarea::TextArea;
use serde_json::Value;

pub struct EditorState {
    pub ns: String,
    pub key: String,
    /// The version the edit started from: the save is conditional on it.
    pub base_version: u64,
    pub base_value: Value,
    pub textarea: TextArea<'static>,
    /// Where and why the text is not a valid document.
    pub error: Option<String>,
    pub saving: bool,
    /// Esc was pressed once with unsaved changes.
    pub discard_armed: bool,
}

/// A value as the editor shows it: pretty JSON with no raw control characters.
pub fn pretty(v: &Value) -> String {
    terminal_safe_json(serde_json::to_string_pretty(v).unwrap_or_default())
}

impl EditorState {
    pub fn new(ns: &str, key: &str, version: u64, value: Value, text: Option<String>) -> Self {
        let text = text.unwrap_or_else(|| pretty(&value));
        let lines: Vec<String> = text
            .split('\n')
            .map(|l| escape_controls(l).into_owned())
            .collect();
        let mut textarea = TextArea::new(lines);
        textarea.set_line_number_style(theme::dim());
        textarea.set_cursor_line_style(Style::new().add_modifier(Modifier::UNDERLINED));
        let mut e = EditorState {
            ns: ns.to_string(),
            key: key.to_string(),
            base_version: version,
            base_value: value,
            textarea,
            error: None,
            saving: false,
            discard_armed: false,
        };
        e.check();
        e
    }

    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    /// The edited value, or where it is wrong.
    pub fn parse(&self) -> Result<Value, String> {
        let text = self.text();
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "line {} column {}: {}",
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            )
        })?;
        model::validate_value(&v).map_err(|e| e.message)?;
        Ok(v)
    }

    pub fn check(&mut self) {
        self.error = self.parse().err();
    }

    pub fn changed(&self) -> bool {
        self.parse().map_or(true, |v| v != self.base_value)
    }

    pub fn draw(&self, f: &mut Frame, area: Rect) {
        f.render_widget(Clear, area);
        let [main, foot] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        let title = format!(
            " Edit {}/{} (from v{}) ",
            escape_controls(&self.ns),
            escape_controls(&self.key),
            self.base_version
        );
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme::border(true))
            .title(Span::styled(title, theme::title(true)));
        let inner = block.inner(main);
        f.render_widget(block, main);
        f.render_widget(&self.textarea, inner);
        let status = match (&self.error, self.saving) {
            (_, true) => Line::styled("saving…", theme::info()),
            (Some(e), _) => {
                Line::styled(format!("invalid JSON: {e} (cannot save)"), theme::error())
            }
            (None, _) if self.discard_armed => {
                Line::styled("unsaved changes: Esc again discards them", theme::error())
            }
            (None, _) => Line::styled("valid JSON", theme::info()),
        };
        f.render_widget(Paragraph::new(status), foot);
    }
}

/// serde_json's message without its trailing " at line L column C".
fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}
