//! Unit tests of `update`: actions in, state and effects out, no terminal and no store.

use super::{start, update};
use crate::config::TuiConfig;
use crate::error::Error;
use crate::model::{Document, Meta};
use crate::store::NamespaceStats;
use crate::tui::action::press::{code, ctrl, key};
use crate::tui::action::{Action, Effect, KeyRow, Loaded, Page, SaveOutcome};
use crate::tui::app::{App, Modal, Pane, Session};
use ratatui::crossterm::event::KeyCode;
use serde_json::{Value, json};

pub const NOW: i64 = 1_772_000_000_000;

pub fn session(read_only: bool) -> Session {
    Session {
        location: "/data/console.db".into(),
        workspace: "default".into(),
        read_only,
        config: TuiConfig::default(),
        reviewer: "maria".into(),
        start_namespace: None,
    }
}

fn meta(ns: &str, key: &str, version: u64) -> Meta {
    Meta {
        namespace: ns.into(),
        key: key.into(),
        version,
        size_bytes: 40,
        created_at: "2026-02-25T06:00:00.000Z".into(),
        updated_at: "2026-02-25T06:10:00.000Z".into(),
        updated_by: "agent".into(),
        expires_at: None,
        fields: None,
    }
}

fn row(key: &str, reviewed: bool) -> KeyRow {
    KeyRow {
        meta: meta("findings", key, 3),
        reviewed,
        action: None,
    }
}

fn stats(ns: &str, documents: u64) -> NamespaceStats {
    NamespaceStats {
        namespace: ns.into(),
        documents,
        bytes: documents * 100,
        created_at: "2026-02-25T06:00:00.000Z".into(),
        updated_at: "2026-02-25T06:00:00.000Z".into(),
    }
}

fn typed(app: &mut App, s: &str) -> Vec<Effect> {
    s.chars().flat_map(|c| update(app, key(c))).collect()
}

fn doc_value(key: &str) -> Value {
    json!({"severity": "high", "title": format!("finding {key}"), "evidence": {"line": 3}})
}

/// Answers the last LoadDocument effect the way the worker would.
fn answer_doc(app: &mut App, fx: &[Effect]) -> Vec<Effect> {
    let Some(Effect::LoadDocument {
        ns,
        key,
        generation,
    }) = fx
        .iter()
        .rev()
        .find(|e| matches!(e, Effect::LoadDocument { .. }))
    else {
        return vec![];
    };
    let version = app.keys.row_mut(key).map_or(3, |r| r.meta.version);
    update(
        app,
        Action::Document {
            generation: *generation,
            result: Ok(Loaded {
                doc: Document {
                    meta: meta(ns, key, version),
                    value: doc_value(key),
                },
                preview: None,
            }),
        },
    )
}

/// An app showing namespace `findings` with keys k1..k5 (k2 reviewed), k1's document open.
pub fn loaded_app(read_only: bool, width: u16) -> App {
    let mut app = App::new(session(read_only), width, 30, NOW);
    assert_eq!(start(&mut app), vec![Effect::LoadNamespaces]);
    let fx = update(
        &mut app,
        Action::Namespaces(Ok(vec![stats("checkpoints", 2), stats("findings", 5)])),
    );
    // The first namespace is listed at once.
    assert!(matches!(&fx[..], [Effect::LoadKeys { ns, cursor: None, .. }] if ns == "checkpoints"));
    let fx = update(&mut app, code(KeyCode::Down));
    let Some(Effect::LoadKeys { generation, .. }) = fx.first().cloned() else {
        panic!("no LoadKeys: {fx:?}")
    };
    let rows = vec![
        row("k1", false),
        row("k2", true),
        row("k3", false),
        row("k4", false),
        row("k5", false),
    ];
    let fx = update(
        &mut app,
        Action::Keys {
            generation,
            append: false,
            result: Ok(Page {
                rows,
                cursor: None,
                has_more: false,
                scanned: 0,
            }),
        },
    );
    answer_doc(&mut app, &fx);
    app
}

