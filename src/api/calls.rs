//! Calls, from the call-model projection: the list, one call's summary, and its participants'
//! history, event timeline, DTMF tones and media operations.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::QueryAs;
use sqlx::{FromRow, Postgres};
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::{IntoParams, ToSchema};

use crate::api::events::{EventSummary, EVENT_COLUMNS};
use crate::api::json;
use crate::api::pagination::{Page, PageParams, PageRequest};
use crate::api::params::{
    self, present_owned, string, OutcomeParam, Text, Time, TimeRange, CALL_OUTCOMES,
};
use crate::error::{ApiError, ErrorBody};
use crate::http::state::AppState;

/// Every column of `calls`, from alias `c`.
pub const CALL_COLUMNS: &str = "c.call_id, c.server_call_id, c.correlation_id, c.state, \
     c.first_event_at, c.last_event_at, c.connected_at, c.disconnected_at, c.duration_ms, \
     c.participant_count, c.peak_participants, c.outcome, c.failure_code, c.failure_sub_code, \
     c.failure_message, c.event_count, c.dtmf_count, c.media_total, c.media_succeeded, \
     c.last_event_seq, c.projected_at";

/// One call's summary, as the call model holds it.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[schema(as = Call)]
pub struct CallSummary {
    /// callConnectionId (GA) or CallLegId (previews).
    pub call_id: String,
    pub server_call_id: Option<String>,
    pub correlation_id: Option<String>,
    /// The latest call state, e.g. `connected`, `disconnected`.
    pub state: Option<String>,
    pub first_event_at: DateTime<Utc>,
    pub last_event_at: DateTime<Utc>,
    pub connected_at: Option<DateTime<Utc>>,
    pub disconnected_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    /// Distinct participants.
    pub participant_count: i32,
    /// Most participants at once.
    pub peak_participants: i32,
    #[schema(schema_with = call_outcome)]
    pub outcome: String,
    pub failure_code: Option<i64>,
    pub failure_sub_code: Option<i64>,
    pub failure_message: Option<String>,
    pub event_count: i32,
    pub dtmf_count: i32,
    /// Media operations that ended.
    pub media_total: i32,
    pub media_succeeded: i32,
    /// The last event folded into this summary.
    pub last_event_seq: i64,
    pub projected_at: DateTime<Utc>,
}

fn call_outcome() -> ObjectBuilder {
    string().enum_values(Some(CALL_OUTCOMES.iter().copied()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only calls whose first event is at or after this time (RFC 3339 with an offset).
    #[param(value_type = Option<Time>, inline)]
    from: Option<String>,
    /// Only calls whose first event is before this time (RFC 3339 with an offset).
    #[param(value_type = Option<Time>, inline)]
    to: Option<String>,
    /// The latest call state, e.g. `connected`, `disconnected`.
    #[param(value_type = Option<Text>, inline)]
    state: Option<String>,
    #[param(value_type = Option<OutcomeParam>, inline)]
    outcome: Option<String>,
    /// A participant's raw id (`4:+14255550123`): only calls they were in.
    #[param(value_type = Option<Text>, inline)]
    participant: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    page: PageParams,
}

pub type CallKey = (DateTime<Utc>, String);

/// The calls, by first event time
#[utoipa::path(
    get,
    path = "/calls",
    operation_id = "listCalls",
    params(ListQuery, PageParams),
    responses((status = 200, description = "One page of calls.", body = Page<CallSummary>))
)]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(json(&list_page(&state, &query).await?))
}

/// One page of the calls list: the query behind `GET /calls`, also rendered by the dashboard.
pub async fn list_page(state: &AppState, query: &ListQuery) -> Result<Page<CallSummary>, ApiError> {
    let range = TimeRange::parse(&query.from, &query.to)?;
    let call_state = present_owned(&query.state);
    let outcome = params::one_of("outcome", &query.outcome, params::CALL_OUTCOMES)?;
    let participant = present_owned(&query.participant);
    let page = PageRequest::<CallKey>::parse("calls", &query.page)?;
    // A top-level IN, not `$n IS NULL OR EXISTS`, so the planner can start from the participant's
    // few calls instead of testing every call in the range.
    let participant_sql = if participant.is_some() {
        "AND c.call_id IN (SELECT p.call_id FROM call_participants p WHERE p.raw_id = $5)"
    } else {
        "AND $5::text IS NULL"
    };
    let sql = format!(
        "SELECT {CALL_COLUMNS} FROM calls c \
         WHERE ($1::timestamptz IS NULL OR c.first_event_at >= $1) \
           AND ($2::timestamptz IS NULL OR c.first_event_at < $2) \
           AND ($3::text IS NULL OR c.state = $3) \
           AND ($4::text IS NULL OR c.outcome = $4) \
           {participant_sql} \
           AND ($6::timestamptz IS NULL OR (c.first_event_at, c.call_id) {after} ($6, $7)) \
         ORDER BY c.first_event_at {dir}, c.call_id {dir} LIMIT $8",
        after = page.order.after(),
        dir = page.order.sql(),
    );
    let (after_time, after_id) = page.after.clone().unzip();
    let rows: Vec<CallSummary> = sqlx::query_as(&sql)
        .persistent(false)
        .bind(range.from)
        .bind(range.to)
        .bind(call_state)
        .bind(outcome)
        .bind(participant)
        .bind(after_time)
        .bind(after_id)
        .bind(page.fetch_limit())
        .fetch_all(&state.query_pool)
        .await
        .map_err(state.query_error())?;
    Ok(Page::from_rows(rows, &page, |c| {
        (c.first_event_at, c.call_id.clone())
    }))
}

