//! Rendering the TUI into a `TestBackend` as text, for snapshots: one line per row,
//! trailing blanks cut. Every render also checks no control character reached the screen.

use agent_console::tui::app::App;
use agent_console::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub fn render(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(app.width, app.height)).unwrap();
    t.draw(|f| view::draw(f, app)).unwrap();
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    assert!(
        !out.chars().any(|c| c.is_control() && c != '\n'),
        "a control character reached the screen"
    );
    out
}
