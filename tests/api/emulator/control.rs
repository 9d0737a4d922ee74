//! The control endpoints: what a person on a phone does (answer, press keys, mute, decline, hang
//! up), and what calltrail then reports.

use serde_json::{json, Value};

use super::calls::add_scenario;
use super::*;

const CALLEE: &str = "8:acs:r_callee";
const SUPERVISOR: &str = "4:+14255550142";

#[tokio::test]
async fn a_person_answers_presses_mutes_and_hangs_up_through_the_control_endpoints() {
    // Nobody gives up ringing while the test answers by hand.
    let emu = Emu::spawn_with(|s| s.no_answer_seconds = 600.0);
    let app = spawn_calltrail(&emu).await;
    add_scenario(
        &emu,
        &format!(
            "name: by-hand\ncallback_format: b\ncallees:\n  - {{ id: \"{CALLEE}\", answer: manual }}\n  - {{ id: \"{SUPERVISOR}\", answer: manual }}\n"
        ),
    )
    .await;
    let body = json!({
        "source": "8:acs:app", "targets": [CALLEE],
        "callbackUri": callback_uri(&app, "jwt"),
    });
    let id = emu
        .create_call(&body, &[("x-emulator-scenario", "by-hand")])
        .await;
    let view = emu.call(&id).await;
    assert_eq!(view["state"], "Establishing");
    assert_eq!(view["ringing"][0]["answer"], "manual");

    let control = |op: &str| format!("/emulator/calls/{id}/{op}");
    emu.control(&control("answer"), &json!({"participant": CALLEE}))
        .await;
    emu.control(
        &control("dtmf"),
        &json!({"participant": CALLEE, "tones": "12"}),
    )
    .await;
    emu.control(&control("mute"), &json!({"participant": CALLEE}))
        .await;
    emu.control(
        &control("dtmf"),
        &json!({"participant": CALLEE, "tones": ["Tone3", "pound"]}),
    )
    .await;
    emu.control(&control("unmute"), &json!({"participant": CALLEE}))
        .await;
    let invite = json!({"participants": [SUPERVISOR], "operationContext": "supervisor"});
    assert_eq!(
        emu.post(&format!("/calls/{id}/participants"), &invite)
            .await
            .status(),
        202
    );
    emu.control(&control("decline"), &json!({"participant": SUPERVISOR}))
        .await;
    // No participant: the remote side ends the whole call.
    emu.control(&control("hangup"), &json!({})).await;

    let view = emu.call(&id).await;
    assert_eq!(view["state"], "Terminated");
    assert_eq!(view["tone_sequence"], 4);
    let deliveries = emu.settled_deliveries().await;
    assert_eq!(deliveries["dropped"], 0, "{deliveries:#}");
    let view = emu.call(&id).await;
    let types: Vec<&str> = view["callbacks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["event_types"].as_array().unwrap())
        .map(|t| {
            t.as_str()
                .unwrap()
                .trim_start_matches("Microsoft.Communication.")
        })
        .collect();
    assert_eq!(
        types,
        [
            "CallConnected",
            "ParticipantsUpdated",
            "ContinuousDtmfRecognitionToneReceived",
            "ContinuousDtmfRecognitionToneReceived",
            "ParticipantsUpdated",
            "ContinuousDtmfRecognitionToneReceived",
            "ContinuousDtmfRecognitionToneReceived",
            "ParticipantsUpdated",
            "ParticipantsUpdated",
            "AddParticipantFailed",
            "CallDisconnected",
        ]
    );
    assert!(view["callbacks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["auth"] == "jwt" && d["state"] == "delivered"));

    app.wait_for_projections().await;
    let dtmf = report(&app, &format!("/api/v1/calls/{id}/dtmf")).await;
    let tones: Vec<&str> = dtmf["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tone"].as_str().unwrap())
        .collect();
    assert_eq!(tones, ["1", "2", "3", "#"]);
    let participants = report(&app, &format!("/api/v1/calls/{id}/participants")).await;
    let callee: &Value = participants["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["raw_id"] == CALLEE)
        .expect("the callee");
    let mutes: Vec<bool> = callee["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["is_muted"].as_bool().unwrap())
        .collect();
    assert_eq!(mutes, [false, true, false]);
    assert!(participants["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["raw_id"] != SUPERVISOR));
    let summary = report(&app, &format!("/api/v1/calls/{id}")).await;
    assert_eq!(summary["outcome"], "completed");
    assert_eq!(summary["state"], "disconnected");
}

#[tokio::test]
async fn control_requests_name_what_is_wrong() {
    let emu = Emu::spawn();
    let id = emu
        .create_call(&create_body("4:+14255550100", "http://127.0.0.1:9/cb"), &[])
        .await;
    emu.wait_for(&id, "the answer", |v| v["state"] == "Established")
        .await;
    let post = |path: String, body: Value| {
        emu.client
            .post(format!("{}{path}", emu.address))
            .json(&body)
            .send()
    };
    let cases = [
        (
            format!("/emulator/calls/{id}/dtmf"),
            json!({"participant": "4:+14255550100", "tones": "9x"}),
            400,
            "tones",
        ),
        (
            format!("/emulator/calls/{id}/dtmf"),
            json!({"tones": "1"}),
            400,
            "participant: is required",
        ),
        (
            format!("/emulator/calls/{id}/mute"),
            json!({"participant": "8:acs:nobody"}),
            404,
            "not in call",
        ),
        (
            format!("/emulator/calls/{id}/answer"),
            json!({"participant": "8:acs:nobody"}),
            404,
            "is not ringing",
        ),
        (
            "/emulator/calls/nope/hangup".to_owned(),
            json!({}),
            404,
            "call nope does not exist",
        ),
    ];
    for (path, body, status, needle) in cases {
        let response = post(path.clone(), body).await.unwrap();
        let (got, _, message) = crate::helpers::error_code(response).await;
        assert_eq!(got, status, "{path}: {message}");
        assert!(message.contains(needle), "{path}: {message}");
    }
    let missing = emu
        .client
        .get(format!("{}/emulator/calls/nope", emu.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let bad_scenario = emu
        .client
        .post(format!("{}/emulator/scenarios", emu.address))
        .body("name: x\ncallees: [{id: a, answer: maybe}]")
        .send()
        .await
        .unwrap();
    let (status, _, message) = crate::helpers::error_code(bad_scenario).await;
    assert_eq!(status, 400);
    assert!(message.contains("unknown variant"), "{message}");
}

#[tokio::test]
async fn scenario_files_are_loaded_at_start_and_a_bad_one_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "name: from-file\ncallees: [{ id: \"8:acs:x\", answer: busy }]\n",
    )
    .unwrap();
    let emu = Emu::spawn_with(|s| s.scenario_files = vec![good.display().to_string()]);
    let listed = emu.get("/emulator/scenarios").await;
    assert_eq!(listed["items"][0]["name"], "from-file");
    assert_eq!(listed["items"][0]["callees"][0]["answer"], "busy");

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "name: broken\ncallees: [{ id: x, answer: maybe }]\n").unwrap();
    let mut settings = emulator_settings();
    settings.scenario_files = vec![bad.display().to_string()];
    let err = calltrail::emulator::api::EmulatorServer::build(settings)
        .err()
        .expect("a bad scenario file stops the start");
    let message = err.to_string();
    assert!(
        message.contains("emulator.scenario_files") && message.contains("bad.yaml"),
        "{message}"
    );
}
