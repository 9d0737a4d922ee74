//! The OpenAPI 3 description of `/api/v1`. Written by hand; a test checks that its paths and
//! methods are exactly those of [`crate::api::ROUTES`].

use actix_web::HttpResponse;
use serde_json::{json, Value};

use crate::api::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::api::params::{AUTH_SCHEMES, CALL_OUTCOMES};
use crate::api::reports::MAX_BUCKETS;
use crate::api::PREFIX;

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(spec())
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn required_query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": true, "description": description, "schema": schema})
}

fn path_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn page_params() -> Vec<Value> {
    vec![
        query(
            "limit",
            &format!("Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})."),
            json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        ),
        query(
            "cursor",
            "The `next_cursor` of the previous page (opaque).",
            string(),
        ),
        query(
            "order",
            "Direction of the list's key (default asc). A cursor keeps its page's direction.",
            json!({"type": "string", "enum": ["asc", "desc"]}),
        ),
    ]
}

fn time_range(field: &str) -> Vec<Value> {
    vec![
        query(
            "from",
            &format!("Only rows with `{field}` at or after this time (RFC 3339)."),
            time(),
        ),
        query(
            "to",
            &format!("Only rows with `{field}` before this time (RFC 3339)."),
            time(),
        ),
    ]
}

fn event_filters() -> Vec<Value> {
    let mut params = time_range("received_at");
    params.extend([
        query("type", "Event type exactly as received, e.g. `Microsoft.Communication.CallConnected`.", string()),
        query("call_id", "Call id (callConnectionId or CallLegId).", string()),
        query("correlation_id", "Correlation id.", string()),
        query("operation_context", "Operation context.", string()),
        query("auth_scheme", "How the event was authenticated.", json!({"type": "string", "enum": AUTH_SCHEMES})),
        query(
            "json_path",
            "A field of the raw payload as dot-separated identifiers, e.g. `data.resultInformation.subCode`; requires `json_value`. Not indexed: combine with a time range or another filter.",
            json!({"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$"}),
        ),
        query("json_value", "The value `json_path` must have, compared as text (`8536`, `true`, a string without quotes).", string()),
    ]);
    params
}

fn with(mut a: Vec<Value>, b: Vec<Value>) -> Vec<Value> {
    a.extend(b);
    a
}

fn page_of(item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": reference(item)},
            "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last page."}
        }
    })
}

fn ok_json(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn errors(codes: &[u16]) -> Vec<(String, Value)> {
    codes
        .iter()
        .map(|code| {
            let description = match code {
                400 => "A bad parameter (`bad_request`).",
                401 => "No valid bearer token (`unauthorized`).",
                404 => "No such resource (`not_found`).",
                _ => "Error.",
            };
            (
                code.to_string(),
                json!({"description": description, "content": {"application/json": {"schema": reference("Error")}}}),
            )
        })
        .collect()
}

fn get(
    summary: &str,
    operation_id: &str,
    parameters: Vec<Value>,
    ok: Value,
    error_codes: &[u16],
) -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert("200".into(), ok);
    for (code, body) in errors(error_codes) {
        responses.insert(code, body);
    }
    json!({"get": {
        "summary": summary,
        "operationId": operation_id,
        "parameters": parameters,
        "responses": responses,
    }})
}

fn nullable(kind: &str) -> Value {
    json!({"type": [kind, "null"]})
}

fn nullable_time() -> Value {
    json!({"type": ["string", "null"], "format": "date-time"})
}