fn no_call(id: &str) -> ApiError {
    ApiError::NotFound(format!("no call `{id}`"))
}

/// The path of every route of one call.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Only its description is read: the handlers take the id as a plain string.
pub struct CallPath {
    /// The call id (callConnectionId or CallLegId).
    #[param(value_type = Text, inline)]
    id: String,
}

/// One call's summary
#[utoipa::path(
    get,
    path = "/calls/{id}",
    operation_id = "getCall",
    params(CallPath),
    responses(
        (status = 200, description = "The call.", body = CallSummary),
        (status = 404, description = "No such call (`not_found`).", body = ErrorBody),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(json(&find(&state, &id).await?))
}

/// One call's summary, or `404 not_found`.
pub async fn find(state: &AppState, id: &str) -> Result<CallSummary, ApiError> {
    let sql = format!("SELECT {CALL_COLUMNS} FROM calls c WHERE c.call_id = $1");
    let call: Option<CallSummary> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&state.query_pool)
        .await
        .map_err(state.query_error())?;
    call.ok_or_else(|| no_call(id))
}

type RowQuery<'q, T> = QueryAs<'q, Postgres, T, PgArguments>;

/// The rows of one page of a call's sub-list: `sql` takes the call id as `$1`, then the cursor
/// key's columns (bound by `bind_after`), then the row limit. An empty first page is a 404 when
/// the call does not exist at all; for the timeline, an empty first page means the call has no
/// events either.
async fn call_rows<'q, K, T>(
    state: &AppState,
    id: &'q str,
    page: &PageRequest<K>,
    sql: &'q str,
    bind_after: impl FnOnce(RowQuery<'q, T>) -> RowQuery<'q, T>,
) -> Result<Vec<T>, ApiError>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let query = sqlx::query_as(sql).persistent(false).bind(id);
    let rows: Vec<T> = bind_after(query)
        .bind(page.fetch_limit())
        .fetch_all(&state.query_pool)
        .await
        .map_err(state.query_error())?;
    if !rows.is_empty() || page.after.is_some() {
        return Ok(rows);
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM calls WHERE call_id = $1)")
        .bind(id)
        .fetch_one(&state.query_pool)
        .await
        .map_err(state.query_error())?;
    if exists {
        Ok(rows)
    } else {
        Err(no_call(id))
    }
}

/// A participant's continuous presence in a call.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantInterval {
    pub raw_id: String,
    /// From 0, per participant.
    pub interval_no: i32,
    pub kind: String,
    /// The identifier with phone digits masked.
    pub display_id: String,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    /// The `sequenceNumber` of the snapshot that opened it.
    pub joined_sequence: Option<i64>,
    /// The `sequenceNumber` of the snapshot that closed it.
    pub left_sequence: Option<i64>,
    /// The mute and hold changes made while it lasted.
    pub changes: Vec<ParticipantChange>,
}

#[derive(Debug, sqlx::FromRow)]
struct IntervalRow {
    raw_id: String,
    interval_no: i32,
    kind: String,
    display_id: String,
    joined_at: DateTime<Utc>,
    left_at: Option<DateTime<Utc>>,
    joined_sequence: Option<i64>,
    left_sequence: Option<i64>,
    is_first: bool,
    next_joined_at: Option<DateTime<Utc>>,
}

/// A participant's first appearance (ordinal 0) or a mute or hold change.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct ParticipantChange {
    #[serde(skip)]
    pub raw_id: String,
    pub ordinal: i32,
    pub at: DateTime<Utc>,
    pub sequence_number: Option<i64>,
    pub is_muted: Option<bool>,
    pub is_on_hold: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    #[serde(flatten)]
    page: PageParams,
}

