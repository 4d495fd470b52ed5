//! `console history NS KEY`: the retained versions of a document; `--version N` prints one.

use super::Ctx;
use super::get::print_document;
use super::output::{print_json, print_table, stdout_is_terminal};
use crate::model::{Key, Namespace};
use crate::text::human_bytes;
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Namespace: lowercase letters, digits and '-' (e.g. `signals`).
    pub namespace: String,
    /// Key: letters, digits, '.', '_' and '-' (e.g. `2026-03-05`).
    pub key: String,
    /// Print this version's value instead of the list.
    #[arg(long)]
    pub version: Option<u64>,
    /// With --version: the value alone, compact.
    #[arg(long, requires = "version")]
    pub raw: bool,
}

pub fn run(ctx: &Ctx, args: HistoryArgs) -> anyhow::Result<()> {
    let ns = Namespace::parse(&args.namespace)?;
    let key = Key::parse(&args.key)?;
    if let Some(v) = args.version {
        let doc = ctx.store.history_version(&ctx.scope, &ns, &key, v)?;
        return print_document(&doc, args.raw, ctx.global.json);
    }
    let versions = ctx.store.history(&ctx.scope, &ns, &key)?;
    if ctx.global.json || !stdout_is_terminal() {
        return print_json(&json!({ "versions": versions }));
    }
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|m| {
            vec![
                m.version.to_string(),
                m.updated_at.clone(),
                human_bytes(m.size_bytes),
                m.updated_by.clone(),
            ]
        })
        .collect();
    print_table(&["VERSION", "UPDATED", "SIZE", "BY"], &rows)
}
