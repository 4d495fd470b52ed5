//! The validated names of the data model (workspace, namespace, key), the document and
//! its metadata, and the merge-patch rule. Every backend and front end validates through
//! these types, so each rule lives here once.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

fn is_slug(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// `is_slug` as a regular expression, for the OpenAPI document.
pub const NAMESPACE_PATTERN: &str = "^[a-z][a-z0-9-]{0,63}$";

/// `is_key` as a regular expression, for the OpenAPI document.
pub const KEY_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$";

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-')
}

fn is_key(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| is_key_char(*c))
}

/// Whether `s` may be a key prefix in a listing: key characters only, at most 256.
pub fn validate_prefix(s: &str) -> Result<()> {
    if s.len() <= 256 && s.bytes().all(is_key_char) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "invalid prefix {}: use letters, digits, '.', '_' and '-' (at most 256)",
            shown(s)
        )))
    }
}

/// A name quoted for an error message, with control characters escaped and long names cut.
pub fn shown(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    let mut out = format!("{cut:?}");
    if cut.len() < s.len() {
        out.push('…');
    }
    out
}

macro_rules! name_type {
    ($name:ident, $check:expr, $what:literal, $rule:literal) => {
        #[doc = concat!("A validated ", $what, " name: ", $rule, ".")]
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self> {
                if $check(s) {
                    Ok($name(s.to_string()))
                } else {
                    Err(Error::invalid(format!(
                        concat!("invalid ", $what, " {}: ", $rule),
                        shown(s)
                    )))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                $name::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    Workspace,
    is_slug,
    "workspace",
    "lowercase letters, digits and '-', starting with a letter, 1-64 characters"
);
name_type!(
    Namespace,
    is_slug,
    "namespace",
    "lowercase letters, digits and '-', starting with a letter, 1-64 characters"
);
name_type!(
    Key,
    is_key,
    "key",
    "letters, digits, '.', '_' and '-', starting with a letter or digit, 1-256 characters"
);

/// A stored value must be a JSON object or array.
pub fn validate_value(value: &Value) -> Result<()> {
    match value {
        Value::Object(_) | Value::Array(_) => Ok(()),
        other => Err(Error::invalid(format!(
            "a document must be a JSON object or array, not {}",
            json_type(other)
        ))),
    }
}

/// Parses a document value from text: JSON, and an object or array.
pub fn parse_value(text: &[u8]) -> Result<Value> {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid(
            "the value is empty: give a JSON object or array",
        ));
    }
    let value: Value = serde_json::from_slice(text)
        .map_err(|e| Error::invalid(format!("the value is not valid JSON: {e}")))?;
    validate_value(&value)?;
    Ok(value)
}

/// Parses a merge-patch: a JSON object.
pub fn parse_patch(text: &[u8]) -> Result<Map<String, Value>> {
    match parse_value(text)? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::invalid("a patch must be a JSON object")),
    }
}

pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Applies a top-level merge-patch: each member replaces the stored one; `null` removes it.
pub fn merge_patch(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (name, value) in patch {
        if value.is_null() {
            target.shift_remove(&name);
        } else {
            target.insert(name, value);
        }
    }
}

/// The largest version a document may be created with (`initial_version`): 2^53 - 1,
/// exact in every JSON reader, and far enough below the 2^63 - 1 the stores keep that a
/// document created with it stays writable.
pub const MAX_INITIAL_VERSION: u64 = (1 << 53) - 1;

/// The largest version the stores keep (and so the largest `If-Match` that can match).
pub const MAX_VERSION: u64 = i64::MAX as u64;

/// Checks an `initial_version` (0 is taken as 1).
pub fn check_initial_version(v: u64) -> Result<u64> {
    if v > MAX_INITIAL_VERSION {
        return Err(Error::invalid(format!(
            "initial_version must be at most {MAX_INITIAL_VERSION} (got {v})"
        )));
    }
    Ok(v.max(1))
}

/// The version after `v`, refused (not wrapped, not a storage error) at the limit.
pub fn next_version(v: u64) -> Result<u64> {
    v.checked_add(1)
        .filter(|n| *n <= MAX_VERSION)
        .ok_or_else(|| Error::invalid("this document has reached the largest version"))
}

