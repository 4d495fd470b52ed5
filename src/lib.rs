//! `console`: a terminal UI, a command line and a server for the Agent Storage JSON
//! document store. Every front end (TUI, CLI, server) speaks one storage contract,
//! [`store::Store`], implemented by the embedded SQLite backend and the remote backend.

pub mod cli;
pub mod config;
pub mod error;
pub mod model;
pub mod query;
pub mod server;
pub mod session;
pub mod store;
pub mod text;
pub mod tui;

pub use error::{Error, ErrorKind, Result};
