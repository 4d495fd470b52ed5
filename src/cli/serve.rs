//! `console serve`: open the store (`session`), bind the listen address, print
//! `listening on http://ADDR` and run the REST server until SIGTERM or Ctrl-C.
//! Requests act as their API key says (workspace, actor), never as the CLI.

use super::Global;
use crate::error::{Error, Result};
use crate::server::{self, AppState, AuthMode, ServerOptions};
use crate::session::{Ctx, Opener};
use clap::Args;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default: [serve] listen, 127.0.0.1:7474). Port 0 picks one.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// No API keys: every request acts in --workspace (default "default"). Loopback only.
    #[arg(long)]
    pub no_auth: bool,
    /// Seconds a client may take to send a request's head, and that an idle connection
    /// stays open (default: [serve] header_timeout_secs, 30).
    #[arg(long, value_name = "SECS")]
    pub header_timeout: Option<u64>,
    /// Seconds a request body may stall before the request is refused
    /// (default: [serve] body_timeout_secs, 30).
    #[arg(long, value_name = "SECS")]
    pub body_timeout: Option<u64>,
    /// Seconds requests in flight get to finish after SIGTERM or Ctrl-C; connections still
    /// open then are closed (default: [serve] shutdown_grace_secs, 10).
    #[arg(long, value_name = "SECS")]
    pub shutdown_grace: Option<u64>,
    /// Serve `GET /metrics` (Prometheus text, no API key) on this address instead of on
    /// --listen, e.g. a private interface. Port 0 picks one.
    #[arg(long, value_name = "ADDR", conflicts_with = "no_metrics")]
    pub metrics_listen: Option<String>,
    /// Do not serve `GET /metrics` at all.
    #[arg(long)]
    pub no_metrics: bool,
}

/// A timeout in seconds from a flag or the config file: at least one second.
fn seconds(flag: Option<u64>, configured: u64, name: &str) -> Result<std::time::Duration> {
    match flag.unwrap_or(configured) {
        0 => Err(Error::invalid(format!("{name} must be at least 1 second"))),
        s => Ok(std::time::Duration::from_secs(s)),
    }
}

fn resolve(listen: &str) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|e| Error::invalid(format!("cannot use listen address {listen:?}: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(Error::invalid(format!("{listen:?} resolves to no address")));
    }
    Ok(addrs)
}

/// Resolves when the process gets SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

pub fn run(global: &Global, args: ServeArgs) -> anyhow::Result<()> {
    let ctx = Ctx::open_for(global, "api", Opener::Server)?;
    let config = &ctx.config;
    let listen = args.listen.unwrap_or_else(|| config.serve.listen.clone());
    let addrs = resolve(&listen)?;
    let auth = if args.no_auth {
        if let Some(a) = addrs.iter().find(|a| !a.ip().is_loopback()) {
            return Err(Error::invalid(format!(
                "--no-auth refuses to listen on {a}: it is not a loopback address"
            ))
            .into());
        }
        AuthMode::Open(ctx.scope.workspace.clone())
    } else {
        AuthMode::Keys
    };
    ctx.store.tune_for_server(server::READ_SNAPSHOT_WINDOW)?;
    let location = ctx.store.location();
    let store = ctx.store;
    let options = ServerOptions {
        auth,
        body_limit_bytes: config.serve.body_limit_bytes,
        rate_limit_per_minute: config.serve.rate_limit_per_minute,
        header_timeout: seconds(
            args.header_timeout,
            config.serve.header_timeout_secs,
            "the header timeout",
        )?,
        body_timeout: seconds(
            args.body_timeout,
            config.serve.body_timeout_secs,
            "the body timeout",
        )?,
        shutdown_grace: seconds(
            args.shutdown_grace,
            config.serve.shutdown_grace_secs,
            "the shutdown grace period",
        )?,
        metrics_route: !args.no_metrics && args.metrics_listen.is_none(),
        ..ServerOptions::default()
    };
    let metrics_addrs = args.metrics_listen.as_deref().map(resolve).transpose()?;
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addrs.as_slice())
            .await
            .map_err(|e| Error::invalid(format!("cannot listen on {listen}: {e}")))?;
        let bound = listener.local_addr()?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on http://{bound}")?;
            out.flush()?;
        }
        tracing::info!(address = %bound, store = %location, "console serve started");
        let state = AppState::new(store, options);
        if let Some(addrs) = metrics_addrs {
            let metrics = tokio::net::TcpListener::bind(addrs.as_slice())
                .await
                .map_err(|e| Error::invalid(format!("cannot listen on {addrs:?}: {e}")))?;
            {
                let mut out = std::io::stdout().lock();
                writeln!(out, "metrics on http://{}/metrics", metrics.local_addr()?)?;
                out.flush()?;
            }
            let app = server::metrics_router(state.clone());
            tokio::spawn(async move { axum::serve(metrics, app).await });
        }
        server::serve(listener, state, shutdown_signal()).await?;
        anyhow::Ok(())
    })
}