pub type IntervalKey = (DateTime<Utc>, String, i32);

/// A call's participants: presence intervals by join time, with their mute and hold changes
///
/// Each interval carries the mute and hold changes made while it lasted. A change belongs to the participant's latest interval that began at or before
/// it (the first interval also takes any earlier ones), so every change is shown exactly once.
#[utoipa::path(
    get,
    path = "/calls/{id}/participants",
    operation_id = "listCallParticipants",
    params(CallPath, PageParams),
    responses(
        (status = 200, description = "One page of presence intervals.", body = Page<ParticipantInterval>),
        (status = 404, description = "No such call (`not_found`).", body = ErrorBody),
    )
)]
pub async fn participants(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::<IntervalKey>::parse("call_participants", &query.page)?;
    Ok(json(&participants_page(&state, &id, &page).await?))
}

/// One page of a call's presence intervals (see [`participants`]).
pub async fn participants_page(
    state: &AppState,
    id: &str,
    page: &PageRequest<IntervalKey>,
) -> Result<Page<ParticipantInterval>, ApiError> {
    let sql = format!(
        "SELECT raw_id, interval_no, kind, display_id, joined_at, left_at, joined_sequence, \
           left_sequence, is_first, next_joined_at \
         FROM (SELECT p.*, row_number() OVER w = 1 AS is_first, \
                      lead(p.joined_at) OVER w AS next_joined_at \
               FROM call_participants p WHERE p.call_id = $1 \
               WINDOW w AS (PARTITION BY p.raw_id ORDER BY p.joined_at, p.interval_no)) s \
         WHERE ($2::timestamptz IS NULL OR (joined_at, raw_id, interval_no) {after} ($2, $3, $4)) \
         ORDER BY joined_at {dir}, raw_id {dir}, interval_no {dir} LIMIT $5",
        after = page.order.after(),
        dir = page.order.sql(),
    );
    let (after_time, after_raw, after_no) = match page.after.clone() {
        Some((t, r, n)) => (Some(t), Some(r), Some(n)),
        None => (None, None, None),
    };
    let rows: Vec<IntervalRow> = call_rows(state, id, page, &sql, |q| {
        q.bind(after_time).bind(after_raw).bind(after_no)
    })
    .await?;

    let mut raw_ids: Vec<&str> = rows.iter().map(|r| r.raw_id.as_str()).collect();
    raw_ids.sort_unstable();
    raw_ids.dedup();
    let changes: Vec<ParticipantChange> = if raw_ids.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "SELECT raw_id, ordinal, at, sequence_number, is_muted, is_on_hold \
             FROM participant_changes WHERE call_id = $1 AND raw_id = ANY($2) \
             ORDER BY raw_id, ordinal",
        )
        .bind(id)
        .bind(&raw_ids)
        .fetch_all(&state.query_pool)
        .await
        .map_err(state.query_error())?
    };
    let mut by_participant: HashMap<String, Vec<ParticipantChange>> = HashMap::new();
    for change in changes {
        by_participant
            .entry(change.raw_id.clone())
            .or_default()
            .push(change);
    }
    let intervals: Vec<ParticipantInterval> = rows
        .into_iter()
        .map(|row| {
            let belongs = |c: &ParticipantChange| {
                (row.is_first || c.at >= row.joined_at)
                    && row.next_joined_at.map_or(true, |next| c.at < next)
            };
            let changes = match by_participant.get_mut(&row.raw_id) {
                Some(all) => {
                    let (mine, rest): (Vec<_>, Vec<_>) = all.drain(..).partition(belongs);
                    *all = rest;
                    mine
                }
                None => Vec::new(),
            };
            ParticipantInterval {
                raw_id: row.raw_id,
                interval_no: row.interval_no,
                kind: row.kind,
                display_id: row.display_id,
                joined_at: row.joined_at,
                left_at: row.left_at,
                joined_sequence: row.joined_sequence,
                left_sequence: row.left_sequence,
                changes,
            }
        })
        .collect();
    Ok(Page::from_rows(intervals, page, |i| {
        (i.joined_at, i.raw_id.clone(), i.interval_no)
    }))
}

/// The duplicate deliveries absorbed for a call (`store::duplicates`): the dashboard's trust panel
/// shows them beside the events stored.
pub async fn duplicates_absorbed(state: &AppState, id: &str) -> Result<i64, ApiError> {
    crate::store::duplicates::of_call(&state.query_pool, id)
        .await
        .map_err(state.query_error())
}

