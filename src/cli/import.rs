//! `console import [FILE]`: writes the documents of an export (JSON lines of document
//! envelopes), keeping their metadata: `updated_by`, `created_at`, `updated_at` and
//! `expires_at` as exported (on a remote store the server records its own). A document
//! the target lacks keeps its exported version; one the target has is replaced (its
//! version moves on). Bad lines are reported with their line number and
//! nothing of that line is written.

use super::Ctx;
use super::input::read_arg;
use super::output::print_line;
use super::progress::Progress;
use crate::error::Error;
use crate::model::{Document, Key, Namespace, parse_time};
use crate::store::{PutOptions, Restore};
use clap::Args;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The export to read: a file, or - for standard input.
    #[arg(default_value = "-")]
    pub file: String,
}

pub fn run(ctx: &Ctx, args: ImportArgs) -> anyhow::Result<()> {
    let arg = if args.file == "-" {
        args.file.clone()
    } else {
        format!("@{}", args.file)
    };
    let text = String::from_utf8(read_arg(&arg)?)
        .map_err(|_| Error::invalid("the export is not UTF-8"))?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    // Check every line before writing any, so a bad file changes nothing.
    let docs = lines
        .iter()
        .map(|(n, line)| {
            parse_line(line).map_err(|e| Error::invalid(format!("line {}: {}", n + 1, e.message)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut progress = Progress::new("imported", docs.len() as u64);
    let now = crate::model::now_ms();
    for (ns, key, doc, restore) in &docs {
        if restore.expires_at.is_some_and(|at| at <= now) {
            continue; // expired since the export
        }
        // An envelope without authorship and times (hand-made) gets this write's own.
        let stamped = !restore.updated_by.is_empty();
        let opts = PutOptions {
            initial_version: Some(doc.meta.version),
            ttl: restore
                .expires_at
                .filter(|_| !stamped)
                .map(|at| ((at - now) as u64).div_ceil(1000)),
            restore: stamped.then(|| restore.clone()),
            ..PutOptions::default()
        };
        ctx.store
            .put(&ctx.scope, ns, key, doc.value.clone(), &opts)?;
        progress.step();
    }
    progress.done();
    print_line(&format!("imported {} documents", docs.len()))
}

fn parse_line(line: &str) -> Result<(Namespace, Key, Document, Restore), Error> {
    let doc: Document = serde_json::from_str(line)
        .map_err(|e| Error::invalid(format!("not a document envelope: {e}")))?;
    let ns = Namespace::parse(&doc.meta.namespace)?;
    let key = Key::parse(&doc.meta.key)?;
    crate::model::validate_value(&doc.value)?;
    let time = |name: &str, text: &str| {
        parse_time(text).ok_or_else(|| Error::invalid(format!("{name} is not a time: {text:?}")))
    };
    let m = &doc.meta;
    if m.updated_by.is_empty() || m.created_at.is_empty() || m.updated_at.is_empty() {
        // Nothing to restore but the expiry.
        let expires_at = m
            .expires_at
            .as_deref()
            .map(|t| time("expires_at", t))
            .transpose()?;
        let bare = Restore {
            created_at: 0,
            updated_at: 0,
            updated_by: String::new(),
            expires_at,
        };
        return Ok((ns, key, doc, bare));
    }
    let restore = Restore {
        created_at: time("created_at", &doc.meta.created_at)?,
        updated_at: time("updated_at", &doc.meta.updated_at)?,
        updated_by: doc.meta.updated_by.clone(),
        expires_at: doc
            .meta
            .expires_at
            .as_deref()
            .map(|t| time("expires_at", t))
            .transpose()?,
    };
    Ok((ns, key, doc, restore))
}
