//! The GA routes (`/calling/callConnections…`) driven with signed requests as the SDKs send them:
//! each operation's answer, the callbacks it causes (types, order, result codes), and what
//! calltrail stored and projected from them under the emulator's JWTs.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;

pub const VERSION: &str = "api-version=2026-03-12";
const CALLEE: &str = "+14255550123";
const AGENT: &str = "8:acs:r_agent";

/// A signed GA request; returns the status and the JSON body (`Null` when empty).
pub async fn ga(
    emu: &Emu,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let path = format!("{path}{sep}{VERSION}");
    ga_raw(emu, method, &path, body).await
}

/// As [`ga`], with the path (and its query) as given.
pub async fn ga_raw(
    emu: &Emu,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let bytes = body
        .map(|b| serde_json::to_vec(b).unwrap())
        .unwrap_or_default();
    let response = emu.signed(method, path, &bytes).send().await.expect("sent");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"))
    };
    (status, value)
}

pub fn phone(number: &str) -> Value {
    // As Python sends it: no `kind`.
    json!({"rawId": format!("4:{number}"), "phoneNumber": {"value": number}})
}

pub fn user(raw: &str) -> Value {
    // As JS sends it: with `kind`.
    json!({"kind": "communicationUser", "rawId": raw, "communicationUser": {"id": raw}})
}

/// Creates a call to `targets`; asserts the 201.
pub async fn create(emu: &Emu, app: &TestApp, targets: Vec<Value>, context: &str) -> String {
    let body = json!({
        "targets": targets,
        "sourceCallerIdNumber": {"value": "+18005550100"},
        "callbackUri": app.url("/api/callbacks"),
        "operationContext": context,
    });
    let (status, answer) = ga(
        emu,
        reqwest::Method::POST,
        "/calling/callConnections",
        Some(&body),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["callConnectionState"], "connecting");
    answer["callConnectionId"].as_str().unwrap().to_owned()
}

