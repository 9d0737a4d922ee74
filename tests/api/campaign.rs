//! The campaign drives a real calltrail end to end: every callback the campaign saw acknowledged is
//! stored exactly once, and the calls calltrail projects have the scenario's mix of outcomes.

use std::sync::Arc;
use std::time::Duration;

use calltrail::emulator::campaign::plan::{Behaviour, CampaignScenario, Mix, Plan};
use calltrail::emulator::config::{CallbackAuth, CallbackFormat};
use calltrail::emulator::delivery::sign::JwtSigner;

use crate::emulator::{emulator_settings, spawn_calltrail, Emu};

/// 50 calls at 100 a second on a clock twenty times as fast: a few seconds in all.
fn plan(callback: String, auth: CallbackAuth) -> Plan {
    let scenario = CampaignScenario {
        // Weights summing to 10: 50 calls are five whole cycles, so the mix is exact.
        mix: Mix {
            confirm: 6,
            voicemail: 1,
            no_answer: 1,
            busy: 1,
            decline: 1,
        },
        ..CampaignScenario::default()
    };
    Plan {
        calls: 50,
        rate: 100.0,
        callback,
        format: CallbackFormat::B,
        auth,
        connections: 8,
        speed: 20.0,
        max_attempts: 4,
        retry_initial: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        timeout: Duration::from_secs(5),
        scenario,
        progress: false,
    }
}

#[tokio::test]
async fn a_mixed_campaign_is_stored_exactly_once_with_its_outcomes() {
    // The emulator serves the key set calltrail verifies the campaign's JWTs with (the same
    // development key).
    let emu = Emu::spawn();
    let app = spawn_calltrail(&emu).await;
    let settings = emulator_settings();
    let jwt = Arc::new(
        JwtSigner::new(None, &settings.jwt_issuer, &settings.jwt_audience).expect("dev key"),
    );
    let summary = calltrail::emulator::campaign::run(
        plan(app.url("/api/callbacks"), CallbackAuth::Jwt),
        jwt,
        &settings.webhook_secret,
    )
    .await
    .expect("the campaign runs");

    assert_eq!(summary.calls, 50);
    assert_eq!(
        (summary.failed, summary.first_failure.as_deref()),
        (0, None)
    );
    let mix = Behaviour::ALL.map(|b| summary.behaviour_count(b));
    assert_eq!(
        mix,
        [30, 5, 5, 5, 5],
        "confirm, voicemail, no answer, busy, decline"
    );
    assert_eq!((summary.connected, summary.confirmed), (35, 30));
    // Per answered call, in format B: connected, snapshot, play started and completed, the
    // recognition's end (completed with the 1, or failed in silence) and the disconnection; a
    // failed call is CreateCallFailed and CallDisconnected.
    assert_eq!(summary.callbacks_delivered, 35 * 6 + 15 * 2);

    // Each acknowledged callback carried one event: each is stored once.
    let stored = app.event_count().await;
    assert_eq!(stored, summary.callbacks_delivered as i64);
    let distinct: i64 = sqlx::query_scalar("SELECT count(DISTINCT event_id) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(distinct, stored, "no event stored twice");

    app.wait_for_projections().await;
    let outcomes: Vec<(String, i64)> =
        sqlx::query_as("SELECT outcome, count(*) FROM calls GROUP BY outcome ORDER BY outcome")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let count = |o: &str| outcomes.iter().find(|(k, _)| k == o).map_or(0, |(_, n)| *n);
    assert_eq!(count("completed"), 35, "{outcomes:?}");
    assert_eq!(
        count("failed") + count("never_connected"),
        15,
        "{outcomes:?}"
    );
    let codes: Vec<(Option<i64>, i64)> = sqlx::query_as(
        "SELECT failure_code, count(*) FROM calls WHERE outcome <> 'completed' \
         GROUP BY failure_code ORDER BY failure_code",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(codes, [(Some(480), 5), (Some(486), 5), (Some(603), 5)]);
    // The recognitions as calltrail projected them: 30 confirmed, 5 timed out in silence.
    let recognitions: Vec<(String, i64)> = sqlx::query_as(
        "SELECT outcome, count(*) FROM media_operations WHERE operation = 'recognize' \
         GROUP BY outcome ORDER BY outcome",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        recognitions,
        [("completed".to_owned(), 30), ("failed".to_owned(), 5)]
    );
}
