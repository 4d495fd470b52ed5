//! API keys, for `console serve`: create (the secret is shown once), list, revoke, and
//! authenticate a bearer token. A token is `csk_<id>_<secret>`; only the SHA-256 of the
//! secret is stored, and it is compared in constant time. The rules (token format,
//! hashing, validation, verification) are here once for every backend; the embedded
//! store's SQL and its verified-key cache are here too.

use super::sqlite::SqliteStore;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{self, Workspace};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

const PREFIX: &str = "csk_";
const ID_BYTES: usize = 6;
const SECRET_BYTES: usize = 32;

/// A stored key, without its secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyInfo {
    pub id: String,
    pub workspace: String,
    pub name: String,
    /// Recorded as `updated_by` on writes made with this key.
    pub actor: Option<String>,
    pub read_only: bool,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// A key just created: its record and the full token, which is never stored.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub info: KeyInfo,
    pub token: String,
}

fn random_hex(n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::internal(format!("no randomness available: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

pub(crate) fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// An actor label is printable ASCII without spaces, 1-200 characters.
fn check_actor(actor: &str) -> Result<()> {
    if !actor.is_empty() && actor.len() <= 200 && actor.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "invalid actor label {}: use printable characters without spaces, e.g. org/agent@v1",
            model::shown(actor)
        )))
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.len() <= 200 && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(Error::invalid(
            "a key name has at most 200 characters and no control characters",
        ))
    }
}

/// A key about to be stored: its checked record (without a creation time yet), the
/// SHA-256 of its secret, and the token to show once.
pub(crate) struct Draft {
    pub id: String,
    pub name: String,
    pub digest: [u8; 32],
    pub token: String,
}

/// Checks a new key's name and actor and makes its id and secret.
pub(crate) fn draft(name: Option<&str>, actor: Option<&str>) -> Result<Draft> {
    if let Some(a) = actor {
        check_actor(a)?;
    }
    if let Some(n) = name {
        check_name(n)?;
    }
    let id = random_hex(ID_BYTES)?;
    let secret = random_hex(SECRET_BYTES)?;
    Ok(Draft {
        name: name.map_or_else(|| format!("key-{id}"), str::to_string),
        digest: hash(&secret),
        token: format!("{PREFIX}{id}_{secret}"),
        id,
    })
}

impl Draft {
    /// The key as created at `created_ms`.
    pub(crate) fn into_key(
        self,
        ws: &Workspace,
        actor: Option<&str>,
        read_only: bool,
        created_ms: i64,
    ) -> NewKey {
        NewKey {
            token: self.token,
            info: KeyInfo {
                id: self.id,
                workspace: ws.as_str().to_string(),
                name: self.name,
                actor: actor.map(str::to_string),
                read_only,
                created_at: model::format_ms(created_ms),
                revoked_at: None,
            },
        }
    }
}

/// The key id a revocation names: the id itself, or a whole token.
pub(crate) fn id_of(id_or_token: &str) -> &str {
    let id = id_or_token.strip_prefix(PREFIX).unwrap_or(id_or_token);
    id.split('_').next().unwrap_or(id)
}

/// Creates a key for `ws` (creating the workspace when missing).
pub fn create(
    store: &SqliteStore,
    ws: &Workspace,
    name: Option<&str>,
    actor: Option<&str>,
    read_only: bool,
) -> Result<NewKey> {
    let draft = draft(name, actor)?;
    store.upsert_workspace(ws, None, None)?;
    let created = store.write_admin(|c, now| {
        c.execute(
            "INSERT INTO api_keys (id, workspace, name, actor, read_only, hash, created_at, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)",
            params![draft.id, ws.as_str(), draft.name, actor, read_only, draft.digest, now],
        )?;
        Ok(now)
    })?;
    Ok(draft.into_key(ws, actor, read_only, created))
}

/// A stored key and the SHA-256 of its secret.
pub(crate) type KeyRow = (KeyInfo, Vec<u8>);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok((
        KeyInfo {
            id: r.get(0)?,
            workspace: r.get(1)?,
            name: r.get(2)?,
            actor: r.get(3)?,
            read_only: r.get(4)?,
            created_at: model::format_ms(r.get(5)?),
            revoked_at: r.get::<_, Option<i64>>(6)?.map(model::format_ms),
        },
        r.get(7)?,
    ))
}

