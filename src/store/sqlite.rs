//! The embedded backend: one SQLite file in WAL mode. Each logical operation is one
//! transaction (writes take the write lock up front with `BEGIN IMMEDIATE`), so a failed
//! write changes nothing and several processes can share a file. Bound parameters only.
//! Namespace counters, version history and the change log are kept here in the same
//! transaction as the write they describe.

use super::deferred::Pending;
use super::readers::{Freshness, Readers};
use super::rules::{self, Counts, Stored as Row};
use super::writer::Writer;
use super::{
    Change, ChangeBatch, Facets, KeyPage, ListOptions, NamespaceStats, PutOptions, Scope, Tier,
    Written, cursor,
};
use crate::error::{Error, Result};
use crate::model::{self, Document, Key, Meta, Namespace, Workspace};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// Settings of the embedded store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Versions kept per document besides the current one.
    pub history_limit: u64,
    /// Entries kept in the change log.
    pub changes_limit: u64,
    /// Tier given to a workspace on its first write.
    pub default_tier: Tier,
    /// `synchronous=FULL` (every acknowledged write survives a power cut) or NORMAL.
    pub durable: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            history_limit: 20,
            changes_limit: 10_000,
            default_tier: Tier::Unlimited,
            durable: true,
        }
    }
}

pub use super::{Usage, WorkspaceInfo};

pub struct SqliteStore {
    path: PathBuf,
    options: SqliteOptions,
    /// Boxed: the connection and its state are large, and a store is moved around.
    writer: OnceLock<Box<Writer>>,
    readers: Arc<Readers>,
    /// Set to stop the background checkpointer, if one runs.
    checkpointer: Mutex<Option<Arc<AtomicBool>>>,
    /// Set by the checkpoint thread when the log should restart.
    restart_wanted: Arc<AtomicBool>,
    /// The counters, change-log entries and tiers of the open write transaction.
    pending: Arc<Pending>,
    /// The keys verified by `authenticate`, made on its first use.
    key_cache: OnceLock<super::keys::KeyCache>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Some(stop) = lock(&self.checkpointer).take() {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

/// The schema version this build writes (`PRAGMA user_version`).
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    "CREATE TABLE workspaces (
        slug TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tier TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE documents (
        workspace TEXT NOT NULL,
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        version INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        expires_at INTEGER
    );
    CREATE UNIQUE INDEX documents_by_key ON documents (workspace, namespace, key);
    CREATE INDEX documents_by_expiry ON documents (expires_at) WHERE expires_at IS NOT NULL;
    CREATE TABLE namespaces (
        workspace TEXT NOT NULL,
        namespace TEXT NOT NULL,
        docs INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (workspace, namespace)
    ) WITHOUT ROWID;
    CREATE TABLE history (
        workspace TEXT NOT NULL,
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        version INTEGER NOT NULL,
        value TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (workspace, namespace, key, version)
    );
    CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace TEXT NOT NULL,
        namespace TEXT NOT NULL,
        key TEXT,
        op TEXT NOT NULL,
        version INTEGER,
        at INTEGER NOT NULL
    );
    CREATE INDEX changes_by_workspace ON changes (workspace, seq);
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        name TEXT NOT NULL,
        actor TEXT,
        read_only INTEGER NOT NULL,
        hash BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );",
    // 2: the change log without AUTOINCREMENT and without its workspace index, two pages
    // less to write per change. Sequence numbers stay increasing without AUTOINCREMENT
    // because the trim never deletes the newest entry; a feed reads the entries after the
    // last one it saw, a range of the primary key.
    "CREATE TABLE change_log (
        seq INTEGER PRIMARY KEY,
        workspace TEXT NOT NULL,
        namespace TEXT NOT NULL,
        key TEXT,
        op TEXT NOT NULL,
        version INTEGER,
        at INTEGER NOT NULL
    );
    INSERT INTO change_log SELECT seq, workspace, namespace, key, op, version, at FROM changes;
    DROP TABLE changes;
    ALTER TABLE change_log RENAME TO changes;",
    // 3: history keyed by a document id, two integers instead of three texts: its index
    // is a fraction of the size and half the pages a commit writes. The id outlives a
    // deleted document (`doc_ids`), whose history stays readable for a restore; a
    // document's row id is its id (declared, so VACUUM keeps it).
    "CREATE TABLE doc_ids (
        id INTEGER PRIMARY KEY,
        workspace TEXT NOT NULL,
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        UNIQUE (workspace, namespace, key)
    );
    INSERT INTO doc_ids (id, workspace, namespace, key)
        SELECT rowid, workspace, namespace, key FROM documents;
    INSERT OR IGNORE INTO doc_ids (workspace, namespace, key)
        SELECT DISTINCT workspace, namespace, key FROM history;
    CREATE TABLE documents_v3 (
        id INTEGER PRIMARY KEY,
        workspace TEXT NOT NULL,
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        version INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        expires_at INTEGER
    );
    INSERT INTO documents_v3
        SELECT rowid, workspace, namespace, key, value, version, size_bytes, created_at,
               updated_at, updated_by, expires_at
        FROM documents;
    DROP TABLE documents;
    ALTER TABLE documents_v3 RENAME TO documents;
    CREATE UNIQUE INDEX documents_by_key ON documents (workspace, namespace, key);
    CREATE INDEX documents_by_expiry ON documents (expires_at) WHERE expires_at IS NOT NULL;
    CREATE TABLE history_v3 (
        doc INTEGER NOT NULL,
        version INTEGER NOT NULL,
        value TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (doc, version)
    );
    INSERT INTO history_v3
        SELECT d.id, h.version, h.value, h.size_bytes, h.created_at, h.updated_at, h.updated_by
        FROM history h JOIN doc_ids d USING (workspace, namespace, key);
    DROP TABLE history;
    ALTER TABLE history_v3 RENAME TO history;",
];

/// Old versions are pruned every this many versions of a document.
const HISTORY_PRUNE_STEP: u64 = 8;

/// The columns of a `Row`, in `row_from`'s order: a macro, so the SQL that names them is
/// a constant (`concat!`) rather than text built on every call (statements are looked up
/// by their text).
macro_rules! row_columns {
    () => {
        "value, version, size_bytes, created_at, updated_at, updated_by, expires_at"
    };
}

fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        value: r.get(0)?,
        version: r.get(1)?,
        size_bytes: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
        updated_by: r.get(5)?,
        expires_at: r.get(6)?,
    })
}

/// How a row is written: its expiry, the version it gets if it is created, the op logged.
struct How<'r> {
    expires_at: Option<i64>,
    first_version: u64,
    op: &'static str,
    restore: Option<&'r super::Restore>,
}

