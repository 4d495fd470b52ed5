//! Colours and styles, in one place so every component looks the same. The colours come
//! from a `Theme`: a shipped one (assets/themes/dark.toml, light.toml, embedded) with the
//! config's `[tui.theme]` roles on top; `NO_COLOR` turns colours off (selection and
//! matches then show in reverse video). The theme in force is per thread: the event loop
//! sets it once, tests set their own.

use super::json::Tok;
use crate::config::ThemeSetting;
use ratatui::style::{Color, Modifier, Style};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::str::FromStr;

const DARK: &str = include_str!("../../assets/themes/dark.toml");
const LIGHT: &str = include_str!("../../assets/themes/light.toml");

/// Every role, in the order of the struct (and of the theme files).
pub const ROLES: [&str; 25] = [
    "border",
    "border_focused",
    "title_focused",
    "selected_fg",
    "selected_bg",
    "selected_unfocused_bg",
    "dim",
    "reviewed",
    "marked",
    "error",
    "info",
    "badge_fg",
    "badge_bg",
    "status_fg",
    "status_bg",
    "key_hint",
    "search_hit_fg",
    "search_hit_bg",
    "added",
    "removed",
    "json_key",
    "json_string",
    "json_number",
    "json_bool",
    "json_null",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub colors: [Color; 25],
    /// No colours at all (`NO_COLOR`).
    pub mono: bool,
}

/// A colour name, an index or `#rrggbb`; `default` / `none` are the terminal's own.
pub fn parse_color(s: &str) -> Result<Color, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "default" | "none" => Ok(Color::Reset),
        _ => Color::from_str(s.trim()).map_err(|_| {
            format!("{s:?} is not a colour (a name like red or darkgray, 0-255, or #rrggbb)")
        }),
    }
}

impl Theme {
    fn role(name: &str) -> Option<usize> {
        ROLES.iter().position(|r| *r == name)
    }

    fn set(&mut self, role: &str, color: &str, setting: &str) -> Result<(), String> {
        let i = Theme::role(role).ok_or_else(|| {
            format!(
                "{setting}: no colour role {role:?} (roles: {})",
                ROLES.join(", ")
            )
        })?;
        self.colors[i] = parse_color(color).map_err(|e| format!("{setting}: {e}"))?;
        Ok(())
    }

    fn parse_file(text: &str, name: &str) -> Result<Theme, String> {
        let map: BTreeMap<String, String> =
            toml::from_str(text).map_err(|e| format!("theme {name}: {e}"))?;
        let mut t = Theme {
            colors: [Color::Reset; 25],
            mono: false,
        };
        for (role, color) in &map {
            t.set(role, color, &format!("theme {name}"))?;
        }
        Ok(t)
    }

    /// A shipped theme by name.
    pub fn shipped(name: &str) -> Result<Theme, String> {
        match name {
            "dark" => Theme::parse_file(DARK, "dark"),
            "light" => Theme::parse_file(LIGHT, "light"),
            other => Err(format!(
                "tui.theme: no theme {other:?} (shipped: dark, light)"
            )),
        }
    }

    /// The theme the config asks for.
    pub fn from_config(setting: &ThemeSetting) -> Result<Theme, String> {
        let (name, roles) = setting.parts();
        let mut t = Theme::shipped(name)?;
        for (role, color) in roles.into_iter().flatten() {
            t.set(role, color, &format!("tui.theme.{role}"))?;
        }
        Ok(t)
    }

    /// This theme, without colours when `NO_COLOR` is set (and not empty).
    pub fn for_env(self) -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme {
            mono: self.mono || no_color,
            ..self
        }
    }

    fn c(&self, role: &str) -> Color {
        if self.mono {
            return Color::Reset;
        }
        Theme::role(role).map_or(Color::Reset, |i| self.colors[i])
    }
}

impl Default for Theme {
    fn default() -> Theme {
        Theme::shipped("dark").unwrap_or(Theme {
            colors: [Color::Reset; 25],
            mono: false,
        })
    }
}

thread_local! {
    static CURRENT: Cell<Option<Theme>> = const { Cell::new(None) };
}

/// Makes `t` the theme of this thread's drawing.
pub fn set(t: Theme) {
    CURRENT.with(|c| c.set(Some(t)));
}

fn current() -> Theme {
    CURRENT.with(|c| match c.get() {
        Some(t) => t,
        None => {
            let t = Theme::default();
            c.set(Some(t));
            t
        }
    })
}

fn fg(role: &str) -> Style {
    let t = current();
    Style::new().fg(t.c(role))
}

