//! The terminal UI: three panes (namespaces, keys, document) over the store, for browsing,
//! triage and editing. State changes only in the pure `update`; store calls run on the
//! worker thread; the event loop drains all pending events and then draws once.

pub mod action;
pub mod app;
pub mod clipboard;
pub mod components;
pub mod diff;
mod event_loop;
pub mod json;
pub mod keymap;
pub mod keyspec;
pub mod live;
pub mod palette;
pub mod setup;
pub mod theme;
pub mod undo;
pub mod update;
pub mod view;
pub mod worker;

use crate::session::Ctx;

/// The name written as `reviewed_by`: the configured reviewer, else the login name.
pub fn reviewer(config: &crate::config::TuiConfig) -> String {
    config
        .reviewer
        .clone()
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "tui".to_string())
}

/// Checks the `[tui]` settings that only the TUI reads; errors name the setting.
pub fn check_config(config: &crate::config::TuiConfig) -> anyhow::Result<()> {
    keyspec::Keymap::new(&config.keys).map_err(|e| anyhow::anyhow!("config: {e}"))?;
    theme::Theme::from_config(&config.theme).map_err(|e| anyhow::anyhow!("config: {e}"))?;
    Ok(())
}

/// Runs the TUI on an opened store until the user quits.
pub fn run(
    ctx: Ctx,
    start_namespace: Option<String>,
    forced_read_only: bool,
) -> anyhow::Result<()> {
    check_config(&ctx.config.tui)?;
    theme::set(
        theme::Theme::from_config(&ctx.config.tui.theme)
            .unwrap_or_default()
            .for_env(),
    );
    let setup = setup::Setup::new(&ctx, forced_read_only);
    let (session, worker) = setup::session(ctx, start_namespace);
    event_loop::run(session, worker, setup)
}
