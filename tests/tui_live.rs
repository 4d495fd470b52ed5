//! TUI live updates, history and undo: the new screens rendered into a `TestBackend` and
//! compared with insta snapshots (fixed "now"), plus end-to-end runs of the real binary in
//! tmux against `console serve` (in `live_e2e`).

use agent_console::config::TuiConfig;
use agent_console::model::{Document, Meta};
use agent_console::store::{Change, FeedItem, FeedState, NamespaceStats};
use agent_console::tui::action::{Action, Effect, KeyRow, Loaded, Page};
use agent_console::tui::app::{App, Session};
use agent_console::tui::live::VersionFor;
use agent_console::tui::update;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use screen::render;
use serde_json::{Value, json};

#[path = "e2e/live.rs"]
mod live_e2e;
#[path = "e2e/pane.rs"]
mod pane;
mod screen;

const NOW: i64 = 1_772_000_000_000; // 2026-02-25T06:13:20Z

fn session() -> Session {
    Session {
        location: "/data/console.db".into(),
        workspace: "default".into(),
        read_only: false,
        config: TuiConfig::default(),
        reviewer: "maria".into(),
        start_namespace: None,
    }
}

fn meta(key: &str, version: u64, by: &str, minutes_ago: i64) -> Meta {
    Meta {
        namespace: "findings".into(),
        key: key.into(),
        version,
        size_bytes: 60 + version * 7,
        created_at: agent_console::model::format_ms(NOW - 86_400_000),
        updated_at: agent_console::model::format_ms(NOW - minutes_ago * 60_000),
        updated_by: by.into(),
        expires_at: None,
        fields: None,
    }
}

fn finding(key: &str, version: u64) -> Value {
    json!({"severity": if version > 2 { "low" } else { "high" }, "title": format!("Finding {key}"), "version_note": version})
}

fn key(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn loaded(key: &str, version: u64, by: &str) -> Loaded {
    Loaded {
        doc: Document {
            meta: meta(key, version, by, 1),
            value: finding(key, version),
        },
        preview: None,
    }
}

/// Feeds an action and answers document loads like the worker would (at the row's version).
fn step(app: &mut App, a: Action) {
    let fx = update::update(app, a);
    for e in fx {
        if let Effect::LoadDocument {
            key, generation, ..
        } = e
        {
            let (v, by) = app
                .keys
                .row_mut(&key)
                .map_or((1, "agent".to_string()), |r| {
                    (r.meta.version, r.meta.updated_by.clone())
                });
            step(
                app,
                Action::Document {
                    generation,
                    result: Ok(loaded(&key, v, &by)),
                },
            );
        }
    }
}

/// `findings` listed with six keys at version 2, F-000's document open.
fn app(width: u16, height: u16) -> App {
    let mut app = App::new(session(), width, height, NOW);
    update::start(&mut app);
    step(
        &mut app,
        Action::Namespaces(Ok(vec![NamespaceStats {
            namespace: "findings".into(),
            documents: 6,
            bytes: 600,
            created_at: "2026-02-20T00:00:00.000Z".into(),
            updated_at: "2026-02-25T06:00:00.000Z".into(),
        }])),
    );
    let rows = (0..6)
        .map(|i| KeyRow {
            meta: meta(&format!("F-{i:03}"), 2, "acme/scanner", 30 + i),
            reviewed: i == 1,
            action: None,
        })
        .collect();
    let generation = app.keys.generation;
    step(
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
    step(&mut app, code(KeyCode::Enter));
    app
}

/// Another writer changed `key` to `version`.
fn written_by_other(app: &mut App, key: &str, version: u64) {
    step(
        app,
        Action::Feed(FeedItem::Change(Change {
            seq: version,
            op: "put".into(),
            namespace: "findings".into(),
            key: Some(key.into()),
            version: Some(version),
            at: String::new(),
        })),
    );
    step(
        app,
        Action::Refreshed {
            ns: "findings".into(),
            key: key.into(),
            result: Ok(Some(loaded(key, version, "bob"))),
        },
    );
}

#[test]
fn changed_markers_in_the_key_list() {
    let mut app = app(120, 14);
    step(&mut app, Action::Feed(FeedItem::State(FeedState::Live)));
    written_by_other(&mut app, "F-002", 3);
    written_by_other(&mut app, "F-004", 3);
    written_by_other(&mut app, "F-000", 3);
    assert!(app.keys.changed.contains("F-002") && app.keys.changed.contains("F-004"));
    insta::assert_snapshot!(render(&app));
}

#[test]
fn document_changed_since_last_looked_and_its_diff() {
    let mut app = app(120, 16);
    written_by_other(&mut app, "F-000", 3);
    let before = render(&app);
    step(&mut app, code(KeyCode::Tab));
    let fx = update::update(&mut app, key('c'));
    assert_eq!(fx.len(), 1, "{fx:?}");
    step(
        &mut app,
        Action::Version {
            ns: "findings".into(),
            key: "F-000".into(),
            version: 2,
            purpose: VersionFor::Seen,
            result: Ok(loaded("F-000", 2, "acme/scanner").doc),
        },
    );
    insta::assert_snapshot!(format!("{before}\n{}", render(&app)));
}

#[test]
fn history_view_with_a_diff() {
    let mut app = app(120, 16);
    step(&mut app, key('H'));
    step(
        &mut app,
        Action::History {
            ns: "findings".into(),
            key: "F-000".into(),
            result: Ok(vec![
                meta("F-000", 3, "bob", 1),
                meta("F-000", 2, "acme/scanner", 30),
                meta("F-000", 1, "acme/scanner", 90),
            ]),
        },
    );
    for v in [3, 2] {
        step(
            &mut app,
            Action::Version {
                ns: "findings".into(),
                key: "F-000".into(),
                version: v,
                purpose: VersionFor::History,
                result: Ok(loaded("F-000", v, "x").doc),
            },
        );
    }
    let list = render(&app);
    step(&mut app, key('r'));
    insta::assert_snapshot!(format!("{list}\n{}", render(&app)));
}

#[test]
fn edit_banner_when_someone_else_writes_the_document_being_edited() {
    let mut app = app(120, 14);
    step(&mut app, key('e'));
    written_by_other(&mut app, "F-000", 3);
    insta::assert_snapshot!(render(&app));
}

#[test]
fn feed_indicator_states() {
    let mut app = app(150, 8);
    let mut out = String::new();
    for s in [FeedState::Live, FeedState::Reconnecting, FeedState::Offline] {
        step(&mut app, Action::Feed(FeedItem::State(s)));
        out.push_str(render(&app).lines().last().unwrap_or_default());
        out.push('\n');
    }
    insta::assert_snapshot!(out);
}
