//! The seed API's error answers: signatures (401), unknown calls and participants (404), bad input
//! (400), each with the seed's `{"code", "message"}` body and a message that says what is wrong.

use serde_json::{json, Value};

use super::*;
use crate::helpers::error_code;

/// A callee that answers at once by the emulator's rule.
const CALLEE: &str = "4:+14255550100";

fn valid_create() -> Value {
    create_body(CALLEE, "http://127.0.0.1:9/api/callbacks?secret=s")
}

async fn expect(response: reqwest::Response, status: u16, code: &str, message_has: &str) -> String {
    let (got, got_code, message) = error_code(response).await;
    assert_eq!((got, got_code.as_str()), (status, code), "{message}");
    assert!(
        message.contains(message_has),
        "{message:?} lacks {message_has:?}"
    );
    message
}

/// A call that is established (the callee has answered).
async fn established_call(emu: &Emu) -> String {
    let id = emu.create_call(&valid_create(), &[]).await;
    emu.wait_for(&id, "the answer", |v| v["state"] == "Established")
        .await;
    id
}

#[tokio::test]
async fn requests_without_a_valid_signature_are_refused() {
    let emu = Emu::spawn();
    let body = serde_json::to_vec(&valid_create()).unwrap();
    let url = format!("{}/calls", emu.address);
    let send = |headers: Vec<(&'static str, String)>, body: Vec<u8>| {
        let mut request = emu.client.post(&url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let now = chrono::Utc::now();
    let key = base64_decode(&emulator_settings().access_key);
    let signed = |key: &[u8], host: &str, path: &str, body: &[u8], at| {
        sign(key, "POST", path, host, body, at)
    };

    // Unsigned.
    expect(
        send(vec![], body.clone()).await.unwrap(),
        401,
        "Unauthorized",
        "Authorization header is missing",
    )
    .await;
    // Another key.
    let wrong_key = signed(b"not the emulator's key", &emu.host, "/calls", &body, now);
    expect(
        send(wrong_key, body.clone()).await.unwrap(),
        401,
        "Unauthorized",
        "signature does not match",
    )
    .await;
    // Signed 16 minutes ago.
    let stale = signed(
        &key,
        &emu.host,
        "/calls",
        &body,
        now - chrono::Duration::minutes(16),
    );
    expect(
        send(stale, body.clone()).await.unwrap(),
        401,
        "Unauthorized",
        "minutes away",
    )
    .await;
    // The body changed after signing.
    let good = signed(&key, &emu.host, "/calls", &body, now);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    expect(
        send(good.clone(), tampered).await.unwrap(),
        401,
        "Unauthorized",
        "x-ms-content-sha256",
    )
    .await;
    // The hash header matches the tampered body, the signature does not.
    let mut rehashed = good.clone();
    let tampered_body = [body.as_slice(), b" "].concat();
    rehashed[1].1 = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&tampered_body))
    };
    expect(
        send(rehashed, tampered_body).await.unwrap(),
        401,
        "Unauthorized",
        "signature does not match",
    )
    .await;
    // Signed for another path.
    let other_path = signed(&key, &emu.host, "/calls/x/Hangup", &body, now);
    expect(
        send(other_path, body.clone()).await.unwrap(),
        401,
        "Unauthorized",
        "signature does not match",
    )
    .await;
    // Not HMAC-SHA256.
    let mut bearer = good.clone();
    bearer[2].1 = "Bearer abc".into();
    expect(
        send(bearer, body.clone()).await.unwrap(),
        401,
        "Unauthorized",
        "HMAC-SHA256",
    )
    .await;

    // The same request signed properly passes, with the host's port (Python, JS, .NET) or
    // without it (Java).
    let response = send(good, body.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    let without_port = signed(&key, "127.0.0.1", "/calls", &body, now);
    assert_eq!(
        send(without_port, body.clone()).await.unwrap().status(),
        200
    );

    // Every operation is authenticated, before the call is looked up.
    let id = emu.create_call(&valid_create(), &[]).await;
    for (method, path) in [
        (reqwest::Method::POST, "/calls".to_owned()),
        (reqwest::Method::POST, format!("/calls/{id}/Hangup")),
        (reqwest::Method::POST, format!("/calls/{id}/PlayAudio")),
        (
            reqwest::Method::POST,
            format!("/calls/{id}/CancelMediaProcessing"),
        ),
        (reqwest::Method::POST, format!("/calls/{id}/participants")),
        (
            reqwest::Method::DELETE,
            format!("/calls/{id}/participants/8%3Aacs%3Aapp"),
        ),
        (reqwest::Method::POST, "/calls/nope/Hangup".to_owned()),
    ] {
        let unsigned = emu
            .client
            .request(method.clone(), format!("{}{path}", emu.address))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expect(unsigned, 401, "Unauthorized", "missing").await;
        // Signed for the same path with the other verb.
        let other = if method == reqwest::Method::POST {
            reqwest::Method::DELETE
        } else {
            reqwest::Method::POST
        };
        let headers = sign(&key, other.as_str(), &path, &emu.host, b"{}", now);
        let mut wrong_verb = emu
            .client
            .request(method, format!("{}{path}", emu.address))
            .body("{}");
        for (name, value) in headers {
            wrong_verb = wrong_verb.header(name, value);
        }
        let response = wrong_verb.send().await.unwrap();
        expect(response, 401, "Unauthorized", "does not match").await;
    }
}