const COLUMNS: &str = "id, workspace, name, actor, read_only, created_at, revoked_at, hash";

/// Every key, oldest first.
pub fn list(store: &SqliteStore) -> Result<Vec<KeyInfo>> {
    store.read_admin(|c| {
        let mut stmt = c.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM api_keys ORDER BY created_at, id"
        ))?;
        let rows = stmt
            .query_map([], row)?
            .map(|r| r.map(|(info, _)| info))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })
}

/// Revokes a key: it authenticates no more. Revoking twice keeps the first time.
pub fn revoke(store: &SqliteStore, id: &str) -> Result<KeyInfo> {
    let id = id_of(id);
    store.write_admin(|c, now| {
        let n = c.execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
            params![id, now],
        )?;
        if n == 0 {
            return Err(Error::not_found(format!("no API key {}", model::shown(id))));
        }
        Ok(())
    })?;
    REVOCATIONS.fetch_add(1, Ordering::Release);
    touch_marker(store)?;
    find(store, id)?.ok_or_else(|| Error::internal("the key vanished after its revocation"))
}

/// The file whose growth tells running servers that keys were revoked: every revocation
/// appends a line to it, and a server checks its size (one `fstat` of a file it holds
/// open) before trusting the keys it has already verified.
fn marker_path(store: &SqliteStore) -> PathBuf {
    let mut name = store.path().as_os_str().to_owned();
    name.push(".keys-changed");
    PathBuf::from(name)
}

fn touch_marker(store: &SqliteStore) -> Result<()> {
    use std::io::Write;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(marker_path(store))
        .and_then(|mut f| writeln!(f, "{nanos}"))
        .map_err(|e| {
            Error::internal(format!(
                "the key is revoked, but running servers could not be told ({e}): restart them"
            ))
        })
}

/// Revocations made by this process: its servers see them at once, without the marker.
static REVOCATIONS: AtomicU64 = AtomicU64::new(0);

/// How long a look at the revocation marker stays good: a key revoked by another process
/// is refused at most this long after the revocation (the same bound as for any write of
/// another process, see `server::READ_SNAPSHOT_WINDOW`). A look costs a system call, a
/// sizeable part of a whole read request.
const MARKER_RECHECK: Duration = Duration::from_millis(1);

/// Keys a server has verified, so a request costs no database read and no hash of the
/// secret against the table. A lookup first checks the revocation marker (at most every
/// `MARKER_RECHECK`) and this process's revocations; when either changed, everything
/// verified before is forgotten. Cache entries are keyed by the SHA-256 of the token,
/// never the token itself.
pub struct KeyCache {
    marker: PathBuf,
    /// Read-locked on the hot path, so concurrent requests never wait for each other.
    state: std::sync::RwLock<CacheState>,
    /// Until when the last look at the marker stays good, in nanoseconds after `started`.
    fresh_until: AtomicU64,
    started: Instant,
}

#[derive(Default)]
struct CacheState {
    /// The marker, held open so a check is an `fstat`, not a path lookup.
    file: Option<std::fs::File>,
    /// The marker's size when the entries below were verified (`None`: no marker).
    stamp: Option<u64>,
    /// `REVOCATIONS` when the entries below were verified.
    revocations: u64,
    verified: std::collections::HashMap<[u8; 32], Arc<KeyInfo>>,
}

impl CacheState {
    /// The marker's size now, or `Err` when the held file is gone (deleted, so no links
    /// left) or was never opened: then the marker must be opened again by its path.
    fn current_stamp(&self) -> std::result::Result<u64, ()> {
        use std::os::unix::fs::MetadataExt;
        match self.file.as_ref().map(|f| f.metadata()) {
            Some(Ok(meta)) if meta.nlink() > 0 => Ok(meta.len()),
            _ => Err(()),
        }
    }

    /// Opens the marker again (a revocation since may have made a new one), and forgets
    /// every key verified when the marker has changed.
    fn refresh(&mut self, path: &std::path::Path) {
        let stamp = match self.current_stamp() {
            Ok(size) => Some(size),
            Err(()) => {
                self.file = std::fs::File::open(path).ok();
                self.current_stamp().ok()
            }
        };
        let revocations = REVOCATIONS.load(Ordering::Acquire);
        if stamp != self.stamp || revocations != self.revocations {
            self.verified.clear();
            self.stamp = stamp;
            self.revocations = revocations;
        }
    }
}

