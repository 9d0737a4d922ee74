//! `operationCallbackUri`: an operation's own events go to the URI it names, call-level events to
//! the call's callbackUri, in one order across both; calltrail, behind every URL, stores each
//! event once and builds the whole call from them. A malformed URI is a GA 400 naming the field.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::ga::{create, delivered, ga, phone, user, wait_event};
use super::*;

const CALLEE: &str = "+14255550123";
const AGENT: &str = "8:acs:r_agent";

/// A TCP relay to calltrail that keeps a copy of every byte sent through it: a URL of its own,
/// whose callbacks calltrail still receives, verifies and stores.
async fn recording_relay(app: &TestApp) -> (String, Arc<Mutex<Vec<u8>>>) {
    let target = app.address.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let copy = seen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = TcpStream::connect(&target)
                .await
                .expect("calltrail listens");
            let seen = copy.clone();
            tokio::spawn(async move {
                let (mut from_client, mut to_client) = client.into_split();
                let (mut from_server, mut to_server) = server.into_split();
                let up = async move {
                    let mut buf = vec![0; 16 * 1024];
                    loop {
                        let n = from_client.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            let _ = to_server.shutdown().await;
                            return;
                        }
                        seen.lock().unwrap().extend_from_slice(&buf[..n]);
                        if to_server.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                };
                let down = tokio::io::copy(&mut from_server, &mut to_client);
                let _ = tokio::join!(up, down);
            });
        }
    });
    (address, seen)
}

