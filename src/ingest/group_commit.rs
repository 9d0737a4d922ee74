//! Group commit.
//!
//! Requests put their parsed events on a bounded queue and wait on a one-shot reply. Each writer task
//! takes the first waiting request, then keeps taking the ones waiting until the batch holds
//! `batch_max_events` events, and writes them all in one transaction. When the queue runs dry it
//! waits for more (until `batch_max_wait`) only while every other writer is committing: an idle
//! writer would take the next requests at once, and overlapping commits hide each other's WAL flush.
//! While one writer commits, another gathers the next batch. A full queue is answered at once with
//! [`SubmitError::Overloaded`] (503 + Retry-After) so that latency and memory stay bounded.
//!
//! A request's events always travel together, so a POST is stored whole or not at all. If a shared
//! transaction fails, each request in it is retried alone so that one bad request cannot fail its
//! neighbours.
//!
//! When the database cannot be reached, a request is answered `503` within
//! `database.acquire_timeout_ms` and a little more, whatever batch it shares: a batch that finds the
//! database unreachable is answered whole at once (retrying its requests one by one would make the
//! last wait as many timeouts as there were requests), the database is marked down
//! ([`DatabaseHealth`]), and until the probe finds it again every new or queued request is refused
//! at once instead of waiting for a commit that cannot succeed.
//!
//! At shutdown ([`IngestWriters::stop`]) the queue closes, the writers write what it still holds, and
//! they end.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::{mpsc, oneshot, watch, Mutex};
use tokio::task::JoinHandle;

use crate::config::IngestSettings;
use crate::events::{CallId, ParsedEvent};
use crate::metrics as m;
use crate::projection::{feed, ProjectionFeed};
use crate::store::duplicates;
use crate::store::event_log::{self, Appended, Delivery, NewEvent, Stored};
use crate::store::health::DatabaseHealth;
use crate::telemetry::Throttle;

/// What happened to a request's events: the body of a 2xx answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WriteSummary {
    pub received: usize,
    pub stored: usize,
    pub duplicates: usize,
}

impl WriteSummary {
    pub fn of(outcome: &[Stored]) -> WriteSummary {
        let stored = outcome.iter().filter(|s| **s == Stored::New).count();
        WriteSummary {
            received: outcome.len(),
            stored,
            duplicates: outcome.len() - stored,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the ingest queue is full")]
    Overloaded,
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("the events could not be stored: {0}")]
    Failed(String),
}

struct Job {
    delivery: Delivery,
    events: Vec<ParsedEvent>,
    reply: oneshot::Sender<Reply>,
}

/// The outcome, and the job's events handed back: they were allocated on the request's thread and
/// are freed there too. Freed on the writer's thread instead, every event went back to another
/// thread's allocator arena, which showed up as allocator time (and lock traffic) in the profile.
struct Reply {
    outcome: Result<Vec<Stored>, SubmitError>,
    _events: Vec<ParsedEvent>,
}

impl Job {
    fn answer(self, outcome: Result<Vec<Stored>, SubmitError>) {
        let _ = self.reply.send(Reply {
            outcome,
            _events: self.events,
        });
    }
}

/// Cheap to clone; every clone feeds the same writers.
#[derive(Clone)]
pub struct IngestQueue {
    sender: mpsc::Sender<Job>,
    overload: Arc<OverloadLog>,
    health: DatabaseHealth,
    /// The longest a request waits for its answer: the batch window, the commit timeout and a small
    /// margin.
    answer_within: Duration,
}

/// What an answer may take beyond the commit timeout: the queue wait of a request that arrived
/// while the batch before it was failing.
const ANSWER_MARGIN: Duration = Duration::from_millis(250);

/// A full queue is logged at most once per interval, with the number of requests refused since,
/// rather than once per refused request: under overload a log line per 503 would add work exactly
/// when there is none to spare. (Every refusal is still counted in the rejected-requests metric.)
struct OverloadLog(Throttle);

impl OverloadLog {
    const INTERVAL_MS: u64 = 10_000;

    fn new() -> OverloadLog {
        OverloadLog(Throttle::new(Self::INTERVAL_MS))
    }

    fn refused(&self) {
        if let Some(refused) = self.0.occurred() {
            tracing::warn!(
                refused,
                "ingest queue full: requests answered 503 overloaded"
            );
        }
    }
}

/// The writer tasks, to stop them.
pub struct IngestWriters {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl IngestWriters {
    /// Closes the queue (a request submitted from now on is refused as unavailable), lets the
    /// writers write every request already queued, and waits for them to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "ingest writer failed");
            }
        }
    }
}

