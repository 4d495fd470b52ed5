//! A JSON value as display lines: pretty-printed, tokenised for highlighting, with each
//! opening line of an object or array knowing where it closes (for folding). Every string
//! passes through `escape_controls`, so no control character reaches the terminal.

use crate::text::escape_controls;
use serde_json::Value;
use std::collections::BTreeSet;

/// The kind of a piece of a line, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Key,
    Str,
    Num,
    Bool,
    Null,
    Punct,
    Plain,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JLine {
    pub indent: usize,
    pub spans: Vec<(Tok, String)>,
    /// For the opening line of a non-empty object or array: the index of its closing line.
    pub close: Option<usize>,
    /// Members or elements of the container this line opens.
    pub items: usize,
}

impl JLine {
    /// The line's text without indentation (what search looks at).
    pub fn text(&self) -> String {
        self.spans.iter().map(|(_, s)| s.as_str()).collect()
    }
}

fn quoted(s: &str) -> String {
    let json = serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"));
    escape_controls(&json).into_owned()
}

fn scalar(v: &Value) -> (Tok, String) {
    match v {
        Value::String(s) => (Tok::Str, quoted(s)),
        Value::Number(n) => (Tok::Num, n.to_string()),
        Value::Bool(b) => (Tok::Bool, b.to_string()),
        Value::Null => (Tok::Null, "null".into()),
        Value::Array(_) => (Tok::Punct, "[]".into()),
        Value::Object(_) => (Tok::Punct, "{}".into()),
    }
}

fn emit(v: &Value, indent: usize, key: Option<&str>, comma: bool, out: &mut Vec<JLine>) {
    let mut spans = Vec::new();
    if let Some(k) = key {
        spans.push((Tok::Key, quoted(k)));
        spans.push((Tok::Punct, ": ".into()));
    }
    let tail = |spans: &mut Vec<(Tok, String)>| {
        if comma {
            spans.push((Tok::Punct, ",".into()));
        }
    };
    let (open, close, items): (&str, &str, usize) = match v {
        Value::Object(m) if !m.is_empty() => ("{", "}", m.len()),
        Value::Array(a) if !a.is_empty() => ("[", "]", a.len()),
        _ => {
            spans.push(scalar(v));
            tail(&mut spans);
            out.push(JLine {
                indent,
                spans,
                close: None,
                items: 0,
            });
            return;
        }
    };
    spans.push((Tok::Punct, open.into()));
    let at = out.len();
    out.push(JLine {
        indent,
        spans,
        close: None,
        items,
    });
    match v {
        Value::Object(m) => {
            for (i, (k, child)) in m.iter().enumerate() {
                emit(child, indent + 1, Some(k), i + 1 < items, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                emit(child, indent + 1, None, i + 1 < items, out);
            }
        }
        _ => {}
    }
    let mut end = vec![(Tok::Punct, close.to_string())];
    tail(&mut end);
    out[at].close = Some(out.len());
    out.push(JLine {
        indent,
        spans: end,
        close: None,
        items: 0,
    });
}

/// The display lines of a value.
pub fn lines(v: &Value) -> Vec<JLine> {
    let mut out = Vec::new();
    emit(v, 0, None, false, &mut out);
    out
}

/// Plain text as display lines (for truncated previews): no structure, no folding.
pub fn plain_lines(text: &str) -> Vec<JLine> {
    text.lines()
        .map(|l| JLine {
            indent: 0,
            spans: vec![(Tok::Plain, escape_controls(l).into_owned())],
            close: None,
            items: 0,
        })
        .collect()
}

/// The indices of the lines shown when the openers in `folded` are folded.
pub fn visible(lines: &[JLine], folded: &BTreeSet<usize>) -> Vec<usize> {
    let mut out = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        out.push(i);
        match lines[i].close {
            Some(c) if folded.contains(&i) => i = c + 1,
            _ => i += 1,
        }
    }
    out
}

/// The opener that contains line `i` most closely (itself when it is one).
pub fn enclosing_opener(lines: &[JLine], i: usize) -> Option<usize> {
    if lines.get(i)?.close.is_some() {
        return Some(i);
    }
    (0..i)
        .rev()
        .find(|&o| lines[o].close.is_some_and(|c| c >= i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_know_their_closing_line_and_fold() {
        let v = json!({"a": 1, "b": {"c": [1, 2]}, "d": "x\u{1b}y"});
        let l = lines(&v);
        let text: Vec<String> = l.iter().map(JLine::text).collect();
        assert_eq!(text[0], "{");
        assert_eq!(text[2], "\"b\": {");
        assert_eq!(l[2].close, Some(7));
        assert_eq!(l[3].close, Some(6));
        assert!(!text.iter().any(|t| t.chars().any(char::is_control)));
        let folded: BTreeSet<usize> = [2].into();
        assert_eq!(visible(&l, &folded), vec![0, 1, 2, 8, 9]);
        assert_eq!(enclosing_opener(&l, 4), Some(3));
        assert_eq!(enclosing_opener(&l, 1), Some(0));
    }
}
