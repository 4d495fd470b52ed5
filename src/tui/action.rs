//! The messages of the TUI: `Action`s flow into `update` (keys, resizes, and results the
//! worker sends back); `Effect`s flow out of it (store calls for the worker, and the few
//! things only the event loop can do: suspend for $EDITOR, quit).

use crate::error::Error;
use crate::model::{Document, Meta};
use crate::store::NamespaceStats;
use ratatui::crossterm::event::KeyEvent;
use serde_json::{Map, Value};

/// A key row as listed: its metadata and its triage state (read from the value).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRow {
    pub meta: Meta,
    pub reviewed: bool,
    pub action: Option<String>,
}

impl KeyRow {
    /// Reads the triage state (reviewed, action) from a value, with the configured fields.
    pub fn triage(value: &Value, cfg: &crate::config::TuiConfig) -> (bool, Option<String>) {
        let reviewed = value.get(&cfg.reviewed_field) == Some(&Value::Bool(true));
        let action = value
            .get(&cfg.action_field)
            .and_then(Value::as_str)
            .map(str::to_string);
        (reviewed, action)
    }
}

/// A page of keys the worker loaded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub rows: Vec<KeyRow>,
    pub cursor: Option<String>,
    pub has_more: bool,
    /// With a query: the documents the store examined for this page.
    pub scanned: u64,
}

/// A document as loaded for display: the whole value unless it is over the preview limit,
/// in which case `preview` holds the first bytes of its pretty text.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub doc: Document,
    pub preview: Option<String>,
}

/// How a save ended.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveOutcome {
    Saved(Meta),
    /// Someone else wrote first: the document as it is now (`None`: deleted).
    Conflict(Option<Document>),
    Failed(Error),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Key(KeyEvent),
    Resize(u16, u16),
    Namespaces(Result<Vec<NamespaceStats>, Error>),
    Keys {
        generation: u64,
        append: bool,
        result: Result<Page, Error>,
    },
    Document {
        generation: u64,
        result: Result<Loaded, Error>,
    },
    /// Results of a triage batch, one per key.
    Triaged {
        ns: String,
        /// The action the patch set, if any.
        action: Option<String>,
        results: Vec<(String, Result<Meta, Error>)>,
    },
    Saved {
        ns: String,
        key: String,
        outcome: SaveOutcome,
    },
    Deleted {
        ns: String,
        key: String,
        result: Result<(), Error>,
    },
    NamespaceDeleted {
        ns: String,
        result: Result<u64, Error>,
    },
    /// The text the external editor left, or why it could not run.
    ExternalEdited(Result<String, String>),
    /// An item of the store's change feed (live updates).
    Feed(crate::store::FeedItem),
    /// A document re-read after the feed reported a change (`None`: it no longer exists).
    Refreshed {
        ns: String,
        key: String,
        result: Result<Option<Loaded>, Error>,
    },
    /// A document's versions, newest first.
    History {
        ns: String,
        key: String,
        result: Result<Vec<Meta>, Error>,
    },
    /// One past version of a document, for a diff.
    Version {
        ns: String,
        key: String,
        version: u64,
        purpose: super::live::VersionFor,
        result: Result<Document, Error>,
    },
    /// How an undo ended: the document's metadata after it (`None`: deleted again).
    Undone {
        entry: super::undo::UndoEntry,
        result: Result<Option<Meta>, Error>,
    },
    /// Results of one chunk of a bulk action, one per key (`None`: deleted).
    Bulk {
        ns: String,
        results: Vec<(String, Result<Option<Meta>, Error>)>,
    },
    /// A mouse event (only with `mouse = true`).
    Mouse(ratatui::crossterm::event::MouseEvent),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadNamespaces,
    LoadKeys {
        ns: String,
        cursor: Option<String>,
        generation: u64,
        /// Only the documents this query matches (the store answers it).
        query: Option<crate::query::Query>,
    },
    LoadDocument {
        ns: String,
        key: String,
        generation: u64,
    },
    /// One merge-patch applied to each `(key, expected_version)`.
    Patch {
        ns: String,
        targets: Vec<(String, u64)>,
        partial: Map<String, Value>,
    },
    Put {
        ns: String,
        key: String,
        value: Value,
        expected_version: Option<u64>,
        create_only: bool,
    },
    Delete {
        ns: String,
        key: String,
        expected_version: u64,
    },
    DeleteNamespace {
        ns: String,
    },
    /// One write applied to each `(key, expected_version)`, each conditional on it.
    Bulk {
        ns: String,
        write: BulkWrite,
        targets: Vec<(String, u64)>,
    },
    /// Suspend the terminal and edit `text` in $EDITOR.
    ExternalEdit {
        text: String,
    },
    Quit,
    /// Re-read one document after the feed reported a change to it.
    Refresh {
        ns: String,
        key: String,
    },
    LoadHistory {
        ns: String,
        key: String,
    },
    LoadVersion {
        ns: String,
        key: String,
        version: u64,
        purpose: super::live::VersionFor,
    },
    /// Take back one of the user's writes, conditional on nothing having changed since.
    Undo(super::undo::UndoEntry),
    /// Put `text` on the clipboard (OSC 52, written by the event loop).
    Copy {
        text: String,
    },
    /// Re-open the TUI on another profile of the config file (the event loop does it).
    SwitchProfile {
        name: String,
    },
}

/// The write of a bulk action.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkWrite {
    Patch(Map<String, Value>),
    /// Keep the value, expire this many seconds from now.
    Ttl(u64),
    Delete,
}

impl Effect {
    /// Whether the worker thread runs this effect (the rest belong to the event loop).
    pub fn is_store_call(&self) -> bool {
        !matches!(
            self,
            Effect::ExternalEdit { .. }
                | Effect::Quit
                | Effect::Copy { .. }
                | Effect::SwitchProfile { .. }
        )
    }
}

/// Key presses as actions, for scripted input (the tests drive `update` with them).
pub mod press {
    use super::Action;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    /// A character key.
    pub fn key(c: char) -> Action {
        code(KeyCode::Char(c))
    }

    /// Any key, without modifiers.
    pub fn code(c: KeyCode) -> Action {
        Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    /// Ctrl and a character key.
    pub fn ctrl(c: char) -> Action {
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }
}
