//! `console set` (create or replace, with CAS, create-only and TTL) and `console patch`
//! (top-level merge-patch, with CAS).

use super::Ctx;
use super::input::read_arg;
use super::output::{print_json, print_line};
use crate::model::{self, Key, Meta, Namespace};
use crate::store::PutOptions;
use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  console set signals 2026-03-05 '{\"pending\": [], \"done\": []}'
  console set signals config @config.json
  agent-output | console set signals latest -
  console set signals 2026-03-05 '{\"status\": \"done\"}' --version 3   # CAS: exit 4 if changed
  console set locks deploy '{\"owner\": \"me\"}' --create-only --ttl 300")]
pub struct SetArgs {
    /// Namespace: lowercase letters, digits and '-' (e.g. `signals`).
    pub namespace: String,
    /// Key: letters, digits, '.', '_' and '-' (e.g. `2026-03-05`).
    pub key: String,
    /// The value: JSON text, @FILE to read a file, or - to read standard input.
    pub value: String,
    /// Write only if the document is at this version (compare-and-swap); exit 4 otherwise.
    #[arg(long)]
    pub version: Option<u64>,
    /// Write only if the document does not exist yet; exit 4 otherwise.
    #[arg(long, conflicts_with = "version")]
    pub create_only: bool,
    /// Expire the document after this many seconds (0: never).
    #[arg(long, value_name = "SECS")]
    pub ttl: Option<u64>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  console patch findings F-12 '{\"reviewed\": true, \"action\": \"ignore\"}'
  console patch findings F-12 '{\"draft\": null}'          # null removes a member
  console patch findings F-12 @patch.json --version 4")]
pub struct PatchArgs {
    /// Namespace: lowercase letters, digits and '-' (e.g. `signals`).
    pub namespace: String,
    /// Key: letters, digits, '.', '_' and '-' (e.g. `2026-03-05`).
    pub key: String,
    /// A JSON object: each member replaces the stored one, null removes it. @FILE or - work too.
    pub partial: String,
    /// Patch only if the document is at this version; exit 4 otherwise.
    #[arg(long)]
    pub version: Option<u64>,
}

pub fn run_set(ctx: &Ctx, args: SetArgs) -> anyhow::Result<()> {
    let ns = Namespace::parse(&args.namespace)?;
    let key = Key::parse(&args.key)?;
    let value = model::parse_value(&read_arg(&args.value)?)?;
    let opts = PutOptions {
        expected_version: args.version,
        create_only: args.create_only,
        ttl: args.ttl,
        initial_version: None,
        restore: None,
    };
    let written = ctx.store.put(&ctx.scope, &ns, &key, value, &opts)?;
    report(
        ctx,
        &written.meta,
        if written.created {
            "created"
        } else {
            "replaced"
        },
    )
}

pub fn run_patch(ctx: &Ctx, args: PatchArgs) -> anyhow::Result<()> {
    let ns = Namespace::parse(&args.namespace)?;
    let key = Key::parse(&args.key)?;
    let partial = model::parse_patch(&read_arg(&args.partial)?)?;
    let meta = ctx
        .store
        .patch(&ctx.scope, &ns, &key, partial, args.version)?;
    report(ctx, &meta, "patched")
}

/// Prints the result of a write: the metadata envelope with --json, else one line.
pub fn report(ctx: &Ctx, meta: &Meta, what: &str) -> anyhow::Result<()> {
    if ctx.global.json {
        print_json(meta)
    } else {
        print_line(&format!(
            "{what} {}/{} (version {})",
            meta.namespace, meta.key, meta.version
        ))
    }
}
