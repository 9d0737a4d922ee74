//! The projector: a background task that drains `projection_queue`.
//!
//! Several instances may share one database: `FOR UPDATE SKIP LOCKED` splits the queue between
//! them, each taking first the rows its own writers added (`load::claim`), and the per-call
//! advisory lock serialises two of them on one call, so each reads the state the other committed. A failed batch rolls back, so its queue rows come back and are retried
//! after a pause.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ProjectionSettings;
use crate::metrics as m;
use crate::projection::{load, project_claimed, ProjectionFeed};

const MAX_BACKOFF: Duration = Duration::from_secs(10);
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

pub struct Projector {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Projector {
    pub fn start(pool: PgPool, settings: &ProjectionSettings, feed: ProjectionFeed) -> Projector {
        let (stop, stopped) = watch::channel(false);
        let worker = Worker {
            pool,
            batch_calls: settings.batch_calls,
            poll_interval: Duration::from_millis(settings.poll_interval_ms),
            settle: Duration::from_millis(settings.settle_ms),
            foreign_after: Duration::from_millis(settings.foreign_after_ms),
            feed,
        };
        Projector {
            stop,
            task: tokio::spawn(worker.run(stopped)),
        }
    }

    /// Lets a batch in progress finish, then ends the task.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "projector task failed");
        }
    }
}

struct Worker {
    pool: PgPool,
    batch_calls: usize,
    poll_interval: Duration,
    settle: Duration,
    foreign_after: Duration,
    feed: ProjectionFeed,
}

impl Worker {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let mut backoff: Option<Duration> = None;
        let mut sampled: Option<Instant> = None;
        while !*stopped.borrow() {
            let pause = match self.drain_once().await {
                Ok(claimed) => {
                    if backoff.take().is_some() {
                        tracing::info!("projector recovered");
                    }
                    // A full batch means more is probably waiting.
                    if claimed >= self.batch_calls {
                        Duration::ZERO
                    } else {
                        self.poll_interval
                    }
                }
                Err(error) => {
                    let next = backoff
                        .map_or(self.poll_interval.max(Duration::from_millis(500)), |b| {
                            (b * 2).min(MAX_BACKOFF)
                        });
                    backoff = Some(next);
                    tracing::warn!(%error, retry_in_ms = next.as_millis() as u64, "projection failed; the queue keeps the work");
                    next
                }
            };
            if sampled.map_or(true, |at| at.elapsed() >= SAMPLE_EVERY) {
                sampled = Some(Instant::now());
                self.sample_queue().await;
            }
            if pause.is_zero() {
                continue;
            }
            let woken = tokio::select! {
                _ = self.feed.rung(), if backoff.is_none() => true,
                _ = tokio::time::sleep(pause) => false,
                // A dropped handle means the application is gone: stop too.
                changed = stopped.changed() => if changed.is_err() { break } else { false },
            };
            if woken && !self.settle.is_zero() {
                // Let the rest of a call's burst arrive: its next POSTs usually follow within
                // milliseconds, and one pass over all of them costs what one pass over each did.
                tokio::select! {
                    _ = tokio::time::sleep(self.settle) => {}
                    changed = stopped.changed() => if changed.is_err() { break },
                }
            }
        }
    }

    /// One transaction: claim queue rows, project the calls they name, commit. The number of calls
    /// they named (repeats included): `batch_calls` or more means more is probably waiting.
    async fn drain_once(&self) -> Result<usize, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let claim = load::Claim {
            limit: self.batch_calls,
            owner: self.feed.owner(),
            foreign_after: self.foreign_after,
        };
        let claimed = load::claim(&mut tx, claim).await?;
        if claimed.call_ids.is_empty() {
            return Ok(0);
        }
        let named = claimed.call_ids.len();
        project_claimed(&mut tx, claimed, &self.feed).await?;
        tx.commit().await?;
        Ok(named)
    }

    async fn sample_queue(&self) {
        let sample: Result<(i64, f64), sqlx::Error> = sqlx::query_as(
            "SELECT coalesce(sum(cardinality(call_ids)), 0)::int8, \
               coalesce(extract(epoch FROM now() - min(enqueued_at)), 0)::float8 \
             FROM projection_queue",
        )
        .fetch_one(&self.pool)
        .await;
        match sample {
            Ok((depth, lag)) => {
                metrics::gauge!(m::PROJECTION_QUEUE_DEPTH).set(depth as f64);
                metrics::gauge!(m::PROJECTION_LAG_SECONDS).set(lag.max(0.0));
            }
            Err(error) => tracing::debug!(%error, "could not sample the projection queue"),
        }
    }
}
