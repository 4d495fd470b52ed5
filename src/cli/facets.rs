//! `console facets NS PATH [--where EXPR]`: how a namespace's documents spread over the
//! values of one member, most frequent first.

use super::Ctx;
use super::output::{print_json, print_table, stdout_is_terminal};
use crate::model::Namespace;
use crate::query::Path;
use clap::Args;
use serde_json::Value;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  console facets findings severity
  console facets findings agent --where '!reviewed'
  console facets findings evidence.source --json")]
pub struct FacetsArgs {
    /// The namespace to count.
    pub namespace: String,
    /// The member to group by, dotted into objects (`severity`, `evidence.source`).
    pub path: String,
    /// Count only the documents this query matches (as `console list --where`).
    #[arg(long = "where", value_name = "EXPR")]
    pub query: Option<String>,
}

pub fn run(ctx: &Ctx, args: FacetsArgs) -> anyhow::Result<()> {
    let ns = Namespace::parse(&args.namespace)?;
    let path = Path::parse(&args.path)?;
    let query = crate::query::parse_opt(args.query.as_deref())?;
    let facets = ctx.store.facets(&ctx.scope, &ns, &path, query.as_ref())?;
    if ctx.global.json || !stdout_is_terminal() {
        return print_json(&facets);
    }
    let share = |n: u64| {
        if facets.total == 0 {
            "-".to_string()
        } else {
            format!("{:.1}%", n as f64 * 100.0 / facets.total as f64)
        }
    };
    let mut rows: Vec<Vec<String>> = facets
        .values
        .iter()
        .map(|v| {
            let shown = match &v.value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            vec![shown, v.count.to_string(), share(v.count)]
        })
        .collect();
    if facets.missing > 0 {
        rows.push(vec![
            "(missing)".into(),
            facets.missing.to_string(),
            share(facets.missing),
        ]);
    }
    print_table(&[&args.path.to_uppercase(), "COUNT", "SHARE"], &rows)?;
    eprintln!("{} documents counted", facets.total);
    Ok(())
}
