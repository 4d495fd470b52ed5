//! `console keys ...`: create, list and revoke the API keys `console serve` accepts.
//! A new key's secret is printed once and never stored.

use super::Ctx;
use super::output::{print_json, print_line, print_table, stdout_is_terminal};
use clap::Subcommand;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key for --workspace (default "default"); prints the key once.
    Create {
        /// A name to recognise the key by.
        #[arg(long)]
        name: Option<String>,
        /// Recorded as updated_by on its writes, e.g. org-slug/agent-name@v1.
        #[arg(long)]
        actor: Option<String>,
        /// The key may only read.
        #[arg(long)]
        read_only: bool,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id: it stops working at once.
    Revoke { id: String },
}

pub fn run(ctx: &Ctx, command: KeysCommand) -> anyhow::Result<()> {
    let store = &ctx.store;
    match command {
        KeysCommand::Create {
            name,
            actor,
            read_only,
        } => {
            let k = store.create_key(
                &ctx.scope.workspace,
                name.as_deref(),
                actor.as_deref(),
                read_only,
            )?;
            if ctx.global.json {
                return print_json(&json!({
                    "id": k.info.id,
                    "workspace": k.info.workspace,
                    "name": k.info.name,
                    "actor": k.info.actor,
                    "read_only": k.info.read_only,
                    "key": k.token,
                }));
            }
            print_line(&format!(
                "created key {} for workspace {}{}",
                k.info.id,
                k.info.workspace,
                if read_only { " (read-only)" } else { "" },
            ))?;
            print_line(&k.token)?;
            print_line("This key is shown only once: store it now.")
        }
        KeysCommand::List => {
            let all = store.list_keys()?;
            if ctx.global.json || !stdout_is_terminal() {
                return print_json(&json!({ "keys": all }));
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|k| {
                    vec![
                        k.id.clone(),
                        k.workspace.clone(),
                        crate::text::escape_controls(&k.name).into_owned(),
                        k.actor.clone().unwrap_or_default(),
                        if k.read_only { "read" } else { "write" }.to_string(),
                        k.revoked_at
                            .clone()
                            .map_or_else(|| "active".to_string(), |t| format!("revoked {t}")),
                    ]
                })
                .collect();
            print_table(
                &["ID", "WORKSPACE", "NAME", "ACTOR", "ACCESS", "STATUS"],
                &rows,
            )
        }
        KeysCommand::Revoke { id } => {
            let k = store.revoke_key(&id)?;
            if ctx.global.json {
                print_json(&k)
            } else {
                print_line(&format!("revoked key {} ({})", k.id, k.workspace))
            }
        }
    }
}