/// A call's timeline: every stored event of the call in insertion order, normalised
///
/// It reads the event log, so it also answers for a call the projection has not reached yet.
#[utoipa::path(
    get,
    path = "/calls/{id}/events",
    operation_id = "listCallEvents",
    params(CallPath, PageParams),
    responses(
        (status = 200, description = "One page of the timeline.", body = Page<EventSummary>),
        (status = 404, description = "No such call (`not_found`).", body = ErrorBody),
    )
)]
pub async fn events(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::<i64>::parse("call_events", &query.page)?;
    Ok(json(&events_page(&state, &id, &page).await?))
}

/// One page of a call's timeline (see [`events`]).
pub async fn events_page(
    state: &AppState,
    id: &str,
    page: &PageRequest<i64>,
) -> Result<Page<EventSummary>, ApiError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE call_id = $1 \
           AND ($2::bigint IS NULL OR event_seq {after} $2) \
         ORDER BY event_seq {dir} LIMIT $3",
        after = page.order.after(),
        dir = page.order.sql(),
    );
    let rows: Vec<EventSummary> = call_rows(state, id, page, &sql, |q| q.bind(page.after)).await?;
    Ok(Page::from_rows(rows, page, |e| e.event_seq))
}

/// A key press.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct DtmfTone {
    pub ordinal: i32,
    pub sequence_id: Option<i64>,
    pub tone: String,
    pub at: DateTime<Utc>,
    pub participant_id: Option<String>,
    pub repeated: bool,
    pub missing_before: i32,
    pub event_seq: i64,
}

/// A call's key presses in sequence order, with repeats and gaps flagged
#[utoipa::path(
    get,
    path = "/calls/{id}/dtmf",
    operation_id = "listCallDtmf",
    params(CallPath, PageParams),
    responses(
        (status = 200, description = "One page of tones.", body = Page<DtmfTone>),
        (status = 404, description = "No such call (`not_found`).", body = ErrorBody),
    )
)]
pub async fn dtmf(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::<i32>::parse("call_dtmf", &query.page)?;
    Ok(json(&dtmf_page(&state, &id, &page).await?))
}

/// One page of a call's key presses (see [`dtmf`]).
pub async fn dtmf_page(
    state: &AppState,
    id: &str,
    page: &PageRequest<i32>,
) -> Result<Page<DtmfTone>, ApiError> {
    let sql = format!(
        "SELECT ordinal, sequence_id, tone, at, participant_id, repeated, missing_before, event_seq \
         FROM dtmf_tones WHERE call_id = $1 AND ($2::integer IS NULL OR ordinal {after} $2) \
         ORDER BY ordinal {dir} LIMIT $3",
        after = page.order.after(),
        dir = page.order.sql(),
    );
    let rows: Vec<DtmfTone> = call_rows(state, id, page, &sql, |q| q.bind(page.after)).await?;
    Ok(Page::from_rows(rows, page, |t| t.ordinal))
}

/// A play or recognize operation, keyed by operation context.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct MediaOperation {
    pub operation_context: String,
    pub operation: String,
    pub outcome: String,
    pub result_code: Option<i64>,
    pub result_sub_code: Option<i64>,
    pub result_message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub event_count: i32,
}

/// A call's play and recognize operations, by operation context then operation
///
/// That is their key: a time would not do, as both ends may be unknown.
#[utoipa::path(
    get,
    path = "/calls/{id}/media",
    operation_id = "listCallMedia",
    params(CallPath, PageParams),
    responses(
        (status = 200, description = "One page of operations.", body = Page<MediaOperation>),
        (status = 404, description = "No such call (`not_found`).", body = ErrorBody),
    )
)]
pub async fn media(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::<(String, String)>::parse("call_media", &query.page)?;
    Ok(json(&media_page(&state, &id, &page).await?))
}

/// One page of a call's play and recognize operations (see [`media`]).
pub async fn media_page(
    state: &AppState,
    id: &str,
    page: &PageRequest<(String, String)>,
) -> Result<Page<MediaOperation>, ApiError> {
    let sql = format!(
        "SELECT operation_context, operation, outcome, result_code, result_sub_code, \
           result_message, started_at, finished_at, duration_ms, event_count \
         FROM media_operations WHERE call_id = $1 \
           AND ($2::text IS NULL OR (operation_context, operation) {after} ($2, $3)) \
         ORDER BY operation_context {dir}, operation {dir} LIMIT $4",
        after = page.order.after(),
        dir = page.order.sql(),
    );
    let (after_ctx, after_op) = page.after.clone().unzip();
    let rows: Vec<MediaOperation> =
        call_rows(state, id, page, &sql, |q| q.bind(after_ctx).bind(after_op)).await?;
    Ok(Page::from_rows(rows, page, |m| {
        (m.operation_context.clone(), m.operation.clone())
    }))
}
