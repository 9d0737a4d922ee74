//! Every authentication scheme through the real HTTP app, with its negative cases. A refused
//! delivery is a 401 `unauthorized` that says nothing of which check failed, and stores nothing.

use std::path::PathBuf;

use base64::Engine;
use calltrail::auth::testing::{make_jwt, sign_webhook};
use calltrail::auth::Scheme;
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::helpers::*;

const AUDIENCE: &str = "acs-resource-immutable-id";
const ISSUER: &str = "https://acscallautomation.communication.azure.com";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const WHSEC_2: &str = "whsec_dGhpcyBpcyBhIHNlY29uZCBzZWNyZXQga2V5IQ==";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn key(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(overrides: Value) -> Value {
    let mut claims = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": now(), "nbf": now(), "exp": now() + 300, "sub": "acs"});
    for (k, v) in overrides.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

fn body(id: &str) -> String {
    json!([b_tone(id, "c-auth", 1, "one", "2024-01-01T00:00:00Z")]).to_string()
}

async fn spawn_jwt_app(jwks: &str) -> TestApp {
    let jwks = fixture(jwks);
    TestApp::spawn_with(move |s| {
        s.auth.query_secret.enabled = false;
        s.auth.jwt.enabled = true;
        s.auth.jwt.audiences = vec![AUDIENCE.to_owned()];
        s.auth.jwt.jwks_file = Some(jwks);
    })
    .await
}

async fn post_bearer(app: &TestApp, token: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url("/api/callbacks"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn assert_unauthorized(response: reqwest::Response) {
    let (status, code, message) = error_code(response).await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (401, "unauthorized", "authentication failed")
    );
}

#[tokio::test]
async fn query_secret_accepts_every_configured_secret_and_refuses_others() {
    let app = TestApp::spawn().await;
    for (i, secret) in [SECRET, SECRET_2].iter().enumerate() {
        let response = app
            .client
            .post(app.url(&format!("/api/callbacks?secret={secret}")))
            .header("content-type", "application/json")
            .body(body(&format!("qs-{i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    for path in [
        "/api/callbacks",
        "/api/callbacks?secret=",
        "/api/callbacks?secret=test-secret-",
        "/api/callbacks?Secret=test-secret-1",
    ] {
        let response = app
            .client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(body("qs-bad"))
            .send()
            .await
            .unwrap();
        assert_unauthorized(response).await;
    }
    let principals: Vec<(String, String)> =
        sqlx::query_as("SELECT auth_scheme, auth_principal FROM events ORDER BY event_seq")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        principals,
        [
            ("query_secret".to_owned(), "secret#1".to_owned()),
            ("query_secret".to_owned(), "secret#2".to_owned())
        ]
    );
}

#[tokio::test]
async fn authentication_is_checked_before_the_body_is_parsed() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/callbacks?secret=wrong"))
        .header("content-type", "application/json")
        .body("this is not json")
        .send()
        .await
        .unwrap();
    assert_unauthorized(response).await;
}

#[tokio::test]
async fn a_valid_jwt_is_accepted() {
    let app = spawn_jwt_app("jwks_key1.json").await;
    let token = make_jwt(&key("jwt_key1.pem"), "key-1", &claims(json!({})));
    let response = post_bearer(&app, &token, body("jwt-ok")).await;
    assert_eq!(response.status(), 200);
    let scheme: String = sqlx::query_scalar("SELECT auth_scheme FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(scheme, Scheme::Jwt.as_str());
    // An audience list containing ours is fine too.
    let token = make_jwt(
        &key("jwt_key1.pem"),
        "key-1",
        &claims(json!({"aud": ["other", AUDIENCE]})),
    );
    assert_eq!(
        post_bearer(&app, &token, body("jwt-ok-2")).await.status(),
        200
    );
}

#[tokio::test]
async fn bad_jwts_are_refused() {
    let app = spawn_jwt_app("jwks_key1.json").await;
    let pem = key("jwt_key1.pem");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let good = make_jwt(&pem, "key-1", &claims(json!({})));
    let parts: Vec<&str> = good.split('.').collect();
    let tampered_claims = b64.encode(claims(json!({"sub": "attacker"})).to_string());
    let alg_none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT","kid":"key-1"}"#),
        parts[1]
    );
    let hs256 = {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("key-1".to_owned());
        jsonwebtoken::encode(
            &header,
            &claims(json!({})),
            &jsonwebtoken::EncodingKey::from_secret(b"secret"),
        )
        .unwrap()
    };
    let cases = [
        (
            "expired",
            make_jwt(
                &pem,
                "key-1",
                &claims(json!({"exp": now() - 3600, "nbf": now() - 7200})),
            ),
        ),
        (
            "not yet valid",
            make_jwt(
                &pem,
                "key-1",
                &claims(json!({"nbf": now() + 3600, "exp": now() + 7200})),
            ),
        ),
        (
            "wrong issuer",
            make_jwt(
                &pem,
                "key-1",
                &claims(json!({"iss": "https://evil.example.com"})),
            ),
        ),
        (
            "wrong audience",
            make_jwt(&pem, "key-1", &claims(json!({"aud": "someone-else"}))),
        ),
        ("alg none", alg_none),
        ("hs256", hs256),
        (
            "tampered",
            format!("{}.{}.{}", parts[0], tampered_claims, parts[2]),
        ),
        (
            "unknown kid",
            make_jwt(&key("jwt_key2.pem"), "key-2", &claims(json!({}))),
        ),
        (
            "signed by another key under our kid",
            make_jwt(&key("jwt_key2.pem"), "key-1", &claims(json!({}))),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (name, token) in cases {
        let response = post_bearer(&app, &token, body(name)).await;
        assert_eq!(response.status(), 401, "{name}");
        assert_unauthorized(response).await;
    }
    // A query secret is not enabled here: it does not let a request in either.
    let response = app
        .client
        .post(app.url(&format!("/api/callbacks?secret={SECRET}")))
        .header("content-type", "application/json")
        .body(body("qs"))
        .send()
        .await
        .unwrap();
    assert_unauthorized(response).await;
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn rotated_jwt_keys_are_accepted() {
    let app = spawn_jwt_app("jwks_both.json").await;
    for (pem, kid) in [("jwt_key1.pem", "key-1"), ("jwt_key2.pem", "key-2")] {
        let token = make_jwt(&key(pem), kid, &claims(json!({})));
        assert_eq!(
            post_bearer(&app, &token, body(kid)).await.status(),
            200,
            "{kid}"
        );
    }
}

#[tokio::test]
async fn an_unknown_kid_reloads_the_key_set() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("keys.json");
    std::fs::copy(fixture("jwks_key1.json"), &jwks).unwrap();
    let path = jwks.clone();
    let app = TestApp::spawn_with(move |s| {
        s.auth.query_secret.enabled = false;
        s.auth.jwt.enabled = true;
        s.auth.jwt.audiences = vec![AUDIENCE.to_owned()];
        s.auth.jwt.jwks_file = Some(path);
        s.auth.jwt.refetch_min_interval_seconds = 0;
    })
    .await;
    let token = make_jwt(&key("jwt_key2.pem"), "key-2", &claims(json!({})));
    assert_eq!(post_bearer(&app, &token, body("k2-a")).await.status(), 401);
    // The key set is rotated on disk: the next unknown kid picks it up.
    std::fs::copy(fixture("jwks_both.json"), &jwks).unwrap();
    assert_eq!(post_bearer(&app, &token, body("k2-b")).await.status(), 200);
}

async fn spawn_hmac_app() -> TestApp {
    TestApp::spawn_with(|s| {
        s.auth.query_secret.enabled = false;
        s.auth.webhook_signature.enabled = true;
        s.auth.webhook_signature.secrets = vec![WHSEC.to_owned().into(), WHSEC_2.to_owned().into()];
    })
    .await
}

async fn post_signed(
    app: &TestApp,
    id: &str,
    timestamp: i64,
    signature: &str,
    body: String,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/callbacks"))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn webhook_signatures_are_verified_over_the_raw_bytes() {
    let app = spawn_hmac_app().await;
    let ts = now();
    // Unusual spacing: re-serialised JSON would not match the signature.
    let raw = format!(
        "[ {} ]",
        serde_json::to_string_pretty(&b_tone("wh-1", "c", 1, "one", "2024-01-01T00:00:00Z"))
            .unwrap()
    );
    let signature = sign_webhook(WHSEC, "msg_1", ts, raw.as_bytes()).unwrap();
    assert_eq!(
        post_signed(&app, "msg_1", ts, &signature, raw.clone())
            .await
            .status(),
        200
    );
    // The second secret (rotation), with several signatures in the header.
    let raw2 = body("wh-2");
    let other = sign_webhook(WHSEC_2, "msg_2", ts, raw2.as_bytes()).unwrap();
    let stale = sign_webhook(WHSEC, "msg_2", ts, b"something else").unwrap();
    let header = format!("{stale} v2,ignored {other}");
    assert_eq!(
        post_signed(&app, "msg_2", ts, &header, raw2).await.status(),
        200
    );
    let principal: Vec<String> =
        sqlx::query_scalar("SELECT auth_principal FROM events ORDER BY event_seq")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(principal, ["msg_1", "msg_2"]);
}

#[tokio::test]
async fn bad_webhook_signatures_are_refused() {
    let app = spawn_hmac_app().await;
    let ts = now();
    let raw = body("wh-bad");
    let good = sign_webhook(WHSEC, "msg_b", ts, raw.as_bytes()).unwrap();
    let wrong_secret = sign_webhook(
        "whsec_d3Jvbmcgc2VjcmV0IGZvciB0ZXN0aW5nIQ==",
        "msg_b",
        ts,
        raw.as_bytes(),
    )
    .unwrap();
    let old = ts - 301;
    // Far enough ahead that it is still outside the tolerance when a slow machine gets to it.
    let future = ts + 360;
    let cases: Vec<(&str, &str, i64, String, String)> = vec![
        ("wrong secret", "msg_b", ts, wrong_secret, raw.clone()),
        (
            "tampered body",
            "msg_b",
            ts,
            good.clone(),
            raw.replace("one", "two"),
        ),
        ("other id", "msg_c", ts, good.clone(), raw.clone()),
        (
            "stale",
            "msg_b",
            old,
            sign_webhook(WHSEC, "msg_b", old, raw.as_bytes()).unwrap(),
            raw.clone(),
        ),
        (
            "future",
            "msg_b",
            future,
            sign_webhook(WHSEC, "msg_b", future, raw.as_bytes()).unwrap(),
            raw.clone(),
        ),
        (
            "garbage signature",
            "msg_b",
            ts,
            "v1,not-base64!!".to_owned(),
            raw.clone(),
        ),
        (
            "no v1",
            "msg_b",
            ts,
            good.replace("v1,", "v2,"),
            raw.clone(),
        ),
    ];
    for (name, id, timestamp, signature, body) in cases {
        let response = post_signed(&app, id, timestamp, &signature, body).await;
        assert_eq!(response.status(), 401, "{name}");
        assert_unauthorized(response).await;
    }
    // Missing headers.
    let response = app
        .client
        .post(app.url("/api/callbacks"))
        .header("content-type", "application/json")
        .header("webhook-signature", good)
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_unauthorized(response).await;
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn schemes_are_chosen_per_endpoint() {
    let app = TestApp::spawn_with(|s| {
        s.auth.webhook_signature.enabled = true;
        s.auth.webhook_signature.secrets = vec![WHSEC.to_owned().into()];
        s.auth.endpoints.eventgrid = vec![Scheme::WebhookSignature];
    })
    .await;
    let eg = json!([eg_recording_file("eg-auth-1")]).to_string();
    let response = app.post_eventgrid(eg.clone(), &[]).await;
    assert_unauthorized(response).await;
    let ts = now();
    let signature = sign_webhook(WHSEC, "m1", ts, eg.as_bytes()).unwrap();
    let response = app
        .client
        .post(app.url("/api/eventgrid"))
        .header("content-type", "application/json")
        .header("webhook-id", "m1")
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(eg)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_service_refuses_to_start_without_any_scheme() {
    let mut settings = test_settings();
    settings.auth.query_secret.enabled = false;
    let error = calltrail::startup::Application::build(&settings)
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("auth"), "{error}");
    // Explicitly allowed for development: starts, and accepts deliveries without credentials.
    let app = TestApp::spawn_with(|s| {
        s.auth.query_secret.enabled = false;
        s.auth.allow_unauthenticated = true;
    })
    .await;
    let response = app
        .client
        .post(app.url("/api/callbacks"))
        .header("content-type", "application/json")
        .body(body("open-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let scheme: String = sqlx::query_scalar("SELECT auth_scheme FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(scheme, "unauthenticated");
}
