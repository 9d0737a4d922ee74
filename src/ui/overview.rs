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
        (chart(buckets))
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

/// Calls per hour, connected and failed, as bars, with the same numbers as a table.
fn chart(buckets: &[Bucket]) -> Markup {
    const W: f64 = 960.0;
    const H: f64 = 200.0;
    const LEFT: f64 = 40.0;
    const BOTTOM: f64 = 30.0;
    let max = buckets.iter().map(|b| b.calls).max().unwrap_or(0).max(1) as f64;
    let step = (W - LEFT) / buckets.len().max(1) as f64;
    let y = |v: i64| (H - BOTTOM) - (v as f64 / max) * (H - BOTTOM - 10.0);
    html! {
        section aria-labelledby="chart-h" {
            h2 #chart-h { "Calls per hour" }
            p.legend { span.key.presence {} " calls · " span.key.failed {} " of which failed (hatched) · hours in UTC" }
            svg.chart role="img" aria-labelledby="chart-title" viewBox=(format!("0 0 {W} {H}")) width=(W) height=(H) xmlns="http://www.w3.org/2000/svg" {
                title #chart-title { "Calls per hour over the last 24 hours; the table below has the numbers" }
                defs {
                    pattern #chart-hatch patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)" {
                        rect.hatch-bg width="6" height="6" {}
                        line.hatch-line x1="0" y1="0" x2="0" y2="6" {}
                    }
                }
                line.axis x1=(LEFT) y1=(H - BOTTOM) x2=(W) y2=(H - BOTTOM) {}
                text.tick-label x="4" y="16" { (max as i64) }
                text.tick-label x="4" y=(H - BOTTOM) { "0" }
                @for (i, b) in buckets.iter().enumerate() {
                    @let x = LEFT + i as f64 * step + 2.0;
                    rect.bar.presence x=(x) y=(y(b.calls)) width=((step - 4.0).max(1.0)) height=((H - BOTTOM) - y(b.calls)) {}
                    rect.bar.failed-bar x=(x) y=(y(b.failed)) width=((step - 4.0).max(1.0)) height=((H - BOTTOM) - y(b.failed)) {}
                    @if i % 3 == 0 {
                        text.tick-label x=(x) y=(H - 10.0) { (b.start.format("%H:00")) }
                    }
                }
            }
            details {
                summary { "The chart as a table" }
                table {
                    caption { "Calls per hour (UTC), last 24 hours" }
                    thead { tr {
                        th scope="col" { "Hour (UTC)" } th scope="col" { "Calls" } th scope="col" { "Connected" }
                        th scope="col" { "Failed" } th scope="col" { "Duration p50" } th scope="col" { "Duration p95" }
                        th scope="col" { "Key presses" } th scope="col" { "Media success" }
                    } }
                    tbody {
                        @for b in buckets {
                            tr {
                                th scope="row" { (page::time(b.start)) }
                                td.num { (b.calls) } td.num { (b.connected) } td.num { (b.failed) }
                                td.num { (page::duration(b.duration_p50_ms.map(|v| v as i64))) }
                                td.num { (page::duration(b.duration_p95_ms.map(|v| v as i64))) }
                                td.num { (b.dtmf_tones) }
                                td.num { (b.media_success_rate.map_or("—".to_owned(), |r| format!("{:.0} %", r * 100.0))) }
                            }
                        }
                    }
                }
            }
        }
    }
}
