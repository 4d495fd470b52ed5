//! `console workspaces ...`: list the store's workspaces, create one, set a tier.

use super::Ctx;
use super::output::{print_json, print_table, stdout_is_terminal};
use crate::model::Workspace;
use crate::store::Tier;
use clap::Subcommand;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum WorkspacesCommand {
    /// List workspaces with their tiers.
    List,
    /// Create a workspace (or update its name and tier).
    Create {
        slug: String,
        /// Quota tier: free, pro, team, enterprise or unlimited.
        #[arg(long)]
        tier: Option<Tier>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Change a workspace's quota tier.
    SetTier { slug: String, tier: Tier },
}

pub fn run(ctx: &Ctx, command: WorkspacesCommand) -> anyhow::Result<()> {
    let store = &ctx.store;
    let info = match command {
        WorkspacesCommand::List => {
            let all = store.workspaces()?;
            if ctx.global.json || !stdout_is_terminal() {
                return print_json(&json!({ "workspaces": all }));
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|w| {
                    vec![
                        w.slug.clone(),
                        w.tier.as_str().to_string(),
                        w.name.clone(),
                        w.created_at.clone(),
                    ]
                })
                .collect();
            return print_table(&["SLUG", "TIER", "NAME", "CREATED"], &rows);
        }
        WorkspacesCommand::Create { slug, tier, name } => {
            store.upsert_workspace(&Workspace::parse(&slug)?, name.as_deref(), tier)?
        }
        WorkspacesCommand::SetTier { slug, tier } => {
            store.upsert_workspace(&Workspace::parse(&slug)?, None, Some(tier))?
        }
    };
    if ctx.global.json {
        print_json(&info)
    } else {
        super::output::print_line(&format!(
            "workspace {} ({}, tier {})",
            info.slug,
            info.name,
            info.tier.as_str()
        ))
    }
}