fn schemas() -> Value {
    let event_properties = json!({
        "event_seq": {"type": "integer", "description": "The event's id: global insertion order."},
        "received_at": time(),
        "endpoint": string(),
        "format": {"type": "string", "enum": ["a1", "a2", "call_automation", "event_grid", "cloud_event"]},
        "auth_scheme": {"type": "string", "enum": AUTH_SCHEMES},
        "auth_principal": nullable("string"),
        "request_id": nullable("string"),
        "event_id": nullable("string"),
        "source": nullable("string"),
        "event_type": string(),
        "subject": nullable("string"),
        "event_time": nullable_time(),
        "family": string(),
        "call_id": nullable("string"),
        "server_call_id": nullable("string"),
        "correlation_id": nullable("string"),
        "operation_context": nullable("string"),
        "result_code": nullable("integer"),
        "result_sub_code": nullable("integer"),
        "result_message": nullable("string"),
        "sequence_number": nullable("integer"),
        "details": {"type": "object", "description": "The typed event as parsed at ingest, tagged by `family`."}
    });
    let mut with_raw = event_properties.clone();
    with_raw["raw"] = json!({"type": "string", "description": "The payload exactly as received."});
    json!({
        "Error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": string(), "message": string()}
        },
        "Call": {
            "type": "object",
            "properties": {
                "call_id": string(),
                "server_call_id": nullable("string"),
                "correlation_id": nullable("string"),
                "state": nullable("string"),
                "first_event_at": time(),
                "last_event_at": time(),
                "connected_at": nullable_time(),
                "disconnected_at": nullable_time(),
                "duration_ms": nullable("integer"),
                "participant_count": {"type": "integer"},
                "peak_participants": {"type": "integer"},
                "outcome": {"type": "string", "enum": CALL_OUTCOMES},
                "failure_code": nullable("integer"),
                "failure_sub_code": nullable("integer"),
                "failure_message": nullable("string"),
                "event_count": {"type": "integer"},
                "dtmf_count": {"type": "integer"},
                "media_total": {"type": "integer"},
                "media_succeeded": {"type": "integer"},
                "last_event_seq": {"type": "integer"},
                "projected_at": time()
            }
        },
        "ParticipantInterval": {
            "type": "object",
            "properties": {
                "raw_id": string(),
                "interval_no": {"type": "integer"},
                "kind": string(),
                "display_id": {"type": "string", "description": "The identifier with phone digits masked."},
                "joined_at": time(),
                "left_at": nullable_time(),
                "joined_sequence": nullable("integer"),
                "left_sequence": nullable("integer"),
                "changes": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "ordinal": {"type": "integer"},
                        "at": time(),
                        "sequence_number": nullable("integer"),
                        "is_muted": nullable("boolean"),
                        "is_on_hold": nullable("boolean")
                    }
                }}
            }
        },
        "ParticipantCall": {
            "type": "object",
            "properties": {
                "joined_at": {"type": "string", "format": "date-time", "description": "First join in the call."},
                "left_at": {"type": ["string", "null"], "format": "date-time", "description": "Last departure; null while still in the call."},
                "intervals": {"type": "integer"},
                "kind": string(),
                "display_id": string(),
                "call": reference("Call")
            }
        },
        "Event": {"type": "object", "properties": event_properties},
        "EventWithRaw": {"type": "object", "properties": with_raw},
        "DtmfTone": {
            "type": "object",
            "properties": {
                "ordinal": {"type": "integer"},
                "sequence_id": nullable("integer"),
                "tone": string(),
                "at": time(),
                "participant_id": nullable("string"),
                "repeated": {"type": "boolean"},
                "missing_before": {"type": "integer"},
                "event_seq": {"type": "integer"}
            }
        },
        "MediaOperation": {
            "type": "object",
            "properties": {
                "operation_context": string(),
                "operation": {"type": "string", "enum": ["play", "recognize"]},
                "outcome": string(),
                "result_code": nullable("integer"),
                "result_sub_code": nullable("integer"),
                "result_message": nullable("string"),
                "started_at": nullable_time(),
                "finished_at": nullable_time(),
                "duration_ms": nullable("integer"),
                "event_count": {"type": "integer"}
            }
        },
        "Summary": {
            "type": "object",
            "properties": {
                "from": time(),
                "to": time(),
                "bucket": {"type": "string", "enum": ["hour", "day"]},
                "buckets": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "start": time(),
                        "calls": {"type": "integer"},
                        "connected": {"type": "integer"},
                        "failed": {"type": "integer"},
                        "duration_p50_ms": nullable("number"),
                        "duration_p95_ms": nullable("number"),
                        "participants": {"type": "integer"},
                        "dtmf_tones": {"type": "integer"},
                        "media_success_rate": nullable("number")
                    }
                }}
            }
        },
        "CallPage": page_of("Call"),
        "ParticipantIntervalPage": page_of("ParticipantInterval"),
        "ParticipantCallPage": page_of("ParticipantCall"),
        "EventPage": page_of("Event"),
        "DtmfTonePage": page_of("DtmfTone"),
        "MediaOperationPage": page_of("MediaOperation")
    })
}

