//! The OpenAPI 3.1 description of `/api/v1`, derived from the handlers themselves: each handler's
//! `#[utoipa::path]` names its query and path types and its answers, and those types carry their
//! parameters' schemas (see `api::params`) and their rows' fields. What every route answers alike
//! (the token check, the rate limit, refused parameters, other methods, an unreachable database)
//! is added here, once, because one middleware or one mapping answers it for every route.
//!
//! A test checks that its paths and methods are exactly those of [`crate::api::ROUTES`].

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};

use crate::api::params::string;
use crate::api::{calls, events, export, participants, reports, PREFIX};
use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "calltrail reporting API",
        description = "Read-only call history and audit log. Every list is keyset-paginated: pass \
            `next_cursor` back as `cursor`. Times are RFC 3339 with an offset. An empty parameter \
            counts as absent; unknown parameters are ignored. Every error is `{\"code\", \
            \"message\"}`."
    ),
    paths(
        calls::list,
        calls::get,
        calls::participants,
        calls::events,
        calls::dtmf,
        calls::media,
        participants::calls,
        events::list,
        export::export,
        events::get,
        events::raw,
        reports::summary,
        document,
    ),
    components(schemas(ErrorBody)),
    modifiers(&UnderPrefix, &BearerToken, &CommonAnswers),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// The document, as served.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// This document
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApi",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", body = Object))
)]
pub async fn document() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let body = DOCUMENT.get_or_init(|| spec().to_json().expect("the document serialises"));
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.as_str())
}

/// The handlers name their paths relative to [`PREFIX`], as [`crate::api::ROUTES`] does.
struct UnderPrefix;

impl Modify for UnderPrefix {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let paths = std::mem::take(&mut openapi.paths.paths);
        openapi.paths.paths = paths
            .into_iter()
            .map(|(path, item)| (format!("{PREFIX}{path}"), item))
            .collect();
    }
}

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("A token whose SHA-256 is in `api.tokens`."))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// A header an answer carries: its name and what it says.
type Header = (&'static str, &'static str);

/// What every route may answer, whatever its handler does: `(status, description, header)`.
const COMMON_ANSWERS: &[(&str, &str, Option<Header>)] = &[
    (
        "400",
        "A bad parameter, or one holding a NUL character (`%00`): `bad_request`, naming it.",
        None,
    ),
    (
        "401",
        "No valid bearer token: `unauthorized`.",
        Some(("WWW-Authenticate", "`Bearer`.")),
    ),
    (
        "405",
        "A method the route does not serve: `method_not_allowed`.",
        Some(("Allow", "The methods the route serves: `GET`.")),
    ),
    (
        "414",
        "A request target longer than 8 KiB: `uri_too_long`.",
        None,
    ),
    (
        "429",
        "This token's request budget is spent (`api.rate_limit_per_second`, `api.rate_limit_burst`): `rate_limited`.",
        Some(("Retry-After", "Seconds to wait before the next request.")),
    ),
    (
        "503",
        "PostgreSQL is unreachable (`storage_unavailable`), or the query ran past `api.statement_timeout_ms` (`query_timeout`).",
        Some(("Retry-After", "Seconds to wait before trying again.")),
    ),
];

pub const COMMON_STATUSES: [&str; 6] = ["400", "401", "405", "414", "429", "503"];

struct CommonAnswers;

impl CommonAnswers {
    fn answer(description: &str, header: Option<Header>) -> Response {
        let error = ContentBuilder::new()
            .schema(Some(RefOr::Ref(Ref::from_schema_name("Error"))))
            .build();
        let mut response = ResponseBuilder::new()
            .description(description)
            .content("application/json", error);
        if let Some((name, description)) = header {
            let header = HeaderBuilder::new()
                .schema(string())
                .description(Some(description))
                .build();
            response = response.header(name, header);
        }
        response.build()
    }
}

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                for (status, description, header) in COMMON_ANSWERS {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| RefOr::T(Self::answer(description, *header)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ROUTES;
    use serde_json::Value;

    fn document() -> Value {
        serde_json::to_value(spec()).expect("the document serialises")
    }

    #[test]
    fn document_and_routes_agree() {
        let doc = document();
        let paths = doc["paths"].as_object().expect("paths");
        for route in ROUTES {
            let path = format!("{PREFIX}{}", route.path);
            let method = route.method.as_str().to_ascii_lowercase();
            assert!(
                paths.get(&path).and_then(|p| p.get(&method)).is_some(),
                "{method} {path} is not documented"
            );
        }
        for (path, item) in paths {
            for method in item.as_object().expect("path item").keys() {
                assert!(
                    ROUTES.iter().any(|r| format!("{PREFIX}{}", r.path) == *path
                        && r.method.as_str().eq_ignore_ascii_case(method)),
                    "{method} {path} is documented but not routed"
                );
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &piece[..piece.find('"').expect("closing quote")];
            assert!(doc["components"]["schemas"].get(name).is_some(), "{name}");
        }
    }
}
