//! Copying: OSC 52 (the terminal sets its clipboard from `ESC ] 52 ; c ; base64 BEL`, which
//! travels over SSH and through tmux), the JSON path of each document line (`.a[2].b`),
//! and "copy as command": the `console get` or `curl` command for a document, shell-quoted.

use serde_json::Value;

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// The escape sequence that puts `text` on the terminal's clipboard.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

/// `s` as one shell word: bare when it is only safe characters, else single-quoted.
pub fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Everything but the unreserved characters of RFC 3986 is encoded in a path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one URL path segment (everything but unreserved characters).
pub fn encode_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

/// Where the TUI's data lives, as the command line would say it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    /// `--profile` in use.
    pub profile: Option<String>,
    /// `--remote` URL (when not from a profile).
    pub remote: Option<String>,
    /// `--store` path given explicitly (when not from a profile).
    pub store: Option<String>,
    /// The workspace, when it is not the default one.
    pub workspace: Option<String>,
    /// Base URL for curl: the remote, else the address `console serve` listens on.
    pub base_url: String,
}

/// `console get NS KEY` with the flags that reach the same store.
pub fn console_command(t: &Target, ns: &str, key: &str) -> String {
    let mut words = vec!["console".to_string()];
    if let Some(p) = &t.profile {
        words.extend(["--profile".into(), shell_quote(p)]);
    } else if let Some(r) = &t.remote {
        words.extend(["--remote".into(), shell_quote(r)]);
    } else if let Some(s) = &t.store {
        words.extend(["--store".into(), shell_quote(s)]);
    }
    if let Some(w) = &t.workspace {
        words.extend(["--workspace".into(), shell_quote(w)]);
    }
    words.extend(["get".into(), shell_quote(ns), shell_quote(key)]);
    words.join(" ")
}

/// The `curl` command that reads the document from a server (API key from the environment).
pub fn curl_command(t: &Target, ns: &str, key: &str) -> String {
    let base = if t.base_url.is_empty() {
        "http://127.0.0.1:7474"
    } else {
        t.base_url.trim_end_matches('/')
    };
    let url = format!(
        "{base}/storage/{}/{}",
        encode_segment(ns),
        encode_segment(key)
    );
    format!(
        "curl -H \"Authorization: Bearer $CONSOLE_API_KEY\" {}",
        shell_quote(&url)
    )
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// The path of every display line of `json::lines(v)` (a closing line has its container's).
pub fn line_paths(v: &Value) -> Vec<Vec<Seg>> {
    fn walk(v: &Value, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
        out.push(path.clone());
        let container = match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    path.push(Seg::Key(k.clone()));
                    walk(child, path, out);
                    path.pop();
                }
                true
            }
            Value::Array(a) if !a.is_empty() => {
                for (i, child) in a.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk(child, path, out);
                    path.pop();
                }
                true
            }
            _ => false,
        };
        if container {
            out.push(path.clone());
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// A path as jq writes it: `.findings[2].title`, `.["odd key"]`, `.` for the root.
pub fn path_string(path: &[Seg]) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
            Seg::Key(k) => {
                let ident = k
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && k.chars().all(|c| c.is_alphanumeric() || c == '_');
                if ident {
                    out.push('.');
                    out.push_str(k);
                } else {
                    let q = serde_json::to_string(k).unwrap_or_default();
                    if out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&format!("[{q}]"));
                }
            }
        }
    }
    out
}

/// The value at `path` in `v`.
pub fn at<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, s| match s {
        Seg::Key(k) => v.get(k),
        Seg::Index(i) => v.get(i),
    })
}

/// The text copied for a value: a string's contents, else its JSON (pretty for containers).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => serde_json::to_string_pretty(v).unwrap_or_default(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::json;
    use serde_json::json;

    #[test]
    fn base64_and_osc52_encode_like_the_rfc() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want, "{input}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
        assert_eq!(osc52("héllo"), "\x1b]52;c;aMOpbGxv\x07");
    }

    #[test]
    fn commands_quote_what_the_shell_would_split() {
        assert_eq!(shell_quote("F-001"), "F-001");
        assert_eq!(shell_quote("it's a key"), r"'it'\''s a key'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
        assert_eq!(shell_quote(""), "''");
        let local = Target::default();
        assert_eq!(
            console_command(&local, "findings", "F-1"),
            "console get findings F-1"
        );
        let remote = Target {
            remote: Some("http://127.0.0.1:7474".into()),
            workspace: Some("ops".into()),
            base_url: "http://127.0.0.1:7474/".into(),
            ..Target::default()
        };
        assert_eq!(
            console_command(&remote, "my ns", "a;rm -rf /"),
            "console --remote http://127.0.0.1:7474 --workspace ops get 'my ns' 'a;rm -rf /'"
        );
        assert_eq!(
            curl_command(&remote, "findings", "a b/c'd"),
            "curl -H \"Authorization: Bearer $CONSOLE_API_KEY\" \
             http://127.0.0.1:7474/storage/findings/a%20b%2Fc%27d"
        );
        let profile = Target {
            profile: Some("team".into()),
            remote: Some("http://x".into()),
            ..Target::default()
        };
        assert_eq!(
            console_command(&profile, "n", "k"),
            "console --profile team get n k"
        );
    }

    #[test]
    fn every_display_line_has_its_json_path() {
        let v = json!({"findings": [{"title": "a"}, {"title": "b", "odd key": [1]}], "n": 1});
        let paths = line_paths(&v);
        assert_eq!(paths.len(), json::lines(&v).len());
        let shown: Vec<String> = paths.iter().map(|p| path_string(p)).collect();
        assert_eq!(shown[0], ".");
        assert_eq!(shown[1], ".findings");
        assert_eq!(shown[3], ".findings[0].title");
        assert_eq!(shown[6], ".findings[1].title");
        assert_eq!(shown[8], ".findings[1][\"odd key\"][0]");
        assert_eq!(path_string(&[Seg::Key("a b".into())]), ".[\"a b\"]");
        assert_eq!(shown.last().unwrap(), ".");
        assert_eq!(at(&v, &paths[6]), Some(&json!("b")));
        assert_eq!(value_text(at(&v, &paths[6]).unwrap()), "b");
        assert_eq!(value_text(&json!(3)), "3");
    }
}
