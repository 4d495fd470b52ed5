//! The query language shared by the TUI's `/`, the CLI's `--where` and the server's
//! `?where=`: text is parsed here, once, into a [`Query`] (an AST); each backend translates
//! the AST (SQLite to SQL with bound parameters, the remote backend back to text for the
//! server), and [`Query::matches`] is the reference meaning every translation must agree
//! with.
//!
//! A query is words separated by spaces, all of which a document must match:
//! - plain text: the key contains it (case-insensitive: ASCII letters, here and below); `key:TEXT` says so explicitly;
//! - `by:NAME`: `updated_by` contains it (case-insensitive);
//! - `reviewed`: the value's `reviewed` member is `true`; `action:X`: its `action` member
//!   is the string X (the member names can be configured, see [`Vocabulary`]);
//! - `size>10kb`, `size<=2mb`; `updated<1h` (changed within the hour), `updated>2d`;
//! - `PATH=V`, `PATH!=V`, `PATH<V`, `PATH<=V`, `PATH>V`, `PATH>=V` on a member of the value,
//!   `PATH` dotted into objects (`evidence.confidence>0.8`); V is a number, `true`,
//!   `false`, `null` or else a string (quoted: always a string). `=` is exact; ordering
//!   compares numbers with numbers and strings with strings, anything else is no match;
//! - `PATH~TEXT`: the member (a string, or any string of an array) contains TEXT,
//!   case-insensitive; `has:PATH`: the member exists (even as `null`);
//! - a leading `!` negates a word; double quotes keep spaces (`title="sql injection"`),
//!   with `\"` and `\\` inside them.
//!
//! A malformed query is `INVALID_INPUT` naming the column where it broke.

use crate::error::{Error, Result};
use crate::model::{Document, parse_time};
use serde_json::{Number, Value};
use std::fmt;

/// An ordering comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn test<T: PartialOrd + ?Sized>(self, a: &T, b: &T) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }

    /// The operator as written (and as SQL writes it).
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// A literal a member is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
}

impl Literal {
    /// The literal as a JSON value.
    pub fn to_json(&self) -> Value {
        match self {
            Literal::Null => Value::Null,
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Number(n) => Value::Number(n.clone()),
            Literal::String(s) => Value::String(s.clone()),
        }
    }
}

/// A dotted path into the value: its member names, outermost first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path(pub Vec<String>);

/// Characters of a path segment.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$' | '@')
}

impl Path {
    /// Parses `a.b.c`: segments of letters, digits, `_`, `-`, `$`, `@`.
    pub fn parse(text: &str) -> Result<Path> {
        Path::parse_at(text, 1)
    }

    fn parse_at(text: &str, col: usize) -> Result<Path> {
        if text.is_empty() {
            return Err(at(
                col,
                "a member path is missing (like severity or evidence.confidence)",
            ));
        }
        let mut segs = Vec::new();
        let mut offset = 0;
        for seg in text.split('.') {
            if seg.is_empty() {
                return Err(at(
                    col + offset,
                    format!("empty segment in the path {text:?}"),
                ));
            }
            if let Some((i, c)) = seg.chars().enumerate().find(|(_, c)| !is_path_char(*c)) {
                return Err(at(
                    col + offset + i,
                    format!("{c:?} cannot be in a member path (letters, digits, '_', '-', '.')"),
                ));
            }
            offset += seg.chars().count() + 1;
            segs.push(seg.to_string());
        }
        if segs.len() > MAX_PATH_DEPTH {
            return Err(at(
                col,
                format!("a path has at most {MAX_PATH_DEPTH} segments"),
            ));
        }
        Ok(Path(segs))
    }

    /// The SQLite/JSONPath form `$."a"."b"`: safe to bind (segments never hold quotes).
    pub fn json_path(&self) -> String {
        let mut out = String::from("$");
        for s in &self.0 {
            out.push_str(".\"");
            out.push_str(s);
            out.push('"');
        }
        out
    }

