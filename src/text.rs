//! Making stored text safe and short for humans: control characters and escapes shown as
//! visible escapes (never sent raw to a terminal), sizes and relative times. Used by the
//! command line's tables and by the TUI.

use std::borrow::Cow;

/// Whether `c` must never reach a terminal raw: a control character (C0, DEL, C1), or a
/// character that reorders or hides what follows it on screen (the bidirectional
/// embeddings, overrides, isolates and marks, and the line and paragraph separators).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every unsafe character (`is_unsafe`) shown as a `\u{..}` escape.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Escapes control characters but keeps newlines: for multi-line text such as pretty JSON.
pub fn escape_controls_keep_lines(s: &str) -> String {
    s.split('\n')
        .map(escape_controls)
        .collect::<Vec<_>>()
        .join("\n")
}

/// JSON text with the unsafe characters serde_json leaves raw (DEL, C1, bidirectional
/// controls) written as `\uXXXX` escapes: still the same JSON, but safe on a terminal.
pub fn terminal_safe_json(text: String) -> String {
    if !text.chars().any(|c| is_unsafe(c) && c != '\n') {
        return text;
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\n".to_string(),
            c if is_unsafe(c) => format!("\\u{:04x}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// A byte count for humans: `512 B`, `1.5 KiB`, `3.0 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// How long ago `then_ms` was, from `now_ms`: `12s`, `5m`, `3h`, `2d`, `7w`.
pub fn relative_time(then_ms: i64, now_ms: i64) -> String {
    let secs = (now_ms - then_ms).max(0) / 1000;
    match secs {
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s if s < 14 * 86_400 => format!("{}d ago", s / 86_400),
        s => format!("{}w ago", s / (7 * 86_400)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_pass_raw() {
        let nasty = "a\u{1b}[31mred\u{7}\u{9b}2J\u{7f}";
        let shown = escape_controls(nasty);
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert_eq!(shown, "a\\u{1b}[31mred\\u{7}\\u{9b}2J\\u{7f}");
        assert!(matches!(escape_controls("plain"), Cow::Borrowed(_)));
        assert_eq!(escape_controls_keep_lines("a\u{1b}\nb"), "a\\u{1b}\nb");
    }

    #[test]
    fn bidirectional_controls_never_pass_raw() {
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{061c}', '\u{2028}', '\u{2029}',
            '\u{85}', '\u{9b}',
        ] {
            let s = format!("name{c}gpj.exe");
            assert!(!escape_controls(&s).contains(c), "{:x}", c as u32);
            let json = serde_json::to_string(&serde_json::json!({ "k": s })).unwrap();
            let safe = terminal_safe_json(json.clone());
            assert!(!safe.contains(c), "{:x}", c as u32);
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
                serde_json::from_str::<serde_json::Value>(&json).unwrap()
            );
        }
        assert_eq!(escape_controls("a\u{202e}b"), "a\\u{202e}b");
        assert!(matches!(escape_controls("été ✓ 日本"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_json_but_loses_raw_controls() {
        let v = serde_json::json!({"k": "x\u{9b}y\u{1b}"});
        let safe = terminal_safe_json(serde_json::to_string_pretty(&v).unwrap());
        assert!(!safe.chars().any(|c| c.is_control() && c != '\n'));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), v);
    }

    #[test]
    fn sizes_and_times_read_well() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(relative_time(0, 5_000), "5s ago");
        assert_eq!(relative_time(0, 7_200_000), "2h ago");
    }
}
