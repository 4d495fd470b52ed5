//! TUI tests: every screen rendered into a `TestBackend` and compared with insta
//! snapshots (a fixed "now" keeps relative times stable), plus end-to-end runs of the
//! real binary in tmux (private socket, bounded waits).

use agent_console::config::TuiConfig;
use agent_console::model::{Document, Meta};
use agent_console::store::NamespaceStats;
use agent_console::tui::action::press::{code, ctrl, key};
use agent_console::tui::action::{Action, Effect, KeyRow, Loaded, Page, SaveOutcome};
use agent_console::tui::app::{App, Session};
use agent_console::tui::update;
use ratatui::crossterm::event::KeyCode;
use screen::render;
use serde_json::{Value, json};

mod e2e;
mod palette;
mod screen;

const NOW: i64 = 1_772_000_000_000; // 2026-02-25T06:13:20Z

fn session(read_only: bool) -> Session {
    Session {
        location: "/data/console.db".into(),
        workspace: "default".into(),
        read_only,
        config: TuiConfig::default(),
        reviewer: "maria".into(),
        start_namespace: None,
    }
}

fn meta(ns: &str, key: &str, version: u64, by: &str, minutes_ago: i64) -> Meta {
    let t = agent_console::model::format_ms(NOW - minutes_ago * 60_000);
    Meta {
        namespace: ns.into(),
        key: key.into(),
        version,
        size_bytes: 180 + version * 7,
        created_at: agent_console::model::format_ms(NOW - 86_400_000),
        updated_at: t,
        updated_by: by.into(),
        expires_at: None,
        fields: None,
    }
}

fn finding(i: usize) -> Value {
    json!({
        "severity": (["high", "low", "medium"][i % 3]),
        "title": format!("Finding number {i}"),
        "agent": "acme/sec-scanner@1.4.2",
        "evidence": {"file": "src/auth.rs", "line": 40 + i, "snippet": "decode(verify=False)"},
        "tags": ["auth", "crypto"],
        "reviewed": i % 3 == 1,
    })
}

/// Feeds actions; answers document loads from `finding` like the worker would.
fn feed(app: &mut App, actions: Vec<Action>) {
    for a in actions {
        let fx = update::update(app, a);
        answer(app, fx);
    }
}

fn answer(app: &mut App, fx: Vec<Effect>) {
    for e in fx {
        // A query over `findings` is answered as the store would: the reference meaning
        // over its twelve documents, in one page.
        if let Effect::LoadKeys {
            ns,
            generation,
            query: Some(q),
            ..
        } = &e
            && ns == "findings"
        {
            let rows = (0..12)
                .map(listed_row)
                .filter(|r| {
                    let i: usize = r.meta.key[2..].parse().unwrap();
                    q.matches(
                        &Document {
                            meta: r.meta.clone(),
                            value: finding(i),
                        },
                        NOW,
                    )
                })
                .collect();
            let fx = update::update(
                app,
                Action::Keys {
                    generation: *generation,
                    append: false,
                    result: Ok(Page {
                        rows,
                        cursor: None,
                        has_more: false,
                        scanned: 12,
                    }),
                },
            );
            answer(app, fx);
            continue;
        }
        if let Effect::LoadDocument {
            ns,
            key,
            generation,
        } = e
        {
            let i: usize = key.trim_start_matches("F-").parse().unwrap_or(0);
            let version = app.keys.row_mut(&key).map_or(1, |r| r.meta.version);
            let by = app
                .keys
                .row_mut(&key)
                .map_or("agent".into(), |r| r.meta.updated_by.clone());
            let fx = update::update(
                app,
                Action::Document {
                    generation,
                    result: Ok(Loaded {
                        doc: Document {
                            meta: meta(&ns, &key, version, &by, 5),
                            value: finding(i),
                        },
                        preview: None,
                    }),
                },
            );
            answer(app, fx);
        }
    }
}