impl IngestQueue {
    /// Starts `settings.writers` writer tasks on the current runtime; each hands the new events it
    /// committed to `projection` and rings it.
    pub fn start(
        pool: PgPool,
        settings: &IngestSettings,
        projection: ProjectionFeed,
        health: DatabaseHealth,
        commit_timeout: Duration,
    ) -> (IngestQueue, IngestWriters) {
        let (sender, receiver) = mpsc::channel(settings.queue_capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        let (stop, stopped) = watch::channel(false);
        let committing = Arc::new(AtomicUsize::new(0));
        let tasks = (0..settings.writers)
            .map(|_| {
                let writer = Writer {
                    pool: pool.clone(),
                    conn: None,
                    receiver: receiver.clone(),
                    writers: settings.writers,
                    committing: committing.clone(),
                    stopped: stopped.clone(),
                    max_events: settings.batch_max_events,
                    max_wait: Duration::from_micros(settings.batch_max_wait_us),
                    projection: projection.clone(),
                    health: health.clone(),
                    commit_timeout,
                };
                tokio::spawn(writer.run())
            })
            .collect();
        let queue = IngestQueue {
            sender,
            overload: Arc::new(OverloadLog::new()),
            health,
            answer_within: commit_timeout
                + Duration::from_micros(settings.batch_max_wait_us)
                + ANSWER_MARGIN,
        };
        (queue, IngestWriters { stop, tasks })
    }

    /// Whether a request would be refused right now. Checked before a delivery is authenticated
    /// and parsed, so that overload is answered without spending that work; `submit` still
    /// decides.
    pub fn is_full(&self) -> bool {
        let full = self.sender.capacity() == 0;
        if full {
            self.overload.refused();
        }
        full
    }

    /// Whether the database is known to be down: a delivery is then refused before its body is
    /// read.
    pub fn database_down(&self) -> bool {
        self.health.is_down()
    }

    /// Queues the events of one request and waits until they are committed (or refused); says for
    /// each event whether it was new or a duplicate. Answers within the batch window, the commit
    /// timeout and a small margin: a request not committed by then is told the database is unavailable (should its
    /// batch commit after all, the sender's retry is a duplicate, stored once).
    pub async fn submit(
        &self,
        delivery: Delivery,
        events: Vec<ParsedEvent>,
    ) -> Result<Vec<Stored>, SubmitError> {
        if self.health.is_down() {
            return Err(SubmitError::Unavailable(DOWN.to_owned()));
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            delivery,
            events,
            reply,
        };
        self.sender.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                self.overload.refused();
                SubmitError::Overloaded
            }
            mpsc::error::TrySendError::Closed(_) => {
                SubmitError::Unavailable("ingest writers stopped".to_owned())
            }
        })?;
        metrics::gauge!(m::INGEST_QUEUE_DEPTH)
            .set((self.sender.max_capacity() - self.sender.capacity()) as f64);
        match tokio::time::timeout(self.answer_within, answer).await {
            Ok(Ok(reply)) => reply.outcome,
            Ok(Err(_)) => Err(SubmitError::Unavailable("ingest writer stopped".to_owned())),
            Err(_) => Err(SubmitError::Unavailable(format!(
                "not committed within {} ms",
                self.answer_within.as_millis()
            ))),
        }
    }
}

struct Writer {
    pool: PgPool,
    /// Kept from one batch to the next: taking a connection from the pool for every batch cost a
    /// ping on the way out and another on the way back. Given back after a failure (the pool then
    /// tests it) and once it is older than `KEEP_CONNECTION`, so that the pool's lifetime limits
    /// still apply.
    conn: Option<(PoolConnection<Postgres>, Instant)>,
    receiver: Arc<Mutex<mpsc::Receiver<Job>>>,
    writers: usize,
    /// Writers between the end of their gathering and the end of their commit.
    committing: Arc<AtomicUsize>,
    stopped: watch::Receiver<bool>,
    max_events: usize,
    max_wait: Duration,
    projection: ProjectionFeed,
    health: DatabaseHealth,
    /// A commit (connection included) taking longer counts as the database being unavailable.
    commit_timeout: Duration,
}

const DOWN: &str = "the database is marked down until it answers again";

const KEEP_CONNECTION: Duration = Duration::from_secs(60);

impl Writer {
    async fn run(mut self) {
        while let Some(batch) = self.gather().await {
            self.committing.fetch_add(1, Ordering::Relaxed);
            self.write(batch).await;
            self.committing.fetch_sub(1, Ordering::Relaxed);
            if self
                .conn
                .as_ref()
                .is_some_and(|(_, since)| since.elapsed() > KEEP_CONNECTION)
            {
                self.conn = None;
            }
        }
    }