/// Polls the call's deliveries until `n` events of `name` were delivered.
async fn wait_count(emu: &Emu, id: &str, name: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let want = format!("Microsoft.Communication.{name}");
    loop {
        let events = delivered(emu, id).await;
        if events.iter().filter(|e| e["type"] == want).count() >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "fewer than {n} {name} in {events:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn operation_events_go_to_the_operations_uri_and_call_events_to_the_calls() {
    let emu = Emu::spawn();
    let app = spawn_calltrail(&emu).await;
    let (relay, seen) = recording_relay(&app).await;
    let call_uri = app.url("/api/callbacks");
    let play_uri = app.url("/api/callbacks?route=play");
    let hold_uri = app.url("/api/callbacks?route=hold");
    let keys_uri = app.url("/api/callbacks?route=keys");
    let add_uri = format!("{relay}/api/callbacks?route=add");

    let id = create(&emu, &app, vec![phone(CALLEE)], "create").await;
    let base = format!("/calling/callConnections/{id}");
    wait_event(&emu, &id, "ParticipantsUpdated").await;
    let post = |path: String, body: Value| {
        let emu = &emu;
        async move { ga(emu, reqwest::Method::POST, &path, Some(&body)).await }
    };
    let keys = json!({"targetParticipant": phone(CALLEE), "operationContext": "keys",
                      "operationCallbackUri": keys_uri});
    let (status, _) = post(format!("{base}:startContinuousDtmfRecognition"), keys).await;
    assert_eq!(status, 200);
    let file = json!({"kind": "file", "file": {"uri": "https://media.example.org/greeting.wav"}});
    let greeting = json!({"playSources": [file], "playTo": [], "operationContext": "greeting",
                          "operationCallbackUri": play_uri});
    assert_eq!(
        post(format!("{base}:play"), greeting).await,
        (202, Value::Null)
    );
    wait_event(&emu, &id, "PlayCompleted").await;
    emu.control(
        &format!("/emulator/calls/{id}/dtmf"),
        &json!({"participant": format!("4:{CALLEE}"), "tones": "5"}),
    )
    .await;
    // Without a URI of its own: the call's callbackUri.
    let send =
        json!({"tones": ["one"], "targetParticipant": phone(CALLEE), "operationContext": "send"});
    assert_eq!(post(format!("{base}:sendDtmfTones"), send).await.0, 202);
    let add = json!({"participantToAdd": user(AGENT), "operationContext": "add-agent",
                     "operationCallbackUri": add_uri});
    let (status, added) = post(format!("{base}/participants:add"), add).await;
    assert_eq!(status, 202, "{added}");
    wait_event(&emu, &id, "AddParticipantSucceeded").await;
    let hold = json!({"playSources": [file], "playTo": [], "playOptions": {"loop": true},
                      "operationContext": "hold", "operationCallbackUri": hold_uri});
    assert_eq!(post(format!("{base}:play"), hold).await.0, 202);
    wait_count(&emu, &id, "PlayStarted", 2).await;
    let (status, _) = ga(
        &emu,
        reqwest::Method::POST,
        &format!("{base}:cancelAllMediaOperations"),
        None,
    )
    .await;
    assert_eq!(status, 202);
    let (status, _) = ga(
        &emu,
        reqwest::Method::POST,
        &format!("{base}:terminate"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    wait_event(&emu, &id, "CallDisconnected").await;
    let deliveries = emu.settled_deliveries().await;
    assert_eq!(deliveries["dropped"], 0, "{deliveries:#}");

    // Each delivery's events, with the URL it was posted to, in the call's order.
    let all = emu.get(&format!("/emulator/deliveries?call_id={id}")).await;
    let records = all["items"].as_array().unwrap();
    assert!(records.iter().all(|r| r["state"] == "delivered"), "{all:#}");
    let routed: Vec<(String, String)> = records
        .iter()
        .flat_map(|r| {
            let uri = r["callback_uri"].as_str().unwrap().to_owned();
            r["event_types"].as_array().unwrap().iter().map(move |t| {
                let name = t.as_str().unwrap();
                let name = name.trim_start_matches("Microsoft.Communication.");
                (name.to_owned(), uri.clone())
            })
        })
        .collect();
    let expected = [
        ("CallConnected", &call_uri),
        ("ParticipantsUpdated", &call_uri),
        ("PlayStarted", &play_uri),
        ("PlayCompleted", &play_uri),
        ("ContinuousDtmfRecognitionToneReceived", &keys_uri),
        ("SendDtmfTonesCompleted", &call_uri),
        ("ParticipantsUpdated", &call_uri),
        ("ParticipantsUpdated", &call_uri),
        ("AddParticipantSucceeded", &add_uri),
        ("PlayStarted", &hold_uri),
        ("PlayCanceled", &hold_uri),
        ("ContinuousDtmfRecognitionStopped", &keys_uri),
        ("CallDisconnected", &call_uri),
    ]
    .map(|(name, uri)| (name.to_owned(), uri.clone()));
    assert_eq!(routed, expected, "{all:#}");

    // The relay saw one POST, to its own URL, carrying the invitation's result signed the call's
    // way, and nothing of the call's.
    let seen = String::from_utf8(seen.lock().unwrap().clone()).unwrap();
    assert_eq!(
        seen.matches("POST /api/callbacks?route=add ").count(),
        1,
        "{seen}"
    );
    assert_eq!(
        seen.matches("Microsoft.Communication.").count(),
        1,
        "{seen}"
    );
    assert!(seen.contains("Microsoft.Communication.AddParticipantSucceeded"));
    assert!(
        seen.contains("\"operationContext\":\"add-agent\""),
        "{seen}"
    );
    assert!(
        seen.to_ascii_lowercase().contains("authorization: bearer "),
        "{seen}"
    );

    // calltrail, behind every URL, stored each event once and has the whole call.
    let events = delivered(&emu, &id).await;
    app.wait_for_projections().await;
    let timeline = report(&app, &format!("/api/v1/calls/{id}/events?limit=500")).await;
    let stored = timeline["items"].as_array().unwrap();
    let mut stored_ids: Vec<&str> = stored
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    let mut sent_ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    stored_ids.sort_unstable();
    sent_ids.sort_unstable();
    assert_eq!(stored_ids, sent_ids, "every callback stored once");
    assert_eq!(stored.len(), expected.len());
    let summary = report(&app, &format!("/api/v1/calls/{id}")).await;
    assert_eq!(summary["outcome"], "completed", "{summary:#}");
    assert_eq!(summary["dtmf_count"], 1, "{summary:#}");
    assert_eq!(
        media_outcomes(&app, &id).await,
        ops(&[
            ("greeting", "play", "completed"),
            ("hold", "play", "canceled")
        ])
    );
    let participants = report(&app, &format!("/api/v1/calls/{id}/participants")).await;
    let raw_ids: Vec<&str> = participants["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["raw_id"].as_str().unwrap())
        .collect();
    assert!(
        raw_ids.contains(&AGENT) && raw_ids.contains(&"4:+14255550123"),
        "{participants:#}"
    );
}

#[tokio::test]
async fn a_malformed_operation_callback_uri_is_a_ga_400_naming_it() {
    let emu = Emu::spawn();
    let app = spawn_calltrail(&emu).await;
    let id = create(&emu, &app, vec![phone(CALLEE)], "c").await;
    wait_event(&emu, &id, "CallConnected").await;
    let base = format!("/calling/callConnections/{id}");
    let file = json!({"kind": "file", "file": {"uri": "https://x.org/a.wav"}});
    let target = phone(CALLEE);
    let operations = [
        (":play", json!({"playSources": [file], "playTo": []})),
        (
            ":recognize",
            json!({"recognizeInputType": "dtmf", "recognizeOptions": {"targetParticipant": target}}),
        ),
        (
            ":startContinuousDtmfRecognition",
            json!({"targetParticipant": target}),
        ),
        (
            ":stopContinuousDtmfRecognition",
            json!({"targetParticipant": target}),
        ),
        (
            ":sendDtmfTones",
            json!({"tones": ["one"], "targetParticipant": target}),
        ),
        (
            "/participants:add",
            json!({"participantToAdd": user(AGENT)}),
        ),
        (
            "/participants:remove",
            json!({"participantToRemove": target}),
        ),
        (
            "/participants:cancelAddParticipant",
            json!({"invitationId": "not-an-invitation"}),
        ),
    ];
    let malformed = [
        (json!("not a uri"), "must be an absolute http or https URI"),
        (
            json!("ftp://files.example.org/cb"),
            "must be an absolute http or https URI",
        ),
        (
            json!("/api/callbacks"),
            "must be an absolute http or https URI",
        ),
        (json!(""), "must be an absolute http or https URI"),
        (json!(42), "must be a string"),
    ];
    for (verb, body) in &operations {
        for (uri, needle) in &malformed {
            let mut body = body.clone();
            body["operationCallbackUri"] = uri.clone();
            let path = format!("{base}{verb}");
            let (status, answer) = ga(&emu, reqwest::Method::POST, &path, Some(&body)).await;
            assert_eq!(
                (status, answer["error"]["code"].as_str()),
                (400, Some("8523")),
                "{verb} {uri}: {answer}"
            );
            let message = answer["error"]["message"].as_str().unwrap();
            assert_eq!(
                message,
                format!("operationCallbackUri: {needle}"),
                "{verb} {uri}"
            );
        }
    }
    // Refused before anything happened: no play, recognition, invitation or removal.
    let view = emu.call(&id).await;
    assert_eq!(view["media"], json!([]), "{view:#}");
    assert_eq!(view["recognizing"], Value::Null, "{view:#}");
    assert_eq!(view["ringing"], json!([]), "{view:#}");
    assert_eq!(view["continuous_dtmf"], json!([]), "{view:#}");
    assert_eq!(
        view["participants"].as_array().unwrap().len(),
        2,
        "{view:#}"
    );
    // A null one is no URI at all; a good one is taken.
    let play = json!({"playSources": [file], "playTo": [], "operationCallbackUri": null});
    let (status, _) = ga(
        &emu,
        reqwest::Method::POST,
        &format!("{base}:play"),
        Some(&play),
    )
    .await;
    assert_eq!(status, 202);
    let keys =
        json!({"targetParticipant": target, "operationCallbackUri": app.url("/api/callbacks?k=1")});
    let path = format!("{base}:startContinuousDtmfRecognition");
    assert_eq!(
        ga(&emu, reqwest::Method::POST, &path, Some(&keys)).await.0,
        200
    );
}
