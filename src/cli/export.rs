//! `console export [NS...]`: every document (or those of some namespaces) as JSON lines,
//! one document envelope per line, for backups and moves between stores.

use super::Ctx;
use super::progress::Progress;
use crate::model::{Key, Namespace};
use crate::store::{ListOptions, MAX_LIMIT};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Namespaces to export (default: all).
    pub namespaces: Vec<String>,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: ExportArgs) -> anyhow::Result<()> {
    let namespaces: Vec<Namespace> = if args.namespaces.is_empty() {
        ctx.store
            .namespaces(&ctx.scope)?
            .iter()
            .map(|n| Namespace::parse(n))
            .collect::<Result<_, _>>()?
    } else {
        args.namespaces
            .iter()
            .map(|n| Namespace::parse(n))
            .collect::<Result<_, _>>()?
    };
    let total: u64 = ctx
        .store
        .stats(&ctx.scope, None)?
        .iter()
        .filter(|s| namespaces.iter().any(|n| n.as_str() == s.namespace))
        .map(|s| s.documents)
        .sum();
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    // On a terminal, each line is the same JSON with unsafe characters escaped.
    let to_terminal = args.output.is_none() && super::output::stdout_is_terminal();
    let mut progress = Progress::new("exported", total);
    for ns in &namespaces {
        let mut opts = ListOptions {
            limit: MAX_LIMIT,
            ..ListOptions::default()
        };
        loop {
            let page = ctx.store.list(&ctx.scope, ns, &opts)?;
            for key in &page.keys {
                let key = Key::parse(key)?;
                match ctx.store.get(&ctx.scope, ns, &key) {
                    Ok(doc) => {
                        let line = serde_json::to_string(&doc)?;
                        if to_terminal {
                            writeln!(out, "{}", crate::text::terminal_safe_json(line))?;
                        } else {
                            writeln!(out, "{line}")?;
                        }
                        progress.step();
                    }
                    // Deleted or expired since the listing: nothing to export.
                    Err(e) if e.kind == crate::error::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if !page.has_more {
                break;
            }
            opts.cursor = page.cursor;
        }
    }
    out.flush()?;
    progress.done();
    Ok(())
}
