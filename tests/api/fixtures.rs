//! Realistic callback payloads of every era, built with parameters so whole calls can be scripted.

use serde_json::{json, Value};

pub const TYPE_PREFIX: &str = "Microsoft.Communication.";

// ---- A1: private preview, one Event Grid-like object per POST, PascalCase data, null ids ----

pub fn a1(event_type: &str, data: Value, time: &str) -> Value {
    json!({
        "id": null, "topic": null,
        "subject": format!("callLeg/{}/x", data["CallLegId"].as_str().unwrap_or("")),
        "data": data,
        "eventType": format!("{TYPE_PREFIX}{event_type}"),
        "eventTime": time,
        "metadataVersion": null, "dataVersion": null
    })
}

pub fn a1_state(call: &str, state: &str, time: &str) -> Value {
    a1(
        "CallLegStateChanged",
        json!({"ConversationId": format!("conv-{call}"), "CallLegId": call, "CallState": state}),
        time,
    )
}

pub fn a1_dtmf(call: &str, seq: i64, tone: &str, time: &str) -> Value {
    a1(
        "DtmfReceived",
        json!({"ToneInfo": {"SequenceId": seq, "Tone": tone}, "CallLegId": call}),
        time,
    )
}

pub fn a1_play(call: &str, ctx: &str, status: &str, code: i64, subcode: i64, time: &str) -> Value {
    a1(
        "PlayAudioResult",
        json!({"ResultInfo": {"Code": code, "Subcode": subcode, "Message": "msg"},
               "OperationContext": ctx, "Status": status, "CallLegId": call}),
        time,
    )
}

pub fn a1_invite(call: &str, ctx: &str, status: &str, time: &str) -> Value {
    a1(
        "InviteParticipantResult",
        json!({"ResultInfo": {"Code": 200, "Subcode": 0, "Message": "ok"},
               "OperationContext": ctx, "Status": status, "CallLegId": call}),
        time,
    )
}

pub fn a1_participants(call: &str, raw_ids: &[(&str, bool)], time: &str) -> Value {
    let participants: Vec<Value> = raw_ids
        .iter()
        .map(|(raw, muted)| json!({"Identifier": {"RawId": raw}, "ParticipantId": format!("p-{raw}"), "IsMuted": muted}))
        .collect();
    a1(
        "ParticipantsUpdated",
        json!({"CallLegId": call, "Participants": participants}),
        time,
    )
}

// ---- A2: public preview, one CloudEvent per POST, camelCase ----

pub fn cloud_event(id: &str, event_type: &str, call: &str, data: Value, time: &str) -> Value {
    json!({
        "id": id,
        "source": format!("calling/callConnections/{call}"),
        "type": format!("{TYPE_PREFIX}{event_type}"),
        "subject": format!("calling/callConnections/{call}"),
        "time": time,
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "data": data
    })
}

pub fn a2_state(id: &str, call: &str, state: &str, time: &str) -> Value {
    cloud_event(
        id,
        "CallConnectionStateChanged",
        call,
        json!({"serverCallId": format!("srv-{call}"), "callConnectionId": call, "callConnectionState": state}),
        time,
    )
}

pub fn a2_tone(id: &str, call: &str, seq: i64, tone: &str, time: &str) -> Value {
    cloud_event(
        id,
        "ToneReceived",
        call,
        json!({"toneInfo": {"sequenceId": seq, "tone": tone}, "callConnectionId": call}),
        time,
    )
}

// ---- B: GA Call Automation, arrays of CloudEvents ----

pub fn b_common(call: &str) -> Value {
    json!({"callConnectionId": call, "serverCallId": format!("srv-{call}"), "correlationId": format!("corr-{call}")})
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

pub fn b_event(id: &str, event_type: &str, call: &str, extra: Value, time: &str) -> Value {
    cloud_event(id, event_type, call, with(b_common(call), extra), time)
}

pub fn phone(number: &str) -> Value {
    json!({"kind": "phoneNumber", "rawId": format!("4:{number}"), "phoneNumber": {"value": number}})
}

pub fn acs_user(id: &str) -> Value {
    json!({"kind": "communicationUser", "rawId": id, "communicationUser": {"id": id}})
}

/// A participant entry: (identifier, muted, on hold).
pub fn b_participants(
    id: &str,
    call: &str,
    seq: i64,
    who: &[(Value, bool, bool)],
    time: &str,
) -> Value {
    let participants: Vec<Value> = who
        .iter()
        .map(|(identifier, muted, hold)| json!({"identifier": identifier, "isMuted": muted, "isOnHold": hold}))
        .collect();
    b_event(
        id,
        "ParticipantsUpdated",
        call,
        json!({"sequenceNumber": seq, "participants": participants}),
        time,
    )
}

pub fn b_tone(id: &str, call: &str, seq: i64, tone: &str, time: &str) -> Value {
    b_event(
        id,
        "ContinuousDtmfRecognitionToneReceived",
        call,
        json!({"sequenceId": seq, "tone": tone, "resultInformation": {"code": 200, "subCode": 0, "message": "ok"}}),
        time,
    )
}

pub fn b_result(
    id: &str,
    event_type: &str,
    call: &str,
    ctx: &str,
    code: i64,
    sub: i64,
    time: &str,
) -> Value {
    b_event(
        id,
        event_type,
        call,
        json!({"operationContext": ctx, "resultInformation": {"code": code, "subCode": sub, "message": "m"}}),
        time,
    )
}

// ---- Event Grid deliveries ----

pub fn eg_incoming_call(id: &str, to: &str, from: &str) -> Value {
    json!({
        "id": id,
        "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Communication/communicationServices/acs",
        "subject": format!("/caller/4:{from}/recipient/4:{to}"),
        "data": {
            "to": phone(to), "from": phone(from),
            "serverCallId": "srv-incoming", "callerDisplayName": "",
            "incomingCallContext": "eyJhbGciOiJub25lIn0.eyJjYyI6IngifQ.",
            "correlationId": "corr-incoming"
        },
        "eventType": "Microsoft.Communication.IncomingCall",
        "dataVersion": "1.0", "metadataVersion": "1",
        "eventTime": "2024-03-12T09:15:40.1234567Z"
    })
}

pub fn eg_recording_file(id: &str) -> Value {
    json!({
        "id": id,
        "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Communication/communicationServices/acs",
        "subject": "recordingId/rec-1",
        "data": {
            "recordingStorageInfo": {"recordingChunks": [{"documentId": "d1", "index": 0, "endReason": "SessionEnded",
              "contentLocation": "https://x/c", "metadataLocation": "https://x/m"}]},
            "recordingStartTime": "2024-03-12T09:15:40Z", "recordingDurationMs": 53000,
            "sessionEndReason": "CallEnded"
        },
        "eventType": "Microsoft.Communication.RecordingFileStatusUpdated",
        "dataVersion": "1.0", "metadataVersion": "1",
        "eventTime": "2024-03-12T09:16:40Z"
    })
}

pub fn eg_validation(code: &str) -> Value {
    json!([{
        "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
        "topic": "/subscriptions/s",
        "subject": "",
        "data": {"validationCode": code, "validationUrl": "https://rp-eastus2.eventgrid.azure.net/api/updatevalidationstatus?x=y"},
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2024-03-12T09:15:40Z",
        "metadataVersion": "1", "dataVersion": "2"
    }])
}
