//! `console delete NS KEY` (optionally conditional) and `console delete NS --all`, which
//! asks for the namespace's name on a terminal and needs `--yes` without one.

use super::Ctx;
use super::output::{UsageError, print_json, print_line};
use crate::model::{Key, Namespace};
use crate::text::human_bytes;
use clap::Args;
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  console delete signals 2026-03-05
  console delete signals 2026-03-05 --version 4   # only if unchanged
  console delete signals --all                    # asks for the namespace's name
  console delete signals --all --yes              # in scripts")]
pub struct DeleteArgs {
    /// Namespace: lowercase letters, digits and '-'.
    pub namespace: String,
    /// The document to delete (or --all for the whole namespace).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub key: Option<String>,
    /// Delete only if the document is at this version; exit 4 otherwise.
    #[arg(long, requires = "key")]
    pub version: Option<u64>,
    /// Delete every document of the namespace.
    #[arg(long)]
    pub all: bool,
    /// Do not ask for confirmation (needed with --all when not on a terminal).
    #[arg(long, short = 'y', requires = "all", conflicts_with = "key")]
    pub yes: bool,
}

pub fn run(ctx: &Ctx, args: DeleteArgs) -> anyhow::Result<()> {
    let ns = Namespace::parse(&args.namespace)?;
    let Some(key) = &args.key else {
        return delete_all(ctx, &ns, args.yes);
    };
    let key = Key::parse(key)?;
    ctx.store.delete(&ctx.scope, &ns, &key, args.version)?;
    if ctx.global.json {
        print_json(&json!({"deleted": true, "namespace": ns, "key": key}))
    } else {
        print_line(&format!("deleted {ns}/{key}"))
    }
}

fn delete_all(ctx: &Ctx, ns: &Namespace, yes: bool) -> anyhow::Result<()> {
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(UsageError(format!(
                "refusing to delete every document of {ns} without confirmation: add --yes"
            ))
            .into());
        }
        let stats = ctx.store.stats(&ctx.scope, Some(ns))?;
        let (docs, bytes) = stats.first().map_or((0, 0), |s| (s.documents, s.bytes));
        eprint!(
            "This deletes all {docs} documents ({}) of namespace {ns}.\nType the namespace name to confirm: ",
            human_bytes(bytes)
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != ns.as_str() {
            return Err(UsageError("not confirmed: nothing was deleted".into()).into());
        }
    }
    let n = ctx.store.delete_namespace(&ctx.scope, ns)?;
    if ctx.global.json {
        print_json(&json!({"deleted": true, "namespace": ns, "documents_deleted": n}))
    } else {
        let s = if n == 1 { "" } else { "s" };
        print_line(&format!("deleted {n} document{s} from {ns}"))
    }
}
