//! The namespace counters and change-log entries of the open write transaction. Each
//! write adds to them in memory, and they reach their tables in a few statements just
//! before the commit, instead of two statements per write (an upsert into `namespaces`,
//! an insert into `changes`: a seventh of a write's instructions under load). Reads of
//! the counters on the write connection (quotas, usage) add what is pending here. Nothing
//! outlives its transaction: the writer discards what is pending whenever a transaction
//! ends without committing. The workspace tiers the transaction has read are kept here
//! too, until it ends: one lookup per workspace and batch instead of one per write.

use super::tier::Tier;
use super::writer::Deferral;
use crate::error::Result;
use rusqlite::{Connection, params};
use std::sync::{Mutex, MutexGuard};

/// The change log is trimmed every this many entries at most (fewer for a short log).
const CHANGES_TRIM_STEP: i64 = 64;

/// What the open transaction adds to the counters and the log.
pub(super) struct Pending {
    state: Mutex<State>,
    /// Entries kept in the change log.
    changes_limit: u64,
}

#[derive(Default)]
struct State {
    counters: Vec<Counter>,
    changes: Vec<Entry>,
    tiers: Vec<(String, Tier)>,
}

/// The change to one namespace's counters.
struct Counter {
    ws: String,
    ns: String,
    docs: i64,
    bytes: i64,
    first_at: i64,
    last_at: i64,
    /// A document left: the namespace may be empty now (and then goes).
    shrank: bool,
}

/// One change-log entry.
struct Entry {
    ws: String,
    ns: String,
    key: Option<String>,
    op: &'static str,
    version: Option<u64>,
    at: i64,
}

/// Log entries are inserted this many at a time (one statement each), then by fours, then
/// one by one: three statements to keep compiled.
const ROWS_PER_INSERT: [usize; 3] = [16, 4, 1];

