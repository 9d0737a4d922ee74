//! Who viewed which raw payload: every opening of a stored event's payload on the dashboard (its
//! page, exact or pretty, and its download) is logged at INFO under the target [`TARGET`] and kept
//! in `payload_views`, before the payload is sent. The viewer is the token the session was opened
//! with, named by a prefix of its configured SHA-256 (what `api.tokens` holds, so an operator finds
//! the entry), never by the token. `/ui/audit` lists the views, newest first.

use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use maud::html;
use serde::Deserialize;

use crate::api::events::EventWithRaw;
use crate::error::ApiError;
use crate::http::state::AppState;
use crate::ui::page::{self, Nav};

/// The tracing target of the view log: stable, for log filters and alerts.
pub const TARGET: &str = "calltrail::audit::payload_view";
/// Hex digits of the token's configured hash that name a viewer.
const PRINCIPAL_HEX: usize = 12;
/// The most views one page lists.
const LISTED: i64 = 200;

/// Who the session belongs to, set on the request by the session middleware.
#[derive(Clone, Debug)]
pub struct Viewer(pub String);

impl Viewer {
    /// From the session's fingerprint of the token's hash (a prefix of it).
    pub fn from_fingerprint(fingerprint: &str) -> Viewer {
        let prefix: String = fingerprint.chars().take(PRINCIPAL_HEX).collect();
        Viewer(format!("sha256:{prefix}"))
    }
}

/// How the payload was opened.
#[derive(Clone, Copy, Debug)]
pub enum How {
    Page,
    Exact,
    Download,
}

impl How {
    fn name(self) -> &'static str {
        match self {
            How::Page => "page",
            How::Exact => "exact",
            How::Download => "download",
        }
    }
}

/// Records one view; an error refuses the view, so that no payload is shown unrecorded.
pub async fn record(
    state: &AppState,
    req: &HttpRequest,
    stored: &EventWithRaw,
    how: How,
) -> Result<(), ApiError> {
    let principal = req
        .extensions()
        .get::<Viewer>()
        .map(|v| v.0.clone())
        .ok_or(ApiError::Internal)?;
    let event_seq = stored.event.event_seq;
    let call_id = stored.event.call_id.clone();
    log(&principal, event_seq, call_id.as_deref(), how);
    let pool = state.pool.clone();
    let insert = async move {
        sqlx::query(
            "INSERT INTO payload_views (principal, event_seq, call_id, how) VALUES ($1, $2, $3, $4)",
        )
        .bind(principal)
        .bind(event_seq)
        .bind(call_id)
        .bind(how.name())
        .execute(&pool)
        .await
    };
    match state.pool_runtime.run(insert).await {
        Some(Ok(_)) => Ok(()),
        Some(Err(error)) => Err(state.query_error()(error)),
        None => Err(ApiError::Internal),
    }
}

/// The log line of one view (the payload itself is never logged).
fn log(principal: &str, event_seq: i64, call_id: Option<&str>, how: How) {
    tracing::info!(
        target: TARGET,
        principal,
        event_seq,
        call_id = call_id.unwrap_or(""),
        how = how.name(),
        "raw payload viewed"
    );
}

#[derive(Deserialize)]
pub struct AuditQuery {
    /// Only the views of this event.
    event_seq: Option<i64>,
}

type ViewRow = (DateTime<Utc>, String, i64, Option<String>, String);

/// `/ui/audit`: the latest views, of one event or all.
pub async fn list(state: web::Data<AppState>, query: web::Query<AuditQuery>) -> HttpResponse {
    let rows: Result<Vec<ViewRow>, ApiError> = sqlx::query_as(
        "SELECT viewed_at, principal, event_seq, call_id, how FROM payload_views \
         WHERE $1::bigint IS NULL OR event_seq = $1 ORDER BY viewed_at DESC, view_id DESC LIMIT $2",
    )
    .bind(query.event_seq)
    .bind(LISTED)
    .fetch_all(&state.query_pool)
    .await
    .map_err(state.query_error());
    let rows = match rows {
        Ok(rows) => rows,
        Err(error) => return page::error(&error),
    };
    let body = html! {
        h1 { "Who viewed raw payloads" }
        p {
            "Every opening of a stored event's raw payload on these pages (its page, exactly as received, "
            "or downloaded), by the token the session was opened with: "
            code { "sha256:" } " and the start of the token's hash as " code { "api.tokens" } " holds it. "
            "The latest " (LISTED) ", newest first."
            @if let Some(seq) = query.event_seq {
                " Of event " a href=(format!("/ui/events/{seq}")) { (seq) } " only; "
                a href="/ui/audit" { "all events" } "."
            }
        }
        @if rows.is_empty() {
            p.empty role="status" { "No payload has been viewed yet." }
        } @else {
            table {
                caption { "Raw payload views" }
                thead { tr {
                    th scope="col" { "Viewed" } th scope="col" { "By" } th scope="col" { "Event" }
                    th scope="col" { "Call" } th scope="col" { "How" }
                } }
                tbody {
                    @for (at, principal, seq, call, how) in &rows {
                        tr {
                            td { (page::time(*at)) }
                            td.id { (principal) }
                            td { a href=(format!("/ui/events/{seq}")) { (seq) } }
                            td { @if let Some(call) = call {
                                a.id href=(format!("/ui/calls/{}", page::segment(call))) { (call) }
                            } }
                            td { (how) }
                        }
                    }
                }
            }
        }
    };
    page::html_response(
        StatusCode::OK,
        page::layout("Payload views", Nav::Events, body),
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_view_is_logged_at_info_under_its_target_with_who_what_and_how() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        let hash = crate::auth::tokens::hash_token("the-secret-token");
        let viewer = Viewer::from_fingerprint(&hash[..32]);
        assert_eq!(viewer.0, format!("sha256:{}", &hash[..12]));
        tracing::subscriber::with_default(subscriber, || {
            log(&viewer.0, 42, Some("call-1"), How::Download);
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["target"], TARGET);
        let fields = &line["fields"];
        assert_eq!(fields["message"], "raw payload viewed");
        assert_eq!(fields["principal"], viewer.0.as_str());
        assert_eq!(fields["event_seq"], 42);
        assert_eq!(fields["call_id"], "call-1");
        assert_eq!(fields["how"], "download");
        assert!(!text.contains("the-secret-token"));
    }
}
