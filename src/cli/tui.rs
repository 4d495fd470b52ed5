//! `console tui [--namespace NS] [--read-only]` (and `console` alone on a terminal):
//! opens the terminal UI on the selected store, acting as `tui`.

use super::{Ctx, Global};
use crate::model::Namespace;
use clap::Args;
use std::io::IsTerminal;

#[derive(Debug, Default, Args)]
pub struct TuiArgs {
    /// Open this namespace first.
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// Refuse every write in this session (shows a READ-ONLY badge).
    #[arg(long)]
    pub read_only: bool,
}

pub fn run(global: &Global, args: TuiArgs) -> anyhow::Result<()> {
    if !std::io::stdout().is_terminal() {
        return Err(super::output::UsageError(
            "the TUI needs a terminal: use the headless commands (console --help)".into(),
        )
        .into());
    }
    if let Some(ns) = &args.namespace {
        Namespace::parse(ns)?;
    }
    let mut ctx = Ctx::open(global, "tui")?;
    if args.read_only {
        ctx.store.read_only = true;
    }
    crate::tui::run(ctx, args.namespace, args.read_only)
}
