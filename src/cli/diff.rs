//! `console diff NS KEY V1 [V2]`: a unified diff of the pretty JSON of two versions of a
//! document (V2: the current one), coloured on a terminal unless `NO_COLOR` is set.

use super::Ctx;
use super::output::stdout_is_terminal;
use crate::model::{Document, Key, Namespace};
use crate::text::{escape_controls, terminal_safe_json};
use clap::Args;
use similar::{ChangeTag, TextDiff};
use std::io::Write;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  console diff signals 2026-03-05 3        # version 3 against the current version
  console diff signals 2026-03-05 3 5      # version 3 against version 5
  console history signals 2026-03-05       # which versions are retained")]
pub struct DiffArgs {
    /// Namespace: lowercase letters, digits and '-' (e.g. `signals`).
    pub namespace: String,
    /// Key: letters, digits, '.', '_' and '-' (e.g. `2026-03-05`).
    pub key: String,
    /// The older version (see `console history NS KEY`).
    pub v1: u64,
    /// The newer version (default: the current one).
    pub v2: Option<u64>,
    /// Lines of context around each change.
    #[arg(long, default_value_t = 3, value_name = "LINES")]
    pub context: usize,
}

pub fn run(ctx: &Ctx, args: DiffArgs) -> anyhow::Result<()> {
    let ns = Namespace::parse(&args.namespace)?;
    let key = Key::parse(&args.key)?;
    let old = ctx.store.history_version(&ctx.scope, &ns, &key, args.v1)?;
    let new = match args.v2 {
        Some(v) => ctx.store.history_version(&ctx.scope, &ns, &key, v)?,
        None => ctx.store.get(&ctx.scope, &ns, &key)?,
    };
    let colour = stdout_is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let text = unified(&old, &new, args.context, colour)?;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// The unified diff of two documents' pretty values; empty when they are equal.
pub fn unified(
    old: &Document,
    new: &Document,
    context: usize,
    colour: bool,
) -> anyhow::Result<String> {
    let a = pretty(old)?;
    let b = pretty(new)?;
    let diff = TextDiff::from_lines(&a, &b);
    let mut out = String::new();
    let name = |d: &Document| {
        escape_controls(&format!(
            "{}/{} version {}",
            d.meta.namespace, d.meta.key, d.meta.version
        ))
        .into_owned()
    };
    if diff.ratio() == 1.0 {
        return Ok(out);
    }
    let paint = |code: &str, line: String| {
        if colour {
            format!("\x1b[{code}m{line}\x1b[0m\n")
        } else {
            format!("{line}\n")
        }
    };
    out.push_str(&paint("1", format!("--- {}", name(old))));
    out.push_str(&paint("1", format!("+++ {}", name(new))));
    for group in diff.grouped_ops(context) {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        let (o, n) = (first.old_range().start, first.new_range().start);
        let (o_len, n_len) = (last.old_range().end - o, last.new_range().end - n);
        out.push_str(&paint(
            "36",
            format!("@@ -{},{} +{},{} @@", o + 1, o_len, n + 1, n_len),
        ));
        for op in &group {
            for change in diff.iter_changes(op) {
                let line = change.value().trim_end_matches('\n');
                out.push_str(&match change.tag() {
                    ChangeTag::Equal => format!(" {line}\n"),
                    ChangeTag::Delete => paint("31", format!("-{line}")),
                    ChangeTag::Insert => paint("32", format!("+{line}")),
                });
            }
        }
    }
    Ok(out)
}

/// The value as pretty JSON with one line per member, safe for a terminal.
fn pretty(doc: &Document) -> anyhow::Result<String> {
    let mut text = terminal_safe_json(serde_json::to_string_pretty(&doc.value)?);
    text.push('\n');
    Ok(text)
}
