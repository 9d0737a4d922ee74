//! A big call: 100 participants and 2,000 events. The call page pages its lanes and cuts a busy
//! page of lanes into windows of time, still links every mark, weighs under 100 kB with its CSS and
//! script, and its time is printed (debug build, through HTTP: an upper bound, not the benchmark).

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

    let (_, css) = page(&app, &cookie, "/ui/static/app.css").await;
    let (_, js) = page(&app, &cookie, "/ui/static/app.js").await;
    assert!(css.len() + js.len() > 1000, "the static files are served");

    let started = Instant::now();
    let (status, html) = page(&app, &cookie, &format!("/ui/calls/{call}")).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    let weight = html.len() + css.len() + js.len();
    eprintln!(
        "call page of 100 participants and 2,000 events: {} ms, {weight} bytes with its CSS and script (debug build)",
        elapsed.as_millis(),
    );
    assert!(weight < 100_000, "the call page weighs {weight} bytes");
    let svg = between(&html, "<svg class=\"swimlane\"", "</svg>");
    assert_eq!(
        svg.matches("class=\"lane-label\"").count(),
        40 + 2,
        "40 participants a page"
    );
    assert!(html.contains("Participants 1–40 of 100"));
    let participants = between(&html, "id=\"participants-h\"", "</table>");
    assert_eq!(
        participants.matches("<tr>").count(),
        40 + 1,
        "the participants table is paged with the lanes"
    );

    // The first page of lanes, window after window by the "Later" link: every mark of its 40
    // people drawn once, linked, listed in the table beside it, in time order throughout.
    let (mut tones, mut marks, mut windows) = (0, 0, 0);
    let mut seen: Vec<String> = Vec::new();
    let mut html = html;
    loop {
        windows += 1;
        assert!(
            html.len() + css.len() + js.len() < 100_000,
            "window {windows} weighs {} bytes",
            html.len()
        );
        let svg = between(&html, "<svg class=\"swimlane\"", "</svg>");
        assert_eq!(svg.matches("class=\"mark unlinked\"").count(), 0);
        tones += svg.matches("data-kind=\"dtmf\"").count();
        let drawn = hrefs(svg, "/ui/events/");
        let table = between(&html, "id=\"marks-h\"", "</table>");
        let listed = hrefs(table, "/ui/events/");
        assert_eq!(
            drawn, listed,
            "the table lists the picture's marks, in its order"
        );
        assert!(
            drawn.len() <= 100,
            "window {windows}: {} marks",
            drawn.len()
        );
        marks += drawn.len();
        // A mark is its link and its name (who, what, when): several can share an event.
        seen.extend(
            svg.split("<a class=\"mark\" ")
                .skip(1)
                .map(|a| a[..a.find('>').unwrap()].to_owned()),
        );
        let Some(later) = hrefs(&html, &format!("/ui/calls/{call}?lanes=1&amp;window="))
            .into_iter()
            .find(|h| html.contains(&format!("href=\"{h}\">Later")))
        else {
            break;
        };
        let (status, next) = page(&app, &cookie, &later.replace("&amp;", "&")).await;
        assert_eq!(status, 200);
        html = next;
    }
    eprintln!("the first page of lanes: {marks} marks in {windows} windows");
    assert!(windows > 1, "a busy page of lanes is cut into windows");
    assert_eq!(tones, 720, "the tones of this page's people, each once");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), marks, "no mark is drawn in two windows");

    let (status, last) = page(&app, &cookie, &format!("/ui/calls/{call}?lanes=3")).await;
    assert_eq!(status, 200);
    let svg = between(&last, "<svg class=\"swimlane\"", "</svg>");
    assert_eq!(svg.matches("class=\"lane-label\"").count(), 20 + 2);
    assert!(last.contains("Participants 81–100 of 100") && last.contains("Previous lanes"));
}
