//! A tmux server of a test's own (a private socket) running one program in one pane:
//! type keys, read the screen, wait (bounded) for text. The server is killed on drop.
#![allow(dead_code)] // each test binary uses part of it

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Pane {
    socket: String,
}

impl Pane {
    pub fn new(name: &str) -> Pane {
        let available = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            available,
            "tmux is needed for the end-to-end tests (.ci/run installs it)"
        );
        Pane {
            socket: format!("console-{name}-{}", std::process::id()),
        }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs the shell command `command` in a `width` x `height` pane.
    pub fn start(&self, command: &str, width: u16, height: u16) {
        let (w, h) = (width.to_string(), height.to_string());
        self.tmux(&["new-session", "-d", "-s", "t", "-x", &w, "-y", &h, command]);
        // Pass Escape on at once: with tmux's default delay, an Escape followed quickly by
        // another key reaches the program as one Alt-key.
        self.tmux(&["set-option", "-g", "escape-time", "0"]);
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "t", k]);
        }
    }

    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }

    /// Waits (at most `secs`) until the screen shows `needle`, and returns the screen.
    pub fn wait(&self, needle: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `wait` with the usual 10 s bound.
    pub fn wait_for(&self, needle: &str) -> String {
        self.wait(needle, 10)
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}