fn stats(ns: &str, documents: u64, bytes: u64) -> NamespaceStats {
    NamespaceStats {
        namespace: ns.into(),
        documents,
        bytes,
        created_at: "2026-02-20T00:00:00.000Z".into(),
        updated_at: "2026-02-25T06:00:00.000Z".into(),
    }
}

/// Row `i` of the `findings` listing of `app`.
fn listed_row(i: usize) -> KeyRow {
    let agents = [
        "acme/sec-scanner@1.4.2",
        "acme/dep-auditor",
        "tui",
        "ci\u{1b}[31m",
    ];
    KeyRow {
        meta: meta(
            "findings",
            &format!("F-{i:03}"),
            1 + (i as u64 % 3),
            agents[i % 4],
            (i as i64) * 37,
        ),
        reviewed: i % 3 == 1,
        action: None,
    }
}

/// The app of most snapshots: four namespaces, `findings` listed with 12 keys.
fn app(read_only: bool, width: u16, height: u16) -> App {
    let mut app = App::new(session(read_only), width, height, NOW);
    update::start(&mut app);
    let fx = update::update(
        &mut app,
        Action::Namespaces(Ok(vec![
            stats("checkpoints", 15, 4362),
            stats("coordination", 29, 4094),
            stats("findings", 12, 3400),
            stats("signals", 28, 2604),
        ])),
    );
    let _ = fx;
    feed(&mut app, vec![key('j'), key('j')]);
    let rows = (0..12).map(listed_row).collect();
    let generation = app.keys.generation;
    let fx = update::update(
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
    answer(&mut app, fx);
    app
}

#[test]
fn three_panes() {
    let mut app = app(false, 140, 24);
    feed(&mut app, vec![code(KeyCode::Enter), key('j')]);
    insta::assert_snapshot!(render(&app));
}

#[test]
fn filtered_list() {
    let mut app = app(false, 140, 24);
    feed(
        &mut app,
        vec![code(KeyCode::Enter), key('/'), key('0'), key('1')],
    );
    // While typing: nothing is asked of the store yet.
    let typing = render(&app);
    assert!(
        typing.contains("/01▏  Enter: query the whole namespace"),
        "{typing}"
    );
    feed(&mut app, vec![code(KeyCode::Enter)]);
    insta::assert_snapshot!(render(&app));
}

#[test]
fn document_with_folding() {
    let mut app = app(false, 140, 24);
    feed(
        &mut app,
        vec![
            code(KeyCode::Enter),
            code(KeyCode::Enter),
            key('j'),
            key('j'),
            key('j'),
            key('j'),
            key(' '),
        ],
    );
    let text = render(&app);
    assert!(text.contains("\"evidence\": { … 3 items }"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn editor_with_a_json_error() {
    let mut app = app(false, 100, 20);
    feed(
        &mut app,
        vec![code(KeyCode::Enter), key('e'), code(KeyCode::End), key(',')],
    );
    let text = render(&app);
    assert!(text.contains("invalid JSON: line 1 column 2"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn conflict_view() {
    let mut app = app(false, 120, 24);
    feed(
        &mut app,
        vec![
            code(KeyCode::Enter),
            key('e'),
            code(KeyCode::Down),
            code(KeyCode::End),
        ],
    );
    for c in " \"note\": \"mine\",".chars() {
        feed(&mut app, vec![key(c)]);
    }
    feed(&mut app, vec![ctrl('s')]);
    let mut theirs = finding(0);
    theirs["severity"] = json!("critical");
    feed(
        &mut app,
        vec![Action::Saved {
            ns: "findings".into(),
            key: "F-000".into(),
            outcome: SaveOutcome::Conflict(Some(Document {
                meta: meta("findings", "F-000", 2, "acme/dep-auditor", 1),
                value: theirs,
            })),
        }],
    );
    insta::assert_snapshot!(render(&app));
}

#[test]
fn delete_key_confirmation() {
    let mut app = app(false, 120, 20);
    feed(&mut app, vec![code(KeyCode::Enter), key('j'), key('d')]);
    insta::assert_snapshot!(render(&app));
}

#[test]
fn delete_namespace_confirmation() {
    let mut app = app(false, 120, 20);
    feed(&mut app, vec![key('D'), key('f'), key('i'), key('n')]);
    insta::assert_snapshot!(render(&app));
}

#[test]
fn help_overlay() {
    let mut app = app(false, 120, 60);
    feed(&mut app, vec![key('?')]);
    insta::assert_snapshot!(render(&app));
}

#[test]
fn read_only_badge() {
    let mut app = app(true, 120, 16);
    feed(&mut app, vec![code(KeyCode::Enter), key('r')]);
    let text = render(&app);
    assert!(text.contains("READ-ONLY"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn narrow_layout_shows_one_pane_and_drills_in() {
    let mut app = app(false, 70, 16);
    let namespaces = render(&app);
    feed(&mut app, vec![code(KeyCode::Enter)]);
    let keys = render(&app);
    feed(&mut app, vec![code(KeyCode::Enter)]);
    let doc = render(&app);
    insta::assert_snapshot!(format!("{namespaces}\n{keys}\n{doc}"));
}

#[test]
fn resizing_never_breaks_rendering() {
    let mut app = app(false, 140, 24);
    feed(&mut app, vec![code(KeyCode::Enter), key('e')]);
    for (w, h) in [
        (140, 24),
        (3, 3),
        (20, 5),
        (99, 10),
        (100, 10),
        (1, 40),
        (300, 2),
    ] {
        feed(&mut app, vec![Action::Resize(w, h)]);
        render(&app);
    }
}

#[test]
fn bulk_action_on_a_query_preview_progress_and_report() {
    let mut app = app(false, 140, 24);
    feed(&mut app, vec![code(KeyCode::Enter)]);
    feed(&mut app, "/severity=high".chars().map(key).collect());
    feed(&mut app, vec![code(KeyCode::Enter)]);
    assert_eq!(app.keys.rows.len(), 4);
    feed(&mut app, vec![key('B')]);
    let choose = render(&app);
    assert!(
        choose.contains("On all 4 documents matching: severity=high"),
        "{choose}"
    );
    feed(&mut app, vec![code(KeyCode::Enter)]);
    insta::assert_snapshot!("bulk_preview", render(&app));
    let fx = update::update(&mut app, key('y'));
    let targets: Vec<(String, u64)> = fx
        .iter()
        .flat_map(|e| match e {
            Effect::Bulk { targets, .. } => targets.clone(),
            _ => vec![],
        })
        .collect();
    assert_eq!(
        targets,
        [("F-000", 1), ("F-003", 1), ("F-006", 1), ("F-009", 1)].map(|(k, v)| (k.to_string(), v))
    );
    // Someone else changed F-003 in between: it is reported and left alone.
    let results = targets
        .iter()
        .map(|(k, v)| {
            let r = if k == "F-003" {
                Err(agent_console::Error::new(
                    agent_console::ErrorKind::Conflict,
                    "version mismatch",
                ))
            } else {
                Ok(Some(meta("findings", k, v + 1, "tui", 0)))
            };
            (k.clone(), r)
        })
        .collect();
    // (The document reload it asks for is not answered: this test's documents are fixed.)
    let fx = update::update(
        &mut app,
        Action::Bulk {
            ns: "findings".into(),
            results,
        },
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadNamespaces)));
    let report = render(&app);
    assert!(
        report.contains("done 3   changed by someone else 1   failed 0"),
        "{report}"
    );
    insta::assert_snapshot!("bulk_report", report);
    let reviewed: Vec<&str> = app
        .keys
        .rows
        .iter()
        .filter(|r| r.reviewed)
        .map(|r| r.meta.key.as_str())
        .collect();
    assert_eq!(reviewed, ["F-000", "F-006", "F-009"]);
    feed(&mut app, vec![code(KeyCode::Esc)]);
    assert!(app.modal.is_none());
}
