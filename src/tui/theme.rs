//! Colours and styles, in one place so every component looks the same.

use super::json::Tok;
use ratatui::style::{Color, Modifier, Style};

pub fn border(focused: bool) -> Style {
    if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    }
}

pub fn title(focused: bool) -> Style {
    let s = Style::new().add_modifier(Modifier::BOLD);
    if focused { s.fg(Color::Cyan) } else { s }
}

pub fn selected(focused: bool) -> Style {
    if focused {
        Style::new().bg(Color::Blue).fg(Color::White)
    } else {
        Style::new().bg(Color::DarkGray)
    }
}

pub fn header() -> Style {
    Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}

pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub fn reviewed() -> Style {
    Style::new().fg(Color::Green)
}

pub fn marked() -> Style {
    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

pub fn error() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

pub fn info() -> Style {
    Style::new().fg(Color::Green)
}

pub fn badge() -> Style {
    Style::new()
        .bg(Color::Red)
        .fg(Color::White)
        .add_modifier(Modifier::BOLD)
}

pub fn status() -> Style {
    Style::new().bg(Color::Black).fg(Color::Gray)
}

pub fn key_hint() -> Style {
    Style::new().fg(Color::Yellow)
}

pub fn search_hit() -> Style {
    Style::new().bg(Color::Yellow).fg(Color::Black)
}

pub fn added() -> Style {
    Style::new().fg(Color::Green)
}

pub fn removed() -> Style {
    Style::new().fg(Color::Red)
}

pub fn token(t: Tok) -> Style {
    match t {
        Tok::Key => Style::new().fg(Color::Cyan),
        Tok::Str => Style::new().fg(Color::Green),
        Tok::Num => Style::new().fg(Color::Magenta),
        Tok::Bool => Style::new().fg(Color::Yellow),
        Tok::Null => Style::new().fg(Color::DarkGray),
        Tok::Punct | Tok::Plain => Style::new(),
    }
}