/// Verified keys kept at most (an unbounded map would grow with every key ever used).
const CACHE_LIMIT: usize = 10_000;

impl KeyCache {
    pub fn new(store: &SqliteStore) -> KeyCache {
        let marker = marker_path(store);
        // Made now, so every check is an `fstat`; where it cannot be made (a read-only
        // directory), each request looks for it by its path instead.
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&marker);
        KeyCache {
            marker,
            state: Default::default(),
            fresh_until: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// `authenticate`, answered from memory for keys verified since the last revocation.
    pub fn authenticate(&self, store: &SqliteStore, token: &str) -> Result<Arc<KeyInfo>> {
        let digest = hash(token);
        {
            let st = self.state.read().unwrap_or_else(|p| p.into_inner());
            let now = self.started.elapsed().as_nanos() as u64;
            let recent = now < self.fresh_until.load(Ordering::Relaxed);
            if st.stamp.is_some()
                && st.revocations == REVOCATIONS.load(Ordering::Acquire)
                && let Some(info) = st.verified.get(&digest)
                && (recent || st.current_stamp().ok() == st.stamp)
            {
                if !recent {
                    let until = now + MARKER_RECHECK.as_nanos() as u64;
                    self.fresh_until.store(until, Ordering::Relaxed);
                }
                return Ok(info.clone());
            }
        }
        let stamp = {
            let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
            st.refresh(&self.marker);
            if let Some(info) = st.verified.get(&digest) {
                return Ok(info.clone());
            }
            st.stamp
        };
        let info = Arc::new(authenticate(store, token)?);
        let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
        st.refresh(&self.marker);
        // Only remember it if no revocation happened while it was being checked.
        if st.stamp == stamp {
            if st.verified.len() >= CACHE_LIMIT {
                st.verified.clear();
            }
            st.verified.insert(digest, info.clone());
        }
        Ok(info)
    }
}

fn find(store: &SqliteStore, id: &str) -> Result<Option<KeyInfo>> {
    Ok(find_with_hash(store, id)?.map(|(info, _)| info))
}

fn find_with_hash(store: &SqliteStore, id: &str) -> Result<Option<KeyRow>> {
    store.read_admin(|c| {
        Ok(
            c.prepare_cached(&format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1"))?
                .query_row([id], row)
                .optional()?,
        )
    })
}

fn unauthorized(message: &str) -> Error {
    Error::new(ErrorKind::Unauthorized, message)
}

/// The key a bearer token names, when the token is valid and not revoked.
pub fn authenticate(store: &SqliteStore, token: &str) -> Result<KeyInfo> {
    verify(token, |id| find_with_hash(store, id))
}

/// The rule of authentication for every backend: `token` must be well formed, name a
/// stored key (`find` looks it up by id, with the SHA-256 of its secret), match that
/// hash in constant time, and not be revoked.
pub(crate) fn verify(
    token: &str,
    find: impl FnOnce(&str) -> Result<Option<KeyRow>>,
) -> Result<KeyInfo> {
    let invalid = || unauthorized("invalid API key");
    let rest = token.strip_prefix(PREFIX).ok_or_else(invalid)?;
    let (id, secret) = rest.split_once('_').ok_or_else(invalid)?;
    if id.len() != ID_BYTES * 2 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    let (info, stored) = find(id)?.ok_or_else(invalid)?;
    let given = hash(secret);
    if !bool::from(given.as_slice().ct_eq(stored.as_slice())) {
        return Err(invalid());
    }
    if info.revoked_at.is_some() {
        return Err(unauthorized("this API key has been revoked"));
    }
    Ok(info)
}

/// The contract's key operations on the embedded store.
impl SqliteStore {
    pub fn create_key(
        &self,
        ws: &Workspace,
        name: Option<&str>,
        actor: Option<&str>,
        read_only: bool,
    ) -> Result<NewKey> {
        create(self, ws, name, actor, read_only)
    }

    pub fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        list(self)
    }

    pub fn revoke_key(&self, id: &str) -> Result<KeyInfo> {
        revoke(self, id)
    }

    /// Answered from the verified-key cache (see `KeyCache`).
    pub fn authenticate(&self, token: &str) -> Result<Arc<KeyInfo>> {
        self.key_cache().authenticate(self, token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteOptions;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("k.db"), SqliteOptions::default()).unwrap();
        (dir, s)
    }

    #[test]
    fn a_created_key_authenticates_until_revoked() {
        let (_d, s) = store();
        let ws = Workspace::parse("team-a").unwrap();
        let k = create(&s, &ws, Some("ci"), Some("acme/bot@1"), true).unwrap();
        assert!(k.token.starts_with("csk_"));
        let info = authenticate(&s, &k.token).unwrap();
        assert_eq!(info.workspace, "team-a");
        assert_eq!(info.actor.as_deref(), Some("acme/bot@1"));
        assert!(info.read_only);
        assert_eq!(list(&s).unwrap().len(), 1);
        revoke(&s, &k.info.id).unwrap();
        let err = authenticate(&s, &k.token).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unauthorized);
        assert!(err.message.contains("revoked"));
    }