    /// The member at this path, if every step is an object holding the next name.
    pub fn lookup<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.0.iter().try_fold(value, |v, seg| v.get(seg.as_str()))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

pub const MAX_PATH_DEPTH: usize = 16;
/// The longest query text accepted.
pub const MAX_QUERY_LEN: usize = 4096;

/// A comparison of a value member.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    Eq(Literal),
    Ord(Cmp, Literal),
    /// Contains this text, case-insensitive (stored lower case).
    Contains(String),
    Exists,
}

/// One condition of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// The key contains this (lower case).
    Key(String),
    /// `updated_by` contains this (lower case).
    By(String),
    Size(Cmp, u64),
    /// The age of the last update, in milliseconds, compared with this.
    Age(Cmp, i64),
    Member(Path, MemberOp),
}

/// A condition, maybe negated.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub negated: bool,
    pub test: Test,
}

/// A parsed query: every term must hold. The empty query matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub terms: Vec<Term>,
}

/// The member names behind the triage words `reviewed` and `action:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    pub reviewed_field: String,
    pub action_field: String,
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary {
            reviewed_field: "reviewed".into(),
            action_field: "action".into(),
        }
    }
}

fn at(col: usize, msg: impl fmt::Display) -> Error {
    Error::invalid(format!("invalid query at column {col}: {msg}"))
}

/// A word of the query: its characters, each marked quoted or not, and its column.
struct Word {
    col: usize,
    chars: Vec<(char, bool)>,
    /// It held a pair of quotes (so `""` is a word: the empty string).
    had_quotes: bool,
}

impl Word {
    fn text(&self, from: usize) -> String {
        self.chars[from..].iter().map(|(c, _)| *c).collect()
    }

    fn any_quoted(&self, from: usize) -> bool {
        self.chars[from..].iter().any(|(_, q)| *q)
    }

    fn rest(&self, from: usize) -> Word {
        Word {
            col: self.col + from,
            chars: self.chars[from..].to_vec(),
            had_quotes: self.had_quotes,
        }
    }
}

/// Splits on spaces outside quotes; quotes are removed and mark what they held.
fn words(text: &str) -> Result<Vec<Word>> {
    let mut out = Vec::new();
    let mut cur: Option<Word> = None;
    let mut quote_col = None;
    let mut chars = text.chars().enumerate().map(|(i, c)| (i + 1, c));
    while let Some((col, c)) = chars.next() {
        if quote_col.is_none() && c.is_whitespace() {
            out.extend(cur.take());
            continue;
        }
        let word = cur.get_or_insert_with(|| Word {
            col,
            chars: Vec::new(),
            had_quotes: false,
        });
        if quote_col.is_some() {
            match c {
                '"' => quote_col = None,
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\'))) => word.chars.push((e, true)),
                    _ => return Err(at(col, "inside quotes, '\\' escapes only '\"' or '\\'")),
                },
                c => word.chars.push((c, true)),
            }
        } else if c == '"' {
            quote_col = Some(col);
            word.had_quotes = true;
        } else {
            word.chars.push((c, false));
        }
    }
    if let Some(col) = quote_col {
        return Err(at(col, "this quote is not closed"));
    }
    out.extend(cur);
    Ok(out)
}

/// Splits "1.5mb" into (1.5, "mb").
fn number_unit(s: &str) -> Option<(f64, String)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n: f64 = s[..end].parse().ok()?;
    (n.is_finite() && n >= 0.0).then(|| (n, s[end..].to_ascii_lowercase()))
}

fn size(s: &str) -> std::result::Result<u64, String> {
    let (n, unit) = number_unit(s).ok_or_else(|| format!("{s:?} is not a size (like 10kb)"))?;
    let mult: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        u => return Err(format!("unknown size unit {u:?} (b, kb, mb, gb)")),
    };
    Ok((n * mult).min(u64::MAX as f64) as u64)
}

