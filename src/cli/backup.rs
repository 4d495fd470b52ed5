//! `console backup DEST` and `console restore SRC`: a consistent copy of a live embedded
//! store, taken while `console serve` goes on serving, and putting one back
//! (`store/backup.rs`), with a progress bar on a terminal.

use super::Ctx;
use super::output::{UsageError, print_json, print_line};
use super::progress::Progress;
use crate::error::{Error, ErrorKind};
use crate::store::{Backend, SqliteStore, backup};
use crate::text::human_bytes;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  console backup /var/backups/console-$(date +%F).db      # while console serve runs
  console --store /srv/console.db backup /tmp/copy.db

The copy is the store as of one moment, checked with PRAGMA integrity_check, written
to DEST.partial and renamed to DEST when whole. A PostgreSQL store is backed up with
pg_dump (and restored with pg_restore or psql), not with console.")]
pub struct BackupArgs {
    /// The file to write; it must not exist.
    pub dest: PathBuf,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  console restore /var/backups/console-2026-03-05.db --yes
  console --store /srv/console.db restore copy.db --yes

Every document of the store is replaced by the backup's. Stop `console serve` on the
store first: a running server keeps caches of what it holds.")]
pub struct RestoreArgs {
    /// A backup made by `console backup` (checked before anything is written).
    pub src: PathBuf,
    /// Replace the store's contents without asking (required: restore asks nothing).
    #[arg(long)]
    pub yes: bool,
}

fn embedded<'a>(ctx: &'a Ctx, what: &str) -> Result<&'a SqliteStore, Error> {
    match &ctx.store.backend {
        Backend::Sqlite(s) => Ok(s),
        #[allow(unreachable_patterns)]
        _ => Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "{what} works on an embedded store file: run it where the server's store is \
                 (console --store PATH {what} ...); a PostgreSQL store is backed up with pg_dump"
            ),
        )),
    }
}

pub fn run_backup(ctx: &Ctx, args: BackupArgs) -> anyhow::Result<()> {
    let store = embedded(ctx, "backup")?;
    let mut bar = Progress::new("backup", 0);
    let bytes = backup::backup(store.path(), &args.dest, |done, total| bar.set(done, total))?;
    bar.done();
    if ctx.global.json {
        return print_json(&json!({ "backup": args.dest, "bytes": bytes }));
    }
    print_line(&format!(
        "backed up {} to {} ({})",
        store.path().display(),
        args.dest.display(),
        human_bytes(bytes)
    ))
}

pub fn run_restore(ctx: &Ctx, args: RestoreArgs) -> anyhow::Result<()> {
    let store = embedded(ctx, "restore")?;
    ctx.store.writable()?;
    if !args.yes {
        return Err(UsageError(format!(
            "restore replaces every document of {} with the backup's: pass --yes",
            store.path().display()
        ))
        .into());
    }
    let mut bar = Progress::new("restore", 0);
    backup::restore(&args.src, store.path(), |done, total| bar.set(done, total))?;
    bar.done();
    // Bring an older backup's schema up to date now, not at the next command.
    SqliteStore::open(store.path(), ctx.config.sqlite_options())?;
    print_line(&format!(
        "restored {} from {}",
        store.path().display(),
        args.src.display()
    ))
}
