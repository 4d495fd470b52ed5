//! Following the change log: one loop for every backend. The stores that keep documents
//! themselves (SQLite, PostgreSQL) poll their change log; the remote backend reads the server's Server-Sent Events stream and, when
//! the connection drops, reconnects with `Last-Event-ID` so nothing is missed or repeated.

use super::{Change, Scope, Store};
use crate::error::Result;
use crate::model::Namespace;
use std::time::Duration;

/// What a follower is told.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    /// A change, in log order.
    Change(Change),
    /// Changes were missed (the log no longer holds them): re-read what is shown.
    Truncated,
    /// The feed's state, for an indicator.
    State(FeedState),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedState {
    Live,
    Reconnecting,
    Offline,
}

const POLL: Duration = Duration::from_millis(250);

impl Store {
    /// Calls `on` with every change after `after_seq` (of one namespace, or all), in order,
    /// until `on` returns `false`. Blocks: run it on its own thread.
    pub fn follow(
        &self,
        scope: &Scope,
        ns: Option<&Namespace>,
        after_seq: u64,
        mut on: impl FnMut(FeedItem) -> bool,
    ) -> Result<()> {
        match &self.backend {
            super::Backend::Remote(r) => r.follow(ns, after_seq, on),
            super::Backend::Sqlite(_) | super::Backend::Postgres(_) => {
                let mut after = after_seq;
                let mut state = None;
                loop {
                    let (item_state, batch) = match self.changes(scope, after, ns, 500) {
                        Ok(batch) => (FeedState::Live, Some(batch)),
                        Err(_) => (FeedState::Offline, None),
                    };
                    if state != Some(item_state) {
                        state = Some(item_state);
                        if !on(FeedItem::State(item_state)) {
                            return Ok(());
                        }
                    }
                    let Some(batch) = batch else {
                        std::thread::sleep(POLL);
                        continue;
                    };
                    if (after > 0 && after + 1 < batch.oldest_seq) || after > batch.last_seq {
                        if !on(FeedItem::Truncated) {
                            return Ok(());
                        }
                        after = batch.last_seq;
                        continue;
                    }
                    let full = batch.changes.len() == 500;
                    for change in batch.changes {
                        after = change.seq;
                        if !on(FeedItem::Change(change)) {
                            return Ok(());
                        }
                    }
                    if !full {
                        std::thread::sleep(POLL);
                    }
                }
            }
        }
    }

    /// The newest sequence number of the change log: where a follower starts.
    pub fn last_seq(&self, scope: &Scope) -> Result<u64> {
        // Any batch tells where the log ends; asking from its start is always valid.
        Ok(self.changes(scope, 0, None, 1)?.last_seq)
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

/// Parses a Server-Sent Events stream line by line (the WHATWG rules that matter here:
/// `field: value`, comments, multi-line data, a blank line ends an event).
#[derive(Debug, Default)]
pub struct SseParser {
    current: SseEvent,
    has_data: bool,
}

impl SseParser {
    /// Feeds one line (without its line ending); returns an event when the line ends one.
    pub fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let done = std::mem::take(&mut self.current);
            let had = std::mem::take(&mut self.has_data);
            return had.then(|| SseEvent {
                event: if done.event.is_empty() {
                    "message".into()
                } else {
                    done.event
                },
                ..done
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "id" => self.current.id = Some(value.to_string()),
            "event" => self.current.event = value.to_string(),
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_comments_and_multiline_data() {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for line in [
            ": heartbeat",
            "",
            "id: 7",
            "event: change",
            "data: {\"a\":",
            "data: 1}",
            "",
            "data:x",
            "",
        ] {
            out.extend(p.line(line));
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].id.as_deref(), Some("7"));
        assert_eq!(out[0].event, "change");
        assert_eq!(out[0].data, "{\"a\":\n1}");
        assert_eq!(out[1].event, "message");
        assert_eq!(out[1].data, "x");
    }
}
