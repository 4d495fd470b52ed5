//! `console incr NS KEY FIELD [--by N]`: atomic increment of a numeric member.

use super::Ctx;
use super::output::{print_json, print_raw_json};
use crate::error::Error;
use crate::model::{Key, Namespace};
use clap::Args;

#[derive(Debug, Args)]
pub struct IncrArgs {
    /// Namespace: lowercase letters, digits and '-' (e.g. `signals`).
    pub namespace: String,
    /// Key: letters, digits, '.', '_' and '-' (e.g. `2026-03-05`).
    pub key: String,
    /// The top-level member to add to.
    pub field: String,
    /// The amount (an integer or a decimal; negative to decrement).
    #[arg(long, default_value = "1", allow_hyphen_values = true)]
    pub by: String,
}

pub fn run(ctx: &Ctx, args: IncrArgs) -> anyhow::Result<()> {
    let ns = Namespace::parse(&args.namespace)?;
    let key = Key::parse(&args.key)?;
    let by: serde_json::Number = args
        .by
        .parse()
        .map_err(|_| Error::invalid(format!("--by {:?} is not a number", args.by)))?;
    let doc = ctx.store.incr(&ctx.scope, &ns, &key, &args.field, &by)?;
    if ctx.global.json {
        print_json(&doc)
    } else {
        print_raw_json(doc.value[&args.field].to_string())
    }
}