impl How<'_> {
    fn keep(expires_at: Option<i64>, op: &'static str) -> How<'static> {
        How {
            expires_at,
            first_version: 1,
            op,
            restore: None,
        }
    }
}

/// A document's stored row as a write finds it, with its id: the later statements of the
/// write address the row and its history by it.
enum Found {
    Missing,
    Live(i64, Row),
    /// Expired, and still stored until a write replaces it or the next reclaim.
    Expired(i64, Row),
}

impl Found {
    fn live(&self) -> Option<&Row> {
        match self {
            Found::Live(_, row) => Some(row),
            _ => None,
        }
    }
}

/// Which document an internal helper works on.
struct Target<'a> {
    ws: &'a str,
    ns: &'a str,
    key: &'a str,
}

/// Puts the file in WAL mode. Switching a new file needs it to itself, and SQLite answers
/// "busy" at once (no busy handler) while another process opens the same new store, so
/// the first processes to create a store wait for each other here.
fn use_wal(conn: &Connection) -> Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mode =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0));
        match mode {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy => {}
            Err(e) => return Err(e.into()),
        }
        if std::time::Instant::now() >= deadline {
            return Err(Error::internal(
                "the store stayed busy for 10 s while it was being created",
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How long a statement waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn configure(conn: &Connection, durable: bool) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "NORMAL" })?;
    Ok(())
}

/// Frames in the write-ahead log beyond which a checkpoint also restarts it (64 MiB of
/// 4 KiB pages). Each restart holds the writer for a few milliseconds (it copies what the
/// background checkpoint has not yet and syncs the database file), so it should be rare:
/// at 16 MiB it came 7 times a second under a full write load, 2.7 % of the writer's time.
const WAL_RESTART_FRAMES: i64 = 16384;

/// The size the write-ahead log is cut back to when it restarts after a spike.
const WAL_KEEP_BYTES: i64 = 64 << 20;

/// One background checkpoint: copy the log into the database without blocking anyone
/// (`PASSIVE`; a busy database just means: try again next time). Under a steady write
/// load such a checkpoint never finds the moment when the log could start again from its
/// beginning, and the log would grow without bound; so when it has grown large, this asks
/// the writer for a restart between two of its batches (`restart_log_if_wanted`), after a
/// second pass that copies what was written during the first, which the writer would
/// otherwise copy while it holds everyone else's writes (that halved the restart's pause).
fn checkpoint(conn: &Connection, restart_wanted: &AtomicBool) {
    let passive = || conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1));
    if passive().is_ok_and(|frames| frames >= WAL_RESTART_FRAMES) {
        let _ = passive();
        restart_wanted.store(true, Ordering::Relaxed);
    }
}