    async fn connection(&mut self) -> Result<&mut PgConnection, CommitError> {
        if self.conn.is_none() {
            let conn = self.pool.acquire().await.map_err(CommitError::Connect)?;
            self.conn = Some((conn, Instant::now()));
        }
        Ok(&mut *self.conn.as_mut().expect("set above").0)
    }

    /// Writes `batch` in one statement (one implicit transaction: committed when it returns),
    /// within the commit timeout. Reports the database up or down by the result.
    async fn commit(&mut self, batch: &[Job]) -> Result<Vec<Vec<Stored>>, CommitError> {
        let result = match tokio::time::timeout(self.commit_timeout, self.append(batch)).await {
            Ok(result) => result,
            Err(_) => {
                // The statement may still be running on the connection: never reuse it.
                if let Some((mut conn, _)) = self.conn.take() {
                    conn.close_on_drop();
                }
                Err(CommitError::TimedOut(self.commit_timeout))
            }
        };
        match result {
            Ok(appended) => {
                if self.health.is_down() {
                    self.health.mark_up();
                }
                self.hand_to_projection(batch, appended.new_events);
                Ok(appended.outcome)
            }
            Err(error) => {
                if error.is_unavailable() {
                    self.health.mark_down(&error);
                }
                Err(error)
            }
        }
    }

    async fn append(&mut self, batch: &[Job]) -> Result<Appended, CommitError> {
        let deliveries: Vec<(&Delivery, &[ParsedEvent])> = batch
            .iter()
            .map(|j| (&j.delivery, j.events.as_slice()))
            .collect();
        let kept = self.conn.is_some();
        let owner = self.projection.owner();
        let mut result = event_log::append(self.connection().await?, &deliveries, owner).await;
        if matches!(&result, Err(e) if kept && crate::store::is_unavailable(e)) {
            // The kept connection may have died while idle (a database restart): once more on a
            // connection the pool has just tested. Should the first attempt have committed after
            // all, its events now come back as duplicates: still stored once.
            self.conn = None;
            result = event_log::append(self.connection().await?, &deliveries, owner).await;
        }
        if result.is_err() {
            self.conn = None;
        }
        result.map_err(CommitError::Write)
    }

    /// Waits for a first job, then gathers more until the batch is full or the wait is over.
    /// Holding the receiver lock while gathering keeps batches whole; the next writer gathers
    /// while this one commits. `None` once the writers are stopping and the queue is empty.
    async fn gather(&mut self) -> Option<Vec<Job>> {
        let mut receiver = self.receiver.lock().await;
        let stopping = async {
            if self.stopped.wait_for(|stop| *stop).await.is_err() {
                // The handle was dropped without a stop: run until the queue's senders are gone.
                std::future::pending::<()>().await;
            }
        };
        let first = tokio::select! {
            job = receiver.recv() => job,
            () = stopping => {
                // What is already queued is still received.
                receiver.close();
                receiver.recv().await
            }
        }?;
        let mut events = first.events.len();
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + self.max_wait;
        while events < self.max_events {
            let next = match receiver.try_recv() {
                Ok(job) => job,
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    // Waiting for more only pays while every other writer is committing: an idle
                    // one would take the next requests at once, and its commit would overlap
                    // this one's. Under a flood the queue never runs dry, so batches stay large.
                    let others_busy = self.committing.load(Ordering::Relaxed) + 1 >= self.writers;
                    if self.max_wait.is_zero() || !others_busy {
                        break;
                    }
                    match tokio::time::timeout_at(deadline, receiver.recv()).await {
                        Ok(Some(job)) => job,
                        Ok(None) | Err(_) => break,
                    }
                }
            };
            events += next.events.len();
            batch.push(next);
        }
        Some(batch)
    }

    async fn write(&mut self, batch: Vec<Job>) {
        if self.health.is_down() {
            // Queued before the database went down: answered at once, as new requests are.
            for job in batch {
                job.answer(Err(SubmitError::Unavailable(DOWN.to_owned())));
            }
            return;
        }
        let started = Instant::now();
        let event_count: usize = batch.iter().map(|j| j.events.len()).sum();
        match self.commit(&batch).await {
            Ok(outcomes) => {
                metrics::histogram!(m::INGEST_BATCH_EVENTS).record(event_count as f64);
                metrics::histogram!(m::INGEST_COMMIT_SECONDS)
                    .record(started.elapsed().as_secs_f64());
                let absorbed = duplicates_of(&batch, &outcomes);
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    job.answer(Ok(outcome));
                }
                self.count_duplicates(absorbed).await;
            }
            Err(error) if batch.len() == 1 => {
                let job = batch.into_iter().next().expect("one job");
                job.answer(Err(classify(error)));
            }
            Err(error) if error.is_unavailable() => {
                // Retrying each request alone could not succeed either, and would make the last
                // one wait a timeout per request before it.
                let reason = error.to_string();
                for job in batch {
                    job.answer(Err(SubmitError::Unavailable(reason.clone())));
                }
            }
            Err(error) => {
                tracing::warn!(%error, jobs = batch.len(), "shared transaction failed; retrying each request alone");
                for job in batch {
                    if self.health.is_down() {
                        job.answer(Err(SubmitError::Unavailable(DOWN.to_owned())));
                        continue;
                    }
                    let alone = std::slice::from_ref(&job);
                    let result = self.commit(alone).await;
                    let absorbed = match &result {
                        Ok(outcomes) => duplicates_of(alone, outcomes),
                        Err(_) => BTreeMap::new(),
                    };
                    job.answer(result.map(|mut o| o.remove(0)).map_err(classify));
                    self.count_duplicates(absorbed).await;
                }
            }
        }
    }
}

