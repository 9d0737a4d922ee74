//! Bad requests to the GA routes: each a GA-shape error with the status the service uses, and a
//! retried create placing no second call.

use serde_json::{json, Value};

use super::ga::{create, ga, ga_raw, phone, user, wait_event};
use super::*;

fn code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not a GA error: {body}"))
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap()
}

#[tokio::test]
async fn bad_requests_get_ga_errors_with_the_services_statuses() {
    let emu = Emu::spawn();
    let app = spawn_calltrail(&emu).await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;

    // api-version: missing, unknown, and every one the SDKs know.
    let (status, body) = ga_raw(&emu, get.clone(), "/calling/callConnections/x", None).await;
    assert_eq!((status, code(&body)), (400, "MissingApiVersionParameter"));
    let (status, body) = ga_raw(
        &emu,
        get.clone(),
        "/calling/callConnections/x?api-version=2024-11-15-preview",
        None,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (404, "UnsupportedApiVersion"),
        "{body}"
    );
    assert!(message(&body).contains("2026-03-12"), "{body}");
    for version in calltrail::emulator::api::ga::API_VERSIONS {
        let path = format!("/calling/callConnections/nope?api-version={version}");
        let (status, body) = ga_raw(&emu, get.clone(), &path, None).await;
        assert_eq!((status, code(&body)), (404, "8522"), "{version}: {body}");
    }

    // A route the service does not have, and a wrong method.
    let (status, body) = ga(&emu, post.clone(), "/calling/callConnections/x:dance", None).await;
    assert_eq!((status, code(&body)), (404, "NotFound"));
    assert!(
        message(&body).starts_with("No HTTP resource was found"),
        "{body}"
    );
    let (status, body) = ga(
        &emu,
        reqwest::Method::PUT,
        "/calling/callConnections/x",
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (405, "MethodNotAllowed"));

    // A wrong signature: 401 Denied, before anything else is looked at.
    let response = emu
        .client
        .get(format!(
            "{}/calling/callConnections/x?{}",
            emu.address,
            super::ga::VERSION
        ))
        .header("x-ms-date", "Fri, 04 Dec 2026 12:26:32 GMT")
        .header(
            "authorization",
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=AAAA",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "Denied");

    // Missing and malformed fields name themselves.
    let cb = app.url("/api/callbacks");
    let creates = [
        (json!({"callbackUri": cb}), "targets: is required"),
        (
            json!({"targets": [], "callbackUri": cb}),
            "targets: must not be empty",
        ),
        (
            json!({"targets": [phone("+14255550123")]}),
            "callbackUri: is required",
        ),
        (
            json!({"targets": [{"kind": "phoneNumber"}], "callbackUri": cb}),
            "targets[0].phoneNumber.value",
        ),
        (
            json!({"targets": ["4:+14255550123"], "callbackUri": cb}),
            "targets[0]: must be an identifier object",
        ),
        (
            json!({"targets": [{"phoneNumber": {"value": "555"}}], "callbackUri": cb}),
            "E.164",
        ),
        (
            json!({"targets": [phone("+14255550123")], "callbackUri": "not a uri"}),
            "callbackUri",
        ),
    ];
    for (body, needle) in creates {
        let (status, answer) =
            ga(&emu, post.clone(), "/calling/callConnections", Some(&body)).await;
        assert_eq!((status, code(&answer)), (400, "8523"), "{body}: {answer}");
        assert!(message(&answer).contains(needle), "{needle}: {answer}");
    }

    // Unknown call, participant, invitation, incoming call.
    let (status, body) = ga(
        &emu,
        post.clone(),
        "/calling/callConnections/nope:terminate",
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (404, "8522"));
    let id = create(&emu, &app, vec![phone("+14255550123")], "c").await;
    let base = format!("/calling/callConnections/{id}");
    // Still ringing: media needs a connected call.
    let play = json!({"playSources": [{"kind": "file", "file": {"uri": "https://x.org/a.wav"}}], "playTo": []});
    let (status, body) = ga(&emu, post.clone(), &format!("{base}:play"), Some(&play)).await;
    assert_eq!((status, code(&body)), (400, "8501"), "{body}");
    wait_event(&emu, &id, "CallConnected").await;
    let (status, body) = ga(
        &emu,
        get.clone(),
        &format!("{base}/participants/4%3A%2B19995550000"),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (404, "8522"), "{body}");
    let (status, body) = ga(
        &emu,
        get.clone(),
        &format!("{base}/participants/4%3A%2B14255550123"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["identifier"]["phoneNumber"]["value"].as_str()),
        (200, Some("+14255550123"))
    );
    let remove = json!({"participantToRemove": user("8:acs:r_stranger")});
    let (status, body) = ga(
        &emu,
        post.clone(),
        &format!("{base}/participants:remove"),
        Some(&remove),
    )
    .await;
    assert_eq!((status, code(&body)), (404, "8522"));
    let cancel = json!({"invitationId": "not-an-invitation"});
    let (status, body) = ga(
        &emu,
        post.clone(),
        &format!("{base}/participants:cancelAddParticipant"),
        Some(&cancel),
    )
    .await;
    assert_eq!((status, code(&body)), (404, "8522"));
    let answer = json!({"incomingCallContext": "made-up", "callbackUri": cb});
    let (status, body) = ga(
        &emu,
        post.clone(),
        "/calling/callConnections:answer",
        Some(&answer),
    )
    .await;
    assert_eq!((status, code(&body)), (404, "8522"));
    let reco = json!({"recognizeInputType": "speech", "recognizeOptions": {"targetParticipant": phone("+14255550123")}});
    let (status, body) = ga(
        &emu,
        post.clone(),
        &format!("{base}:recognize"),
        Some(&reco),
    )
    .await;
    assert_eq!((status, code(&body)), (400, "8523"));
    assert!(message(&body).contains("not emulated"));
    let reco = json!({"recognizeInputType": "dtmf"});
    let (status, body) = ga(
        &emu,
        post.clone(),
        &format!("{base}:recognize"),
        Some(&reco),
    )
    .await;
    assert_eq!(
        (status, message(&body)),
        (400, "recognizeOptions: is required")
    );
    let mute = json!({"targetParticipants": [phone("+14255550123"), user("8:acs:x")]});
    let (status, body) = ga(
        &emu,
        post.clone(),
        &format!("{base}/participants:mute"),
        Some(&mute),
    )
    .await;
    assert_eq!((status, code(&body)), (400, "8523"));
    let (status, body) = ga(
        &emu,
        post.clone(),
        &format!("{base}:play"),
        Some(&json!({"playSources": []})),
    )
    .await;
    assert_eq!(
        (status, message(&body)),
        (400, "playSources: must not be empty")
    );

    // Once the call has ended: it can still be read, but nothing can be done to it.
    let (status, _) = ga(&emu, reqwest::Method::DELETE, &base, None).await;
    assert_eq!(status, 204);
    let (status, props) = ga(&emu, get.clone(), &base, None).await;
    assert_eq!(
        (status, props["callConnectionState"].as_str()),
        (200, Some("disconnected"))
    );
    let (status, body) = ga(&emu, post.clone(), &format!("{base}:terminate"), None).await;
    assert_eq!((status, code(&body)), (400, "8501"), "{body}");
    assert!(message(&body).contains("has ended"));
    let (status, body) = ga(
        &emu,
        post.clone(),
        &format!("{base}:cancelAllMediaOperations"),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (400, "8501"));
}

#[tokio::test]
async fn a_create_retried_with_its_repeatability_id_places_one_call() {
    let emu = Emu::spawn();
    let app = spawn_calltrail(&emu).await;
    let body =
        json!({"targets": [phone("+14255550123")], "callbackUri": app.url("/api/callbacks")});
    let bytes = serde_json::to_vec(&body).unwrap();
    let path = format!("/calling/callConnections?{}", super::ga::VERSION);
    let send = |request_id: &str| {
        emu.signed(reqwest::Method::POST, &path, &bytes)
            .header("Repeatability-Request-ID", request_id.to_owned())
            .header("Repeatability-First-Sent", "Fri, 04 Dec 2026 12:26:32 GMT")
            .send()
    };
    let first: Value = send("a1b2").await.unwrap().json().await.unwrap();
    let again = send("a1b2").await.unwrap();
    assert_eq!(again.status(), 201);
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["callConnectionId"], again["callConnectionId"]);
    let other: Value = send("c3d4").await.unwrap().json().await.unwrap();
    assert_ne!(first["callConnectionId"], other["callConnectionId"]);
    let calls = emu.get("/emulator/calls").await;
    assert_eq!(calls["items"].as_array().unwrap().len(), 2);
}
