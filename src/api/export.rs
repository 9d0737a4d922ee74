//! The audit log as one download, NDJSON or CSV, whatever its size.
//!
//! A task reads the rows from one query's stream and hands the response ~64 KiB chunks through a
//! small bounded channel: memory stays flat, a slow client slows the query down, and a client that
//! goes away ends it. The response starts only once the query has produced its first chunk, so a
//! failing query is still an error status; a failure later can only cut the body short.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::StreamExt;
use serde::Deserialize;
use sqlx::PgPool;
use tokio::sync::mpsc;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema};

use crate::api::events::{
    EventFilter, EventFilterParams, EventWithRaw, EVENT_COLUMNS, EVENT_FILTER_SQL,
};
use crate::api::params::{enum_or_empty, one_of};
use crate::error::ApiError;
use crate::http::state::AppState;

const CHUNK_BYTES: usize = 64 * 1024;
const CHUNKS_IN_FLIGHT: usize = 4;

/// The CSV columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "event_seq",
    "received_at",
    "endpoint",
    "format",
    "auth_scheme",
    "auth_principal",
    "request_id",
    "event_id",
    "source",
    "event_type",
    "subject",
    "event_time",
    "family",
    "call_id",
    "server_call_id",
    "correlation_id",
    "operation_context",
    "result_code",
    "result_sub_code",
    "result_message",
    "sequence_number",
    "details",
    "raw",
];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `ndjson` (the default: one event with `raw` per line) or `csv` (a header row; the
    /// normalised columns, `details` as JSON, and `raw`).
    #[param(value_type = Option<FormatParam>, inline)]
    format: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    filter: EventFilterParams,
}

/// The export formats.
const FORMATS: &[&str] = &["ndjson", "csv"];

/// `format`: one of [`FORMATS`], or empty.
pub struct FormatParam;

impl PartialSchema for FormatParam {
    fn schema() -> RefOr<Schema> {
        enum_or_empty(FORMATS)
    }
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Ndjson,
    Csv,
}

/// The audit log as one streamed download, with the filters of `/events`
#[utoipa::path(
    get,
    path = "/events/export",
    operation_id = "exportEvents",
    params(ExportQuery, EventFilterParams),
    responses((
        status = 200,
        description = "The events by (received_at, event_seq), streamed; an attachment.",
        content(
            (EventWithRaw = "application/x-ndjson"),
            (String = "text/csv"),
        ),
    ))
)]
pub async fn export(
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = match one_of("format", &query.format, FORMATS)? {
        Some("csv") => Format::Csv,
        _ => Format::Ndjson,
    };
    let filter = EventFilter::parse(&query.filter)?;
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, ApiError>>(CHUNKS_IN_FLIGHT);
    let retry_after_seconds = state.retry_after_seconds;
    // On the pool's runtime: the export reads through the shared read pool (the replica's when
    // there is one; its statements have no time limit).
    state.pool_runtime.spawn(produce(
        state.reads.shared().clone(),
        filter,
        format,
        tx,
        retry_after_seconds,
    ));
    let first = match rx.recv().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(error)) => return Err(error),
        None => return Err(ApiError::Internal),
    };
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let body = futures_util::stream::once(async move { Ok::<_, ApiError>(first) }).chain(rest);
    let (content_type, file) = match format {
        Format::Ndjson => ("application/x-ndjson", "events.ndjson"),
        Format::Csv => ("text/csv; charset=utf-8", "events.csv"),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .streaming(body))
}

async fn produce(
    pool: PgPool,
    filter: EventFilter,
    format: Format,
    tx: mpsc::Sender<Result<Bytes, ApiError>>,
    retry_after_seconds: u32,
) {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE {EVENT_FILTER_SQL} \
         ORDER BY received_at, event_seq"
    );
    let mut rows = filter
        .bind(sqlx::query_as::<_, EventWithRaw>(&sql).persistent(false))
        .fetch(&pool);
    let mut buffer = Vec::with_capacity(CHUNK_BYTES * 2);
    if let Format::Csv = format {
        write_csv_record(&mut buffer, CSV_COLUMNS.iter().map(|c| Some(*c)));
    }
    while let Some(row) = rows.next().await {
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                let error = if crate::store::is_unavailable(&error) {
                    ApiError::StorageUnavailable {
                        retry_after_seconds,
                    }
                } else {
                    tracing::error!(%error, "event export query failed");
                    ApiError::Internal
                };
                let _ = tx.send(Err(error)).await;
                return;
            }
        };
        match format {
            Format::Ndjson => {
                serde_json::to_writer(&mut buffer, &row).expect("events serialise");
                buffer.push(b'\n');
            }
            Format::Csv => write_csv_event(&mut buffer, &row),
        }
        if buffer.len() >= CHUNK_BYTES {
            let chunk = Bytes::from(std::mem::replace(
                &mut buffer,
                Vec::with_capacity(CHUNK_BYTES * 2),
            ));
            if tx.send(Ok(chunk)).await.is_err() {
                // The client went away: dropping the row stream ends the query.
                return;
            }
        }
    }
    let _ = tx.send(Ok(Bytes::from(buffer))).await;
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn write_csv_event(out: &mut Vec<u8>, row: &EventWithRaw) {
    let e = &row.event;
    let fields: [Option<String>; 23] = [
        Some(e.event_seq.to_string()),
        Some(time(e.received_at)),
        Some(e.endpoint.clone()),
        Some(e.format.clone()),
        Some(e.auth_scheme.clone()),
        e.auth_principal.clone(),
        e.request_id.clone(),
        e.event_id.clone(),
        e.source.clone(),
        Some(e.event_type.clone()),
        e.subject.clone(),
        e.event_time.map(time),
        Some(e.family.clone()),
        e.call_id.clone(),
        e.server_call_id.clone(),
        e.correlation_id.clone(),
        e.operation_context.clone(),
        e.result_code.map(|n| n.to_string()),
        e.result_sub_code.map(|n| n.to_string()),
        e.result_message.clone(),
        e.sequence_number.map(|n| n.to_string()),
        Some(e.details.to_string()),
        Some(row.raw.clone()),
    ];
    write_csv_record(out, fields.iter().map(|f| f.as_deref()));
}

/// One RFC 4180 record: a field is quoted when it holds a comma, quote, CR or LF (quotes doubled),
/// or is empty but present, so that an empty string and a null (nothing at all) stay apart.
fn write_csv_record<'a>(out: &mut Vec<u8>, fields: impl Iterator<Item = Option<&'a str>>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let Some(field) = field else { continue };
        let quote = field.is_empty() || field.contains([',', '"', '\r', '\n']);
        if quote {
            out.push(b'"');
            for b in field.bytes() {
                if b == b'"' {
                    out.push(b'"');
                }
                out.push(b);
            }
            out.push(b'"');
        } else {
            out.extend_from_slice(field.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[Option<&str>]) -> String {
        let mut out = Vec::new();
        write_csv_record(&mut out, fields.iter().copied());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(record(&[Some("a"), None, Some("b")]), "a,,b\r\n");
        assert_eq!(record(&[Some("")]), "\"\"\r\n");
        assert_eq!(
            record(&[Some(r#"{"k": "v, w"}"#), Some("line\nbreak")]),
            "\"{\"\"k\"\": \"\"v, w\"\"}\",\"line\nbreak\"\r\n"
        );
    }
}
