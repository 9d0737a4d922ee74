//! A big call: 100 participants and 2,000 events. The call page pages its lanes, still links every
//! mark, and its time is printed (debug build, through HTTP: an upper bound, not the benchmark).

use std::time::Instant;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use super::*;

fn at(ms: i64) -> String {
    let start: DateTime<Utc> = "2024-03-12T09:00:00Z".parse().unwrap();
    (start + TimeDelta::milliseconds(ms)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[tokio::test]
async fn a_call_of_100_participants_and_2000_events_is_paged_by_lanes_and_fully_linked() {
    let app = spawn_ui().await;
    let call = "ui-big";
    let people: Vec<Value> = (0..100)
        .map(|n| acs_user(&format!("8:acs:p{n:03}")))
        .collect();
    let mut events = vec![b_event("b-0", "CallConnected", call, json!({}), &at(0))];
    for n in 0..100 {
        let present: Vec<(Value, bool, bool)> = people[..=n]
            .iter()
            .map(|p| (p.clone(), false, false))
            .collect();
        events.push(b_participants(
            &format!("b-p{n}"),
            call,
            n as i64 + 1,
            &present,
            &at(n as i64 * 1000),
        ));
    }
    for k in 0..1800_i64 {
        events.push(b_event(
            &format!("b-t{k}"),
            "ContinuousDtmfRecognitionToneReceived",
            call,
            json!({"sequenceId": k + 1, "tone": "five", "participantId": format!("8:acs:p{:03}", k % 100),
                   "resultInformation": {"code": 200, "subCode": 0, "message": "ok"}}),
            &at(100_000 + k * 100),
        ));
    }
    for k in 0..49_i64 {
        let context = format!("prompt-{k}");
        events.push(b_result(
            &format!("b-s{k}"),
            "PlayStarted",
            call,
            &context,
            200,
            0,
            &at(100_000 + k * 3000),
        ));
        events.push(b_result(
            &format!("b-c{k}"),
            "PlayCompleted",
            call,
            &context,
            200,
            0,
            &at(101_000 + k * 3000),
        ));
    }
    events.push(b_event(
        "b-end",
        "CallDisconnected",
        call,
        json!({}),
        &at(300_000),
    ));
    assert_eq!(events.len(), 2000);
    for chunk in events.chunks(100) {
        let response = app.post_callback(json!(chunk).to_string()).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    app.wait_for_projections().await;
    let cookie = login(&app).await;

    let started = Instant::now();
    let (status, html) = page(&app, &cookie, &format!("/ui/calls/{call}")).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    eprintln!(
        "call page of 100 participants and 2,000 events: {} ms, {} bytes (debug build)",
        elapsed.as_millis(),
        html.len()
    );
    let svg = between(&html, "<svg class=\"swimlane\"", "</svg>");
    assert_eq!(
        svg.matches("class=\"lane-label\"").count(),
        40 + 2,
        "40 participants a page"
    );
    assert!(html.contains("Participants 1–40 of 100"));
    assert_eq!(
        svg.matches("data-kind=\"dtmf\"").count(),
        720,
        "the tones of this page's people"
    );
    assert_eq!(svg.matches("class=\"mark unlinked\"").count(), 0);
    let (status, last) = page(&app, &cookie, &format!("/ui/calls/{call}?lanes=3")).await;
    assert_eq!(status, 200);
    let svg = between(&last, "<svg class=\"swimlane\"", "</svg>");
    assert_eq!(svg.matches("class=\"lane-label\"").count(), 20 + 2);
    assert_eq!(svg.matches("data-kind=\"dtmf\"").count(), 360);
    assert!(last.contains("Participants 81–100 of 100") && last.contains("Previous lanes"));
}
