//! What every page shares: the frame (header, navigation, skip link), times written with their
//! zone, masked ids, pagers, and the pages for errors and unusual states.
//!
//! Every value reaches the HTML through maud's `(…)`, which escapes it: stored payloads are written
//! by whoever can reach the callback routes, so nothing here ever writes markup from data.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use chrono::{DateTime, SecondsFormat, Utc};
use maud::{html, Markup, DOCTYPE};

use crate::error::ApiError;
use crate::ui::{assets, zone};

/// Which navigation entry is the current page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// No navigation (the login form, errors before a session).
    None,
    Overview,
    Calls,
    Events,
    Reports,
    /// The time zone form: navigation without a current entry.
    Zone,
}

pub fn layout(title: &str, nav: Nav, body: Markup) -> Markup {
    let item = |target: Nav, href: &str, label: &str| {
        html! {
            li { a href=(href) aria-current=[(nav == target).then_some("page")] { (label) } }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" data-zone=(zone::current().name()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · calltrail" }
                link rel="stylesheet" href=(assets::url("app.css"));
                script src=(assets::url("app.js")) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "calltrail" }
                    @if nav != Nav::None {
                        nav aria-label="Main" {
                            ul {
                                (item(Nav::Overview, "/ui", "Overview"))
                                (item(Nav::Calls, "/ui/calls", "Calls"))
                                (item(Nav::Events, "/ui/events", "Audit log"))
                                (item(Nav::Reports, "/ui/reports", "Reports"))
                            }
                        }
                        a.zone href=(link("/ui/zone", &[("next", &zone::here())])) {
                            "Zone: " (zone::current().name())
                        }
                        form.logout method="post" action="/ui/logout" {
                            button type="submit" { "Log out" }
                        }
                    }
                }
                div.loading role="status" aria-live="polite" {}
                main #main tabindex="-1" {
                    @if let Some(name) = zone::refused() {
                        p.banner role="status" { "Unknown time zone “" (name) "”: times are written in "
                            (zone::current().name()) "." }
                    }
                    (body)
                }
            }
        }
    }
}

pub fn html_response(status: StatusCode, page: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

/// An absolute time, in the page's zone with the zone written, machine-readable (UTC) in
/// `datetime`.
pub fn time(t: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(t.to_rfc3339_opts(SecondsFormat::Millis, true)) { (zone::full(t)) }
    }
}

pub fn opt_time(t: Option<DateTime<Utc>>) -> Markup {
    match t {
        Some(t) => time(t),
        None => html! { span.none { "—" } },
    }
}

/// Time since the call's start, `+02:31` (`+1:02:31` past an hour), `−00:02` before it.
pub fn relative(t: DateTime<Utc>, start: DateTime<Utc>) -> String {
    let ms = (t - start).num_milliseconds();
    let sign = if ms < 0 { "−" } else { "+" };
    let s = ms.unsigned_abs() / 1000;
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{sign}{h}:{m:02}:{s:02}")
    } else {
        format!("{sign}{m:02}:{s:02}")
    }
}

/// A duration in milliseconds as `1 min 05.2 s`.
pub fn duration(ms: Option<i64>) -> String {
    match ms {
        None => "—".to_owned(),
        Some(ms) if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        Some(ms) => format!(
            "{} min {:04.1} s",
            ms / 60_000,
            (ms % 60_000) as f64 / 1000.0
        ),
    }
}

/// A phone number's raw id, masked as the call model masks it; other ids as they are.
pub fn masked(raw_id: &str) -> String {
    crate::events::Identifier::from_raw_id(raw_id).display_safe()
}

/// What a path segment may hold as it is: letters, digits and `-._~`.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A path segment with everything else percent-encoded (raw ids hold `:` and `+`).
pub fn segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
}

/// `path?query` with `pairs` (empty values left out).
pub fn link(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        query.append_pair(key, value);
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The answer for a failed query or a bad parameter, as a page.
pub fn error(error: &ApiError) -> HttpResponse {
    let (status, title, body) = match error {
        ApiError::NotFound(message) => (
            StatusCode::NOT_FOUND,
            "Not found",
            html! {
                p { (message) "." }
                p { "Look for it in the " a href="/ui/calls" { "calls" } " or search the "
                    a href="/ui/events" { "audit log" } " by call or correlation id." }
            },
        ),
        ApiError::BadRequest(message) => (
            StatusCode::BAD_REQUEST,
            "Bad request",
            html! { p role="alert" { (message) } p { a href="/ui" { "Back to the overview" } } },
        ),
        ApiError::StorageUnavailable { .. } | ApiError::QueryTimeout { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Database unavailable",
            html! {
                p role="alert" { (error.to_string()) "." }
                p { "PostgreSQL did not answer in time. Stored events are safe; this page will work "
                    "again once the database answers. " a href="" { "Retry" } }
            },
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            html! { p role="alert" { "An internal error; the service log has the details." } },
        ),
    };
    let mut response = html_response(
        status,
        layout(title, Nav::Overview, html! { h1 { (title) } (body) }),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
    response
}

pub fn disabled() -> HttpResponse {
    html_response(
        StatusCode::SERVICE_UNAVAILABLE,
        layout(
            "Dashboard off",
            Nav::None,
            html! {
                h1 { "The dashboard is off" }
                p { "Set " code { "ui.session_key" } " (at least 32 characters, e.g. "
                    code { "openssl rand -hex 32" } ", the same on every instance) and restart." }
            },
        ),
    )
}

pub fn cross_site() -> HttpResponse {
    html_response(
        StatusCode::FORBIDDEN,
        layout(
            "Refused",
            Nav::None,
            html! {
                h1 { "Refused" }
                p { "Logging in and out only works from calltrail's own pages. "
                    a href="/ui/login" { "Log in" } }
            },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn relative_times() {
        let start = t("2024-03-12T09:00:00Z");
        assert_eq!(relative(t("2024-03-12T09:02:31.900Z"), start), "+02:31");
        assert_eq!(relative(t("2024-03-12T10:02:31Z"), start), "+1:02:31");
        assert_eq!(relative(t("2024-03-12T08:59:58Z"), start), "−00:02");
    }

    #[test]
    fn times_carry_their_zone_and_markup_is_escaped() {
        let html = time(t("2024-03-12T09:00:00Z")).into_string();
        assert!(html.contains("2024-03-12 09:00:00.000 UTC"), "{html}");
        assert!(
            html.contains(r#"datetime="2024-03-12T09:00:00.000Z""#),
            "{html}"
        );
        let page = layout(
            "<script>",
            Nav::None,
            html! { p { ("</p><script>x()</script>") } },
        );
        assert!(!page.into_string().contains("<script>x()"));
    }

    #[test]
    fn links_encode_their_values() {
        assert_eq!(
            link("/ui/calls", &[("participant", "4:+1 2&x"), ("outcome", "")]),
            "/ui/calls?participant=4%3A%2B1+2%26x"
        );
        assert_eq!(segment("4:+1425"), "4%3A%2B1425");
        assert_eq!(segment("call-1.a_b~"), "call-1.a_b~");
        assert!(!masked("4:+14255550123").contains("5550123"));
    }
}
