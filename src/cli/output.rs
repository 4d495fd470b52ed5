//! How commands print: JSON (pretty on a terminal, one line otherwise), aligned tables
//! with control characters escaped, and `--fields` selection.

use crate::text::{escape_controls, terminal_safe_json};
use serde::Serialize;
use serde_json::Value;
use std::io::{IsTerminal, Write};

pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Prints a JSON value: pretty on a terminal, compact otherwise.
pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let text = if stdout_is_terminal() {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    print_raw_json(text)
}

/// Prints JSON text as it is, but for control characters made safe for a terminal.
pub fn print_raw_json(text: String) -> anyhow::Result<()> {
    writeln!(std::io::stdout().lock(), "{}", terminal_safe_json(text))?;
    Ok(())
}

/// Prints a line of text for humans, with control characters escaped.
pub fn print_line(text: &str) -> anyhow::Result<()> {
    writeln!(std::io::stdout().lock(), "{}", escape_controls(text))?;
    Ok(())
}

/// Prints an aligned table; every cell is escaped.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| escape_controls(c).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let line = |cols: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cols.iter().enumerate() {
            if i + 1 == cols.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s
    };
    writeln!(out, "{}", line(headers.to_vec()))?;
    for row in &cells {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// A usage mistake found after parsing (exit code 2, like clap's own).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Keeps only `fields` (comma-separated) of each item; `known` are the fields an item
/// has, and a field outside them is a usage error that names the known ones.
pub fn select_fields(
    items: Vec<Value>,
    fields: &str,
    known: &[&str],
) -> Result<Vec<Value>, UsageError> {
    let wanted: Vec<&str> = fields
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    let unknown: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|f| !known.contains(f))
        .collect();
    if wanted.is_empty() || !unknown.is_empty() {
        return Err(UsageError(format!(
            "--fields: unknown field{} {} (known: {})",
            if unknown.len() == 1 { "" } else { "s" },
            if unknown.is_empty() {
                "(none given)".to_string()
            } else {
                unknown.join(", ")
            },
            known.join(", ")
        )));
    }
    Ok(items
        .into_iter()
        .map(|item| match item {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .filter(|(k, _)| wanted.contains(&k.as_str()))
                    .collect(),
            ),
            other => other,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_keep_only_what_is_asked() {
        let items = vec![json!({"key": "a", "version": 1, "size_bytes": 2})];
        let known = ["key", "version", "size_bytes"];
        assert_eq!(
            select_fields(items.clone(), "key, version", &known).unwrap(),
            vec![json!({"key": "a", "version": 1})]
        );
        let err = select_fields(items, "key,bogus", &known).unwrap_err();
        assert!(
            err.0.contains("bogus") && err.0.contains("size_bytes"),
            "{err}"
        );
    }
}