fn age(s: &str) -> std::result::Result<i64, String> {
    let (n, unit) = number_unit(s).ok_or_else(|| format!("{s:?} is not a duration (like 2h)"))?;
    let mult: f64 = match unit.as_str() {
        "ms" => 1.0,
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

/// The operators of a member condition, longest first.
const OPS: [&str; 7] = ["!=", ">=", "<=", "=", ">", "<", "~"];

/// Where the first unquoted operator of a word starts, and which.
fn find_op(w: &Word) -> Option<(usize, &'static str)> {
    for i in 0..w.chars.len() {
        let (c, quoted) = w.chars[i];
        if quoted || !matches!(c, '!' | '>' | '<' | '=' | '~') {
            continue;
        }
        let next = w.chars.get(i + 1).filter(|(_, q)| !q).map(|(c, _)| *c);
        for op in OPS {
            let mut oc = op.chars();
            let first = oc.next();
            let second = oc.next();
            if first == Some(c) && (second.is_none() || second == next) {
                return Some((i, op));
            }
        }
    }
    None
}

/// An unquoted literal: a number, `true`, `false`, `null`, or else a string.
fn literal(text: &str, quoted: bool) -> Literal {
    if quoted {
        return Literal::String(text.to_string());
    }
    match text {
        "true" => Literal::Bool(true),
        "false" => Literal::Bool(false),
        "null" => Literal::Null,
        t => number(t).map_or_else(|| Literal::String(t.to_string()), Literal::Number),
    }
}

/// A plain number (no `NaN`, `inf` or leading `+`), integers kept exact, others read
/// exactly as the nearest double.
fn number(t: &str) -> Option<Number> {
    if !t.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return None;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(i.into());
    }
    if let Ok(u) = t.parse::<u64>() {
        return Some(u.into());
    }
    t.parse::<f64>().ok().and_then(Number::from_f64)
}

fn term(w: &Word, vocab: &Vocabulary) -> Result<Term> {
    // A leading `!` negates, unless it starts the operator `!=`.
    let bang = matches!(w.chars.first(), Some(('!', false)))
        && w.chars.len() > 1
        && w.chars.get(1) != Some(&('=', false));
    let body = if bang { w.rest(1) } else { w.rest(0) };
    let (test, flip) = test(&body, vocab)?;
    Ok(Term {
        negated: bang != flip,
        test,
    })
}

/// The test of a word, and whether its operator negates it (`a!=b` is `!(a=b)`).
fn test(w: &Word, vocab: &Vocabulary) -> Result<(Test, bool)> {
    let text = w.text(0);
    let quoted = w.any_quoted(0) || w.had_quotes;
    let prefixed = |name: &str| -> Option<String> {
        let n = name.len();
        let head = w.chars.get(..=n)?;
        let named = head[..n]
            .iter()
            .zip(name.chars())
            .all(|((c, q), e)| !q && c.eq_ignore_ascii_case(&e));
        (named && head[n] == (':', false)).then(|| w.text(n + 1))
    };
    let needs = |name: &str, v: String| -> Result<String> {
        if v.is_empty() && !quoted {
            Err(at(w.col, format!("{name}: needs a value")))
        } else {
            Ok(v)
        }
    };
    let plain = |t: Test| Ok((t, false));
    if text.eq_ignore_ascii_case("reviewed") && !quoted {
        return plain(Test::Member(
            Path(vec![vocab.reviewed_field.clone()]),
            MemberOp::Eq(Literal::Bool(true)),
        ));
    }
    if let Some(v) = prefixed("by") {
        return plain(Test::By(needs("by", v)?.to_ascii_lowercase()));
    }
    if let Some(v) = prefixed("key") {
        return plain(Test::Key(needs("key", v)?.to_ascii_lowercase()));
    }
    if let Some(v) = prefixed("action") {
        return plain(Test::Member(
            Path(vec![vocab.action_field.clone()]),
            MemberOp::Eq(Literal::String(needs("action", v)?)),
        ));
    }
    if let Some(v) = prefixed("has") {
        if quoted {
            return Err(at(w.col, "a member path cannot be quoted"));
        }
        return plain(Test::Member(
            Path::parse_at(&v, w.col + 4)?,
            MemberOp::Exists,
        ));
    }
    let Some((i, op)) = find_op(w) else {
        return plain(Test::Key(text.to_ascii_lowercase()));
    };
    let path_text: String = w.chars[..i].iter().map(|(c, _)| *c).collect();
    if w.chars[..i].iter().any(|(_, q)| *q) {
        return Err(at(w.col, "a member path cannot be quoted"));
    }
    let vstart = i + op.len();
    let vtext = w.text(vstart);
    let vquoted = w.any_quoted(vstart) || (w.had_quotes && vtext.is_empty());
    let vcol = w.col + vstart;
    if vtext.is_empty() && !vquoted {
        return Err(at(vcol, format!("{path_text}{op} needs a value")));
    }
    let cmp = match op {
        "<" => Some(Cmp::Lt),
        "<=" => Some(Cmp::Le),
        ">" => Some(Cmp::Gt),
        ">=" => Some(Cmp::Ge),
        _ => None,
    };
    // The metadata comparisons: `size` and `updated` with an ordering.
    if let Some(cmp) = cmp
        && !vquoted
    {
        if path_text.eq_ignore_ascii_case("size") {
            let n = size(&vtext).map_err(|e| at(vcol, e))?;
            return plain(Test::Size(cmp, n));
        }
        if path_text.eq_ignore_ascii_case("updated") {
            let ms = age(&vtext).map_err(|e| at(vcol, e))?;
            return plain(Test::Age(cmp, ms));
        }
    }
    let path = Path::parse_at(&path_text, w.col)?;
    let lit = literal(&vtext, vquoted);
    let (mop, flip) = match (op, cmp) {
        (_, Some(cmp)) => match lit {
            Literal::Number(_) | Literal::String(_) => (MemberOp::Ord(cmp, lit), false),
            _ => {
                return Err(at(
                    vcol,
                    format!("{op} compares with a number or a string, not {vtext}"),
                ));
            }
        },
        ("=", _) => (MemberOp::Eq(lit), false),
        ("!=", _) => (MemberOp::Eq(lit), true),
        _ => (MemberOp::Contains(vtext.to_ascii_lowercase()), false),
    };
    Ok((Test::Member(path, mop), flip))
}

/// Parses a query with the default vocabulary.
pub fn parse(text: &str) -> Result<Query> {
    parse_with(text, &Vocabulary::default())
}

/// Parses a query; `reviewed` and `action:` name the members of `vocab`.
pub fn parse_with(text: &str, vocab: &Vocabulary) -> Result<Query> {
    if text.len() > MAX_QUERY_LEN {
        return Err(Error::invalid(format!(
            "invalid query: longer than {MAX_QUERY_LEN} bytes"
        )));
    }
    let terms = words(text)?
        .iter()
        .map(|w| term(w, vocab))
        .collect::<Result<Vec<Term>>>()?;
    Ok(Query { terms })
}

/// A query parameter as given on a surface (`--where`, `?where=`): absent or blank is none.
pub fn parse_opt(text: Option<&str>) -> Result<Option<Query>> {
    match text {
        Some(t) if !t.trim().is_empty() => parse(t).map(Some),
        _ => Ok(None),
    }
}

impl Query {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The query with one more term.
    pub fn and(mut self, term: Term) -> Query {
        self.terms.push(term);
        self
    }

    /// Whether `doc` passes every term at time `now_ms`: the reference meaning.
    pub fn matches(&self, doc: &Document, now_ms: i64) -> bool {
        self.terms
            .iter()
            .all(|t| t.negated != t.test.matches(doc, now_ms))
    }
}

impl Test {
    fn matches(&self, doc: &Document, now_ms: i64) -> bool {
        let m = &doc.meta;
        match self {
            Test::Key(s) => m.key.to_ascii_lowercase().contains(s),
            Test::By(s) => m.updated_by.to_ascii_lowercase().contains(s),
            Test::Size(c, n) => c.test(&m.size_bytes, n),
            Test::Age(c, ms) => {
                parse_time(&m.updated_at).is_some_and(|t| c.test(&now_ms.saturating_sub(t), ms))
            }
            Test::Member(path, op) => {
                let v = path.lookup(&doc.value);
                match (op, v) {
                    (_, None) => false,
                    (MemberOp::Exists, Some(_)) => true,
                    (MemberOp::Eq(lit), Some(v)) => literal_eq(lit, v),
                    (MemberOp::Ord(c, lit), Some(v)) => match (lit, v) {
                        (Literal::Number(n), Value::Number(x)) => match (x.as_f64(), n.as_f64()) {
                            (Some(a), Some(b)) => c.test(&a, &b),
                            _ => false,
                        },
                        (Literal::String(s), Value::String(x)) => c.test(x.as_str(), s.as_str()),
                        _ => false,
                    },
                    (MemberOp::Contains(s), Some(v)) => match v {
                        Value::Array(items) => items.iter().any(|i| contains(i, s)),
                        v => contains(v, s),
                    },
                }
            }
        }
    }
}

fn literal_eq(lit: &Literal, v: &Value) -> bool {
    match (lit, v) {
        (Literal::Null, Value::Null) => true,
        (Literal::Bool(a), Value::Bool(b)) => a == b,
        (Literal::String(a), Value::String(b)) => a == b,
        (Literal::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => a.as_f64() == b.as_f64(),
        },
        _ => false,
    }
}

/// A scalar's text contains `needle` (lower case); objects and arrays never do.
fn contains(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s.to_ascii_lowercase().contains(needle),
        Value::Number(n) => n.to_string().contains(needle),
        _ => false,
    }
}

