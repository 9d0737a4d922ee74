//! The HTTP edge: routes, the per-request span, and the checks made before any body is parsed.

pub mod body_budget;
pub mod callbacks;
pub mod edge;
pub mod eventgrid;
pub mod health;
pub mod request_span;

use actix_web::{web, HttpResponse};

use crate::error::ApiError;

/// Every route of the service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/callbacks")
            .route(web::post().to(callbacks::receive))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/api/eventgrid")
            .route(web::post().to(eventgrid::receive))
            .route(web::method(actix_web::http::Method::OPTIONS).to(eventgrid::handshake))
            .default_service(web::to(method_not_allowed)),
    )
    .service(web::resource("/healthz").route(web::get().to(health::healthz)))
    .service(web::resource("/readyz").route(web::get().to(health::readyz)))
    .service(web::resource("/metrics").route(web::get().to(health::metrics)))
    .configure(crate::api::scope);
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".to_owned()))
}

pub async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}
