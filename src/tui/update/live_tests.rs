//! Unit tests of live updates, "changed since you looked", history and undo in `update`.

use super::tests::loaded_app;
use super::update;
use crate::model::{Document, Meta};
use crate::store::{Change, FeedItem, FeedState};
use crate::tui::action::press::{code, ctrl, key};
use crate::tui::action::{Action, Effect, Loaded, SaveOutcome};
use crate::tui::app::{App, Modal, Pane};
use crate::tui::live::VersionFor;
use crate::tui::undo::{After, Before};
use ratatui::crossterm::event::KeyCode;
use serde_json::{Value, json};

fn meta(key: &str, version: u64, by: &str) -> Meta {
    Meta {
        namespace: "findings".into(),
        key: key.into(),
        version,
        size_bytes: 40,
        created_at: "2026-02-25T06:00:00.000Z".into(),
        updated_at: "2026-02-25T06:12:00.000Z".into(),
        updated_by: by.into(),
        expires_at: None,
        fields: None,
    }
}

/// The value `loaded_app` shows for a key.
fn original(key: &str) -> Value {
    json!({"severity": "high", "title": format!("finding {key}"), "evidence": {"line": 3}})
}

fn change(k: &str, version: u64) -> Action {
    Action::Feed(FeedItem::Change(Change {
        seq: 10 + version,
        op: "put".into(),
        namespace: "findings".into(),
        key: Some(k.into()),
        version: Some(version),
        at: String::new(),
    }))
}

fn refreshed(k: &str, version: u64, by: &str, value: Value) -> Action {
    Action::Refreshed {
        ns: "findings".into(),
        key: k.into(),
        result: Ok(Some(Loaded {
            doc: Document {
                meta: meta(k, version, by),
                value,
            },
            preview: None,
        })),
    }
}

/// Another writer changes `k` to `version`: the feed reports it, the re-read lands.
fn written_by_other(app: &mut App, k: &str, version: u64, value: Value) -> Vec<Effect> {
    let fx = update(app, change(k, version));
    assert!(
        fx.contains(&Effect::Refresh {
            ns: "findings".into(),
            key: k.into()
        }),
        "{fx:?}"
    );
    update(app, refreshed(k, version, "bob", value))
}

#[test]
fn a_feed_change_to_the_selected_document_updates_it_in_place_keeping_selection_and_cursor() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter)); // keys
    update(&mut app, code(KeyCode::Enter)); // document
    update(&mut app, key('j'));
    update(&mut app, key('j'));
    assert_eq!(app.doc.cursor, 2);
    let fx = update(&mut app, change("k1", 4));
    // The stats are re-read too, once while one read is in flight.
    assert!(fx.contains(&Effect::LoadNamespaces));
    assert!(!update(&mut app, change("k1", 4)).contains(&Effect::LoadNamespaces));
    let mut v = original("k1");
    v["severity"] = json!("low");
    update(&mut app, refreshed("k1", 4, "bob", v.clone()));
    let shown = app.doc.loaded.as_ref().unwrap();
    assert_eq!((shown.doc.meta.version, &shown.doc.value), (4, &v));
    assert_eq!(app.doc.cursor, 2);
    assert_eq!(app.focus, Pane::Document);
    assert_eq!(app.keys.selected_key().as_deref(), Some("k1"));
    assert_eq!(app.keys.row_mut("k1").unwrap().meta.version, 4);
    let note = app.doc.note.clone().unwrap();
    assert!(note.contains("v3 → v4") && note.contains("bob"), "{note}");
    // The second change was noted while the first re-read ran: one more re-read.
    assert!(
        app.live
            .refreshing
            .contains(&("findings".into(), "k1".into()))
    );
}

