//! Delivery faults: duplicates, reordering, delays, dropped first attempts, batching and wrong
//! signatures change how callbacks arrive, never what calltrail reports; a receiver that never
//! answers 2xx gets bounded retries, then the delivery is recorded as dropped.

use serde_json::{json, Value};

use super::calls::{add_scenario, assert_reported_as_scripted, scenario, scripted_call};
use super::*;

fn records(deliveries: &Value) -> &Vec<Value> {
    deliveries["items"].as_array().unwrap()
}

#[tokio::test]
async fn faulty_delivery_changes_nothing_calltrail_reports() {
    let emu = Emu::spawn_with(|s| s.delivery.max_attempts = 12);
    let app = spawn_calltrail(&emu).await;
    let faults =
        "faults: { duplicate_probability: 0.5, reorder_window: 4, delay_ms: 5, jitter_ms: 20, \
                  drop_first_attempt: true, batch_size: 3, bad_signature_probability: 0.3, \
                  sequence_gap_probability: 0.7, snapshot_repeat_probability: 0.7, seed: 7 }";
    // Every format under every scheme.
    let runs: Vec<(&str, &str)> = ["a1", "a2", "b"]
        .into_iter()
        .flat_map(|f| ["query_secret", "jwt", "webhook_signature"].map(|a| (f, a)))
        .collect();
    for (format, auth) in &runs {
        let name = format!("faulty-{format}-{auth}");
        add_scenario(&emu, &scenario(&name, format, auth, faults)).await;
    }
    let calls = futures_util::future::join_all(runs.iter().map(|(format, auth)| {
        let (emu, app) = (&emu, &app);
        async move { scripted_call(emu, app, &format!("faulty-{format}-{auth}"), auth).await }
    }))
    .await;
    let deliveries = emu.settled_deliveries().await;
    assert_eq!(deliveries["dropped"], 0, "{deliveries:#}");
    app.wait_for_projections().await;
    for (id, (_, auth)) in calls.iter().zip(&runs) {
        assert_reported_as_scripted(&app, &emu, id, auth).await;
    }

    // The faults did happen.
    let items = records(&deliveries);
    assert!(items.iter().any(|d| d["duplicate"] == true), "a duplicate");
    assert!(
        items.iter().all(|d| {
            d["attempts"][0]["fault"] == "drop_first_attempt: not sent"
                && d["attempts"].as_array().unwrap().len() >= 2
        }),
        "every first attempt dropped, every delivery retried"
    );
    assert!(
        items.iter().any(|d| d["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["fault"] == "bad_signature" && a["status"] == 401)),
        "a wrongly signed attempt refused"
    );
    assert!(
        items
            .iter()
            .any(|d| d["format"] == "b" && d["event_types"].as_array().unwrap().len() > 1),
        "several events batched in one array"
    );

    // GA snapshots numbered with gaps and repeats, never going back. Each call numbers its own
    // snapshots: looked at together, one call's numbers would fill another's gaps.
    let mut by_call: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for e in items
        .iter()
        .filter(|d| d["format"] == "b" && d["duplicate"] == false)
        .flat_map(|d| d["body"].as_array().unwrap())
        .filter(|e| e["type"] == "Microsoft.Communication.ParticipantsUpdated")
    {
        let call = e["data"]["callConnectionId"].as_str().unwrap().to_owned();
        by_call
            .entry(call)
            .or_default()
            .push(e["data"]["sequenceNumber"].as_u64().unwrap());
    }
    let (mut repeats, mut gaps) = (false, false);
    for numbers in by_call.values_mut() {
        numbers.sort_unstable();
        let mut distinct = numbers.clone();
        distinct.dedup();
        repeats |= distinct.len() < numbers.len();
        gaps |= distinct.last().copied().unwrap() > distinct.len() as u64;
    }
    assert!(repeats, "a repeat: {by_call:?}");
    assert!(gaps, "a gap: {by_call:?}");
}

/// A call that answers and is hung up by the application.
async fn short_call(emu: &Emu, app: &TestApp, auth: &str, format: &str) -> String {
    let body = create_body("4:+14255550100", &callback_uri(app, auth));
    let id = emu
        .create_call(
            &body,
            &[
                ("x-emulator-callback-auth", auth),
                ("x-emulator-callback-format", format),
            ],
        )
        .await;
    emu.wait_for(&id, "the answer", |v| v["state"] == "Established")
        .await;
    let hangup = emu
        .signed(reqwest::Method::POST, &format!("/calls/{id}/Hangup"), b"")
        .send()
        .await
        .unwrap();
    assert_eq!(hangup.status(), 202);
    id
}

#[tokio::test]
async fn wrongly_signed_deliveries_are_refused_and_dropped() {
    let emu = Emu::spawn_with(|s| {
        s.delivery.max_attempts = 2;
        s.faults.bad_signature_probability = 1.0;
    });
    let app = spawn_calltrail(&emu).await;
    for (auth, format) in [
        ("query_secret", "a1"),
        ("webhook_signature", "a2"),
        ("jwt", "b"),
    ] {
        let id = short_call(&emu, &app, auth, format).await;
        let deliveries = emu.settled_deliveries().await;
        let mine: Vec<&Value> = records(&deliveries)
            .iter()
            .filter(|d| d["call_id"] == id.as_str())
            .collect();
        assert!(!mine.is_empty());
        for d in mine {
            assert_eq!(d["state"], "dropped", "{d:#}");
            assert_eq!(d["auth"], auth);
            let statuses: Vec<&Value> = d["attempts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| &a["status"])
                .collect();
            assert_eq!(statuses, [&json!(401), &json!(401)], "{d:#}");
        }
    }
    assert_eq!(
        app.event_count().await,
        0,
        "nothing wrongly signed was stored"
    );
}

#[tokio::test]
async fn every_kind_of_wrong_token_is_refused() {
    let emu = Emu::spawn_with(|s| s.delivery.max_attempts = 1);
    let app = spawn_calltrail(&emu).await;
    for fault in [
        "signature",
        "expired",
        "wrong_issuer",
        "wrong_audience",
        "missing",
    ] {
        let yaml = format!(
            "name: {fault}\ncallback_format: b\ncallback_auth: jwt\n\
             faults: {{ bad_signature_probability: 1.0, jwt_fault: {fault} }}\n"
        );
        add_scenario(&emu, &yaml).await;
        let body = create_body("4:+14255550100", &callback_uri(&app, "jwt"));
        let id = emu
            .create_call(&body, &[("x-emulator-scenario", fault)])
            .await;
        emu.wait_for(&id, "the answer", |v| v["state"] == "Established")
            .await;
        let deliveries = emu.settled_deliveries().await;
        let mine: Vec<&Value> = records(&deliveries)
            .iter()
            .filter(|d| d["call_id"] == id.as_str())
            .collect();
        assert!(!mine.is_empty(), "{fault}");
        for d in mine {
            assert_eq!(d["state"], "dropped", "{fault}: {d:#}");
            assert_eq!(d["attempts"][0]["status"], 401, "{fault}: {d:#}");
        }
    }
    assert_eq!(app.event_count().await, 0, "no wrong token was accepted");
}

#[tokio::test]
async fn a_receiver_that_never_answers_gets_bounded_retries() {
    let emu = Emu::spawn_with(|s| s.delivery.max_attempts = 3);
    // A port with nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let body = create_body(
        "4:+14255550100",
        &format!("http://127.0.0.1:{port}/cb?secret=s"),
    );
    let id = emu.create_call(&body, &[]).await;
    emu.wait_for(&id, "the answer", |v| v["state"] == "Established")
        .await;
    let deliveries = emu.settled_deliveries().await;
    assert_eq!(deliveries["delivered"], 0);
    for d in records(&deliveries) {
        assert_eq!(d["state"], "dropped");
        assert_eq!(
            d["callback_uri"],
            format!("http://127.0.0.1:{port}/cb?secret=***")
        );
        let attempts = d["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 3, "{d:#}");
        assert!(attempts
            .iter()
            .all(|a| a["status"].is_null() && a["error"].is_string()));
    }
}

#[tokio::test]
async fn the_callback_key_set_and_openid_configuration_are_served() {
    let emu = Emu::spawn();
    let keys = emu.get("/calling/keys").await;
    let key = &keys["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str()),
        (Some("RSA"), Some("RS256"))
    );
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
    assert_eq!(key["e"], "AQAB");
    let openid = emu.get("/calling/.well-known/acsopenidconfiguration").await;
    assert_eq!(
        openid["issuer"],
        "https://acscallautomation.communication.azure.com"
    );
    assert_eq!(openid["jwks_uri"], format!("{}/calling/keys", emu.address));
}
