//! Where reporting reads go: the one place that decides between the primary and a read replica.
//!
//! With `database.read_url` set, every reporting query, export and dashboard page reads from that
//! streaming replica, so that reports and exports take no CPU or I/O from the database that
//! ingestion commits to; ingestion, the projector, retention and migrations always use the primary
//! (`database.url`). Unset, reads go to the primary, through pools of their own as before.
//!
//! A replica replays the primary's WAL after it is written, so what it serves trails ingestion by
//! its replay lag: [`ReadPools::replica_status`] measures it for `/readyz` and `/metrics`.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::DatabaseSettings;

/// The reporting API's pools: every statement is cancelled by PostgreSQL after
/// `statement_timeout_ms` (0: never), so one expensive report cannot hold a connection for long.
///
/// Each HTTP worker opens one of its own, whose connections are opened and used only on that
/// worker's runtime and so end with it, after its last request (see [`super::pool_runtime`] for
/// why a connection must not outlive its runtime). `max_connections` is shared out between them.
#[derive(Clone)]
pub struct QueryPools {
    options: PgConnectOptions,
    per_worker: u32,
    acquire_timeout: Duration,
}

impl QueryPools {
    fn new(
        url: &SecretString,
        settings: &DatabaseSettings,
        statement_timeout_ms: u64,
        workers: usize,
    ) -> Result<QueryPools, sqlx::Error> {
        let options: PgConnectOptions = url.expose_secret().parse()?;
        let options = options
            .application_name("calltrail-api")
            .options([("statement_timeout", statement_timeout_ms.to_string())]);
        let workers = u32::try_from(workers.max(1)).unwrap_or(u32::MAX);
        Ok(QueryPools {
            options,
            per_worker: (settings.max_connections / workers).max(1),
            acquire_timeout: Duration::from_millis(settings.acquire_timeout_ms),
        })
    }

    /// A pool for the worker this is called on; it connects lazily.
    pub fn open(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(self.per_worker)
            .min_connections(0)
            .acquire_timeout(self.acquire_timeout)
            .connect_lazy_with(self.options.clone())
    }
}

/// The database reporting reads from: the replica when one is configured, else the primary.
#[derive(Clone)]
pub struct ReadPools {
    /// For each HTTP worker's reporting queries and dashboard pages.
    pub query: QueryPools,
    /// For exports (no statement timeout) and the replica's status; used only on the pool
    /// runtime, as the primary's shared pool is. The primary's own pool when there is no replica.
    shared: PgPool,
    replica: bool,
    acquire_timeout: Duration,
}

impl ReadPools {
    /// `primary` is the service's shared pool, reused for exports when there is no replica.
    pub fn new(
        settings: &DatabaseSettings,
        primary: &PgPool,
        statement_timeout_ms: u64,
        workers: usize,
    ) -> Result<ReadPools, sqlx::Error> {
        let replica = !settings.read_url.expose_secret().is_empty();
        let url = if replica {
            &settings.read_url
        } else {
            &settings.url
        };
        let query = QueryPools::new(url, settings, statement_timeout_ms, workers)?;
        let shared = if replica {
            let options: PgConnectOptions = settings.read_url.expose_secret().parse()?;
            // Lazily, like the primary's: the service starts (and says why it cannot read) while
            // the replica is down.
            PgPoolOptions::new()
                .max_connections(settings.max_connections)
                .min_connections(0)
                .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
                .connect_lazy_with(options.application_name("calltrail-read"))
        } else {
            primary.clone()
        };
        Ok(ReadPools {
            query,
            shared,
            replica,
            acquire_timeout: Duration::from_millis(settings.acquire_timeout_ms),
        })
    }

    /// Whether reads go to a replica (`database.read_url` is set).
    pub fn has_replica(&self) -> bool {
        self.replica
    }

    /// The pool exports read through: call only on the pool runtime.
    pub fn shared(&self) -> &PgPool {
        &self.shared
    }

    /// The replica's state (`None` without one), also recorded in its gauges. Call only on the
    /// pool runtime; `primary` gives the WAL position the replica is measured against.
    /// `primary` is `None` while it is known to be down: the lag in bytes is then unknown.
    pub async fn replica_status(
        &self,
        primary: Option<&PgPool>,
    ) -> Option<Result<ReplicaStatus, String>> {
        if !self.replica {
            return None;
        }
        let status = tokio::time::timeout(self.acquire_timeout, async {
            // The schema as well: a new replica serves no report until it has replayed the
            // primary's migrations.
            super::readiness(&self.shared)
                .await
                .map_err(|reason| format!("read replica: {reason}"))?;
            ReplicaStatus::read(primary, &self.shared, self.acquire_timeout / 2).await
        })
        .await
        .unwrap_or_else(|_| Err("the read replica did not answer in time".to_owned()));
        record(&status);
        Some(status)
    }
}

/// How far the replica is behind the primary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplicaStatus {
    /// False when the read database is not (or no longer) a standby: it then has no lag.
    pub in_recovery: bool,
    /// Time since the last transaction it replayed was committed on the primary, or 0 when it has
    /// replayed everything it received: how old the newest data a report can see may be.
    pub replay_lag_seconds: Option<f64>,
    /// WAL the primary has written that the replica has not replayed yet (received or not): also
    /// grows while the replica is disconnected, when the time lag cannot tell. `None` while the
    /// primary does not answer.
    pub lag_bytes: Option<i64>,
    /// Replay paused by an operator (`pg_wal_replay_pause()`): the lag only grows.
    pub replay_paused: bool,
}

impl ReplicaStatus {
    async fn read(
        primary: Option<&PgPool>,
        replica: &PgPool,
        primary_timeout: Duration,
    ) -> Result<ReplicaStatus, String> {
        // The primary's position is read first, so the distance is never overstated; within part
        // of the time allowed, so that a primary that hangs leaves time to ask the replica.
        let mut primary_lsn: Option<String> = None;
        if let Some(primary) = primary {
            let lsn = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text").fetch_one(primary);
            if let Ok(Ok(lsn)) = tokio::time::timeout(primary_timeout, lsn).await {
                primary_lsn = Some(lsn);
            }
        }
        let row: (bool, Option<f64>, Option<i64>, bool) = sqlx::query_as(
            "SELECT pg_is_in_recovery(), \
               CASE WHEN NOT pg_is_in_recovery() THEN NULL \
                    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                    ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp())) \
               END::float8, \
               CASE WHEN pg_is_in_recovery() AND $1::pg_lsn IS NOT NULL \
                    THEN greatest(0, pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())) \
               END::int8, \
               CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END",
        )
        .bind(primary_lsn)
        .fetch_one(replica)
        .await
        .map_err(|error| format!("read replica unavailable: {error}"))?;
        Ok(ReplicaStatus {
            in_recovery: row.0,
            replay_lag_seconds: row.1,
            lag_bytes: row.2,
            replay_paused: row.3,
        })
    }
}

/// Sets the replica's gauges: up or down, and its lag while up.
fn record(status: &Result<ReplicaStatus, String>) {
    use crate::metrics as m;
    match status {
        Ok(status) => {
            metrics::gauge!(m::REPLICA_UP).set(1.0);
            metrics::gauge!(m::REPLICA_REPLAY_LAG_SECONDS)
                .set(status.replay_lag_seconds.unwrap_or(0.0));
            if let Some(bytes) = status.lag_bytes {
                metrics::gauge!(m::REPLICA_LAG_BYTES).set(bytes as f64);
            }
        }
        Err(_) => metrics::gauge!(m::REPLICA_UP).set(0.0),
    }
}