#[test]
fn navigation_moves_selection_loads_documents_and_cycles_panes() {
    let mut app = loaded_app(false, 160);
    assert_eq!(app.keys.ns.as_deref(), Some("findings"));
    assert_eq!(app.doc.shows(), Some(("findings", "k1")));
    assert_eq!(update(&mut app, code(KeyCode::Enter)), vec![]);
    assert_eq!(app.focus, Pane::Keys);
    let fx = update(&mut app, key('j'));
    assert!(matches!(&fx[..], [Effect::LoadDocument { key, .. }] if key == "k2"));
    update(&mut app, key('G'));
    assert_eq!(app.keys.selected_key().as_deref(), Some("k5"));
    update(&mut app, key('g'));
    assert_eq!(app.keys.selected_key().as_deref(), Some("k1"));
    update(&mut app, ctrl('d'));
    assert_eq!(app.keys.selected_key().as_deref(), Some("k5"));
    update(&mut app, code(KeyCode::Tab));
    assert_eq!(app.focus, Pane::Document);
    update(&mut app, code(KeyCode::Tab));
    assert_eq!(app.focus, Pane::Namespaces);
    update(&mut app, code(KeyCode::BackTab));
    assert_eq!(app.focus, Pane::Document);
    update(&mut app, code(KeyCode::Esc));
    assert_eq!(app.focus, Pane::Keys);
    // Narrow terminals show one pane; resizing only changes the layout decision.
    update(&mut app, Action::Resize(80, 24));
    assert!(app.narrow());
    update(&mut app, key('?'));
    assert!(matches!(app.modal, Some(Modal::Help { .. })));
    update(&mut app, code(KeyCode::Esc));
    assert!(app.modal.is_none());
    assert_eq!(update(&mut app, key('q')), vec![Effect::Quit]);
    assert!(app.quit);
}

#[test]
fn results_of_an_old_generation_are_ignored() {
    let mut app = loaded_app(false, 160);
    let shown = app.doc.loaded.clone();
    update(
        &mut app,
        Action::Document {
            generation: 0,
            result: Err(Error::internal("stale")),
        },
    );
    assert_eq!(app.doc.loaded, shown);
    assert!(app.message.is_none());
}

/// The LoadKeys effect among `fx`: (generation, cursor, query text).
fn load_keys(fx: &[Effect]) -> Option<(u64, Option<String>, Option<String>)> {
    fx.iter().find_map(|e| match e {
        Effect::LoadKeys {
            generation,
            cursor,
            query,
            ..
        } => Some((
            *generation,
            cursor.clone(),
            query.as_ref().map(|q| q.to_string()),
        )),
        _ => None,
    })
}

fn query_page(
    app: &mut App,
    generation: u64,
    keys: &[&str],
    more: bool,
    scanned: u64,
) -> Vec<Effect> {
    update(
        app,
        Action::Keys {
            generation,
            append: app.keys.cursor.is_some(),
            result: Ok(Page {
                rows: keys.iter().map(|k| row(k, false)).collect(),
                cursor: more.then(|| format!("after-{}", keys.last().unwrap_or(&"x"))),
                has_more: more,
                scanned,
            }),
        },
    )
}

#[test]
fn a_query_is_answered_by_the_store_page_after_page_and_esc_stops_then_clears_it() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    update(&mut app, key('/'));
    assert!(app.keys.filtering);
    // Typing changes nothing yet; a malformed query says where and stays open.
    assert!(typed(&mut app, "severity=").is_empty());
    let fx = update(&mut app, code(KeyCode::Enter));
    assert!(load_keys(&fx).is_none());
    assert!(app.keys.filtering);
    assert!(
        app.keys
            .query_error
            .as_deref()
            .unwrap()
            .contains("column 10")
    );
    typed(&mut app, "high !reviewed");
    let fx = update(&mut app, code(KeyCode::Enter));
    assert!(!app.keys.filtering);
    let (generation, cursor, query) = load_keys(&fx).expect("the query goes to the store");
    assert_eq!(
        (cursor, query.as_deref()),
        (None, Some("severity=high !reviewed=true"))
    );
    assert!(app.keys.rows.is_empty(), "the listing starts again");
    // Pages follow one another on their own while the store has more to scan.
    let fx = query_page(&mut app, generation, &["k1", "k3"], true, 2);
    let (g2, cursor, query) = load_keys(&fx).expect("the next page is asked for at once");
    assert_eq!(g2, generation);
    assert_eq!(cursor.as_deref(), Some("after-k3"));
    assert!(query.is_some());
    assert!(app.keys.scanning());
    assert_eq!(
        app.keys.query_summary(),
        "  2 of 5 match · scanning 40% (Esc stops)"
    );
    // Esc stops the scan and keeps what it found; a late page is ignored.
    update(&mut app, code(KeyCode::Esc));
    assert!(!app.keys.scanning());
    let fx = query_page(&mut app, generation, &["k4"], false, 3);
    assert!(fx.is_empty());
    assert_eq!(app.keys.view.len(), 2);
    assert!(app.keys.query_summary().contains("stopped at 40%"));
    // Esc again clears the query: every key is listed again.
    let fx = update(&mut app, code(KeyCode::Esc));
    let (_, _, query) = load_keys(&fx).unwrap();
    assert_eq!(query, None);
    assert!(app.keys.applied.is_none());
    assert_eq!(app.focus, Pane::Keys);
}