#[test]
fn a_new_key_is_inserted_in_order_and_a_deleted_one_removed_keeping_the_selection() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    update(&mut app, key('j')); // k2
    update(&mut app, change("k0", 1));
    update(&mut app, refreshed("k0", 1, "bob", json!({"n": 1})));
    assert_eq!(app.keys.rows[0].meta.key, "k0");
    assert_eq!(app.keys.selected_key().as_deref(), Some("k2"));
    // A key created by someone else is new to the user: marked.
    assert!(app.keys.changed.contains("k0"));
    update(&mut app, change("k4", 4));
    update(
        &mut app,
        Action::Refreshed {
            ns: "findings".into(),
            key: "k4".into(),
            result: Ok(None),
        },
    );
    assert!(app.keys.row_mut("k4").is_none());
    assert_eq!(app.keys.selected_key().as_deref(), Some("k2"));
}

#[test]
fn a_change_while_editing_shows_the_banner_and_never_touches_the_editor_text() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    update(&mut app, key('e'));
    update(&mut app, code(KeyCode::End));
    for c in "\"mine\": 1,".chars() {
        update(&mut app, key(c));
    }
    let text = match &app.modal {
        Some(Modal::Editor(e)) => e.text(),
        _ => panic!("no editor"),
    };
    written_by_other(&mut app, "k1", 4, json!({"theirs": true}));
    let Some(Modal::Editor(e)) = &app.modal else {
        panic!("the editor closed")
    };
    assert_eq!(e.text(), text);
    assert_eq!(e.base_version, 3);
    let b = app.live.banner.clone().expect("a banner");
    assert_eq!((b.by.as_str(), b.version), ("bob", Some(4)));
    // Saving goes through the usual conditional put (and so the conflict view).
    let fx = update(&mut app, ctrl('s'));
    assert!(matches!(
        &fx[..],
        [Effect::Put {
            expected_version: Some(3),
            ..
        }]
    ));
    update(
        &mut app,
        Action::Saved {
            ns: "findings".into(),
            key: "k1".into(),
            outcome: SaveOutcome::Conflict(Some(Document {
                meta: meta("k1", 4, "bob"),
                value: json!({"theirs": true}),
            })),
        },
    );
    assert!(matches!(app.modal, Some(Modal::Conflict(_))));
    assert!(app.live.banner.is_none());
    // Nothing went on the undo stack.
    assert!(app.live.undo.entries.is_empty() && app.live.undo.pending.is_empty());
}

#[test]
fn changed_markers_are_set_by_others_writes_and_cleared_by_viewing_with_a_diff() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    written_by_other(&mut app, "k3", 4, json!({"severity": "low"}));
    assert!(app.keys.changed.contains("k3"));
    assert_eq!(app.keys.changed.len(), 1);
    update(&mut app, key('j'));
    let fx = update(&mut app, key('j'));
    let Some(Effect::LoadDocument { generation, .. }) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    update(
        &mut app,
        Action::Document {
            generation,
            result: Ok(Loaded {
                doc: Document {
                    meta: meta("k3", 4, "bob"),
                    value: json!({"severity": "low"}),
                },
                preview: None,
            }),
        },
    );
    assert!(app.keys.changed.is_empty(), "{:?}", app.keys.changed);
    assert!(app.doc.note.as_deref().unwrap().contains("v3 → v4"));
    update(&mut app, code(KeyCode::Enter));
    let fx = update(&mut app, key('c'));
    assert_eq!(
        fx,
        vec![Effect::LoadVersion {
            ns: "findings".into(),
            key: "k3".into(),
            version: 3,
            purpose: VersionFor::Seen
        }]
    );
    update(
        &mut app,
        Action::Version {
            ns: "findings".into(),
            key: "k3".into(),
            version: 3,
            purpose: VersionFor::Seen,
            result: Ok(Document {
                meta: meta("k3", 3, "agent"),
                value: original("k3"),
            }),
        },
    );
    let d = app.live.diff.clone().expect("a diff");
    assert_eq!((d.from, d.to), (3, 4));
    assert!(
        d.lines
            .iter()
            .any(|(t, l)| *t == crate::tui::diff::Tag::Added && l.contains("low"))
    );
    update(&mut app, key('c'));
    assert!(app.live.diff.is_none());
    assert!(app.doc.note.is_none());
    // Own writes are not "changed".
    update(&mut app, key('r'));
    update(
        &mut app,
        Action::Triaged {
            ns: "findings".into(),
            action: None,
            results: vec![("k3".into(), Ok(meta("k3", 5, "tui")))],
        },
    );
    assert!(app.keys.changed.is_empty());
}

