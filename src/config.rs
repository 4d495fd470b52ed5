//! Settings: the config file (profiles, store options, `[tui]`, `[serve]`), where it and
//! the data live, and the load order flag > environment > profile > default. The
//! directories come from the `directories` crate unless `CONSOLE_CONFIG_DIR` /
//! `CONSOLE_DATA_DIR` override them (tests use those so they never touch `$HOME`).

use crate::error::{Error, Result};
use crate::store::Tier;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole config file. Unknown settings are an error, so a typo never passes silently.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Profile used when `--profile` is not given.
    pub default_profile: Option<String>,
    /// Workspace used when none is given (default: `default`).
    pub workspace: Option<String>,
    /// Embedded store file (default: `console.db` in the data directory).
    pub store: Option<PathBuf>,
    /// Past versions kept per document.
    pub history_limit: Option<u64>,
    /// Entries kept in the change log.
    pub changes_limit: Option<u64>,
    /// Tier of a workspace created by its first write.
    pub default_tier: Option<Tier>,
    pub profiles: BTreeMap<String, Profile>,
    pub tui: TuiConfig,
    pub serve: ServeConfig,
}

/// A named way to reach a store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// An embedded store file.
    pub store: Option<PathBuf>,
    /// A server URL (remote backend).
    pub remote: Option<String>,
    /// Name of the environment variable that holds the API key.
    pub api_key_env: Option<String>,
    /// A command whose output is the API key (for a password manager).
    pub api_key_command: Option<String>,
    pub workspace: Option<String>,
    /// Refuse every write.
    pub read_only: bool,
    /// Seconds before a remote request gives up.
    pub timeout_secs: Option<u64>,
}

/// Settings of the terminal UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TuiConfig {
    pub reviewed_field: String,
    pub reviewed_at_field: String,
    pub reviewed_by_field: String,
    pub action_field: String,
    /// The choices of the action menu.
    pub actions: Vec<String>,
    /// Documents larger than this show a truncated preview.
    pub preview_limit_bytes: u64,
    /// Name written as `reviewed_by`.
    pub reviewer: Option<String>,
    /// Key remaps: command name (or `context.command`) = key spec or list of key specs.
    pub keys: BTreeMap<String, KeyList>,
    /// `"dark"`, `"light"`, or a table with `name` and colours per role.
    pub theme: ThemeSetting,
    /// Mouse support (wheel scrolls, click selects); off by default.
    pub mouse: bool,
}

/// One key spec or several, for `[tui.keys]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn specs(&self) -> Vec<&str> {
        match self {
            KeyList::One(s) => vec![s.as_str()],
            KeyList::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// `theme = "light"`, or `[tui.theme]` with `name` and per-role colours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ThemeSetting {
    Name(String),
    Table(ThemeTable),
}

impl Default for ThemeSetting {
    fn default() -> Self {
        ThemeSetting::Table(ThemeTable::default())
    }
}

impl ThemeSetting {
    /// The shipped theme it starts from, and the colours it sets on top.
    pub fn parts(&self) -> (&str, Option<&BTreeMap<String, String>>) {
        match self {
            ThemeSetting::Name(n) => (n, None),
            ThemeSetting::Table(t) => (&t.name, Some(&t.colors)),
        }
    }
}

/// The `[tui.theme]` table: a shipped theme by name, and colours (names or `#rrggbb`)
/// for the roles to change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeTable {
    #[serde(default = "dark")]
    pub name: String,
    #[serde(flatten)]
    pub colors: BTreeMap<String, String>,
}

fn dark() -> String {
    "dark".into()
}

impl Default for ThemeTable {
    fn default() -> Self {
        ThemeTable {
            name: dark(),
            colors: BTreeMap::new(),
        }
    }
}

impl Default for TuiConfig {
    fn default() -> Self {
        TuiConfig {
            reviewed_field: "reviewed".into(),
            reviewed_at_field: "reviewed_at".into(),
            reviewed_by_field: "reviewed_by".into(),
            action_field: "action".into(),
            actions: vec!["ignore".into(), "escalate".into(), "fix".into()],
            preview_limit_bytes: 256 * 1024,
            reviewer: None,
            keys: BTreeMap::new(),
            theme: ThemeSetting::default(),
            mouse: false,
        }
    }
}

/// Settings of `console serve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    pub listen: String,
    pub store: Option<PathBuf>,
    /// `true`: a write is acknowledged only once durable (`synchronous=FULL`).
    pub durable: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Requests per minute per API key; 0 turns rate limiting off.
    pub rate_limit_per_minute: u32,
    /// Seconds a connection may take to send a request's head (also the idle keep-alive limit).
    pub header_timeout_secs: u64,
    /// Seconds a request body may stall.
    pub body_timeout_secs: u64,
    /// Seconds requests in flight get to finish after SIGTERM before connections close.
    pub shutdown_grace_secs: u64,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: "127.0.0.1:7474".into(),
            store: None,
            durable: true,
            body_limit_bytes: 12 * 1024 * 1024,
            rate_limit_per_minute: 0,
            header_timeout_secs: 30,
            body_timeout_secs: 30,
            shutdown_grace_secs: 10,
        }
    }
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("dev", "agent-console", "console")
}

