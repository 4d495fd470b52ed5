//! The filter language of the keys pane (`/`): words separated by spaces, all of which a
//! row must match. Plain text matches the key (case-insensitive); `by:NAME` matches
//! `updated_by`; `reviewed`; `action:X`; `size>10kb`, `size<2mb`; `updated<1h` (changed
//! within the last hour), `updated>2d` (not changed for two days); `key:TEXT`; a leading
//! `!` negates a word; double quotes keep spaces (`by:"acme bot"`). A word that does not
//! parse is reported and ignored; parsing never fails as a whole.

use crate::model::parse_time;
use crate::tui::action::KeyRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn test<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// The key contains this (lower case).
    Key(String),
    /// `updated_by` contains this (lower case).
    By(String),
    Reviewed,
    /// The triage action is this (lower case).
    Action(String),
    Size(Cmp, u64),
    /// The age of the last update compared with this many milliseconds.
    Age(Cmp, i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub negated: bool,
    pub test: Test,
}

/// A parsed filter: the words that parsed, and why the others did not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub terms: Vec<Term>,
    pub errors: Vec<String>,
}

/// Splits on spaces, keeping quoted parts together (quotes removed).
fn words(text: &str) -> (Vec<String>, Option<String>) {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    let err = quoted.then(|| "a quote is not closed".to_string());
    (out, err)
}

/// Splits "size>=10kb" into (">=", "10kb").
fn comparison(rest: &str) -> Option<(Cmp, &str)> {
    for (op, cmp) in [
        (">=", Cmp::Ge),
        ("<=", Cmp::Le),
        (">", Cmp::Gt),
        ("<", Cmp::Lt),
    ] {
        if let Some(v) = rest.strip_prefix(op) {
            return Some((cmp, v));
        }
    }
    None
}

/// Splits "1.5mb" into (1.5, "mb").
fn number(s: &str) -> Option<(f64, String)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n: f64 = s[..end].parse().ok()?;
    (n.is_finite() && n >= 0.0).then(|| (n, s[end..].to_ascii_lowercase()))
}

fn size(s: &str) -> Result<u64, String> {
    let (n, unit) = number(s).ok_or_else(|| format!("{s:?} is not a size (like 10kb)"))?;
    let mult: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        u => return Err(format!("unknown size unit {u:?} (b, kb, mb, gb)")),
    };
    Ok((n * mult).min(u64::MAX as f64) as u64)
}

fn age(s: &str) -> Result<i64, String> {
    let (n, unit) = number(s).ok_or_else(|| format!("{s:?} is not a duration (like 2h)"))?;
    let mult: f64 = match unit.as_str() {
        "s" | "sec" => 1_000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        "w" => 7.0 * 86_400_000.0,
        "" => return Err(format!("{s:?} needs a unit (s, m, h, d, w)")),
        u => return Err(format!("unknown duration unit {u:?} (s, m, h, d, w)")),
    };
    Ok((n * mult).min(i64::MAX as f64 / 2.0) as i64)
}

fn term(word: &str) -> Result<Test, String> {
    let lower = word.to_lowercase();
    if lower == "reviewed" {
        return Ok(Test::Reviewed);
    }
    let field = |name: &str| -> Option<String> {
        lower
            .strip_prefix(name)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::to_string)
    };
    let nonempty = |name: &str, v: String| {
        if v.is_empty() {
            Err(format!("{name}: needs a value"))
        } else {
            Ok(v)
        }
    };
    if let Some(v) = field("by") {
        return nonempty("by", v).map(Test::By);
    }
    if let Some(v) = field("action") {
        return nonempty("action", v).map(Test::Action);
    }
    if let Some(v) = field("key") {
        return nonempty("key", v).map(Test::Key);
    }
    for (name, is_size) in [("size", true), ("updated", false)] {
        if let Some(rest) = lower.strip_prefix(name)
            && rest.starts_with(['<', '>', '=', ':'])
        {
            let Some((cmp, v)) = comparison(rest) else {
                return Err(format!("{name}: use {name}<N or {name}>N"));
            };
            let at = |e: String| format!("{word}: {e}");
            return if is_size {
                size(v).map(|n| Test::Size(cmp, n)).map_err(at)
            } else {
                age(v).map(|n| Test::Age(cmp, n)).map_err(at)
            };
        }
    }
    Ok(Test::Key(lower))
}

/// Parses a filter; `now_ms` is not needed until matching.
pub fn parse(text: &str) -> Query {
    let (ws, quote_err) = words(text);
    let mut q = Query::default();
    for w in ws {
        let (negated, body) = match w.strip_prefix('!') {
            Some(b) if !b.is_empty() => (true, b),
            _ => (false, w.as_str()),
        };
        match term(body) {
            Ok(test) => q.terms.push(Term { negated, test }),
            Err(e) => q.errors.push(e),
        }
    }
    q.errors.extend(quote_err);
    q
}

impl Query {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `row` passes every term, at time `now_ms`.
    pub fn matches(&self, row: &KeyRow, now_ms: i64) -> bool {
        self.terms
            .iter()
            .all(|t| t.negated != t.test.matches(row, now_ms))
    }
}