#[test]
fn history_lists_versions_diffs_against_current_and_reverts_conditionally() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    let fx = update(&mut app, key('H'));
    assert_eq!(
        fx,
        vec![Effect::LoadHistory {
            ns: "findings".into(),
            key: "k1".into()
        }]
    );
    let fx = update(
        &mut app,
        Action::History {
            ns: "findings".into(),
            key: "k1".into(),
            result: Ok(vec![
                meta("k1", 3, "agent"),
                meta("k1", 2, "bob"),
                meta("k1", 1, "agent"),
            ]),
        },
    );
    let versions: Vec<u64> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::LoadVersion { version, .. } => Some(*version),
            _ => None,
        })
        .collect();
    assert_eq!(versions, vec![3, 2]);
    for (v, value) in [(3, original("k1")), (2, json!({"old": true}))] {
        update(
            &mut app,
            Action::Version {
                ns: "findings".into(),
                key: "k1".into(),
                version: v,
                purpose: VersionFor::History,
                result: Ok(Document {
                    meta: meta("k1", v, "x"),
                    value,
                }),
            },
        );
    }
    let Some(Modal::History(h)) = &app.modal else {
        panic!("no history view")
    };
    assert_eq!(h.selected, 1);
    assert!(h.diff.iter().any(|(_, l)| l.contains("old")));
    assert!(update(&mut app, key('r')).is_empty());
    let fx = update(&mut app, key('y'));
    assert_eq!(
        fx,
        vec![Effect::Put {
            ns: "findings".into(),
            key: "k1".into(),
            value: json!({"old": true}),
            expected_version: Some(3),
            create_only: false,
        }]
    );
    assert!(app.modal.is_none());
    update(
        &mut app,
        Action::Saved {
            ns: "findings".into(),
            key: "k1".into(),
            outcome: SaveOutcome::Saved(meta("k1", 4, "tui")),
        },
    );
    assert!(app.message.as_ref().unwrap().text.contains("reverted"));
    let top = app.live.undo.entries.last().unwrap();
    assert_eq!((top.what, top.after), ("revert", After::Version(4)));
}

