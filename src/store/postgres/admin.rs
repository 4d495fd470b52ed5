//! Administration on PostgreSQL: workspaces and tiers, usage, API keys (the rules are
//! `keys.rs`'s), and the verified-key cache of a replica. A revocation bumps
//! `key_revocations.generation` in its transaction; a replica reads that number at most
//! every `RECHECK` before trusting a key it verified, and forgets every verified key when
//! it moved. So a key revoked through any replica (or the CLI) is refused by all of them
//! within `RECHECK` plus one request, without a database read per request.

use super::super::keys::{self, KeyInfo, KeyRow, NewKey};
use super::super::{Tier, Usage, WorkspaceInfo};
use super::PostgresStore;
use crate::error::{Error, Result};
use crate::model::{self, Workspace};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How stale a replica's view of revocations may be.
const RECHECK: Duration = Duration::from_millis(200);
/// Verified keys kept at most.
const CACHE_LIMIT: usize = 10_000;

const KEY_COLUMNS: &str = "id, workspace, name, actor, read_only, created_at, revoked_at, hash";

fn key_row(r: &postgres::Row) -> KeyRow {
    (
        KeyInfo {
            id: r.get(0),
            workspace: r.get(1),
            name: r.get(2),
            actor: r.get(3),
            read_only: r.get(4),
            created_at: model::format_ms(r.get(5)),
            revoked_at: r.get::<_, Option<i64>>(6).map(model::format_ms),
        },
        r.get(7),
    )
}

/// Keys a replica verified since the last revocation generation it saw.
#[derive(Default)]
pub(super) struct KeyCache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    generation: Option<i64>,
    checked: Option<Instant>,
    verified: HashMap<[u8; 32], Arc<KeyInfo>>,
}

impl PostgresStore {
    pub fn usage(&self, ws: &Workspace) -> Result<Usage> {
        let r = self.conn()?.query_one(
            "SELECT (SELECT tier FROM workspaces WHERE slug = $1),
                    (SELECT coalesce(sum(bytes), 0)::bigint FROM namespaces WHERE workspace = $1)",
            &[&ws.as_str()],
        )?;
        let tier = r
            .get::<_, Option<&str>>(0)
            .map(Tier::parse)
            .transpose()?
            .unwrap_or(self.options.default_tier);
        Ok(Usage {
            used_bytes: r.get::<_, i64>(1).max(0) as u64,
            limit_bytes: tier.limits().total_bytes,
        })
    }

    pub fn workspaces(&self) -> Result<Vec<WorkspaceInfo>> {
        let rows = self.conn()?.query(
            "SELECT slug, name, tier, created_at FROM workspaces ORDER BY slug",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(WorkspaceInfo {
                    slug: r.get(0),
                    name: r.get(1),
                    tier: Tier::parse(r.get(2))?,
                    created_at: model::format_ms(r.get(3)),
                })
            })
            .collect()
    }

    pub fn upsert_workspace(
        &self,
        ws: &Workspace,
        name: Option<&str>,
        tier: Option<Tier>,
    ) -> Result<WorkspaceInfo> {
        let r = self.conn()?.query_one(
            "INSERT INTO workspaces (slug, name, tier, created_at, change_seq)
             VALUES ($1, coalesce($2, $1), coalesce($3, $4), $5, 0)
             ON CONFLICT (slug) DO UPDATE SET
               name = coalesce($2, workspaces.name), tier = coalesce($3, workspaces.tier)
             RETURNING slug, name, tier, created_at",
            &[
                &ws.as_str(),
                &name,
                &tier.map(Tier::as_str),
                &self.options.default_tier.as_str(),
                &model::now_ms(),
            ],
        )?;
        Ok(WorkspaceInfo {
            slug: r.get(0),
            name: r.get(1),
            tier: Tier::parse(r.get(2))?,
            created_at: model::format_ms(r.get(3)),
        })
    }

    pub fn create_key(
        &self,
        ws: &Workspace,
        name: Option<&str>,
        actor: Option<&str>,
        read_only: bool,
    ) -> Result<NewKey> {
        let draft = keys::draft(name, actor)?;
        self.upsert_workspace(ws, None, None)?;
        let now = model::now_ms();
        self.conn()?.execute(
            "INSERT INTO api_keys (id, workspace, name, actor, read_only, hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &draft.id,
                &ws.as_str(),
                &draft.name,
                &actor,
                &read_only,
                &&draft.digest[..],
                &now,
            ],
        )?;
        Ok(draft.into_key(ws, actor, read_only, now))
    }

    pub fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let rows = self.conn()?.query(
            &format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"),
            &[],
        )?;
        Ok(rows.iter().map(|r| key_row(r).0).collect())
    }

    pub fn revoke_key(&self, id: &str) -> Result<KeyInfo> {
        let id = keys::id_of(id);
        let mut c = self.conn()?;
        let mut tx = c.transaction()?;
        let row = tx.query_opt(
            &format!(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1
                 RETURNING {KEY_COLUMNS}"
            ),
            &[&id, &model::now_ms()],
        )?;
        let Some(row) = row else {
            return Err(Error::not_found(format!("no API key {}", model::shown(id))));
        };
        tx.execute(
            "UPDATE key_revocations SET generation = generation + 1",
            &[],
        )?;
        tx.commit()?;
        // This replica sees its own revocation at its next request.
        self.keys
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .checked = None;
        Ok(key_row(&row).0)
    }

    fn find_key(&self, id: &str) -> Result<Option<KeyRow>> {
        let row = self.conn()?.query_opt(
            &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"),
            &[&id],
        )?;
        Ok(row.as_ref().map(key_row))
    }

    /// The key a token names, from the cache while no revocation happened since it was
    /// verified (checked at most every `RECHECK`).
    pub fn authenticate(&self, token: &str) -> Result<Arc<KeyInfo>> {
        let digest = keys::hash(token);
        let generation = self.revocation_generation()?;
        {
            let st = self.keys.state.lock().unwrap_or_else(|p| p.into_inner());
            if st.generation == Some(generation)
                && let Some(info) = st.verified.get(&digest)
            {
                return Ok(info.clone());
            }
        }
        let info = Arc::new(keys::verify(token, |id| self.find_key(id))?);
        let mut st = self.keys.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.generation == Some(generation) {
            if st.verified.len() >= CACHE_LIMIT {
                st.verified.clear();
            }
            st.verified.insert(digest, info.clone());
        }
        Ok(info)
    }

    /// The revocation generation, read from the database when the last look is older
    /// than `RECHECK`; a new one empties the cache.
    fn revocation_generation(&self) -> Result<i64> {
        {
            let st = self.keys.state.lock().unwrap_or_else(|p| p.into_inner());
            if let (Some(g), Some(at)) = (st.generation, st.checked)
                && at.elapsed() < RECHECK
            {
                return Ok(g);
            }
        }
        let g: i64 = self
            .conn()?
            .query_one("SELECT generation FROM key_revocations", &[])?
            .get(0);
        let mut st = self.keys.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.generation != Some(g) {
            st.verified.clear();
            st.generation = Some(g);
        }
        st.checked = Some(Instant::now());
        Ok(g)
    }
}
