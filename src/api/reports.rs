//! Aggregates over calls, per hour or day (UTC) of their first event.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::api::json;
use crate::api::params::{bad, enum_or_empty, one_of, string, RequiredTime, TimeRange};
use crate::error::ApiError;
use crate::http::state::AppState;
use crate::projection::rollup::read::RolledBucket;
use crate::projection::rollup::{self, bucket_start};

/// Bounds the response and the work: 2000 buckets is about 83 days by hour, 5 years by day.
pub const MAX_BUCKETS: i64 = 2000;

/// The bucket widths.
const BUCKETS: &[&str] = &["hour", "day"];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Start (inclusive, RFC 3339 with an offset); buckets are aligned on UTC hours or days.
    #[param(value_type = RequiredTime, inline, required = true)]
    pub from: Option<String>,
    /// End (exclusive, RFC 3339 with an offset).
    #[param(value_type = RequiredTime, inline, required = true)]
    pub to: Option<String>,
    /// Bucket width (default `day`).
    #[param(value_type = Option<BucketParam>, inline)]
    pub bucket: Option<String>,
}

/// `bucket`: one of [`BUCKETS`], or empty.
pub struct BucketParam;

impl PartialSchema for BucketParam {
    fn schema() -> RefOr<Schema> {
        enum_or_empty(BUCKETS)
    }
}

fn bucket_width() -> ObjectBuilder {
    string().enum_values(Some(BUCKETS.iter().copied()))
}

/// One hour or day of calls.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, ToSchema)]
pub struct Bucket {
    /// The bucket's first instant; it covers one hour or day from there.
    pub start: DateTime<Utc>,
    pub calls: i64,
    /// Calls that connected.
    pub connected: i64,
    /// Calls whose outcome is `failed`.
    pub failed: i64,
    pub duration_p50_ms: Option<f64>,
    pub duration_p95_ms: Option<f64>,
    /// Distinct participants (raw ids) over the bucket's calls.
    pub participants: i64,
    pub dtmf_tones: i64,
    /// Succeeded over all media operations of the bucket's calls; `null` when there were none.
    pub media_success_rate: Option<f64>,
}

/// The buckets of a range, empty ones included.
#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[schema(schema_with = bucket_width)]
    pub bucket: &'static str,
    pub buckets: Vec<Bucket>,
    /// When the range holds more than 2000 buckets only the first 2000 are listed: pass this as
    /// `from`, with the same `to`, for the next ones. `null` when every bucket is listed.
    pub next_from: Option<DateTime<Utc>>,
}

/// Per hour or day of calls' first event: calls, connected, failed, duration percentiles, distinct participants, DTMF tones, media success rate
///
/// Every bucket from the one holding `from` up to `to` (exclusive) is listed, empty ones included,
/// so a chart needs no gap filling, at most [`MAX_BUCKETS`] at a time. Only calls with
/// `from <= first_event_at < to` are counted; a `to` not after `from` holds no bucket.
#[utoipa::path(
    get,
    path = "/reports/summary",
    operation_id = "getSummary",
    params(SummaryQuery),
    responses((status = 200, description = "The buckets, empty ones included.", body = Summary))
)]
pub async fn summary(
    state: web::Data<AppState>,
    query: web::Query<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(json(&report(&state, &query).await?))
}

/// The summary report: the query behind `GET /reports/summary`, also charted by the dashboard.
pub async fn report(state: &AppState, query: &SummaryQuery) -> Result<Summary, ApiError> {
    let range = TimeRange::parse(&query.from, &query.to)?;
    let (from, to) = match (range.from, range.to) {
        (Some(from), Some(to)) => (from, to),
        (None, _) => return Err(bad("from", "is required")),
        (_, None) => return Err(bad("to", "is required")),
    };
    let (unit, width) = match one_of("bucket", &query.bucket, BUCKETS)? {
        Some("hour") => ("hour", TimeDelta::hours(1)),
        _ => ("day", TimeDelta::days(1)),
    };
    let first = bucket_start(from, width);
    // Every RFC 3339 time is within years 0 to 10000, whose span in microseconds fits an i64.
    let span = (to - first).num_microseconds().unwrap_or(i64::MAX / 2);
    let width_us = width.num_microseconds().expect("an hour or a day");
    let count = if to <= from {
        0
    } else {
        (span + width_us - 1) / width_us
    };
    let listed = count.min(MAX_BUCKETS);
    let next_from = (count > listed).then(|| first + width * listed as i32);
    let mut summary = Summary {
        from,
        to,
        bucket: unit,
        buckets: Vec::new(),
        next_from,
    };
    if listed == 0 {
        return Ok(summary);
    }
    let until = next_from.unwrap_or(to);
    let mut tx = state
        .query_pool
        .begin()
        .await
        .map_err(state.query_error())?;
    // Several statements, one moment: the rollups' tables and the calls are read as of one snapshot.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(state.query_error())?;
    summary.buckets = buckets(&mut tx, from, until, unit, width, listed)
        .await
        .map_err(state.query_error())?;
    tx.commit().await.map_err(state.query_error())?;
    Ok(summary)
}

