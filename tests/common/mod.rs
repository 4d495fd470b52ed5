//! The test harness shared by the integration binaries: a real `console serve` router
//! running in-process on 127.0.0.1:0 over a temporary store (SQLite, or PostgreSQL from
//! the throwaway cluster of `pg.rs`).
#![allow(dead_code)] // each test binary uses part of it

pub mod pg;

use agent_console::model::Workspace;
use agent_console::server::{self, AppState, ServerOptions};
use agent_console::store::keys;
use agent_console::store::sqlite::SqliteOptions;
use agent_console::store::{Backend, PostgresOptions, PostgresStore, SqliteStore, Store, Tier};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

pub struct TestServer {
    pub base: String,
    pub path: PathBuf,
    /// The database, when the server runs on PostgreSQL.
    pub pg_url: Option<String>,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start(options: ServerOptions) -> TestServer {
        TestServer::start_with(options, SqliteOptions::default())
    }

    pub fn start_with(options: ServerOptions, sqlite: SqliteOptions) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let sqlite = SqliteStore::open(&path, sqlite).unwrap();
        server::tune_store(&sqlite).unwrap();
        let store = Store::new(Backend::Sqlite(sqlite));
        TestServer::serve(options, store, dir, path, None)
    }

    /// A server on the PostgreSQL database at `url`.
    pub fn start_postgres(options: ServerOptions, url: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let pg = PostgresStore::open(url, PostgresOptions::default()).unwrap();
        let store = Store::new(Backend::Postgres(pg));
        store.tune_for_server(server::READ_SNAPSHOT_WINDOW).unwrap();
        let path = dir.path().join("unused.db");
        TestServer::serve(options, store, dir, path, Some(url.to_string()))
    }

    fn serve(
        options: ServerOptions,
        store: Store,
        dir: tempfile::TempDir,
        path: PathBuf,
        pg_url: Option<String>,
    ) -> TestServer {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(l.local_addr().unwrap()).unwrap();
                let state = AppState::new(store, options);
                server::serve(l, state, async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        TestServer {
            base: format!("http://{addr}"),
            path,
            pg_url,
            _dir: dir,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn admin(&self) -> SqliteStore {
        SqliteStore::open(&self.path, SqliteOptions::default()).unwrap()
    }

    /// The server's store, opened again (as an operator's CLI would).
    pub fn admin_store(&self) -> Store {
        match &self.pg_url {
            Some(url) => Store::new(Backend::Postgres(
                PostgresStore::open(url, PostgresOptions::default()).unwrap(),
            )),
            None => Store::new(Backend::Sqlite(self.admin())),
        }
    }

    pub fn workspace(&self, slug: &str, tier: Tier) {
        self.admin_store()
            .upsert_workspace(&Workspace::parse(slug).unwrap(), None, Some(tier))
            .unwrap();
    }

    pub fn key(&self, ws: &str) -> String {
        self.key_with(ws, None, false).token
    }

    pub fn key_with(&self, ws: &str, actor: Option<&str>, read_only: bool) -> keys::NewKey {
        self.admin_store()
            .create_key(&Workspace::parse(ws).unwrap(), None, actor, read_only)
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Do not wait for the server thread here: a test that failed may hold connections.
        let _ = self.thread.take();
    }
}
