//! The terminal UI: three panes (namespaces, keys, document) over the store, for browsing,
//! triage and editing. State changes only in the pure `update`; store calls run on the
//! worker thread; the event loop drains all pending events and then draws once.

pub mod action;
pub mod app;
pub mod components;
pub mod diff;
mod event_loop;
pub mod filter;
pub mod json;
pub mod keymap;
pub mod keyspec;
pub mod theme;
pub mod update;
pub mod view;
pub mod worker;

use crate::cli::Ctx;
use app::Session;
use std::sync::Arc;

/// The name written as `reviewed_by`: the configured reviewer, else the login name.
pub fn reviewer(config: &crate::config::TuiConfig) -> String {
    config
        .reviewer
        .clone()
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "tui".to_string())
}

/// Runs the TUI on an opened store until the user quits.
pub fn run(ctx: Ctx, start_namespace: Option<String>) -> anyhow::Result<()> {
    let session = Session {
        location: ctx.store.location(),
        workspace: ctx.scope.workspace.as_str().to_string(),
        read_only: ctx.store.read_only,
        reviewer: reviewer(&ctx.config.tui),
        config: ctx.config.tui.clone(),
        start_namespace,
    };
    let worker = worker::Worker {
        store: Arc::new(ctx.store),
        scope: ctx.scope,
        config: ctx.config.tui,
    };
    event_loop::run(session, worker)
}
