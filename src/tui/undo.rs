//! The session's undo stack: each of the user's own writes (triage marks, edits, deletes,
//! reverts) with the state before it and the version it produced. Undoing writes the
//! state before back, conditional on nothing having changed since: on the version the
//! write produced, or (for a delete) on the document still being absent.

use serde_json::Value;

/// What the document was before the write.
#[derive(Debug, Clone, PartialEq)]
pub enum Before {
    /// It did not exist (the write created it).
    Absent,
    /// It was at this version; `value` holds it when the session had it at hand (else the
    /// undo reads that version from the store's history).
    Version { version: u64, value: Option<Value> },
}

/// What the write left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Version(u64),
    Deleted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UndoEntry {
    pub ns: String,
    pub key: String,
    /// What the write was, for messages ("mark reviewed", "edit", "delete", "revert").
    pub what: &'static str,
    pub before: Before,
    pub after: After,
}

impl UndoEntry {
    pub fn describe(&self) -> String {
        format!("{} of {}/{}", self.what, self.ns, self.key)
    }
}

/// Writes waiting for their result, so a success can go on the undo stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub ns: String,
    pub key: String,
    pub what: &'static str,
    pub before: Before,
}

impl Pending {
    /// The undo entry of this write, now that it ended as `after`.
    pub fn done(self, after: After) -> UndoEntry {
        UndoEntry {
            ns: self.ns,
            key: self.key,
            what: self.what,
            before: self.before,
            after,
        }
    }
}

/// At most this many writes can be undone.
pub const MAX_UNDO: usize = 200;

#[derive(Debug, Default)]
pub struct UndoStack {
    pub entries: Vec<UndoEntry>,
    pub pending: Vec<Pending>,
}

impl UndoStack {
    pub fn push(&mut self, e: UndoEntry) {
        if self.entries.len() >= MAX_UNDO {
            self.entries.remove(0);
        }
        self.entries.push(e);
    }

    /// The pending write of `ns/key` (the oldest first: results come back in order).
    pub fn take_pending(&mut self, ns: &str, key: &str) -> Option<Pending> {
        let i = self
            .pending
            .iter()
            .position(|p| p.ns == ns && p.key == key)?;
        Some(self.pending.remove(i))
    }
}
