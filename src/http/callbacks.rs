//! `POST /api/callbacks`: Call Automation callbacks in all three wire formats.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::Endpoint;
use crate::error::ApiError;
use crate::events;
use crate::http::edge;
use crate::startup::AppState;

pub async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // The permit keeps this body counted against the budget until the answer is sent.
    let (received, _permit) =
        edge::receive_verified(&state, Endpoint::Callbacks, &req, payload).await?;
    let parsed =
        events::parse_callback_body(received.verified.body()).map_err(edge::parse_error)?;
    let summary = edge::store(&state, Endpoint::Callbacks, &req, received, parsed).await?;
    Ok(HttpResponse::Ok().json(summary))
}
