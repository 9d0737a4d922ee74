//! The audit log: every stored event, filtered, in order of receipt; one event with its raw payload.
//!
//! The log is ordered by `(received_at, event_seq)`: unique, and it lets a time range (the usual
//! audit question) start exactly where it should in an index instead of scanning to it.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::QueryAs;
use sqlx::{Postgres, Row};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::api::json;
use crate::api::pagination::{Page, PageParams, PageRequest};
use crate::api::params::{
    self, bad, present_owned, string, AuthSchemeParam, Text, Time, TimeRange, AUTH_SCHEMES,
    MAX_JSON_PATH_DEPTH,
};
use crate::error::{ApiError, ErrorBody};
use crate::events::{stored_event, EventFamily, EventKind, ParsedEvent, ResultInfo, WireFormat};
use crate::http::state::AppState;
use crate::store::event_log::as_stored;

/// The columns an [`EventSummary`] is read from: the receipt, the event id, the filtered columns,
/// and the raw element, from which the rest of the envelope, the result and the typed `details`
/// are derived when read (they are not stored).
pub const EVENT_COLUMNS: &str = "event_seq, received_at, endpoint, format, auth_scheme, \
     auth_principal, request_id, event_id, event_type, call_id, correlation_id, \
     operation_context, raw";

/// A stored event, normalised: every column but the raw payload, and its typed details.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Event)]
pub struct EventSummary {
    /// The event's id: its place in the order of insertion.
    #[schema(minimum = 1)]
    pub event_seq: i64,
    /// When calltrail received it.
    pub received_at: DateTime<Utc>,
    /// The route it arrived on (`callbacks`, `eventgrid`).
    pub endpoint: String,
    /// Its wire format.
    #[schema(schema_with = wire_format)]
    pub format: String,
    /// How its delivery was authenticated.
    #[schema(schema_with = auth_scheme)]
    pub auth_scheme: String,
    /// Which secret, JWT subject or webhook id authenticated it (never the credential).
    pub auth_principal: Option<String>,
    pub request_id: Option<String>,
    /// The sender's id of the event.
    pub event_id: Option<String>,
    pub source: Option<String>,
    /// The event type exactly as received.
    pub event_type: String,
    pub subject: Option<String>,
    /// The sender's time of the event.
    pub event_time: Option<DateTime<Utc>>,
    /// The typed event's family.
    #[schema(schema_with = family)]
    pub family: String,
    pub call_id: Option<String>,
    pub server_call_id: Option<String>,
    pub correlation_id: Option<String>,
    pub operation_context: Option<String>,
    pub result_code: Option<i64>,
    pub result_sub_code: Option<i64>,
    pub result_message: Option<String>,
    pub sequence_number: Option<i64>,
    /// The typed event, tagged by `family`: the stored element parsed again when read, by the
    /// parser that accepted it.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl<'r> sqlx::FromRow<'r, PgRow> for EventSummary {
    /// By name, from [`EVENT_COLUMNS`]; the rest from `format` and `raw`, parsed again. An element
    /// that no longer parses reads with those fields empty and its family `unknown`.
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let format: String = row.try_get("format")?;
        let raw: &str = row.try_get("raw")?;
        let parsed = stored_event(&format, raw);
        let kind = parsed.as_ref().map_or(&EventKind::Unknown, |e| &e.kind);
        let details = serde_json::to_value(kind).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let family = kind.family().as_str().to_owned();
        let Derived {
            source,
            subject,
            event_time,
            server_call_id,
            result,
            sequence_number,
        } = parsed.map(Derived::from).unwrap_or_default();
        Ok(EventSummary {
            event_seq: row.try_get("event_seq")?,
            received_at: row.try_get("received_at")?,
            endpoint: row.try_get("endpoint")?,
            format,
            auth_scheme: row.try_get("auth_scheme")?,
            auth_principal: row.try_get("auth_principal")?,
            request_id: row.try_get("request_id")?,
            event_id: row.try_get("event_id")?,
            source,
            event_type: row.try_get("event_type")?,
            subject,
            event_time,
            family,
            call_id: row.try_get("call_id")?,
            server_call_id,
            correlation_id: row.try_get("correlation_id")?,
            operation_context: row.try_get("operation_context")?,
            result_code: result.code,
            result_sub_code: result.sub_code,
            result_message: result.message,
            sequence_number,
            details,
        })
    }
}

/// What a read derives from the stored element besides its details: the envelope (but the event
/// id, which is stored) and the result.
#[derive(Default)]
struct Derived {
    source: Option<String>,
    subject: Option<String>,
    event_time: Option<DateTime<Utc>>,
    server_call_id: Option<String>,
    result: ResultInfo,
    sequence_number: Option<i64>,
}

impl From<ParsedEvent> for Derived {
    fn from(e: ParsedEvent) -> Self {
        Derived {
            source: e.source,
            subject: e.subject,
            // As the event log kept it when it stored the column: to the microsecond.
            event_time: e.event_time.map(as_stored),
            server_call_id: e.common.server_call_id,
            result: e.common.result.unwrap_or_default(),
            sequence_number: e.common.sequence_number,
        }
    }
}

