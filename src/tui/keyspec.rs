//! Key specs ("ctrl-d", "x", "shift-tab") and the keymap in force: the default table of
//! `keymap::BINDINGS` with the user's `[tui.keys]` applied. Lookups, help and hints all go
//! through a `Keymap`, so a remapped key shows everywhere it is described.

use super::keymap::{BINDINGS, Binding, Chord, Cmd, Context, is_pane, matches};
use crate::config::KeyList;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

/// Parses one key spec: optional `ctrl-`, `alt-`, `shift-` prefixes, then a character or a
/// named key (enter, esc, tab, space, backspace, up, down, left, right, home, end, pageup,
/// pagedown, delete, insert, f1..f12).
pub fn parse_key(spec: &str) -> Result<Chord, String> {
    let mut mods = KeyModifiers::NONE;
    let mut rest = spec.trim();
    if rest.is_empty() {
        return Err("empty key spec".into());
    }
    while let Some((head, tail)) = rest.split_once('-') {
        if tail.is_empty() {
            break;
        }
        let m = match head.to_ascii_lowercase().as_str() {
            "ctrl" | "control" | "c" => KeyModifiers::CONTROL,
            "alt" | "meta" | "m" => KeyModifiers::ALT,
            "shift" | "s" => KeyModifiers::SHIFT,
            _ => {
                return Err(format!(
                    "unknown modifier {head:?} in {spec:?} (ctrl, alt, shift)"
                ));
            }
        };
        mods |= m;
        rest = tail;
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) => KeyCode::Char(c),
        _ => match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "delete" | "del" => KeyCode::Delete,
            "insert" | "ins" => KeyCode::Insert,
            f if f.starts_with('f') => match f[1..].parse::<u8>() {
                Ok(n @ 1..=12) => KeyCode::F(n),
                _ => return Err(format!("unknown key {rest:?} in {spec:?}")),
            },
            _ => return Err(format!("unknown key {rest:?} in {spec:?}")),
        },
    };
    // Shift is part of a character ("shift-x" is "X"), and shift-tab is BackTab.
    let code = match code {
        KeyCode::Char(c) if mods.contains(KeyModifiers::SHIFT) => {
            mods.remove(KeyModifiers::SHIFT);
            KeyCode::Char(c.to_uppercase().next().unwrap_or(c))
        }
        KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => {
            mods.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        c => c,
    };
    // Terminals report ctrl-d as 'd' with Control, whatever the spec's case.
    let code = match code {
        KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) && !spec.contains("shift") => {
            KeyCode::Char(c.to_ascii_lowercase())
        }
        c => c,
    };
    Ok(Chord(code, mods))
}

/// How a chord is written in help and hints ("C-d", "S-Tab", "x").
pub fn chord_label(c: &Chord) -> String {
    let mut out = String::new();
    if c.1.contains(KeyModifiers::CONTROL) {
        out.push_str("C-");
    }
    if c.1.contains(KeyModifiers::ALT) {
        out.push_str("M-");
    }
    if c.1.contains(KeyModifiers::SHIFT) {
        out.push_str("S-");
    }
    match c.0 {
        KeyCode::Char(' ') => out.push_str("Space"),
        KeyCode::Char(ch) => out.push(ch),
        KeyCode::Enter => out.push('⏎'),
        KeyCode::Esc => out.push_str("Esc"),
        KeyCode::Tab => out.push_str("Tab"),
        KeyCode::BackTab => out.push_str("S-Tab"),
        KeyCode::Backspace => out.push_str("BS"),
        KeyCode::Up => out.push('↑'),
        KeyCode::Down => out.push('↓'),
        KeyCode::Left => out.push('←'),
        KeyCode::Right => out.push('→'),
        KeyCode::Home => out.push_str("Home"),
        KeyCode::End => out.push_str("End"),
        KeyCode::PageUp => out.push_str("PgUp"),
        KeyCode::PageDown => out.push_str("PgDn"),
        KeyCode::Delete => out.push_str("Del"),
        KeyCode::Insert => out.push_str("Ins"),
        KeyCode::F(n) => out.push_str(&format!("F{n}")),
        other => out.push_str(&format!("{other:?}")),
    }
    out
}

/// The keys of one row of the table, as in force.
#[derive(Debug, Clone)]
struct Row {
    keys: Vec<Chord>,
    label: String,
    overridden: bool,
}

/// The table with the user's remaps applied; `rows[i]` belongs to `BINDINGS[i]`.
#[derive(Debug, Clone)]
pub struct Keymap {
    rows: Vec<Row>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        Keymap {
            rows: BINDINGS
                .iter()
                .map(|b| Row {
                    keys: b.keys.to_vec(),
                    label: b.label.to_string(),
                    overridden: false,
                })
                .collect(),
        }
    }
}

fn same(a: &Chord, b: &Chord) -> bool {
    a.0 == b.0 && a.1 == b.1
}

