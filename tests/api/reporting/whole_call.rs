//! The whole path at once: real callbacks in, the projector, then every call endpoint of the API.

use serde_json::json;

use super::*;

#[tokio::test]
async fn a_delivered_call_reads_back_through_every_call_endpoint() {
    let app = spawn_api_with_projector().await;
    let call = "e2e-call-1";
    let caller = phone("+14255550123");
    let agent = acs_user("8:acs:r_agent");
    let events = json!([
        b_event(
            "e-1",
            "CallConnected",
            call,
            json!({}),
            "2024-03-12T09:00:00Z"
        ),
        b_participants(
            "e-2",
            call,
            1,
            &[(caller.clone(), false, false)],
            "2024-03-12T09:00:01Z"
        ),
        b_participants(
            "e-3",
            call,
            2,
            &[
                (caller.clone(), false, false),
                (agent.clone(), false, false)
            ],
            "2024-03-12T09:00:10Z"
        ),
        b_participants(
            "e-4",
            call,
            3,
            &[(caller.clone(), true, true), (agent.clone(), false, false)],
            "2024-03-12T09:00:20Z"
        ),
        b_participants(
            "e-5",
            call,
            4,
            &[(caller.clone(), false, false)],
            "2024-03-12T09:00:30Z"
        ),
        b_tone("e-6", call, 1, "one", "2024-03-12T09:00:40Z"),
        b_tone("e-7", call, 3, "pound", "2024-03-12T09:00:41Z"),
        b_result(
            "e-8",
            "PlayStarted",
            call,
            "announce",
            200,
            0,
            "2024-03-12T09:00:02Z"
        ),
        b_result(
            "e-9",
            "PlayCompleted",
            call,
            "announce",
            200,
            0,
            "2024-03-12T09:00:07Z"
        ),
        b_result(
            "e-10",
            "PlayFailed",
            call,
            "prompt",
            400,
            8536,
            "2024-03-12T09:00:45Z"
        ),
        b_event(
            "e-11",
            "CallDisconnected",
            call,
            json!({}),
            "2024-03-12T09:01:00Z"
        ),
    ]);
    // Delivered out of order, in two POSTs, one of them twice.
    let all = events.as_array().unwrap();
    let (late, early) = all.split_at(6);
    for body in [json!(early), json!(late), json!(early)] {
        assert_eq!(app.post_callback(body.to_string()).await.status(), 200);
    }
    app.wait_for_projections().await;

    let summary = get_ok(&app, &format!("/api/v1/calls/{call}")).await;
    assert_eq!(summary["outcome"], "completed");
    assert_eq!(summary["state"], "disconnected");
    assert_eq!(summary["duration_ms"], 60_000);
    assert_eq!(summary["participant_count"], 2);
    assert_eq!(summary["peak_participants"], 2);
    assert_eq!(summary["event_count"], 11);
    assert_eq!(summary["dtmf_count"], 2);
    assert_eq!(
        (
            summary["media_total"].as_i64(),
            summary["media_succeeded"].as_i64()
        ),
        (Some(2), Some(1))
    );

    let participants = get_ok(&app, &format!("/api/v1/calls/{call}/participants")).await;
    let items = participants["items"].as_array().unwrap();
    let agent_row = items
        .iter()
        .find(|p| p["raw_id"] == "8:acs:r_agent")
        .expect("agent");
    assert_eq!(agent_row["joined_at"], "2024-03-12T09:00:10Z");
    assert_eq!(agent_row["left_at"], "2024-03-12T09:00:30Z");
    let caller_row = items
        .iter()
        .find(|p| p["raw_id"] == "4:+14255550123")
        .expect("caller");
    assert_eq!(
        caller_row["left_at"], "2024-03-12T09:01:00Z",
        "closed by the disconnect"
    );
    assert!(
        !caller_row["display_id"]
            .as_str()
            .unwrap()
            .contains("5550123"),
        "masked"
    );
    let changes: Vec<(bool, bool)> = caller_row["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["is_muted"].as_bool().unwrap(),
                c["is_on_hold"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(changes, [(false, false), (true, true), (false, false)]);

    let dtmf = get_ok(&app, &format!("/api/v1/calls/{call}/dtmf")).await;
    let tones: Vec<(String, i64)> = dtmf["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tone"].as_str().unwrap().to_owned(),
                t["missing_before"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(tones, [("1".to_owned(), 0), ("#".to_owned(), 1)]);

    let media = get_ok(&app, &format!("/api/v1/calls/{call}/media")).await;
    let ops: Vec<(String, String, Option<i64>)> = media["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["operation_context"].as_str().unwrap().to_owned(),
                m["outcome"].as_str().unwrap().to_owned(),
                m["duration_ms"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("announce".to_owned(), "completed".to_owned(), Some(5_000)),
            ("prompt".to_owned(), "failed".to_owned(), Some(0))
        ]
    );

    let timeline = get_ok(&app, &format!("/api/v1/calls/{call}/events?limit=500")).await;
    assert_eq!(
        timeline["items"].as_array().unwrap().len(),
        11,
        "duplicates are not in the log"
    );

    let by_person = get_ok(&app, "/api/v1/participants/4:%2B14255550123/calls").await;
    assert_eq!(by_person["items"][0]["call"]["call_id"], call);
    let filtered = get_ok(
        &app,
        "/api/v1/calls?participant=8:acs:r_agent&outcome=completed",
    )
    .await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    let nobody = get_ok(&app, "/api/v1/calls?participant=8:acs:r_nobody").await;
    assert_eq!(nobody["items"].as_array().unwrap().len(), 0);

    let report = get_ok(
        &app,
        "/api/v1/reports/summary?from=2024-03-12T00:00:00Z&to=2024-03-13T00:00:00Z&bucket=day",
    )
    .await;
    let bucket = &report["buckets"][0];
    assert_eq!(
        (
            bucket["calls"].as_i64(),
            bucket["connected"].as_i64(),
            bucket["failed"].as_i64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(bucket["participants"], 2);
    assert_eq!(bucket["dtmf_tones"], 2);
    assert_eq!(bucket["media_success_rate"], 0.5);
}
