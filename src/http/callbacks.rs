//! `POST /api/callbacks`: Call Automation callbacks in all three wire formats.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::Endpoint;
use crate::error::ApiError;
use crate::events;
use crate::http::edge::{self, Refusal};
use crate::http::state::AppState;

pub async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    handle(&req, payload, &state)
        .await
        .unwrap_or_else(Refusal::into_response)
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<HttpResponse, Refusal> {
    // The permit keeps this body, and the events parsed from it, counted against the budget until
    // the answer is sent.
    let (received, mut permit) =
        edge::receive_verified(state, Endpoint::Callbacks, req, payload).await?;
    let parsed = events::parse_callback_body(received.verified.body()).map_err(ApiError::from)?;
    edge::charge_parsed(state, &mut permit, received.verified.body().len(), &parsed)?;
    let summary = edge::store(state, Endpoint::Callbacks, req, received, parsed).await?;
    Ok(HttpResponse::Ok().json(summary))
}
