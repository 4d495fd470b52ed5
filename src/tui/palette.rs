//! The command palette (`:`): every command of the keymap table, every namespace ("go
//! to"), every sort column and every profile of the config file, narrowed by a fuzzy
//! query (a subsequence scorer that prefers consecutive letters and word starts).
//! Choosing an entry runs exactly what its key would.

use super::action::Effect;
use super::app::{App, Modal, Pane};
use super::components::keys::SortCol;
use super::keymap::{Cmd, Context, is_pane};
use super::update::{focus, open_namespace, run_cmd};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What an entry does.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// A command of the table, run in this context (focusing its pane if needed).
    Cmd(Context, Cmd),
    GoTo(String),
    Profile(String),
    SortBy(SortCol),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub title: String,
    /// Shown at the right: the keys, or what kind of entry it is.
    pub detail: String,
    pub choice: Choice,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PaletteState {
    pub query: String,
    pub entries: Vec<Entry>,
    /// (index into `entries`, positions of the matched characters of its title), best first.
    pub shown: Vec<(usize, Vec<usize>)>,
    /// Index into `shown`.
    pub selected: usize,
}

fn boundary(prev: Option<char>) -> bool {
    prev.is_none_or(|c| !c.is_alphanumeric())
}

/// Scores `text` against `query` (case-insensitive subsequence): `None` when some query
/// character is missing; higher is better. Also returns the matched character positions.
pub fn score(query: &str, text: &str) -> Option<(i64, Vec<usize>)> {
    let q: Vec<char> = query
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let t: Vec<char> = text.chars().collect();
    let lower: Vec<char> = t
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    if q.is_empty() {
        return Some((0, Vec::new()));
    }
    let mut best: Option<(i64, Vec<usize>)> = None;
    // Try each start of the first character; match the rest greedily from there.
    for start in (0..lower.len()).filter(|&i| lower[i] == q[0]) {
        let mut pos = vec![start];
        let mut i = start + 1;
        for &qc in &q[1..] {
            // Prefer the next character right here, else a word start, else the first hit.
            let rest = i..lower.len();
            let next = if lower.get(i) == Some(&qc) {
                Some(i)
            } else {
                rest.clone()
                    .find(|&j| lower[j] == qc && boundary(j.checked_sub(1).map(|p| t[p])))
                    .or_else(|| rest.clone().find(|&j| lower[j] == qc))
            };
            let Some(j) = next else {
                pos.clear();
                break;
            };
            pos.push(j);
            i = j + 1;
        }
        if pos.is_empty() {
            continue;
        }
        let mut s: i64 = 0;
        for (n, &p) in pos.iter().enumerate() {
            s += 16;
            if boundary(p.checked_sub(1).map(|x| t[x])) {
                s += 20;
            }
            if n > 0 {
                let gap = (p - pos[n - 1] - 1) as i64;
                if gap == 0 {
                    s += 24;
                } else {
                    s -= gap.min(20);
                }
            }
        }
        s -= (pos[0] as i64).min(15);
        if best.as_ref().is_none_or(|(b, _)| s > *b) {
            best = Some((s, pos));
        }
    }
    best
}

fn sort_name(c: SortCol) -> &'static str {
    match c {
        SortCol::Key => "key",
        SortCol::Version => "version",
        SortCol::Updated => "updated",
        SortCol::By => "updated by",
        SortCol::Size => "size",
    }
}

/// Every entry the palette offers now.
pub fn entries(app: &App) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for (b, label) in app.keymap.rows() {
        if !(b.ctx == Context::Global || is_pane(b.ctx)) || b.cmd == Cmd::Palette {
            continue;
        }
        if out
            .iter()
            .any(|e| e.title == b.desc && matches!(e.choice, Choice::Cmd(_, c) if c == b.cmd))
        {
            continue;
        }
        let place = match b.ctx {
            Context::Global => String::new(),
            c => format!(" · {}", c.name()),
        };
        out.push(Entry {
            title: b.desc.to_string(),
            detail: format!("{label}{place}")
                .trim_start_matches(" · ")
                .to_string(),
            choice: Choice::Cmd(b.ctx, b.cmd),
        });
    }
    for s in &app.namespaces.items {
        out.push(Entry {
            title: format!("go to namespace {}", s.namespace),
            detail: format!("{} docs", s.documents),
            choice: Choice::GoTo(s.namespace.clone()),
        });
    }
    for c in [
        SortCol::Key,
        SortCol::Version,
        SortCol::Updated,
        SortCol::By,
        SortCol::Size,
    ] {
        out.push(Entry {
            title: format!("sort by {}", sort_name(c)),
            detail: "keys".into(),
            choice: Choice::SortBy(c),
        });
    }
    for p in &app.profiles {
        out.push(Entry {
            title: format!("switch profile {p}"),
            detail: "profile".into(),
            choice: Choice::Profile(p.clone()),
        });
    }
    out
}

