//! `console demo`: builds a demo store (demo.db in the data directory, from the documents
//! in assets/demo/) with realistic agent state — findings to triage, checkpoints,
//! coordination documents — and opens the TUI on it.

use super::{Global, tui::TuiArgs};
use crate::error::Result;
use crate::model::{Key, Namespace, Workspace};
use crate::store::{PutOptions, Scope, SqliteStore, Tier};
use clap::Args;
use serde::Deserialize;
use std::io::IsTerminal;
use std::path::Path;

/// The demo documents: one JSON object per line, `{ns, key, by, value}`; a key that
/// appears again is written again (a later version).
const DOCUMENTS: &[&str] = &[
    include_str!("../../assets/demo/findings.jsonl"),
    include_str!("../../assets/demo/checkpoints.jsonl"),
    include_str!("../../assets/demo/coordination.jsonl"),
    include_str!("../../assets/demo/signals.jsonl"),
    include_str!("../../assets/demo/dedup.jsonl"),
];

pub const DEMO_WORKSPACE: &str = "demo";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Rebuild the demo store even if it exists (it is rebuilt only when missing).
    #[arg(long)]
    pub reset: bool,
    /// Build the demo store and print where it is, without opening the TUI.
    #[arg(long)]
    pub no_tui: bool,
    /// Refuse writes in the TUI.
    #[arg(long)]
    pub read_only: bool,
}

#[derive(Deserialize)]
struct Line {
    ns: String,
    key: String,
    by: String,
    value: serde_json::Value,
}

/// Writes the demo documents into a fresh store at `path`; returns how many writes.
pub fn build(path: &Path) -> Result<usize> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(&p);
    }
    let store = SqliteStore::open(path, Default::default())?;
    let ws = Workspace::parse(DEMO_WORKSPACE)?;
    store.upsert_workspace(&ws, Some("Demo"), Some(Tier::Unlimited))?;
    let mut n = 0;
    for text in DOCUMENTS {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let l: Line = serde_json::from_str(line)?;
            let scope = Scope::new(ws.clone(), l.by);
            let (ns, key) = (Namespace::parse(&l.ns)?, Key::parse(&l.key)?);
            store.put(&scope, &ns, &key, l.value, &PutOptions::default())?;
            n += 1;
        }
    }
    Ok(n)
}

pub fn run(global: &Global, args: DemoArgs) -> anyhow::Result<()> {
    let path = crate::config::data_dir()?.join("demo.db");
    if args.reset || !path.exists() {
        build(&path)?;
    }
    if args.no_tui || !std::io::stdout().is_terminal() {
        println!("{}", path.display());
        eprintln!(
            "the demo documents are in workspace {DEMO_WORKSPACE}: \
             console --store '{}' --workspace {DEMO_WORKSPACE} list",
            path.display()
        );
        return Ok(());
    }
    let global = Global {
        store: Some(path),
        remote: None,
        workspace: Some(DEMO_WORKSPACE.to_string()),
        ..global.clone()
    };
    super::tui::run(
        &global,
        TuiArgs {
            namespace: Some("findings".into()),
            read_only: args.read_only,
        },
    )
}