fn label_of(keys: &[Chord]) -> String {
    keys.iter()
        .take(3)
        .map(chord_label)
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a key bound in `a` competes with one bound in `b`.
fn overlaps(a: Context, b: Context) -> bool {
    a == b || (a == Context::Global && is_pane(b)) || (b == Context::Global && is_pane(a))
}

fn context_named(name: &str) -> Option<Context> {
    BINDINGS.iter().map(|b| b.ctx).find(|c| c.name() == name)
}

impl Keymap {
    /// Applies `[tui.keys]`: each entry names a command (`review`, or `keys.review` for one
    /// context) and gives its keys, which replace the defaults and are taken away from any
    /// other command they were bound to there. Errors name the setting.
    pub fn new(overrides: &BTreeMap<String, KeyList>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, keys) in overrides {
            let setting = format!("tui.keys.{name}");
            let norm = name.trim().to_ascii_lowercase().replace('_', "-");
            let (ctx, cmd_name) = match norm.split_once('.') {
                Some((c, n)) => match context_named(c) {
                    Some(ctx) => (Some(ctx), n.to_string()),
                    None => return Err(format!("{setting}: unknown context {c:?}")),
                },
                None => (None, norm.clone()),
            };
            let rows: Vec<usize> = BINDINGS
                .iter()
                .enumerate()
                .filter(|(_, b)| b.cmd.name() == cmd_name && ctx.is_none_or(|c| c == b.ctx))
                .map(|(i, _)| i)
                .collect();
            if rows.is_empty() {
                let mut known: Vec<&str> = BINDINGS.iter().map(|b| b.cmd.name()).collect();
                known.sort_unstable();
                known.dedup();
                return Err(format!(
                    "{setting}: no command {cmd_name:?} (known: {})",
                    known.join(", ")
                ));
            }
            let specs = keys.specs();
            if specs.is_empty() {
                return Err(format!("{setting}: give at least one key"));
            }
            let chords = specs
                .iter()
                .map(|s| parse_key(s).map_err(|e| format!("{setting}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            for &i in &rows {
                // Two remaps may not claim the same key where both apply.
                for (j, other) in map.rows.iter().enumerate() {
                    if j != i
                        && other.overridden
                        && BINDINGS[j].ctx == BINDINGS[i].ctx
                        && BINDINGS[j].cmd != BINDINGS[i].cmd
                        && other.keys.iter().any(|k| chords.iter().any(|c| same(k, c)))
                    {
                        return Err(format!(
                            "{setting}: {} is already bound to {} by [tui.keys]",
                            label_of(&chords),
                            BINDINGS[j].cmd.name()
                        ));
                    }
                }
                map.rows[i] = Row {
                    keys: chords.clone(),
                    label: label_of(&chords),
                    overridden: true,
                };
            }
            // The remapped keys leave the commands they were bound to.
            for (row, bj) in map.rows.iter_mut().zip(BINDINGS) {
                if row.overridden {
                    continue;
                }
                let hit = rows.iter().any(|&i| {
                    overlaps(BINDINGS[i].ctx, bj.ctx)
                        // A pane remap shadows a global key only in that pane already.
                        && !(bj.ctx == Context::Global && is_pane(BINDINGS[i].ctx))
                });
                if !hit {
                    continue;
                }
                let before = row.keys.len();
                row.keys.retain(|k| !chords.iter().any(|c| same(k, c)));
                if row.keys.len() != before {
                    row.label = label_of(&row.keys);
                }
            }
        }
        Ok(map)
    }

    /// The command `key` has in `ctx`; pane contexts fall back to the global bindings.
    pub fn lookup(&self, ctx: Context, key: &KeyEvent) -> Option<Cmd> {
        let find = |c: Context| {
            BINDINGS
                .iter()
                .zip(&self.rows)
                .filter(|(b, _)| b.ctx == c)
                .find(|(_, r)| r.keys.iter().any(|ch| matches(ch, key)))
                .map(|(b, _)| b.cmd)
        };
        find(ctx).or_else(|| {
            if is_pane(ctx) {
                find(Context::Global)
            } else {
                None
            }
        })
    }

    /// The hints for the status bar when `ctx` has focus.
    pub fn hints(&self, ctx: Context) -> Vec<(String, &'static str)> {
        // The global hints first (help, quit, palette), then the context's own.
        let pane = is_pane(ctx);
        let global = self
            .rows()
            .filter(move |(b, _)| pane && ctx != Context::Global && b.ctx == Context::Global);
        global
            .chain(self.rows().filter(|(b, _)| b.ctx == ctx))
            .filter(|(b, label)| b.hint && !label.is_empty())
            .map(|(b, label)| (label.to_string(), b.desc))
            .collect()
    }

    /// Every row of the table with the label of its keys as in force ("" when unbound).
    pub fn rows(&self) -> impl Iterator<Item = (&'static Binding, &str)> {
        BINDINGS
            .iter()
            .zip(&self.rows)
            .map(|(b, r)| (b, r.label.as_str()))
    }

    /// The label of the keys of `cmd` in `ctx` (or globally), if it has any.
    pub fn label(&self, ctx: Context, cmd: Cmd) -> Option<&str> {
        let find = |c: Context| {
            self.rows()
                .find(|(b, l)| b.ctx == c && b.cmd == cmd && !l.is_empty())
                .map(|(_, l)| l)
        };
        find(ctx).or_else(|| find(Context::Global))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    fn remap(pairs: &[(&str, &str)]) -> Result<Keymap, String> {
        let m = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), KeyList::One(v.to_string())))
            .collect();
        Keymap::new(&m)
    }

    #[test]
    fn key_specs_parse_modifiers_and_named_keys() {
        let c = parse_key("ctrl-d").unwrap();
        assert_eq!((c.0, c.1), (KeyCode::Char('d'), KeyModifiers::CONTROL));
        let c = parse_key("x").unwrap();
        assert_eq!((c.0, c.1), (KeyCode::Char('x'), KeyModifiers::NONE));
        let c = parse_key("shift-tab").unwrap();
        assert_eq!((c.0, c.1), (KeyCode::BackTab, KeyModifiers::NONE));
        let c = parse_key("shift-x").unwrap();
        assert_eq!(c.0, KeyCode::Char('X'));
        let c = parse_key("alt-Enter").unwrap();
        assert_eq!((c.0, c.1), (KeyCode::Enter, KeyModifiers::ALT));
        assert_eq!(parse_key("-").unwrap().0, KeyCode::Char('-'));
        assert_eq!(parse_key("ctrl--").unwrap().0, KeyCode::Char('-'));
        assert_eq!(parse_key("f5").unwrap().0, KeyCode::F(5));
        assert_eq!(parse_key("space").unwrap().0, KeyCode::Char(' '));
        for bad in ["", "hyper-x", "ctrl-", "f13", "nope", "ctrl-foo"] {
            assert!(parse_key(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(chord_label(&parse_key("ctrl-d").unwrap()), "C-d");
        assert_eq!(chord_label(&parse_key("shift-tab").unwrap()), "S-Tab");
    }

    #[test]
    fn a_remapped_key_dispatches_its_command_and_leaves_the_old_one() {
        let map = remap(&[("review", "x")]).unwrap();
        let x = ev(KeyCode::Char('x'), KeyModifiers::NONE);
        let r = ev(KeyCode::Char('r'), KeyModifiers::NONE);
        assert_eq!(map.lookup(Context::Keys, &x), Some(Cmd::Review));
        assert_eq!(map.lookup(Context::Document, &x), Some(Cmd::Review));
        assert_eq!(map.lookup(Context::Keys, &r), None);
        // Other contexts keep their own `r`.
        assert_eq!(map.lookup(Context::Conflict, &r), Some(Cmd::ConflictReload));
        assert!(
            map.hints(Context::Keys)
                .iter()
                .any(|(l, d)| l == "x" && *d == "mark reviewed")
        );
        assert_eq!(map.label(Context::Keys, Cmd::Review), Some("x"));
    }

    #[test]
    fn a_remap_takes_its_key_from_the_command_that_had_it() {
        // `d` deletes in the keys pane; bound to quit globally it quits there too.
        let map = remap(&[("quit", "d"), ("page-down", "ctrl-f")]).unwrap();
        let d = ev(KeyCode::Char('d'), KeyModifiers::NONE);
        assert_eq!(map.lookup(Context::Keys, &d), Some(Cmd::Quit));
        let q = ev(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.lookup(Context::Keys, &q), None);
        let cf = ev(KeyCode::Char('f'), KeyModifiers::CONTROL);
        assert_eq!(map.lookup(Context::Keys, &cf), Some(Cmd::PageDown));
        let cd = ev(KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert_eq!(map.lookup(Context::Keys, &cd), None);
        // One context only, and lists of keys.
        let m: BTreeMap<String, KeyList> = [(
            "document.copy_path".to_string(),
            KeyList::Many(vec!["P".into(), "ctrl-y".into()]),
        )]
        .into();
        let map = Keymap::new(&m).unwrap();
        let big_p = ev(KeyCode::Char('P'), KeyModifiers::SHIFT);
        assert_eq!(map.lookup(Context::Document, &big_p), Some(Cmd::CopyPath));
        assert_eq!(map.label(Context::Document, Cmd::CopyPath), Some("P/C-y"));
    }

    #[test]
    fn bad_remaps_are_errors_naming_the_setting() {
        let e = remap(&[("reveiw", "x")]).unwrap_err();
        assert!(e.starts_with("tui.keys.reveiw: no command"), "{e}");
        let e = remap(&[("review", "ctrl-")]).unwrap_err();
        assert!(e.starts_with("tui.keys.review:"), "{e}");
        let e = remap(&[("nowhere.review", "x")]).unwrap_err();
        assert!(e.contains("unknown context"), "{e}");
        let e = remap(&[("review", "x"), ("edit", "x")]).unwrap_err();
        assert!(e.contains("already bound"), "{e}");
    }
}
