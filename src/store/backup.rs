//! Online backup and restore of an embedded store file with SQLite's backup API. A backup
//! copies the pages of one read snapshot (the store is in WAL mode, so writers go on
//! meanwhile and the copy is the store as of one moment) into `DEST.partial`, checks it
//! with `PRAGMA integrity_check`, and renames it to `DEST`. A restore checks a backup the
//! same way and copies it over a store in one write transaction. A PostgreSQL store is
//! backed up with `pg_dump`, not here.

use crate::error::{Error, Result};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Pages copied per step: small enough for a progress bar that moves.
const STEP_PAGES: std::os::raw::c_int = 256;

/// Copies the store at `src` to a new file `dest` (which must not exist); `progress` is
/// told pages copied and pages in all. Returns the size of the copy in bytes.
pub fn backup(src: &Path, dest: &Path, mut progress: impl FnMut(u64, u64)) -> Result<u64> {
    if dest.exists() {
        return Err(Error::invalid(format!(
            "{} exists already: remove it or choose another name",
            dest.display()
        )));
    }
    let source = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::internal(format!("cannot open {}: {e}", src.display())))?;
    source.busy_timeout(Duration::from_secs(10))?;
    // One read transaction for the whole copy: every step reads the same snapshot, and
    // the writers of a live store are never waited for.
    source.execute_batch("BEGIN DEFERRED")?;
    source.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })?;
    let partial = partial_path(dest);
    let _ = std::fs::remove_file(&partial);
    let copied = copy(&source, &partial, &mut progress).and_then(|()| {
        check(&partial)?;
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::internal(format!("cannot sync {}: {e}", partial.display())))?;
        std::fs::rename(&partial, dest)
            .map_err(|e| Error::internal(format!("cannot rename to {}: {e}", dest.display())))?;
        Ok(std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0))
    });
    let _ = source.execute_batch("COMMIT");
    if copied.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    copied
}

/// Copies the backup at `src` over the store file `dest`, after checking it is a whole
/// console store that this version can open.
pub fn restore(src: &Path, dest: &Path, mut progress: impl FnMut(u64, u64)) -> Result<()> {
    check(src)?;
    let source = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::internal(format!("cannot open {}: {e}", src.display())))?;
    let version: usize = source.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = super::sqlite::schema_version();
    if version == 0 {
        return Err(Error::invalid(format!(
            "{} is not a console store (no schema version)",
            src.display()
        )));
    }
    if version > known {
        return Err(Error::invalid(format!(
            "{} was written by a newer console (schema {version}, this one knows {known})",
            src.display()
        )));
    }
    let mut target = Connection::open(dest)
        .map_err(|e| Error::internal(format!("cannot open {}: {e}", dest.display())))?;
    target.busy_timeout(Duration::from_secs(10))?;
    run(&Backup::new(&source, &mut target)?, &mut progress)
}

fn partial_path(dest: &Path) -> PathBuf {
    let mut p = dest.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

fn copy(source: &Connection, dest: &Path, progress: &mut impl FnMut(u64, u64)) -> Result<()> {
    let mut target = Connection::open(dest)
        .map_err(|e| Error::internal(format!("cannot create {}: {e}", dest.display())))?;
    run(&Backup::new(source, &mut target)?, progress)?;
    // A backup is one file: no write-ahead log beside it.
    target.pragma_update(None, "journal_mode", "DELETE")?;
    Ok(())
}

fn run(backup: &Backup<'_, '_>, progress: &mut impl FnMut(u64, u64)) -> Result<()> {
    loop {
        let step = backup.step(STEP_PAGES)?;
        let p = backup.progress();
        let total = p.pagecount.max(0) as u64;
        progress(total - (p.remaining.max(0) as u64).min(total), total);
        match step {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            // Another connection holds a lock on the destination: wait a moment.
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// `PRAGMA integrity_check` on a file: anything but "ok" refuses it.
pub fn check(path: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::invalid(format!("cannot open {}: {e}", path.display())))?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| Error::invalid(format!("{} is not a readable store: {e}", path.display())))?;
    if verdict != "ok" {
        return Err(Error::invalid(format!(
            "{} fails its integrity check: {verdict}",
            path.display()
        )));
    }
    Ok(())
}