fn wire_format() -> ObjectBuilder {
    string().enum_values(Some(WireFormat::ALL.iter().map(|f| f.as_str())))
}

fn auth_scheme() -> ObjectBuilder {
    string().enum_values(Some(AUTH_SCHEMES.iter().copied()))
}

fn family() -> ObjectBuilder {
    string().enum_values(Some(EventFamily::ALL.iter().map(|f| f.as_str())))
}

/// An event with its payload exactly as received.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct EventWithRaw {
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub event: EventSummary,
    /// The payload exactly as received.
    pub raw: String,
}

/// The filters of `/events` and `/events/export`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilterParams {
    /// Only events received at or after this time (RFC 3339 with an offset).
    #[param(value_type = Option<Time>, inline)]
    pub from: Option<String>,
    /// Only events received before this time (RFC 3339 with an offset).
    #[param(value_type = Option<Time>, inline)]
    pub to: Option<String>,
    /// The event type exactly as received, e.g. `Microsoft.Communication.CallConnected`.
    #[serde(rename = "type")]
    #[param(value_type = Option<Text>, inline)]
    pub event_type: Option<String>,
    /// The call id (callConnectionId or CallLegId).
    #[param(value_type = Option<Text>, inline)]
    pub call_id: Option<String>,
    #[param(value_type = Option<Text>, inline)]
    pub correlation_id: Option<String>,
    #[param(value_type = Option<Text>, inline)]
    pub operation_context: Option<String>,
    /// How the event was authenticated.
    #[param(value_type = Option<AuthSchemeParam>, inline)]
    pub auth_scheme: Option<String>,
    /// A field of the raw payload as dot-separated identifiers, e.g.
    /// `data.resultInformation.subCode`; only with `json_value`. Not indexed: combine it with a
    /// time range or another filter.
    #[param(value_type = Option<JsonPathParam>, inline)]
    pub json_path: Option<String>,
    /// The value `json_path` must have, compared as text (`8536`, `true`, a string without its
    /// quotes); only with `json_path`.
    #[param(value_type = Option<Text>, inline)]
    pub json_value: Option<String>,
}

/// `json_path`: what [`params::json_filter`] accepts, or empty.
pub struct JsonPathParam;

impl PartialSchema for JsonPathParam {
    fn schema() -> RefOr<Schema> {
        let identifier = "[A-Za-z_][A-Za-z0-9_]*";
        let more = MAX_JSON_PATH_DEPTH - 1;
        params::or_empty(
            string().pattern(Some(format!("^{identifier}(\\.{identifier}){{0,{more}}}$"))),
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub range: TimeRange,
    pub event_type: Option<String>,
    pub call_id: Option<String>,
    pub correlation_id: Option<String>,
    pub operation_context: Option<String>,
    pub auth_scheme: Option<String>,
    pub json_path: Option<Vec<String>>,
    pub json_value: Option<String>,
}

/// The filter's conditions on `events`, binding `$1`..`$9`.
///
/// The type is looked up by its hash, which is what its index holds (`…20261205200002`), and then
/// compared itself: two types with one hash are told apart.
///
/// The correlation id and the operation context are not indexed per event: an event with a call
/// id is looked for among the calls whose filter keys hold the value (kept by the projector, see
/// `store::filter_key`) and the calls still queued for the projector, through the call's index;
/// one without a call id through a partial index of its own. Either way the value itself is
/// checked, so the answer is exact however far behind the projector is.
pub const EVENT_FILTER_SQL: &str = "($1::timestamptz IS NULL OR received_at >= $1) \
     AND ($2::timestamptz IS NULL OR received_at < $2) \
     AND ($3::text IS NULL OR (hashtext(event_type) = hashtext($3) AND event_type = $3)) \
     AND ($4::text IS NULL OR call_id = $4) \
     AND ($5::text IS NULL OR (correlation_id = $5 AND (call_id IS NULL OR call_id = ANY(ARRAY( \
       SELECT call_id FROM call_filter_keys WHERE key = calltrail_filter_key('c', $5) \
       UNION SELECT unnest(call_ids) FROM projection_queue))))) \
     AND ($6::text IS NULL OR (operation_context = $6 AND (call_id IS NULL OR call_id = ANY(ARRAY( \
       SELECT call_id FROM call_filter_keys WHERE key = calltrail_filter_key('o', $6) \
       UNION SELECT unnest(call_ids) FROM projection_queue))))) \
     AND ($7::text IS NULL OR auth_scheme = $7) \
     AND ($8::text[] IS NULL OR calltrail_raw_field(raw, $8) = $9)";

impl EventFilter {
    pub fn parse(p: &EventFilterParams) -> Result<EventFilter, ApiError> {
        let json = params::json_filter(&p.json_path, &p.json_value)?;
        let (json_path, json_value) = match json {
            Some((path, value)) => (Some(path), Some(value)),
            None => (None, None),
        };
        Ok(EventFilter {
            range: TimeRange::parse(&p.from, &p.to)?,
            event_type: present_owned(&p.event_type),
            call_id: present_owned(&p.call_id),
            correlation_id: present_owned(&p.correlation_id),
            operation_context: present_owned(&p.operation_context),
            auth_scheme: params::one_of("auth_scheme", &p.auth_scheme, params::AUTH_SCHEMES)?
                .map(str::to_owned),
            json_path,
            json_value,
        })
    }

    /// Binds `$1`..`$9` of [`EVENT_FILTER_SQL`].
    pub fn bind<'q, O>(
        &'q self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> QueryAs<'q, Postgres, O, PgArguments> {
        query
            .bind(self.range.from)
            .bind(self.range.to)
            .bind(self.event_type.as_deref())
            .bind(self.call_id.as_deref())
            .bind(self.correlation_id.as_deref())
            .bind(self.operation_context.as_deref())
            .bind(self.auth_scheme.as_deref())
            .bind(self.json_path.as_deref())
            .bind(self.json_value.as_deref())
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    filter: EventFilterParams,
    #[serde(flatten)]
    page: PageParams,
}

pub type AuditKey = (DateTime<Utc>, i64);

/// The audit log: stored events by (received_at, event_seq)
#[utoipa::path(
    get,
    path = "/events",
    operation_id = "listEvents",
    params(EventFilterParams, PageParams),
    responses((status = 200, description = "One page of events.", body = Page<EventSummary>))
)]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = EventFilter::parse(&query.filter)?;
    let page = PageRequest::<AuditKey>::parse("events", &query.page)?;
    Ok(json(&list_page(&state, &filter, &page).await?))
}

