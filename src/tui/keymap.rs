//! The one table of key bindings: it maps a key in a context to a command, and the same
//! table generates the help overlay, the status bar's hints and the command palette, so
//! they never disagree. `keyspec::Keymap` applies the user's `[tui.keys]` on top of it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a key is pressed: a pane, a dialog, or anywhere (global).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    Namespaces,
    Keys,
    Document,
    Editor,
    Conflict,
    Menu,
    Confirm,
    Help,
    History,
    Palette,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Namespaces => "Namespaces pane",
            Context::Keys => "Keys pane",
            Context::Document => "Document pane",
            Context::Editor => "Editor",
            Context::Conflict => "Conflict view",
            Context::Menu => "Action menu",
            Context::Confirm => "Confirmation dialogs",
            Context::Help => "Help",
            Context::History => "History view",
            Context::Palette => "Command palette",
        }
    }

    /// The name of a context in `[tui.keys]` (`"keys.review" = "x"`).
    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Namespaces => "namespaces",
            Context::Keys => "keys",
            Context::Document => "document",
            Context::Editor => "editor",
            Context::Conflict => "conflict",
            Context::Menu => "menu",
            Context::Confirm => "confirm",
            Context::Help => "help",
            Context::History => "history",
            Context::Palette => "palette",
        }
    }
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    DrillIn,
    Back,
    NextPane,
    PrevPane,
    Filter,
    SearchNext,
    SearchPrev,
    ToggleFold,
    FoldPrefix,
    ToggleMark,
    Review,
    ActionMenu,
    UnreviewedOnly,
    Sort,
    SortReverse,
    Edit,
    ExternalEdit,
    Delete,
    DeleteNamespace,
    Reload,
    Help,
    Quit,
    Save,
    Cancel,
    Confirm,
    ConflictReload,
    ConflictOverwrite,
    ConflictBack,
    Undo,
    History,
    DiffSeen,
    Revert,
    Palette,
    CopyValue,
    CopyKey,
    CopyPath,
    CopyCommand,
    CopyCurl,
    Bulk,
}

impl Cmd {
    /// The name a command has in `[tui.keys]` and in the palette.
    pub fn name(self) -> &'static str {
        match self {
            Cmd::Up => "up",
            Cmd::Down => "down",
            Cmd::Top => "top",
            Cmd::Bottom => "bottom",
            Cmd::PageUp => "page-up",
            Cmd::PageDown => "page-down",
            Cmd::DrillIn => "open",
            Cmd::Back => "back",
            Cmd::NextPane => "next-pane",
            Cmd::PrevPane => "prev-pane",
            Cmd::Filter => "filter",
            Cmd::SearchNext => "search-next",
            Cmd::SearchPrev => "search-prev",
            Cmd::ToggleFold => "toggle-fold",
            Cmd::FoldPrefix => "fold-prefix",
            Cmd::ToggleMark => "toggle-mark",
            Cmd::Review => "review",
            Cmd::ActionMenu => "action-menu",
            Cmd::UnreviewedOnly => "unreviewed-only",
            Cmd::Sort => "sort",
            Cmd::SortReverse => "sort-reverse",
            Cmd::Edit => "edit",
            Cmd::ExternalEdit => "external-edit",
            Cmd::Delete => "delete",
            Cmd::DeleteNamespace => "delete-namespace",
            Cmd::Reload => "reload",
            Cmd::Help => "help",
            Cmd::Quit => "quit",
            Cmd::Save => "save",
            Cmd::Cancel => "cancel",
            Cmd::Confirm => "confirm",
            Cmd::ConflictReload => "conflict-reload",
            Cmd::ConflictOverwrite => "conflict-overwrite",
            Cmd::ConflictBack => "conflict-back",
            Cmd::Palette => "palette",
            Cmd::CopyValue => "copy-value",
            Cmd::CopyKey => "copy-key",
            Cmd::CopyPath => "copy-path",
            Cmd::CopyCommand => "copy-command",
            Cmd::CopyCurl => "copy-curl",
            Cmd::Bulk => "bulk",
            Cmd::Undo => "undo",
            Cmd::History => "history",
            Cmd::DiffSeen => "diff-seen",
            Cmd::Revert => "revert",
        }
    }
}

/// One key: a code and the modifiers that must be held (Shift is ignored for characters).
#[derive(Debug, Clone, Copy)]
pub struct Chord(pub KeyCode, pub KeyModifiers);