/// The duplicate deliveries a committed batch absorbed, by call.
fn duplicates_of(batch: &[Job], outcomes: &[Vec<Stored>]) -> BTreeMap<CallId, i64> {
    duplicates::by_call(
        batch
            .iter()
            .zip(outcomes)
            .flat_map(|(job, outcome)| job.events.iter().zip(outcome.iter().copied())),
    )
}

impl Writer {
    /// Adds a batch's duplicates to their calls' counts, after its requests were answered, so a
    /// duplicate costs the answer nothing. Only the count is lost if this fails.
    async fn count_duplicates(&mut self, absorbed: BTreeMap<CallId, i64>) {
        if absorbed.is_empty() {
            return;
        }
        let limit = self.commit_timeout;
        let result = match self.connection().await {
            Ok(conn) => tokio::time::timeout(limit, duplicates::record(conn, &absorbed)).await,
            Err(error) => {
                tracing::warn!(%error, "duplicate deliveries not counted");
                return;
            }
        };
        if !matches!(result, Ok(Ok(()))) {
            match result {
                Ok(Err(error)) => tracing::warn!(%error, "duplicate deliveries not counted"),
                _ => tracing::warn!("duplicate deliveries not counted: the statement timed out"),
            }
            // The statement may have failed the connection, or still run on it.
            if let Some((mut conn, _)) = self.conn.take() {
                conn.close_on_drop();
            }
        }
    }

    /// Tells the projector of this process that `batch` stored new events, and hands them over
    /// (so it need not read them back). The events are built only as the feed takes them: none
    /// when it keeps none, none past its capacity.
    fn hand_to_projection(&self, batch: &[Job], new_events: Vec<NewEvent>) {
        if new_events.is_empty() {
            return;
        }
        self.projection
            .offer(new_events.into_iter().filter_map(|new| {
                let job = &batch[new.delivery];
                feed::committed(
                    &job.delivery,
                    &job.events[new.event],
                    new.event_seq,
                    new.details,
                )
            }));
        self.projection.ring();
    }
}

/// Where a commit failed: before a connection could be had (the database is not there) or while
/// writing.
enum CommitError {
    Connect(sqlx::Error),
    Write(sqlx::Error),
    TimedOut(Duration),
}

impl CommitError {
    /// The database is not there (or not answering): a retry later may succeed, not now.
    fn is_unavailable(&self) -> bool {
        match self {
            CommitError::Connect(_) | CommitError::TimedOut(_) => true,
            CommitError::Write(e) => crate::store::is_unavailable(e),
        }
    }
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommitError::Connect(e) => write!(f, "could not get a database connection: {e}"),
            CommitError::Write(e) => write!(f, "{e}"),
            CommitError::TimedOut(limit) => {
                write!(f, "the commit took longer than {} ms", limit.as_millis())
            }
        }
    }
}

fn classify(error: CommitError) -> SubmitError {
    match error {
        CommitError::Write(e) if !crate::store::is_unavailable(&e) => {
            tracing::error!(error = %e, "events could not be stored");
            SubmitError::Failed(e.to_string())
        }
        unavailable => SubmitError::Unavailable(unavailable.to_string()),
    }
}
