//! The read connections of the embedded store: a pool, so reads on several threads never
//! wait for each other, and, for a server, read snapshots shared for a short window.
//!
//! Starting a read transaction in WAL mode takes and releases a lock in the shared-memory
//! index (a system call, and a mutex that concurrent readers queue on); under a load of
//! small reads that costs more than the read itself. With `share_snapshots(window)` a
//! pooled connection keeps its read transaction open and later reads reuse it while:
//! - no write has been committed through this process since it began, so a client always
//!   reads what the server acknowledged to it; and
//! - it is younger than `window`, which bounds how late a write made by *another* process
//!   on the same file (the CLI, the TUI) becomes visible.
//!
//! `end_stale_snapshots` (run by the checkpoint thread) ends snapshots that went idle, so
//! they never hold back checkpoints. Reads that decide about security (API keys) ask for a
//! fresh snapshot.

use crate::error::Result;
use rusqlite::Connection;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub(crate) struct Readers {
    pool: Mutex<Vec<Reader>>,
    window: OnceLock<Duration>,
}

struct Reader {
    conn: Connection,
    snapshot: Option<Snapshot>,
}

#[derive(Clone, Copy)]
struct Snapshot {
    since: Instant,
    /// The writer's commit count when the snapshot began.
    commits: u64,
}

/// How fresh a read must be.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Freshness {
    /// A shared snapshot may serve it (when sharing is on).
    Shared,
    /// It sees every write committed before it began, by any process.
    Latest,
}

impl Readers {
    pub fn new() -> Readers {
        Readers {
            pool: Mutex::new(Vec::new()),
            window: OnceLock::new(),
        }
    }

    fn pool(&self) -> MutexGuard<'_, Vec<Reader>> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add(&self, conn: Connection) {
        self.pool().push(Reader {
            conn,
            snapshot: None,
        });
    }

    /// Lets reads share snapshots for at most `window` (see the module notes).
    pub fn share_snapshots(&self, window: Duration) {
        let _ = self.window.set(window);
    }

    /// Runs `f` on a pooled connection (opened with `connect` when none is free).
    /// `commits` is the number of writes committed through this process so far.
    pub fn read<T>(
        &self,
        freshness: Freshness,
        commits: u64,
        connect: impl FnOnce() -> Result<Connection>,
        f: impl FnOnce(&Connection) -> Result<T>,
    ) -> Result<T> {
        let popped = self.pool().pop();
        let mut reader = match popped {
            Some(r) => r,
            None => Reader {
                conn: connect()?,
                snapshot: None,
            },
        };
        let window = match freshness {
            Freshness::Shared => self.window.get().copied(),
            Freshness::Latest => None,
        };
        let reusable =
            |s: &Snapshot| window.is_some_and(|w| s.commits == commits && s.since.elapsed() < w);
        if reader.snapshot.as_ref().is_some_and(|s| !reusable(s)) {
            // A connection whose snapshot cannot be ended is not put back.
            reader.end_snapshot()?;
        }
        if window.is_some() && reader.snapshot.is_none() {
            reader.conn.prepare_cached("BEGIN")?.execute([])?;
            reader.snapshot = Some(Snapshot {
                since: Instant::now(),
                commits,
            });
        }
        let out = f(&reader.conn);
        if out.is_err() {
            reader.end_snapshot()?;
        }
        self.pool().push(reader);
        out
    }

    /// Ends the snapshots older than the window; for a thread that runs periodically.
    pub fn end_stale_snapshots(&self) {
        let Some(window) = self.window.get() else {
            return;
        };
        self.pool().retain_mut(|r| {
            let stale = r.snapshot.is_some_and(|s| s.since.elapsed() >= *window);
            !stale || r.end_snapshot().is_ok()
        });
    }
}

impl Reader {
    /// Ends the open read transaction, if any.
    fn end_snapshot(&mut self) -> Result<()> {
        if self.snapshot.take().is_some() && !self.conn.is_autocommit() {
            self.conn.prepare_cached("COMMIT")?.execute([])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(dir: &std::path::Path) -> (Connection, impl Fn() -> Result<Connection>) {
        let path = dir.join("r.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode=WAL; CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1)",
            )
            .unwrap();
        (writer, move || Ok(Connection::open(&path)?))
    }

    fn count(
        readers: &Readers,
        freshness: Freshness,
        commits: u64,
        connect: &impl Fn() -> Result<Connection>,
    ) -> i64 {
        readers
            .read(freshness, commits, connect, |c| {
                Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
            })
            .unwrap()
    }

    #[test]
    fn a_shared_snapshot_ends_at_a_commit_of_this_process_or_after_its_window() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, connect) = setup(dir.path());
        let readers = Readers::new();
        readers.share_snapshots(Duration::from_millis(200));
        assert_eq!(count(&readers, Freshness::Shared, 0, &connect), 1);
        // Another process writes: within the window, the shared snapshot does not see it.
        writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert_eq!(count(&readers, Freshness::Shared, 0, &connect), 1);
        // A commit through this process (the count moves on) ends the snapshot at once.
        assert_eq!(count(&readers, Freshness::Shared, 1, &connect), 2);
        // A read that asks for the latest state sees a foreign write at once.
        writer.execute("INSERT INTO t VALUES (3)", []).unwrap();
        assert_eq!(count(&readers, Freshness::Latest, 1, &connect), 3);
        // After the window, a foreign write is seen without any commit of ours.
        assert_eq!(count(&readers, Freshness::Shared, 1, &connect), 3);
        writer.execute("INSERT INTO t VALUES (4)", []).unwrap();
        assert_eq!(count(&readers, Freshness::Shared, 1, &connect), 3);
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(count(&readers, Freshness::Shared, 1, &connect), 4);
    }

    #[test]
    fn idle_snapshots_are_ended_so_checkpoints_can_finish() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, connect) = setup(dir.path());
        let readers = Readers::new();
        readers.share_snapshots(Duration::from_millis(50));
        count(&readers, Freshness::Shared, 0, &connect);
        writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let checkpoint = || -> (i64, i64) {
            writer
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get(1)?, r.get(2)?))
                })
                .unwrap()
        };
        let (log, done) = checkpoint();
        assert!(
            done < log,
            "an open snapshot holds the checkpoint back ({done}/{log})"
        );
        std::thread::sleep(Duration::from_millis(60));
        readers.end_stale_snapshots();
        let (log, done) = checkpoint();
        assert_eq!(done, log);
    }

    #[test]
    fn without_sharing_every_read_sees_the_latest_state() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, connect) = setup(dir.path());
        let readers = Readers::new();
        assert_eq!(count(&readers, Freshness::Shared, 0, &connect), 1);
        writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert_eq!(count(&readers, Freshness::Shared, 0, &connect), 2);
    }
}
