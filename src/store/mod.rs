//! The storage contract every front end speaks: the operations, their options and results,
//! and `Store`, the closed set of backends that implement it. Rules shared by all backends
//! (cursors, tiers and quotas) live in the submodules here, once.

pub mod backup;
pub mod cursor;
mod deferred;
pub mod feed;
pub mod keys;
pub mod postgres;
mod readers;
pub mod remote;
mod rules;
pub mod sqlite;
mod sqlite_query;
pub mod tier;
pub mod writer;

use crate::error::Result;
use crate::model::{Document, Key, Meta, Namespace, Workspace};
use crate::query::{Path, Query};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use feed::{FeedItem, FeedState};
pub use postgres::{PostgresOptions, PostgresStore};
pub use remote::{RemoteOptions, RemoteStore};
pub use sqlite::SqliteStore;
pub use tier::Tier;

/// Who is acting, and in which workspace: every operation runs in one scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub workspace: Workspace,
    /// Recorded as `updated_by` on writes.
    pub actor: String,
}

impl Scope {
    pub fn new(workspace: Workspace, actor: impl Into<String>) -> Scope {
        Scope {
            workspace,
            actor: actor.into(),
        }
    }
}

/// Options of a put (create or replace).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PutOptions {
    /// Compare-and-swap: write only if the document is at this version.
    pub expected_version: Option<u64>,
    /// Write only if the document does not exist.
    pub create_only: bool,
    /// Seconds until the document expires; `None` or 0: never.
    pub ttl: Option<u64>,
    /// The version a document gets when this write creates it (default 1): lets an import
    /// keep the versions of the store it came from. Ignored when the document exists.
    pub initial_version: Option<u64>,
    /// The authorship and times to give the document instead of this write's own (an
    /// import restoring an export). Stores that keep documents themselves honour it; the
    /// remote backend cannot send it.
    pub restore: Option<Restore>,
}

/// The metadata an import restores: times in milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Restore {
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: String,
    pub expires_at: Option<i64>,
}

/// The result of a write: the new metadata and whether the document was created.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub meta: Meta,
    pub created: bool,
}

/// Options of a key listing.
#[derive(Debug, Clone, PartialEq)]
pub struct ListOptions {
    pub limit: usize,
    pub cursor: Option<String>,
    pub prefix: Option<String>,
    /// Include each key's metadata in `items`.
    pub detail: bool,
    /// Also include these top-level members of each value in `items[].fields` (implies
    /// `detail`): one request shows a page of triage markers.
    pub fields: Vec<String>,
    /// Only the documents this query matches (the wire's `where`). A page of a query
    /// examines at most `SCAN_BUDGET` documents: it may hold fewer than `limit` keys, even
    /// none, while `has_more` is true, so no request scans a large namespace at once.
    pub query: Option<Query>,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            limit: DEFAULT_LIMIT,
            cursor: None,
            prefix: None,
            detail: false,
            fields: Vec::new(),
            query: None,
        }
    }
}

impl ListOptions {
    /// The keys a page may hold, checked: after the cursor's key, from the prefix, and
    /// below the prefix followed by `~` (key characters sort below `~`, so that range
    /// holds exactly the keys that start with the prefix). Also checks the limit.
    pub(crate) fn key_range(&self) -> Result<(String, String, String)> {
        check_limit(self.limit)?;
        let after = self
            .cursor
            .as_deref()
            .map(cursor::decode)
            .transpose()?
            .unwrap_or_default();
        let prefix = self.prefix.clone().unwrap_or_default();
        crate::model::validate_prefix(&prefix)?;
        let upper = format!("{prefix}~");
        Ok((after, prefix, upper))
    }
}

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;
/// The most documents one page of a query examines.
pub const SCAN_BUDGET: usize = 20_000;
/// The most distinct values a facet count lists.
pub const MAX_FACET_VALUES: usize = 1000;

/// A list limit must be 1..=MAX_LIMIT.
pub fn check_limit(limit: usize) -> Result<()> {
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(())
    } else {
        Err(crate::error::Error::invalid(format!(
            "limit must be between 1 and {}",
            MAX_LIMIT
        )))
    }
}

/// One page of keys, in ascending byte order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPage {
    pub keys: Vec<String>,
    pub cursor: Option<String>,
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Meta>>,
    /// With a query: how many documents this page examined (matching or not), for
    /// progress over a long scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanned: Option<u64>,
}

/// How the documents of a namespace (matching a query) spread over a member's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facets {
    /// The member path, as asked.
    pub field: String,
    /// Each value and how many documents hold it, most frequent first (at most
    /// `MAX_FACET_VALUES`).
    pub values: Vec<FacetValue>,
    /// Documents without the member.
    pub missing: u64,
    /// Documents counted (all that match the query).
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FacetValue {
    pub value: Value,
    pub count: u64,
}