const fn k(c: char) -> Chord {
    Chord(KeyCode::Char(c), KeyModifiers::NONE)
}
const fn ctrl(c: char) -> Chord {
    Chord(KeyCode::Char(c), KeyModifiers::CONTROL)
}
const fn code(c: KeyCode) -> Chord {
    Chord(c, KeyModifiers::NONE)
}

/// A row of the table.
pub struct Binding {
    pub ctx: Context,
    pub keys: &'static [Chord],
    /// How the keys are written in help and hints.
    pub label: &'static str,
    pub desc: &'static str,
    pub cmd: Cmd,
    /// Shown in the status bar when its context has focus.
    pub hint: bool,
}

const fn b(
    ctx: Context,
    keys: &'static [Chord],
    label: &'static str,
    desc: &'static str,
    cmd: Cmd,
    hint: bool,
) -> Binding {
    Binding {
        ctx,
        keys,
        label,
        desc,
        cmd,
        hint,
    }
}

use Context as C;

pub static BINDINGS: &[Binding] = &[
    b(
        C::Global,
        &[code(KeyCode::Up), k('k')],
        "↑/k",
        "move up",
        Cmd::Up,
        false,
    ),
    b(
        C::Global,
        &[code(KeyCode::Down), k('j')],
        "↓/j",
        "move down",
        Cmd::Down,
        false,
    ),
    b(
        C::Global,
        &[k('g'), code(KeyCode::Home)],
        "g",
        "first",
        Cmd::Top,
        false,
    ),
    b(
        C::Global,
        &[k('G'), code(KeyCode::End)],
        "G",
        "last",
        Cmd::Bottom,
        false,
    ),
    b(
        C::Global,
        &[ctrl('u'), code(KeyCode::PageUp)],
        "C-u",
        "half page up",
        Cmd::PageUp,
        false,
    ),
    b(
        C::Global,
        &[ctrl('d'), code(KeyCode::PageDown)],
        "C-d",
        "half page down",
        Cmd::PageDown,
        false,
    ),
    b(
        C::Global,
        &[code(KeyCode::Enter), code(KeyCode::Right), k('l')],
        "⏎/l",
        "open",
        Cmd::DrillIn,
        false,
    ),
    b(
        C::Global,
        &[code(KeyCode::Esc), code(KeyCode::Left), k('h')],
        "Esc/h",
        "back",
        Cmd::Back,
        false,
    ),
    b(
        C::Global,
        &[code(KeyCode::Tab)],
        "Tab",
        "next pane",
        Cmd::NextPane,
        false,
    ),
    b(
        C::Global,
        &[code(KeyCode::BackTab)],
        "S-Tab",
        "previous pane",
        Cmd::PrevPane,
        false,
    ),
    b(C::Global, &[k('R')], "R", "reload", Cmd::Reload, false),
    b(C::Global, &[k('?')], "?", "help", Cmd::Help, true),
    b(
        C::Global,
        &[k('q'), ctrl('c')],
        "q",
        "quit",
        Cmd::Quit,
        true,
    ),
    b(
        C::Namespaces,
        &[k('D')],
        "D",
        "delete namespace (type its name)",
        Cmd::DeleteNamespace,
        true,
    ),
    b(C::Keys, &[k('/')], "/", "filter keys", Cmd::Filter, true),
    b(C::Keys, &[k('r')], "r", "mark reviewed", Cmd::Review, true),
    b(
        C::Keys,
        &[k('a')],
        "a",
        "choose action",
        Cmd::ActionMenu,
        true,
    ),
    b(
        C::Keys,
        &[k(' ')],
        "Space",
        "select (for r/a)",
        Cmd::ToggleMark,
        true,
    ),
    b(
        C::Keys,
        &[k('u')],
        "u",
        "only unreviewed",
        Cmd::UnreviewedOnly,
        true,
    ),
    b(C::Keys, &[k('s')], "s", "sort column", Cmd::Sort, false),
    b(
        C::Keys,
        &[k('S')],
        "S",
        "reverse sort",
        Cmd::SortReverse,
        false,
    ),
    b(C::Keys, &[k('e')], "e", "edit", Cmd::Edit, true),
    b(
        C::Keys,
        &[k('E')],
        "E",
        "edit in $EDITOR",
        Cmd::ExternalEdit,
        false,
    ),
    b(C::Keys, &[k('d')], "d", "delete (asks)", Cmd::Delete, true),
    b(
        C::Keys,
        &[k('B')],
        "B",
        "bulk action on every match of the query",
        Cmd::Bulk,
        false,
    ),
    b(C::Document, &[k('/')], "/", "search", Cmd::Filter, true),
    b(
        C::Document,
        &[k('n')],
        "n",
        "next match",
        Cmd::SearchNext,
        true,
    ),
    b(
        C::Document,
        &[k('N')],
        "N",
        "previous match",
        Cmd::SearchPrev,
        false,
    ),
    b(
        C::Document,
        &[k(' ')],
        "Space",
        "fold/unfold",
        Cmd::ToggleFold,
        true,
    ),
    b(
        C::Document,
        &[k('z')],
        "za/zM/zR",
        "fold: toggle, all closed, all open",
        Cmd::FoldPrefix,
        false,
    ),
    b(
        C::Document,
        &[k('r')],
        "r",
        "mark reviewed",
        Cmd::Review,
        true,
    ),
    b(
        C::Document,
        &[k('a')],
        "a",
        "choose action",
        Cmd::ActionMenu,
        false,
    ),
    b(C::Document, &[k('e')], "e", "edit", Cmd::Edit, true),
    b(
        C::Document,
        &[k('E')],
        "E",
        "edit in $EDITOR",
        Cmd::ExternalEdit,
        false,
    ),
    b(
        C::Document,
        &[k('d')],
        "d",
        "delete (asks)",
        Cmd::Delete,
        false,
    ),
    b(
        C::Editor,
        &[ctrl('s')],
        "C-s",
        "save (if unchanged since loaded)",
        Cmd::Save,
        true,
    ),
    b(
        C::Editor,
        &[code(KeyCode::Esc)],
        "Esc",
        "close (twice to discard changes)",
        Cmd::Cancel,
        true,
    ),
    b(
        C::Conflict,
        &[k('r')],
        "r",
        "reload: discard mine, load theirs",
        Cmd::ConflictReload,
        true,
    ),
    b(
        C::Conflict,
        &[k('o')],
        "o",
        "overwrite theirs with mine",
        Cmd::ConflictOverwrite,
        true,
    ),
    b(
        C::Conflict,
        &[k('e'), code(KeyCode::Esc)],
        "e/Esc",
        "back to editing",
        Cmd::ConflictBack,
        true,
    ),
    b(
        C::Conflict,
        &[code(KeyCode::Up), k('k')],
        "↑/k",
        "scroll up",
        Cmd::Up,
        false,
    ),
    b(
        C::Conflict,
        &[code(KeyCode::Down), k('j')],
        "↓/j",
        "scroll down",
        Cmd::Down,
        false,
    ),
    b(
        C::Menu,
        &[code(KeyCode::Up), k('k')],
        "↑/k",
        "up",
        Cmd::Up,
        false,
    ),
    b(
        C::Menu,
        &[code(KeyCode::Down), k('j')],
        "↓/j",
        "down",
        Cmd::Down,
        false,
    ),
    b(
        C::Menu,
        &[code(KeyCode::Enter)],
        "⏎",
        "choose (sets action, marks reviewed)",
        Cmd::Confirm,
        true,
    ),
    b(
        C::Menu,
        &[code(KeyCode::Esc), k('q')],
        "Esc",
        "cancel",
        Cmd::Cancel,
        true,
    ),
    b(
        C::Confirm,
        &[k('y'), code(KeyCode::Enter)],
        "y/⏎",
        "confirm",
        Cmd::Confirm,
        true,
    ),
    b(
        C::Confirm,
        &[k('n'), code(KeyCode::Esc)],
        "n/Esc",
        "cancel",
        Cmd::Cancel,
        true,
    ),
    b(
        C::Help,
        &[code(KeyCode::Up), k('k')],
        "↑/k",
        "scroll up",
        Cmd::Up,
        false,
    ),
    b(
        C::Help,
        &[code(KeyCode::Down), k('j')],
        "↓/j",
        "scroll down",
        Cmd::Down,
        false,
    ),
    b(
        C::Help,
        &[code(KeyCode::Esc), k('?'), k('q')],
        "Esc/?",
        "close help",
        Cmd::Cancel,
        true,
    ),
    // Live updates, history and undo.
    b(
        C::Global,
        &[k('U'), ctrl('z')],
        "U/C-z",
        "undo your last write (if unchanged since)",
        Cmd::Undo,
        false,
    ),
    b(C::Keys, &[k('H')], "H", "history", Cmd::History, false),
    b(C::Document, &[k('H')], "H", "history", Cmd::History, false),
    b(
        C::Document,
        &[k('c')],
        "c",
        "diff since you last looked (toggle)",
        Cmd::DiffSeen,
        false,
    ),
    b(
        C::History,
        &[code(KeyCode::Up), k('k')],
        "↑/k",
        "older/newer version",
        Cmd::Up,
        false,
    ),
    b(
        C::History,
        &[code(KeyCode::Down), k('j')],
        "↓/j",
        "older/newer version",
        Cmd::Down,
        false,
    ),
    b(
        C::History,
        &[ctrl('u'), code(KeyCode::PageUp)],
        "C-u",
        "scroll the diff up",
        Cmd::PageUp,
        false,
    ),
    b(
        C::History,
        &[ctrl('d'), code(KeyCode::PageDown)],
        "C-d",
        "scroll the diff down",
        Cmd::PageDown,
        false,
    ),
    b(
        C::History,
        &[k('r'), code(KeyCode::Enter)],
        "r/⏎",
        "revert to this version (asks)",
        Cmd::Revert,
        true,
    ),
    b(
        C::History,
        &[code(KeyCode::Esc), k('q'), k('H')],
        "Esc",
        "close",
        Cmd::Cancel,
        true,
    ),
    // The command palette and copying.
    b(
        C::Global,
        &[k(':')],
        ":",
        "command palette",
        Cmd::Palette,
        true,
    ),
    b(C::Keys, &[k('y')], "y", "copy value", Cmd::CopyValue, false),
    b(C::Keys, &[k('Y')], "Y", "copy key", Cmd::CopyKey, false),
    b(
        C::Keys,
        &[k('c')],
        "c",
        "copy as console command",
        Cmd::CopyCommand,
        false,
    ),
    b(
        C::Keys,
        &[],
        "",
        "copy as curl command",
        Cmd::CopyCurl,
        false,
    ),
    b(
        C::Document,
        &[k('y')],
        "y",
        "copy value under cursor",
        Cmd::CopyValue,
        false,
    ),
    b(C::Document, &[k('Y')], "Y", "copy key", Cmd::CopyKey, false),
    b(
        C::Document,
        &[k('p')],
        "p",
        "copy JSON path under cursor",
        Cmd::CopyPath,
        false,
    ),
    b(
        C::Document,
        &[k('C')],
        "C",
        "copy as console command",
        Cmd::CopyCommand,
        false,
    ),
    b(
        C::Document,
        &[],
        "",
        "copy as curl command",
        Cmd::CopyCurl,
        false,
    ),
    b(
        C::Palette,
        &[code(KeyCode::Up), ctrl('p'), ctrl('k')],
        "↑/C-p",
        "previous entry",
        Cmd::Up,
        false,
    ),
    b(
        C::Palette,
        &[code(KeyCode::Down), ctrl('n'), ctrl('j')],
        "↓/C-n",
        "next entry",
        Cmd::Down,
        false,
    ),
    b(
        C::Palette,
        &[code(KeyCode::Enter)],
        "⏎",
        "run the entry",
        Cmd::Confirm,
        true,
    ),
    b(
        C::Palette,
        &[code(KeyCode::Esc)],
        "Esc",
        "close",
        Cmd::Cancel,
        true,
    ),
];