/// One page of the audit log: the query behind `GET /events`, also rendered by the dashboard.
pub async fn list_page(
    state: &AppState,
    filter: &EventFilter,
    page: &PageRequest<AuditKey>,
) -> Result<Page<EventSummary>, ApiError> {
    let (after_time, after_seq) = page.after.unzip();
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE {EVENT_FILTER_SQL} \
         AND ($10::timestamptz IS NULL OR (received_at, event_seq) {after} ($10, $11)) \
         ORDER BY received_at {dir}, event_seq {dir} LIMIT $12",
        after = page.order.after(),
        dir = page.order.sql(),
    );
    let rows: Vec<EventSummary> = filter
        .bind(sqlx::query_as(&sql).persistent(false))
        .bind(after_time)
        .bind(after_seq)
        .bind(page.fetch_limit())
        .fetch_all(&state.query_pool)
        .await
        .map_err(state.query_error())?;
    Ok(Page::from_rows(rows, page, |e| {
        (e.received_at, e.event_seq)
    }))
}

/// `{event_seq}`: a positive 64-bit integer; anything else is a `400`.
pub struct EventSeqParam;

impl PartialSchema for EventSeqParam {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .maximum(Some(i64::MAX))
            .into()
    }
}

/// An `{event_seq}` path segment.
pub fn event_seq(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| bad("event_seq", "must be a positive 64-bit integer"))
}

fn no_event(id: i64) -> ApiError {
    ApiError::NotFound(format!("no event {id}"))
}

/// One event, normalised, with `raw` as a string
#[utoipa::path(
    get,
    path = "/events/{event_seq}",
    operation_id = "getEvent",
    params(("event_seq" = inline(EventSeqParam), Path, description = "The event's id in the audit log (not the sender's `event_id`).")),
    responses(
        (status = 200, description = "The event.", body = EventWithRaw),
        (status = 404, description = "No such event (`not_found`).", body = ErrorBody),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = event_seq(&id)?;
    Ok(json(&find(&state, id).await?))
}

/// One event with its raw payload, or `404 not_found`.
pub async fn find(state: &AppState, id: i64) -> Result<EventWithRaw, ApiError> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE event_seq = $1");
    let event: Option<EventWithRaw> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&state.query_pool)
        .await
        .map_err(state.query_error())?;
    event.ok_or_else(|| no_event(id))
}

/// One event's payload, byte for byte as it was received
#[utoipa::path(
    get,
    path = "/events/{event_seq}/raw",
    operation_id = "getEventRaw",
    params(("event_seq" = inline(EventSeqParam), Path, description = "The event's id in the audit log (not the sender's `event_id`).")),
    responses(
        (status = 200, description = "The stored payload, unchanged.", content_type = "application/json", body = Value),
        (status = 404, description = "No such event (`not_found`).", body = ErrorBody),
    )
)]
pub async fn raw(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = event_seq(&id)?;
    let raw: Option<String> = sqlx::query_scalar("SELECT raw FROM events WHERE event_seq = $1")
        .bind(id)
        .fetch_optional(&state.query_pool)
        .await
        .map_err(state.query_error())?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(raw.ok_or_else(|| no_event(id))?))
}