/// Statistics of one namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamespaceStats {
    pub namespace: String,
    pub documents: u64,
    pub bytes: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl NamespaceStats {
    /// The members as serialised (what `console list --fields` can pick).
    pub const FIELDS: [&str; 5] = [
        "namespace",
        "documents",
        "bytes",
        "created_at",
        "updated_at",
    ];
}

/// One entry of the store's change log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub seq: u64,
    /// `put`, `patch`, `incr`, `delete`, `expire` or `delete_namespace`.
    pub op: String,
    pub namespace: String,
    pub key: Option<String>,
    pub version: Option<u64>,
    #[serde(default)]
    pub at: String,
}

/// A slice of the change log after a sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeBatch {
    pub changes: Vec<Change>,
    /// The oldest sequence number still retained; a reader behind it has missed changes.
    pub oldest_seq: u64,
    /// The newest sequence number written so far (0 when none).
    pub last_seq: u64,
}

/// A workspace and its quota tier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkspaceInfo {
    pub slug: String,
    pub name: String,
    pub tier: Tier,
    pub created_at: String,
}

/// Bytes used by a workspace and its bound, for the `X-Storage-*` headers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub used_bytes: u64,
    pub limit_bytes: Option<u64>,
}

/// The error of an administration operation on a backend that cannot do it (the remote
/// backend: workspaces and keys are managed where the server's store is).
pub(crate) fn not_here(what: &str) -> crate::error::Error {
    crate::error::Error::invalid(format!(
        "{what} are managed on the server's own store: run this where the server runs, \
         with --store pointing at its database"
    ))
}

/// The storage backends.
pub enum Backend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
    Remote(RemoteStore),
}

/// A backend behind the contract, plus the read-only switch: the one place where a
/// read-only profile or `--read-only` refuses writes, for every front end.
pub struct Store {
    pub backend: Backend,
    pub read_only: bool,
}

/// Each method delegates to the backend with one `match`; writes first pass `writable`.
macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match &$self.backend {
            Backend::Sqlite($s) => $call,
            Backend::Postgres($s) => $call,
            Backend::Remote($s) => $call,
        }
    };
    (write $self:ident, $s:ident => $call:expr) => {{
        $self.writable()?;
        delegate!($self, $s => $call)
    }};
}

impl Store {
    pub fn new(backend: Backend) -> Store {
        Store {
            backend,
            read_only: false,
        }
    }

    /// `FORBIDDEN` when this store is read-only.
    pub fn writable(&self) -> Result<()> {
        if self.read_only {
            Err(crate::error::Error::new(
                crate::error::ErrorKind::Forbidden,
                "read-only: this session refuses writes (drop --read-only or use another profile)",
            ))
        } else {
            Ok(())
        }
    }