#[test]
fn a_query_that_ends_shows_its_count_and_only_unreviewed_still_narrows_it() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    update(&mut app, key('/'));
    typed(&mut app, "k");
    let fx = update(&mut app, code(KeyCode::Enter));
    let (generation, _, _) = load_keys(&fx).unwrap();
    let fx = query_page(&mut app, generation, &["k1", "k2", "k3"], false, 5);
    assert!(load_keys(&fx).is_none());
    assert_eq!(app.keys.query_summary(), "  3 of 5 match");
    app.keys.rows[1].reviewed = true;
    update(&mut app, key('u'));
    assert_eq!(app.keys.view.len(), 2);
}

#[test]
fn review_sends_a_conditional_patch_and_moves_to_the_next_unreviewed() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    let fx = update(&mut app, key('r'));
    let Some(Effect::Patch {
        ns,
        targets,
        partial,
    }) = fx.first()
    else {
        panic!("no patch: {fx:?}")
    };
    assert_eq!(ns, "findings");
    assert_eq!(targets, &vec![("k1".to_string(), 3)]);
    assert_eq!(partial["reviewed"], json!(true));
    assert_eq!(partial["reviewed_by"], json!("maria"));
    assert_eq!(partial["reviewed_at"], json!(crate::model::format_ms(NOW)));
    assert!(!partial.contains_key("action"));
    // k2 is reviewed already: the next unreviewed is k3.
    assert_eq!(app.keys.selected_key().as_deref(), Some("k3"));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadDocument { key, .. } if key == "k3"))
    );
    assert_eq!(app.busy, 1);
    update(
        &mut app,
        Action::Triaged {
            ns: "findings".into(),
            action: None,
            results: vec![("k1".into(), Ok(meta("findings", "k1", 4)))],
        },
    );
    assert_eq!(app.busy, 0);
    let k1 = app.keys.row_mut("k1").unwrap();
    assert!(k1.reviewed);
    assert_eq!(k1.meta.version, 4);
}

#[test]
fn batch_triage_reports_how_many_succeeded_and_names_conflicts() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    update(&mut app, key(' '));
    update(&mut app, key('j'));
    update(&mut app, key(' '));
    assert_eq!(app.keys.marked.len(), 2);
    update(&mut app, key('a'));
    assert!(matches!(app.modal, Some(Modal::Menu(_))));
    update(&mut app, key('j'));
    let fx = update(&mut app, code(KeyCode::Enter));
    let Some(Effect::Patch {
        targets, partial, ..
    }) = fx.first()
    else {
        panic!("no patch: {fx:?}")
    };
    assert_eq!(targets, &vec![("k1".to_string(), 3), ("k3".to_string(), 3)]);
    assert_eq!(partial["action"], json!("escalate"));
    assert_eq!(partial["reviewed"], json!(true));
    assert!(app.keys.marked.is_empty());
    update(
        &mut app,
        Action::Triaged {
            ns: "findings".into(),
            action: Some("escalate".into()),
            results: vec![
                ("k1".into(), Ok(meta("findings", "k1", 4))),
                ("k3".into(), Err(Error::conflict(Some(3), Some(5)))),
            ],
        },
    );
    let m = app.message.clone().unwrap();
    assert!(m.error);
    assert!(m.text.starts_with("1 of 2 succeeded"), "{}", m.text);
    assert!(m.text.contains("k3"), "{}", m.text);
    assert_eq!(
        app.keys.row_mut("k1").unwrap().action.as_deref(),
        Some("escalate")
    );
    assert!(!app.keys.row_mut("k3").unwrap().reviewed);
}

