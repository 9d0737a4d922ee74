//! The read-only reporting and audit-log API under `/api/v1`: JSON, bearer tokens, keyset pages.
//!
//! [`ROUTES`] is the one list of its routes: the router is built from it and the OpenAPI document is
//! checked against it.
//!
//! Queries bind optional filters as `($n IS NULL OR col = $n)` and run as unnamed (not cached)
//! statements, so PostgreSQL plans each with the actual values: the absent filters fold away and
//! the remaining conditions can use indexes, which a generic cached plan cannot promise.

pub mod auth;
pub mod calls;
pub mod events;
pub mod export;
pub mod openapi;
pub mod pagination;
pub mod params;
pub mod participants;
pub mod rate_limit;
pub mod reports;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpResponse, Route};

use crate::error::ApiError;

pub const PREFIX: &str = "/api/v1";

/// A route of the API: `path` is relative to [`PREFIX`] and written the same way for the router
/// and for OpenAPI (`{name}` for a path parameter).
pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
    pub handler: fn(Route) -> Route,
}

/// Every route, in matching order: a literal segment comes before a parameter that would also match
/// it (`/events/export` before `/events/{event_seq}`).
pub static ROUTES: &[ApiRoute] = &[
    ApiRoute {
        method: Method::GET,
        path: "/calls",
        handler: |r| r.to(calls::list),
    },
    ApiRoute {
        method: Method::GET,
        path: "/calls/{id}",
        handler: |r| r.to(calls::get),
    },
    ApiRoute {
        method: Method::GET,
        path: "/calls/{id}/participants",
        handler: |r| r.to(calls::participants),
    },
    ApiRoute {
        method: Method::GET,
        path: "/calls/{id}/events",
        handler: |r| r.to(calls::events),
    },
    ApiRoute {
        method: Method::GET,
        path: "/calls/{id}/dtmf",
        handler: |r| r.to(calls::dtmf),
    },
    ApiRoute {
        method: Method::GET,
        path: "/calls/{id}/media",
        handler: |r| r.to(calls::media),
    },
    ApiRoute {
        method: Method::GET,
        path: "/participants/{rawId}/calls",
        handler: |r| r.to(participants::calls),
    },
    ApiRoute {
        method: Method::GET,
        path: "/events",
        handler: |r| r.to(events::list),
    },
    ApiRoute {
        method: Method::GET,
        path: "/events/export",
        handler: |r| r.to(export::export),
    },
    ApiRoute {
        method: Method::GET,
        path: "/events/{event_seq}",
        handler: |r| r.to(events::get),
    },
    ApiRoute {
        method: Method::GET,
        path: "/events/{event_seq}/raw",
        handler: |r| r.to(events::raw),
    },
    ApiRoute {
        method: Method::GET,
        path: "/reports/summary",
        handler: |r| r.to(reports::summary),
    },
    ApiRoute {
        method: Method::GET,
        path: "/openapi.json",
        handler: |r| r.to(openapi::document),
    },
];

/// The `/api/v1` scope: every route behind the bearer-token check, bad query strings and unknown
/// paths answered in the API's error shape.
pub fn scope(cfg: &mut web::ServiceConfig) {
    let mut scope = web::scope(PREFIX)
        .wrap(from_fn(refuse_nul))
        .wrap(from_fn(auth::require_token))
        .app_data(web::QueryConfig::default().error_handler(|error, _| {
            ApiError::BadRequest(format!("invalid query string: {error}")).into()
        }))
        .default_service(web::to(crate::http::not_found));
    let mut seen: Vec<&str> = Vec::new();
    for route in ROUTES {
        if seen.contains(&route.path) {
            continue;
        }
        seen.push(route.path);
        let mut resource = web::resource(route.path);
        let mut allow = Vec::new();
        for same in ROUTES.iter().filter(|r| r.path == route.path) {
            resource = resource.route((same.handler)(web::route().method(same.method.clone())));
            allow.push(same.method.as_str());
        }
        let allow = crate::http::method_not_allowed(&allow.join(", "));
        scope = scope.service(resource.default_service(allow));
    }
    cfg.service(scope);
}

/// PostgreSQL text cannot hold a NUL character, so a parameter or path id holding one (`%00`) could
/// match nothing, and its query would fail: refused as a `400` naming it, before any query.
async fn refuse_nul(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let in_path = contains_encoded_nul(req.path());
    let in_query = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, value)| key.contains('\0') || value.contains('\0'))
        .map(|(key, _)| key.replace('\0', "%00"));
    let place = match (in_path, in_query) {
        (true, _) => Some("the path".to_owned()),
        (false, Some(name)) => Some(format!("parameter `{name}`")),
        (false, None) => None,
    };
    if let Some(place) = place {
        let error = ApiError::BadRequest(format!(
            "{place} contains a NUL character (%00), which no stored value can hold"
        ));
        return Ok(req.error_response(error).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn contains_encoded_nul(path: &str) -> bool {
    path.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

pub fn json<T: serde::Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok().json(body)
}