/// The directory that holds `config.toml`.
pub fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CONSOLE_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    project_dirs()
        .map(|d| d.config_dir().to_path_buf())
        .ok_or_else(|| Error::internal("no home directory: set CONSOLE_CONFIG_DIR"))
}

/// The directory that holds the default store.
pub fn data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CONSOLE_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| Error::internal("no home directory: set CONSOLE_DATA_DIR"))
}

pub fn config_path() -> Result<PathBuf> {
    Ok(config_dir()?.join("config.toml"))
}

impl Config {
    /// Loads the config file; a missing file is the defaults.
    pub fn load() -> Result<Config> {
        let path = config_path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(Error::internal(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        toml::from_str(text).map_err(|e| {
            // toml's own Display draws the line with a caret over several lines; an error
            // is one line here (`spec/cli.md`), so name the place instead.
            let place = e.span().map_or_else(String::new, |span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(" line {line}, column {column}")
            });
            let message = e.message().trim().replace('\n', "; ");
            Error::invalid(format!("{}{place}: {message}", path.display()))
        })
    }

    /// The profile named by `name`, or by `default_profile`; `None` when neither is set.
    pub fn profile(&self, name: Option<&str>) -> Result<Option<&Profile>> {
        match name.or(self.default_profile.as_deref()) {
            None => Ok(None),
            Some(n) => self.profiles.get(n).map(Some).ok_or_else(|| {
                let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
                Error::invalid(format!(
                    "no profile {n:?} in the config file (known: {})",
                    known.join(", ")
                ))
            }),
        }
    }

    /// The default embedded store file.
    pub fn default_store(&self) -> Result<PathBuf> {
        match &self.store {
            Some(p) => Ok(p.clone()),
            None => Ok(data_dir()?.join("console.db")),
        }
    }

    pub fn sqlite_options(&self) -> crate::store::sqlite::SqliteOptions {
        let d = crate::store::sqlite::SqliteOptions::default();
        crate::store::sqlite::SqliteOptions {
            history_limit: self.history_limit.unwrap_or(d.history_limit),
            changes_limit: self.changes_limit.unwrap_or(d.changes_limit).max(1),
            default_tier: self.default_tier.unwrap_or(d.default_tier),
            durable: d.durable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_documents_every_setting_and_parses() {
        let text = include_str!("../config.example.toml");
        let config = Config::parse(text, Path::new("config.example.toml")).unwrap();
        assert!(config.profiles.contains_key("team"));
        // The TUI's own checks (key specs, colours) accept it too.
        crate::tui::check_config(&config.tui).unwrap();
        for role in crate::tui::theme::ROLES {
            assert!(
                text.contains(role),
                "config.example.toml does not list role {role}"
            );
        }
        // Every top-level setting and section appears in the example.
        let full = toml::to_string(&Config::default()).unwrap();
        for line in full
            .lines()
            .filter(|l| l.contains('=') || l.starts_with('['))
        {
            let name = line
                .split(['=', ']'])
                .next()
                .unwrap()
                .trim()
                .trim_start_matches('[');
            assert!(
                text.contains(name),
                "config.example.toml does not mention {name}"
            );
        }
    }

    #[test]
    fn tui_keys_and_theme_take_both_forms() {
        let c = Config::parse(
            "[tui]\ntheme = \"light\"\nmouse = true\n[tui.keys]\nreview = \"x\"\nquit = [\"q\", \"ctrl-q\"]\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.tui.theme, ThemeSetting::Name("light".into()));
        assert!(c.tui.mouse);
        assert_eq!(c.tui.keys["review"], KeyList::One("x".into()));
        assert_eq!(c.tui.keys["quit"].specs(), ["q", "ctrl-q"]);
        let c = Config::parse(
            "[tui.theme]\nname = \"light\"\nkey_hint = \"#ff0000\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let (name, roles) = c.tui.theme.parts();
        assert_eq!(name, "light");
        assert_eq!(roles.unwrap()["key_hint"], "#ff0000");
    }

    #[test]
    fn unknown_settings_are_refused() {
        let err = Config::parse("workspce = \"x\"", Path::new("c.toml")).unwrap_err();
        assert!(err.message.contains("workspce"), "{}", err.message);
    }

    #[test]
    fn a_toml_error_is_one_line_that_names_the_place() {
        let err =
            Config::parse("workspace = \"a\"\n[tui\nmouse = 1\n", Path::new("c.toml")).unwrap_err();
        assert!(!err.message.contains('\n'), "{:?}", err.message);
        assert!(
            err.message.starts_with("c.toml line 2, column "),
            "{:?}",
            err.message
        );
    }

    #[test]
    fn missing_profiles_are_named() {
        let config = Config::default();
        assert!(config.profile(None).unwrap().is_none());
        assert!(config.profile(Some("x")).is_err());
    }
}
