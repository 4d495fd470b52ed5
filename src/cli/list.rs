//! `console list [NS]`: namespaces, or one namespace's keys, a page at a time or all.

use super::Ctx;
use super::output::{print_json, print_table, select_fields, stdout_is_terminal};
use crate::model::{self, Meta, Namespace};
use crate::store::{DEFAULT_LIMIT, KeyPage, ListOptions, NamespaceStats};
use crate::text::{human_bytes, relative_time};
use clap::Args;
use serde_json::{Value, json};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  console list                                  # namespaces
  console list signals --limit 50               # first page; the cursor goes to stderr
  console list signals --cursor 3230... --limit 50
  console list signals --prefix 2026-03 --all   # every page
  console list signals --fields key,version,updated_by
  console list findings --where 'severity=high !reviewed' --all
  console list findings --where 'evidence.confidence>0.8 tags~secrets' --json

A query (--where) is words that must all match: plain text in the key, by:NAME,
reviewed, action:X, size>10kb, updated<1h, PATH=V, PATH!=V, PATH>V (also <, <=, >=),
PATH~TEXT (contains), has:PATH; `!` negates a word; quotes keep spaces. See docs/query.md.
A page of a query examines at most 20,000 documents, so it may be short (even empty)
while more follow: --all walks them all.")]
pub struct ListArgs {
    /// Namespace whose keys to list; without it, list the namespaces.
    pub namespace: Option<String>,
    /// Keys per page, 1 to 1000.
    #[arg(long, default_value_t = DEFAULT_LIMIT)]
    pub limit: usize,
    /// Continue after the page that returned this cursor.
    #[arg(long)]
    pub cursor: Option<String>,
    /// Only keys that start with this prefix.
    #[arg(long)]
    pub prefix: Option<String>,
    /// Walk every page and list every key.
    #[arg(long)]
    pub all: bool,
    /// Keep only these fields of each item, e.g. `key,version` (implies --json).
    #[arg(long, value_name = "FIELDS")]
    pub fields: Option<String>,
    /// Only the documents this query matches, e.g. 'severity=high !reviewed'.
    #[arg(long = "where", value_name = "EXPR")]
    pub query: Option<String>,
}

pub fn run(ctx: &Ctx, args: ListArgs) -> anyhow::Result<()> {
    let json = ctx.global.json || args.fields.is_some() || !stdout_is_terminal();
    match &args.namespace {
        None if args.query.is_some() => Err(super::output::UsageError(
            "--where needs a namespace: console list NS --where EXPR".into(),
        )
        .into()),
        None => list_namespaces(ctx, &args, json),
        Some(ns) => list_keys(ctx, &Namespace::parse(ns)?, &args, json),
    }
}

fn list_namespaces(ctx: &Ctx, args: &ListArgs, json: bool) -> anyhow::Result<()> {
    if json && args.fields.is_none() {
        let namespaces = ctx.store.namespaces(&ctx.scope)?;
        if namespaces.is_empty() {
            hint_other_workspaces(ctx, false);
        }
        return print_json(&json!({ "namespaces": namespaces }));
    }
    let stats = ctx.store.stats(&ctx.scope, None)?;
    if let Some(fields) = &args.fields {
        let items = stats
            .iter()
            .map(|s| serde_json::to_value(s).expect("serializable"))
            .collect();
        return print_json(&select_fields(items, fields, &NamespaceStats::FIELDS)?);
    }
    if stats.is_empty() {
        hint_other_workspaces(ctx, true);
    }
    let now = model::now_ms();
    let rows: Vec<Vec<String>> = stats
        .iter()
        .map(|s| {
            vec![
                s.namespace.clone(),
                s.documents.to_string(),
                human_bytes(s.bytes),
                ago(&s.updated_at, now),
            ]
        })
        .collect();
    print_table(&["NAMESPACE", "DOCUMENTS", "SIZE", "UPDATED"], &rows)
}

fn list_keys(ctx: &Ctx, ns: &Namespace, args: &ListArgs, json: bool) -> anyhow::Result<()> {
    let detail = !json || args.fields.is_some();
    let mut opts = ListOptions {
        limit: args.limit,
        cursor: args.cursor.clone(),
        prefix: args.prefix.clone(),
        detail,
        fields: Vec::new(),
        query: crate::query::parse_opt(args.query.as_deref())?,
    };
    let mut page = ctx.store.list(&ctx.scope, ns, &opts)?;
    if args.all {
        let mut whole = page.clone();
        while page.has_more {
            opts.cursor = page.cursor.clone();
            page = ctx.store.list(&ctx.scope, ns, &opts)?;
            whole.keys.extend(page.keys.iter().cloned());
            if let (Some(all), Some(more)) = (whole.items.as_mut(), page.items.as_ref()) {
                all.extend(more.iter().cloned());
            }
        }
        whole.cursor = None;
        whole.has_more = false;
        page = whole;
    }
    if let Some(fields) = &args.fields {
        let items: Vec<Value> = page
            .items
            .unwrap_or_default()
            .iter()
            .map(|m| serde_json::to_value(m).expect("serializable"))
            .collect();
        return print_json(&select_fields(items, fields, &Meta::FIELDS)?);
    }
    if json {
        return print_json(&page);
    }
    print_key_table(&page)
}

fn print_key_table(page: &KeyPage) -> anyhow::Result<()> {
    let now = model::now_ms();
    let rows: Vec<Vec<String>> = page
        .items
        .iter()
        .flatten()
        .map(|m| {
            vec![
                m.key.clone(),
                m.version.to_string(),
                human_bytes(m.size_bytes),
                ago(&m.updated_at, now),
                m.updated_by.clone(),
            ]
        })
        .collect();
    print_table(&["KEY", "VERSION", "SIZE", "UPDATED", "BY"], &rows)?;
    if let Some(cursor) = &page.cursor {
        eprintln!("more keys: --cursor {cursor} (or --all)");
    }
    Ok(())
}

fn ago(time: &str, now: i64) -> String {
    model::parse_time(time).map_or_else(|| time.to_string(), |t| relative_time(t, now))
}

/// An empty workspace: name the store's other workspaces on stderr (the demo store keeps
/// its documents in `demo`, not in `default`); `always`: say it is empty even without any.
fn hint_other_workspaces(ctx: &Ctx, always: bool) {
    let ws = ctx.scope.workspace.as_str();
    let others: Vec<String> = ctx
        .store
        .workspaces()
        .unwrap_or_default()
        .into_iter()
        .map(|w| w.slug)
        .filter(|slug| slug != ws)
        .collect();
    if others.is_empty() {
        if always {
            eprintln!("no documents in workspace {ws}");
        }
    } else {
        eprintln!(
            "no documents in workspace {ws}; this store also has workspace{} {} \
             (pick one with --workspace SLUG)",
            if others.len() == 1 { "" } else { "s" },
            others.join(", ")
        );
    }
}
