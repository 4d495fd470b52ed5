//! The parts of the screen. Each owns its state and its drawing; `update` routes a key
//! to the one that has focus.

pub mod bulk;
pub mod conflict;
pub mod dialogs;
pub mod document;
pub mod editor;
pub mod help;
pub mod history;
pub mod keys;
pub mod namespaces;
pub mod palette;
pub mod status;

use ratatui::layout::Rect;

/// A rectangle of at most `w` x `h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// The first line to show so that `selected` is visible in `height` rows, moving the
/// previous `offset` as little as possible.
pub fn scroll_to(offset: usize, selected: usize, height: usize) -> usize {
    let height = height.max(1);
    if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    }
}

/// `s` cut to `width` characters, with an ellipsis when cut.
pub fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
