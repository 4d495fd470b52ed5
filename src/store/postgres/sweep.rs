//! Reclaiming expired documents without a leader: every replica that serves runs this
//! sweep once a second. It finds workspaces with expired documents and reclaims them
//! in a write transaction of that workspace taken with `SKIP LOCKED`, so replicas never
//! wait for each other: a workspace busy elsewhere is reclaimed by that transaction
//! (every write reclaims its workspace first). Reads never show expired documents, so
//! the sweep only gives space and counters back.

use super::Pool;
use super::write::{self, Settings};
use crate::model;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(1);
/// Workspaces swept per round at most.
const WORKSPACES_PER_ROUND: i64 = 64;

/// The sweep thread; it stops when this is dropped.
pub(super) struct Sweeper {
    stop: Arc<AtomicBool>,
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Sweeper {
    pub fn start(pool: Pool, settings: Settings) -> Sweeper {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let _ = std::thread::Builder::new()
            .name("console-pg-sweep".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(EVERY);
                    if let Err(e) = round(&pool, &settings) {
                        tracing::warn!(error = %e, "the expiry sweep failed; it runs again in 1 s");
                    }
                }
            });
        Sweeper { stop }
    }
}

fn round(pool: &Pool, settings: &Settings) -> crate::error::Result<()> {
    let mut c = pool.get()?;
    let due = c.query(
        "SELECT DISTINCT workspace FROM documents WHERE expires_at <= $1 LIMIT $2",
        &[&model::now_ms(), &WORKSPACES_PER_ROUND],
    )?;
    for row in due {
        let ws: String = row.get(0);
        write::sweep(&mut c, settings, &ws)?;
    }
    Ok(())
}
