//! Choosing and opening the store, once for every front end (the CLI, `console serve`
//! and the TUI): the global options, the order flag > environment > profile > config
//! file > default, what a store location may be (a SQLite file, a `postgres://` URL, a
//! server URL), and `Ctx`, the opened store with the scope a front end acts in.

use crate::config::{Config, Profile};
use crate::error::{Error, ErrorKind, Result};
use crate::model::Workspace;
use crate::store::{Backend, PostgresStore, RemoteOptions, RemoteStore, Scope, SqliteStore, Store};
use clap::Args;
use std::path::{Path, PathBuf};

/// Options every command accepts, before or after the subcommand.
#[derive(Debug, Clone, Default, Args)]
pub struct Global {
    /// Embedded store file (default: console.db in the data directory), or a PostgreSQL
    /// database as postgres://USER@HOST:PORT/DB (postgresql:// too).
    #[arg(
        long,
        global = true,
        env = "CONSOLE_STORE",
        value_name = "PATH|URL",
        conflicts_with = "remote"
    )]
    pub store: Option<PathBuf>,
    /// URL of an Agent Storage server to use instead of the embedded store.
    #[arg(long, global = true, env = "CONSOLE_REMOTE", value_name = "URL")]
    pub remote: Option<String>,
    /// API key for --remote.
    #[arg(
        long,
        global = true,
        env = "CONSOLE_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,
    /// Workspace to act in (default: "default", or the profile's).
    #[arg(long, global = true, env = "CONSOLE_WORKSPACE", value_name = "SLUG")]
    pub workspace: Option<String>,
    /// Named profile from the config file.
    #[arg(long, global = true, env = "CONSOLE_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Seconds a request to a --remote server may take before it fails (default 10).
    #[arg(long, global = true, env = "CONSOLE_TIMEOUT", value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Machine-readable JSON output (errors too).
    #[arg(long, global = true)]
    pub json: bool,
}

/// Where the data is.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// An embedded SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its connection URL.
    Postgres(String),
    /// An Agent Storage server.
    Remote(String),
}

/// Who opens the store: the server takes its own `[serve] store` setting and cannot serve
/// a remote store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Opener {
    Client,
    Server,
}

/// Schemes refused even without `//` after them.
const URL_SCHEMES: &[&str] = &["postgres", "postgresql", "sqlite", "file", "http", "https"];

/// What a store setting (`--store`, `CONSOLE_STORE`, a profile's or the config's `store`)
/// names: a `postgres://` or `postgresql://` URL, or a file. Anything else that looks like
/// a URL is refused rather than taken as a file name (a file called `postgres:` would
/// silently be a new, empty store).
pub fn store_location(setting: &Path) -> Result<Location> {
    let Some(text) = setting.to_str() else {
        return Ok(Location::Sqlite(setting.to_path_buf()));
    };
    let lower = text.to_ascii_lowercase();
    if let Some(rest) = ["postgres://", "postgresql://"]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
    {
        if rest.is_empty() {
            return Err(Error::invalid(format!(
                "store {text:?} names no database: use postgres://USER@HOST:PORT/DB"
            )));
        }
        return Ok(Location::Postgres(text.to_string()));
    }
    if let Some((scheme, rest)) = text.split_once(':')
        && scheme.len() > 1
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
        && (rest.starts_with("//") || URL_SCHEMES.contains(&lower.split(':').next().unwrap_or("")))
    {
        return Err(Error::invalid(format!(
            "store {text:?} is not a store this console can open: give a file path or a \
             postgres://USER@HOST:PORT/DB URL (for an Agent Storage server use --remote)"
        )));
    }
    Ok(Location::Sqlite(setting.to_path_buf()))
}

/// The store the options select: flag > environment (both in `global`) > profile >
/// config file > default.
pub fn locate(
    global: &Global,
    config: &Config,
    profile: &Profile,
    opener: Opener,
) -> Result<Location> {
    let remote = match (&global.remote, &global.store) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(_)) => None,
        (None, None) => profile.remote.clone(),
    };
    if let Some(url) = remote {
        if opener == Opener::Server {
            return Err(Error::invalid(
                "console serve serves a store of its own: give --store (a file or a \
                 postgres:// URL), not a remote server",
            ));
        }
        return Ok(Location::Remote(url));
    }
    let serve_store = match opener {
        Opener::Server => config.serve.store.clone(),
        Opener::Client => None,
    };
    let setting = match (&global.store, &profile.store, serve_store) {
        (Some(p), _, _) | (None, Some(p), _) => p.clone(),
        (None, None, Some(p)) => p,
        (None, None, None) => config.default_store()?,
    };
    store_location(&setting)
}

/// Opens the backend at `location`.
pub fn open_backend(
    location: &Location,
    config: &Config,
    global: &Global,
    profile: &Profile,
    opener: Opener,
    actor: &str,
) -> Result<Backend> {
    let mut sqlite_options = config.sqlite_options();
    if opener == Opener::Server {
        sqlite_options.durable = config.serve.durable;
    }
    match location {
        Location::Sqlite(path) => Ok(Backend::Sqlite(SqliteStore::open(path, sqlite_options)?)),
        Location::Postgres(url) => Ok(Backend::Postgres(PostgresStore::open(
            url,
            sqlite_options.into(),
        )?)),
        Location::Remote(url) => {
            let mut options = RemoteOptions::new(url);
            options.api_key = api_key(global, profile)?;
            options.workspace = chosen_workspace(global, profile)
                .map(|w| Workspace::parse(&w))
                .transpose()?;
            options.client_name = Some(actor.to_string());
            if let Some(secs) = global.timeout.or(profile.timeout_secs) {
                if secs == 0 {
                    return Err(Error::invalid("the timeout must be at least 1 second"));
                }
                options.timeout = std::time::Duration::from_secs(secs);
            }
            Ok(Backend::Remote(RemoteStore::open(options)?))
        }
    }
}

