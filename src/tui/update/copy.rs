//! The copy commands: the value (whole document, or the part under the cursor in the
//! document pane), the key, the JSON path under the cursor, and the document as a
//! `console` or `curl` command. Each hands the text to the event loop (OSC 52).

use crate::tui::action::Effect;
use crate::tui::app::{App, Pane};
use crate::tui::clipboard::{self, Seg};
use crate::tui::keymap::Cmd;

/// (namespace, key) of the document the command applies to.
fn subject(app: &App) -> Option<(String, String)> {
    match app.focus {
        Pane::Document => app.doc.shows().map(|(n, k)| (n.to_string(), k.to_string())),
        _ => Some((app.keys.ns.clone()?, app.keys.selected_key()?)),
    }
}

/// The JSON path of the document line under the cursor.
fn cursor_path(app: &App) -> Result<Vec<Seg>, &'static str> {
    let l = app.doc.loaded.as_ref().ok_or("no document shown")?;
    if l.preview.is_some() {
        return Err("the document is over the preview limit: no paths in a preview");
    }
    let line = app.doc.visible.get(app.doc.cursor).copied().unwrap_or(0);
    clipboard::line_paths(&l.doc.value)
        .into_iter()
        .nth(line)
        .ok_or("no line under the cursor")
}

fn value(app: &App) -> Result<(String, String), String> {
    let (ns, key) = subject(app).ok_or("no document selected")?;
    let l = app
        .doc
        .loaded
        .as_ref()
        .filter(|l| l.doc.meta.namespace == ns && l.doc.meta.key == key)
        .ok_or("the document is not loaded yet")?;
    if l.preview.is_some() {
        return Err("the document is over the preview limit: copy it as a command instead".into());
    }
    if app.focus == Pane::Document {
        let path = cursor_path(app)?;
        let v = clipboard::at(&l.doc.value, &path).ok_or("no value under the cursor")?;
        let what = format!("value at {}", clipboard::path_string(&path));
        return Ok((clipboard::value_text(v), what));
    }
    Ok((
        clipboard::value_text(&l.doc.value),
        format!("value of {ns}/{key}"),
    ))
}

fn text(app: &App, cmd: Cmd) -> Result<(String, String), String> {
    match cmd {
        Cmd::CopyValue => value(app),
        Cmd::CopyKey => {
            let (_, key) = subject(app).ok_or("no document selected")?;
            Ok((key.clone(), format!("key {key}")))
        }
        Cmd::CopyPath => {
            if app.focus != Pane::Document {
                return Err("JSON paths are copied in the document pane".into());
            }
            let p = clipboard::path_string(&cursor_path(app)?);
            Ok((p.clone(), format!("path {p}")))
        }
        Cmd::CopyCommand | Cmd::CopyCurl => {
            let (ns, key) = subject(app).ok_or("no document selected")?;
            let c = if cmd == Cmd::CopyCommand {
                clipboard::console_command(&app.target, &ns, &key)
            } else {
                clipboard::curl_command(&app.target, &ns, &key)
            };
            Ok((c.clone(), c))
        }
        _ => Err("not a copy command".into()),
    }
}

pub(super) fn copy(app: &mut App, cmd: Cmd, fx: &mut Vec<Effect>) {
    match text(app, cmd) {
        Ok((text, what)) => {
            let what = crate::tui::components::clip(&what, 80);
            app.info(format!("copied {what}"));
            fx.push(Effect::Copy { text });
        }
        Err(e) => app.error(format!("nothing copied: {e}")),
    }
}