impl Pending {
    pub(super) fn new(changes_limit: u64) -> Pending {
        Pending {
            state: Mutex::new(State::default()),
            changes_limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Namespace `ns` of `ws` gains `docs` documents and `bytes` bytes (either may be
    /// negative) at `at`.
    pub(super) fn count(&self, ws: &str, ns: &str, docs: i64, bytes: i64, at: i64) {
        let mut st = self.lock();
        match st.counters.iter_mut().find(|c| c.ws == ws && c.ns == ns) {
            Some(c) => {
                c.docs += docs;
                c.bytes += bytes;
                c.last_at = at;
                c.shrank |= docs < 0;
            }
            None => st.counters.push(Counter {
                ws: ws.to_string(),
                ns: ns.to_string(),
                docs,
                bytes,
                first_at: at,
                last_at: at,
                shrank: docs < 0,
            }),
        }
    }

    /// The pending change to the document count of namespace `ns` of `ws`, if any.
    pub(super) fn docs(&self, ws: &str, ns: &str) -> Option<i64> {
        let st = self.lock();
        let c = st.counters.iter().find(|c| c.ws == ws && c.ns == ns)?;
        Some(c.docs)
    }

    /// The pending change to the document count of each namespace of `ws` written to.
    pub(super) fn namespaces(&self, ws: &str) -> Vec<(String, i64)> {
        let st = self.lock();
        let of_ws = st.counters.iter().filter(|c| c.ws == ws);
        of_ws.map(|c| (c.ns.clone(), c.docs)).collect()
    }

    /// The bytes of workspace `ws` after what is pending, from its `stored` bytes.
    pub(super) fn bytes_after(&self, ws: &str, stored: u64) -> u64 {
        let st = self.lock();
        let of_ws = st.counters.iter().filter(|c| c.ws == ws);
        let pending: i64 = of_ws.map(|c| c.bytes).sum();
        (stored as i64 + pending).max(0) as u64
    }

    /// The tier of `ws` as this transaction has read or set it.
    pub(super) fn tier(&self, ws: &str) -> Option<Tier> {
        let st = self.lock();
        st.tiers.iter().find(|(w, _)| w == ws).map(|(_, t)| *t)
    }

    /// Remembers the tier of `ws` for the rest of the transaction.
    pub(super) fn remember_tier(&self, ws: &str, tier: Tier) {
        let mut st = self.lock();
        st.tiers.retain(|(w, _)| w != ws);
        st.tiers.push((ws.to_string(), tier));
    }

    /// Drops the pending counters of namespace `ns` of `ws`, deleted with its documents.
    pub(super) fn forget_namespace(&self, ws: &str, ns: &str) {
        self.lock().counters.retain(|c| c.ws != ws || c.ns != ns);
    }

    /// Adds an entry to the change log (`key` empty: the whole namespace).
    pub(super) fn log(
        &self,
        ws: &str,
        ns: &str,
        key: &str,
        op: &'static str,
        version: Option<u64>,
        at: i64,
    ) {
        self.lock().changes.push(Entry {
            ws: ws.to_string(),
            ns: ns.to_string(),
            key: (!key.is_empty()).then(|| key.to_string()),
            op,
            version,
            at,
        });
    }
}

impl Deferral for Pending {
    /// Writes what is pending: the counters first (a namespace left with no document
    /// goes: see `SqliteStore::namespace_docs`), then the log entries in their order,
    /// several rows per statement.
    fn flush(&self, conn: &Connection) -> Result<()> {
        let mut st = self.lock();
        st.tiers.clear();
        for c in st.counters.drain(..) {
            conn.prepare_cached(
                "INSERT INTO namespaces (workspace, namespace, docs, bytes, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (workspace, namespace) DO UPDATE SET
                   docs = docs + ?3, bytes = bytes + ?4, updated_at = ?6",
            )?
            .execute(params![c.ws, c.ns, c.docs, c.bytes, c.first_at, c.last_at])?;
            if c.shrank {
                conn.prepare_cached(
                    "DELETE FROM namespaces WHERE workspace = ?1 AND namespace = ?2 AND docs <= 0",
                )?
                .execute(params![c.ws, c.ns])?;
            }
        }
        if st.changes.is_empty() {
            return Ok(());
        }
        let mut rest = &st.changes[..];
        for rows in ROWS_PER_INSERT {
            while rest.len() >= rows {
                let (these, after) = rest.split_at(rows);
                insert_changes(conn, these)?;
                rest = after;
            }
        }
        let n = st.changes.len() as i64;
        st.changes.clear();
        // Trim in steps: the log holds between `changes_limit` and that plus the step. The
        // newest entry always stays, so the next sequence number follows it.
        let last = conn.last_insert_rowid();
        let limit = self.changes_limit.max(1) as i64;
        let step = (limit / 64).clamp(1, CHANGES_TRIM_STEP);
        if last / step != (last - n) / step {
            conn.prepare_cached("DELETE FROM changes WHERE seq <= ?1")?
                .execute([last - limit])?;
        }
        Ok(())
    }

    fn discard(&self) {
        let mut st = self.lock();
        st.counters.clear();
        st.changes.clear();
        st.tiers.clear();
    }
}

/// Inserts `entries` into the change log, in their order, with one statement.
fn insert_changes(conn: &Connection, entries: &[Entry]) -> Result<()> {
    let rows = vec!["(?, ?, ?, ?, ?, ?)"; entries.len()].join(", ");
    let sql =
        format!("INSERT INTO changes (workspace, namespace, key, op, version, at) VALUES {rows}");
    let mut stmt = conn.prepare_cached(&sql)?;
    for (i, e) in entries.iter().enumerate() {
        let at = i * 6;
        stmt.raw_bind_parameter(at + 1, &e.ws)?;
        stmt.raw_bind_parameter(at + 2, &e.ns)?;
        stmt.raw_bind_parameter(at + 3, &e.key)?;
        stmt.raw_bind_parameter(at + 4, e.op)?;
        stmt.raw_bind_parameter(at + 5, e.version)?;
        stmt.raw_bind_parameter(at + 6, e.at)?;
    }
    stmt.raw_execute()?;
    Ok(())
}
