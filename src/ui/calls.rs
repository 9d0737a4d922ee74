//! The calls list (the API's filters, keyset pages) and a participant's calls.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::calls::{self, CallSummary};
use crate::api::events::{self as api_events, EventFilter};
use crate::api::pagination::{Order, PageParams, PageRequest};
use crate::api::params::CALL_OUTCOMES;
use crate::api::participants;
use crate::http::state::AppState;
use crate::ui::page::{self, Nav};

/// The filters as typed, to fill the form in again and to build the next page's link.
#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    participant: String,
    #[serde(default)]
    order: String,
}

pub async fn list(
    state: web::Data<AppState>,
    api_query: web::Query<calls::ListQuery>,
    filters: web::Query<Filters>,
) -> HttpResponse {
    let page = match calls::list_page(&state, &api_query).await {
        Ok(page) => page,
        Err(error) => return page::error(&error),
    };
    let f = &*filters;
    let empty_store = page.items.is_empty() && is_store_empty(&state).await;
    let next = page.next_cursor.as_deref().map(|cursor| {
        page::link(
            "/ui/calls",
            &[
                ("from", &f.from),
                ("to", &f.to),
                ("state", &f.state),
                ("outcome", &f.outcome),
                ("participant", &f.participant),
                ("order", &f.order),
                ("cursor", cursor),
            ],
        )
    });
    let api = page::link(
        "/api/v1/calls",
        &[
            ("from", &f.from),
            ("to", &f.to),
            ("state", &f.state),
            ("outcome", &f.outcome),
            ("participant", &f.participant),
            ("order", &f.order),
        ],
    );
    let body = html! {
        h1 { "Calls" }
        form.filters method="get" action="/ui/calls" role="search" aria-label="Filter calls" {
            div { label for="from" { "From (UTC, RFC 3339)" } input #from name="from" value=(f.from) placeholder="2024-03-12T00:00:00Z"; }
            div { label for="to" { "To (exclusive)" } input #to name="to" value=(f.to) placeholder="2024-03-13T00:00:00Z"; }
            div { label for="outcome" { "Outcome" }
                select #outcome name="outcome" {
                    option value="" selected[f.outcome.is_empty()] { "any" }
                    @for o in CALL_OUTCOMES { option value=(o) selected[f.outcome == *o] { (o.replace('_', " ")) } }
                }
            }
            div { label for="state" { "Last state" } input #state name="state" value=(f.state) placeholder="disconnected"; }
            div { label for="participant" { "Participant raw id" } input #participant name="participant" value=(f.participant) placeholder="4:+14255550123"; }
            div { label for="order" { "Order" }
                select #order name="order" {
                    option value="asc" selected[f.order != "desc"] { "oldest first" }
                    option value="desc" selected[f.order == "desc"] { "newest first" }
                }
            }
            div.actions { button type="submit" { "Filter" } " " a href="/ui/calls" { "Clear" } }
        }
        @if empty_store {
            (first_run())
        } @else if page.items.is_empty() {
            p.empty role="status" { "No calls match these filters. Widen the time range or clear a filter." }
        } @else {
            (calls_table("Calls, by first event", &page.items, None))
        }
        @if let Some(next) = next { p { a rel="next" href=(next) { "Next page" } } }
        p.links { a href=(api) { "This list as JSON (API)" } }
    };
    page::html_response(StatusCode::OK, page::layout("Calls", Nav::Calls, body))
}

/// Whether nothing at all has been stored yet (a first run), not merely nothing matching.
pub async fn is_store_empty(state: &AppState) -> bool {
    let one = PageRequest {
        resource: "events",
        limit: 1,
        order: Order::Asc,
        after: None,
    };
    api_events::list_page(state, &EventFilter::default(), &one)
        .await
        .is_ok_and(|page| page.items.is_empty())
}

/// The hint shown while the store is empty.
pub fn first_run() -> Markup {
    html! {
        section.empty aria-labelledby="first-run-h" {
            h2 #first-run-h { "Nothing stored yet" }
            p { "calltrail has not received a callback. Point a Call Automation application's callback URL at "
                code { "https://<this host>/api/callbacks?secret=<a secret of auth.query_secret.secrets>" }
                ", or send one by hand:" }
            pre { code { "curl -s -X POST 'http://127.0.0.1:8080/api/callbacks?secret=local-dev-secret' \\\n  -H 'content-type: application/json' \\\n  -d '[{\"id\":\"e-1\",\"source\":\"calling/callConnections/c-1\",\"type\":\"Microsoft.Communication.CallConnected\",\"time\":\"2024-03-12T09:00:00Z\",\"specversion\":\"1.0\",\"datacontenttype\":\"application/json\",\"data\":{\"callConnectionId\":\"c-1\",\"serverCallId\":\"s-1\",\"correlationId\":\"r-1\"}}]'" } }
            p { "Or start the local emulator (" code { "calltrail emulator" } ") and place a call through it: the README's "
                "\u{201c}The whole loop offline\u{201d} walks through it." }
        }
    }
}

/// A table of calls, each row a link to its page; `joined` adds the participant's own times.
fn calls_table(caption: &str, rows: &[CallSummary], joined: Option<&[(String, String)]>) -> Markup {
    html! {
        table {
            caption { (caption) }
            thead { tr {
                th scope="col" { "Call" } th scope="col" { "Started (" (crate::ui::zone::current().name()) ")" } th scope="col" { "Outcome" }
                th scope="col" { "State" } th scope="col" { "Duration" } th scope="col" { "Participants" }
                th scope="col" { "Keys" } th scope="col" { "Media ok" }
                @if joined.is_some() { th scope="col" { "As" } }
            } }
            tbody {
                @for (n, c) in rows.iter().enumerate() {
                    tr {
                        td { a.id href=(format!("/ui/calls/{}", page::segment(&c.call_id))) { (c.call_id) } }
                        td { (page::time(c.first_event_at)) }
                        td class=(format!("outcome {}", c.outcome)) {
                            (c.outcome.replace('_', " "))
                            @if let Some(code) = c.failure_code { " " (code) "." (c.failure_sub_code.unwrap_or_default()) }
                        }
                        td { (c.state.as_deref().unwrap_or("—")) }
                        td.num { (page::duration(c.duration_ms)) }
                        td.num { (c.participant_count) }
                        td.num { (c.dtmf_count) }
                        td.num { (c.media_succeeded) "/" (c.media_total) }
                        @if let Some(joined) = joined {
                            td { (joined[n].0) " " span.id { (joined[n].1) } }
                        }
                    }
                }
            }
        }
    }
}

pub fn recent_table(caption: &str, rows: &[CallSummary]) -> Markup {
    calls_table(caption, rows, None)
}

#[derive(Deserialize)]
pub struct ParticipantQuery {
    #[serde(flatten)]
    page: PageParams,
}

/// A participant's calls. This is where the full raw id is shown (lists and timelines mask it).
pub async fn participant(
    state: web::Data<AppState>,
    raw_id: web::Path<String>,
    api_query: web::Query<participants::CallsQuery>,
    query: web::Query<ParticipantQuery>,
) -> HttpResponse {
    let page = match participants::calls_page(&state, &raw_id, &api_query).await {
        Ok(page) => page,
        Err(error) => return page::error(&error),
    };
    let path = format!("/ui/participants/{}", page::segment(&raw_id));
    let next = page.next_cursor.as_deref().map(|cursor| {
        let order = query.page.order.clone().unwrap_or_default();
        page::link(&path, &[("order", &order), ("cursor", cursor)])
    });
    let display = page::masked(&raw_id);
    let joined: Vec<(String, String)> = page
        .items
        .iter()
        .map(|p| (p.kind.clone(), p.display_id.clone()))
        .collect();
    let rows: Vec<CallSummary> = page.items.into_iter().map(|p| p.call).collect();
    let body = html! {
        h1 { "Participant " span.id { (display) } }
        p { "Full raw id: " code.id { (raw_id.as_str()) } }
        @if rows.is_empty() {
            p.empty role="status" { "No calls with this participant." }
        } @else {
            (calls_table("Calls this participant was in, by first join", &rows, Some(&joined)))
        }
        @if let Some(next) = next { p { a rel="next" href=(next) { "Next page" } } }
        p.links { a href=(page::link("/ui/calls", &[("participant", &raw_id)])) { "Filter the calls list by this participant" } }
    };
    page::html_response(
        StatusCode::OK,
        page::layout(&format!("Participant {display}"), Nav::Calls, body),
    )
}
