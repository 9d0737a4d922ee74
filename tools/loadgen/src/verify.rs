//! After a run: is every acknowledged event in the database, exactly once?

use std::collections::HashSet;

use futures_util::TryStreamExt;
use sqlx::{Connection, PgConnection};

use calltrail_traffic::token_of;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Check {
    /// Distinct events that got a 2xx answer.
    pub acknowledged: u64,
    /// Sum of `stored` over the 2xx answers: equals `acknowledged` unless an answer was lost and
    /// the re-send was then told "duplicate"; above it, something was stored twice.
    pub answered_stored: u64,
    pub rows: u64,
    /// Acknowledged but not in the database: must be 0.
    pub missing: u64,
    /// Stored twice: must be 0.
    pub doubled: u64,
    /// In the database without a 2xx answer (an answer lost to a time-out): allowed, reported.
    pub unacknowledged: u64,
    pub ok: bool,
}

pub async fn check(
    database_url: &str,
    after_seq: i64,
    acked: &HashSet<u64>,
    answered_stored: u64,
) -> Result<Check, String> {
    let mut conn = PgConnection::connect(database_url)
        .await
        .map_err(|e| format!("connecting for the check: {e}"))?;
    let mut seen: HashSet<u64> = HashSet::with_capacity(acked.len() + 1024);
    let mut rows = 0u64;
    let mut doubled = 0u64;
    let mut unreadable = 0u64;
    {
        let mut stream = sqlx::query_as::<_, (Option<String>, Option<String>)>(
            // The subject is not stored: it is read from the raw element, only for the events
            // without an id (A1), whose token it carries.
            "SELECT event_id, CASE WHEN event_id IS NULL THEN raw::jsonb ->> 'subject' END \
             FROM events WHERE event_seq > $1",
        )
        .bind(after_seq)
        .fetch(&mut conn);
        while let Some((event_id, subject)) = stream.try_next().await.map_err(|e| e.to_string())? {
            rows += 1;
            match token_of(event_id.as_deref(), subject.as_deref()) {
                Some(token) => {
                    if !seen.insert(token) {
                        doubled += 1;
                    }
                }
                None => unreadable += 1,
            }
        }
    }
    let missing = acked.iter().filter(|t| !seen.contains(t)).count() as u64;
    let unacknowledged = seen.iter().filter(|t| !acked.contains(t)).count() as u64 + unreadable;
    let acknowledged = acked.len() as u64;
    Ok(Check {
        acknowledged,
        answered_stored,
        rows,
        missing,
        doubled,
        unacknowledged,
        ok: missing == 0 && doubled == 0 && answered_stored <= acknowledged,
    })
}

/// The database's write-ahead log position, read at the start and end of the window.
pub struct WalPosition(PgConnection);

impl WalPosition {
    pub async fn connect(database_url: &str) -> Result<WalPosition, String> {
        PgConnection::connect(database_url)
            .await
            .map(WalPosition)
            .map_err(|e| format!("connecting to read the WAL position: {e}"))
    }

    /// Bytes of WAL written since the cluster began.
    pub async fn bytes(&mut self) -> Result<u64, String> {
        sqlx::query_scalar::<_, i64>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")
            .fetch_one(&mut self.0)
            .await
            .map(|b| b as u64)
            .map_err(|e| format!("reading the WAL position: {e}"))
    }
}