impl SqliteStore {
    /// Opens (creating when missing) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path, options: SqliteOptions) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
        }
        let changes_limit = options.changes_limit;
        let store = SqliteStore {
            path: path.to_path_buf(),
            options,
            writer: OnceLock::new(),
            readers: Arc::new(Readers::new()),
            checkpointer: Mutex::new(None),
            restart_wanted: Arc::new(AtomicBool::new(false)),
            pending: Arc::new(Pending::new(changes_limit)),
            key_cache: OnceLock::new(),
        };
        let reader = store.connect()?;
        let version: usize = reader.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version < MIGRATIONS.len() {
            store.migrate()?;
        } else if version > MIGRATIONS.len() {
            return Err(Error::internal(format!(
                "{} was written by a newer console (schema {version}); upgrade console",
                path.display()
            )));
        }
        store.readers.add(reader);
        Ok(store)
    }

    fn connect(&self) -> Result<Connection> {
        let conn = Connection::open(&self.path).map_err(|e| {
            Error::internal(format!("cannot open store {}: {e}", self.path.display()))
        })?;
        configure(&conn, self.options.durable)?;
        Ok(conn)
    }

    fn migrate(&self) -> Result<()> {
        self.writer()?.exclusive(|conn| {
            use_wal(conn)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let version: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            for sql in MIGRATIONS.iter().skip(version) {
                tx.execute_batch(sql)?;
            }
            tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
            tx.commit()?;
            Ok(())
        })
    }

    /// The write connection, opened on first use (reads alone never open it).
    fn writer(&self) -> Result<&Writer> {
        if self.writer.get().is_none() {
            let conn = self.connect()?;
            // A statement that changes several rows keeps undo copies of the pages it
            // touches in a statement journal: in memory, not in a temporary file (where
            // they cost two system calls a page).
            conn.pragma_update(None, "temp_store", "MEMORY")?;
            // Every statement a write may run stays compiled (the default keeps 16).
            conn.set_prepared_statement_cache_capacity(64);
            let pending = Box::new(Arc::clone(&self.pending));
            let _ = self
                .writer
                .set(Box::new(Writer::with_deferral(conn, pending)));
        }
        Ok(self.writer.get().expect("set above"))
    }

    /// Runs `f` on a pooled read connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read_as(Freshness::Shared, f)
    }

    fn read_as<T>(
        &self,
        freshness: Freshness,
        f: impl FnOnce(&Connection) -> Result<T>,
    ) -> Result<T> {
        let commits = self.writer.get().map_or(0, |w| w.commits());
        self.readers.read(freshness, commits, || self.connect(), f)
    }

    /// Runs `f` as one atomic write; returns once the write is committed (group commit:
    /// see `writer.rs`). A transaction starts by reclaiming expired documents. `f` must
    /// make every check that can refuse the write before its first change: then a refusal
    /// changes nothing and leaves the other writes of its batch alone.
    fn write<T>(&self, f: impl FnOnce(&Connection, i64) -> Result<T>) -> Result<T> {
        self.writer()?.run(|conn, opened| {
            let now = model::now_ms();
            if opened {
                self.reclaim(conn, now)?;
            }
            f(conn, now)
        })
    }

    /// Moves WAL checkpoints off the write path: the writer stops checkpointing when it
    /// commits, and a background thread copies the log into the database every 100 ms
    /// without blocking writers (`PASSIVE`). For a long-running server, where a checkpoint
    /// inside a commit would stall every write queued behind it.
    pub fn checkpoint_in_background(&self) -> Result<()> {
        let mut slot = lock(&self.checkpointer);
        if slot.is_some() {
            return Ok(());
        }
        self.writer()?.exclusive(|c| {
            c.pragma_update(None, "wal_autocheckpoint", 0)?;
            Ok(c.pragma_update(None, "journal_size_limit", WAL_KEEP_BYTES)?)
        })?;
        let conn = self.connect()?;
        let restart_wanted = self.restart_wanted.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let readers = self.readers.clone();
        std::thread::Builder::new()
            .name("console-checkpoint".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    readers.end_stale_snapshots();
                    checkpoint(&conn, &restart_wanted);
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the checkpoint thread: {e}")))?;
        *slot = Some(stop);
        Ok(())
    }

    /// Lets reads share a snapshot for at most `window` (see `readers.rs`); for a server,
    /// whose checkpoint thread (`checkpoint_in_background`) ends idle snapshots.
    pub fn share_read_snapshots(&self, window: Duration) {
        self.readers.share_snapshots(window);
    }

    /// Runs `f`, whose writes on this thread are committed together when it returns (see
    /// `Writer::batch`); the server's write executor uses it for group commit.
    pub fn batch<T>(&self, f: impl FnOnce() -> T) -> Result<(T, Result<()>)> {
        let out = self.writer()?.batch(f);
        self.restart_log_if_wanted()?;
        Ok(out)
    }

    /// Restarts the write-ahead log when the checkpoint thread asked for it: the writer
    /// copies what is left of it into the database and waits, briefly, for readers still
    /// in it to leave, so that its next write starts the log again from the beginning.
    fn restart_log_if_wanted(&self) -> Result<()> {
        if !self.restart_wanted.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        self.writer()?.exclusive(|c| {
            c.busy_timeout(Duration::from_millis(20))?;
            // Busy (a reader stayed): the checkpoint thread asks again.
            let _ = c.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
            Ok(c.busy_timeout(BUSY_TIMEOUT)?)
        })
    }

    /// Before reads that use the namespace counters: reclaim anything that has expired.
    fn reclaim_if_due(&self) -> Result<()> {
        let now = model::now_ms();
        let due = self.read(|c| {
            Ok(c.query_row(
                "SELECT 1 FROM documents WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT 1",
                [now],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })?;
        if due {
            self.writer()?
                .run(|conn, _| self.reclaim(conn, model::now_ms()))?;
        }
        Ok(())
    }

    fn reclaim(&self, conn: &Connection, now: i64) -> Result<()> {
        let mut stmt = conn.prepare_cached(
            "SELECT workspace, namespace, key, size_bytes, id FROM documents
             WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT 1000",
        )?;
        let expired = stmt
            .query_map([now], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (ws, ns, key, size, id) in expired {
            let t = Target {
                ws: &ws,
                ns: &ns,
                key: &key,
            };
            self.expire(conn, &t, id, size, now)?;
        }
        Ok(())
    }

    /// Removes an expired document (row `id`), with its history.
    fn expire(
        &self,
        conn: &Connection,
        t: &Target<'_>,
        id: i64,
        size: u64,
        now: i64,
    ) -> Result<()> {
        self.remove_row(conn, t, id, size, None, "expire", now)?;
        self.forget(conn, id)
    }

    /// Removes document id `id` with its history (its document row is already gone).
    fn forget(&self, conn: &Connection, id: i64) -> Result<()> {
        conn.prepare_cached("DELETE FROM history WHERE doc = ?1")?
            .execute([id])?;
        conn.prepare_cached("DELETE FROM doc_ids WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    /// The id of document `t`, if it exists or has history.
    fn known_id(&self, conn: &Connection, t: &Target<'_>) -> Result<Option<i64>> {
        Ok(conn
            .prepare_cached(
                "SELECT id FROM doc_ids WHERE workspace = ?1 AND namespace = ?2 AND key = ?3",
            )?
            .query_row(params![t.ws, t.ns, t.key], |r| r.get(0))
            .optional()?)
    }

    /// The id for document `t`, created at `first_version`: a re-created document
    /// starts again at version 1, so its old versions go; one restored at a later
    /// version (import, undo of a delete) keeps the versions before it.
    fn claim_id(&self, conn: &Connection, t: &Target<'_>, first_version: u64) -> Result<i64> {
        if let Some(id) = self.known_id(conn, t)? {
            conn.prepare_cached("DELETE FROM history WHERE doc = ?1 AND version >= ?2")?
                .execute(params![id, first_version])?;
            return Ok(id);
        }
        conn.prepare_cached("INSERT INTO doc_ids (workspace, namespace, key) VALUES (?1, ?2, ?3)")?
            .execute(params![t.ws, t.ns, t.key])?;
        Ok(conn.last_insert_rowid())
    }

    fn load(&self, conn: &Connection, t: &Target<'_>) -> Result<Option<Row>> {
        Ok(self.load_with_id(conn, t)?.map(|(_, row)| row))
    }

    /// A document's stored row (expired or not) and its id.
    fn load_with_id(&self, conn: &Connection, t: &Target<'_>) -> Result<Option<(i64, Row)>> {
        let mut stmt = conn.prepare_cached(concat!(
            "SELECT ",
            row_columns!(),
            ", id FROM documents WHERE workspace = ?1 AND namespace = ?2 AND key = ?3"
        ))?;
        Ok(stmt
            .query_row(params![t.ws, t.ns, t.key], |r| {
                Ok((r.get(7)?, row_from(r)?))
            })
            .optional()?)
    }

    /// A document's row as a write finds it; changes nothing (an expired row is removed by
    /// the write that replaces it, or by the next transaction's reclaim).
    fn find(&self, conn: &Connection, t: &Target<'_>, now: i64) -> Result<Found> {
        Ok(match self.load_with_id(conn, t)? {
            None => Found::Missing,
            Some((id, row)) if row.expired(now) => Found::Expired(id, row),
            Some((id, row)) => Found::Live(id, row),
        })
    }

    /// A workspace's tier, read once per write transaction; `None` when the workspace has
    /// no row yet (it gets one, with the default tier, from `ensure_workspace` on its
    /// first write).
    fn workspace_tier(&self, conn: &Connection, ws: &str) -> Result<Option<Tier>> {
        if let Some(tier) = self.pending.tier(ws) {
            return Ok(Some(tier));
        }
        let tier: Option<String> = conn
            .prepare_cached("SELECT tier FROM workspaces WHERE slug = ?1")?
            .query_row([ws], |r| r.get(0))
            .optional()?;
        let tier = tier.map(|t| Tier::parse(&t)).transpose()?;
        if let Some(tier) = tier {
            self.pending.remember_tier(ws, tier);
        }
        Ok(tier)
    }

    fn ensure_workspace(&self, conn: &Connection, ws: &str, now: i64) -> Result<Tier> {
        match self.workspace_tier(conn, ws)? {
            Some(tier) => Ok(tier),
            None => self.add_workspace(conn, ws, now),
        }
    }

    /// Adds a workspace row, with the default tier.
    fn add_workspace(&self, conn: &Connection, ws: &str, now: i64) -> Result<Tier> {
        let tier = self.options.default_tier;
        conn.prepare_cached(
            "INSERT INTO workspaces (slug, name, tier, created_at) VALUES (?1, ?1, ?2, ?3)",
        )?
        .execute(params![ws, tier.as_str(), now])?;
        self.pending.remember_tier(ws, tier);
        Ok(tier)
    }

    /// Writes `value` as the next version of a document, enforcing the workspace's quotas,
    /// and records history and the change. Every quota is checked before the first change.
    #[allow(clippy::too_many_arguments)]
    fn store_row(
        &self,
        conn: &Connection,
        scope: &Scope,
        t: &Target<'_>,
        value: &Value,
        found: &Found,
        how: How,
        now: i64,
    ) -> Result<Written> {
        let How {
            expires_at,
            first_version,
            op,
            restore,
        } = how;
        let existing = found.live();
        let text = model::compact(value);
        let size = text.len() as u64;
        let tier = self.workspace_tier(conn, t.ws)?;
        // An expired row still stored is replaced by this write: it counts no more.
        let stale = match found {
            Found::Expired(_, row) => Some(row),
            _ => None,
        };
        let check = rules::Write {
            ns: t.ns,
            size,
            live: existing.map(|r| r.size_bytes),
            stale: stale.map(|r| r.size_bytes),
        };
        let mut counts = SqliteCounts {
            store: self,
            conn,
            ws: t.ws,
            ns: t.ns,
        };
        rules::check_quota(
            tier.unwrap_or(self.options.default_tier),
            &check,
            &mut counts,
        )?;
        let old_size = existing.map_or(0, |r| r.size_bytes);
        if let Found::Live(_, row) = found {
            model::next_version(row.version)?;
        }
        // Checked: the changes start here.
        if tier.is_none() {
            self.add_workspace(conn, t.ws, now)?;
        }
        if let Found::Expired(id, row) = found {
            self.expire(conn, t, *id, row.size_bytes, now)?;
        }
        let (id, version, created_at) = match found {
            Found::Live(id, row) => {
                self.archive(conn, *id, row)?;
                (*id, row.version + 1, row.created_at)
            }
            _ => (self.claim_id(conn, t, first_version)?, first_version, now),
        };
        let (created_at, now_at, actor) = rules::stamp(restore, created_at, now, &scope.actor)?;
        match found {
            Found::Live(..) => conn
                .prepare_cached(
                    "UPDATE documents SET value = ?2, version = ?3, size_bytes = ?4, updated_at = ?5,
                       updated_by = ?6, expires_at = ?7
                     WHERE id = ?1",
                )?
                .execute(params![id, text, version, size, now_at, actor, expires_at])?,
            _ => conn
                .prepare_cached(
                    "INSERT INTO documents (id, workspace, namespace, key, value, version, size_bytes, created_at, updated_at, updated_by, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?
                .execute(params![id, t.ws, t.ns, t.key, text, version, size, created_at, now_at, actor, expires_at])?,
        };
        let new_doc = i64::from(existing.is_none());
        let grown = size as i64 - old_size as i64;
        self.pending.count(t.ws, t.ns, new_doc, grown, now);
        self.log_change(t, op, Some(version), now);
        let row = Row {
            value: String::new(),
            version,
            size_bytes: size,
            created_at,
            updated_at: now_at,
            updated_by: actor.to_string(),
            expires_at,
        };
        Ok(Written {
            meta: row.meta(t.ns, t.key),
            created: existing.is_none(),
        })
    }

    /// Keeps `row` as a past version, within the history limit. (Bound values, not an
    /// `INSERT … SELECT` from the row: SQLite gives a statement that may write several rows
    /// a statement journal, which copies every page it touches.)
    fn archive(&self, conn: &Connection, id: i64, row: &Row) -> Result<()> {
        if self.options.history_limit == 0 {
            return Ok(());
        }
        conn.prepare_cached(
            "INSERT OR REPLACE INTO history (doc, version, value, size_bytes, created_at, updated_at, updated_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![id, row.version, row.value, row.size_bytes, row.created_at, row.updated_at, row.updated_by])?;
        let version = row.version;
        // Pruned in steps: between `history_limit` and that plus the step are kept, and
        // the readers show only the newest `history_limit`.
        if version.is_multiple_of(HISTORY_PRUNE_STEP) {
            conn.prepare_cached("DELETE FROM history WHERE doc = ?1 AND version <= ?2")?
                .execute(params![
                    id,
                    version as i64 - self.options.history_limit as i64
                ])?;
        }
        Ok(())
    }

    /// Deletes the row `id` of document `t` (`size` bytes) and updates the counters; the
    /// change is logged as `op`, with `version` when given.
    #[allow(clippy::too_many_arguments)]
    fn remove_row(
        &self,
        conn: &Connection,
        t: &Target<'_>,
        id: i64,
        size: u64,
        version: Option<u64>,
        op: &'static str,
        now: i64,
    ) -> Result<()> {
        conn.prepare_cached("DELETE FROM documents WHERE id = ?1")?
            .execute([id])?;
        self.pending.count(t.ws, t.ns, -1, -(size as i64), now);
        self.log_change(t, op, version, now);
        Ok(())
    }

    /// Logs a change (to the whole namespace when `t.key` is empty); it reaches the change
    /// log with the commit.
    fn log_change(&self, t: &Target<'_>, op: &'static str, version: Option<u64>, now: i64) {
        self.pending.log(t.ws, t.ns, t.key, op, version, now);
    }

    /// The stored document count of namespace `ns` of `ws` (`None`: no row).
    fn stored_docs(&self, conn: &Connection, ws: &str, ns: &str) -> Result<Option<i64>> {
        Ok(conn
            .prepare_cached("SELECT docs FROM namespaces WHERE workspace = ?1 AND namespace = ?2")?
            .query_row(params![ws, ns], |r| r.get(0))
            .optional()?)
    }

    /// The documents of namespace `ns` of `ws` as the open transaction sees them: its
    /// stored count plus what is pending. `None` when it does not exist, or will not after
    /// the commit (it is left empty: the flush deletes its row).
    fn namespace_docs(&self, conn: &Connection, ws: &str, ns: &str) -> Result<Option<u64>> {
        let stored = self.stored_docs(conn, ws, ns)?;
        Ok(after_pending(stored, self.pending.docs(ws, ns)))
    }

    /// The namespaces of `ws` as the open transaction sees them.
    fn namespace_count(&self, conn: &Connection, ws: &str) -> Result<u64> {
        let mut count: i64 = conn
            .prepare_cached("SELECT count(*) FROM namespaces WHERE workspace = ?1")?
            .query_row([ws], |r| r.get(0))?;
        for (ns, docs) in self.pending.namespaces(ws) {
            let stored = self.stored_docs(conn, ws, &ns)?;
            let exists = after_pending(stored, Some(docs)).is_some();
            count += i64::from(exists) - i64::from(stored.is_some());
        }
        Ok(count.max(0) as u64)
    }

    /// The bytes used by `ws` as the open transaction sees them.
    fn used_bytes(&self, conn: &Connection, ws: &str) -> Result<u64> {
        let stored: u64 = conn
            .prepare_cached("SELECT coalesce(sum(bytes), 0) FROM namespaces WHERE workspace = ?1")?
            .query_row([ws], |r| r.get(0))?;
        Ok(self.pending.bytes_after(ws, stored))
    }

    // ---- the contract ----

    pub fn get(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<Document> {
        let t = target(scope, ns, key);
        let now = model::now_ms();
        self.read(|c| match self.load(c, &t)? {
            Some(row) if !row.expired(now) => row.document(t.ns, t.key),
            _ => Err(not_found(&t)),
        })
    }

    /// The current version of a document (`None`: it does not exist), read through the
    /// write connection: inside a write batch it sees the batch's own writes.
    pub fn current_version(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<Option<u64>> {
        let t = target(scope, ns, key);
        let now = model::now_ms();
        self.writer()?
            .peek(|c| Ok(self.find(c, &t, now)?.live().map(|r| r.version)))
    }

    /// A document's metadata and its value as the stored compact JSON text, unparsed: the
    /// server answers reads with it as it is.
    pub fn get_raw(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<(Meta, String)> {
        let t = target(scope, ns, key);
        let now = model::now_ms();
        self.read(|c| match self.load(c, &t)? {
            Some(row) if !row.expired(now) => Ok((row.meta(t.ns, t.key), row.value)),
            _ => Err(not_found(&t)),
        })
    }

    pub fn put(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        value: Value,
        opts: &PutOptions,
    ) -> Result<Written> {
        model::validate_value(&value)?;
        let t = target(scope, ns, key);
        self.write(|c, now| {
            let found = self.find(c, &t, now)?;
            rules::check_put(opts, found.live().map(|r| r.version))?;
            let expires_at = rules::put_expiry(opts, now)?;
            self.store_row(
                c,
                scope,
                &t,
                &value,
                &found,
                How {
                    expires_at,
                    first_version: model::check_initial_version(opts.initial_version.unwrap_or(1))?,
                    op: "put",
                    restore: opts.restore.as_ref(),
                },
                now,
            )
        })
    }

    pub fn patch(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        partial: Map<String, Value>,
        expected_version: Option<u64>,
    ) -> Result<Meta> {
        let t = target(scope, ns, key);
        self.write(|c, now| {
            let found = self.find(c, &t, now)?;
            let row = found.live().ok_or_else(|| not_found(&t))?;
            rules::check_version(expected_version, row.version)?;
            let value = rules::patched(&row.value, partial, t.ns, t.key)?;
            let w = self.store_row(
                c,
                scope,
                &t,
                &value,
                &found,
                How::keep(row.expires_at, "patch"),
                now,
            )?;
            Ok(w.meta)
        })
    }

    pub fn delete(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        expected_version: Option<u64>,
    ) -> Result<()> {
        let t = target(scope, ns, key);
        self.write(|c, now| {
            let Found::Live(id, row) = self.find(c, &t, now)? else {
                return Err(rules::delete_missing(expected_version, t.ns, t.key));
            };
            rules::check_version(expected_version, row.version)?;
            self.archive(c, id, &row)?;
            self.remove_row(c, &t, id, row.size_bytes, Some(row.version), "delete", now)?;
            if self.options.history_limit == 0 {
                // Nothing to restore it from: its id goes too.
                self.forget(c, id)?;
            }
            Ok(())
        })
    }

    pub fn delete_namespace(&self, scope: &Scope, ns: &Namespace) -> Result<u64> {
        let ws = scope.workspace.as_str();
        self.write(|c, now| {
            let n = c
                .prepare_cached("DELETE FROM documents WHERE workspace = ?1 AND namespace = ?2")?
                .execute(params![ws, ns.as_str()])? as u64;
            if n == 0 {
                return Err(rules::namespace_not_found(ns.as_str()));
            }
            c.prepare_cached(
                "DELETE FROM history WHERE doc IN
                   (SELECT id FROM doc_ids WHERE workspace = ?1 AND namespace = ?2)",
            )?
            .execute(params![ws, ns.as_str()])?;
            c.prepare_cached("DELETE FROM doc_ids WHERE workspace = ?1 AND namespace = ?2")?
                .execute(params![ws, ns.as_str()])?;
            c.prepare_cached("DELETE FROM namespaces WHERE workspace = ?1 AND namespace = ?2")?
                .execute(params![ws, ns.as_str()])?;
            self.pending.forget_namespace(ws, ns.as_str());
            let t = Target {
                ws,
                ns: ns.as_str(),
                key: "",
            };
            self.log_change(&t, "delete_namespace", None, now);
            Ok(n)
        })
    }

    pub fn namespaces(&self, scope: &Scope) -> Result<Vec<String>> {
        self.reclaim_if_due()?;
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT namespace FROM namespaces WHERE workspace = ?1 ORDER BY namespace",
            )?;
            let names = stmt
                .query_map([scope.workspace.as_str()], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(names)
        })
    }

    pub fn list(&self, scope: &Scope, ns: &Namespace, opts: &ListOptions) -> Result<KeyPage> {
        let (after, prefix, upper) = opts.key_range()?;
        let now = model::now_ms();
        let detail = opts.detail || !opts.fields.is_empty();
        let query = opts.query.as_ref().filter(|q| !q.is_empty());
        let mut args: Vec<rusqlite::types::Value> = vec![
            scope.workspace.as_str().to_string().into(),
            ns.as_str().to_string().into(),
            after.clone().into(),
            prefix.clone().into(),
            upper.clone().into(),
            now.into(),
            (opts.limit as i64 + 1).into(),
        ];
        self.read(|c| {
            // A query examines a window of at most SCAN_BUDGET keys; `window_end` is its
            // last key when more keys follow it.
            let mut window_end = None;
            let mut scan_from = None;
            let mut stmt = match query {
                None => c.prepare_cached(concat!(
                    "SELECT key, ",
                    row_columns!(),
                    " FROM documents
                     WHERE workspace = ?1 AND namespace = ?2 AND key > ?3 AND key >= ?4
                       AND key < ?5 AND (expires_at IS NULL OR expires_at > ?6)
                     ORDER BY key LIMIT ?7"
                ))?,
                Some(q) => {
                    // One lower and one upper bound on `key` (SQLite narrows an index
                    // range by one of each): keys hold no character below '-', so
                    // `key > k` is `key >= k + "\u{1}"` and `key <= k` is `key < k + "\u{1}"`.
                    let lo = if after.is_empty() {
                        prefix.clone()
                    } else {
                        format!("{after}\u{1}").max(prefix.clone())
                    };
                    window_end = c
                        .prepare_cached(
                            "SELECT key FROM documents
                             WHERE workspace = ?1 AND namespace = ?2 AND key >= ?3 AND key < ?4
                             ORDER BY key LIMIT 1 OFFSET ?5",
                        )?
                        .query_row(
                            params![
                                scope.workspace.as_str(),
                                ns.as_str(),
                                lo,
                                upper,
                                super::SCAN_BUDGET as i64 - 1
                            ],
                            |r| r.get::<_, String>(0),
                        )
                        .optional()?;
                    let hi = window_end
                        .as_ref()
                        .map_or_else(|| upper.clone(), |w| format!("{w}\u{1}"));
                    let pred = super::sqlite_query::predicate(q, now, 7);
                    args = vec![
                        scope.workspace.as_str().to_string().into(),
                        ns.as_str().to_string().into(),
                        lo.clone().into(),
                        hi.into(),
                        now.into(),
                        (opts.limit as i64 + 1).into(),
                    ];
                    args.extend(pred.params);
                    scan_from = Some(lo);
                    c.prepare_cached(&format!(
                        concat!(
                            "SELECT key, ",
                            row_columns!(),
                            " FROM documents
                             WHERE workspace = ?1 AND namespace = ?2 AND key >= ?3 AND key < ?4
                               AND (expires_at IS NULL OR expires_at > ?5) AND {}
                             ORDER BY key LIMIT ?6"
                        ),
                        pred.sql
                    ))?
                }
            };
            let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
            let mut keys = Vec::new();
            let mut items = Vec::new();
            let mut has_more = false;
            while let Some(r) = rows.next()? {
                if keys.len() == opts.limit {
                    has_more = true;
                    break;
                }
                let key: String = r.get(0)?;
                if detail {
                    let row = Row {
                        value: String::new(),
                        version: r.get(2)?,
                        size_bytes: r.get(3)?,
                        created_at: r.get(4)?,
                        updated_at: r.get(5)?,
                        updated_by: r.get(6)?,
                        expires_at: r.get(7)?,
                    };
                    let mut meta = row.meta(ns.as_str(), &key);
                    if !opts.fields.is_empty() {
                        let value: String = r.get(1)?;
                        meta.fields = Some(model::pick_fields(&value, &opts.fields));
                    }
                    items.push(meta);
                }
                keys.push(key);
            }
            drop(rows);
            let mut scanned = None;
            let cursor_key = if has_more {
                keys.last().cloned()
            } else {
                has_more = window_end.is_some();
                window_end
            };
            if let Some(lo) = scan_from {
                let hi = cursor_key
                    .as_ref()
                    .map_or_else(|| upper.clone(), |k| format!("{k}\u{1}"));
                let n: i64 = c
                    .prepare_cached(
                        "SELECT count(*) FROM documents
                         WHERE workspace = ?1 AND namespace = ?2 AND key >= ?3 AND key < ?4",
                    )?
                    .query_row(
                        params![scope.workspace.as_str(), ns.as_str(), lo, hi],
                        |r| r.get(0),
                    )?;
                scanned = Some(n as u64);
            }
            Ok(KeyPage {
                keys,
                cursor: cursor_key.map(|k| cursor::encode(&k)),
                has_more,
                items: detail.then_some(items),
                scanned,
            })
        })
    }

    /// How the live documents of a namespace matching `query` spread over the values of
    /// the member at `field` (see `Store::facets`).
    pub fn facets(
        &self,
        scope: &Scope,
        ns: &Namespace,
        field: &crate::query::Path,
        query: Option<&crate::query::Query>,
    ) -> Result<Facets> {
        let now = model::now_ms();
        let pred = super::sqlite_query::predicate(query.unwrap_or(&Default::default()), now, 5);
        // `value -> path` is the member as JSON text (NULL when missing): one JSON call
        // per document tells every type apart (a string from a number, null from missing).
        let sql = format!(
            "SELECT value -> ?3 AS j, count(*) AS n
             FROM documents
             WHERE workspace = ?1 AND namespace = ?2 AND (expires_at IS NULL OR expires_at > ?4)
               AND {}
             GROUP BY j ORDER BY n DESC, j",
            pred.sql
        );
        let mut all: Vec<rusqlite::types::Value> = vec![
            scope.workspace.as_str().to_string().into(),
            ns.as_str().to_string().into(),
            field.json_path().into(),
            now.into(),
        ];
        all.extend(pred.params);
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(all))?;
            let mut facets = Facets {
                field: field.to_string(),
                values: Vec::new(),
                missing: 0,
                total: 0,
            };
            while let Some(r) = rows.next()? {
                let json: Option<String> = r.get(0)?;
                let count = r.get::<_, i64>(1)? as u64;
                facets.total += count;
                let Some(json) = json else {
                    facets.missing += count;
                    continue;
                };
                if facets.values.len() < super::MAX_FACET_VALUES {
                    let value = serde_json::from_str(&json)?;
                    facets.values.push(super::FacetValue { value, count });
                }
            }
            Ok(facets)
        })
    }

    pub fn stats(&self, scope: &Scope, ns: Option<&Namespace>) -> Result<Vec<NamespaceStats>> {
        self.reclaim_if_due()?;
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT namespace, docs, bytes, created_at, updated_at FROM namespaces
                 WHERE workspace = ?1 AND (?2 IS NULL OR namespace = ?2) ORDER BY namespace",
            )?;
            let stats = stmt
                .query_map(
                    params![scope.workspace.as_str(), ns.map(Namespace::as_str)],
                    |r| {
                        Ok(NamespaceStats {
                            namespace: r.get(0)?,
                            documents: r.get(1)?,
                            bytes: r.get(2)?,
                            created_at: model::format_ms(r.get(3)?),
                            updated_at: model::format_ms(r.get(4)?),
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if let (Some(ns), true) = (ns, stats.is_empty()) {
                return Err(Error::not_found(format!("namespace {ns} does not exist")));
            }
            Ok(stats)
        })
    }

    pub fn incr(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        field: &str,
        by: &serde_json::Number,
    ) -> Result<Document> {
        let t = target(scope, ns, key);
        self.write(|c, now| {
            let found = self.find(c, &t, now)?;
            let stored = found.live().map(|r| r.value.as_str());
            let value = rules::incremented(stored, field, by, t.ns, t.key)?;
            let expires_at = found.live().and_then(|r| r.expires_at);
            let w = self.store_row(
                c,
                scope,
                &t,
                &value,
                &found,
                How::keep(expires_at, "incr"),
                now,
            )?;
            Ok(Document {
                meta: w.meta,
                value,
            })
        })
    }

    pub fn history(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<Vec<Meta>> {
        let t = target(scope, ns, key);
        let now = model::now_ms();
        self.read(|c| {
            let mut out = Vec::new();
            if let Some(row) = self.load(c, &t)?.filter(|r| !r.expired(now)) {
                out.push(row.meta(t.ns, t.key));
            }
            if let Some(id) = self.known_id(c, &t)? {
                let mut stmt = c.prepare_cached(concat!(
                    "SELECT ",
                    row_columns!(),
                    " FROM (SELECT *, NULL AS expires_at FROM history WHERE doc = ?1)
                     ORDER BY version DESC LIMIT ?2"
                ))?;
                let kept = self.options.history_limit;
                for row in stmt.query_map(params![id, kept], row_from)? {
                    out.push(row?.meta(t.ns, t.key));
                }
            }
            if out.is_empty() {
                return Err(Error::not_found(format!(
                    "{}/{} has no history",
                    t.ns, t.key
                )));
            }
            Ok(out)
        })
    }

    pub fn history_version(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        version: u64,
    ) -> Result<Document> {
        let t = target(scope, ns, key);
        let now = model::now_ms();
        self.read(|c| {
            if let Some(row) = self
                .load(c, &t)?
                .filter(|r| !r.expired(now) && r.version == version)
            {
                return row.document(t.ns, t.key);
            }
            // Only the newest `history_limit` archived versions count as retained.
            let mut stmt = c.prepare_cached(concat!(
                "SELECT ",
                row_columns!(),
                " FROM (SELECT *, NULL AS expires_at FROM history
                 WHERE doc = ?1 AND version = ?2
                   AND version > (SELECT max(version) FROM history WHERE doc = ?1) - ?3)"
            ))?;
            let kept = self.options.history_limit;
            let row = match self.known_id(c, &t)? {
                Some(id) => stmt
                    .query_row(params![id, version, kept], row_from)
                    .optional()?,
                None => None,
            };
            match row {
                Some(row) => row.document(t.ns, t.key),
                None => Err(Error::not_found(format!(
                    "version {version} of {}/{} is not retained",
                    t.ns, t.key
                ))),
            }
        })
    }

    pub fn changes(
        &self,
        scope: &Scope,
        after_seq: u64,
        ns: Option<&Namespace>,
        limit: usize,
    ) -> Result<ChangeBatch> {
        self.read(|c| {
            let (oldest, last): (Option<u64>, Option<u64>) =
                c.query_row("SELECT min(seq), max(seq) FROM changes", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            let mut stmt = c.prepare_cached(
                "SELECT seq, op, namespace, key, version, at FROM changes
                 WHERE workspace = ?1 AND seq > ?2 AND (?3 IS NULL OR namespace = ?3)
                 ORDER BY seq LIMIT ?4",
            )?;
            let changes = stmt
                .query_map(
                    params![
                        scope.workspace.as_str(),
                        after_seq.min(i64::MAX as u64) as i64,
                        ns.map(Namespace::as_str),
                        limit as i64
                    ],
                    |r| {
                        Ok(Change {
                            seq: r.get(0)?,
                            op: r.get(1)?,
                            namespace: r.get(2)?,
                            key: r.get(3)?,
                            version: r.get(4)?,
                            at: model::format_ms(r.get(5)?),
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ChangeBatch {
                changes,
                oldest_seq: oldest.unwrap_or(0),
                last_seq: last.unwrap_or(0),
            })
        })
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn location(&self) -> String {
        self.path.display().to_string()
    }

    // ---- administration of the embedded store (not part of the wire contract) ----

    /// Bytes used by a workspace, and its bound.
    pub fn usage(&self, ws: &Workspace) -> Result<Usage> {
        self.read(|c| self.usage_on(c, ws))
    }

    /// The usage as the write batch in progress sees it (through the write connection):
    /// the server answers a write with it without a second read.
    pub fn usage_in_write(&self, ws: &Workspace) -> Result<Usage> {
        let mut usage = self.writer()?.peek(|c| self.usage_on(c, ws))?;
        usage.used_bytes = self.pending.bytes_after(ws.as_str(), usage.used_bytes);
        Ok(usage)
    }

    fn usage_on(&self, c: &Connection, ws: &Workspace) -> Result<Usage> {
        let (tier, used_bytes): (Option<String>, u64) = c
            .prepare_cached(
                "SELECT (SELECT tier FROM workspaces WHERE slug = ?1),
                        (SELECT coalesce(sum(bytes), 0) FROM namespaces WHERE workspace = ?1)",
            )?
            .query_row([ws.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let tier = tier
            .map(|t| Tier::parse(&t))
            .transpose()?
            .unwrap_or(self.options.default_tier);
        Ok(Usage {
            used_bytes,
            limit_bytes: tier.limits().total_bytes,
        })
    }

    /// Creates a workspace (or changes its tier and name when it exists).
    pub fn upsert_workspace(
        &self,
        ws: &Workspace,
        name: Option<&str>,
        tier: Option<Tier>,
    ) -> Result<WorkspaceInfo> {
        self.write(|c, now| {
            self.ensure_workspace(c, ws.as_str(), now)?;
            if let Some(tier) = tier {
                c.execute(
                    "UPDATE workspaces SET tier = ?2 WHERE slug = ?1",
                    params![ws.as_str(), tier.as_str()],
                )?;
                self.pending.remember_tier(ws.as_str(), tier);
            }
            if let Some(name) = name {
                c.execute(
                    "UPDATE workspaces SET name = ?2 WHERE slug = ?1",
                    params![ws.as_str(), name],
                )?;
            }
            Ok(())
        })?;
        self.workspaces()?
            .into_iter()
            .find(|w| w.slug == ws.as_str())
            .ok_or_else(|| Error::internal("workspace vanished after its creation"))
    }

    pub fn workspaces(&self) -> Result<Vec<WorkspaceInfo>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT slug, name, tier, created_at FROM workspaces ORDER BY slug",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(slug, name, tier, created)| {
                    Ok(WorkspaceInfo {
                        slug,
                        name,
                        tier: Tier::parse(&tier)?,
                        created_at: model::format_ms(created),
                    })
                })
                .collect()
        })
    }

    /// Runs `f` in a write transaction: for administration modules of this backend.
    pub(crate) fn write_admin<T>(
        &self,
        f: impl FnOnce(&Connection, i64) -> Result<T>,
    ) -> Result<T> {
        self.write(f)
    }

    /// The keys this store has verified (see `keys::KeyCache`).
    pub(crate) fn key_cache(&self) -> &super::keys::KeyCache {
        self.key_cache
            .get_or_init(|| super::keys::KeyCache::new(self))
    }

    /// Runs `f` on a read connection: for administration modules of this backend.
    pub(crate) fn read_admin<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read_as(Freshness::Latest, f)
    }
}

fn target<'a>(scope: &'a Scope, ns: &'a Namespace, key: &'a Key) -> Target<'a> {
    Target {
        ws: scope.workspace.as_str(),
        ns: ns.as_str(),
        key: key.as_str(),
    }
}

fn not_found(t: &Target<'_>) -> Error {
    rules::not_found(t.ns, t.key)
}

/// A namespace's document count after the open transaction's pending change, from its
/// stored count (`None`: no row): `None` when it will not exist (no row and nothing
/// pending, or left empty).
fn after_pending(stored: Option<i64>, pending: Option<i64>) -> Option<u64> {
    if stored.is_none() && pending.is_none() {
        return None;
    }
    let docs = stored.unwrap_or(0) + pending.unwrap_or(0);
    (docs > 0).then_some(docs as u64)
}

/// The workspace's counters as the open write transaction sees them, for the quota check.
struct SqliteCounts<'a> {
    store: &'a SqliteStore,
    conn: &'a Connection,
    ws: &'a str,
    ns: &'a str,
}

impl Counts for SqliteCounts<'_> {
    fn namespace_docs(&mut self) -> Result<Option<u64>> {
        self.store.namespace_docs(self.conn, self.ws, self.ns)
    }

    fn namespace_count(&mut self) -> Result<u64> {
        self.store.namespace_count(self.conn, self.ws)
    }

    fn used_bytes(&mut self) -> Result<u64> {
        self.store.used_bytes(self.conn, self.ws)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a connection that is still usable: SQLite
    // rolled back the open transaction when it was dropped.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_1_store_keeps_its_change_log_and_numbering_when_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(
            "INSERT INTO changes (workspace, namespace, key, op, version, at) VALUES
               ('acme', 'ns', 'a', 'put', 1, 1), ('other', 'ns', 'b', 'put', 1, 2),
               ('acme', 'ns', 'a', 'put', 2, 3);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        drop(conn);

        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        let scope = Scope::new(Workspace::parse("acme").unwrap(), "test");
        let ns = Namespace::parse("ns").unwrap();
        let old = store.changes(&scope, 0, None, 10).unwrap();
        let seqs: Vec<u64> = old.changes.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, [1, 3]);
        assert_eq!((old.oldest_seq, old.last_seq), (1, 3));
        store
            .put(
                &scope,
                &ns,
                &Key::parse("a").unwrap(),
                serde_json::json!({}),
                &PutOptions::default(),
            )
            .unwrap();
        let new = store.changes(&scope, 3, None, 10).unwrap();
        assert_eq!(new.changes.len(), 1);
        assert_eq!(
            new.changes[0].seq, 4,
            "numbering goes on after the migrated entries"
        );
        let version: usize = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }

    #[test]
    fn a_schema_2_store_keeps_its_history_when_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(MIGRATIONS[1]).unwrap();
        // `live` is at version 3 with two past versions; `gone` was deleted at version 2
        // and only its history is left; another workspace has a `live` of its own.
        conn.execute_batch(
            "INSERT INTO workspaces VALUES ('acme', 'acme', 'unlimited', 1);
             INSERT INTO documents (workspace, namespace, key, value, version, size_bytes,
                                    created_at, updated_at, updated_by, expires_at) VALUES
               ('other', 'ns', 'live', '{\"o\":1}', 1, 7, 1, 1, 'x', NULL),
               ('acme', 'ns', 'live', '{\"v\":3}', 3, 7, 1, 3, 'x', NULL);
             INSERT INTO history VALUES
               ('acme', 'ns', 'live', 1, '{\"v\":1}', 7, 1, 1, 'x'),
               ('acme', 'ns', 'live', 2, '{\"v\":2}', 7, 1, 2, 'x'),
               ('acme', 'ns', 'gone', 1, '{\"g\":1}', 7, 1, 1, 'x'),
               ('acme', 'ns', 'gone', 2, '{\"g\":2}', 7, 1, 2, 'x');
             INSERT INTO namespaces VALUES ('acme', 'ns', 1, 7, 1, 3), ('other', 'ns', 1, 7, 1, 1);
             PRAGMA user_version = 2;",
        )
        .unwrap();
        drop(conn);

        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        let scope = Scope::new(Workspace::parse("acme").unwrap(), "test");
        let other = Scope::new(Workspace::parse("other").unwrap(), "test");
        let ns = Namespace::parse("ns").unwrap();
        let (live, gone) = (Key::parse("live").unwrap(), Key::parse("gone").unwrap());
        let versions = |scope: &Scope, key: &Key| -> Vec<u64> {
            let h = store.history(scope, &ns, key).unwrap();
            h.iter().map(|m| m.version).collect()
        };
        assert_eq!(versions(&scope, &live), [3, 2, 1]);
        assert_eq!(versions(&scope, &gone), [2, 1]);
        assert_eq!(versions(&other, &live), [1]);
        let old = store.history_version(&scope, &ns, &live, 2).unwrap();
        assert_eq!(old.value, serde_json::json!({"v": 2}));

        // Writes go on from the migrated rows: the next version archives the current one,
        // and the deleted document is restored at version 3 over its history.
        store
            .put(
                &scope,
                &ns,
                &live,
                serde_json::json!({"v": 4}),
                &PutOptions::default(),
            )
            .unwrap();
        assert_eq!(versions(&scope, &live), [4, 3, 2, 1]);
        let restore = PutOptions {
            initial_version: Some(3),
            ..PutOptions::default()
        };
        store
            .put(&scope, &ns, &gone, serde_json::json!({"g": 3}), &restore)
            .unwrap();
        assert_eq!(versions(&scope, &gone), [3, 2, 1]);
        assert_eq!(versions(&other, &live), [1]);
        let g1 = store.history_version(&scope, &ns, &gone, 1).unwrap();
        assert_eq!(g1.value, serde_json::json!({"g": 1}));
    }
}
