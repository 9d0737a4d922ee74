//! `POST /emulator/incoming {"from", "to", "endpoint"?}`: someone calls the application. The
//! emulator sends an Event Grid `IncomingCall` to the application's subscription endpoint (after
//! the validation handshake, once per endpoint), and the application answers, rejects or redirects
//! it through the GA routes with the `incomingCallContext` it received. Unsigned, like the other
//! control endpoints; errors in their `{"code", "message"}` shape.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::emulator::api::error::ApiError;
use crate::emulator::api::ga::registry::Incoming;
use crate::emulator::api::{input, ApiState};
use crate::emulator::delivery::format::identifier_camel;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/emulator/incoming", web::post().to(incoming));
}

async fn incoming(state: web::Data<ApiState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let map = input::object(&body, false)?;
    let party = |name: &str| match input::field(&map, name) {
        Some(v) => input::identifier(v, name),
        None => Err(ApiError::bad_request(format!("{name}: is required"))),
    };
    let (from, to) = (party("from")?, party("to")?);
    let endpoint = match input::field(&map, "endpoint") {
        Some(_) => input::http_uri(&map, "endpoint")?,
        None => state
            .emulator
            .settings
            .event_grid_endpoint
            .clone()
            .ok_or_else(|| {
                ApiError::bad_request(
                    "endpoint: is required when emulator.event_grid_endpoint is not configured",
                )
            })?,
    };
    if !state.ga.is_validated(&endpoint) {
        state
            .event_grid
            .validate(&endpoint)
            .await
            .map_err(unreachable_endpoint)?;
        state.ga.mark_validated(&endpoint);
    }
    // Opaque to the application, as the service's is; it names the incoming call once.
    let context = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let server_call_id = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "https://emulator.calltrail.local/incoming/{}",
            uuid::Uuid::new_v4()
        ))
    };
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let data = json!({
        "to": identifier_camel(&to),
        "from": identifier_camel(&from),
        "serverCallId": server_call_id,
        "callerDisplayName": "",
        "incomingCallContext": context,
        "correlationId": correlation_id,
        "customContext": {"sipHeaders": {}, "voipHeaders": {}},
    });
    let subject = format!("/caller/{}/recipient/{}", from.raw_id, to.raw_id);
    state.ga.add_incoming(
        &context,
        Incoming {
            from,
            to,
            server_call_id: server_call_id.clone(),
            correlation_id: correlation_id.clone(),
        },
    );
    let answer = state
        .event_grid
        .incoming_call(&endpoint, data, subject)
        .await;
    if let Some(problem) = answer.problem {
        // The application never heard of this call: it cannot be answered.
        state.ga.take_incoming(&context);
        return Err(unreachable_endpoint(format!(
            "the IncomingCall was not accepted: {problem}"
        )));
    }
    Ok(HttpResponse::Accepted().json(json!({
        "incomingCallContext": context,
        "serverCallId": server_call_id,
        "correlationId": correlation_id,
        "endpointStatus": answer.status,
    })))
}

fn unreachable_endpoint(message: String) -> ApiError {
    ApiError {
        status: StatusCode::BAD_GATEWAY,
        code: "EventGridDeliveryFailed",
        message,
    }
}