impl PaletteState {
    pub fn new(entries: Vec<Entry>) -> PaletteState {
        let mut p = PaletteState {
            query: String::new(),
            entries,
            shown: Vec::new(),
            selected: 0,
        };
        p.refresh();
        p
    }

    /// Re-ranks the entries for the query (ties keep the table order).
    pub fn refresh(&mut self) {
        let mut scored: Vec<(i64, usize, Vec<usize>)> = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| score(&self.query, &e.title).map(|(s, pos)| (s, i, pos)))
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.shown = scored.into_iter().map(|(_, i, p)| (i, p)).collect();
        self.selected = 0;
    }

    pub fn current(&self) -> Option<&Entry> {
        self.shown
            .get(self.selected)
            .and_then(|(i, _)| self.entries.get(*i))
    }
}

/// Opens the palette.
pub fn open(app: &mut App) {
    app.modal = Some(Modal::Palette(Box::new(PaletteState::new(entries(app)))));
}

/// A key while the palette is open; returns the palette when it stays open.
pub fn on_key(
    app: &mut App,
    mut p: Box<PaletteState>,
    cmd: Option<Cmd>,
    key: KeyEvent,
    fx: &mut Vec<Effect>,
) -> Option<Modal> {
    match (cmd, key.code) {
        (Some(Cmd::Cancel), _) => return None,
        (Some(Cmd::Up), _) => p.selected = p.selected.saturating_sub(1),
        (Some(Cmd::Down), _) => p.selected = (p.selected + 1).min(p.shown.len().saturating_sub(1)),
        (Some(Cmd::Confirm), _) => {
            match p.current() {
                Some(e) => choose(app, e.choice.clone(), fx),
                None => app.error("no entry matches"),
            }
            // A command may have opened a dialog of its own; keep it.
            return app.modal.take();
        }
        (_, KeyCode::Backspace) => {
            p.query.pop();
            p.refresh();
        }
        (_, KeyCode::Char(c)) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            p.query.push(c);
            p.refresh();
        }
        _ => {}
    }
    Some(Modal::Palette(p))
}

fn pane_of(ctx: Context) -> Option<Pane> {
    match ctx {
        Context::Namespaces => Some(Pane::Namespaces),
        Context::Keys => Some(Pane::Keys),
        Context::Document => Some(Pane::Document),
        _ => None,
    }
}

