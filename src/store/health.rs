//! Whether the database is known to be down, so that deliveries can be refused at once.
//!
//! Without it, every request that arrived during an outage queued behind commits that each waited
//! `database.acquire_timeout_ms` for a connection and failed, and a shared batch that failed was
//! retried request by request: senders waited many times the timeout for their `503`. Now the
//! first commit that finds the database unreachable marks it down; from then on new deliveries
//! and queued ones are answered `503 storage_unavailable` at once, `/readyz` says not ready, and a
//! probe tries the database every [`PROBE_INTERVAL`] until it answers again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;

/// How often the probe tries a database marked down: recovery is noticed within about this long.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// Shared by the writers (which report), the edge and readiness (which read), and the probe.
#[derive(Clone, Default)]
pub struct DatabaseHealth {
    down: Arc<AtomicBool>,
    /// Wakes the probe as soon as the database is marked down.
    marked: Arc<tokio::sync::Notify>,
}

impl DatabaseHealth {
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// A commit found the database unreachable: refuse at once until the probe succeeds.
    pub fn mark_down(&self, reason: &dyn std::fmt::Display) {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(%reason, "database unavailable: deliveries refused with 503 until it answers");
            metrics::gauge!(crate::metrics::DATABASE_UP).set(0.0);
            self.marked.notify_one();
        }
    }

    /// A commit succeeded (or the probe got an answer).
    pub fn mark_up(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("database answers again: deliveries accepted");
            metrics::gauge!(crate::metrics::DATABASE_UP).set(1.0);
        }
    }

    /// Starts the probe on the current runtime (the one the pool is used on). It does nothing
    /// while the database is up.
    pub fn spawn_probe(&self, pool: PgPool, timeout: Duration) -> JoinHandle<()> {
        metrics::gauge!(crate::metrics::DATABASE_UP).set(1.0);
        let health = self.clone();
        tokio::spawn(async move {
            loop {
                if !health.is_down() {
                    health.marked.notified().await;
                    continue;
                }
                tokio::time::sleep(PROBE_INTERVAL).await;
                if probe(&pool, timeout).await {
                    health.mark_up();
                }
            }
        })
    }
}

async fn probe(pool: &PgPool, timeout: Duration) -> bool {
    let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool);
    matches!(tokio::time::timeout(timeout, ping).await, Ok(Ok(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_until_marked_up() {
        let health = DatabaseHealth::default();
        assert!(!health.is_down());
        health.mark_down(&"connection refused");
        assert!(health.is_down());
        health.mark_down(&"again");
        assert!(health.is_down());
        health.mark_up();
        assert!(!health.is_down());
    }
}
