//! `console stats [NS]`: documents, bytes, created and last-updated times per namespace.

use super::Ctx;
use super::output::{print_json, print_table, stdout_is_terminal};
use crate::model::Namespace;
use crate::text::human_bytes;
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// One namespace (default: all of them).
    pub namespace: Option<String>,
}

pub fn run(ctx: &Ctx, args: StatsArgs) -> anyhow::Result<()> {
    let ns = args
        .namespace
        .as_deref()
        .map(Namespace::parse)
        .transpose()?;
    let stats = ctx.store.stats(&ctx.scope, ns.as_ref())?;
    if ctx.global.json || !stdout_is_terminal() {
        return match (&ns, stats.first()) {
            (Some(_), Some(one)) => print_json(one),
            _ => print_json(&json!({ "namespaces": stats })),
        };
    }
    let rows: Vec<Vec<String>> = stats
        .iter()
        .map(|s| {
            vec![
                s.namespace.clone(),
                s.documents.to_string(),
                human_bytes(s.bytes),
                s.created_at.clone(),
                s.updated_at.clone(),
            ]
        })
        .collect();
    print_table(
        &["NAMESPACE", "DOCUMENTS", "SIZE", "CREATED", "UPDATED"],
        &rows,
    )
}
