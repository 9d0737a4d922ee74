//! A request budget per API token: a token bucket each, refilled at `api.rate_limit_per_second`
//! up to `api.rate_limit_burst`. One client's loop (or a leaked token) cannot take the reporting
//! pool from everyone else; past its budget a token gets `429 rate_limited` with `Retry-After`.
//!
//! The buckets are this instance's: behind a load balancer of N instances a token may make up to N
//! times the rate. They are kept by the token's position in `api.tokens`, so their number is fixed
//! by the configuration and no request can grow it.

use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone)]
pub struct RateLimits {
    buckets: Arc<[Mutex<Bucket>]>,
    per_second: f64,
    burst: f64,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimits {
    /// Buckets for `count` tokens; `per_second` 0 turns the limit off.
    pub fn new(count: usize, per_second: u32, burst: u32) -> RateLimits {
        let now = Instant::now();
        RateLimits {
            buckets: (0..count)
                .map(|_| {
                    Mutex::new(Bucket {
                        tokens: f64::from(burst),
                        at: now,
                    })
                })
                .collect(),
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
        }
    }

    /// Takes one request from the bucket of token `index`: `Err(seconds)` to wait when it is empty.
    pub fn take(&self, index: usize) -> Result<(), u32> {
        self.take_at(index, Instant::now())
    }

    fn take_at(&self, index: usize, now: Instant) -> Result<(), u32> {
        if self.per_second == 0.0 {
            return Ok(());
        }
        let Some(bucket) = self.buckets.get(index) else {
            return Ok(());
        };
        let mut bucket = bucket.lock().unwrap_or_else(|e| e.into_inner());
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Err(wait.ceil().max(1.0) as u32)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_token_gets_its_burst_then_its_rate_and_others_are_unaffected() {
        let limits = RateLimits::new(2, 2, 3);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limits.take_at(0, start), Ok(()));
        }
        assert_eq!(limits.take_at(0, start), Err(1));
        assert_eq!(
            limits.take_at(1, start),
            Ok(()),
            "another token has its own bucket"
        );
        // Half a second later one request's worth has come back (2 per second), and no more.
        let later = start + Duration::from_millis(500);
        assert_eq!(limits.take_at(0, later), Ok(()));
        assert_eq!(limits.take_at(0, later), Err(1));
        // Never more than the burst, however long it waited.
        let much_later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limits.take_at(0, much_later), Ok(()));
        }
        assert!(limits.take_at(0, much_later).is_err());
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        let limits = RateLimits::new(1, 0, 1);
        let now = Instant::now();
        for _ in 0..1000 {
            assert_eq!(limits.take_at(0, now), Ok(()));
        }
    }
}
