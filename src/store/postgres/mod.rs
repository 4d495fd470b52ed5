//! The PostgreSQL backend: the whole contract on one database that any number of
//! `console serve` replicas (and CLIs, TUIs) share. Connections come from a pool
//! (`r2d2`), over TLS when the server offers it (`sslmode` in the URL). Every write is one
//! transaction that first locks its workspace's row: writes of one workspace take turns,
//! so compare-and-swap, quotas and the change log's order hold across replicas (see
//! `write.rs`). Reads filter expired documents; expired rows are reclaimed by the writes
//! of their workspace and by a sweep any replica may run (`sweep.rs`). Bound parameters
//! only.

mod admin;
mod scan;
mod schema;
mod sweep;
mod write;

use super::rules::{self, Stored};
use super::{
    Change, ChangeBatch, KeyPage, ListOptions, NamespaceStats, PutOptions, Scope, Tier, Written,
    cursor,
};
use crate::error::{Error, Result};
use crate::model::{self, Document, Key, Meta, Namespace};
use postgres::types::ToSql;
use r2d2_postgres::PostgresConnectionManager;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

type Manager = PostgresConnectionManager<tokio_postgres_rustls::MakeRustlsConnect>;
type Pool = r2d2::Pool<Manager>;
type Conn = r2d2::PooledConnection<Manager>;

/// Settings of a PostgreSQL store (the same knobs as the embedded store's).
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Versions kept per document besides the current one.
    pub history_limit: u64,
    /// Entries kept in each workspace's change log.
    pub changes_limit: u64,
    /// Tier given to a workspace on its first write.
    pub default_tier: Tier,
    /// Connections kept in the pool at most.
    pub pool_size: u32,
}

impl From<super::sqlite::SqliteOptions> for PostgresOptions {
    fn from(o: super::sqlite::SqliteOptions) -> Self {
        PostgresOptions {
            history_limit: o.history_limit,
            changes_limit: o.changes_limit,
            default_tier: o.default_tier,
            pool_size: 16,
        }
    }
}

impl Default for PostgresOptions {
    fn default() -> Self {
        super::sqlite::SqliteOptions::default().into()
    }
}

pub struct PostgresStore {
    pool: Pool,
    options: PostgresOptions,
    /// The URL without its password, for humans.
    shown: String,
    keys: admin::KeyCache,
    sweeper: std::sync::Mutex<Option<sweep::Sweeper>>,
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Error {
        match e.as_db_error() {
            Some(db) => Error::internal(format!("PostgreSQL: {}", db.message())),
            None => Error::internal(format!("PostgreSQL: {e}")),
        }
    }
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Error {
        Error::internal(format!("no PostgreSQL connection: {e}"))
    }
}

/// The TLS connector: rustls with the webpki roots. With `sslmode=prefer` (the default)
/// a server without TLS is reached in the clear; `sslmode=require` refuses that.
fn tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

