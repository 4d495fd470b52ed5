//! Snapshots of the palette, the filter language, a remapped help overlay and the light
//! theme (with colours), on the app of `tests/tui.rs`.

use super::{app, code, feed, key, render};
use agent_console::config::{KeyList, ThemeSetting};
use agent_console::tui::keyspec::Keymap;
use agent_console::tui::theme::{self, Theme};
use agent_console::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use std::collections::BTreeMap;

fn typed(s: &str) -> Vec<agent_console::tui::action::Action> {
    s.chars().map(key).collect()
}

#[test]
fn palette_open_with_a_query() {
    let mut app = app(false, 120, 24);
    feed(&mut app, typed(":rev"));
    let text = render(&app);
    assert!(text.contains("Command palette"), "{text}");
    assert!(text.contains(": rev"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn palette_lists_namespaces_to_go_to() {
    let mut app = app(false, 120, 24);
    feed(&mut app, typed(":go sig"));
    let text = render(&app);
    let first = text
        .lines()
        .find(|l| l.contains("go to namespace"))
        .unwrap_or_default();
    assert!(first.contains("go to namespace signals"), "{text}");
    feed(&mut app, vec![code(KeyCode::Enter)]);
    assert_eq!(app.keys.ns.as_deref(), Some("signals"));
}

#[test]
fn filter_line_with_matches() {
    let mut app = app(false, 140, 24);
    feed(&mut app, vec![code(KeyCode::Enter)]);
    feed(&mut app, typed("/by:acme !reviewed"));
    feed(&mut app, vec![code(KeyCode::Enter)]);
    let text = render(&app);
    assert!(text.contains("/by:acme !reviewed  4 of 12 match"), "{text}");
    assert!(text.contains("filter: by:acme !reviewed"), "{text}");
    insta::assert_snapshot!(text);
    // A query that does not parse says where; the one in force stays.
    feed(&mut app, typed("/ size>lots"));
    feed(&mut app, vec![code(KeyCode::Enter)]);
    let text = render(&app);
    assert!(
        text.contains("│✗ invalid query at column 24: \"lots\" is not a size"),
        "{text}"
    );
    assert!(text.contains("4 of 12 match"), "{text}");
    // Conditions on the documents' members: the store answers them.
    feed(&mut app, vec![code(KeyCode::Esc), code(KeyCode::Esc)]);
    feed(&mut app, typed("/severity=high tags~CRYPTO"));
    feed(&mut app, vec![code(KeyCode::Enter)]);
    let text = render(&app);
    assert!(text.contains("4 of 12 match"), "{text}");
    assert!(text.contains("F-003") && !text.contains("F-001"), "{text}");
}

#[test]
fn help_overlay_after_a_remap() {
    let mut app = app(false, 120, 70);
    let remaps: BTreeMap<String, KeyList> = [
        ("review".to_string(), KeyList::One("x".into())),
        (
            "palette".to_string(),
            KeyList::Many(vec!["ctrl-p".into(), ":".into()]),
        ),
    ]
    .into();
    app.keymap = Keymap::new(&remaps).unwrap();
    feed(&mut app, vec![key('?')]);
    let text = render(&app);
    assert!(text.contains("x         mark reviewed"), "{text}");
    assert!(text.contains("C-p/:     command palette"), "{text}");
    assert!(!text.contains("r         mark reviewed"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn light_theme() {
    let t = Theme::from_config(&ThemeSetting::Name("light".into())).unwrap();
    theme::set(t);
    let mut app = app(false, 100, 12);
    feed(&mut app, vec![code(KeyCode::Enter)]);
    let mut term = Terminal::new(TestBackend::new(app.width, app.height)).unwrap();
    term.draw(|f| view::draw(f, &app)).unwrap();
    let buffer = format!("{:?}", term.backend().buffer());
    theme::set(Theme::default());
    assert!(
        buffer.contains("Rgb(175, 215, 255)"),
        "selection not in the light theme"
    );
    insta::assert_snapshot!(buffer);
}