/// Adds `by` to the numeric member `field` of `target` (created as `by` when missing) and
/// returns the new number. Integers stay integers unless the sum overflows.
pub fn increment(
    target: &mut Map<String, Value>,
    field: &str,
    by: &serde_json::Number,
) -> Result<Value> {
    if field.is_empty() {
        return Err(Error::invalid("the field name is empty"));
    }
    let next = match target.get(field) {
        None => Value::Number(by.clone()),
        Some(Value::Number(n)) => add_numbers(n, by)?,
        Some(other) => {
            return Err(Error::invalid(format!(
                "member {} is {}, not a number",
                shown(field),
                json_type(other)
            )));
        }
    };
    target.insert(field.to_string(), next.clone());
    Ok(next)
}

/// The integer of a JSON number that is one (`None` for a float).
fn integer(n: &serde_json::Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// Two integers add as integers, within the 64-bit signed range the stores keep exact
/// (a sum past it is refused, never rounded to a float); anything else adds as floats.
fn add_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Result<Value> {
    if let (Some(x), Some(y)) = (integer(a), integer(b)) {
        return i64::try_from(x + y).map(Value::from).map_err(|_| {
            Error::invalid(format!(
                "{a} + {b} is outside the integer range {}..={}",
                i64::MIN,
                i64::MAX
            ))
        });
    }
    let sum = a.as_f64().unwrap_or(f64::NAN) + b.as_f64().unwrap_or(f64::NAN);
    serde_json::Number::from_f64(sum)
        .map(Value::Number)
        .ok_or_else(|| Error::invalid("the sum is not a finite number"))
}

/// The members `names` of a stored object's JSON text (absent ones are left out; a value
/// that is not an object has none).
pub fn pick_fields(text: &str, names: &[String]) -> Map<String, Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut map)) => names
            .iter()
            .filter_map(|n| map.shift_remove(n).map(|v| (n.clone(), v)))
            .collect(),
        _ => Map::new(),
    }
}

/// Bytes of the compact JSON encoding: the size every quota counts.
pub fn compact(value: &Value) -> String {
    serde_json::to_string(value).expect("a serde_json::Value always serializes")
}

/// A document's metadata: the metadata envelope of the wire contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub namespace: String,
    pub key: String,
    pub version: u64,
    pub size_bytes: u64,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: String,
    pub expires_at: Option<String>,
    /// In listings that asked for them: the chosen top-level members of the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<serde_json::Map<String, Value>>,
}

impl Meta {
    /// The members of the metadata envelope, as serialised (what `--fields` can pick).
    pub const FIELDS: [&str; 8] = [
        "namespace",
        "key",
        "version",
        "size_bytes",
        "created_at",
        "updated_at",
        "updated_by",
        "expires_at",
    ];
}

/// A document: its metadata and value (the document envelope).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    #[serde(flatten)]
    pub meta: Meta,
    pub value: Value,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// RFC 3339 UTC with millisecond precision, the contract's time format. Every document's