#[test]
fn undo_after_mark_reviewed_edit_and_delete_is_conditional_on_the_version_written() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    // Mark reviewed: k1 goes from 3 to 4.
    let fx = update(&mut app, key('r'));
    assert!(
        matches!(&fx[0], Effect::Patch { targets, .. } if targets == &vec![("k1".to_string(), 3)])
    );
    update(
        &mut app,
        Action::Triaged {
            ns: "findings".into(),
            action: None,
            results: vec![("k1".into(), Ok(meta("k1", 4, "tui")))],
        },
    );
    let fx = update(&mut app, key('U'));
    let [Effect::Undo(e)] = &fx[..] else {
        panic!("{fx:?}")
    };
    assert_eq!(e.after, After::Version(4));
    assert_eq!(
        e.before,
        Before::Version {
            version: 3,
            value: Some(original("k1"))
        }
    );
    assert!(app.live.undo.entries.is_empty());

    // Edit k2 (shown at v3): the value before is the editor's base.
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    update(&mut app, key('e'));
    update(&mut app, code(KeyCode::End));
    update(&mut app, key(' '));
    update(&mut app, ctrl('s'));
    update(
        &mut app,
        Action::Saved {
            ns: "findings".into(),
            key: "k1".into(),
            outcome: SaveOutcome::Saved(meta("k1", 4, "tui")),
        },
    );
    let fx = update(&mut app, ctrl('z'));
    let [Effect::Undo(e)] = &fx[..] else {
        panic!("{fx:?} {:?} {:?}", app.message, app.live.undo)
    };
    assert_eq!((e.what, e.after), ("edit", After::Version(4)));
    assert!(
        matches!(&e.before, Before::Version { version: 3, value: Some(v) } if *v == original("k1"))
    );

    // Delete: the confirmation message offers undo; undo re-creates the value.
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    update(&mut app, key('d'));
    let fx = update(&mut app, key('y'));
    assert!(matches!(
        &fx[..],
        [Effect::Delete {
            expected_version: 3,
            ..
        }]
    ));
    update(
        &mut app,
        Action::Deleted {
            ns: "findings".into(),
            key: "k1".into(),
            result: Ok(()),
        },
    );
    assert_eq!(
        app.message.as_ref().unwrap().text,
        "deleted findings/k1 — U to undo"
    );
    let fx = update(&mut app, key('U'));
    let undo = fx
        .iter()
        .find_map(|e| match e {
            Effect::Undo(e) => Some(e.clone()),
            _ => None,
        })
        .expect("an undo");
    assert_eq!(undo.after, After::Deleted);
    assert_eq!(
        undo.before,
        Before::Version {
            version: 3,
            value: Some(original("k1"))
        }
    );
    // The result lands: the document is re-read, the stack is empty.
    let fx = update(
        &mut app,
        Action::Undone {
            entry: undo,
            result: Ok(Some(meta("k1", 4, "tui"))),
        },
    );
    assert!(fx.contains(&Effect::Refresh {
        ns: "findings".into(),
        key: "k1".into()
    }));
    assert!(app.message.as_ref().unwrap().text.contains("undid"));
    assert_eq!(update(&mut app, key('U')), vec![]);
    assert!(
        app.message
            .as_ref()
            .unwrap()
            .text
            .contains("nothing to undo")
    );
}

#[test]
fn undo_is_refused_when_the_document_changed_since() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    update(&mut app, key('r'));
    update(
        &mut app,
        Action::Triaged {
            ns: "findings".into(),
            action: None,
            results: vec![("k1".into(), Ok(meta("k1", 4, "tui")))],
        },
    );
    written_by_other(&mut app, "k1", 5, json!({"theirs": 1}));
    let fx = update(&mut app, key('U'));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Undo(_))), "{fx:?}");
    let m = app.message.clone().unwrap();
    assert!(m.error && m.text.contains("changed since"), "{}", m.text);
    // A refusal from the store (a change the session did not see) says so too.
    let mut app = loaded_app(false, 160);
    app.live.undo.push(crate::tui::undo::UndoEntry {
        ns: "other".into(),
        key: "x".into(),
        what: "edit",
        before: Before::Absent,
        after: After::Version(1),
    });
    let fx = update(&mut app, key('U'));
    let [Effect::Undo(e)] = &fx[..] else {
        panic!("{fx:?}")
    };
    update(
        &mut app,
        Action::Undone {
            entry: e.clone(),
            result: Err(crate::error::Error::conflict(Some(1), Some(2))),
        },
    );
    assert!(app.message.as_ref().unwrap().error);
}

#[test]
fn the_feed_state_is_kept_for_the_indicator() {
    let mut app = loaded_app(false, 160);
    assert_eq!(app.live.feed, None);
    for s in [FeedState::Live, FeedState::Reconnecting, FeedState::Offline] {
        update(&mut app, Action::Feed(FeedItem::State(s)));
        assert_eq!(app.live.feed, Some(s));
    }
    // A truncated feed re-reads what is shown.
    let fx = update(&mut app, Action::Feed(FeedItem::Truncated));
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadKeys { .. })));
    assert!(fx.contains(&Effect::Refresh {
        ns: "findings".into(),
        key: "k1".into()
    }));
}
