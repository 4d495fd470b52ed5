//! The command line: argument definitions (their doc comments are the `--help` text),
//! the context every command opens (config, store, scope), and dispatch to one file per
//! subcommand.

mod config_cmd;
mod delete;
mod demo;
mod get;
mod history;
mod incr;
pub mod input;
mod list;
pub mod output;
mod set;
mod stats;
mod tui;
mod workspaces;

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Workspace;
use crate::store::{Backend, Scope, SqliteStore, Store};
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
    #[arg(long, global = true, env = "CONSOLE_STORE", value_name = "PATH")]
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
    /// Manage the workspaces of the embedded store and their quota tiers.
    #[command(subcommand)]
    Workspaces(workspaces::WorkspacesCommand),
    /// Show where the config file is, and what it says.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
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
    /// Opens the store the flags, environment, profile and config select.
    pub fn open(global: &Global, actor: &str) -> Result<Ctx> {
        let config = Config::load()?;
        let profile = config
            .profile(global.profile.as_deref())?
            .cloned()
            .unwrap_or_default();
        let workspace = global
            .workspace
            .clone()
            .or(profile.workspace.clone())
            .or(config.workspace.clone())
            .unwrap_or_else(|| "default".to_string());
        let workspace = Workspace::parse(&workspace)?;
        let remote = global.remote.clone().or(profile.remote.clone());
        if let Some(url) = remote.filter(|_| global.store.is_none()) {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "cannot use {url}: the remote backend is not part of this build yet; use --store"
                ),
            ));
        }
        let path = match (&global.store, &profile.store) {
            (Some(p), _) | (None, Some(p)) => p.clone(),
            (None, None) => config.default_store()?,
        };
        let mut store = Store::new(Backend::Sqlite(SqliteStore::open(
            &path,
            config.sqlite_options(),
        )?));
        store.read_only = profile.read_only;
        Ok(Ctx {
            global: global.clone(),
            config,
            store,
            scope: Scope::new(workspace, actor),
        })
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    let Some(command) = cli.command else {
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            return tui::run(&global, tui::TuiArgs::default());
        }
        return Err(Error::invalid("no command given: try `console --help`").into());
    };
    match command {
        Command::Config(c) => config_cmd::run(&global, c),
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
                Command::Config(_) | Command::Tui(_) | Command::Demo(_) => {
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
