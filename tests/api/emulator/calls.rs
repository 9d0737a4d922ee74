//! Scripted calls for each callback format × each authentication scheme: what calltrail reports
//! equals what the scenario and the application did.

use serde_json::{json, Value};

use super::*;

pub const CALLEE: &str = "4:+14255550123";
pub const AGENT: &str = "8:acs:r_agent";
/// Declines by the emulator's rule (the raw id says so).
pub const DECLINER: &str = "8:acs:r_decline_me";
const GREETING: &str = "https://media.example.org/greeting.wav";
const HOLD_MUSIC: &str = "https://media.example.org/hold.wav";
/// Unreachable by the emulator's rule (a host under `.invalid`).
const MISSING: &str = "https://media.example.invalid/missing.wav";

/// The callee answers after 2 s, presses 1, mutes, presses 2 and #, unmutes.
pub fn scenario(name: &str, format: &str, auth: &str, faults: &str) -> String {
    format!(
        r#"
name: {name}
callback_format: {format}
callback_auth: {auth}
{faults}
audio:
  "{GREETING}": 1
callees:
  - id: "{CALLEE}"
    answer: answer
    after_seconds: 2
    script:
      - {{ at_seconds: 1, dtmf: "1" }}
      - {{ at_seconds: 2, mute: true }}
      - {{ at_seconds: 3, dtmf: "2#" }}
      - {{ at_seconds: 4, mute: false }}
"#
    )
}

