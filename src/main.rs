//! The `console` binary: parse arguments, run the command, and turn errors into one line
//! on stderr and the exit code of the spec (`spec/cli.md`). A closed pipe is success.

use agent_console::cli::{self, Cli, output::UsageError};
use agent_console::error::Error;
use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.global.json;
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e, json),
    }
}

fn report(e: &anyhow::Error, json: bool) -> ExitCode {
    if let Some(io) = e.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        return ExitCode::SUCCESS;
    }
    if let Some(usage) = e.downcast_ref::<UsageError>() {
        eprintln!("error: {usage}");
        return ExitCode::from(2);
    }
    let (code, message, exit, retryable) = match e.downcast_ref::<Error>() {
        Some(err) => (
            err.kind.code(),
            err.message.clone(),
            err.kind.exit_code(),
            err.kind.is_retryable(),
        ),
        // A local file or stream that cannot be read or written: exit 1, as the spec says.
        None if e.root_cause().downcast_ref::<std::io::Error>().is_some() => {
            ("IO_ERROR", format!("{e:#}"), 1, false)
        }
        None => ("INTERNAL_ERROR", format!("{e:#}"), 1, false),
    };
    let message = agent_console::text::escape_controls(&message).into_owned();
    if json {
        let body = serde_json::json!({"error": {"code": code, "message": message, "is_retryable": retryable}});
        eprintln!("{body}");
    } else {
        eprintln!("error: {code}: {message}");
    }
    ExitCode::from(exit)
}