#[test]
fn read_only_refuses_writes_with_a_message() {
    let mut app = loaded_app(true, 160);
    update(&mut app, code(KeyCode::Enter));
    for c in ['r', 'a', 'e', 'E', 'd'] {
        app.message = None;
        assert_eq!(update(&mut app, key(c)), vec![], "key {c}");
        assert!(app.modal.is_none(), "key {c}");
        let m = app.message.clone().unwrap();
        assert!(m.error && m.text.contains("read-only"), "{}", m.text);
    }
}

fn open_editor(app: &mut App) {
    update(app, code(KeyCode::Enter));
    update(app, key('e'));
    assert!(
        matches!(app.modal, Some(Modal::Editor(_))),
        "editor not open"
    );
}

#[test]
fn invalid_json_cannot_be_saved_and_says_where() {
    let mut app = loaded_app(false, 160);
    open_editor(&mut app);
    update(&mut app, ctrl('a')); // start of line? any edit: insert garbage at the cursor
    typed(&mut app, "x");
    let Some(Modal::Editor(e)) = &app.modal else {
        panic!()
    };
    let err = e.error.clone().expect("an error");
    assert!(err.contains("line 1 column"), "{err}");
    let fx = update(&mut app, ctrl('s'));
    assert_eq!(fx, vec![]);
    assert!(app.message.clone().unwrap().text.contains("invalid JSON"));
}

#[test]
fn save_is_conditional_and_a_conflict_offers_reload_overwrite_and_back() {
    let mut app = loaded_app(false, 160);
    open_editor(&mut app);
    // Change the value: go to the end of the first line ("{") and add a member.
    update(&mut app, code(KeyCode::End));
    typed(&mut app, "\"mine\": 1,");
    let fx = update(&mut app, ctrl('s'));
    let Some(Effect::Put {
        value,
        expected_version,
        create_only,
        ..
    }) = fx.first()
    else {
        panic!("no put: {fx:?}")
    };
    assert_eq!(*expected_version, Some(3));
    assert!(!create_only);
    assert_eq!(value["mine"], json!(1));
    let theirs = Document {
        meta: meta("findings", "k1", 5),
        value: json!({"severity": "low"}),
    };
    update(
        &mut app,
        Action::Saved {
            ns: "findings".into(),
            key: "k1".into(),
            outcome: SaveOutcome::Conflict(Some(theirs.clone())),
        },
    );
    let Some(Modal::Conflict(c)) = &app.modal else {
        panic!("no conflict view")
    };
    assert!(
        c.mine
            .iter()
            .any(|(t, l)| *t == crate::tui::diff::Tag::Added && l.contains("mine"))
    );
    assert!(
        c.theirs
            .iter()
            .any(|(t, l)| *t == crate::tui::diff::Tag::Added && l.contains("low"))
    );
    // Back to editing keeps my text.
    update(&mut app, key('e'));
    assert!(matches!(&app.modal, Some(Modal::Editor(e)) if e.text().contains("mine")));
    update(&mut app, ctrl('s'));
    update(
        &mut app,
        Action::Saved {
            ns: "findings".into(),
            key: "k1".into(),
            outcome: SaveOutcome::Conflict(Some(theirs.clone())),
        },
    );
    // Overwrite: conditional on the version the store has now.
    let fx = update(&mut app, key('o'));
    assert!(matches!(
        fx.first(),
        Some(Effect::Put {
            expected_version: Some(5),
            create_only: false,
            ..
        })
    ));
    update(
        &mut app,
        Action::Saved {
            ns: "findings".into(),
            key: "k1".into(),
            outcome: SaveOutcome::Conflict(Some(theirs)),
        },
    );
    // Reload: discard mine, load theirs.
    let fx = update(&mut app, key('r'));
    assert!(app.modal.is_none());
    assert!(matches!(fx.first(), Some(Effect::LoadDocument { key, .. }) if key == "k1"));
    assert!(app.message.clone().unwrap().text.contains("discarded"));
}

#[test]
fn saved_closes_the_editor_and_reloads() {
    let mut app = loaded_app(false, 160);
    open_editor(&mut app);
    update(&mut app, code(KeyCode::End));
    typed(&mut app, "\"a\": 2,");
    update(&mut app, ctrl('s'));
    let fx = update(
        &mut app,
        Action::Saved {
            ns: "findings".into(),
            key: "k1".into(),
            outcome: SaveOutcome::Saved(meta("findings", "k1", 4)),
        },
    );
    assert!(app.modal.is_none());
    assert!(matches!(fx.first(), Some(Effect::LoadDocument { .. })));
    assert_eq!(app.keys.row_mut("k1").unwrap().meta.version, 4);
}

