//! `console watch NS [KEY]`: follow the change feed. JSON lines on a pipe (or with
//! `--json`), a readable line per change on a terminal; every line carries its sequence
//! number, which `--after SEQ` resumes from. The feed itself (polling the embedded log, or
//! the server's stream with reconnection) is `Store::follow`.

use super::Ctx;
use super::output::stdout_is_terminal;
use crate::model::{Key, Namespace};
use crate::store::{Change, FeedItem, FeedState};
use crate::text::escape_controls;
use clap::Args;
use std::io::Write;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  console watch signals                      # every change to the namespace, from now on
  console watch signals 2026-03-05           # one document
  console watch signals --after 120          # resume after sequence number 120
  console watch signals | jq -c 'select(.op == \"delete\")'

A JSON line is {\"seq\", \"op\", \"namespace\", \"key\", \"version\", \"at\"}; op is put, patch,
incr, delete, expire or delete_namespace. When the log no longer holds the changes
after SEQ, a warning on standard error says so and the feed goes on from the newest.")]
pub struct WatchArgs {
    /// Namespace: lowercase letters, digits and '-' (e.g. `signals`).
    pub namespace: String,
    /// Only changes of this key (and deletions of the whole namespace).
    pub key: Option<String>,
    /// Start after this sequence number (default: now, only new changes).
    #[arg(long, value_name = "SEQ")]
    pub after: Option<u64>,
    /// Stop after this many changes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
}

pub fn run(ctx: &Ctx, args: WatchArgs) -> anyhow::Result<()> {
    let ns = Namespace::parse(&args.namespace)?;
    let key = args.key.as_deref().map(Key::parse).transpose()?;
    let after = match args.after {
        Some(seq) => seq,
        None => ctx.store.last_seq(&ctx.scope)?,
    };
    let readable = stdout_is_terminal() && !ctx.global.json;
    if readable {
        eprintln!("watching {ns} after change {after} (Ctrl-C stops)");
    }
    let mut out = std::io::stdout().lock();
    let mut seen = 0u64;
    let mut failed = None;
    let mut was_live = false;
    ctx.store
        .follow(&ctx.scope, Some(&ns), after, |item| match item {
            FeedItem::Change(change) => {
                let wanted = match &key {
                    Some(k) => change.key.as_deref() == Some(k.as_str()) || change.key.is_none(),
                    None => true,
                };
                if !wanted {
                    return true;
                }
                let line = if readable {
                    human(&change)
                } else {
                    serde_json::to_string(&change).expect("a change serialises")
                };
                if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                    failed = Some(e);
                    return false;
                }
                seen += 1;
                args.count.is_none_or(|n| seen < n)
            }
            FeedItem::Truncated => {
                eprintln!(
                    "warning: changes were missed (the change log no longer holds them); \
                 going on from the newest"
                );
                true
            }
            FeedItem::State(state) => {
                match state {
                    FeedState::Live if was_live => eprintln!("feed: live again"),
                    FeedState::Live => was_live = true,
                    FeedState::Reconnecting if was_live => eprintln!("feed: reconnecting..."),
                    FeedState::Offline => eprintln!("feed: offline, still retrying"),
                    FeedState::Reconnecting => {}
                }
                true
            }
        })?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// One change for a human: sequence number, time, operation, document and version.
fn human(c: &Change) -> String {
    let target = match &c.key {
        Some(k) => format!("{}/{k}", c.namespace),
        None => format!("{}/*", c.namespace),
    };
    let version = c.version.map(|v| format!("v{v}")).unwrap_or_default();
    let line = format!("{:>6}  {}  {:<16}  {target}  {version}", c.seq, c.at, c.op);
    escape_controls(line.trim_end()).into_owned()
}
