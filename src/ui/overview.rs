//! The overview: the last 24 hours in numbers, calls per hour as a chart with its table twin, and
//! the most recent failed calls.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DurationRound, TimeDelta, Utc};
use maud::{html, Markup};

use crate::api::calls;
use crate::api::reports::{self, Bucket, SummaryQuery};
use crate::error::ApiError;
use crate::http::state::AppState;
use crate::ui::page::{self, Nav};

pub async fn overview(state: web::Data<AppState>) -> HttpResponse {
    match render(&state).await {
        Ok(markup) => page::html_response(StatusCode::OK, markup),
        Err(error) => page::error(&error),
    }
}

async fn render(state: &AppState) -> Result<Markup, ApiError> {
    let now = Utc::now();
    let from = (now - TimeDelta::hours(23))
        .duration_trunc(TimeDelta::hours(1))
        .expect("an hour");
    let since = from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let query = SummaryQuery {
        from: Some(since.clone()),
        to: Some(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        bucket: Some("hour".to_owned()),
    };
    let failures_query = web::Query::<calls::ListQuery>::from_query(&format!(
        "from={since}&outcome=failed&order=desc&limit=10"
    ))
    .map_err(|_| ApiError::Internal)?;
    let (report, failures) = tokio::try_join!(
        reports::report(state, &query),
        calls::list_page(state, &failures_query),
    )?;
    let buckets = &report.buckets;
    let total = |f: fn(&Bucket) -> i64| buckets.iter().map(f).sum::<i64>();
    let (count, connected, failed, tones) = (
        total(|b| b.calls),
        total(|b| b.connected),
        total(|b| b.failed),
        total(|b| b.dtmf_tones),
    );
    let weighted: Vec<(f64, i64)> = buckets
        .iter()
        .filter_map(|b| b.media_success_rate.map(|r| (r, b.calls)))
        .collect();
    let media = (!weighted.is_empty()).then(|| {
        let calls: i64 = weighted.iter().map(|(_, c)| c).sum();
        weighted.iter().map(|(r, c)| r * *c as f64).sum::<f64>() / calls.max(1) as f64
    });
    let hours: Vec<String> = buckets
        .iter()
        .map(|b| b.start.format("%H:00").to_string())
        .collect();
    let empty_store = count == 0 && crate::ui::calls::is_store_empty(state).await;
    let body = html! {
        h1 { "Overview" }
        p { "Calls whose first event came from " (page::time(from)) " to now." }
        @if empty_store {
            (crate::ui::calls::first_run())
        }
        section aria-labelledby="numbers-h" {
            h2 #numbers-h { "Last 24 hours" }
            dl.tiles {
                div { dt { "Calls" } dd { a href=(page::link("/ui/calls", &[("from", &since)])) { (count) } } }
                div { dt { "Connected" } dd { (connected) } }
                div { dt { "Failed" } dd { a href=(page::link("/ui/calls", &[("from", &since), ("outcome", "failed")])) { (failed) } } }
                div { dt { "Media success" } dd { @match media {
                    Some(rate) => { (format!("{:.0} %", rate * 100.0)) span.note { " (hourly rates weighted by calls)" } },
                    None => "no media",
                } } }
                div { dt { "Key presses" } dd { (tones) } }
            }
        }
        section aria-labelledby="chart-h" {
            h2 #chart-h { "Calls per hour" }
            (crate::ui::charts::calls("hourly", "Calls per hour (UTC), connected and failed", &hours, buckets))
            details {
                summary { "The chart as a table" }
                (crate::ui::charts::table("Calls per hour (UTC), last 24 hours", buckets))
            }
        }
        section aria-labelledby="failures-h" {
            h2 #failures-h { "Recent failures" }
            @if failures.items.is_empty() {
                p.empty { "No failed calls in the last 24 hours." }
            } @else {
                (crate::ui::calls::recent_table("The last failed calls, newest first", &failures.items))
            }
        }
    };
    Ok(page::layout("Overview", Nav::Overview, body))
}