/// The whole document.
pub fn spec() -> Value {
    let call_id = || {
        path_param(
            "id",
            "The call id (callConnectionId or CallLegId).",
            string(),
        )
    };
    let event_id = || {
        path_param(
            "id",
            "The event's `event_seq`.",
            json!({"type": "integer", "minimum": 1}),
        )
    };
    let page = |name: &str| ok_json("One page.", reference(name));
    let p = |path: &str| format!("{PREFIX}{path}");
    let mut paths = serde_json::Map::new();
    let mut add = |path: &str, item: Value| {
        paths.insert(p(path), item);
    };
    add(
        "/calls",
        get(
            "List calls by first event time",
            "listCalls",
            with(
                with(
                    time_range("first_event_at"),
                    vec![
                        query(
                            "state",
                            "Latest call state, e.g. `connected`, `disconnected`.",
                            string(),
                        ),
                        query(
                            "outcome",
                            "Call outcome.",
                            json!({"type": "string", "enum": CALL_OUTCOMES}),
                        ),
                        query(
                            "participant",
                            "Only calls this participant (raw id, e.g. `4:+14255550123`) was in.",
                            string(),
                        ),
                    ],
                ),
                page_params(),
            ),
            page("CallPage"),
            &[400, 401],
        ),
    );
    add(
        "/calls/{id}",
        get(
            "One call's summary",
            "getCall",
            vec![call_id()],
            ok_json("The call.", reference("Call")),
            &[401, 404],
        ),
    );
    add(
        "/calls/{id}/participants",
        get(
            "A call's participant history: presence intervals with their mute and hold changes",
            "listCallParticipants",
            with(vec![call_id()], page_params()),
            page("ParticipantIntervalPage"),
            &[400, 401, 404],
        ),
    );
    add(
        "/calls/{id}/events",
        get(
            "A call's timeline: every stored event in insertion order, normalised (no raw payload)",
            "listCallEvents",
            with(vec![call_id()], page_params()),
            page("EventPage"),
            &[400, 401, 404],
        ),
    );
    add(
        "/calls/{id}/dtmf",
        get(
            "A call's DTMF tones in sequence order",
            "listCallDtmf",
            with(vec![call_id()], page_params()),
            page("DtmfTonePage"),
            &[400, 401, 404],
        ),
    );
    add(
        "/calls/{id}/media",
        get(
            "A call's play and recognize operations",
            "listCallMedia",
            with(vec![call_id()], page_params()),
            page("MediaOperationPage"),
            &[400, 401, 404],
        ),
    );
    add(
        "/participants/{rawId}/calls",
        get(
            "The calls a participant was in, by first join",
            "listParticipantCalls",
            with(
                with(
                    vec![path_param(
                        "rawId",
                        "The participant's raw id, percent-encoded (`4%3A%2B14255550123`).",
                        string(),
                    )],
                    time_range("joined_at"),
                ),
                page_params(),
            ),
            page("ParticipantCallPage"),
            &[400, 401],
        ),
    );
    add(
        "/events",
        get(
            "The audit log: stored events by (received_at, event_seq)",
            "listEvents",
            with(event_filters(), page_params()),
            page("EventPage"),
            &[400, 401],
        ),
    );
    add(
        "/events/export",
        get(
            "The audit log as one streamed download, same filters as /events",
            "exportEvents",
            with(
                vec![query("format", "ndjson (default; one event with `raw` per line) or csv (header row; normalised columns, `details` as JSON, `raw`).", json!({"type": "string", "enum": ["ndjson", "csv"]}))],
                event_filters(),
            ),
            json!({"description": "The events, streamed.", "content": {
                "application/x-ndjson": {"schema": reference("EventWithRaw")},
                "text/csv": {"schema": string()}
            }}),
            &[400, 401],
        ),
    );
    add(
        "/events/{id}",
        get(
            "One event with its raw payload as a string",
            "getEvent",
            vec![event_id()],
            ok_json("The event.", reference("EventWithRaw")),
            &[400, 401, 404],
        ),
    );
    add(
        "/events/{id}/raw",
        get(
            "One event's payload byte for byte as received",
            "getEventRaw",
            vec![event_id()],
            json!({"description": "The stored payload, unchanged.", "content": {"application/json": {"schema": {}}}}),
            &[400, 401, 404],
        ),
    );
    add(
        "/reports/summary",
        get(
            "Per hour or day of calls' first event: calls, connected, failed, duration percentiles, distinct participants, DTMF tones, media success rate",
            "getSummary",
            vec![
                required_query("from", "Start (inclusive, RFC 3339); buckets are aligned on UTC hours or days.", time()),
                required_query("to", "End (exclusive, RFC 3339).", time()),
                query("bucket", &format!("Bucket width (default day); at most {MAX_BUCKETS} buckets."), json!({"type": "string", "enum": ["hour", "day"]})),
            ],
            ok_json("The buckets, empty ones included.", reference("Summary")),
            &[400, 401],
        ),
    );
    add(
        "/openapi.json",
        get(
            "This document",
            "getOpenApi",
            vec![],
            ok_json("OpenAPI 3.1 document.", json!({"type": "object"})),
            &[401],
        ),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "calltrail reporting API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Read-only call history and audit log. Every list is keyset-paginated: pass `next_cursor` back as `cursor`. Times are RFC 3339. Errors are `{\"code\", \"message\"}`."
        },
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A token whose SHA-256 is in `api.tokens`."}},
            "schemas": schemas()
        },
        "paths": paths
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ROUTES;

    #[test]
    fn document_and_routes_agree() {
        let doc = spec();
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
        let doc = spec();
        let text = doc.to_string();
        for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &piece[..piece.find('"').expect("closing quote")];
            assert!(doc["components"]["schemas"].get(name).is_some(), "{name}");
        }
    }
}
