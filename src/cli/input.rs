//! Reading a value argument: a literal JSON text, `@path` for a file, `-` for stdin.
//!
//! A file or stream that cannot be read is an I/O failure (exit 1, `IO_ERROR`), not
//! invalid input (exit 5): the input was never seen, so nothing about it is known to be
//! wrong (`spec/cli.md`: 1 is "other failure (I/O, ...)", 5 is INVALID_INPUT).

use anyhow::Context;
use std::io::Read;

/// The bytes an argument stands for.
pub fn read_arg(arg: &str) -> anyhow::Result<Vec<u8>> {
    if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        Ok(buf)
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read(path).with_context(|| format!("cannot read {path}"))
    } else {
        Ok(arg.as_bytes().to_vec())
    }
}
