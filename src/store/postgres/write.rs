//! A write on PostgreSQL: one transaction that starts by locking its workspace's row
//! (`SELECT … FOR UPDATE`, after creating the row on the workspace's first write). Writes
//! of one workspace therefore take turns whichever replica runs them, and each statement
//! after the lock sees every write committed before it: a compare-and-swap compares with
//! the latest version, a quota is checked against the latest counters, and change-log
//! numbers (the row's `change_seq`) are given and committed in the same order, so a
//! feed that has seen number N has seen everything below N. Expired documents of the
//! workspace are reclaimed first. The rules of each write are `rules.rs`'s.

use super::super::rules::{self, Counts, Stored};
use super::super::{PutOptions, Tier, Written};
use super::PostgresStore;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{self, Meta};
use postgres::Transaction;
use serde_json::{Map, Value};

/// Old versions are pruned every this many versions of a document.
const HISTORY_PRUNE_STEP: u64 = 8;
/// The change log of a workspace is trimmed every this many entries.
const CHANGES_TRIM_STEP: i64 = 64;
/// Expired documents reclaimed by one write at most (the sweep takes the rest).
const RECLAIM_BATCH: i64 = 100;
/// A write that met a serialization failure or a deadlock is tried again this often.
const ATTEMPTS: usize = 5;

/// The store settings a write needs.
pub(super) struct Settings {
    pub history_limit: u64,
    pub changes_limit: u64,
    pub default_tier: Tier,
}

/// The open write transaction of one workspace.
pub(super) struct Tx<'a> {
    tx: Transaction<'a>,
    settings: &'a Settings,
    ws: &'a str,
    actor: &'a str,
    tier: Tier,
    /// The newest change-log number given so far.
    seq: i64,
    logged: bool,
    now: i64,
}

/// Runs `f` in a write transaction of workspace `ws`, committed when `f` succeeds. A
/// serialization failure or deadlock (another replica's transaction) tries it again.
pub(super) fn run<T>(
    client: &mut postgres::Client,
    settings: &Settings,
    ws: &str,
    actor: &str,
    mut f: impl FnMut(&mut Tx<'_>) -> Result<T>,
) -> Result<T> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match run_once(client, settings, ws, actor, &mut f) {
            Err(Retry::Again(e)) if attempt < ATTEMPTS => {
                tracing::debug!(error = %e, "a write is tried again");
            }
            Err(Retry::Again(e)) => return Err(Error::from(e)),
            Err(Retry::Fail(e)) => return Err(e),
            Ok(v) => return Ok(v),
        }
    }
}

enum Retry {
    Again(postgres::Error),
    Fail(Error),
}

impl From<Error> for Retry {
    fn from(e: Error) -> Retry {
        Retry::Fail(e)
    }
}

impl From<postgres::Error> for Retry {
    fn from(e: postgres::Error) -> Retry {
        use postgres::error::SqlState;
        match e.code() {
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                Retry::Again(e)
            }
            _ => Retry::Fail(Error::from(e)),
        }
    }
}

