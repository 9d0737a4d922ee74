//! A participant's calls, by when they first joined each.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::calls::{CallSummary, CALL_COLUMNS};
use crate::api::json;
use crate::api::pagination::{Page, PageParams, PageRequest};
use crate::api::params::{Text, Time, TimeRange};
use crate::error::ApiError;
use crate::http::state::AppState;

/// A call a participant was in.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallsQuery {
    /// Only calls they first joined at or after this time (RFC 3339 with an offset).
    #[param(value_type = Option<Time>, inline)]
    from: Option<String>,
    /// Only calls they first joined before this time (RFC 3339 with an offset).
    #[param(value_type = Option<Time>, inline)]
    to: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    page: PageParams,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Only its description is read: the handler takes the id as a plain string.
pub struct ParticipantPath {
    /// The participant's raw id, percent-encoded (`4%3A%2B14255550123`).
    #[param(rename = "rawId", value_type = Text, inline)]
    raw_id: String,
}

type Key = (DateTime<Utc>, String);

/// The calls a participant was in, by first join
///
/// `{rawId}` arrives percent-decoded: `4%3A%2B14255550123` and `4:+14255550123` are the same
/// participant (`+` in a path is a plus, not a space).
#[utoipa::path(
    get,
    path = "/participants/{rawId}/calls",
    operation_id = "listParticipantCalls",
    params(ParticipantPath, CallsQuery, PageParams),
    responses((status = 200, description = "One page of calls; empty for a participant without calls.", body = Page<ParticipantCall>))
)]
pub async fn calls(
    state: web::Data<AppState>,
    raw_id: web::Path<String>,
    query: web::Query<CallsQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(json(&calls_page(&state, &raw_id, &query).await?))
}

/// One page of a participant's calls: the query behind `GET /participants/{rawId}/calls`.
pub async fn calls_page(
    state: &AppState,
    raw_id: &str,
    query: &CallsQuery,
) -> Result<Page<ParticipantCall>, ApiError> {
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
        .bind(raw_id)
        .bind(range.from)
        .bind(range.to)
        .bind(after_time)
        .bind(after_id)
        .bind(page.fetch_limit())
        .fetch_all(&state.query_pool)
        .await
        .map_err(state.query_error())?;
    Ok(Page::from_rows(rows, &page, |r| {
        (r.joined_at, r.call.call_id.clone())
    }))
}