/// The callback event types delivered for a call so far, in delivery order.
pub async fn delivered(emu: &Emu, id: &str) -> Vec<Value> {
    let all = emu.get(&format!("/emulator/deliveries?call_id={id}")).await;
    all["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["body"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// Waits until an event of `name` was delivered for the call; returns all delivered events.
pub async fn wait_event(emu: &Emu, id: &str, name: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let want = format!("Microsoft.Communication.{name}");
    loop {
        let events = delivered(emu, id).await;
        if events.iter().any(|e| e["type"] == want) {
            return events;
        }
        assert!(Instant::now() < deadline, "no {name} in {events:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let t = e["type"]
                .as_str()
                .unwrap()
                .trim_start_matches("Microsoft.Communication.");
            let code = &e["data"]["resultInformation"];
            format!("{t}:{}/{}", code["code"], code["subCode"])
        })
        .collect()
}

/// A whole call through the GA routes; every answer checked, then the callbacks in order with
/// their codes, then calltrail's projection.
#[tokio::test]
async fn a_call_driven_through_the_ga_routes_is_called_back_in_order_and_reported() {
    let emu = Emu::spawn();
    let app = spawn_calltrail(&emu).await;
    let id = create(&emu, &app, vec![phone(CALLEE)], "create").await;
    let base = format!("/calling/callConnections/{id}");
    wait_event(&emu, &id, "ParticipantsUpdated").await;
    let (status, props) = ga(&emu, reqwest::Method::GET, &base, None).await;
    assert_eq!(status, 200);
    assert_eq!(props["callConnectionState"], "connected");
    assert_eq!(props["targets"][0]["phoneNumber"]["value"], CALLEE);
    assert_eq!(props["sourceCallerIdNumber"]["value"], "+18005550100");

    let post = |path: String, body: Value| {
        let emu = &emu;
        async move { ga(emu, reqwest::Method::POST, &path, Some(&body)).await }
    };
    // A looped play to everyone, cancelled below.
    let play = json!({"playSources": [{"kind": "file", "file": {"uri": "https://media.example.org/hold.wav"}}],
                      "playTo": [], "playOptions": {"loop": true}, "operationContext": "hold"});
    assert_eq!(post(format!("{base}:play"), play).await, (202, Value::Null));
    wait_event(&emu, &id, "PlayStarted").await;
    let cancel = ga(
        &emu,
        reqwest::Method::POST,
        &format!("{base}:cancelAllMediaOperations"),
        None,
    )
    .await;
    assert_eq!(cancel.0, 202);

    // Continuous recognition on, then a recognition of two keys with a stop tone.
    let target = phone(CALLEE);
    let cont = json!({"targetParticipant": target, "operationContext": "keys"});
    assert_eq!(
        post(
            format!("{base}:startContinuousDtmfRecognition"),
            cont.clone()
        )
        .await
        .0,
        200
    );
    let reco = json!({"recognizeInputType": "dtmf",
        "playPrompt": {"kind": "text", "text": {"text": "Press 1 to confirm"}},
        "recognizeOptions": {"targetParticipant": target, "initialSilenceTimeoutInSeconds": 300,
            "dtmfOptions": {"maxTonesToCollect": 3, "stopTones": ["pound"], "interToneTimeoutInSeconds": 10}},
        "operationContext": "confirm"});
    assert_eq!(post(format!("{base}:recognize"), reco.clone()).await.0, 202);
    let (status, busy) = post(format!("{base}:recognize"), reco).await;
    assert_eq!(
        (status, busy["error"]["code"].as_str()),
        (409, Some("8519")),
        "{busy}"
    );
    emu.control(
        &format!("/emulator/calls/{id}/dtmf"),
        &json!({"participant": format!("4:{CALLEE}"), "tones": "12#"}),
    )
    .await;
    let events = wait_event(&emu, &id, "RecognizeCompleted").await;
    let completed = events
        .iter()
        .find(|e| e["type"] == "Microsoft.Communication.RecognizeCompleted")
        .unwrap();
    assert_eq!(
        completed["data"]["dtmfResult"]["tones"],
        json!(["one", "two"])
    );
    assert_eq!(completed["data"]["operationContext"], "confirm");
    assert_eq!(
        post(format!("{base}:stopContinuousDtmfRecognition"), cont)
            .await
            .0,
        200
    );
    let send =
        json!({"tones": ["one", "pound"], "targetParticipant": target, "operationContext": "send"});
    assert_eq!(
        post(format!("{base}:sendDtmfTones"), send).await,
        (202, json!({"operationContext": "send"}))
    );

    // An agent added (and answering), muted, then removed; an invitation cancelled.
    let (status, added) = post(
        format!("{base}/participants:add"),
        json!({"participantToAdd": user(AGENT), "operationContext": "add-agent"}),
    )
    .await;
    assert_eq!(status, 202, "{added}");
    assert_eq!(added["participant"]["identifier"]["rawId"], AGENT);
    assert!(added["invitationId"]
        .as_str()
        .is_some_and(|i| !i.is_empty()));
    wait_event(&emu, &id, "AddParticipantSucceeded").await;
    let (status, pending) = post(
        format!("{base}/participants:add"),
        json!({"participantToAdd": user("8:acs:r_noanswer"), "invitationTimeoutInSeconds": 60}),
    )
    .await;
    assert_eq!(status, 202);
    let cancel_add =
        json!({"invitationId": pending["invitationId"], "operationContext": "never-mind"});
    let (status, cancelled) = post(
        format!("{base}/participants:cancelAddParticipant"),
        cancel_add,
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(cancelled["invitationId"], pending["invitationId"]);
    let mute = json!({"targetParticipants": [user(AGENT)], "operationContext": "mute"});
    assert_eq!(
        post(format!("{base}/participants:mute"), mute).await,
        (200, json!({"operationContext": "mute"}))
    );
    let encoded = format!("{base}/participants/8%3Aacs%3Ar_agent");
    let (status, agent) = ga(&emu, reqwest::Method::GET, &encoded, None).await;
    assert_eq!(
        (status, agent["isMuted"].as_bool()),
        (200, Some(true)),
        "{agent}"
    );
    let (status, list) = ga(
        &emu,
        reqwest::Method::GET,
        &format!("{base}/participants"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let raw_ids: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["identifier"]["rawId"].as_str().unwrap())
        .collect();
    assert_eq!(raw_ids.len(), 3, "{list}");
    assert!(raw_ids.contains(&AGENT) && raw_ids.contains(&"4:+14255550123"));
    let remove = json!({"participantToRemove": user(AGENT), "operationContext": "bye-agent"});
    assert_eq!(
        post(format!("{base}/participants:remove"), remove).await,
        (202, json!({"operationContext": "bye-agent"}))
    );
    let (status, _) = ga(
        &emu,
        reqwest::Method::POST,
        &format!("{base}:terminate"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let events = wait_event(&emu, &id, "CallDisconnected").await;
    let deliveries = emu.settled_deliveries().await;
    assert_eq!(deliveries["dropped"], 0, "{deliveries:#}");

    assert_eq!(
        names(&events),
        [
            "CallConnected:200/0",
            "ParticipantsUpdated:200/0",
            "PlayStarted:200/0",
            "PlayCanceled:400/8508",
            "ContinuousDtmfRecognitionToneReceived:200/0",
            "ContinuousDtmfRecognitionToneReceived:200/0",
            "ContinuousDtmfRecognitionToneReceived:200/0",
            "RecognizeCompleted:200/8514",
            "ContinuousDtmfRecognitionStopped:200/0",
            "SendDtmfTonesCompleted:200/0",
            "ParticipantsUpdated:200/0",
            "ParticipantsUpdated:200/0",
            "AddParticipantSucceeded:200/0",
            "ParticipantsUpdated:200/0",
            "CancelAddParticipantSucceeded:200/5300",
            "ParticipantsUpdated:200/0",
            "ParticipantsUpdated:200/0",
            "RemoveParticipantSucceeded:200/0",
            "CallDisconnected:200/7000",
        ]
    );
    let data = |name: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e["type"] == format!("Microsoft.Communication.{name}"))
            .map(|e| &e["data"])
            .collect()
    };
    assert_eq!(data("CallConnected")[0]["operationContext"], "create");
    assert_eq!(data("CallDisconnected")[0]["operationContext"], "create");
    assert_eq!(data("PlayCanceled")[0]["operationContext"], "hold");
    let tones: Vec<&Value> = data("ContinuousDtmfRecognitionToneReceived")
        .iter()
        .map(|d| &d["tone"])
        .collect();
    assert_eq!(tones, [&json!("one"), &json!("two"), &json!("pound")]);
    assert_eq!(
        data("RemoveParticipantSucceeded")[0]["participant"]["rawId"],
        AGENT
    );
    assert!(events
        .iter()
        .all(|e| e["source"] == format!("calling/callConnections/{id}")));

    app.wait_for_projections().await;
    let summary = report(&app, &format!("/api/v1/calls/{id}")).await;
    assert_eq!(summary["outcome"], "completed", "{summary:#}");
    assert_eq!(summary["dtmf_count"], 3, "{summary:#}");
    let dtmf = report(&app, &format!("/api/v1/calls/{id}/dtmf")).await;
    let keys: Vec<&str> = dtmf["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tone"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["1", "2", "#"]);
    assert_eq!(
        media_outcomes(&app, &id).await,
        ops(&[
            ("confirm", "recognize", "completed"),
            ("hold", "play", "canceled")
        ])
    );
    let participants = report(&app, &format!("/api/v1/calls/{id}/participants")).await;
    let agent = participants["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["raw_id"] == AGENT)
        .expect("the agent");
    assert!(agent["left_at"].is_string(), "{agent:#}");
    let timeline = report(&app, &format!("/api/v1/calls/{id}/events?limit=500")).await;
    let stored = timeline["items"].as_array().unwrap();
    assert_eq!(stored.len(), events.len(), "every callback stored once");
    assert!(
        stored.iter().all(|e| e["auth_scheme"] == "jwt"),
        "{timeline:#}"
    );
}

/// A recognition that hears nothing fails with 8510; one cut short by silence after a key fails
/// with 8532; an unanswered target makes the create fail with the no-answer code.
#[tokio::test]
async fn recognitions_time_out_and_unanswered_calls_fail_with_the_services_codes() {
    let emu = Emu::spawn();
    let app = spawn_calltrail(&emu).await;
    let id = create(&emu, &app, vec![phone(CALLEE)], "c").await;
    wait_event(&emu, &id, "CallConnected").await;
    let base = format!("/calling/callConnections/{id}");
    // Simulated seconds, at 20x: the second recognition waits long enough for the key.
    let reco = |context: &str, silence: u64| {
        json!({"recognizeInputType": "dtmf",
        "recognizeOptions": {"targetParticipant": phone(CALLEE), "initialSilenceTimeoutInSeconds": silence,
            "dtmfOptions": {"maxTonesToCollect": 4, "interToneTimeoutInSeconds": 2}},
        "operationContext": context})
    };
    let (status, _) = ga(
        &emu,
        reqwest::Method::POST,
        &format!("{base}:recognize"),
        Some(&reco("silent", 2)),
    )
    .await;
    assert_eq!(status, 202);
    wait_event(&emu, &id, "RecognizeFailed").await;
    let (status, _) = ga(
        &emu,
        reqwest::Method::POST,
        &format!("{base}:recognize"),
        Some(&reco("short", 300)),
    )
    .await;
    assert_eq!(status, 202);
    emu.control(
        &format!("/emulator/calls/{id}/dtmf"),
        &json!({"participant": format!("4:{CALLEE}"), "tones": "7"}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let failed = loop {
        let events = delivered(&emu, &id).await;
        let failed: Vec<Value> = events
            .into_iter()
            .filter(|e| e["type"] == "Microsoft.Communication.RecognizeFailed")
            .collect();
        if failed.len() == 2 {
            break failed;
        }
        assert!(Instant::now() < deadline, "{failed:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let codes: Vec<(&str, u64)> = failed
        .iter()
        .map(|e| {
            (
                e["data"]["operationContext"].as_str().unwrap(),
                e["data"]["resultInformation"]["subCode"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(codes, [("silent", 8510), ("short", 8532)]);

    // A number ending in 9 never answers.
    let lost = create(&emu, &app, vec![phone("+14255550199")], "lost").await;
    let events = wait_event(&emu, &lost, "CallDisconnected").await;
    assert_eq!(
        names(&events),
        ["CreateCallFailed:480/560480", "CallDisconnected:480/560480"]
    );
    assert_eq!(events[0]["data"]["operationContext"], "lost");
}