/// `url` with its password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((auth, host)) => (Some(auth), host),
        None => (None, rest),
    };
    match auth.and_then(|a| a.split_once(':')) {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

impl PostgresStore {
    /// Connects to the database at `url` and brings its schema up to date (once, however
    /// many replicas start together).
    pub fn open(url: &str, options: PostgresOptions) -> Result<PostgresStore> {
        let config: postgres::Config = url.parse().map_err(|e| {
            Error::invalid(format!(
                "cannot read the PostgreSQL URL {}: {e}",
                redact(url)
            ))
        })?;
        let manager = PostgresConnectionManager::new(config, tls());
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| {
                Error::internal(format!(
                    "cannot connect to PostgreSQL at {}: {e}",
                    redact(url)
                ))
            })?;
        schema::migrate(&mut *pool.get()?)?;
        Ok(PostgresStore {
            pool,
            options,
            shown: redact(url),
            keys: admin::KeyCache::default(),
            sweeper: Default::default(),
        })
    }

    /// Starts the expiry sweep of this replica (see `sweep.rs`), once.
    pub fn sweep_in_background(&self) {
        let mut slot = self.sweeper.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(sweep::Sweeper::start(
                self.pool.clone(),
                self.write_settings(),
            ));
        }
    }

    fn conn(&self) -> Result<Conn> {
        Ok(self.pool.get()?)
    }

    fn write_settings(&self) -> write::Settings {
        write::Settings {
            history_limit: self.options.history_limit,
            changes_limit: self.options.changes_limit,
            default_tier: self.options.default_tier,
        }
    }

    /// A document's stored row (expired or not).
    fn load(
        c: &mut impl postgres::GenericClient,
        ws: &str,
        ns: &str,
        key: &str,
    ) -> Result<Option<(i64, Stored)>> {
        let row = c.query_opt(
            "SELECT id, value, version, size_bytes, created_at, updated_at, updated_by, expires_at
             FROM documents WHERE workspace = $1 AND namespace = $2 AND key = $3",
            &[&ws, &ns, &key],
        )?;
        Ok(row.map(|r| (r.get(0), stored(&r, 1))))
    }

    fn live(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<Option<Stored>> {
        let now = model::now_ms();
        let found = Self::load(
            &mut *self.conn()?,
            scope.workspace.as_str(),
            ns.as_str(),
            key.as_str(),
        )?;
        Ok(found.map(|(_, r)| r).filter(|r| !r.expired(now)))
    }

    // ---- the contract ----

    pub fn get(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<Document> {
        self.live(scope, ns, key)?
            .ok_or_else(|| rules::not_found(ns.as_str(), key.as_str()))?
            .document(ns.as_str(), key.as_str())
    }

    pub fn get_raw(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<(Meta, String)> {
        let row = self
            .live(scope, ns, key)?
            .ok_or_else(|| rules::not_found(ns.as_str(), key.as_str()))?;
        Ok((row.meta(ns.as_str(), key.as_str()), row.value))
    }

    pub fn current_version(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<Option<u64>> {
        Ok(self.live(scope, ns, key)?.map(|r| r.version))
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
        self.write(scope, |w| w.put(ns.as_str(), key.as_str(), &value, opts))
    }

    pub fn patch(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        partial: Map<String, Value>,
        expected_version: Option<u64>,
    ) -> Result<Meta> {
        self.write(scope, |w| {
            w.patch(ns.as_str(), key.as_str(), partial.clone(), expected_version)
        })
    }

    pub fn delete(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        expected_version: Option<u64>,
    ) -> Result<()> {
        self.write(scope, |w| {
            w.delete(ns.as_str(), key.as_str(), expected_version)
        })
    }

    pub fn delete_namespace(&self, scope: &Scope, ns: &Namespace) -> Result<u64> {
        self.write(scope, |w| w.delete_namespace(ns.as_str()))
    }

    pub fn incr(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        field: &str,
        by: &serde_json::Number,
    ) -> Result<Document> {
        self.write(scope, |w| w.incr(ns.as_str(), key.as_str(), field, by))
    }

    /// Runs `f` as one write transaction of `scope`'s workspace (see `write.rs`).
    fn write<T>(&self, scope: &Scope, f: impl FnMut(&mut write::Tx<'_>) -> Result<T>) -> Result<T> {
        write::run(
            &mut *self.conn()?,
            &self.write_settings(),
            scope.workspace.as_str(),
            &scope.actor,
            f,
        )
    }

    /// Before reads of the namespace counters: reclaim what has expired in the workspace.
    fn reclaim_if_due(&self, scope: &Scope) -> Result<()> {
        let ws = scope.workspace.as_str();
        let due = self
            .conn()?
            .query_opt(
                "SELECT 1 FROM documents WHERE workspace = $1 AND expires_at <= $2 LIMIT 1",
                &[&ws, &model::now_ms()],
            )?
            .is_some();
        if due {
            self.write(scope, |_| Ok(()))?;
        }
        Ok(())
    }

    pub fn namespaces(&self, scope: &Scope) -> Result<Vec<String>> {
        self.reclaim_if_due(scope)?;
        let rows = self.conn()?.query(
            "SELECT namespace FROM namespaces WHERE workspace = $1 ORDER BY namespace COLLATE \"C\"",
            &[&scope.workspace.as_str()],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub fn list(&self, scope: &Scope, ns: &Namespace, opts: &ListOptions) -> Result<KeyPage> {
        let (after, prefix, upper) = opts.key_range()?;
        if let Some(q) = opts.query.as_ref().filter(|q| !q.is_empty()) {
            return self.list_matching(scope, ns, opts, q, (&after, &prefix, &upper));
        }
        let detail = opts.detail || !opts.fields.is_empty();
        let rows = self.conn()?.query(
            "SELECT key, CASE WHEN $8 THEN value ELSE '' END, version, size_bytes, created_at,
                    updated_at, updated_by, expires_at
             FROM documents
             WHERE workspace = $1 AND namespace = $2 AND key COLLATE \"C\" > $3
               AND key COLLATE \"C\" >= $4 AND key COLLATE \"C\" < $5
               AND (expires_at IS NULL OR expires_at > $6)
             ORDER BY key COLLATE \"C\" LIMIT $7",
            &[
                &scope.workspace.as_str(),
                &ns.as_str(),
                &after,
                &prefix,
                &upper,
                &model::now_ms(),
                &(opts.limit as i64 + 1),
                &!opts.fields.is_empty(),
            ],
        )?;
        let has_more = rows.len() > opts.limit;
        let mut keys = Vec::new();
        let mut items = Vec::new();
        for r in rows.iter().take(opts.limit) {
            let key: String = r.get(0);
            if detail {
                let row = stored(r, 1);
                let mut meta = row.meta(ns.as_str(), &key);
                if !opts.fields.is_empty() {
                    meta.fields = Some(model::pick_fields(&row.value, &opts.fields));
                }
                items.push(meta);
            }
            keys.push(key);
        }
        let cursor = if has_more {
            keys.last().map(|k| cursor::encode(k))
        } else {
            None
        };
        Ok(KeyPage {
            keys,
            cursor,
            has_more,
            items: detail.then_some(items),
            scanned: None,
        })
    }

    pub fn stats(&self, scope: &Scope, ns: Option<&Namespace>) -> Result<Vec<NamespaceStats>> {
        self.reclaim_if_due(scope)?;
        let ns_name = ns.map(Namespace::as_str);
        let rows = self.conn()?.query(
            "SELECT namespace, docs, bytes, created_at, updated_at FROM namespaces
             WHERE workspace = $1 AND ($2::text IS NULL OR namespace = $2)
             ORDER BY namespace COLLATE \"C\"",
            &[&scope.workspace.as_str(), &ns_name],
        )?;
        let stats: Vec<NamespaceStats> = rows
            .iter()
            .map(|r| NamespaceStats {
                namespace: r.get(0),
                documents: r.get::<_, i64>(1) as u64,
                bytes: r.get::<_, i64>(2) as u64,
                created_at: model::format_ms(r.get(3)),
                updated_at: model::format_ms(r.get(4)),
            })
            .collect();
        if let (Some(ns), true) = (ns, stats.is_empty()) {
            return Err(rules::namespace_not_found(ns.as_str()));
        }
        Ok(stats)
    }

    pub fn history(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<Vec<Meta>> {
        let (ws, n, k) = (scope.workspace.as_str(), ns.as_str(), key.as_str());
        let now = model::now_ms();
        let mut c = self.conn()?;
        let mut out = Vec::new();
        if let Some((_, row)) = Self::load(&mut *c, ws, n, k)?.filter(|(_, r)| !r.expired(now)) {
            out.push(row.meta(n, k));
        }
        let kept = self.options.history_limit as i64;
        let rows = c.query(
            "SELECT h.value, h.version, h.size_bytes, h.created_at, h.updated_at, h.updated_by,
                    NULL::bigint
             FROM history h JOIN doc_ids d ON d.id = h.doc
             WHERE d.workspace = $1 AND d.namespace = $2 AND d.key = $3
             ORDER BY h.version DESC LIMIT $4",
            &[&ws, &n, &k, &kept],
        )?;
        out.extend(rows.iter().map(|r| stored(r, 0).meta(n, k)));
        if out.is_empty() {
            return Err(Error::not_found(format!("{n}/{k} has no history")));
        }
        Ok(out)
    }

    pub fn history_version(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        version: u64,
    ) -> Result<Document> {
        let (ws, n, k) = (scope.workspace.as_str(), ns.as_str(), key.as_str());
        let now = model::now_ms();
        let mut c = self.conn()?;
        if let Some((_, row)) =
            Self::load(&mut *c, ws, n, k)?.filter(|(_, r)| !r.expired(now) && r.version == version)
        {
            return row.document(n, k);
        }
        let kept = self.options.history_limit as i64;
        // Only the newest `history_limit` archived versions count as retained.
        let row = c.query_opt(
            "SELECT h.value, h.version, h.size_bytes, h.created_at, h.updated_at, h.updated_by,
                    NULL::bigint
             FROM history h JOIN doc_ids d ON d.id = h.doc
             WHERE d.workspace = $1 AND d.namespace = $2 AND d.key = $3 AND h.version = $4
               AND h.version > (SELECT max(version) FROM history WHERE doc = d.id) - $5",
            &[&ws, &n, &k, &(version.min(i64::MAX as u64) as i64), &kept],
        )?;
        match row {
            Some(r) => stored(&r, 0).document(n, k),
            None => Err(Error::not_found(format!(
                "version {version} of {n}/{k} is not retained"
            ))),
        }
    }

    /// The change log of the workspace. Its numbers are given under the workspace's row
    /// lock and committed in that order (`write.rs`), so every change numbered at or
    /// below the newest one seen is already visible: a reader that resumes after a
    /// number misses nothing.
    pub fn changes(
        &self,
        scope: &Scope,
        after_seq: u64,
        ns: Option<&Namespace>,
        limit: usize,
    ) -> Result<ChangeBatch> {
        let ws = scope.workspace.as_str();
        let ns_name = ns.map(Namespace::as_str);
        let mut c = self.conn()?;
        let mut tx = c
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let bounds = tx.query_one(
            "SELECT coalesce((SELECT min(seq) FROM changes WHERE workspace = $1), 0),
                    coalesce((SELECT change_seq FROM workspaces WHERE slug = $1), 0)",
            &[&ws],
        )?;
        let after = after_seq.min(i64::MAX as u64) as i64;
        let params: [&(dyn ToSql + Sync); 4] = [&ws, &after, &ns_name, &(limit as i64)];
        let rows = tx.query(
            "SELECT seq, op, namespace, key, version, at FROM changes
             WHERE workspace = $1 AND seq > $2 AND ($3::text IS NULL OR namespace = $3)
             ORDER BY seq LIMIT $4",
            &params,
        )?;
        tx.commit()?;
        Ok(ChangeBatch {
            changes: rows
                .iter()
                .map(|r| Change {
                    seq: r.get::<_, i64>(0) as u64,
                    op: r.get(1),
                    namespace: r.get(2),
                    key: r.get(3),
                    version: r.get::<_, Option<i64>>(4).map(|v| v as u64),
                    at: model::format_ms(r.get(5)),
                })
                .collect(),
            oldest_seq: bounds.get::<_, i64>(0) as u64,
            last_seq: bounds.get::<_, i64>(1) as u64,
        })
    }

    pub fn location(&self) -> String {
        self.shown.clone()
    }
}

/// The `Stored` in columns `at..at + 7` of `r` (value, version, size_bytes, created_at,
/// updated_at, updated_by, expires_at).
fn stored(r: &postgres::Row, at: usize) -> Stored {
    Stored {
        value: r.get(at),
        version: r.get::<_, i64>(at + 1) as u64,
        size_bytes: r.get::<_, i64>(at + 2) as u64,
        created_at: r.get(at + 3),
        updated_at: r.get(at + 4),
        updated_by: r.get(at + 5),
        expires_at: r.get(at + 6),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_show() {
        assert_eq!(
            super::redact("postgres://me:secret@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
        assert_eq!(super::redact("postgres://me@db/x"), "postgres://me@db/x");
    }
}
