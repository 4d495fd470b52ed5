//! Reading a value argument: a literal JSON text, `@path` for a file, `-` for stdin.

use crate::error::{Error, Result};
use std::io::Read;

/// The bytes an argument stands for.
pub fn read_arg(arg: &str) -> Result<Vec<u8>> {
    if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Error::internal(format!("cannot read standard input: {e}")))?;
        Ok(buf)
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read(path).map_err(|e| Error::invalid(format!("cannot read {path}: {e}")))
    } else {
        Ok(arg.as_bytes().to_vec())
    }
}