/// Writes a string so that the parser reads it back as this string.
fn quoted(f: &mut fmt::Formatter<'_>, s: &str, force: bool) -> fmt::Result {
    let plain = !force
        && !s.is_empty()
        && s.chars().all(|c| {
            !c.is_whitespace() && !matches!(c, '"' | '\\' | '!' | '<' | '>' | '=' | '~' | ':')
        });
    if plain {
        return f.write_str(s);
    }
    f.write_str("\"")?;
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::String(s) => {
                // Text that would read back as a number, a boolean or null is quoted.
                let reads_as_string = matches!(literal(s, false), Literal::String(_));
                quoted(f, s, !reads_as_string)
            }
        }
    }
}

/// Canonical text: parsing it again gives the same query (with the default vocabulary,
/// `reviewed` is written `reviewed=true`).
impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = if self.negated { "!" } else { "" };
        match &self.test {
            Test::Key(s) => {
                f.write_str(neg)?;
                f.write_str("key:")?;
                quoted(f, s, s.is_empty())
            }
            Test::By(s) => {
                f.write_str(neg)?;
                f.write_str("by:")?;
                quoted(f, s, s.is_empty())
            }
            Test::Size(c, n) => write!(f, "{neg}size{}{n}", c.symbol()),
            Test::Age(c, ms) => write!(f, "{neg}updated{}{ms}ms", c.symbol()),
            Test::Member(p, op) => {
                f.write_str(neg)?;
                match op {
                    MemberOp::Exists => write!(f, "has:{p}"),
                    MemberOp::Eq(l) => write!(f, "{p}={l}"),
                    MemberOp::Ord(c, l) => write!(f, "{p}{}{l}", c.symbol()),
                    MemberOp::Contains(s) => {
                        write!(f, "{p}~")?;
                        quoted(f, s, s.is_empty())
                    }
                }
            }
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Meta, format_ms};
    use proptest::prelude::*;
    use serde_json::json;

    const NOW: i64 = 1_772_000_000_000;

    fn doc(key: &str, by: &str, minutes_ago: i64, value: Value) -> Document {
        Document {
            meta: Meta {
                namespace: "ns".into(),
                key: key.into(),
                version: 1,
                size_bytes: crate::model::compact(&value).len() as u64,
                created_at: format_ms(NOW - 86_400_000 * 9),
                updated_at: format_ms(NOW - minutes_ago * 60_000),
                updated_by: by.into(),
                expires_at: None,
                fields: None,
            },
            value,
        }
    }

    fn docs() -> Vec<Document> {
        vec![
            doc(
                "F-001",
                "acme/sec-scanner@1.4",
                10,
                json!({"severity": "high", "tags": ["Secrets", "aws"], "evidence": {"confidence": 0.93},
                       "title": "AWS key in repo", "owner": null}),
            ),
            doc(
                "F-002",
                "acme/dep-auditor",
                60 * 5,
                json!({"severity": "low", "reviewed": true, "action": "Escalate",
                       "evidence": {"confidence": 0.5}, "title": "old lodash", "count": 3}),
            ),
            doc(
                "G-003",
                "tui",
                60 * 24 * 3,
                json!({"severity": "high", "reviewed": false, "tags": "secrets-manager",
                       "title": "sql injection in login", "count": 12, "pad": "x".repeat(20_000)}),
            ),
            doc("H-004", "tui", 1, json!([1, 2, 3])),
        ]
    }

    fn keys(q: &str) -> Vec<String> {
        let q = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        docs()
            .iter()
            .filter(|d| q.matches(d, NOW))
            .map(|d| d.meta.key.clone())
            .collect()
    }

    #[test]
    fn the_old_filter_words_keep_their_meaning() {
        assert_eq!(keys("f-0"), ["F-001", "F-002"]);
        assert_eq!(keys("by:ACME"), ["F-001", "F-002"]);
        assert_eq!(keys("by:acme !reviewed"), ["F-001"]);
        assert_eq!(keys("reviewed"), ["F-002"]);
        assert_eq!(keys("action:Escalate"), ["F-002"]);
        assert_eq!(keys("size>10kb"), ["G-003"]);
        assert_eq!(keys("size<=10"), ["H-004"]);
        assert_eq!(keys("updated<1h"), ["F-001", "H-004"]);
        assert_eq!(keys("updated>2d"), ["G-003"]);
        assert_eq!(keys("!by:tui f"), ["F-001", "F-002"]);
        assert_eq!(keys("by:\"dep-auditor\" key:f"), ["F-002"]);
        assert_eq!(keys("").len(), 4);
        assert_eq!(keys("  "), keys(""));
    }

    #[test]
    fn member_conditions() {
        assert_eq!(keys("severity=high"), ["F-001", "G-003"]);
        assert_eq!(keys("severity=high !reviewed"), ["F-001", "G-003"]);
        assert_eq!(keys("severity!=low"), ["F-001", "G-003", "H-004"]);
        assert_eq!(keys("!severity!=low"), ["F-002"]);
        assert_eq!(keys("evidence.confidence>0.8"), ["F-001"]);
        assert_eq!(keys("evidence.confidence<=0.5"), ["F-002"]);
        assert_eq!(keys("has:owner"), ["F-001"]);
        assert_eq!(keys("!has:evidence.confidence"), ["G-003", "H-004"]);
        assert_eq!(keys("tags~secrets"), ["F-001", "G-003"]);
        assert_eq!(keys("tags~AWS"), ["F-001"]);
        assert_eq!(keys("title~\"sql inj\""), ["G-003"]);
        assert_eq!(keys("title=\"old lodash\""), ["F-002"]);
        assert_eq!(keys("count=3"), ["F-002"]);
        assert_eq!(keys("count=3.0"), ["F-002"]);
        assert_eq!(keys("count=\"3\""), Vec::<String>::new());
        assert_eq!(keys("count>=3 count<12"), ["F-002"]);
        assert_eq!(keys("reviewed=false"), ["G-003"]);
        assert_eq!(keys("owner=null"), ["F-001"]);
        assert_eq!(keys("severity>i"), ["F-002"]);
        assert_eq!(keys("severity<i"), ["F-001", "G-003"]);
        // Ordering across types is no match.
        assert_eq!(keys("severity>1"), Vec::<String>::new());
    }

    #[test]
    fn malformed_queries_say_where_they_broke() {
        for (q, col, what) in [
            ("severity=", 10, "needs a value"),
            ("a b =x", 5, "path is missing"),
            ("ok size>lots", 9, "not a size"),
            ("updated<3", 9, "needs a unit"),
            ("by:", 1, "needs a value"),
            ("x a..b=1", 5, "empty segment"),
            ("a/b=1", 2, "cannot be in a member path"),
            ("title=\"open", 7, "not closed"),
            ("has:", 5, "path is missing"),
            ("n>true", 3, "compares with a number or a string"),
            ("t=\"a\\n\"", 5, "escapes only"),
        ] {
            let e = parse(q).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::InvalidInput, "{q}");
            let msg = e.to_string();
            assert!(msg.contains(&format!("column {col}:")), "{q}: {msg}");
            assert!(msg.contains(what), "{q}: {msg}");
        }
        assert!(parse(&"a".repeat(MAX_QUERY_LEN + 1)).is_err());
    }

    #[test]
    fn the_vocabulary_names_the_triage_members() {
        let v = Vocabulary {
            reviewed_field: "done".into(),
            action_field: "next".into(),
        };
        assert_eq!(
            parse_with("reviewed action:x", &v).unwrap(),
            parse("done=true next=x").unwrap()
        );
    }

    #[test]
    fn json_paths_quote_every_segment() {
        assert_eq!(
            Path::parse("evidence.conf-1").unwrap().json_path(),
            "$.\"evidence\".\"conf-1\""
        );
    }

    fn arb_literal() -> impl Strategy<Value = Literal> {
        prop_oneof![
            Just(Literal::Null),
            any::<bool>().prop_map(Literal::Bool),
            any::<i64>().prop_map(|n| Literal::Number(n.into())),
            (-1e9f64..1e9).prop_map(|f| Literal::Number(Number::from_f64(f).unwrap())),
            "\\PC{0,12}".prop_map(Literal::String),
        ]
    }

    fn arb_path() -> impl Strategy<Value = Path> {
        prop::collection::vec("[a-zA-Z0-9_$@-]{1,6}", 1..4)
            .prop_filter("metadata names", |segs| {
                !(segs.len() == 1
                    && ["size", "updated"].contains(&segs[0].to_ascii_lowercase().as_str()))
            })
            .prop_map(Path)
    }

    fn arb_cmp() -> impl Strategy<Value = Cmp> {
        prop::sample::select(vec![Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge])
    }

    fn arb_test() -> impl Strategy<Value = Test> {
        prop_oneof![
            "\\PC{1,12}".prop_map(|s| Test::Key(s.to_ascii_lowercase())),
            "\\PC{1,12}".prop_map(|s| Test::By(s.to_ascii_lowercase())),
            (arb_cmp(), any::<u32>()).prop_map(|(c, n)| Test::Size(c, n as u64)),
            (arb_cmp(), any::<u32>()).prop_map(|(c, n)| Test::Age(c, n as i64)),
            (arb_path(), arb_literal()).prop_map(|(p, l)| Test::Member(p, MemberOp::Eq(l))),
            (arb_path(), arb_cmp(), arb_literal())
                .prop_filter("orderable", |(_, _, l)| matches!(
                    l,
                    Literal::Number(_) | Literal::String(_)
                ))
                .prop_map(|(p, c, l)| Test::Member(p, MemberOp::Ord(c, l))),
            (arb_path(), "\\PC{0,12}")
                .prop_map(|(p, s)| Test::Member(p, MemberOp::Contains(s.to_ascii_lowercase()))),
            arb_path().prop_map(|p| Test::Member(p, MemberOp::Exists)),
        ]
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,80}") {
            if let Ok(q) = parse(&text) {
                let _ = q.to_string();
                for d in docs() {
                    let _ = q.matches(&d, NOW);
                    let _ = q.matches(&d, i64::MIN);
                    let _ = q.matches(&d, i64::MAX);
                }
            }
        }

        #[test]
        fn query_like_text_never_panics(
            parts in prop::collection::vec(prop::sample::select(vec![
                "!", "size", "updated", "by:", "action:", "key:", "has:", "reviewed", "a.b",
                "=", "!=", "<", "<=", ">", ">=", "~", "\"", "\\", " ", "1", "0.5", "kb", "h",
                "true", "null", "x", ".", "é", "\u{212A}ey:",
            ]), 0..12),
        ) {
            let _ = parse(&parts.concat());
        }

        #[test]
        fn canonical_text_reads_back_as_the_same_query(
            terms in prop::collection::vec((any::<bool>(), arb_test()), 0..5),
        ) {
            let q = Query {
                terms: terms.into_iter().map(|(negated, test)| Term { negated, test }).collect(),
            };
            let text = q.to_string();
            prop_assert_eq!(parse(&text).map_err(|e| e.to_string()), Ok(q), "{}", text);
        }
    }
}