    /// Reads a document.
    pub fn get(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<Document> {
        delegate!(self, s => s.get(scope, ns, key))
    }

    /// Creates or replaces a document.
    pub fn put(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        value: Value,
        opts: &PutOptions,
    ) -> Result<Written> {
        delegate!(write self, s => s.put(scope, ns, key, value, opts))
    }

    /// Merges `partial` into the stored object (top level; `null` removes a member).
    pub fn patch(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        partial: Map<String, Value>,
        expected_version: Option<u64>,
    ) -> Result<Meta> {
        delegate!(write self, s => s.patch(scope, ns, key, partial, expected_version))
    }

    /// Deletes a document.
    pub fn delete(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        expected_version: Option<u64>,
    ) -> Result<()> {
        delegate!(write self, s => s.delete(scope, ns, key, expected_version))
    }

    /// Deletes every document of a namespace; returns how many.
    pub fn delete_namespace(&self, scope: &Scope, ns: &Namespace) -> Result<u64> {
        delegate!(write self, s => s.delete_namespace(scope, ns))
    }

    /// The namespaces that hold documents, sorted.
    pub fn namespaces(&self, scope: &Scope) -> Result<Vec<String>> {
        delegate!(self, s => s.namespaces(scope))
    }

    /// One page of a namespace's keys.
    pub fn list(&self, scope: &Scope, ns: &Namespace, opts: &ListOptions) -> Result<KeyPage> {
        delegate!(self, s => s.list(scope, ns, opts))
    }

    /// How the documents of a namespace that match `query` spread over the values of the
    /// member at `field`.
    pub fn facets(
        &self,
        scope: &Scope,
        ns: &Namespace,
        field: &Path,
        query: Option<&Query>,
    ) -> Result<Facets> {
        delegate!(self, s => s.facets(scope, ns, field, query))
    }

    /// Statistics of one namespace, or of all when `ns` is `None`.
    pub fn stats(&self, scope: &Scope, ns: Option<&Namespace>) -> Result<Vec<NamespaceStats>> {
        delegate!(self, s => s.stats(scope, ns))
    }

    /// Adds `by` to a numeric member, creating the document or member when missing.
    pub fn incr(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        field: &str,
        by: &serde_json::Number,
    ) -> Result<Document> {
        delegate!(write self, s => s.incr(scope, ns, key, field, by))
    }

    /// The retained versions of a document, newest first.
    pub fn history(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<Vec<Meta>> {
        delegate!(self, s => s.history(scope, ns, key))
    }

    /// One retained version of a document.
    pub fn history_version(
        &self,
        scope: &Scope,
        ns: &Namespace,
        key: &Key,
        version: u64,
    ) -> Result<Document> {
        delegate!(self, s => s.history_version(scope, ns, key, version))
    }

    /// Changes after `after_seq`, optionally of one namespace, at most `limit`.
    pub fn changes(
        &self,
        scope: &Scope,
        after_seq: u64,
        ns: Option<&Namespace>,
        limit: usize,
    ) -> Result<ChangeBatch> {
        delegate!(self, s => s.changes(scope, after_seq, ns, limit))
    }

    /// Where the data is, for humans: a file path or a URL.
    pub fn location(&self) -> String {
        delegate!(self, s => s.location())
    }

    // ---- what the server needs beyond the wire contract ----

    /// A document's metadata and its value as stored compact JSON text, unparsed: the
    /// server answers reads with it as it is.
    pub fn get_raw(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<(Meta, String)> {
        delegate!(self, s => s.get_raw(scope, ns, key))
    }

    /// The current version of a document (`None`: it does not exist). Inside
    /// `write_batch` it sees the writes of the batch made before it.
    pub fn current_version(&self, scope: &Scope, ns: &Namespace, key: &Key) -> Result<Option<u64>> {
        delegate!(self, s => s.current_version(scope, ns, key))
    }

    /// Runs `f`, whose writes on this thread form one batch; returns its result and
    /// whether the batch is durable. SQLite commits the whole batch at once (group
    /// commit, `writer.rs`); a backend without it commits each write on its own, and the
    /// second result is then always `Ok`.
    pub fn write_batch<T>(&self, f: impl FnOnce() -> T) -> Result<(T, Result<()>)> {
        match &self.backend {
            Backend::Sqlite(s) => s.batch(f),
            _ => Ok((f(), Ok(()))),
        }
    }

    /// Whether concurrent writes should be queued for `write_batch` (one writer that
    /// commits many at once) rather than run side by side, each in its own transaction.
    pub fn groups_writes(&self) -> bool {
        matches!(self.backend, Backend::Sqlite(_))
    }

    /// Bytes used by a workspace and its bound. Inside `write_batch`, as the batch
    /// sees them.
    pub fn usage(&self, ws: &Workspace) -> Result<Usage> {
        delegate!(self, s => s.usage(ws))
    }

    /// `usage`, as the open `write_batch` on this thread sees it (SQLite: through the
    /// write connection, with what the batch has pending).
    pub fn usage_in_batch(&self, ws: &Workspace) -> Result<Usage> {
        match &self.backend {
            Backend::Sqlite(s) => s.usage_in_write(ws),
            _ => self.usage(ws),
        }
    }

    /// Starts what a long-running server needs beside requests: SQLite's background
    /// checkpoints and shared read snapshots, PostgreSQL's expiry sweep.
    pub fn tune_for_server(&self, read_snapshot_window: std::time::Duration) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(s) => {
                s.checkpoint_in_background()?;
                s.share_read_snapshots(read_snapshot_window);
                Ok(())
            }
            Backend::Postgres(p) => {
                p.sweep_in_background();
                Ok(())
            }
            Backend::Remote(_) => Ok(()),
        }
    }

    /// Every workspace with its tier, by slug.
    pub fn workspaces(&self) -> Result<Vec<WorkspaceInfo>> {
        delegate!(self, s => s.workspaces())
    }

    /// Creates a workspace (or changes its name and tier when it exists).
    pub fn upsert_workspace(
        &self,
        ws: &Workspace,
        name: Option<&str>,
        tier: Option<Tier>,
    ) -> Result<WorkspaceInfo> {
        delegate!(write self, s => s.upsert_workspace(ws, name, tier))
    }

    /// Creates an API key for `ws` (and the workspace when missing); the secret is in the
    /// returned token only.
    pub fn create_key(
        &self,
        ws: &Workspace,
        name: Option<&str>,
        actor: Option<&str>,
        read_only: bool,
    ) -> Result<keys::NewKey> {
        delegate!(write self, s => s.create_key(ws, name, actor, read_only))
    }

    /// Every API key (never a secret), oldest first.
    pub fn list_keys(&self) -> Result<Vec<keys::KeyInfo>> {
        delegate!(self, s => s.list_keys())
    }

    /// Revokes a key by id (or by its token): every server using this store refuses it
    /// from now on. Revoking twice keeps the first time.
    pub fn revoke_key(&self, id: &str) -> Result<keys::KeyInfo> {
        delegate!(write self, s => s.revoke_key(id))
    }

    /// The key a bearer token names, when valid and not revoked. Backends remember keys
    /// they verified until a revocation reaches them (see `keys.rs`).
    pub fn authenticate(&self, token: &str) -> Result<std::sync::Arc<keys::KeyInfo>> {
        delegate!(self, s => s.authenticate(token))
    }
}