/// Does what the entry says.
pub fn choose(app: &mut App, choice: Choice, fx: &mut Vec<Effect>) {
    match choice {
        Choice::Cmd(ctx, cmd) => {
            // Run it where the user is when it applies there, else in its own pane.
            let here = app.context();
            let applies_here = app
                .keymap
                .rows()
                .any(|(b, _)| b.cmd == cmd && (b.ctx == here || b.ctx == Context::Global));
            if !applies_here && let Some(pane) = pane_of(ctx) {
                if pane != Pane::Namespaces && app.keys.ns.is_none() {
                    app.error("choose a namespace first");
                    return;
                }
                focus(app, pane, fx);
            }
            run_cmd(app, cmd, fx);
        }
        Choice::GoTo(ns) => {
            if let Some(i) = app.namespaces.items.iter().position(|s| s.namespace == ns) {
                app.namespaces.selected = i;
            }
            open_namespace(app, &ns, fx);
            focus(app, Pane::Keys, fx);
        }
        Choice::SortBy(col) => {
            app.keys.sort = col;
            app.keys.refresh_view();
            app.info(format!("sorted by {}", sort_name(col)));
        }
        Choice::Profile(name) => {
            app.info(format!("opening profile {name}…"));
            fx.push(Effect::SwitchProfile { name });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::action::Action;
    use crate::tui::update::tests::loaded_app;
    use crate::tui::update::update;

    #[test]
    fn the_scorer_prefers_word_starts_and_runs() {
        assert!(score("xyz", "mark reviewed").is_none());
        assert_eq!(score("", "anything").map(|s| s.0), Some(0));
        let (_, pos) = score("mr", "mark reviewed").unwrap();
        assert_eq!(pos, vec![0, 5]);
        let a = score("rev", "mark reviewed").unwrap().0;
        let b = score("rev", "reload everything here").unwrap().0;
        assert!(a > b, "{a} <= {b}");
        let exact = score("quit", "quit").unwrap().0;
        let spread = score("quit", "sequential unit").unwrap().0;
        assert!(exact > spread);
        // Case-insensitive, and spaces in the query are ignored.
        assert!(score("GO find", "go to namespace findings").is_some());
    }

    fn key(c: char) -> Action {
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn typed(app: &mut App, s: &str) -> Vec<Effect> {
        s.chars().flat_map(|c| update(app, key(c))).collect()
    }

    fn enter(app: &mut App) -> Vec<Effect> {
        update(
            app,
            Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        )
    }

    #[test]
    fn choosing_an_entry_runs_its_command() {
        let mut app = loaded_app(false, 140);
        typed(&mut app, ":");
        let Some(Modal::Palette(p)) = &app.modal else {
            panic!("no palette")
        };
        // Every table command of the panes and every namespace is offered.
        assert!(p.entries.iter().any(|e| e.title == "mark reviewed"));
        assert!(
            p.entries
                .iter()
                .any(|e| e.choice == Choice::GoTo("checkpoints".into()))
        );
        typed(&mut app, "unrev");
        let Some(Modal::Palette(p)) = &app.modal else {
            panic!("no palette")
        };
        assert_eq!(p.current().unwrap().title, "only unreviewed");
        assert!(!app.keys.unreviewed_only);
        enter(&mut app);
        assert!(app.modal.is_none());
        assert!(app.keys.unreviewed_only);

        // Quit.
        typed(&mut app, ":quit");
        let fx = enter(&mut app);
        assert!(app.quit);
        assert_eq!(fx, vec![Effect::Quit]);
    }

    #[test]
    fn palette_goes_to_namespaces_sorts_copies_and_switches_profiles() {
        let mut app = loaded_app(false, 140);
        app.profiles = vec!["team".into()];
        typed(&mut app, ":go check");
        let fx = enter(&mut app);
        assert_eq!(app.keys.ns.as_deref(), Some("checkpoints"));
        assert_eq!(app.focus, Pane::Keys);
        assert!(
            fx.iter()
                .any(|e| matches!(e, Effect::LoadKeys { ns, .. } if ns == "checkpoints"))
        );

        let mut app = loaded_app(false, 140);
        typed(&mut app, ":sort by size");
        enter(&mut app);
        assert_eq!(app.keys.sort, SortCol::Size);

        // Copy as command from the namespaces pane: runs in the keys pane.
        let mut app = loaded_app(false, 140);
        typed(&mut app, ":copy as console");
        let fx = enter(&mut app);
        assert_eq!(
            fx.last(),
            Some(&Effect::Copy {
                text: "console get findings k1".into()
            })
        );
        assert!(
            app.message
                .as_ref()
                .unwrap()
                .text
                .starts_with("copied console get")
        );

        let mut app = loaded_app(false, 140);
        app.profiles = vec!["team".into()];
        typed(&mut app, ":switch team");
        let fx = enter(&mut app);
        assert_eq!(
            fx,
            vec![Effect::SwitchProfile {
                name: "team".into()
            }]
        );
    }

    #[test]
    fn a_command_that_opens_a_dialog_keeps_it() {
        let mut app = loaded_app(false, 140);
        typed(&mut app, ":help");
        enter(&mut app);
        assert!(matches!(app.modal, Some(Modal::Help { .. })));
    }
}