impl Test {
    fn matches(&self, row: &KeyRow, now_ms: i64) -> bool {
        let m = &row.meta;
        match self {
            Test::Key(s) => m.key.to_lowercase().contains(s),
            Test::By(s) => m.updated_by.to_lowercase().contains(s),
            Test::Reviewed => row.reviewed,
            Test::Action(a) => row
                .action
                .as_deref()
                .is_some_and(|x| x.to_lowercase() == *a),
            Test::Size(c, n) => c.test(m.size_bytes, *n),
            Test::Age(c, ms) => {
                parse_time(&m.updated_at).is_some_and(|t| c.test(now_ms.saturating_sub(t), *ms))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Meta, format_ms};
    use proptest::prelude::*;

    const NOW: i64 = 1_772_000_000_000;

    fn row(key: &str, by: &str, size: u64, minutes_ago: i64, reviewed: bool) -> KeyRow {
        KeyRow {
            meta: Meta {
                namespace: "ns".into(),
                key: key.into(),
                version: 1,
                size_bytes: size,
                created_at: format_ms(NOW - 86_400_000 * 9),
                updated_at: format_ms(NOW - minutes_ago * 60_000),
                updated_by: by.into(),
                expires_at: None,
                fields: None,
            },
            reviewed,
            action: reviewed.then(|| "Escalate".to_string()),
        }
    }

    fn keys(q: &str, rows: &[KeyRow]) -> Vec<String> {
        let q = parse(q);
        assert!(q.errors.is_empty(), "{:?}", q.errors);
        rows.iter()
            .filter(|r| q.matches(r, NOW))
            .map(|r| r.meta.key.clone())
            .collect()
    }

    #[test]
    fn words_combine_and_each_field_matches() {
        let rows = vec![
            row("F-001", "acme/sec-scanner@1.4", 300, 10, false),
            row("F-002", "acme/dep-auditor", 20 * 1024, 60 * 5, true),
            row("G-003", "tui", 3 * 1024 * 1024, 60 * 24 * 3, true),
        ];
        assert_eq!(keys("f-0", &rows), ["F-001", "F-002"]);
        assert_eq!(keys("by:ACME", &rows), ["F-001", "F-002"]);
        assert_eq!(keys("by:acme !reviewed", &rows), ["F-001"]);
        assert_eq!(keys("reviewed", &rows), ["F-002", "G-003"]);
        assert_eq!(keys("action:escalate", &rows), ["F-002", "G-003"]);
        assert_eq!(keys("size>10kb", &rows), ["F-002", "G-003"]);
        assert_eq!(keys("size>10kb size<2mb", &rows), ["F-002"]);
        assert_eq!(keys("size<=300", &rows), ["F-001"]);
        assert_eq!(keys("updated<1h", &rows), ["F-001"]);
        assert_eq!(keys("updated>2d", &rows), ["G-003"]);
        assert_eq!(keys("updated<1d updated>1h", &rows), ["F-002"]);
        assert_eq!(keys("!by:tui f", &rows), ["F-001", "F-002"]);
        assert_eq!(keys("by:\"dep-auditor\" key:f", &rows), ["F-002"]);
        assert_eq!(keys("", &rows).len(), 3);
        // An unknown prefix is plain text (keys may hold colons).
        assert!(
            parse("user:42").terms
                == vec![Term {
                    negated: false,
                    test: Test::Key("user:42".into())
                }]
        );
    }

    #[test]
    fn bad_words_are_reported_and_ignored() {
        let q = parse("size>lots f-0 updated<3 by: size=3 updated>2y \"open");
        let key = |k: &str| Term {
            negated: false,
            test: Test::Key(k.into()),
        };
        assert_eq!(q.terms, vec![key("f-0"), key("open")]);
        assert_eq!(q.errors.len(), 6, "{:?}", q.errors);
        assert!(q.errors[0].contains("not a size"), "{}", q.errors[0]);
        assert!(q.errors[1].contains("needs a unit"), "{}", q.errors[1]);
        assert!(q.errors[5].contains("quote"), "{}", q.errors[5]);
    }

    proptest! {
        #[test]
        fn parsing_and_matching_never_panic(text in ".{0,60}", size in any::<u64>(), ago in any::<i32>()) {
            let q = parse(&text);
            let r = row("k", "by", size, ago as i64, size % 2 == 0);
            let _ = q.matches(&r, NOW);
            let _ = q.matches(&r, i64::MIN);
            let _ = q.matches(&r, i64::MAX);
        }

        #[test]
        fn filter_syntax_never_panics(
            field in prop::sample::select(vec!["size", "updated", "by:", "action:", "!", "key:", "reviewed"]),
            op in prop::sample::select(vec!["<", ">", "<=", ">=", "=", ""]),
            num in "[0-9.]{0,8}",
            unit in "[a-zA-Z]{0,3}",
        ) {
            let q = parse(&format!("{field}{op}{num}{unit}"));
            let _ = q.matches(&row("k", "b", 1, 1, true), NOW);
        }
    }
}
