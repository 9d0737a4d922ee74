//! Incoming calls: the emulator announces them to the application's Event Grid endpoint (here
//! calltrail's, which answers the validation handshake and stores the event), and the application
//! answers, rejects or redirects them through the GA routes.

use serde_json::{json, Value};

use super::ga::{ga, phone, wait_event};
use super::*;
use crate::helpers::stored_events;

async fn announce(emu: &Emu, body: &Value) -> (u16, Value) {
    let response = emu
        .client
        .post(format!("{}/emulator/incoming", emu.address))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn an_incoming_call_reaches_event_grid_and_is_answered_rejected_or_redirected() {
    let emu = Emu::spawn();
    let app = spawn_calltrail(&emu).await;
    let endpoint = app.url(&format!("/api/eventgrid?secret={SECRET}"));
    let call_in = |from: &str| json!({"from": format!("4:{from}"), "to": {"communicationUser": {"id": "8:acs:r_app"}}, "endpoint": endpoint});

    let (status, incoming) = announce(&emu, &call_in("+14255550111")).await;
    assert_eq!(status, 202, "{incoming}");
    assert_eq!(incoming["endpointStatus"], 200);
    let context = incoming["incomingCallContext"].as_str().unwrap().to_owned();
    // calltrail validated the subscription and stored the event as Event Grid sent it.
    let stored: Vec<_> = stored_events(&app.pool)
        .await
        .into_iter()
        .filter(|s| s.event.family == "incoming_call")
        .map(|s| {
            (
                s.event.family,
                s.event.server_call_id,
                s.event.details,
                s.raw,
            )
        })
        .collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1.as_deref(), incoming["serverCallId"].as_str());
    assert_eq!(stored[0].2["from"]["raw_id"], "4:+14255550111");
    assert_eq!(stored[0].2["to"]["raw_id"], "8:acs:r_app");
    // The event as Event Grid's schema has it (the contract's IncomingCall example).
    let raw: Value = serde_json::from_str(&stored[0].3).unwrap();
    let event = if raw.is_array() { &raw[0] } else { &raw };
    assert_eq!(event["eventType"], "Microsoft.Communication.IncomingCall");
    assert_eq!(
        event["subject"],
        "/caller/4:+14255550111/recipient/8:acs:r_app"
    );
    assert_eq!(
        (&event["dataVersion"], &event["metadataVersion"]),
        (&json!("1.0"), &json!("1"))
    );
    assert!(event["topic"]
        .as_str()
        .unwrap()
        .contains("/providers/Microsoft.Communication/communicationServices/"));
    let data = &event["data"];
    assert_eq!(
        data["from"],
        json!({"kind": "phoneNumber", "rawId": "4:+14255550111", "phoneNumber": {"value": "+14255550111"}})
    );
    assert_eq!(
        data["to"],
        json!({"kind": "communicationUser", "rawId": "8:acs:r_app", "communicationUser": {"id": "8:acs:r_app"}})
    );
    assert_eq!(data["incomingCallContext"].as_str(), Some(context.as_str()));
    assert_eq!(data["correlationId"], incoming["correlationId"]);
    assert_eq!(data["callerDisplayName"], "");
    assert_eq!(
        data["customContext"],
        json!({"sipHeaders": {}, "voipHeaders": {}})
    );

    let answer = json!({"incomingCallContext": context, "callbackUri": app.url("/api/callbacks"),
                        "operationContext": "answered"});
    let (status, props) = ga(
        &emu,
        reqwest::Method::POST,
        "/calling/callConnections:answer",
        Some(&answer),
    )
    .await;
    assert_eq!(status, 200, "{props}");
    assert_eq!(props["serverCallId"], incoming["serverCallId"]);
    let id = props["callConnectionId"].as_str().unwrap().to_owned();
    let events = wait_event(&emu, &id, "ParticipantsUpdated").await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "Microsoft.Communication.CallConnected",
            "Microsoft.Communication.ParticipantsUpdated"
        ]
    );
    assert_eq!(events[0]["data"]["operationContext"], "answered");
    // The answered call keeps the ids it was announced with, in every callback.
    for event in &events {
        assert_eq!(
            event["data"]["serverCallId"], incoming["serverCallId"],
            "{event}"
        );
        assert_eq!(
            event["data"]["correlationId"], incoming["correlationId"],
            "{event}"
        );
        assert_eq!(
            event["data"]["callConnectionId"].as_str(),
            Some(id.as_str())
        );
    }
    let (_, list) = ga(
        &emu,
        reqwest::Method::GET,
        &format!("/calling/callConnections/{id}/participants"),
        None,
    )
    .await;
    let raws: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["identifier"]["rawId"].as_str().unwrap())
        .collect();
    assert_eq!(raws, ["8:acs:r_app", "4:+14255550111"]);
    // A context answers once.
    let (status, again) = ga(
        &emu,
        reqwest::Method::POST,
        "/calling/callConnections:answer",
        Some(&answer),
    )
    .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (404, Some("8522"))
    );
    let (status, _) = ga(
        &emu,
        reqwest::Method::POST,
        &format!("/calling/callConnections/{id}:terminate"),
        None,
    )
    .await;
    assert_eq!(status, 204);

    // Rejected and redirected calls make no call and no callback.
    let (_, second) = announce(&emu, &call_in("+14255550112")).await;
    let reject =
        json!({"incomingCallContext": second["incomingCallContext"], "callRejectReason": "busy"});
    let (status, _) = ga(
        &emu,
        reqwest::Method::POST,
        "/calling/callConnections:reject",
        Some(&reject),
    )
    .await;
    assert_eq!(status, 204);
    let (_, third) = announce(&emu, &call_in("+14255550113")).await;
    let redirect = json!({"incomingCallContext": third["incomingCallContext"], "target": phone("+14255550199")});
    let (status, _) = ga(
        &emu,
        reqwest::Method::POST,
        "/calling/callConnections:redirect",
        Some(&redirect),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = ga(
        &emu,
        reqwest::Method::POST,
        "/calling/callConnections:reject",
        Some(&reject),
    )
    .await;
    assert_eq!(status, 404, "a rejected call cannot be rejected again");
    assert_eq!(
        emu.get("/emulator/calls").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // An endpoint that fails the handshake, and none at all.
    let refusing = json!({"from": "4:+14255550114", "to": "8:acs:r_app", "endpoint": app.url("/api/eventgrid")});
    let (status, body) = announce(&emu, &refusing).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("EventGridDeliveryFailed")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("validation"),
        "{body}"
    );
    let (status, body) = announce(
        &emu,
        &json!({"from": "4:+14255550114", "to": "8:acs:r_app"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("event_grid_endpoint"),
        "{body}"
    );
}
