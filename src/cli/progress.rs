//! A one-line progress counter on stderr for long commands (export, import), shown only
//! when stderr is a terminal and redrawn at most ten times a second.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    label: &'static str,
    total: u64,
    done: u64,
    shown: bool,
    last: Instant,
}

impl Progress {
    pub fn new(label: &'static str, total: u64) -> Progress {
        Progress {
            label,
            total,
            done: 0,
            shown: std::io::stderr().is_terminal(),
            last: Instant::now(),
        }
    }

    /// Sets how much is done of how much (for work whose total is learnt as it goes).
    pub fn set(&mut self, done: u64, total: u64) {
        self.done = done;
        self.total = total;
        if self.shown && self.last.elapsed() >= Duration::from_millis(100) {
            self.last = Instant::now();
            self.draw();
        }
    }

    pub fn step(&mut self) {
        self.done += 1;
        if self.shown && self.last.elapsed() >= Duration::from_millis(100) {
            self.last = Instant::now();
            self.draw();
        }
    }

    fn draw(&self) {
        let total = self.total.max(self.done).max(1);
        let width = 30;
        let filled = (self.done * width / total) as usize;
        eprint!(
            "\r{} [{}{}] {}/{}",
            self.label,
            "#".repeat(filled),
            " ".repeat(width as usize - filled),
            self.done,
            total
        );
        let _ = std::io::stderr().flush();
    }

    pub fn done(&self) {
        if self.shown {
            self.draw();
            eprintln!();
        }
    }
}