#[tokio::test]
async fn unknown_calls_and_participants_are_404() {
    let emu = Emu::spawn();
    let play =
        json!({"audioFileUri": "https://x.org/a.wav", "loop": false, "operationContext": "p"});
    let invite = json!({"participants": ["8:acs:x"], "operationContext": "i"});
    for (path, body) in [
        ("/calls/no-such-call/Hangup", json!({})),
        ("/calls/no-such-call/PlayAudio", play),
        (
            "/calls/no-such-call/CancelMediaProcessing",
            json!({"operationContext": "c"}),
        ),
        ("/calls/no-such-call/participants", invite),
    ] {
        let message = expect(emu.post(path, &body).await, 404, "NotFound", "no-such-call").await;
        assert!(message.contains("does not exist"), "{path}: {message}");
    }
    let remove = emu
        .signed(
            reqwest::Method::DELETE,
            "/calls/no-such-call/participants/4%3A%2B1",
            b"",
        )
        .send()
        .await
        .unwrap();
    expect(remove, 404, "NotFound", "call no-such-call does not exist").await;

    let id = established_call(&emu).await;
    let nobody = emu
        .signed(
            reqwest::Method::DELETE,
            &format!("/calls/{id}/participants/8%3Aacs%3Anobody"),
            b"",
        )
        .send()
        .await
        .unwrap();
    expect(
        nobody,
        404,
        "NotFound",
        "participant 8:acs:nobody is not in call",
    )
    .await;

    // The raw id, percent-encoded as the SDKs send it, names a participant too.
    let callee = emu
        .signed(
            reqwest::Method::DELETE,
            &format!("/calls/{id}/participants/4%3A%2B14255550100"),
            b"",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(callee.status(), 202);
    let view = emu
        .wait_for(&id, "the end", |v| v["state"] == "Terminated")
        .await;
    assert!(view["participants"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_input_is_400_naming_what_is_wrong() {
    // A call that never answers keeps ringing for the whole test.
    let emu = Emu::spawn_with(|s| s.no_answer_seconds = 600.0);
    let create = |patch: Value| {
        let mut body = valid_create();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    let cases = [
        (create(json!({"source": null})), "source: is required"),
        (create(json!({"source": 42})), "source: must be a raw id"),
        (create(json!({"targets": null})), "targets: is required"),
        (create(json!({"targets": []})), "targets: must not be empty"),
        (
            create(json!({"targets": [{"kind": "phoneNumber"}]})),
            "targets[0]",
        ),
        (
            create(json!({"callbackUri": null})),
            "callbackUri: is required",
        ),
        (
            create(json!({"callbackUri": "ftp://x/cb"})),
            "callbackUri: must be an absolute http",
        ),
        (
            create(json!({"requestedCallEvents": "dtmfReceived"})),
            "requestedCallEvents",
        ),
        (create(json!({"subject": 7})), "subject: must be a string"),
        (json!([1, 2]), "must be a JSON object"),
    ];
    for (body, needle) in cases {
        expect(emu.post("/calls", &body).await, 400, "BadRequest", needle).await;
    }
    let not_json = emu
        .signed(reqwest::Method::POST, "/calls", b"{not json")
        .send()
        .await
        .unwrap();
    expect(not_json, 400, "BadRequest", "not valid JSON").await;
    let unknown_scenario = emu
        .signed(
            reqwest::Method::POST,
            "/calls",
            &serde_json::to_vec(&valid_create()).unwrap(),
        )
        .header("x-emulator-scenario", "nope")
        .send()
        .await
        .unwrap();
    expect(
        unknown_scenario,
        400,
        "BadRequest",
        "no scenario is named nope",
    )
    .await;

    // A call still ringing cannot play or invite yet.
    let ringing = emu
        .create_call(&create_body("4:+14255550109", "http://127.0.0.1:9/cb"), &[])
        .await;
    let play =
        json!({"audioFileUri": "https://x.org/a.wav", "loop": false, "operationContext": "p"});
    let early = emu
        .post(&format!("/calls/{ringing}/PlayAudio"), &play)
        .await;
    expect(early, 400, "BadRequest", "is not established yet").await;

    let id = established_call(&emu).await;
    let path = |op: &str| format!("/calls/{id}/{op}");
    let cases = [
        (
            "PlayAudio",
            json!({"loop": false}),
            "audioFileUri: is required",
        ),
        (
            "PlayAudio",
            json!({"audioFileUri": "https://x.org/a.wav", "loop": "yes"}),
            "loop: must be true or false",
        ),
        (
            "PlayAudio",
            json!({"audioFileUri": "https://x.org/a.wav", "operationContext": 1}),
            "operationContext: must be a string",
        ),
        (
            "CancelMediaProcessing",
            json!({"operationContext": []}),
            "operationContext: must be a string",
        ),
        (
            "participants",
            json!({"participants": []}),
            "participants: must not be empty",
        ),
        (
            "participants",
            json!({"operationContext": "x"}),
            "participants: is required",
        ),
        (
            "participants",
            json!({"participants": [CALLEE]}),
            "already in the call",
        ),
    ];
    for (op, body, needle) in cases {
        expect(emu.post(&path(op), &body).await, 400, "BadRequest", needle).await;
    }
    let empty_play = emu
        .signed(reqwest::Method::POST, &path("PlayAudio"), b"")
        .send()
        .await
        .unwrap();
    expect(empty_play, 400, "BadRequest", "body is empty").await;
    let source = emu
        .signed(
            reqwest::Method::DELETE,
            &format!("/calls/{id}/participants/8%3Aacs%3Aapp"),
            b"",
        )
        .send()
        .await
        .unwrap();
    expect(source, 400, "BadRequest", "cannot be removed").await;

    // Once the call has ended, every operation on it is refused.
    let hangup = emu
        .signed(reqwest::Method::POST, &path("Hangup"), b"")
        .send()
        .await
        .unwrap();
    assert_eq!(hangup.status(), 202);
    let again = emu
        .signed(reqwest::Method::POST, &path("Hangup"), b"")
        .send()
        .await
        .unwrap();
    expect(again, 400, "BadRequest", "has ended").await;
    for (op, body) in [
        ("PlayAudio", play),
        ("CancelMediaProcessing", json!({})),
        ("participants", json!({"participants": ["8:acs:late"]})),
    ] {
        expect(
            emu.post(&path(op), &body).await,
            400,
            "BadRequest",
            "has ended",
        )
        .await;
    }
    let late_removal = emu
        .signed(
            reqwest::Method::DELETE,
            &format!("/calls/{id}/participants/4%3A%2B14255550100"),
            b"",
        )
        .send()
        .await
        .unwrap();
    expect(late_removal, 400, "BadRequest", "has ended").await;

    // Unknown routes answer in the same shape.
    let nowhere = emu
        .client
        .get(format!("{}/nowhere", emu.address))
        .send()
        .await
        .unwrap();
    expect(nowhere, 404, "NotFound", "no such route").await;
}

#[tokio::test]
async fn what_the_http_framework_refuses_is_answered_in_the_seed_shape_too() {
    let emu = Emu::spawn();
    // A body over the emulator's size limit (256 KiB), signed: refused before the handler runs.
    let padded = format!(r#"{{"pad":"{}"}}"#, "x".repeat(300 * 1024));
    let response = emu
        .signed(reqwest::Method::POST, "/calls", padded.as_bytes())
        .send()
        .await
        .unwrap();
    expect(response, 413, "PayloadTooLarge", "").await;
    // A method no route serves is no route: 404, in the same shape.
    let response = emu
        .client
        .put(format!("{}/calls", emu.address))
        .send()
        .await
        .unwrap();
    expect(response, 404, "NotFound", "no such route: PUT /calls").await;
}
