//! Secrets stay out of the logs: the real `calltrail serve`, logging JSON at debug level, is driven
//! through every authentication scheme (good and bad credentials), every error path and the
//! reporting API, with events that carry full phone numbers. Nothing it writes, and no answer it
//! gives, may contain a secret, a token, a signature or a full phone number.

mod process;

use process::{free_port, fresh_database, wait_ready};

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use calltrail::auth::testing::{make_jwt, sign_webhook};
use serde_json::{json, Value};
use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");
const QUERY_SECRET: &str = "log-test-query-secret-7d41c2";
const WRONG_SECRET: &str = "log-test-wrong-secret-5e9a03";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const WRONG_WHSEC: &str = "whsec_d3Jvbmcgc2VjcmV0IGZvciB0ZXN0aW5nIQ==";
const API_TOKEN: &str = "log-test-api-token-0b8e5f";
const WRONG_API_TOKEN: &str = "log-test-wrong-api-token-c3d2";
const METRICS_TOKEN: &str = "log-test-metrics-token-91aa";
const AUDIENCE: &str = "acs-resource-immutable-id";
const ISSUER: &str = "https://acscallautomation.communication.azure.com";
/// Full phone numbers the events carry; only masked forms may be logged.
const PHONES: &[&str] = &["+14255550123", "+447700900123", "+4915112345678"];

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every answer the test got: status, headers and body, to be searched like the log.
#[derive(Default)]
struct Seen {
    /// What was sent, and what came back.
    answers: Vec<(String, String)>,
}

impl Seen {
    async fn keep(&mut self, what: &str, response: reqwest::Response) -> u16 {
        let status = response.status().as_u16();
        let headers = format!("{:?}", response.headers());
        let body = response.text().await.unwrap_or_default();
        self.answers
            .push((what.to_owned(), format!("{status} {headers} {body}")));
        status
    }
}

fn phone(number: &str) -> Value {
    json!({"kind": "phoneNumber", "rawId": format!("4:{number}"), "phoneNumber": {"value": number}})
}

fn events(prefix: &str) -> String {
    let call = format!("c-{prefix}");
    let participants: Vec<Value> = PHONES
        .iter()
        .map(|p| json!({"identifier": phone(p), "isMuted": false, "isOnHold": false}))
        .collect();
    json!([
        {"id": format!("{prefix}-1"), "source": format!("calling/callConnections/{call}"),
         "type": "Microsoft.Communication.ParticipantsUpdated", "specversion": "1.0", "time": "2024-03-12T09:15:40Z",
         "data": {"callConnectionId": call, "sequenceNumber": 1, "participants": participants}},
        {"id": format!("{prefix}-2"), "source": format!("calling/callConnections/{call}"),
         "type": "Microsoft.Communication.AddParticipantFailed", "specversion": "1.0", "time": "2024-03-12T09:15:41Z",
         "data": {"callConnectionId": call, "participant": phone(PHONES[0]), "operationContext": "add",
                  "resultInformation": {"code": 408, "subCode": 10004, "message": "no answer"}}},
        {"id": format!("{prefix}-3"), "source": format!("calling/callConnections/{call}"),
         "type": "Microsoft.Communication.CallTransferAccepted", "specversion": "1.0", "time": "2024-03-12T09:15:42Z",
         "data": {"callConnectionId": call, "transferee": phone(PHONES[1]), "transferTarget": format!("4:{}", PHONES[2])}}
    ])
    .to_string()
}

fn incoming_call(id: &str) -> String {
    json!([{
        "id": id, "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Communication/communicationServices/acs",
        "subject": "/caller/x/recipient/y",
        "data": {"to": phone(PHONES[0]), "from": phone(PHONES[1]), "serverCallId": "srv", "callerDisplayName": "",
                 "incomingCallContext": "ctx", "correlationId": "corr"},
        "eventType": "Microsoft.Communication.IncomingCall", "dataVersion": "1.0", "metadataVersion": "1",
        "eventTime": "2024-03-12T09:15:40Z"
    }])
    .to_string()
}

