//! The TUI's state: the three panes, the open dialog (if any), the message line and the
//! facts the status bar shows. Nothing here does I/O; `update` changes it, `view` draws it.

use super::components::conflict::ConflictState;
use super::components::dialogs::{ConfirmDelete, ConfirmNamespace, Menu};
use super::components::document::DocPane;
use super::components::editor::EditorState;
use super::components::history::HistoryState;
use super::components::keys::KeysPane;
use super::components::namespaces::NamespacesPane;
use super::keymap::Context;
use super::keyspec::Keymap;
use super::live::LiveState;
use crate::config::TuiConfig;

/// Below this width one pane is shown at a time.
pub const NARROW_WIDTH: u16 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Namespaces,
    Keys,
    Document,
}

impl Pane {
    pub fn next(self) -> Pane {
        match self {
            Pane::Namespaces => Pane::Keys,
            Pane::Keys => Pane::Document,
            Pane::Document => Pane::Namespaces,
        }
    }
    pub fn prev(self) -> Pane {
        self.next().next()
    }
}

/// The dialog on top of the panes; it gets every key while open.
pub enum Modal {
    Help { scroll: u16 },
    Editor(Box<EditorState>),
    Conflict(Box<ConflictState>),
    ConfirmDelete(ConfirmDelete),
    ConfirmNamespace(ConfirmNamespace),
    Menu(Menu),
    History(Box<HistoryState>),
    Palette(Box<crate::tui::palette::PaletteState>),
    Bulk(Box<crate::tui::components::bulk::BulkState>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub error: bool,
    /// Key presses since it was shown: information goes at the next key, an error after
    /// a few, so it stays long enough to read but never sticks.
    pub age: u8,
}

/// Facts about the session that do not change while it runs.
#[derive(Debug, Clone)]
pub struct Session {
    pub location: String,
    pub workspace: String,
    pub read_only: bool,
    pub config: TuiConfig,
    /// Written as `reviewed_by`.
    pub reviewer: String,
    /// Namespace to open first (`--namespace`).
    pub start_namespace: Option<String>,
}

pub struct App {
    pub session: Session,
    /// "Now" for relative times: set by the event loop, fixed in tests.
    pub now_ms: i64,
    pub width: u16,
    pub height: u16,
    pub focus: Pane,
    pub namespaces: NamespacesPane,
    pub keys: KeysPane,
    pub doc: DocPane,
    pub modal: Option<Modal>,
    pub message: Option<Message>,
    /// Writes in flight.
    pub busy: usize,
    pub quit: bool,
    /// Edit in $EDITOR waiting for its text: (namespace, key, version, original text).
    pub external: Option<(String, String, u64, serde_json::Value)>,
    /// Live updates, what the user has seen, history and undo.
    pub live: LiveState,
    next_gen: u64,
    /// The key bindings in force (defaults with `[tui.keys]` applied).
    pub keymap: Keymap,
    /// Where the data is, as a command line would say it (for "copy as command").
    pub target: crate::tui::clipboard::Target,
    /// The profiles of the config file (offered by the palette).
    pub profiles: Vec<String>,
}

impl App {
    pub fn new(session: Session, width: u16, height: u16, now_ms: i64) -> App {
        App {
            keymap: Keymap::new(&session.config.keys).unwrap_or_default(),
            session,
            now_ms,
            width,
            height,
            focus: Pane::Namespaces,
            namespaces: NamespacesPane::default(),
            keys: KeysPane::default(),
            doc: DocPane::default(),
            modal: None,
            message: None,
            busy: 0,
            quit: false,
            external: None,
            live: LiveState::default(),
            next_gen: 0,
            target: Default::default(),
            profiles: Vec::new(),
        }
    }

    pub fn narrow(&self) -> bool {
        self.width < NARROW_WIDTH
    }

    pub fn generation(&mut self) -> u64 {
        self.next_gen += 1;
        self.next_gen
    }

    pub fn loading(&self) -> bool {
        self.namespaces.loading || self.keys.loading || self.doc.loading || self.busy > 0
    }

    /// The keymap context of whatever has the keys now.
    pub fn context(&self) -> Context {
        match &self.modal {
            Some(Modal::Help { .. }) => Context::Help,
            Some(Modal::Editor(_)) => Context::Editor,
            Some(Modal::Conflict(_)) => Context::Conflict,
            Some(Modal::ConfirmDelete(_)) | Some(Modal::ConfirmNamespace(_)) => Context::Confirm,
            Some(Modal::Menu(_)) => Context::Menu,
            Some(Modal::History(h)) if h.confirm => Context::Confirm,
            Some(Modal::History(_)) => Context::History,
            Some(Modal::Palette(_)) => Context::Palette,
            Some(Modal::Bulk(b)) => match b.phase {
                crate::tui::components::bulk::Phase::Preview(_) => Context::Confirm,
                _ => Context::Menu,
            },
            None => match self.focus {
                Pane::Namespaces => Context::Namespaces,
                Pane::Keys => Context::Keys,
                Pane::Document => Context::Document,
            },
        }
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
            age: 0,
        });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: true,
            age: 0,
        });
    }

    /// Lines a half-page move covers.
    pub fn half_page(&self) -> usize {
        (self.height as usize / 2).max(1)
    }
}
