//! `console get NS KEY`: the value as pretty JSON, `--raw` compact, `--json` the envelope.

use super::Ctx;
use super::output::{print_json, print_raw_json};
use crate::model::{Document, Key, Namespace};
use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  console get signals 2026-03-05          # the value, pretty
  console get signals 2026-03-05 --raw    # the value, one line
  console get signals 2026-03-05 --json   # with version, size, times, updated_by")]
pub struct GetArgs {
    /// Namespace: lowercase letters, digits and '-' (e.g. `signals`).
    pub namespace: String,
    /// Key: letters, digits, '.', '_' and '-' (e.g. `2026-03-05`).
    pub key: String,
    /// Print the value alone, compact (for scripts).
    #[arg(long, conflicts_with = "json")]
    pub raw: bool,
}

pub fn run(ctx: &Ctx, args: GetArgs) -> anyhow::Result<()> {
    let ns = Namespace::parse(&args.namespace)?;
    let key = Key::parse(&args.key)?;
    let doc = ctx.store.get(&ctx.scope, &ns, &key)?;
    print_document(&doc, args.raw, ctx.global.json)
}

/// Prints a document the way `get` does; shared with `history --version`.
pub fn print_document(doc: &Document, raw: bool, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(doc)
    } else if raw {
        print_raw_json(serde_json::to_string(&doc.value)?)
    } else {
        print_raw_json(serde_json::to_string_pretty(&doc.value)?)
    }
}
