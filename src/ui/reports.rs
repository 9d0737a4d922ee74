//! The summary report as charts (calls and outcomes, duration percentiles, media success) over a
//! chosen range, by hour or day, with the numbers as a table.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DurationRound, TimeDelta, Utc};
use maud::html;
use serde::Deserialize;

use crate::api::reports::{self, SummaryQuery};
use crate::http::state::AppState;
use crate::ui::charts::{self, Series};
use crate::ui::page::{self, Nav};

#[derive(Deserialize)]
pub struct ReportForm {
    from: Option<String>,
    to: Option<String>,
    bucket: Option<String>,
}

pub async fn page(state: web::Data<AppState>, form: web::Query<ReportForm>) -> HttpResponse {
    // The last seven UTC days by default.
    let tomorrow = Utc::now()
        .duration_trunc(TimeDelta::days(1))
        .expect("a day")
        + TimeDelta::days(1);
    let text = |v: &Option<String>, default: String| match v.as_deref() {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => default,
    };
    let stamp = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let from = text(&form.from, stamp(tomorrow - TimeDelta::days(7)));
    let to = text(&form.to, stamp(tomorrow));
    let bucket = text(&form.bucket, "day".to_owned());
    let query = SummaryQuery {
        from: Some(from.clone()),
        to: Some(to.clone()),
        bucket: Some(bucket.clone()),
    };
    let report = match reports::report(&state, &query).await {
        Ok(report) => report,
        Err(error) => return page::error(&error),
    };
    let b = &report.buckets;
    let pattern = if report.bucket == "hour" {
        "%m-%d %H:00"
    } else {
        "%Y-%m-%d"
    };
    let labels: Vec<String> = b
        .iter()
        .map(|b| b.start.format(pattern).to_string())
        .collect();
    let body = html! {
        h1 { "Reports" }
        form.filters method="get" action="/ui/reports" aria-label="Report range" {
            div { label for="from" { "From (UTC, RFC 3339)" } input #from name="from" value=(from); }
            div { label for="to" { "To (exclusive)" } input #to name="to" value=(to); }
            div { label for="bucket" { "By" }
                select #bucket name="bucket" {
                    option value="day" selected[report.bucket == "day"] { "day" }
                    option value="hour" selected[report.bucket == "hour"] { "hour" }
                }
            }
            div.actions { button type="submit" { "Show" } }
        }
        p { "Calls counted by the " (report.bucket) " (UTC) of their first event, from "
            (page::time(report.from)) " to " (page::time(report.to)) ". "
            a href="#report-table" { "Skip to the numbers" } }
        (charts::calls("calls-chart", "Calls, connected and failed", &labels, b))
        (charts::bars("duration-chart", "Call duration, median and 95th percentile", &labels, &[
            Series { label: "median", values: b.iter().map(|b| b.duration_p50_ms).collect() },
            Series { label: "95th percentile (hatched)", values: b.iter().map(|b| b.duration_p95_ms).collect() },
        ], &charts::SECONDS))
        (charts::bars("media-chart", "Media operations that succeeded", &labels, &[
            Series { label: "success rate", values: b.iter().map(|b| b.media_success_rate).collect() },
        ], &charts::RATE))
        div #report-table { (charts::table("The report's numbers", b)) }
        p.links { a href=(page::link("/api/v1/reports/summary", &[("from", &from), ("to", &to), ("bucket", &bucket)])) { "This report as JSON (API)" } }
    };
    page::html_response(StatusCode::OK, page::layout("Reports", Nav::Reports, body))
}