#[tokio::test]
async fn no_secret_token_signature_or_phone_number_is_logged_or_echoed() {
    let url = fresh_database("logs").await;
    let port = free_port();
    let mut command = Command::new(BIN);
    command.arg("serve").env_remove("DATABASE_URL").env(
        "CALLTRAIL_CONFIG_DIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
    );
    for (key, _) in std::env::vars() {
        if key.starts_with("CALLTRAIL__") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    let mut child = command
        .env("DATABASE_URL", &url)
        .env("CALLTRAIL_ENVIRONMENT", "production")
        .env("CALLTRAIL__LOG__FORMAT", "json")
        .env("CALLTRAIL__LOG__LEVEL", "info,calltrail=debug")
        .env("CALLTRAIL__SERVER__PORT", port.to_string())
        .env("CALLTRAIL__SERVER__HOST", "127.0.0.1")
        .env("CALLTRAIL__SERVER__MAX_BODY_BYTES", "65536")
        .env("CALLTRAIL__AUTH__QUERY_SECRET__ENABLED", "true")
        .env("CALLTRAIL__AUTH__QUERY_SECRET__SECRETS", QUERY_SECRET)
        .env("CALLTRAIL__AUTH__JWT__ENABLED", "true")
        .env("CALLTRAIL__AUTH__JWT__AUDIENCES", AUDIENCE)
        .env("CALLTRAIL__AUTH__JWT__JWKS_FILE", fixture("jwks_key1.json"))
        .env("CALLTRAIL__AUTH__WEBHOOK_SIGNATURE__ENABLED", "true")
        .env("CALLTRAIL__AUTH__WEBHOOK_SIGNATURE__SECRETS", WHSEC)
        .env(
            "CALLTRAIL__API__TOKENS",
            calltrail::auth::tokens::hash_token(API_TOKEN),
        )
        .env(
            "CALLTRAIL__METRICS__TOKENS",
            calltrail::auth::tokens::hash_token(METRICS_TOKEN),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read both streams as they are written, so that a full pipe never blocks the service.
    let drain = |mut stream: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut out = String::new();
            let _ = stream.read_to_string(&mut out);
            out
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    wait_ready(port).await;

    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut seen = Seen::default();
    let mut secrets: Vec<String> = vec![
        QUERY_SECRET.into(),
        WRONG_SECRET.into(),
        WHSEC.into(),
        WHSEC.trim_start_matches("whsec_").into(),
        WRONG_WHSEC.into(),
        WRONG_WHSEC.trim_start_matches("whsec_").into(),
        API_TOKEN.into(),
        WRONG_API_TOKEN.into(),
        METRICS_TOKEN.into(),
    ];
    let post = |path: &str, body: String| {
        client
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body)
    };

    // Query secret: good and bad, on both endpoints.
    let s = seen
        .keep(
            "good secret",
            post(
                &format!("/api/callbacks?secret={QUERY_SECRET}"),
                events("qs"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
    assert_eq!(s, 200);
    let s = seen
        .keep(
            "good secret, eventgrid",
            post(
                &format!("/api/eventgrid?secret={QUERY_SECRET}"),
                incoming_call("eg-1"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
    assert_eq!(s, 200);
    let s = seen
        .keep(
            "bad secret",
            post(
                &format!("/api/callbacks?secret={WRONG_SECRET}"),
                events("qs-bad"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
    assert_eq!(s, 401);

    // JWT: good, wrong key, expired, wrong audience, alg none.
    let now = chrono::Utc::now().timestamp();
    let claims = |overrides: Value| {
        let mut c = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 300, "sub": "acs"});
        for (k, v) in overrides.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let key1 = std::fs::read(fixture("jwt_key1.pem")).unwrap();
    let key2 = std::fs::read(fixture("jwt_key2.pem")).unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let good_jwt = make_jwt(&key1, "key-1", &claims(json!({})));
    let jwts = [
        ("good jwt", good_jwt.clone(), 200),
        (
            "jwt signed by another key",
            make_jwt(&key2, "key-1", &claims(json!({}))),
            401,
        ),
        (
            "expired jwt",
            make_jwt(
                &key1,
                "key-1",
                &claims(json!({"exp": now - 3600, "nbf": now - 7200})),
            ),
            401,
        ),
        (
            "jwt for another audience",
            make_jwt(&key1, "key-1", &claims(json!({"aud": "someone-else"}))),
            401,
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64.encode(r#"{"alg":"none","kid":"key-1"}"#),
                good_jwt.split('.').nth(1).unwrap()
            ),
            401,
        ),
    ];
    for (i, (name, token, want)) in jwts.into_iter().enumerate() {
        let response = post("/api/callbacks", events(&format!("jwt-{i}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(seen.keep(name, response).await, want, "{name}");
        secrets.push(token.clone());
        // The signature alone, and the claims, would identify the token too.
        if let Some(signature) = token.rsplit('.').next().filter(|s| s.len() > 16) {
            secrets.push(signature.to_owned());
        }
    }

    // Standard Webhooks: good, wrong secret, stale.
    let signed =
        |name: &'static str, secret: &'static str, id: &'static str, ts: i64, body: String| {
            let signature = sign_webhook(secret, id, ts, body.as_bytes()).unwrap();
            (name, id, ts, signature, body)
        };
    let hooks = [
        (
            signed("good signature", WHSEC, "msg_good", now, events("wh")),
            200,
        ),
        (
            signed(
                "wrong secret",
                WRONG_WHSEC,
                "msg_bad",
                now,
                events("wh-bad"),
            ),
            401,
        ),
        (
            signed(
                "stale signature",
                WHSEC,
                "msg_old",
                now - 3600,
                events("wh-old"),
            ),
            401,
        ),
    ];
    for ((name, id, ts, signature, body), want) in hooks {
        let response = post("/api/callbacks", body)
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", &signature)
            .send()
            .await
            .unwrap();
        assert_eq!(seen.keep(name, response).await, want, "{name}");
        secrets.push(signature.trim_start_matches("v1,").to_owned());
    }

    // Every error path: 400 (not JSON; an event holding phone numbers with a wrongly typed field),
    // 404, 405, 413, 415 (media type and encoding).
    let q = format!("?secret={QUERY_SECRET}");
    let mut bad_event: Value = serde_json::from_str(&events("bad")).unwrap();
    bad_event[0]["data"]["participants"][1]["isMuted"] = json!("yes");
    let errors = [
        (
            "invalid json",
            post(
                &format!("/api/callbacks{q}"),
                format!("{{\"rawId\": \"4:{}\"", PHONES[0]),
            ),
            400,
        ),
        (
            "invalid event",
            post(&format!("/api/callbacks{q}"), bad_event.to_string()),
            400,
        ),
        (
            "not found",
            client.get(format!("{base}/api/nothing{q}")),
            404,
        ),
        (
            "method not allowed",
            client.get(format!("{base}/api/callbacks{q}")),
            405,
        ),
        (
            "too large",
            post(
                &format!("/api/callbacks{q}"),
                format!("[{}]", " ".repeat(70_000)),
            ),
            413,
        ),
        (
            "wrong media type",
            client
                .post(format!("{base}/api/callbacks{q}"))
                .header("content-type", "text/plain")
                .body(events("ct")),
            415,
        ),
        (
            "compressed",
            post(&format!("/api/callbacks{q}"), events("gz")).header("content-encoding", "gzip"),
            415,
        ),
        (
            "a token on an unknown route",
            client.get(format!("{base}/api/x")).bearer_auth(&good_jwt),
            404,
        ),
    ];
    for (name, request, want) in errors {
        assert_eq!(
            seen.keep(name, request.send().await.unwrap()).await,
            want,
            "{name}"
        );
    }
    // 413 from the headers alone, on a socket of its own.
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(format!("POST /api/callbacks{q} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 99999999\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    seen.answers
        .push(("a declared length over the limit".to_owned(), answer));

    // The reporting API: good, wrong and missing tokens; phone numbers in paths and parameters.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let encoded = |raw: &str| raw.replace(':', "%3A").replace('+', "%2B");
    let phone_id = encoded(&format!("4:{}", PHONES[0]));
    let reads = [
        "/api/v1/calls".to_owned(),
        "/api/v1/calls/c-qs".to_owned(),
        "/api/v1/calls/c-qs/participants".to_owned(),
        "/api/v1/calls/c-qs/events".to_owned(),
        format!("/api/v1/participants/{phone_id}/calls"),
        format!("/api/v1/calls?participant={phone_id}"),
        "/api/v1/events?limit=500".to_owned(),
        "/api/v1/events/1".to_owned(),
        "/api/v1/events/1/raw".to_owned(),
        "/api/v1/events/export?format=ndjson".to_owned(),
        "/api/v1/events/export?format=csv".to_owned(),
        "/api/v1/events?json_path=data.participant.rawId&json_value=4%3A%2B14255550123".to_owned(),
        "/api/v1/reports/summary?from=2024-03-12T00:00:00Z&to=2024-03-13T00:00:00Z&bucket=hour"
            .to_owned(),
        "/api/v1/calls?from=not-a-time".to_owned(),
    ];
    for path in &reads {
        let ok = client
            .get(format!("{base}{path}"))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap();
        let status = ok.status().as_u16();
        // Reporting answers return what was stored, phone numbers included, to their token holder:
        // only their status is kept, not their bodies.
        assert!(matches!(status, 200 | 400 | 404), "{path}: {status}");
        let wrong = client
            .get(format!("{base}{path}"))
            .bearer_auth(WRONG_API_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(seen.keep(&format!("wrong token {path}"), wrong).await, 401);
        let missing = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(seen.keep(&format!("no token {path}"), missing).await, 401);
    }
    let metrics = client
        .get(format!("{base}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.keep("metrics", metrics).await, 200);
    let metrics = client
        .get(format!("{base}/metrics"))
        .bearer_auth(WRONG_API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.keep("metrics with a wrong token", metrics).await, 401);

    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        stored, 10,
        "three deliveries of three events and one incoming call"
    );

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    let log = format!("{}{}", stdout.join().unwrap(), stderr.join().unwrap());

    // The log is JSON, at debug level for calltrail, and says what was refused.
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    for line in &lines {
        let parsed: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(parsed.get("level").is_some(), "{line}");
    }
    assert!(log.contains("\"DEBUG\""), "debug lines are logged:\n{log}");
    assert!(
        log.contains("authentication failed"),
        "refusals are logged:\n{log}"
    );

    let mut phones: Vec<String> = Vec::new();
    for p in PHONES {
        let digits = p.trim_start_matches('+');
        phones.push(digits.to_owned());
        // The national number without its country code, and the digits URL-encoded after a `+`.
        phones.push(digits[2..].to_owned());
        phones.push(format!("%2B{digits}"));
    }
    let mut leaks = Vec::new();
    for needle in secrets.iter().chain(phones.iter()) {
        if let Some(line) = lines.iter().find(|l| l.contains(needle.as_str())) {
            leaks.push(format!("log: {needle}\n    in {line}"));
        }
        for (what, answer) in &seen.answers {
            if answer.contains(needle.as_str()) {
                leaks.push(format!("answer to {what}: {needle}\n    in {answer}"));
            }
        }
    }
    println!(
        "{} log lines, {} answers searched for {} secrets and {} phone forms",
        lines.len(),
        seen.answers.len(),
        secrets.len(),
        phones.len()
    );
    assert!(leaks.is_empty(), "leaked:\n{}", leaks.join("\n"));
}
