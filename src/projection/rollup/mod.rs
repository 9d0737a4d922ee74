//! Summary rollups: what the summary report shows of each UTC hour and day of calls' first event,
//! kept per bucket so that the report reads a row per bucket instead of every call of its range.
//!
//! Three tables (migration `summary_rollups`), each holding both widths: `summary_buckets` (counts
//! and sums), `summary_durations` (how many calls had each duration, by minute, second and
//! millisecond) and `summary_participants` (how many calls of a bucket each raw id was in). They
//! are exact: the report's numbers from them are the numbers the direct query over `calls` and
//! `call_participants` gives ([`crate::api::reports::direct_buckets`], which tests hold them to).
//!
//! The projector keeps them ([`maintain`]) in the transaction that writes the calls: it subtracts
//! what each call it writes contributed before and adds what it contributes now, so a call moving
//! to another bucket (an earlier event arrived late), changing outcome or duration, or being
//! removed, is counted once, where it belongs, and a pass that changes nothing writes nothing.
//! `calltrail rebuild` recomputes them from scratch ([`recompute`]).

pub(crate) mod maintain;
pub mod read;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgConnection;

/// The counters of one `summary_buckets` row: the stored totals the report reads, and the changes
/// a projector pass adds to them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Counts {
    pub calls: i64,
    pub connected: i64,
    pub failed: i64,
    pub durations: i64,
    pub dtmf_tones: i64,
    pub media_total: i64,
    pub media_succeeded: i64,
    pub participants: i64,
}

/// The widths served, as stored in the `bucket` columns, with their length.
pub const WIDTHS: [(&str, TimeDelta); 2] =
    [("hour", TimeDelta::hours(1)), ("day", TimeDelta::days(1))];

/// The resolutions of `summary_durations`, coarsest first: milliseconds per step.
pub(crate) const UNITS: [i64; 3] = [60_000, 1_000, 1];

/// The start of the UTC hour or day holding `t` (as PostgreSQL's `date_trunc(…, 'UTC')`). Not
/// `DurationRound`, which works in nanoseconds since 1970 and so fails before 1677 and after 2262.
pub fn bucket_start(t: DateTime<Utc>, width: TimeDelta) -> DateTime<Utc> {
    let width = width.num_seconds();
    DateTime::from_timestamp(t.timestamp().div_euclid(width) * width, 0)
        .expect("the start of a bucket holding a valid time is valid")
}

/// Replaces the rollups with what the call model holds now, in the caller's transaction (see the
/// migration for how this and concurrent projector passes stay consistent).
pub async fn recompute(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT calltrail_recompute_summary_rollups()")
        .execute(conn)
        .await?;
    Ok(())
}
