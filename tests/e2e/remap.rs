//! End-to-end: a key remapped in config.toml works in the real binary and the help overlay
//! shows it; an invalid key spec stops the TUI at startup with an error naming the setting.

use super::{Session, value};
use serde_json::json;

#[test]
fn a_remapped_key_works_and_help_shows_it() {
    let s = Session::new("remap");
    std::fs::write(
        s.dir.path().join("config.toml"),
        "[tui.keys]\nreview = \"x\"\npalette = [\"ctrl-p\", \":\"]\n",
    )
    .unwrap();
    s.set("findings", "a1", json!({"title": "A1"}));
    s.set("findings", "a2", json!({"title": "A2"}));
    s.start("--namespace findings");
    s.wait_for("findings/a1");
    // The status bar hints and the help overlay show the new key.
    s.wait_for("x mark reviewed");
    s.keys(&["?"]);
    s.wait_for("x         mark reviewed");
    s.wait_for("C-p/:     command palette");
    s.keys(&["Escape"]);
    // The old key no longer reviews; the new one does.
    s.keys(&["r"]);
    s.keys(&["x"]);
    s.wait_for("marked reviewed");
    // The palette opens on its remapped key too.
    s.keys(&["C-p"]);
    s.wait_for("Command palette");
    s.keys(&["Escape"]);
    s.keys(&["q"]);
    s.wait_for("EXITED 0");
    let a1 = s.get("findings", "a1").unwrap();
    assert_eq!(a1["version"], json!(2));
    assert_eq!(value(&a1)["reviewed"], json!(true));
    let a2 = s.get("findings", "a2").unwrap();
    assert_eq!(a2["version"], json!(1), "r must no longer review");
}

#[test]
fn an_invalid_key_spec_is_a_clear_error_at_startup() {
    let s = Session::new("badkeys");
    std::fs::write(
        s.dir.path().join("config.toml"),
        "[tui.keys]\nreview = \"hyper-x\"\n",
    )
    .unwrap();
    s.set("findings", "a1", json!({"title": "A1"}));
    s.start("--namespace findings");
    let screen = s.wait_for("EXITED");
    assert!(screen.contains("tui.keys.review"), "{screen}");
    assert!(screen.contains("unknown modifier \"hyper\""), "{screen}");
    assert!(!screen.contains("EXITED 0"), "{screen}");
}
