//! The embedded store's one write connection, with group commit. Each write runs in its
//! own savepoint inside a shared transaction; the last writer in line commits for all
//! that ran before it, so concurrent writers share one fsync and each is acknowledged
//! only after the commit that holds its write. A lone writer (the CLI) commits at once.

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Writes in one batch at most, so latency stays bounded under constant load.
const MAX_BATCH: usize = 128;

thread_local! {
    /// Set while this thread runs a `Writer::batch`: its writes leave the commit to it.
    static HOLDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

struct State {
    conn: Connection,
    /// A transaction is open and holds the batch `epoch`.
    tx_open: bool,
    batch_ops: usize,
    epoch: u64,
    /// The last epoch whose commit finished (successfully or not).
    committed: u64,
    /// The last epoch whose commit failed, and why.
    failed: Option<(u64, Error)>,
}

pub struct Writer {
    state: Mutex<State>,
    done: Condvar,
    /// Writers waiting for the lock: while there are any, a writer leaves the commit to them.
    waiting: AtomicUsize,
    /// Transactions ended (committed or not) so far: readers that share snapshots start
    /// a new one when it moves.
    commits: AtomicU64,
}

impl Writer {
    pub fn new(conn: Connection) -> Writer {
        Writer {
            state: Mutex::new(State {
                conn,
                tx_open: false,
                batch_ops: 0,
                epoch: 1,
                committed: 0,
                failed: None,
            }),
            done: Condvar::new(),
            waiting: AtomicUsize::new(0),
            commits: AtomicU64::new(0),
        }
    }

    /// Runs `f` on the connection outside any batch: for schema migrations at open time.
    pub fn exclusive<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut st = self.lock();
        if st.tx_open {
            return Err(Error::internal("a write batch is open"));
        }
        let out = f(&mut st.conn);
        self.commits.fetch_add(1, Ordering::Release);
        out
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` as one atomic write and returns once it is committed (or has failed and
    /// changed nothing).
    pub fn run<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut st = self.lock();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let out = self.apply(&mut st, f);
        if HOLDING.get() {
            // The batch owner commits once its whole batch has run.
            return out;
        }
        let my_epoch = st.epoch;
        if st.tx_open && (self.waiting.load(Ordering::SeqCst) == 0 || st.batch_ops >= MAX_BATCH) {
            self.commit(&mut st);
        }
        let out = out?;
        while st.committed < my_epoch {
            st = self.done.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        match &st.failed {
            Some((epoch, e)) if *epoch == my_epoch => Err(e.clone()),
            _ => Ok(out),
        }
    }

    /// Transactions ended so far (see `commits`).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// Runs a read on the write connection, without a savepoint: inside a batch it sees
    /// the batch's own writes. `f` must only read.
    pub fn peek<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.lock().conn)
    }

    /// Runs `f` (which performs any number of writes through `run` on this thread) and then
    /// commits them together: one transaction and one sync for a whole queue of writes.
    /// Returns `f`'s result and whether the commit succeeded; results of the writes must
    /// not be acknowledged before it did.
    pub fn batch<T>(&self, f: impl FnOnce() -> T) -> (T, Result<()>) {
        let start = self.lock().epoch;
        HOLDING.set(true);
        let out = f();
        HOLDING.set(false);
        let mut st = self.lock();
        if st.tx_open {
            self.commit(&mut st);
        }
        let commit = match &st.failed {
            Some((epoch, e)) if *epoch >= start => Err(e.clone()),
            _ => Ok(()),
        };
        (out, commit)
    }

    /// Runs `f` in a savepoint of the open batch (opening one when needed).
    fn apply<T>(&self, st: &mut State, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        if !st.tx_open {
            st.conn.execute_batch("BEGIN IMMEDIATE")?;
            st.tx_open = true;
            st.batch_ops = 0;
        }
        st.batch_ops += 1;
        // Cached statements: these run for every write, and parsing them each time shows.
        st.conn.prepare_cached("SAVEPOINT op")?.execute([])?;
        // A bug that panics inside a write must not leave half of it in the batch.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&st.conn)))
            .unwrap_or_else(|_| {
                Err(Error::internal(
                    "a write failed unexpectedly and was undone",
                ))
            });
        let ended = if out.is_ok() {
            st.conn.prepare_cached("RELEASE op")?.execute([]).map(drop)
        } else {
            st.conn
                .prepare_cached("ROLLBACK TO op")?
                .execute([])
                .and_then(|_| st.conn.prepare_cached("RELEASE op")?.execute([]))
                .map(drop)
        };
        if st.conn.is_autocommit() {
            // SQLite rolled the whole transaction back (for example on a full disk): every
            // write of this batch is lost, so the batch fails as a whole.
            let e = Error::internal("the write batch was rolled back by the storage engine");
            self.finish(st, Some(e));
        }
        ended?;
        out
    }

    fn commit(&self, st: &mut State) {
        let failure = st.conn.execute_batch("COMMIT").err().map(|e| {
            let _ = st.conn.execute_batch("ROLLBACK");
            Error::from(e)
        });
        self.finish(st, failure);
    }

    fn finish(&self, st: &mut State, failure: Option<Error>) {
        if let Some(e) = failure {
            st.failed = Some((st.epoch, e));
        }
        st.tx_open = false;
        self.commits.fetch_add(1, Ordering::Release);
        st.committed = st.epoch;
        st.epoch += 1;
        self.done.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn writer(dir: &std::path::Path) -> Arc<Writer> {
        let conn = Connection::open(dir.join("w.db")).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (n INTEGER)")
            .unwrap();
        Arc::new(Writer::new(conn))
    }

    #[test]
    fn a_write_that_panics_is_undone_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let w = writer(dir.path());
        let r = w.run(|c| -> Result<()> {
            c.execute("INSERT INTO t VALUES (1)", [])?;
            panic!("a bug");
        });
        assert_eq!(r.unwrap_err().kind, crate::error::ErrorKind::Internal);
        w.run(|c| Ok(c.execute("INSERT INTO t VALUES (2)", [])?))
            .unwrap();
        let reader = Connection::open(dir.path().join("w.db")).unwrap();
        let rows: Vec<i64> = reader
            .prepare("SELECT n FROM t")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows, vec![2]);
    }

    #[test]
    fn a_batch_commits_its_writes_together_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let w = writer(dir.path());
        let reader = Connection::open(dir.path().join("w.db")).unwrap();
        let count = || -> i64 {
            reader
                .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap()
        };
        let (results, commit) = w.batch(|| {
            let a = w.run(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])?));
            let b = w.run(|c| {
                c.execute("INSERT INTO t VALUES (2)", [])?;
                Err::<usize, _>(Error::invalid("refused"))
            });
            // Nothing is visible to others before the batch ends.
            assert_eq!(count(), 0);
            (a.is_ok(), b.is_ok())
        });
        assert_eq!(results, (true, false));
        assert!(commit.is_ok());
        assert_eq!(count(), 1);
    }

    #[test]
    fn concurrent_writes_all_commit_and_failures_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let w = writer(dir.path());
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for j in 0..50 {
                        let r = w.run(|c| {
                            c.execute("INSERT INTO t VALUES (?1)", [i * 100 + j])?;
                            if j % 10 == 0 {
                                Err(Error::invalid("refused"))
                            } else {
                                Ok(())
                            }
                        });
                        assert_eq!(r.is_ok(), j % 10 != 0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let reader = Connection::open(dir.path().join("w.db")).unwrap();
        let n: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 8 * 45);
    }
}
