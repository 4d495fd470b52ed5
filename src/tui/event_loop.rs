//! The event loop and the terminal: raw mode and the alternate screen (restored on exit,
//! on error and on panic), an input thread, the worker, and "drain every pending event,
//! then draw once" (no render tick). `CONSOLE_TUI_TRACE=path` logs frame timings.

use super::action::{Action, Effect};
use super::app::{App, Session};
use super::setup::Setup;
use super::{update, view, worker};
use crate::model::now_ms;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{EnterAlternateScreen, enable_raw_mode};
use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Restores the terminal when dropped: on return and on error alike.
struct Restore(bool);

impl Drop for Restore {
    fn drop(&mut self) {
        if self.0 {
            let _ = execute!(std::io::stdout(), DisableMouseCapture);
        }
        ratatui::restore();
    }
}

/// The input thread, which can be paused while $EDITOR owns the terminal.
struct Input {
    paused: Arc<AtomicBool>,
    polling: Arc<Mutex<()>>,
}

impl Input {
    fn spawn(tx: Sender<Action>) -> Input {
        let paused = Arc::new(AtomicBool::new(false));
        let polling = Arc::new(Mutex::new(()));
        let (p, l) = (paused.clone(), polling.clone());
        std::thread::spawn(move || {
            loop {
                if p.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                let _guard = l.lock().unwrap_or_else(|e| e.into_inner());
                if p.load(Ordering::SeqCst) {
                    continue;
                }
                let action = match event::poll(Duration::from_millis(100)) {
                    Ok(true) => match event::read() {
                        Ok(Event::Key(k)) => Some(Action::Key(k)),
                        Ok(Event::Resize(w, h)) => Some(Action::Resize(w, h)),
                        Ok(Event::Mouse(m)) => Some(Action::Mouse(m)),
                        Ok(_) => None,
                        Err(_) => return,
                    },
                    Ok(false) => None,
                    Err(_) => return,
                };
                if let Some(a) = action
                    && tx.send(a).is_err()
                {
                    return;
                }
            }
        });
        Input { paused, polling }
    }

    fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        // Wait for a poll in progress to end.
        drop(self.polling.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }
}

/// Frame timings for `CONSOLE_TUI_TRACE`.
struct Trace {
    out: Option<std::io::BufWriter<std::fs::File>>,
    start: Instant,
    frames: u64,
}

impl Trace {
    fn open() -> Trace {
        let out = std::env::var_os("CONSOLE_TUI_TRACE")
            .and_then(|p| std::fs::File::create(p).ok())
            .map(std::io::BufWriter::new);
        Trace {
            out,
            start: Instant::now(),
            frames: 0,
        }
    }

    fn frame(&mut self, app: &App, busy_since: Instant, draw: Duration, keys: usize) {
        self.frames += 1;
        if let Some(out) = &mut self.out {
            let _ = writeln!(
                out,
                "frame={} epoch_ms={} at_ms={:.1} handle_and_draw_us={} draw_us={} keys_in_batch={} rows={} loading={}",
                self.frames,
                now_ms(),
                self.start.elapsed().as_secs_f64() * 1000.0,
                busy_since.elapsed().as_micros(),
                draw.as_micros(),
                keys,
                app.keys.rows.len(),
                app.loading()
            );
            let _ = out.flush();
        }
    }
}

pub fn run(session: Session, worker: worker::Worker, mut setup: Setup) -> anyhow::Result<()> {
    let mut trace = Trace::open();
    let (tx, rx) = channel::<Action>();
    let mut jobs = setup.spawn(worker, tx.clone());
    // try_init also installs a panic hook that restores the terminal first.
    let mut terminal = ratatui::try_init()?;
    let _restore = Restore(setup.mouse);
    if setup.mouse {
        execute!(std::io::stdout(), EnableMouseCapture)?;
    }
    let input = Input::spawn(tx.clone());
    let size = terminal.size()?;
    let mut app = App::new(session, size.width, size.height, now_ms());
    app.target = setup.target.clone();
    app.profiles = setup.profiles.clone();
    let mut queue: VecDeque<Action> = VecDeque::new();
    let mut effects = VecDeque::from(update::start(&mut app));
    let mut since = Instant::now();
    let mut keys = 0;
    loop {
        while let Some(e) = effects.pop_front() {
            match e {
                Effect::Quit => {}
                Effect::ExternalEdit { text } => {
                    let r = external_edit(&mut terminal, &input, &text, setup.mouse);
                    queue.push_back(Action::ExternalEdited(r));
                }
                Effect::Copy { text } => {
                    let out = terminal.backend_mut();
                    let _ = out.write_all(super::clipboard::osc52(&text).as_bytes());
                    let _ = out.flush();
                }
                Effect::SwitchProfile { name } => match setup.switch(&name) {
                    Ok((session, worker)) => {
                        jobs = setup.spawn(worker, tx.clone());
                        let size = terminal.size()?;
                        app = App::new(session, size.width, size.height, now_ms());
                        app.target = setup.target.clone();
                        app.profiles = setup.profiles.clone();
                        app.info(format!("opened profile {name}: {}", app.session.location));
                        queue.clear();
                        effects.clear();
                        effects.extend(update::start(&mut app));
                    }
                    Err(e) => app.error(format!("cannot open profile {name}: {e}")),
                },
                e => {
                    jobs.send(e)?;
                }
            }
            while let Some(a) = queue.pop_front() {
                effects.extend(update::update(&mut app, a));
            }
        }
        if app.quit {
            return Ok(());
        }
        let t = Instant::now();
        terminal.draw(|f| view::draw(f, &app))?;
        trace.frame(&app, since, t.elapsed(), keys);
        // Wait for the next event, then take every one already pending.
        let Ok(first) = rx.recv() else {
            return Ok(());
        };
        since = Instant::now();
        queue.push_back(first);
        queue.extend(rx.try_iter());
        keys = queue.iter().filter(|a| matches!(a, Action::Key(_))).count();
        app.now_ms = now_ms();
        while let Some(a) = queue.pop_front() {
            effects.extend(update::update(&mut app, a));
        }
    }
}

/// Suspends the TUI, edits `text` in $EDITOR (or vi) in a temporary file, and resumes.
fn external_edit(
    terminal: &mut DefaultTerminal,
    input: &Input,
    text: &str,
    mouse: bool,
) -> Result<String, String> {
    input.pause();
    if mouse {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
    }
    ratatui::restore();
    let result = (|| {
        // A name no other user can guess or claim first, readable by us alone, removed
        // when `file` is dropped.
        let file = tempfile::Builder::new()
            .prefix("console-edit-")
            .suffix(".json")
            .tempfile()
            .map_err(|e| format!("cannot create a temporary file: {e}"))?;
        let path = file.path().to_path_buf();
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let editor = std::env::var("VISUAL")
            .or_else(|_| std::env::var("EDITOR"))
            .unwrap_or_else(|_| "vi".to_string());
        // Through the shell, so EDITOR may carry arguments ("code -w").
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(&path)
            .status();
        let out = match status {
            Ok(s) if s.success() => std::fs::read_to_string(&path).map_err(|e| e.to_string()),
            Ok(s) => Err(format!("{editor} exited with {s}")),
            Err(e) => Err(format!("cannot run {editor}: {e}")),
        };
        drop(file);
        out
    })();
    let _ = enable_raw_mode();
    let _ = execute!(std::io::stdout(), EnterAlternateScreen);
    if mouse {
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
    }
    let _ = terminal.clear();
    input.resume();
    result
}
