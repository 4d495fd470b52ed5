//! `console revert NS KEY --version N`: write an earlier version's value back as a new
//! version, conditional on the version read first, so a concurrent write is never lost.

use super::Ctx;
use super::output::print_line;
use super::set::report;
use crate::model::{Key, Namespace};
use crate::store::PutOptions;
use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  console history signals 2026-03-05                 # the retained versions
  console diff signals 2026-03-05 3                  # what reverting to 3 would undo
  console revert signals 2026-03-05 --version 3      # exit 4 if it changed meanwhile")]
pub struct RevertArgs {
    /// Namespace: lowercase letters, digits and '-' (e.g. `signals`).
    pub namespace: String,
    /// Key: letters, digits, '.', '_' and '-' (e.g. `2026-03-05`).
    pub key: String,
    /// The retained version whose value becomes the current one again.
    #[arg(long, value_name = "N")]
    pub version: u64,
    /// Revert only if the document is at this version now (default: the version read
    /// just before writing); exit 4 otherwise.
    #[arg(long, value_name = "N")]
    pub if_version: Option<u64>,
}

pub fn run(ctx: &Ctx, args: RevertArgs) -> anyhow::Result<()> {
    let ns = Namespace::parse(&args.namespace)?;
    let key = Key::parse(&args.key)?;
    let current = ctx.store.get(&ctx.scope, &ns, &key)?;
    let expected = args.if_version.unwrap_or(current.meta.version);
    if args.version == current.meta.version && expected == current.meta.version {
        return print_line(&format!(
            "{ns}/{key} is at version {} already: nothing to revert",
            current.meta.version
        ));
    }
    let old = ctx
        .store
        .history_version(&ctx.scope, &ns, &key, args.version)?;
    let opts = PutOptions {
        expected_version: Some(expected),
        ..PutOptions::default()
    };
    let written = ctx.store.put(&ctx.scope, &ns, &key, old.value, &opts)?;
    report(
        ctx,
        &written.meta,
        &format!("reverted to version {}:", args.version),
    )
}
