//! The command line: argument definitions (their doc comments are the `--help` text),
//! the context every command opens (config, store, scope), and dispatch to one file per
//! subcommand.

mod config_cmd;
mod delete;
mod demo;
mod export;
mod get;
mod history;
mod import;
mod incr;
pub mod input;
mod keys;
mod list;
pub mod output;
mod progress;
mod serve;
mod set;
mod stats;
mod tui;
mod workspaces;

use crate::config::{Config, Profile};
use crate::error::{Error, ErrorKind, Result};
use crate::model::Workspace;
use crate::store::{Backend, RemoteOptions, RemoteStore, Scope, SqliteStore, Store};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// console: browse, triage and edit the JSON documents your agents share.
///
/// With no subcommand on a terminal it opens the TUI. Every other use is headless:
/// the storage commands mirror `orch storage ...`. Data lives in an embedded SQLite
/// file by default (see `console config path`), or on a server with --remote.
#[derive(Debug, Parser)]
#[command(name = "console", version)]
#[command(
    after_help = "Exit codes: 0 ok, 1 other failure, 2 usage, 3 not found, 4 conflict, \
5 invalid input, 6 too large or over quota, 7 unauthorized or forbidden, 8 rate limited."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command accepts, before or after the subcommand.
#[derive(Debug, Clone, Default, Args)]
pub struct Global {
    /// Embedded store file (default: console.db in the data directory).
    #[arg(
        long,
        global = true,
        env = "CONSOLE_STORE",
        value_name = "PATH",
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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List namespaces, or the keys of a namespace.
    List(list::ListArgs),
    /// Read a document.
    Get(get::GetArgs),
    /// Create or replace a document.
    Set(set::SetArgs),
    /// Merge a JSON object into a document (top level; null removes a member).
    Patch(set::PatchArgs),
    /// Delete a document, or every document of a namespace with --all.
    Delete(delete::DeleteArgs),
    /// Atomically add to a numeric member (the document and member are created when missing).
    Incr(incr::IncrArgs),
    /// List the retained versions of a document, or print one.
    History(history::HistoryArgs),
    /// Statistics of one namespace or of all: documents, bytes, created, last updated.
    Stats(stats::StatsArgs),
    /// Write documents as JSON lines (all namespaces, or the ones named), for backup or a move.
    Export(export::ExportArgs),
    /// Write the documents of an export into the store (versions kept where the store lacks them).
    Import(import::ImportArgs),
    /// Manage the workspaces of the embedded store and their quota tiers.
    #[command(subcommand)]
    Workspaces(workspaces::WorkspacesCommand),
    /// Show where the config file is, and what it says.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Run the REST server (the Agent Storage API) over the embedded store.
    Serve(serve::ServeArgs),
    /// Manage the API keys of `console serve`.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Open the terminal UI (what `console` alone does on a terminal).
    Tui(tui::TuiArgs),
    /// Build a demo store with realistic agent state and open the TUI on it.
    Demo(demo::DemoArgs),
}

/// Everything a command needs: the settings, the store and the scope it acts in.
pub struct Ctx {
    pub global: Global,
    pub config: Config,
    pub store: Store,
    pub scope: Scope,
}

impl Ctx {
    /// Opens the store the flags, environment, profile and config select
    /// (flag > environment > profile > config file > default).
    pub fn open(global: &Global, actor: &str) -> Result<Ctx> {
        let config = Config::load()?;
        let profile = config
            .profile(global.profile.as_deref())?
            .cloned()
            .unwrap_or_default();
        let chosen_workspace = global.workspace.clone().or(profile.workspace.clone());
        let workspace = chosen_workspace
            .clone()
            .or(config.workspace.clone())
            .unwrap_or_else(|| "default".to_string());
        let workspace = Workspace::parse(&workspace)?;
        let remote = match (&global.remote, &global.store) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(_)) => None,
            (None, None) => profile.remote.clone(),
        };
        let backend = match remote {
            Some(url) => {
                let mut options = RemoteOptions::new(&url);
                options.api_key = api_key(global, &profile)?;
                options.workspace = chosen_workspace.map(|w| Workspace::parse(&w)).transpose()?;
                options.client_name = Some(actor.to_string());
                if !global.json {
                    // With --json, stderr carries only the JSON error.
                    options.on_wait = Some(|m| eprintln!("{m}"));
                }
                if let Some(secs) = global.timeout.or(profile.timeout_secs) {
                    if secs == 0 {
                        return Err(Error::invalid("the timeout must be at least 1 second"));
                    }
                    options.timeout = std::time::Duration::from_secs(secs);
                }
                Backend::Remote(RemoteStore::open(options)?)
            }
            None => {
                let path = match (&global.store, &profile.store) {
                    (Some(p), _) | (None, Some(p)) => p.clone(),
                    (None, None) => config.default_store()?,
                };
                Backend::Sqlite(SqliteStore::open(&path, config.sqlite_options())?)
            }
        };
        let mut store = Store::new(backend);
        store.read_only = profile.read_only;
        Ok(Ctx {
            global: global.clone(),
            config,
            store,
            scope: Scope::new(workspace, actor),
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

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    let Some(command) = cli.command else {
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            return tui::run(&global, tui::TuiArgs::default());
        }
        return Err(output::UsageError(
            "no command given (the TUI needs a terminal): try `console --help`".into(),
        )
        .into());
    };
    match command {
        Command::Config(c) => config_cmd::run(&global, c),
        Command::Serve(a) => serve::run(&global, a),
        Command::Tui(a) => tui::run(&global, a),
        Command::Demo(a) => demo::run(&global, a),
        command => {
            let ctx = Ctx::open(&global, "cli")?;
            match command {
                Command::List(a) => list::run(&ctx, a),
                Command::Get(a) => get::run(&ctx, a),
                Command::Set(a) => set::run_set(&ctx, a),
                Command::Patch(a) => set::run_patch(&ctx, a),
                Command::Delete(a) => delete::run(&ctx, a),
                Command::Incr(a) => incr::run(&ctx, a),
                Command::History(a) => history::run(&ctx, a),
                Command::Stats(a) => stats::run(&ctx, a),
                Command::Workspaces(c) => workspaces::run(&ctx, c),
                Command::Export(a) => export::run(&ctx, a),
                Command::Import(a) => import::run(&ctx, a),
                Command::Keys(c) => keys::run(&ctx, c),
                Command::Config(_) | Command::Serve(_) | Command::Tui(_) | Command::Demo(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
