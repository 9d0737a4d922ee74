//! A participant's calls, by when they first joined each.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::calls::{CallSummary, CALL_COLUMNS};
use crate::api::json;
use crate::api::pagination::{Page, PageParams, PageRequest};
use crate::api::params::TimeRange;
use crate::error::ApiError;
use crate::http::state::AppState;

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ParticipantCall {
    /// The participant's first join in this call.
    pub joined_at: DateTime<Utc>,
    /// When they left the call for the last time; `null` while they are still in it.
    pub left_at: Option<DateTime<Utc>>,
    /// How many separate times they were in the call.
    pub intervals: i64,
    pub kind: String,
    pub display_id: String,
    #[sqlx(flatten)]
    pub call: CallSummary,
}

#[derive(Debug, Deserialize)]
pub struct CallsQuery {
    /// On the first join.
    from: Option<String>,
    to: Option<String>,
    #[serde(flatten)]
    page: PageParams,
}

type Key = (DateTime<Utc>, String);

/// `{rawId}` arrives percent-decoded: `4%3A%2B14255550123` and `4:+14255550123` are the same
/// participant (`+` in a path is a plus, not a space).
pub async fn calls(
    state: web::Data<AppState>,
    raw_id: web::Path<String>,
    query: web::Query<CallsQuery>,
) -> Result<HttpResponse, ApiError> {
    let range = TimeRange::parse(&query.from, &query.to)?;
    let page = PageRequest::<Key>::parse("participant_calls", &query.page)?;
    // One row per call: the participant's first interval in it (an anti-join on the primary key).
    let sql = format!(
        "SELECT {CALL_COLUMNS}, p.joined_at, agg.left_at, agg.intervals, p.kind, p.display_id \
         FROM call_participants p \
         JOIN calls c ON c.call_id = p.call_id \
         CROSS JOIN LATERAL ( \
           SELECT count(*) AS intervals, \
                  (array_agg(q.left_at ORDER BY q.joined_at DESC, q.interval_no DESC))[1] AS left_at \
           FROM call_participants q WHERE q.call_id = p.call_id AND q.raw_id = p.raw_id) agg \
         WHERE p.raw_id = $1 \
           AND NOT EXISTS (SELECT 1 FROM call_participants e \
                           WHERE e.call_id = p.call_id AND e.raw_id = p.raw_id \
                             AND (e.joined_at, e.interval_no) < (p.joined_at, p.interval_no)) \
           AND ($2::timestamptz IS NULL OR p.joined_at >= $2) \
           AND ($3::timestamptz IS NULL OR p.joined_at < $3) \
           AND ($4::timestamptz IS NULL OR (p.joined_at, p.call_id) {after} ($4, $5)) \
         ORDER BY p.joined_at {dir}, p.call_id {dir} LIMIT $6",
        after = page.order.after(),
        dir = page.order.sql(),
    );
    let (after_time, after_id) = page.after.clone().unzip();
    let rows: Vec<ParticipantCall> = sqlx::query_as(&sql)
        .persistent(false)
        .bind(raw_id.as_str())
        .bind(range.from)
        .bind(range.to)
        .bind(after_time)
        .bind(after_id)
        .bind(page.fetch_limit())
        .fetch_all(&state.query_pool)
        .await
        .map_err(state.query_error())?;
    Ok(json(&Page::from_rows(rows, &page, |r| {
        (r.joined_at, r.call.call_id.clone())
    })))
}