fn pair(fg_role: &str, bg_role: &str) -> Style {
    let t = current();
    if t.mono {
        return Style::new().add_modifier(Modifier::REVERSED);
    }
    Style::new().fg(t.c(fg_role)).bg(t.c(bg_role))
}

pub fn border(focused: bool) -> Style {
    if focused {
        let s = fg("border_focused");
        if current().mono {
            s.add_modifier(Modifier::BOLD)
        } else {
            s
        }
    } else {
        fg("border")
    }
}

pub fn title(focused: bool) -> Style {
    let s = Style::new().add_modifier(Modifier::BOLD);
    if focused {
        s.patch(fg("title_focused"))
    } else {
        s
    }
}

pub fn selected(focused: bool) -> Style {
    if focused {
        pair("selected_fg", "selected_bg")
    } else if current().mono {
        Style::new().add_modifier(Modifier::UNDERLINED)
    } else {
        Style::new().bg(current().c("selected_unfocused_bg"))
    }
}

pub fn header() -> Style {
    Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}

pub fn dim() -> Style {
    let s = fg("dim");
    if current().mono {
        s.add_modifier(Modifier::DIM)
    } else {
        s
    }
}

pub fn reviewed() -> Style {
    fg("reviewed")
}

pub fn marked() -> Style {
    fg("marked").add_modifier(Modifier::BOLD)
}

pub fn error() -> Style {
    fg("error").add_modifier(Modifier::BOLD)
}

pub fn info() -> Style {
    fg("info")
}

pub fn badge() -> Style {
    pair("badge_fg", "badge_bg").add_modifier(Modifier::BOLD)
}

pub fn status() -> Style {
    let t = current();
    Style::new().bg(t.c("status_bg")).fg(t.c("status_fg"))
}

pub fn key_hint() -> Style {
    let s = fg("key_hint");
    if current().mono {
        s.add_modifier(Modifier::BOLD)
    } else {
        s
    }
}

pub fn search_hit() -> Style {
    pair("search_hit_fg", "search_hit_bg")
}

pub fn added() -> Style {
    fg("added")
}

pub fn removed() -> Style {
    fg("removed")
}

pub fn token(t: Tok) -> Style {
    match t {
        Tok::Key => fg("json_key"),
        Tok::Str => fg("json_string"),
        Tok::Num => fg("json_number"),
        Tok::Bool => fg("json_bool"),
        Tok::Null => fg("json_null"),
        Tok::Punct | Tok::Plain => Style::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ThemeTable;

    #[test]
    fn shipped_themes_set_every_role() {
        for (name, text) in [("dark", DARK), ("light", LIGHT)] {
            let map: BTreeMap<String, String> = toml::from_str(text).unwrap();
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            let mut roles = ROLES.to_vec();
            roles.sort_unstable();
            assert_eq!(keys, roles, "{name}");
            Theme::shipped(name).unwrap();
        }
    }

    #[test]
    fn config_roles_override_and_bad_ones_name_the_setting() {
        let mut table = ThemeTable {
            name: "light".into(),
            ..ThemeTable::default()
        };
        table.colors.insert("key_hint".into(), "#ff0000".into());
        let t = Theme::from_config(&ThemeSetting::Table(table.clone())).unwrap();
        assert_eq!(t.c("key_hint"), Color::Rgb(255, 0, 0));
        assert_eq!(t.c("json_key"), Color::Rgb(0, 0x5f, 0x87));
        table.colors.insert("key_hint".into(), "bluish".into());
        let e = Theme::from_config(&ThemeSetting::Table(table.clone())).unwrap_err();
        assert!(
            e.starts_with("tui.theme.key_hint: \"bluish\" is not a colour"),
            "{e}"
        );
        table.colors.clear();
        table.colors.insert("borders".into(), "red".into());
        let e = Theme::from_config(&ThemeSetting::Table(table)).unwrap_err();
        assert!(e.contains("tui.theme.borders: no colour role"), "{e}");
        let e = Theme::from_config(&ThemeSetting::Name("solarized".into())).unwrap_err();
        assert!(e.contains("no theme \"solarized\""), "{e}");
    }

    #[test]
    fn no_color_keeps_selection_visible_without_colours() {
        let mono = Theme {
            mono: true,
            ..Theme::default()
        };
        set(mono);
        assert_eq!(
            selected(true),
            Style::new().add_modifier(Modifier::REVERSED)
        );
        assert_eq!(reviewed().fg, Some(Color::Reset));
        set(Theme::default());
        assert_eq!(reviewed().fg, Some(Color::Green));
    }
}