/// The `listed` buckets from the one holding `from`: those `[from, until)` covers whole come from the
/// rollups the projector keeps; the first and last, when `from` or `until` cuts them, from the
/// calls themselves ([`direct_buckets`]), since the rollups hold whole buckets only.
async fn buckets(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    unit: &str,
    width: TimeDelta,
    listed: i64,
) -> Result<Vec<Bucket>, sqlx::Error> {
    let first = bucket_start(from, width);
    let end = first + width * listed as i32;
    // Whole buckets: those from `whole_from` up to `whole_until`.
    let whole_from = if from == first { first } else { first + width };
    let whole_until = bucket_start(until, width).max(whole_from);
    let rolled = if whole_from < whole_until {
        rollup::read::buckets(conn, unit, whole_from, whole_until).await?
    } else {
        Vec::new()
    };
    let mut rolled = rolled.into_iter().peekable();
    let mut edges = Vec::new();
    if first < whole_from {
        edges.extend(direct_buckets(conn, from, until.min(whole_from), width).await?);
    }
    if whole_until < end && whole_until.max(from) < until {
        edges.extend(direct_buckets(conn, whole_until.max(from), until, width).await?);
    }
    let mut edges = edges.into_iter().peekable();
    let mut buckets = Vec::with_capacity(usize::try_from(listed).unwrap_or(0));
    let mut start = first;
    while start < end {
        let bucket = if let Some(edge) = edges.next_if(|b| b.start == start) {
            edge
        } else if let Some(row) = rolled.next_if(|b| b.start == start) {
            Bucket::from(row)
        } else {
            Bucket::empty(start)
        };
        buckets.push(bucket);
        start += width;
    }
    Ok(buckets)
}

impl Bucket {
    fn empty(start: DateTime<Utc>) -> Bucket {
        Bucket {
            start,
            calls: 0,
            connected: 0,
            failed: 0,
            duration_p50_ms: None,
            duration_p95_ms: None,
            participants: 0,
            dtmf_tones: 0,
            media_success_rate: None,
        }
    }
}

impl From<RolledBucket> for Bucket {
    fn from(r: RolledBucket) -> Bucket {
        let c = r.counts;
        Bucket {
            start: r.start,
            calls: c.calls,
            connected: c.connected,
            failed: c.failed,
            duration_p50_ms: r.percentiles[0],
            duration_p95_ms: r.percentiles[1],
            participants: c.participants,
            dtmf_tones: c.dtmf_tones,
            // As `sum(media_succeeded)::float8 / nullif(sum(media_total), 0)` computes it.
            media_success_rate: (c.media_total != 0)
                .then(|| c.media_succeeded as f64 / c.media_total as f64),
        }
    }
}

/// Every bucket of `width` from the one holding `from` to the one before `until`, computed from the
/// calls of `[from, until)` themselves: the report's answer for buckets the range cuts, and what
/// the tests hold the rollups to. Reads every call of the range: meant for a bucket or two.
pub async fn direct_buckets(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    width: TimeDelta,
) -> Result<Vec<Bucket>, sqlx::Error> {
    if until <= from {
        return Ok(Vec::new());
    }
    let first = bucket_start(from, width);
    let last = bucket_start(until - TimeDelta::microseconds(1), width);
    // Buckets are `date_bin` steps from the UTC-aligned first bucket: no time-zone work per row, and
    // hours rather than days so that no session time zone with DST can shift them.
    let stride = format!("{} hours", width.num_hours());
    // The distinct-participant count hashes one row per (bucket, participant): let it stay in memory.
    // Both duration percentiles come from one array-form percentile_cont: one sort per bucket, not two.
    sqlx::query("SET LOCAL work_mem = '64MB'")
        .execute(&mut *conn)
        .await?;
    sqlx::query_as(
        "WITH agg AS ( \
           SELECT date_bin($3::interval, first_event_at, $4) AS bucket, count(*) AS calls, \
                  count(connected_at) AS connected, \
                  count(*) FILTER (WHERE outcome = 'failed') AS failed, \
                  percentile_cont(ARRAY[0.5, 0.95]::float8[]) \
                    WITHIN GROUP (ORDER BY duration_ms) AS pct, \
                  sum(dtmf_count)::bigint AS dtmf_tones, \
                  sum(media_succeeded)::float8 / nullif(sum(media_total), 0) AS media_rate \
           FROM calls WHERE first_event_at >= $1 AND first_event_at < $2 GROUP BY 1), \
         parts AS ( \
           SELECT bucket, count(*) AS participants FROM ( \
             SELECT DISTINCT date_bin($3::interval, call_started_at, $4) AS bucket, raw_id \
             FROM call_participants \
             WHERE call_started_at >= $1 AND call_started_at < $2) d \
           GROUP BY bucket) \
         SELECT b.start, coalesce(agg.calls, 0) AS calls, coalesce(agg.connected, 0) AS connected, \
                coalesce(agg.failed, 0) AS failed, agg.pct[1] AS duration_p50_ms, \
                agg.pct[2] AS duration_p95_ms, coalesce(parts.participants, 0) AS participants, \
                coalesce(agg.dtmf_tones, 0) AS dtmf_tones, agg.media_rate AS media_success_rate \
         FROM generate_series($4::timestamptz, $5::timestamptz, $3::interval) AS b(start) \
         LEFT JOIN agg ON agg.bucket = b.start \
         LEFT JOIN parts ON parts.bucket = b.start \
         ORDER BY b.start",
    )
    .persistent(false)
    .bind(from)
    .bind(until)
    .bind(stride)
    .bind(first)
    .bind(last)
    .fetch_all(conn)
    .await
}
