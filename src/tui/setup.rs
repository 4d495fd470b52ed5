//! What the event loop needs besides the session: the command line and config facts for
//! "copy as command", the profiles the palette offers, the mouse switch, and re-opening
//! the store on another profile (with results of the old store's worker cut off).

use super::action::{Action, Effect};
use super::app::Session;
use super::clipboard::Target;
use super::worker::{self, Worker};
use crate::session::{Ctx, Global};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};

pub struct Setup {
    pub global: Global,
    pub profiles: Vec<String>,
    pub target: Target,
    pub mouse: bool,
    /// `--read-only` was given: every profile opened stays read-only.
    pub forced_read_only: bool,
    /// Bumped at each switch; a worker of an older epoch can no longer send results.
    epoch: Arc<AtomicU64>,
}

/// The command line that reaches the store `ctx` has open.
pub fn target(ctx: &Ctx) -> Target {
    let g = &ctx.global;
    let ws = ctx.scope.workspace.as_str().to_string();
    let flags = g.store.is_some() || g.remote.is_some();
    let profile_name = if flags {
        None
    } else {
        g.profile.clone().or(ctx.config.default_profile.clone())
    };
    let profile = profile_name
        .as_deref()
        .and_then(|n| ctx.config.profiles.get(n));
    let remote = match &g.remote {
        Some(r) => Some(r.clone()),
        None if !flags => profile.and_then(|p| p.remote.clone()),
        None => None,
    };
    let profile_ws = profile.and_then(|p| p.workspace.clone());
    let workspace = (ws != "default" && profile_ws.as_deref() != Some(&ws)).then_some(ws);
    Target {
        profile: profile_name.filter(|_| profile.is_some()),
        remote: remote.clone().filter(|_| g.remote.is_some()),
        store: g.store.as_ref().map(|p| p.display().to_string()),
        workspace,
        base_url: remote.unwrap_or_else(|| format!("http://{}", ctx.config.serve.listen)),
    }
}

/// The session and worker of an opened store.
pub fn session(ctx: Ctx, start_namespace: Option<String>) -> (Session, Worker) {
    let session = Session {
        location: ctx.store.location(),
        workspace: ctx.scope.workspace.as_str().to_string(),
        read_only: ctx.store.read_only,
        reviewer: super::reviewer(&ctx.config.tui),
        config: ctx.config.tui.clone(),
        start_namespace,
    };
    let worker = Worker {
        store: Arc::new(ctx.store),
        scope: ctx.scope,
        config: ctx.config.tui,
    };
    (session, worker)
}

impl Setup {
    pub fn new(ctx: &Ctx, forced_read_only: bool) -> Setup {
        Setup {
            global: ctx.global.clone(),
            profiles: ctx.config.profiles.keys().cloned().collect(),
            target: target(ctx),
            mouse: ctx.config.tui.mouse,
            forced_read_only,
            epoch: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Starts a worker whose results reach `tx` until the next `switch`.
    pub fn spawn(&self, worker: Worker, tx: Sender<Action>) -> Sender<Effect> {
        let (otx, orx) = channel::<Action>();
        // The change feed of this store reports through the same cut-off as its worker.
        super::live::spawn_feed(worker.store.clone(), worker.scope.clone(), otx.clone());
        let jobs = worker::spawn(worker, otx);
        let epoch = self.epoch.clone();
        let mine = epoch.load(Ordering::SeqCst);
        std::thread::spawn(move || {
            for a in orx {
                if epoch.load(Ordering::SeqCst) != mine || tx.send(a).is_err() {
                    return;
                }
            }
        });
        jobs
    }

    /// Opens the store of profile `name`: the flags that chose the old store are dropped.
    pub fn switch(&mut self, name: &str) -> anyhow::Result<(Session, Worker)> {
        let global = Global {
            profile: Some(name.to_string()),
            ..Global::default()
        };
        let mut ctx = Ctx::open(&global, "tui")?;
        if self.forced_read_only {
            ctx.store.read_only = true;
        }
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.global = global;
        self.target = target(&ctx);
        self.profiles = ctx.config.profiles.keys().cloned().collect();
        Ok(session(ctx, None))
    }
}
