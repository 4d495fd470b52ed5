//! The command line: argument definitions (their doc comments are the `--help` text),
//! the context every command opens (config, store, scope), and dispatch to one file per
//! subcommand.

mod backup;
mod config_cmd;
mod delete;
mod demo;
mod diff;
mod export;
mod facets;
mod get;
mod history;
mod import;
mod incr;
pub mod input;
mod keys;
mod list;
pub mod output;
mod progress;
mod revert;
mod serve;
mod set;
mod shell;
mod stats;
mod tui;
mod watch;
mod workspaces;

use clap::{Parser, Subcommand};

pub use crate::session::{Ctx, Global};

/// console: browse, triage and edit the JSON documents your agents share.
///
/// With no subcommand on a terminal it opens the TUI. Every other use is headless:
/// the storage commands mirror `orch storage ...`. Data lives in an embedded SQLite
/// file by default (see `console config path`), in PostgreSQL with
/// --store postgres://USER@HOST:PORT/DB, or on a server with --remote.
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
    /// Show what changed between two versions of a document (a unified diff).
    Diff(diff::DiffArgs),
    /// Make an earlier version's value the current one again (a new, conditional write).
    Revert(revert::RevertArgs),
    /// Follow the changes of a namespace or a document as they happen.
    Watch(watch::WatchArgs),
    /// Statistics of one namespace or of all: documents, bytes, created, last updated.
    Stats(stats::StatsArgs),
    /// Count a namespace's documents by the values of one member (most frequent first).
    Facets(facets::FacetsArgs),
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
    /// Copy the embedded store, consistently, while it is in use (a server may be serving it).
    Backup(backup::BackupArgs),
    /// Replace the embedded store's contents with a backup's.
    Restore(backup::RestoreArgs),
    /// Print the shell completion script for bash, zsh, fish or PowerShell.
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff; `console man | man -l -` shows it).
    Man(shell::ManArgs),
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
        Command::Completions(a) => shell::completions(a),
        Command::Man(a) => shell::man(a),
        command => {
            let mut ctx = Ctx::open(&global, "cli")?;
            if let (crate::store::Backend::Remote(remote), false) =
                (&mut ctx.store.backend, global.json)
            {
                // A person waiting on a rate limit is told so (with --json, stderr carries
                // only the JSON error).
                remote.on_wait(|m| eprintln!("{m}"));
            }
            match command {
                Command::List(a) => list::run(&ctx, a),
                Command::Get(a) => get::run(&ctx, a),
                Command::Set(a) => set::run_set(&ctx, a),
                Command::Patch(a) => set::run_patch(&ctx, a),
                Command::Delete(a) => delete::run(&ctx, a),
                Command::Incr(a) => incr::run(&ctx, a),
                Command::History(a) => history::run(&ctx, a),
                Command::Diff(a) => diff::run(&ctx, a),
                Command::Revert(a) => revert::run(&ctx, a),
                Command::Watch(a) => watch::run(&ctx, a),
                Command::Backup(a) => backup::run_backup(&ctx, a),
                Command::Restore(a) => backup::run_restore(&ctx, a),
                Command::Stats(a) => stats::run(&ctx, a),
                Command::Facets(a) => facets::run(&ctx, a),
                Command::Workspaces(c) => workspaces::run(&ctx, c),
                Command::Export(a) => export::run(&ctx, a),
                Command::Import(a) => import::run(&ctx, a),
                Command::Keys(c) => keys::run(&ctx, c),
                Command::Config(_)
                | Command::Serve(_)
                | Command::Tui(_)
                | Command::Demo(_)
                | Command::Completions(_)
                | Command::Man(_) => {
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