pub async fn add_scenario(emu: &Emu, yaml: &str) {
    let response = emu
        .client
        .post(format!("{}/emulator/scenarios", emu.address))
        .body(yaml.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

/// Places the scripted call and plays the application's part: three plays (one completes, one
/// cannot be fetched, one loops until cancelled), an agent invited and removed, an invitation
/// declined, then the callee hangs up. Returns the call id.
pub async fn scripted_call(emu: &Emu, app: &TestApp, scenario: &str, auth: &str) -> String {
    let body = create_body(CALLEE, &callback_uri(app, auth));
    let id = emu
        .create_call(&body, &[("x-emulator-scenario", scenario)])
        .await;
    emu.wait_for(&id, "the script's keys and mutes", |v| {
        v["tone_sequence"] == 3 && v["snapshot_sequence"] == 3
    })
    .await;

    let play = |uri: &str, looped: bool, context: &str| json!({"audioFileUri": uri, "loop": looped, "operationContext": context, "resourceId": "r"});
    for (uri, looped, context) in [
        (GREETING, false, "greeting"),
        (MISSING, false, "missing"),
        (HOLD_MUSIC, true, "hold"),
    ] {
        let response = emu
            .post(
                &format!("/calls/{id}/PlayAudio"),
                &play(uri, looped, context),
            )
            .await;
        assert_eq!(response.status(), 202);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            (
                answer["status"].as_str(),
                answer["operationContext"].as_str()
            ),
            (Some("notStarted"), Some(context))
        );
    }
    emu.wait_for(&id, "the looped play alone", |v| {
        v["media"].as_array().unwrap().len() == 1 && v["media"][0]["status"] == "running"
    })
    .await;
    let cancel = emu
        .post(
            &format!("/calls/{id}/CancelMediaProcessing"),
            &json!({"operationContext": "cancel"}),
        )
        .await;
    assert_eq!(cancel.status(), 202);

    let invite = |who: &str, context: &str| json!({"participants": [{"rawId": who}], "operationContext": context});
    let invited = emu
        .post(
            &format!("/calls/{id}/participants"),
            &invite(AGENT, "add-agent"),
        )
        .await;
    assert_eq!(invited.status(), 202);
    let view = emu
        .wait_for(&id, "the agent", |v| {
            v["participants"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["raw_id"] == AGENT)
        })
        .await;
    let agent_id = view["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["raw_id"] == AGENT)
        .unwrap()["participant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let removed = emu
        .signed(
            reqwest::Method::DELETE,
            &format!("/calls/{id}/participants/{agent_id}"),
            b"",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 202);
    let declined = emu
        .post(
            &format!("/calls/{id}/participants"),
            &invite(DECLINER, "add-decliner"),
        )
        .await;
    assert_eq!(declined.status(), 202);
    emu.wait_for(&id, "the declined invitation", |v| {
        v["ringing"].as_array().unwrap().is_empty()
    })
    .await;

    emu.control(
        &format!("/emulator/calls/{id}/hangup"),
        &json!({"participant": CALLEE}),
    )
    .await;
    emu.wait_for(&id, "the end of the call", |v| v["state"] == "Terminated")
        .await;
    id
}

/// Everything calltrail reports about the call equals what was scripted and done.
pub async fn assert_reported_as_scripted(app: &TestApp, emu: &Emu, id: &str, auth: &str) {
    let summary = report(app, &format!("/api/v1/calls/{id}")).await;
    assert_eq!(summary["outcome"], "completed", "{summary:#}");
    assert_eq!(summary["participant_count"], 3, "{summary:#}");
    assert_eq!(summary["dtmf_count"], 3);
    assert_eq!(
        (
            summary["media_total"].as_i64(),
            summary["media_succeeded"].as_i64()
        ),
        (Some(3), Some(1))
    );

    let participants = report(app, &format!("/api/v1/calls/{id}/participants")).await;
    let items = participants["items"].as_array().unwrap();
    let row = |raw: &str| -> Vec<&Value> { items.iter().filter(|p| p["raw_id"] == raw).collect() };
    assert_eq!(row("8:acs:app").len(), 1, "{participants:#}");
    assert_eq!(row(AGENT).len(), 1, "{participants:#}");
    assert!(row(DECLINER).is_empty(), "a declined invitee never joined");
    let callee = row(CALLEE);
    assert_eq!(callee.len(), 1, "{participants:#}");
    let mutes: Vec<bool> = callee[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["is_muted"].as_bool().unwrap())
        .collect();
    assert_eq!(mutes, [false, true, false], "{participants:#}");
    let at = |v: &Value| crate::reporting::t(v.as_str().expect("a time"));
    assert!(at(&row(AGENT)[0]["left_at"]) < at(&callee[0]["left_at"]));
    assert!(at(&callee[0]["joined_at"]) < at(&row(AGENT)[0]["joined_at"]));

    let dtmf = report(app, &format!("/api/v1/calls/{id}/dtmf")).await;
    let tones: Vec<(&str, i64)> = dtmf["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tone"].as_str().unwrap(),
                t["missing_before"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(tones, [("1", 0), ("2", 0), ("#", 0)]);

    assert_eq!(
        media_outcomes(app, id).await,
        ops(&[
            ("greeting", "play", "completed"),
            ("hold", "play", "canceled"),
            ("missing", "play", "failed")
        ])
    );

    // Every event the emulator delivered is stored once, under the scheme it was signed with.
    let deliveries = emu.get(&format!("/emulator/deliveries?call_id={id}")).await;
    let sent: usize = deliveries["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["duplicate"] == false)
        .map(|d| d["event_types"].as_array().unwrap().len())
        .sum();
    let timeline = report(app, &format!("/api/v1/calls/{id}/events?limit=500")).await;
    let events = timeline["items"].as_array().unwrap();
    assert_eq!(events.len(), sent, "{deliveries:#}");
    assert!(
        events.iter().all(|e| e["auth_scheme"] == auth),
        "{timeline:#}"
    );
}

/// Three calls, one per authentication scheme, in `format`.
async fn each_scheme(format: &str) {
    let emu = Emu::spawn();
    let app = spawn_calltrail(&emu).await;
    let schemes = ["query_secret", "jwt", "webhook_signature"];
    for auth in schemes {
        add_scenario(
            &emu,
            &scenario(&format!("{format}-{auth}"), format, auth, ""),
        )
        .await;
    }
    let calls = futures_util::future::join_all(schemes.iter().map(|auth| {
        let (emu, app) = (&emu, &app);
        async move { scripted_call(emu, app, &format!("{format}-{auth}"), auth).await }
    }))
    .await;
    let deliveries = emu.settled_deliveries().await;
    assert_eq!(deliveries["dropped"], 0, "{deliveries:#}");
    app.wait_for_projections().await;
    for (id, auth) in calls.iter().zip(schemes) {
        assert_reported_as_scripted(&app, &emu, id, auth).await;
    }
}

#[tokio::test]
async fn a1_calls_under_each_scheme_are_reported_as_scripted() {
    each_scheme("a1").await;
}

#[tokio::test]
async fn a2_calls_under_each_scheme_are_reported_as_scripted() {
    each_scheme("a2").await;
}

#[tokio::test]
async fn b_calls_under_each_scheme_are_reported_as_scripted() {
    each_scheme("b").await;
}

/// The issue's own example: answer after 3 s, press 1 at 10 s, hang up at 30 s; simulated at 60×,
/// so the half-minute call takes half a second, and calltrail's times are the simulated ones.
#[tokio::test]
async fn a_scripted_callee_answers_presses_and_hangs_up_on_time() {
    let emu = Emu::spawn_with(|s| s.speed = 60.0);
    let app = spawn_calltrail(&emu).await;
    add_scenario(
        &emu,
        &format!(
            r#"
name: example
callees:
  - id: "{CALLEE}"
    answer: answer
    after_seconds: 3
    script:
      - {{ at_seconds: 10, dtmf: "1" }}
      - {{ at_seconds: 30, hang_up: true }}
"#
        ),
    )
    .await;
    // No header: the scenario scripts this callee, so it applies.
    let started = std::time::Instant::now();
    let id = emu
        .create_call(
            &create_body(CALLEE, &callback_uri(&app, "query_secret")),
            &[],
        )
        .await;
    let view = emu
        .wait_for(&id, "the callee's hang-up", |v| v["state"] == "Terminated")
        .await;
    assert_eq!(view["scenario"], "example");
    // 33 simulated seconds; well under that in real time, however busy the machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    emu.settled_deliveries().await;
    app.wait_for_projections().await;

    let at = |v: &Value| crate::reporting::t(v.as_str().expect("a time"));
    // Events of one moment are a microsecond apart (so that their order is kept): round.
    let ms = |d: chrono::TimeDelta| (d.num_microseconds().unwrap() + 500).div_euclid(1000);
    let participants = report(&app, &format!("/api/v1/calls/{id}/participants")).await;
    let callee = participants["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["raw_id"] == CALLEE)
        .expect("the callee")
        .clone();
    assert_eq!(
        ms(at(&callee["left_at"]) - at(&callee["joined_at"])),
        30_000,
        "{callee:#}"
    );
    let dtmf = report(&app, &format!("/api/v1/calls/{id}/dtmf")).await;
    let tone = &dtmf["items"][0];
    assert_eq!(tone["tone"], "1");
    let summary = report(&app, &format!("/api/v1/calls/{id}")).await;
    assert_eq!(summary["outcome"], "completed");
    assert_eq!(summary["dtmf_count"], 1);
    // Placed at 0 s, answered at 3 s, over at 33 s (in simulated time).
    let first = at(&summary["first_event_at"]);
    assert_eq!(ms(at(&callee["joined_at"]) - first), 3_000);
    assert_eq!(summary["duration_ms"], 30_000, "{summary:#}");
}
