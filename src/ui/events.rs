//! The audit log (every `/api/v1/events` filter, keyset pages) and the event page: normalised
//! fields, the receipt record, the raw payload (escaped; pretty or exact; download) and the
//! previous and next event of its call.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::calls;
use crate::api::events::{self as api_events, EventFilter, EventFilterParams, EventWithRaw};
use crate::api::pagination::{Order, PageParams, PageRequest};
use crate::api::params::AUTH_SCHEMES;
use crate::error::ApiError;
use crate::http::state::AppState;
use crate::ui::audit::{self, How};
use crate::ui::page::{self, Nav};

pub async fn list(
    state: web::Data<AppState>,
    filters: web::Query<EventFilterParams>,
    paging: web::Query<PageParams>,
) -> HttpResponse {
    let result = async {
        let filter = EventFilter::parse(&filters)?;
        let page = PageRequest::parse("events", &paging)?;
        api_events::list_page(&state, &filter, &page).await
    }
    .await;
    let page = match result {
        Ok(page) => page,
        Err(error) => return page::error(&error),
    };
    let f = &*filters;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let order = text(&paging.order);
    let pairs = [
        ("from", text(&f.from)),
        ("to", text(&f.to)),
        ("type", text(&f.event_type)),
        ("call_id", text(&f.call_id)),
        ("correlation_id", text(&f.correlation_id)),
        ("operation_context", text(&f.operation_context)),
        ("auth_scheme", text(&f.auth_scheme)),
        ("json_path", text(&f.json_path)),
        ("json_value", text(&f.json_value)),
        ("order", order.clone()),
    ];
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let next = page.next_cursor.as_deref().map(|cursor| {
        let mut with_cursor = borrowed.clone();
        with_cursor.push(("cursor", cursor));
        page::link("/ui/events", &with_cursor)
    });
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let field = |name: &str, label: &str, hint: &str| {
        html! {
            div { label for=(name) { (label) } input id=(name) name=(name) value=(value(name)) placeholder=(hint); }
        }
    };
    let empty_store = page.items.is_empty() && crate::ui::calls::is_store_empty(&state).await;
    let body = html! {
        h1 { "Audit log" }
        form.filters method="get" action="/ui/events" role="search" aria-label="Filter events" {
            (field("from", "Received from (UTC, RFC 3339)", "2024-03-12T00:00:00Z"))
            (field("to", "Received before", "2024-03-13T00:00:00Z"))
            (field("type", "Type (as received)", "Microsoft.Communication.PlayFailed"))
            (field("call_id", "Call id", ""))
            (field("correlation_id", "Correlation id", ""))
            (field("operation_context", "Operation context", ""))
            div { label for="auth_scheme" { "Authentication" }
                select #auth_scheme name="auth_scheme" {
                    option value="" selected[value("auth_scheme").is_empty()] { "any" }
                    @for s in AUTH_SCHEMES { option value=(s) selected[value("auth_scheme") == *s] { (s) } }
                }
            }
            (field("json_path", "Payload field (JSON path)", "data.resultInformation.subCode"))
            (field("json_value", "equals", "8536"))
            div { label for="order" { "Order" }
                select #order name="order" {
                    option value="asc" selected[order != "desc"] { "oldest first" }
                    option value="desc" selected[order == "desc"] { "newest first" }
                }
            }
            div.actions { button type="submit" { "Filter" } " " a href="/ui/events" { "Clear" } }
        }
        @if empty_store {
            (crate::ui::calls::first_run())
        } @else if page.items.is_empty() {
            p.empty role="status" { "No events match these filters." }
        } @else {
            table {
                caption { "Stored events by receipt" }
                thead { tr {
                    th scope="col" { "Event" } th scope="col" { "Received (" (crate::ui::zone::current().name()) ")" } th scope="col" { "Type" }
                    th scope="col" { "Call" } th scope="col" { "Result" } th scope="col" { "Auth" }
                } }
                tbody {
                    @for e in &page.items {
                        tr {
                            td { a href=(format!("/ui/events/{}", e.event_seq)) { (e.event_seq) } }
                            td { (page::time(e.received_at)) }
                            td { (e.event_type) }
                            td { @if let Some(call) = &e.call_id {
                                a.id href=(format!("/ui/calls/{}", page::segment(call))) { (call) }
                            } }
                            td { @if let Some(code) = e.result_code { (code) "." (e.result_sub_code.unwrap_or_default()) } }
                            td { (e.auth_scheme) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next { p { a rel="next" href=(next) { "Next page" } } }
        p.links {
            a href=(page::link("/api/v1/events", &borrowed)) { "This list as JSON (API)" } " · "
            a href=(page::link("/api/v1/events/export", &borrowed)) { "Export (NDJSON, API)" }
        }
    };
    page::html_response(StatusCode::OK, page::layout("Audit log", Nav::Events, body))
}

#[derive(Deserialize)]
pub struct EventQuery {
    /// `exact`: the payload byte for byte; otherwise pretty-printed when it is JSON.
    view: Option<String>,
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    seq: web::Path<String>,
    query: web::Query<EventQuery>,
) -> HttpResponse {
    let exact = query.view.as_deref() == Some("exact");
    match render(&req, &state, &seq, exact).await {
        Ok(markup) => page::html_response(StatusCode::OK, markup),
        Err(error) => page::error(&error),
    }
}

/// The previous and next event of the same call, by `event_seq`.
async fn neighbours(
    state: &AppState,
    event: &EventWithRaw,
) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let Some(call) = &event.event.call_id else {
        return Ok((None, None));
    };
    let one = |order| PageRequest {
        resource: "call_events",
        limit: 1,
        order,
        after: Some(event.event.event_seq),
    };
    let (earlier, later) = (one(Order::Desc), one(Order::Asc));
    let (before, after) = tokio::try_join!(
        calls::events_page(state, call, &earlier),
        calls::events_page(state, call, &later),
    )?;
    Ok((
        before.items.first().map(|e| e.event_seq),
        after.items.first().map(|e| e.event_seq),
    ))
}

async fn render(
    req: &HttpRequest,
    state: &AppState,
    seq: &str,
    exact: bool,
) -> Result<Markup, ApiError> {
    let seq = api_events::event_seq(seq)?;
    let stored = api_events::find(state, seq).await?;
    let how = if exact { How::Exact } else { How::Page };
    audit::record(state, req, &stored, how).await?;
    let (previous, next) = neighbours(state, &stored).await?;
    let e = &stored.event;
    let pretty = (!exact)
        .then(|| serde_json::from_str::<serde_json::Value>(&stored.raw).ok())
        .flatten()
        .map(|v| serde_json::to_string_pretty(&v).expect("a parsed value prints"));
    let lag = e
        .event_time
        .map(|sent| page::duration(Some((e.received_at - sent).num_milliseconds())));
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
    let details = serde_json::to_string_pretty(&e.details).expect("details print");
    let body = html! {
        h1 { "Event " (e.event_seq) }
        nav.pager aria-label="Events of this call" {
            @if let Some(p) = previous { a rel="prev" href=(format!("/ui/events/{p}")) { "Previous event of the call" } " " }
            @if let Some(call) = &e.call_id { a href=(format!("/ui/calls/{}", page::segment(call))) { "The call" } " " }
            @if let Some(n) = next { a rel="next" href=(format!("/ui/events/{n}")) { "Next event of the call" } }
        }
        section aria-labelledby="fields-h" {
            h2 #fields-h { "Normalised" }
            dl.summary {
                div { dt { "Type" } dd { (e.event_type) } }
                div { dt { "Family" } dd { (e.family) } }
                div { dt { "Call" } dd.id { (opt(&e.call_id)) } }
                div { dt { "Server call id" } dd.id { (opt(&e.server_call_id)) } }
                div { dt { "Correlation id" } dd.id { (opt(&e.correlation_id)) } }
                div { dt { "Operation context" } dd.id { (opt(&e.operation_context)) } }
                div { dt { "Result" } dd {
                    @if let Some(code) = e.result_code { (code) "." (e.result_sub_code.unwrap_or_default()) " " }
                    (opt(&e.result_message))
                } }
                div { dt { "Sequence number" } dd { (e.sequence_number.map_or("—".to_owned(), |n| n.to_string())) } }
                div { dt { "Event id" } dd.id { (opt(&e.event_id)) } }
                div { dt { "Subject" } dd.id { (opt(&e.subject)) } }
            }
            details { summary { "Details as the model reads them" } pre { code { (details) } } }
        }
        section aria-labelledby="receipt-h" {
            h2 #receipt-h { "Receipt" }
            dl.summary {
                div { dt { "Received" } dd { (page::time(e.received_at)) } }
                div { dt { "Sender's time" } dd { (page::opt_time(e.event_time)) } }
                div { dt { "Lag" } dd { (lag.unwrap_or_else(|| "—".to_owned())) } }
                div { dt { "Endpoint" } dd { (e.endpoint) } }
                div { dt { "Format" } dd { (e.format) } }
                div { dt { "Authentication" } dd { (e.auth_scheme) } }
                div { dt { "Principal" } dd.id { (opt(&e.auth_principal)) } }
                div { dt { "Request id" } dd.id { (opt(&e.request_id)) } }
            }
        }
        section aria-labelledby="raw-h" {
            h2 #raw-h { "Raw payload" }
            p.links {
                @if pretty.is_some() {
                    "Pretty-printed · " a href=(format!("/ui/events/{seq}?view=exact#raw-h")) { "show exactly as received" }
                } @else {
                    "Exactly as received · " a href=(format!("/ui/events/{seq}#raw-h")) { "pretty-print" }
                }
                " · " a href=(format!("/ui/events/{seq}/raw")) download { "Download" }
                " · " button.copy type="button" data-copy="raw-payload" { "Copy" }
                " · " a href=(format!("/ui/audit?event_seq={seq}")) { "who viewed it" }
            }
            pre #raw-payload tabindex="0" aria-label="Raw payload" { code { (pretty.as_deref().unwrap_or(&stored.raw)) } }
        }
    };
    Ok(page::layout(&format!("Event {seq}"), Nav::Events, body))
}

/// The payload as a download: `text/plain`, never interpreted by the browser.
pub async fn raw(
    req: HttpRequest,
    state: web::Data<AppState>,
    seq: web::Path<String>,
) -> HttpResponse {
    let result = async {
        let seq = api_events::event_seq(&seq)?;
        let stored = api_events::find(&state, seq).await?;
        audit::record(&state, &req, &stored, How::Download).await?;
        Ok::<_, ApiError>(stored)
    }
    .await;
    match result {
        Ok(stored) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"calltrail-event-{}.json\"",
                    stored.event.event_seq
                ),
            ))
            .body(stored.raw),
        Err(error) => page::error(&error),
    }
}
