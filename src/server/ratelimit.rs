//! Per-key request rate limiting: a fixed one-minute window per API key, and the
//! `X-RateLimit-*` headers that report it. A limit of 0 turns it off.

use crate::error::{Error, ErrorKind};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a request learned about its key's budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub limit: u32,
    pub remaining: u32,
    /// Epoch seconds when the window resets.
    pub reset: u64,
}

/// Reports a budget in the `X-RateLimit-*` headers of a response.
pub fn set_headers(headers: &mut axum::http::HeaderMap, b: Budget) {
    use axum::http::HeaderValue;
    headers.insert("x-ratelimit-limit", HeaderValue::from(b.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(b.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(b.reset));
}

/// Counters of the current window, per key.
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.per_minute > 0
    }

    /// Counts one request of `key` at `now` (epoch seconds): its budget, or `RATE_LIMITED`
    /// with the seconds until the window resets.
    pub fn check_at(&self, key: &str, now: u64) -> Result<Budget, (Error, Budget)> {
        let window = now - now % 60;
        let reset = window + 60;
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Forget finished windows so the map cannot grow without bound.
            map.retain(|_, (w, _)| *w == window);
        }
        let entry = map.entry(key.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        let budget = |used: u32| Budget {
            limit: self.per_minute,
            remaining: self.per_minute.saturating_sub(used),
            reset,
        };
        if entry.1 >= self.per_minute {
            let mut e = Error::new(
                ErrorKind::RateLimited,
                format!(
                    "more than {} requests this minute for this key; retry after the reset",
                    self.per_minute
                ),
            );
            e.retry_after = Some((reset - now).max(1));
            return Err((e, budget(entry.1)));
        }
        entry.1 += 1;
        Ok(budget(entry.1))
    }

    pub fn check(&self, key: &str) -> Result<Budget, (Error, Budget)> {
        self.check_at(key, now_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_fills_and_resets() {
        let r = RateLimiter::new(2);
        assert_eq!(r.check_at("k", 120).unwrap().remaining, 1);
        assert_eq!(r.check_at("k", 121).unwrap().remaining, 0);
        let (e, b) = r.check_at("k", 150).unwrap_err();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.retry_after, Some(30));
        assert_eq!(b.reset, 180);
        // Another key has its own budget; the next minute starts afresh.
        assert!(r.check_at("other", 150).is_ok());
        assert_eq!(r.check_at("k", 180).unwrap().remaining, 1);
    }
}