pub(crate) fn matches(chord: &Chord, key: &KeyEvent) -> bool {
    let mut mods = key.modifiers;
    if matches!(key.code, KeyCode::Char(_) | KeyCode::BackTab) {
        mods.remove(KeyModifiers::SHIFT);
    }
    chord.0 == key.code && chord.1 == mods
}

/// Whether bindings of `ctx` fall back to the global ones.
pub fn is_pane(ctx: Context) -> bool {
    matches!(ctx, C::Namespaces | C::Keys | C::Document)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tui::keyspec::Keymap;

    fn lookup(ctx: Context, key: &KeyEvent) -> Option<Cmd> {
        Keymap::default().lookup(ctx, key)
    }

    fn hints(ctx: Context) -> Vec<(String, &'static str)> {
        Keymap::default().hints(ctx)
    }

    #[test]
    fn keys_resolve_per_context_with_global_fallback() {
        let j = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE);
        assert_eq!(lookup(C::Keys, &j), Some(Cmd::Down));
        let r = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE);
        assert_eq!(lookup(C::Keys, &r), Some(Cmd::Review));
        assert_eq!(lookup(C::Conflict, &r), Some(Cmd::ConflictReload));
        assert_eq!(lookup(C::Namespaces, &r), None);
        let big_g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(lookup(C::Document, &big_g), Some(Cmd::Bottom));
        let ctrl_d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert_eq!(lookup(C::Keys, &ctrl_d), Some(Cmd::PageDown));
        // Destructive actions never hide behind a modifier-free global key.
        assert!(hints(C::Keys).iter().any(|(l, _)| l == "r"));
    }
}
