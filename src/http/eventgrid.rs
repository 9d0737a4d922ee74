//! `POST /api/eventgrid` and `OPTIONS /api/eventgrid`: Event Grid deliveries (IncomingCall,
//! RecordingFileStatusUpdated, …) in the Event Grid schema and in the CloudEvents schema, with both
//! subscription handshakes.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::Endpoint;
use crate::error::ApiError;
use crate::events::{self, EventGridDelivery};
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
        edge::receive_verified(state, Endpoint::EventGrid, req, payload).await?;
    match events::parse_eventgrid_body(received.verified.body()).map_err(ApiError::from)? {
        // Event Grid refuses a 202 here: the handshake must be a 200 echoing the code.
        EventGridDelivery::SubscriptionValidation {
            validation_code, ..
        } => {
            tracing::info!("answered an Event Grid subscription validation");
            Ok(HttpResponse::Ok()
                .json(serde_json::json!({ "validationResponse": validation_code })))
        }
        EventGridDelivery::Events(parsed) => {
            edge::charge_parsed(state, &mut permit, received.verified.body().len(), &parsed)?;
            let summary = edge::store(state, Endpoint::EventGrid, req, received, parsed).await?;
            Ok(HttpResponse::Ok().json(summary))
        }
    }
}

/// The CloudEvents webhook abuse-protection handshake: echo the requesting origin as allowed.
/// It carries no data, so it is answered without authentication.
pub async fn handshake(req: HttpRequest) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.insert_header((header::ALLOW, "POST, OPTIONS"));
    if let Some(origin) = req
        .headers()
        .get("webhook-request-origin")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 255)
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        response.insert_header(("webhook-allowed-origin", origin));
        response.insert_header(("webhook-allowed-rate", "*"));
    }
    response.finish()
}