/// metadata carries two, so the digits are written by hand rather than through `fmt`.
pub fn format_ms(ms: i64) -> String {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    }
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let fields = [
        (0, 4, year as u32),
        (5, 2, t.month()),
        (8, 2, t.day()),
        (11, 2, t.hour()),
        (14, 2, t.minute()),
        (17, 2, t.second()),
        (20, 3, t.timestamp_subsec_millis()),
    ];
    for (at, width, mut n) in fields {
        for i in (at..at + width).rev() {
            text[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    text.iter().map(|&b| b as char).collect()
}

/// Parses an RFC 3339 time back to milliseconds.
pub fn parse_time(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    #[test]
    fn meta_fields_are_the_serialised_members() {
        let meta: Meta = serde_json::from_value(serde_json::json!({
            "namespace": "n", "key": "k", "version": 1, "size_bytes": 2,
            "created_at": "t", "updated_at": "t", "updated_by": "b", "expires_at": null
        }))
        .unwrap();
        let value = serde_json::to_value(&meta).unwrap();
        let names: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names, Meta::FIELDS);
    }

    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn names_follow_the_spec() {
        assert!(Namespace::parse("signals").is_ok());
        assert!(Namespace::parse("a-1").is_ok());
        assert!(Namespace::parse(&"a".repeat(64)).is_ok());
        for bad in [
            "",
            "Signals",
            "1abc",
            "-a",
            "a_b",
            "_watch",
            &"a".repeat(65),
        ] {
            assert!(Namespace::parse(bad).is_err(), "{bad}");
        }
        assert!(Key::parse("2026-03-05").is_ok());
        assert!(Key::parse("A.b_c-d").is_ok());
        assert!(Key::parse(&"k".repeat(256)).is_ok());
        for bad in ["", ".a", "_a", "-a", "a/b", "a b", "é", &"k".repeat(257)] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_must_be_objects_or_arrays() {
        assert!(parse_value(b"{}").is_ok());
        assert!(parse_value(b"[1]").is_ok());
        for bad in [
            &b""[..],
            b"  ",
            b"null",
            b"1",
            b"\"s\"",
            b"true",
            b"{",
            b"{} x",
        ] {
            assert_eq!(
                parse_value(bad).unwrap_err().kind,
                crate::error::ErrorKind::InvalidInput
            );
        }
    }

    #[test]
    fn merge_patch_replaces_and_removes_top_level_members() {
        let mut doc = json!({"a": 1, "b": {"x": 1}, "c": 3})
            .as_object()
            .unwrap()
            .clone();
        let patch = json!({"a": 2, "b": {"y": 2}, "c": null, "d": [1]})
            .as_object()
            .unwrap()
            .clone();
        merge_patch(&mut doc, patch);
        assert_eq!(Value::Object(doc), json!({"a": 2, "b": {"y": 2}, "d": [1]}));
    }

    #[test]
    fn increment_creates_adds_and_refuses_non_numbers() {
        let mut doc = Map::new();
        assert_eq!(increment(&mut doc, "n", &5.into()).unwrap(), json!(5));
        assert_eq!(increment(&mut doc, "n", &(-2).into()).unwrap(), json!(3));
        let half = serde_json::Number::from_f64(0.5).unwrap();
        assert_eq!(increment(&mut doc, "n", &half).unwrap(), json!(3.5));
        doc.insert("s".into(), json!("x"));
        assert!(increment(&mut doc, "s", &1.into()).is_err());
        // Integers past the signed 64-bit range are refused, never rounded to a float.
        doc.insert("big".into(), json!(i64::MAX));
        assert!(increment(&mut doc, "big", &1.into()).is_err());
        assert_eq!(doc["big"], json!(i64::MAX));
        assert_eq!(
            increment(&mut doc, "big", &(-1).into()).unwrap(),
            json!(i64::MAX - 1)
        );
        doc.insert("huge".into(), json!(u64::MAX));
        assert_eq!(
            increment(&mut doc, "huge", &i64::MIN.into()).unwrap(),
            json!(i64::MAX)
        );
    }

    #[test]
    fn times_are_rfc3339_millis_utc() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_time("1970-01-01T00:00:01.500Z"), Some(1500));
        assert_eq!(format_ms(1_772_712_345_007), "2026-03-05T12:05:45.007Z");
    }

    proptest! {
        #[test]
        fn times_are_written_as_chrono_writes_them(ms in -62_000_000_000_000i64..300_000_000_000_000) {
            let chrono = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            prop_assert_eq!(format_ms(ms), chrono);
        }
    }

    fn json_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ]
    }

    proptest! {
        #[test]
        fn merge_patch_never_panics_and_obeys_its_rule(
            base in prop::collection::btree_map("[a-d]{1,2}", json_leaf(), 0..6),
            patch in prop::collection::btree_map("[a-d]{1,2}", json_leaf(), 0..6),
        ) {
            let mut doc: Map<String, Value> = base.clone().into_iter().collect();
            let p: Map<String, Value> = patch.clone().into_iter().collect();
            merge_patch(&mut doc, p);
            for (k, v) in &patch {
                if v.is_null() { prop_assert!(!doc.contains_key(k)); }
                else { prop_assert_eq!(doc.get(k), Some(v)); }
            }
            for (k, v) in &base {
                if !patch.contains_key(k) { prop_assert_eq!(doc.get(k), Some(v)); }
            }
        }

        #[test]
        fn name_validation_never_panics_and_agrees_with_the_regex(s in "\\PC{0,70}") {
            let ns_ok = Namespace::parse(&s).is_ok();
            let expect = !s.is_empty() && s.len() <= 64
                && s.chars().next().unwrap().is_ascii_lowercase()
                && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            prop_assert_eq!(ns_ok, expect);
            let _ = Key::parse(&s);
            let _ = parse_value(s.as_bytes());
        }
    }
}
