//! The operator dashboard under `/ui`: server-rendered pages over the same query functions as
//! `/api/v1` (called directly, never over HTTP), a session cookie after a token login, and the call
//! page's swimlane drawn as SVG on the server. No script is needed to read anything; the one small
//! script adds copy buttons and keyboard shortcuts.
//!
//! Imports run one way: `ui` uses the reporting API's query functions, the store and the shared
//! state; nothing below imports `ui`.

pub mod assets;
pub mod audit;
mod call;
mod calls;
mod charts;
mod events;
mod overview;
pub mod page;
mod reports;
pub mod session;
pub mod timeline;
pub mod trust;
pub mod zone;

use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::web;

pub use session::UiState;

/// Scripts and styles only from calltrail itself, no inline script or style, no framing, no
/// form posting elsewhere: stored payloads are attacker-controlled, and this keeps even a mistake
/// in escaping from running anything.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The `/ui` scope.
pub fn scope(cfg: &mut web::ServiceConfig, ui: web::Data<UiState>) {
    let headers = DefaultHeaders::new()
        .add(("content-security-policy", CONTENT_SECURITY_POLICY))
        .add(("x-content-type-options", "nosniff"))
        .add(("x-frame-options", "DENY"))
        .add(("referrer-policy", "no-referrer"))
        .add(("cache-control", "no-store"));
    cfg.service(
        web::scope("/ui")
            .app_data(ui)
            .app_data(web::QueryConfig::default().error_handler(|error, _| {
                let message = format!("invalid query string: {error}");
                let response = page::error(&crate::error::ApiError::BadRequest(message.clone()));
                actix_web::error::InternalError::from_response(message, response).into()
            }))
            .wrap(from_fn(zone::with_zone))
            .wrap(from_fn(session::require_session))
            .wrap(headers)
            .route("", web::get().to(overview::overview))
            .route("/", web::get().to(overview::overview))
            .route("/login", web::get().to(session::login_form))
            .route("/login", web::post().to(session::login))
            .route("/logout", web::post().to(session::logout))
            .route("/calls", web::get().to(calls::list))
            .route("/calls/{id}", web::get().to(call::page))
            .route("/events", web::get().to(events::list))
            .route("/events/{seq}", web::get().to(events::page))
            .route("/events/{seq}/raw", web::get().to(events::raw))
            .route("/audit", web::get().to(audit::list))
            .route("/zone", web::get().to(zone::form))
            .route("/participants/{rawId}", web::get().to(calls::participant))
            .route("/reports", web::get().to(reports::page))
            .route("/static/{name}", web::get().to(assets::serve))
            .default_service(web::to(|| async {
                page::error(&crate::error::ApiError::NotFound("no such page".to_owned()))
            })),
    );
}
