//! The time zone pages write their times in: UTC unless the user chose an IANA zone, with
//! `?tz=Europe/Berlin` on any page (or the form at `/ui/zone`), remembered in a cookie. The zone is
//! always written beside a time (`2024-03-12 10:00:00.000 Europe/Berlin (UTC+01:00)`), and the
//! `datetime` attribute stays UTC. The chosen zone reaches the templates through a task-local
//! value set for the request, so the page functions keep their signatures.
//!
//! Zones come from the system's time zone database; a name it does not know is refused (the page
//! says so and keeps UTC), so nothing a URL carries is written into a page unchecked.

use actix_web::body::MessageBody;
use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use maud::html;
use serde::Deserialize;

use crate::ui::page::{self, Nav};

pub const COOKIE: &str = "calltrail_tz";
const LONGEST_NAME: usize = 64;

#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl Zone {
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_owned(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    /// An IANA name the system's database knows, else `None`.
    pub fn parse(name: &str) -> Option<Zone> {
        let plausible = !name.is_empty()
            && name.len() <= LONGEST_NAME
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
        if !plausible {
            return None;
        }
        if name.eq_ignore_ascii_case("utc") {
            return Some(Zone::utc());
        }
        let tz = jiff::tz::TimeZone::get(name).ok()?;
        Some(Zone {
            name: tz.iana_name().unwrap_or(name).to_owned(),
            tz,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_utc(&self) -> bool {
        self.name == "UTC"
    }
}

/// What a request's pages need to know: its zone, a zone it asked for and could not have, and
/// where it is (for the link to the zone form, which comes back).
#[derive(Clone)]
struct Context {
    zone: Zone,
    refused: Option<String>,
    here: String,
}

tokio::task_local! {
    static CONTEXT: Context;
}

fn with<T>(f: impl FnOnce(&Context) -> T) -> Option<T> {
    CONTEXT.try_with(|c| f(c)).ok()
}

/// The zone of the page being rendered (UTC outside a request).
pub fn current() -> Zone {
    with(|c| c.zone.clone()).unwrap_or_else(Zone::utc)
}

/// A zone name the request asked for that is not known.
pub fn refused() -> Option<String> {
    with(|c| c.refused.clone()).flatten()
}

/// The path and query of the page being rendered.
pub fn here() -> String {
    with(|c| c.here.clone()).unwrap_or_else(|| "/ui".to_owned())
}

/// `2024-03-12 10:00:00.000 Europe/Berlin (UTC+01:00)`, or `2024-03-12 09:00:00.000 UTC`.
pub fn full(t: DateTime<Utc>) -> String {
    let zone = current();
    if zone.is_utc() {
        return format!("{} UTC", t.format("%Y-%m-%d %H:%M:%S%.3f"));
    }
    match zoned(t, &zone) {
        Some(z) => format!(
            "{} {} (UTC{})",
            z.strftime("%Y-%m-%d %H:%M:%S%.3f"),
            zone.name,
            z.strftime("%:z")
        ),
        None => format!("{} UTC", t.format("%Y-%m-%d %H:%M:%S%.3f")),
    }
}

/// A time of day with the zone's abbreviation: `10:00:00.000 CET` (`millis`), `10:00:00 CET`.
pub fn clock(t: DateTime<Utc>, millis: bool) -> String {
    let zone = current();
    let (chrono_format, jiff_format) = if millis {
        ("%H:%M:%S%.3f UTC", "%H:%M:%S%.3f %Z")
    } else {
        ("%H:%M:%S UTC", "%H:%M:%S %Z")
    };
    match zoned(t, &zone).filter(|_| !zone.is_utc()) {
        Some(z) => z.strftime(jiff_format).to_string(),
        None => t.format(chrono_format).to_string(),
    }
}

fn zoned(t: DateTime<Utc>, zone: &Zone) -> Option<jiff::Zoned> {
    let ts = jiff::Timestamp::from_millisecond(t.timestamp_millis()).ok()?;
    Some(ts.to_zoned(zone.tz.clone()))
}

#[derive(Deserialize)]
struct TzQuery {
    tz: Option<String>,
}

fn remembered(zone: &Zone) -> Cookie<'static> {
    let mut cookie = Cookie::build(COOKIE, zone.name.clone())
        .path("/ui")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::days(365))
        .finish();
    if zone.is_utc() {
        cookie.make_removal();
    }
    cookie
}

/// Middleware on `/ui`: the request's zone from `?tz=` (remembered) or the cookie, for the
/// templates of this request.
pub async fn with_zone(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let asked = web::Query::<TzQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().tz);
    let from_cookie = || {
        req.cookie(COOKIE)
            .and_then(|c| Zone::parse(c.value()))
            .unwrap_or_else(Zone::utc)
    };
    let (zone, refused, remember) = match asked.as_deref() {
        Some("") => (Zone::utc(), None, true),
        Some(name) => match Zone::parse(name) {
            Some(zone) => (zone, None, true),
            None => (from_cookie(), Some(name.to_owned()), false),
        },
        None => (from_cookie(), None, false),
    };
    let here = match req.query_string() {
        "" => req.path().to_owned(),
        query => format!("{}?{query}", req.path()),
    };
    let context = Context {
        zone: zone.clone(),
        refused,
        here,
    };
    let mut response = CONTEXT.scope(context, next.call(req)).await?;
    if remember {
        response.response_mut().add_cookie(&remembered(&zone))?;
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct FormQuery {
    tz: Option<String>,
    next: Option<String>,
}

/// `/ui/zone`: the form that chooses the zone. Its `tz` applies through the middleware, as on any
/// page; once a known zone is chosen, back to the page the form was opened from.
pub async fn form(query: web::Query<FormQuery>) -> HttpResponse {
    let next = crate::ui::session::safe_next(query.next.as_deref());
    if query.tz.is_some() && refused().is_none() {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, next))
            .finish();
    }
    let zone = current();
    let body = html! {
        h1 { "Time zone" }
        p { "Times on these pages are written in " strong { (zone.name) } ", the zone always beside them. "
            "Choose an IANA zone name (" code { "Europe/Berlin" } ", " code { "America/New_York" } ", "
            code { "UTC" } "); this browser remembers it. Report buckets stay UTC days and hours." }
        form method="get" action="/ui/zone" {
            label for="tz" { "Zone" } " "
            input #tz name="tz" value=(zone.name) autocomplete="off" spellcheck="false";
            input type="hidden" name="next" value=(next);
            " " button type="submit" { "Use this zone" }
        }
        p { a href=(next) { "Back" } }
    };
    page::html_response(StatusCode::OK, page::layout("Time zone", Nav::Zone, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_against_the_database_and_times_carry_their_zone() {
        assert!(Zone::parse("Europe/Berlin").is_some());
        assert!(Zone::parse("utc").unwrap().is_utc());
        for bad in [
            "",
            "Mars/Olympus",
            "<script>",
            "../../etc/passwd",
            "Europe/Berlin\n",
        ] {
            assert!(Zone::parse(bad).is_none(), "{bad:?}");
        }
        let t: DateTime<Utc> = "2024-03-12T09:00:00Z".parse().unwrap();
        assert_eq!(
            full(t),
            "2024-03-12 09:00:00.000 UTC",
            "UTC outside a request"
        );
        let berlin = Context {
            zone: Zone::parse("Europe/Berlin").unwrap(),
            refused: None,
            here: "/ui".into(),
        };
        let (winter, summer, tick) = CONTEXT.sync_scope(berlin, || {
            let summer: DateTime<Utc> = "2024-07-01T09:00:00Z".parse().unwrap();
            (full(t), full(summer), clock(t, false))
        });
        assert_eq!(winter, "2024-03-12 10:00:00.000 Europe/Berlin (UTC+01:00)");
        assert_eq!(summer, "2024-07-01 11:00:00.000 Europe/Berlin (UTC+02:00)");
        assert_eq!(tick, "10:00:00 CET");
    }
}