fn run_once<T>(
    client: &mut postgres::Client,
    settings: &Settings,
    ws: &str,
    actor: &str,
    f: &mut impl FnMut(&mut Tx<'_>) -> Result<T>,
) -> std::result::Result<T, Retry> {
    let now = model::now_ms();
    let mut tx = client.transaction()?;
    tx.execute(
        "INSERT INTO workspaces (slug, name, tier, created_at, change_seq)
         VALUES ($1, $1, $2, $3, 0) ON CONFLICT (slug) DO NOTHING",
        &[&ws, &settings.default_tier.as_str(), &now],
    )?;
    let row = tx.query_one(
        "SELECT tier, change_seq FROM workspaces WHERE slug = $1 FOR UPDATE",
        &[&ws],
    )?;
    let out = in_locked(tx, row, settings, ws, actor, now, f)?;
    Ok(out)
}

/// Reclaims the expired documents of `ws` unless another transaction holds the
/// workspace (`SKIP LOCKED`: that one reclaims them, whichever replica runs it).
pub(super) fn sweep(client: &mut postgres::Client, settings: &Settings, ws: &str) -> Result<()> {
    let now = model::now_ms();
    let mut tx = client.transaction()?;
    let row = tx.query_opt(
        "SELECT tier, change_seq FROM workspaces WHERE slug = $1 FOR UPDATE SKIP LOCKED",
        &[&ws],
    )?;
    match row {
        Some(row) => match in_locked(tx, row, settings, ws, "console", now, &mut |_| Ok(())) {
            Ok(()) => Ok(()),
            Err(Retry::Again(e)) => Err(e.into()),
            Err(Retry::Fail(e)) => Err(e),
        },
        None => Ok(()),
    }
}

/// The rest of a write once the workspace's row is locked (`row`: its tier and
/// change-log number).
fn in_locked<T>(
    tx: Transaction<'_>,
    row: postgres::Row,
    settings: &Settings,
    ws: &str,
    actor: &str,
    now: i64,
    f: &mut impl FnMut(&mut Tx<'_>) -> Result<T>,
) -> std::result::Result<T, Retry> {
    let tier = Tier::parse(row.get(0))?;
    let mut w = Tx {
        tx,
        settings,
        ws,
        actor,
        tier,
        seq: row.get(1),
        logged: false,
        now,
    };
    w.reclaim()?;
    // A refused write (conflict, quota, bad input) rolls back: nothing of it stays.
    let out = f(&mut w)?;
    w.finish()?;
    Ok(out)
}

/// What a write finds where it writes.
enum Found {
    Missing,
    Live(i64, Stored),
    /// Expired, and still stored until this write or a reclaim removes it.
    Expired(i64, Stored),
}

impl Found {
    fn live(&self) -> Option<&Stored> {
        match self {
            Found::Live(_, row) => Some(row),
            _ => None,
        }
    }
}

/// How a row is written: its expiry, the version it gets if it is created, the op logged.
struct How<'r> {
    expires_at: Option<i64>,
    first_version: u64,
    op: &'static str,
    restore: Option<&'r super::super::Restore>,
}

impl Tx<'_> {
    fn find(&mut self, ns: &str, key: &str) -> Result<Found> {
        Ok(match PostgresStore::load(&mut self.tx, self.ws, ns, key)? {
            None => Found::Missing,
            Some((id, row)) if row.expired(self.now) => Found::Expired(id, row),
            Some((id, row)) => Found::Live(id, row),
        })
    }

    pub fn put(
        &mut self,
        ns: &str,
        key: &str,
        value: &Value,
        opts: &PutOptions,
    ) -> Result<Written> {
        let found = self.find(ns, key)?;
        rules::check_put(opts, found.live().map(|r| r.version))?;
        let how = How {
            expires_at: rules::put_expiry(opts, self.now)?,
            first_version: model::check_initial_version(opts.initial_version.unwrap_or(1))?,
            op: "put",
            restore: opts.restore.as_ref(),
        };
        self.store_row(ns, key, value, &found, how)
    }

    pub fn patch(
        &mut self,
        ns: &str,
        key: &str,
        partial: Map<String, Value>,
        expected: Option<u64>,
    ) -> Result<Meta> {
        let found = self.find(ns, key)?;
        let row = found.live().ok_or_else(|| rules::not_found(ns, key))?;
        rules::check_version(expected, row.version)?;
        let value = rules::patched(&row.value, partial, ns, key)?;
        let how = How {
            expires_at: row.expires_at,
            first_version: 1,
            op: "patch",
            restore: None,
        };
        Ok(self.store_row(ns, key, &value, &found, how)?.meta)
    }

    pub fn incr(
        &mut self,
        ns: &str,
        key: &str,
        field: &str,
        by: &serde_json::Number,
    ) -> Result<crate::model::Document> {
        let found = self.find(ns, key)?;
        let live = found.live();
        let value = rules::incremented(live.map(|r| r.value.as_str()), field, by, ns, key)?;
        let how = How {
            expires_at: live.and_then(|r| r.expires_at),
            first_version: 1,
            op: "incr",
            restore: None,
        };
        let w = self.store_row(ns, key, &value, &found, how)?;
        Ok(crate::model::Document {
            meta: w.meta,
            value,
        })
    }

    pub fn delete(&mut self, ns: &str, key: &str, expected: Option<u64>) -> Result<()> {
        let Found::Live(id, row) = self.find(ns, key)? else {
            return Err(rules::delete_missing(expected, ns, key));
        };
        rules::check_version(expected, row.version)?;
        self.archive(id, &row)?;
        self.remove_row(ns, key, id, row.size_bytes, Some(row.version), "delete")?;
        if self.settings.history_limit == 0 {
            self.forget(id)?;
        }
        Ok(())
    }

    pub fn delete_namespace(&mut self, ns: &str) -> Result<u64> {
        let n = self.tx.execute(
            "DELETE FROM documents WHERE workspace = $1 AND namespace = $2",
            &[&self.ws, &ns],
        )?;
        if n == 0 {
            return Err(rules::namespace_not_found(ns));
        }
        self.tx.execute(
            "DELETE FROM history WHERE doc IN
               (SELECT id FROM doc_ids WHERE workspace = $1 AND namespace = $2)",
            &[&self.ws, &ns],
        )?;
        self.tx.execute(
            "DELETE FROM doc_ids WHERE workspace = $1 AND namespace = $2",
            &[&self.ws, &ns],
        )?;
        self.tx.execute(
            "DELETE FROM namespaces WHERE workspace = $1 AND namespace = $2",
            &[&self.ws, &ns],
        )?;
        self.log(ns, None, "delete_namespace", None)?;
        Ok(n)
    }

    /// Writes `value` as the next version of a document, within the workspace's quotas
    /// (checked before the first change), with its history and change-log entry.
    fn store_row(
        &mut self,
        ns: &str,
        key: &str,
        value: &Value,
        found: &Found,
        how: How<'_>,
    ) -> Result<Written> {
        let text = model::compact(value);
        let size = text.len() as u64;
        let existing = found.live();
        let stale = match found {
            Found::Expired(_, row) => Some(row.size_bytes),
            _ => None,
        };
        let check = rules::Write {
            ns,
            size,
            live: existing.map(|r| r.size_bytes),
            stale,
        };
        rules::check_quota(self.tier, &check, &mut Counters { w: self, ns })?;
        if let Found::Live(_, row) = found {
            model::next_version(row.version)?;
        }
        // Checked: the changes start here.
        if let Found::Expired(id, row) = found {
            self.remove_row(ns, key, *id, row.size_bytes, None, "expire")?;
            self.forget(*id)?;
        }
        let (id, version, created_at) = match found {
            Found::Live(id, row) => {
                self.archive(*id, row)?;
                (*id, row.version + 1, row.created_at)
            }
            _ => (
                self.claim_id(ns, key, how.first_version)?,
                how.first_version,
                self.now,
            ),
        };
        let (created_at, now_at, actor) =
            rules::stamp(how.restore, created_at, self.now, self.actor)?;
        let (v, sz) = (version as i64, size as i64);
        if existing.is_some() {
            self.tx.execute(
                "UPDATE documents SET value = $2, version = $3, size_bytes = $4, updated_at = $5,
                   updated_by = $6, expires_at = $7 WHERE id = $1",
                &[&id, &text, &v, &sz, &now_at, &actor, &how.expires_at],
            )?;
        } else {
            self.tx.execute(
                "INSERT INTO documents (id, workspace, namespace, key, value, version, size_bytes,
                   created_at, updated_at, updated_by, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &id,
                    &self.ws,
                    &ns,
                    &key,
                    &text,
                    &v,
                    &sz,
                    &created_at,
                    &now_at,
                    &actor,
                    &how.expires_at,
                ],
            )?;
        }
        let old = existing.map_or(0, |r| r.size_bytes) as i64;
        self.count(ns, i64::from(existing.is_none()), sz - old)?;
        self.log(ns, Some(key), how.op, Some(version))?;
        let row = Stored {
            value: String::new(),
            version,
            size_bytes: size,
            created_at,
            updated_at: now_at,
            updated_by: actor.to_string(),
            expires_at: how.expires_at,
        };
        Ok(Written {
            meta: row.meta(ns, key),
            created: existing.is_none(),
        })
    }

    /// Keeps `row` as a past version, within the history limit.
    fn archive(&mut self, id: i64, row: &Stored) -> Result<()> {
        let limit = self.settings.history_limit;
        if limit == 0 {
            return Ok(());
        }
        let version = row.version as i64;
        self.tx.execute(
            "INSERT INTO history (doc, version, value, size_bytes, created_at, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (doc, version) DO UPDATE SET value = EXCLUDED.value,
               size_bytes = EXCLUDED.size_bytes, created_at = EXCLUDED.created_at,
               updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by",
            &[
                &id,
                &version,
                &row.value,
                &(row.size_bytes as i64),
                &row.created_at,
                &row.updated_at,
                &row.updated_by,
            ],
        )?;
        if row.version.is_multiple_of(HISTORY_PRUNE_STEP) {
            self.tx.execute(
                "DELETE FROM history WHERE doc = $1 AND version <= $2",
                &[&id, &(version - limit as i64)],
            )?;
        }
        Ok(())
    }

    /// The id of a document (kept while it exists or has history), or a new one; a
    /// document created again at `first_version` loses the versions from there on.
    fn claim_id(&mut self, ns: &str, key: &str, first_version: u64) -> Result<i64> {
        let known = self.tx.query_opt(
            "SELECT id FROM doc_ids WHERE workspace = $1 AND namespace = $2 AND key = $3",
            &[&self.ws, &ns, &key],
        )?;
        if let Some(r) = known {
            let id: i64 = r.get(0);
            self.tx.execute(
                "DELETE FROM history WHERE doc = $1 AND version >= $2",
                &[&id, &(first_version as i64)],
            )?;
            return Ok(id);
        }
        let r = self.tx.query_one(
            "INSERT INTO doc_ids (workspace, namespace, key) VALUES ($1, $2, $3) RETURNING id",
            &[&self.ws, &ns, &key],
        )?;
        Ok(r.get(0))
    }

    /// Removes document id `id` with its history (its row is already gone).
    fn forget(&mut self, id: i64) -> Result<()> {
        self.tx
            .execute("DELETE FROM history WHERE doc = $1", &[&id])?;
        self.tx
            .execute("DELETE FROM doc_ids WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn remove_row(
        &mut self,
        ns: &str,
        key: &str,
        id: i64,
        size: u64,
        version: Option<u64>,
        op: &'static str,
    ) -> Result<()> {
        self.tx
            .execute("DELETE FROM documents WHERE id = $1", &[&id])?;
        self.count(ns, -1, -(size as i64))?;
        self.log(ns, Some(key), op, version)
    }

    /// Namespace `ns` gains `docs` documents and `bytes` bytes; a namespace left empty goes.
    fn count(&mut self, ns: &str, docs: i64, bytes: i64) -> Result<()> {
        let left: i64 = self
            .tx
            .query_one(
                "INSERT INTO namespaces (workspace, namespace, docs, bytes, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $5)
                 ON CONFLICT (workspace, namespace) DO UPDATE SET
                   docs = namespaces.docs + $3, bytes = namespaces.bytes + $4, updated_at = $5
                 RETURNING docs",
                &[&self.ws, &ns, &docs, &bytes, &self.now],
            )?
            .get(0);
        if left <= 0 {
            self.tx.execute(
                "DELETE FROM namespaces WHERE workspace = $1 AND namespace = $2",
                &[&self.ws, &ns],
            )?;
        }
        Ok(())
    }

    /// Appends to the workspace's change log with its next number.
    fn log(&mut self, ns: &str, key: Option<&str>, op: &str, version: Option<u64>) -> Result<()> {
        self.seq += 1;
        self.logged = true;
        self.tx.execute(
            "INSERT INTO changes (workspace, seq, namespace, key, op, version, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &self.ws,
                &self.seq,
                &ns,
                &key,
                &op,
                &version.map(|v| v as i64),
                &self.now,
            ],
        )?;
        Ok(())
    }

    /// Removes up to `RECLAIM_BATCH` expired documents of the workspace, with their
    /// history, counters and `expire` log entries.
    fn reclaim(&mut self) -> Result<()> {
        let rows = self.tx.query(
            "SELECT id, namespace, key, size_bytes FROM documents
             WHERE workspace = $1 AND expires_at <= $2 LIMIT $3",
            &[&self.ws, &self.now, &RECLAIM_BATCH],
        )?;
        for r in rows {
            let (id, ns, key, size): (i64, String, String, i64) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            self.remove_row(&ns, &key, id, size as u64, None, "expire")?;
            self.forget(id)?;
        }
        Ok(())
    }

    /// Stores the change-log number and trims the log, then commits.
    fn finish(self) -> Result<()> {
        let Tx {
            mut tx,
            seq,
            logged,
            ws,
            settings,
            ..
        } = self;
        if logged {
            tx.execute(
                "UPDATE workspaces SET change_seq = $2 WHERE slug = $1",
                &[&ws, &seq],
            )?;
            let limit = settings.changes_limit.max(1) as i64;
            if seq % CHANGES_TRIM_STEP.min(limit) == 0 {
                tx.execute(
                    "DELETE FROM changes WHERE workspace = $1 AND seq <= $2",
                    &[&ws, &(seq - limit)],
                )?;
            }
        }
        tx.commit().map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("the write could not be committed: {e}"),
            )
        })
    }
}

/// The workspace's counters as the open transaction sees them.
struct Counters<'w, 'a> {
    w: &'w mut Tx<'a>,
    ns: &'w str,
}

impl Counts for Counters<'_, '_> {
    fn namespace_docs(&mut self) -> Result<Option<u64>> {
        let r = self.w.tx.query_opt(
            "SELECT docs FROM namespaces WHERE workspace = $1 AND namespace = $2",
            &[&self.w.ws, &self.ns],
        )?;
        Ok(r.map(|r| r.get::<_, i64>(0).max(0) as u64))
    }

    fn namespace_count(&mut self) -> Result<u64> {
        let r = self.w.tx.query_one(
            "SELECT count(*) FROM namespaces WHERE workspace = $1",
            &[&self.w.ws],
        )?;
        Ok(r.get::<_, i64>(0) as u64)
    }

    fn used_bytes(&mut self) -> Result<u64> {
        let r = self.w.tx.query_one(
            "SELECT coalesce(sum(bytes), 0)::bigint FROM namespaces WHERE workspace = $1",
            &[&self.w.ws],
        )?;
        Ok(r.get::<_, i64>(0).max(0) as u64)
    }
}