#[test]
fn deleting_a_key_asks_first_and_is_conditional() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    assert_eq!(update(&mut app, key('d')), vec![]);
    assert!(matches!(app.modal, Some(Modal::ConfirmDelete(_))));
    assert_eq!(update(&mut app, key('n')), vec![]);
    assert!(app.modal.is_none());
    update(&mut app, key('d'));
    let fx = update(&mut app, key('y'));
    assert_eq!(
        fx,
        vec![Effect::Delete {
            ns: "findings".into(),
            key: "k1".into(),
            expected_version: 3
        }]
    );
    let fx = update(
        &mut app,
        Action::Deleted {
            ns: "findings".into(),
            key: "k1".into(),
            result: Ok(()),
        },
    );
    assert_eq!(app.keys.rows.len(), 4);
    assert!(fx.contains(&Effect::LoadNamespaces));
}

#[test]
fn deleting_a_namespace_needs_its_name_typed() {
    let mut app = loaded_app(false, 160);
    assert_eq!(app.focus, Pane::Namespaces);
    update(&mut app, key('D'));
    let Some(Modal::ConfirmNamespace(c)) = &app.modal else {
        panic!("no dialog")
    };
    assert_eq!((c.documents, c.bytes), (5, 500));
    // "y" is just a letter here; Enter with the wrong name does nothing.
    let fx = typed(&mut app, "y");
    assert_eq!(fx, vec![]);
    assert_eq!(update(&mut app, code(KeyCode::Enter)), vec![]);
    assert!(app.modal.is_some());
    update(&mut app, code(KeyCode::Backspace));
    typed(&mut app, "findings");
    let fx = update(&mut app, code(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::DeleteNamespace {
            ns: "findings".into()
        }]
    );
    assert!(app.modal.is_none());
    let fx = update(
        &mut app,
        Action::NamespaceDeleted {
            ns: "findings".into(),
            result: Ok(5),
        },
    );
    assert!(app.keys.ns.is_none());
    assert_eq!(fx, vec![Effect::LoadNamespaces]);
}

#[test]
fn the_next_page_loads_when_the_selection_nears_the_end() {
    let mut app = App::new(session(false), 160, 30, NOW);
    start(&mut app);
    let fx = update(
        &mut app,
        Action::Namespaces(Ok(vec![stats("big", 100_000)])),
    );
    let Some(Effect::LoadKeys { generation, .. }) = fx.first().cloned() else {
        panic!()
    };
    let rows = (0..200).map(|i| row(&format!("k{i:05}"), false)).collect();
    update(
        &mut app,
        Action::Keys {
            generation,
            append: false,
            result: Ok(Page {
                rows,
                cursor: Some("c1".into()),
                has_more: true,
                scanned: 0,
            }),
        },
    );
    update(&mut app, code(KeyCode::Enter));
    let mut more = vec![];
    for _ in 0..170 {
        more.extend(update(&mut app, key('j')));
    }
    let pages: Vec<_> = more
        .iter()
        .filter(|e| matches!(e, Effect::LoadKeys { cursor: Some(c), .. } if c == "c1"))
        .collect();
    assert_eq!(
        pages.len(),
        1,
        "exactly one next-page load while it is in flight"
    );
    assert!(
        crate::tui::components::status::progress(&app)
            .unwrap()
            .contains("of 200 loaded")
    );
}

#[test]
fn document_folding_and_search() {
    let mut app = loaded_app(false, 160);
    update(&mut app, code(KeyCode::Enter));
    update(&mut app, code(KeyCode::Enter));
    assert_eq!(app.focus, Pane::Document);
    let lines = app.doc.visible.len();
    update(&mut app, key('/'));
    typed(&mut app, "line");
    update(&mut app, code(KeyCode::Enter));
    let cursor_line = app.doc.visible[app.doc.cursor];
    assert!(app.doc.lines[cursor_line].text().contains("line"));
    // Space folds the object the cursor is in ("evidence").
    update(&mut app, key(' '));
    assert_eq!(app.doc.visible.len(), lines - 2);
    update(&mut app, key('z'));
    update(&mut app, key('a'));
    assert_eq!(app.doc.visible.len(), lines);
    update(&mut app, key('z'));
    update(&mut app, key('M'));
    assert_eq!(app.doc.visible.len(), lines - 2);
    assert_eq!(update(&mut app, key('n')), vec![]);
}
