//! The embedded store's one write connection, with group commit. Concurrent writes run
//! back to back in one shared transaction; the last writer in line commits for all that
//! ran before it, so they share one fsync and each is acknowledged only after the commit
//! that holds its write. A lone writer (the CLI) commits at once.
//!
//! A write that fails leaves the batch as it was: every write checks before it changes
//! anything, so a refused write (a conflict, a quota) has changed nothing, and the writer
//! sees that from SQLite's change counter. A write that fails after it changed rows (a
//! bug, a full disk) cannot be undone alone without a savepoint per write, which costs
//! every write a copy of each page it touches; so its whole transaction is rolled back and
//! every write in it fails, unacknowledged. Nothing half-done is ever committed.
//!
//! A store may put work off to the end of each transaction (`Deferral`): the writer
//! flushes it just before the commit, and discards it whenever a transaction ends without
//! one.

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Writes in one batch at most, so latency stays bounded under constant load.
const MAX_BATCH: usize = 128;

thread_local! {
    /// While this thread runs a `Writer::batch`: the epoch the batch started in. Its writes
    /// leave the commit to it.
    static HOLDING: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
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

/// Work a store puts off to the end of the transaction it belongs to.
pub trait Deferral: Send + Sync {
    /// Writes what is pending; runs just before each commit (a failure fails the commit).
    fn flush(&self, conn: &Connection) -> Result<()>;
    /// Drops what is pending: its transaction ended without a commit.
    fn discard(&self);
}

/// A deferral shared with the store that fills it.
impl<T: Deferral + ?Sized> Deferral for std::sync::Arc<T> {
    fn flush(&self, conn: &Connection) -> Result<()> {
        (**self).flush(conn)
    }
    fn discard(&self) {
        (**self).discard()
    }
}

pub struct Writer {
    state: Mutex<State>,
    deferral: Option<Box<dyn Deferral>>,
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
            deferral: None,
            done: Condvar::new(),
            waiting: AtomicUsize::new(0),
            commits: AtomicU64::new(0),
        }
    }

    /// A writer that flushes `deferral` before each commit.
    pub fn with_deferral(conn: Connection, deferral: Box<dyn Deferral>) -> Writer {
        Writer {
            deferral: Some(deferral),
            ..Writer::new(conn)
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
    /// changed nothing). `f` is told whether its write opened the transaction (the store
    /// does its once-per-transaction housekeeping then). A write that refuses must do so
    /// before it changes anything (see the module notes).
    pub fn run<T>(&self, f: impl FnOnce(&Connection, bool) -> Result<T>) -> Result<T> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut st = self.lock();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        // The transaction this write runs in (`apply` ends it early if it is rolled back).
        let my_epoch = st.epoch;
        let out = self.apply(&mut st, f);
        if HOLDING.get().is_some() {
            // The batch owner commits once its whole batch has run.
            return out;
        }
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

    /// Runs a read on the write connection, outside `run`: inside a batch it sees the
    /// batch's own writes. `f` must only read.
    pub fn peek<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.lock().conn)
    }

    /// Runs `f` (which performs any number of writes through `run` on this thread) and then
    /// commits them together: one transaction and one sync for a whole queue of writes.
    /// Returns `f`'s result and whether the commit succeeded; results of the writes must
    /// not be acknowledged before it did.
    pub fn batch<T>(&self, f: impl FnOnce() -> T) -> (T, Result<()>) {
        let start = self.lock().epoch;
        HOLDING.set(Some(start));
        let out = f();
        HOLDING.set(None);
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

    /// Runs `f` in the open transaction (opening one when needed).
    fn apply<T>(
        &self,
        st: &mut State,
        f: impl FnOnce(&Connection, bool) -> Result<T>,
    ) -> Result<T> {
        if let Some(start) = HOLDING.get()
            && let Some((epoch, e)) = &st.failed
            && *epoch >= start
        {
            // This batch's transaction was rolled back: its later writes fail with it.
            return Err(e.clone());
        }
        let opened = !st.tx_open;
        if opened {
            exec(&st.conn, "BEGIN IMMEDIATE")?;
            st.tx_open = true;
            st.batch_ops = 0;
        }
        st.batch_ops += 1;
        let before = st.conn.total_changes();
        // A bug that panics inside a write must not leave half of it in the batch.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&st.conn, opened)))
            .unwrap_or_else(|_| {
                Err(Error::internal(
                    "a write failed unexpectedly and was undone",
                ))
            });
        if st.conn.is_autocommit() {
            // SQLite rolled the whole transaction back (for example on a full disk): every
            // write of this batch is lost, so the batch fails as a whole.
            let e = Error::internal("the write batch was rolled back by the storage engine");
            self.discard();
            self.finish(st, Some(e));
        } else if out.is_err() && st.conn.total_changes() != before {
            // Failed after changing rows: only the transaction's rollback undoes that.
            self.rollback(st);
            let alone = st.batch_ops == 1;
            let e = Error::internal(
                "a write failed part-way; the writes committed with it were undone",
            );
            self.finish(st, (!alone).then_some(e));
        }
        out
    }

    fn commit(&self, st: &mut State) {
        let flushed = match &self.deferral {
            Some(d) => d.flush(&st.conn),
            None => Ok(()),
        };
        let failure = flushed
            .and_then(|()| Ok(exec(&st.conn, "COMMIT")?))
            .err()
            .inspect(|_| self.rollback(st));
        self.finish(st, failure);
    }

    fn rollback(&self, st: &State) {
        let _ = exec(&st.conn, "ROLLBACK");
        self.discard();
    }

    fn discard(&self) {
        if let Some(d) = &self.deferral {
            d.discard();
        }
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

/// Runs a statement without parameters through the statement cache (`execute_batch`
/// would compile it again each time).
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::sync::Arc;

    fn writer(dir: &std::path::Path) -> Arc<Writer> {
        let conn = Connection::open(dir.join("w.db")).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (n INTEGER)")
            .unwrap();
        Arc::new(Writer::new(conn))
    }

    fn rows(dir: &std::path::Path) -> Vec<i64> {
        let reader = Connection::open(dir.join("w.db")).unwrap();
        reader
            .prepare("SELECT n FROM t ORDER BY n")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn insert(c: &Connection, n: i64) -> Result<()> {
        c.execute("INSERT INTO t VALUES (?1)", [n])?;
        Ok(())
    }

    /// Runs `f` as a lone write that fails after its change: checks that the change is
    /// undone and that the writer goes on, and returns the error's kind.
    fn undone_alone(f: impl FnOnce(&Connection, bool) -> Result<()>) -> ErrorKind {
        let dir = tempfile::tempdir().unwrap();
        let w = writer(dir.path());
        let kind = w.run(f).unwrap_err().kind;
        w.run(|c, _| insert(c, 2)).unwrap();
        assert_eq!(rows(dir.path()), vec![2]);
        kind
    }

    #[test]
    fn a_write_that_panics_is_undone_and_the_writer_goes_on() {
        let kind = undone_alone(|c, _| {
            insert(c, 1)?;
            panic!("a bug");
        });
        assert_eq!(kind, ErrorKind::Internal);
    }

    #[test]
    fn a_write_that_fails_after_a_change_alone_is_undone_and_the_writer_goes_on() {
        let kind = undone_alone(|c, opened| {
            assert!(opened, "a lone write opens its transaction");
            insert(c, 1)?;
            Err(Error::invalid("refused late"))
        });
        assert_eq!(kind, ErrorKind::InvalidInput);
    }

    #[test]
    fn a_batch_commits_its_writes_together_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let w = writer(dir.path());
        let (results, commit) = w.batch(|| {
            let a = w.run(|c, opened| {
                assert!(opened);
                insert(c, 1)
            });
            // Refused before it changed anything: the batch goes on without it.
            let b = w.run(|_, opened| {
                assert!(!opened, "the second write joins the open transaction");
                Err::<(), _>(Error::invalid("refused"))
            });
            let c = w.run(|c, _| insert(c, 3));
            // Nothing is visible to others before the batch ends.
            assert!(rows(dir.path()).is_empty());
            (a.is_ok(), b.is_ok(), c.is_ok())
        });
        assert_eq!(results, (true, false, true));
        assert!(commit.is_ok());
        assert_eq!(rows(dir.path()), vec![1, 3]);
    }

    #[test]
    fn a_write_that_fails_after_a_change_fails_its_whole_batch_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let w = writer(dir.path());
        let (results, commit) = w.batch(|| {
            let a = w.run(|c, _| insert(c, 1));
            let b = w.run(|c, _| {
                insert(c, 2)?;
                Err::<(), _>(Error::invalid("refused late"))
            });
            // The batch's transaction is gone: a later write of the batch fails unrun.
            let mut ran = false;
            let c = w.run(|c, _| {
                ran = true;
                insert(c, 3)
            });
            (a.is_ok(), b.is_ok(), c.is_ok(), ran)
        });
        assert_eq!(results, (true, false, false, false));
        assert_eq!(commit.unwrap_err().kind, ErrorKind::Internal);
        assert!(rows(dir.path()).is_empty());
        // The next batch starts afresh.
        let (_, commit) = w.batch(|| w.run(|c, _| insert(c, 4)));
        assert!(commit.is_ok());
        assert_eq!(rows(dir.path()), vec![4]);
    }

    /// Inserts 100 at each flush (or fails to, when told), and counts discards.
    #[derive(Default)]
    struct Recorder {
        fail: std::sync::atomic::AtomicBool,
        discards: AtomicUsize,
    }

    impl Deferral for Recorder {
        fn flush(&self, conn: &Connection) -> Result<()> {
            if self.fail.load(Ordering::SeqCst) {
                insert(conn, 100)?;
                return Err(Error::internal("flush failed"));
            }
            insert(conn, 100)
        }
        fn discard(&self) {
            self.discards.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_deferred_work_is_committed_with_its_transaction_or_discarded_with_it() {
        let dir = tempfile::tempdir().unwrap();
        writer(dir.path());
        let rec = Arc::new(Recorder::default());
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        let w = Writer::with_deferral(conn, Box::new(rec.clone()));
        // Flushed once, before the one commit of the batch.
        let (_, commit) = w.batch(|| {
            w.run(|c, _| insert(c, 1)).unwrap();
            w.run(|c, _| insert(c, 2)).unwrap();
        });
        commit.unwrap();
        assert_eq!(rows(dir.path()), vec![1, 2, 100]);
        // Rolled back: what was pending goes with the transaction.
        let err = w.run(|c, _| {
            insert(c, 3)?;
            Err::<(), _>(Error::invalid("refused late"))
        });
        assert!(err.is_err());
        assert_eq!(rec.discards.load(Ordering::SeqCst), 1);
        // A flush that fails fails the commit: nothing of the batch stays.
        rec.fail.store(true, Ordering::SeqCst);
        let (ok, commit) = w.batch(|| w.run(|c, _| insert(c, 4)));
        assert!(ok.is_ok(), "the write itself ran");
        assert_eq!(commit.unwrap_err().kind, ErrorKind::Internal);
        assert_eq!(rec.discards.load(Ordering::SeqCst), 2);
        assert_eq!(rows(dir.path()), vec![1, 2, 100]);
    }

    #[test]
    fn concurrent_writes_all_commit_and_refusals_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let w = writer(dir.path());
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for j in 0..50 {
                        let r = w.run(|c, _| {
                            if j % 10 == 0 {
                                return Err(Error::invalid("refused"));
                            }
                            insert(c, i * 100 + j)
                        });
                        assert_eq!(r.is_ok(), j % 10 != 0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(rows(dir.path()).len(), 8 * 45);
    }
}