/// The workspace named by a flag or the profile (not the config file's default).
fn chosen_workspace(global: &Global, profile: &Profile) -> Option<String> {
    global.workspace.clone().or(profile.workspace.clone())
}

/// The workspace to act in: flag > profile > config > "default".
pub fn workspace(global: &Global, config: &Config, profile: &Profile) -> Result<Workspace> {
    let slug = chosen_workspace(global, profile)
        .or(config.workspace.clone())
        .unwrap_or_else(|| "default".to_string());
    Workspace::parse(&slug)
}

/// Everything a front end needs: the settings, the store and the scope it acts in.
pub struct Ctx {
    pub global: Global,
    pub config: Config,
    pub store: Store,
    pub scope: Scope,
}

impl Ctx {
    /// Opens the store the flags, environment, profile and config select
    /// (flag > environment > profile > config file > default), acting as `actor`.
    pub fn open(global: &Global, actor: &str) -> Result<Ctx> {
        Ctx::open_for(global, actor, Opener::Client)
    }

    /// `open`, for a client or for the server.
    pub fn open_for(global: &Global, actor: &str, opener: Opener) -> Result<Ctx> {
        let config = Config::load()?;
        // The server reads a profile only when one is named: a default profile is a
        // client's choice (often a remote server).
        let profile = match opener {
            Opener::Server if global.profile.is_none() => Profile::default(),
            _ => config
                .profile(global.profile.as_deref())?
                .cloned()
                .unwrap_or_default(),
        };
        let scope = Scope::new(workspace(global, &config, &profile)?, actor);
        let location = locate(global, &config, &profile, opener)?;
        let backend = open_backend(&location, &config, global, &profile, opener, actor)?;
        let mut store = Store::new(backend);
        store.read_only = profile.read_only;
        Ok(Ctx {
            global: global.clone(),
            config,
            store,
            scope,
        })
    }
}

/// The API key: `--api-key` / `CONSOLE_API_KEY`, else the profile's variable or command.
fn api_key(global: &Global, profile: &Profile) -> Result<Option<String>> {
    if let Some(key) = &global.api_key {
        return Ok(Some(key.clone()));
    }
    if let Some(var) = &profile.api_key_env {
        return std::env::var(var).map(Some).map_err(|_| {
            Error::invalid(format!(
                "the profile reads its API key from ${var}, which is not set"
            ))
        });
    }
    if let Some(command) = &profile.api_key_command {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .output()
            .map_err(|e| Error::internal(format!("cannot run api_key_command: {e}")))?;
        if !out.status.success() {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                format!("api_key_command failed ({})", out.status),
            ));
        }
        let key = String::from_utf8_lossy(&out.stdout).trim().to_string();
        return Ok(Some(key));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(s: &str) -> Result<Location> {
        store_location(Path::new(s))
    }

    #[test]
    fn postgres_urls_select_postgres_and_odd_schemes_are_refused() {
        for url in [
            "postgres://me@127.0.0.1:5432/db",
            "postgresql://me@localhost/db",
            "POSTGRES://x/y",
        ] {
            assert_eq!(loc(url).unwrap(), Location::Postgres(url.to_string()));
        }
        for bad in [
            "postgres:",
            "postgres:db",
            "postgres://",
            "postgresql:/x",
            "mysql://h/db",
            "http://127.0.0.1:7474",
            "sqlite:x.db",
        ] {
            let e = loc(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput, "{bad}: {e}");
        }
        for file in [
            "console.db",
            "/tmp/a:b.db",
            "./postgres",
            "dir/postgres:x",
            "C",
        ] {
            assert_eq!(loc(file).unwrap(), Location::Sqlite(PathBuf::from(file)));
        }
    }

    #[test]
    fn flag_beats_profile_beats_config() {
        let config = Config {
            store: Some("config.db".into()),
            ..Config::default()
        };
        let profile = Profile {
            store: Some("postgres://p@h/db".into()),
            ..Profile::default()
        };
        let flag = Global {
            store: Some("flag.db".into()),
            ..Global::default()
        };
        let none = Global::default();
        let at = |g: &Global, p: &Profile| locate(g, &config, p, Opener::Client).unwrap();
        assert_eq!(at(&flag, &profile), Location::Sqlite("flag.db".into()));
        assert_eq!(
            at(&none, &profile),
            Location::Postgres("postgres://p@h/db".into())
        );
        assert_eq!(
            at(&none, &Profile::default()),
            Location::Sqlite("config.db".into())
        );
        let remote = Profile {
            remote: Some("http://127.0.0.1:1".into()),
            ..Profile::default()
        };
        assert_eq!(
            at(&none, &remote),
            Location::Remote("http://127.0.0.1:1".into())
        );
        // The flag's store wins over a profile's server.
        assert_eq!(at(&flag, &remote), Location::Sqlite("flag.db".into()));
        assert!(locate(&none, &config, &remote, Opener::Server).is_err());
    }
}