    #[test]
    fn wrong_or_malformed_tokens_are_refused() {
        let (_d, s) = store();
        let ws = Workspace::parse("w").unwrap();
        let k = create(&s, &ws, None, None, false).unwrap();
        let mut wrong = k.token.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == '0' { '1' } else { '0' });
        for bad in [
            wrong.as_str(),
            "",
            "csk_",
            "csk__",
            "nope",
            "csk_zzzzzzzzzzzz_abc",
        ] {
            let err = authenticate(&s, bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Unauthorized, "{bad}");
        }
        assert_eq!(
            revoke(&s, "000000000000").unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert!(create(&s, &ws, None, Some("has space"), false).is_err());
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;
    use crate::store::sqlite::SqliteOptions;

    /// A store with one key of workspace `acme`, and a key cache on it.
    fn one_key() -> (
        tempfile::TempDir,
        std::path::PathBuf,
        SqliteStore,
        NewKey,
        KeyCache,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        let ws = Workspace::parse("acme").unwrap();
        let key = create(&store, &ws, None, None, false).unwrap();
        let cache = KeyCache::new(&store);
        (dir, path, store, key, cache)
    }

    #[test]
    fn a_revocation_reaches_a_cache_that_already_verified_the_key() {
        let (_dir, path, store, key, cache) = one_key();
        assert_eq!(
            cache.authenticate(&store, &key.token).unwrap().workspace,
            "acme"
        );
        assert_eq!(
            cache.authenticate(&store, &key.token).unwrap().id,
            key.info.id
        );
        // Revoked through another handle on the same file, in this process.
        let other = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        revoke(&other, &key.info.id).unwrap();
        let e = cache.authenticate(&store, &key.token).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        assert!(cache.authenticate(&store, "csk_000000000000_nope").is_err());
    }

    #[test]
    fn a_revocation_by_another_process_is_seen_through_the_marker() {
        let (_dir, path, store, key, cache) = one_key();
        cache.authenticate(&store, &key.token).unwrap();
        // What `revoke` does in another process: the row, then the marker; this process's
        // own count of revocations does not move.
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute(
                "UPDATE api_keys SET revoked_at = 1 WHERE id = ?1",
                [&key.info.id],
            )
            .unwrap();
        touch_marker(&store).unwrap();
        std::thread::sleep(MARKER_RECHECK * 2);
        let e = cache.authenticate(&store, &key.token).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthorized);
    }

    #[test]
    fn revocations_in_quick_succession_and_a_deleted_marker_are_all_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        let ws = Workspace::parse("acme").unwrap();
        let keys: Vec<NewKey> = (0..3)
            .map(|_| create(&store, &ws, None, None, false).unwrap())
            .collect();
        let cache = KeyCache::new(&store);
        let verify_all = |from: usize| {
            for k in &keys[from..] {
                cache.authenticate(&store, &k.token).unwrap();
            }
        };
        verify_all(0);
        // Back to back, well within one tick of the file system's clock: the second
        // revocation must not be mistaken for the first.
        revoke(&store, &keys[0].info.id).unwrap();
        verify_all(1);
        revoke(&store, &keys[1].info.id).unwrap();
        assert!(cache.authenticate(&store, &keys[1].token).is_err());
        verify_all(2);
        // A marker deleted by hand: the next revocation makes a new one, which is seen.
        std::fs::remove_file(marker_path(&store)).unwrap();
        verify_all(2);
        revoke(&store, &keys[2].info.id).unwrap();
        assert!(cache.authenticate(&store, &keys[2].token).is_err());
    }
}
