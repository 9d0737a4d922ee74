//! Warnings that can repeat once per request or per row are logged at most once per interval,
//! with the number of occurrences since the last line: a log line per occurrence would add work
//! exactly when something is already wrong, and bury every other line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Counts occurrences of one warning and says when to log it.
pub struct Throttle {
    interval_ms: u64,
    started: OnceLock<Instant>,
    since_logged: AtomicU64,
    last_logged_ms: AtomicU64,
}

impl Throttle {
    const NEVER: u64 = u64::MAX;

    /// A throttle for one warning, logged at most once per `interval_ms`; usable as a `static`.
    pub const fn new(interval_ms: u64) -> Throttle {
        Throttle {
            interval_ms,
            started: OnceLock::new(),
            since_logged: AtomicU64::new(0),
            last_logged_ms: AtomicU64::new(Self::NEVER),
        }
    }

    /// Counts one occurrence. `Some(n)` when it is time to log, `n` being the occurrences since the
    /// last line (this one included); `None` otherwise. The first occurrence is always logged.
    pub fn occurred(&self) -> Option<u64> {
        let started = *self.started.get_or_init(Instant::now);
        let now_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(Self::NEVER - 1);
        self.occurred_at(now_ms)
    }

    fn occurred_at(&self, now_ms: u64) -> Option<u64> {
        self.since_logged.fetch_add(1, Ordering::Relaxed);
        let last = self.last_logged_ms.load(Ordering::Relaxed);
        let due = last == Self::NEVER || now_ms.saturating_sub(last) >= self.interval_ms;
        // Of the threads that find it due at once, the one that moves the mark logs.
        if due
            && self
                .last_logged_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            Some(self.since_logged.swap(0, Ordering::Relaxed))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_occurrence_is_logged_then_one_line_per_interval_with_the_count() {
        let throttle = Throttle::new(10);
        assert_eq!(throttle.occurred_at(0), Some(1));
        assert_eq!(throttle.occurred_at(5), None);
        assert_eq!(throttle.occurred_at(9), None);
        assert_eq!(throttle.occurred_at(10), Some(3));
        assert_eq!(throttle.occurred_at(19), None);
        assert_eq!(throttle.occurred_at(40), Some(2));
    }

    #[test]
    fn a_zero_interval_logs_every_occurrence() {
        let throttle = Throttle::new(0);
        for at in [0, 0, 1] {
            assert_eq!(throttle.occurred_at(at), Some(1));
        }
    }
}
