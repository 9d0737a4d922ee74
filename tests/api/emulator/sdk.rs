//! The official Call Automation SDKs, unmodified, against the emulator: Python
//! (`azure-communication-callautomation`) and JavaScript (`@azure/communication-call-automation`),
//! pinned in `tests/sdk/`. Each drives a call to a phone number (play to all with an operation
//! callback URL, recognize DTMF while the test's script presses keys, send DTMF, add, mute and
//! remove a participant, list participants, cancel all media, hang up) and a call to a user; the
//! scripts check every SDK call's return value, this test where the callbacks went and what
//! calltrail stored and projected from them. A missing Python or npm fails the test
//! (`scripts/sdk-env.sh` says which).

use std::process::Command;

use serde_json::Value;

use super::*;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Makes (or finds up to date) the SDKs' environments.
fn prepare() {
    let output = Command::new(format!("{REPO}/scripts/sdk-env.sh"))
        .output()
        .expect("scripts/sdk-env.sh runs");
    assert!(
        output.status.success(),
        "scripts/sdk-env.sh failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs an SDK script against the emulator; returns the ids of the calls it placed and of the
/// incoming call it answered.
async fn drive(
    program: &str,
    script: &str,
    emu: &Emu,
    callback_url: &str,
    event_grid_url: &str,
) -> (Vec<String>, String) {
    let key = emulator_settings().access_key;
    let mut command = Command::new(program);
    command.arg(format!("{REPO}/{script}")).args([
        emu.address.as_str(),
        &key,
        callback_url,
        event_grid_url,
    ]);
    // Off the test's runtime thread, which runs the emulator's timers and deliveries meanwhile.
    let program = program.to_owned();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the script's thread")
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_str(stdout.trim()).expect("the script prints JSON");
    assert_eq!(answer["rejected"], true, "{answer}");
    let calls = answer["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (
        calls,
        answer["answered"].as_str().expect("answered").to_owned(),
    )
}

/// What calltrail reports for the two calls an SDK script made (`prefix`: its operation contexts').
async fn assert_reported(
    app: &TestApp,
    emu: &Emu,
    calls: &[String],
    prefix: &str,
    agent: &str,
    user: &str,
) {
    let [call, second] = calls else {
        panic!("two calls expected: {calls:?}")
    };
    let summary = report(app, &format!("/api/v1/calls/{call}")).await;
    assert_eq!(summary["outcome"], "completed", "{summary:#}");
    let dtmf = report(app, &format!("/api/v1/calls/{call}/dtmf")).await;
    let keys: Vec<&str> = dtmf["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tone"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["1", "2"], "{dtmf:#}");
    let media = report(app, &format!("/api/v1/calls/{call}/media")).await;
    let mut ops: Vec<(String, String, String)> = media["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let field = |k: &str| m[k].as_str().unwrap().to_owned();
            (
                field("operation_context"),
                field("operation"),
                field("outcome"),
            )
        })
        .collect();
    ops.sort();
    let own = |c: &str, o: &str, r: &str| (format!("{prefix}-{c}"), o.to_owned(), r.to_owned());
    assert_eq!(
        ops,
        [
            own("confirm", "recognize", "completed"),
            own("hold", "play", "canceled")
        ],
        "{media:#}"
    );
    let participants = report(app, &format!("/api/v1/calls/{call}/participants")).await;
    let items = participants["items"].as_array().unwrap();
    let agent_row = items
        .iter()
        .find(|p| p["raw_id"] == agent)
        .expect("the agent was in the call");
    assert!(agent_row["left_at"].is_string(), "{agent_row:#}");
    let mutes: Vec<bool> = agent_row["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["is_muted"].as_bool().unwrap())
        .collect();
    assert_eq!(mutes, [false, true], "{agent_row:#}");
    assert!(items.iter().any(|p| p["raw_id"] == "4:+14255550123"));

    let second_summary = report(app, &format!("/api/v1/calls/{second}")).await;
    assert_eq!(second_summary["outcome"], "completed", "{second_summary:#}");
    let second_participants = report(app, &format!("/api/v1/calls/{second}/participants")).await;
    assert!(second_participants["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["raw_id"] == user));

    // The hold music's events went to the URL its play named; everything else to the call's.
    let hold_uri = app.url(&format!("/api/callbacks?route={prefix}-hold"));
    let call_uri = app.url("/api/callbacks");
    let records = emu
        .get(&format!("/emulator/deliveries?call_id={call}"))
        .await;
    for record in records["items"].as_array().unwrap() {
        let play = record["event_types"].as_array().unwrap().iter().any(|t| {
            t.as_str()
                .unwrap()
                .starts_with("Microsoft.Communication.Play")
        });
        let expected = if play { &hold_uri } else { &call_uri };
        assert_eq!(record["callback_uri"], expected.as_str(), "{record:#}");
    }

    // Every callback stored once, each under the emulator's JWT.
    for id in calls {
        let delivered: usize = emu.get(&format!("/emulator/deliveries?call_id={id}")).await
            ["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["event_types"].as_array().unwrap().len())
            .sum();
        let timeline = report(app, &format!("/api/v1/calls/{id}/events?limit=500")).await;
        let stored = timeline["items"].as_array().unwrap();
        assert_eq!(stored.len(), delivered, "{timeline:#}");
        assert!(
            stored.iter().all(|e| e["auth_scheme"] == "jwt"),
            "{timeline:#}"
        );
    }
}

async fn sdk_drives_the_emulator(program: &str, script: &str, prefix: &str) {
    prepare();
    let emu = Emu::spawn();
    let app = spawn_calltrail(&emu).await;
    let event_grid = app.url(&format!("/api/eventgrid?secret={SECRET}"));
    let (calls, answered) = drive(
        program,
        script,
        &emu,
        &app.url("/api/callbacks"),
        &event_grid,
    )
    .await;
    let deliveries = emu.settled_deliveries().await;
    assert_eq!(deliveries["dropped"], 0, "{deliveries:#}");
    app.wait_for_projections().await;
    let agent = format!("8:acs:r_{prefix}_agent");
    let user = format!("8:acs:r_{prefix}_user");
    assert_reported(&app, &emu, &calls, prefix, &agent, &user).await;

    // The incoming calls: both announced to calltrail's Event Grid endpoint and stored there; the
    // one answered through the SDK was called back, its callbacks stored under the emulator's JWT.
    let incoming: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'Microsoft.Communication.IncomingCall'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(incoming, 2);
    let summary = report(&app, &format!("/api/v1/calls/{answered}")).await;
    assert_eq!(summary["outcome"], "completed", "{summary:#}");
    let timeline = report(&app, &format!("/api/v1/calls/{answered}/events")).await;
    let types: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"Microsoft.Communication.CallConnected")
            && types.contains(&"Microsoft.Communication.CallDisconnected"),
        "{timeline:#}"
    );
    let answered_context = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["operation_context"] == format!("{prefix}-answer"));
    assert!(answered_context, "{timeline:#}");
}

#[tokio::test]
async fn the_python_sdk_drives_the_emulator_unmodified() {
    let python = format!("{REPO}/target/sdk/python/bin/python");
    sdk_drives_the_emulator(&python, "tests/sdk/python/drive.py", "py").await;
}

#[tokio::test]
async fn the_javascript_sdk_drives_the_emulator_unmodified() {
    sdk_drives_the_emulator("node", "tests/sdk/js/drive.mjs", "js").await;
}
