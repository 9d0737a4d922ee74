// Drives calltrail's Call Automation emulator with the official JavaScript SDK, unmodified: every
// SDK call's return value is checked here; the callbacks it caused are checked by the Rust test that
// runs this script (tests/api/emulator/sdk.rs), through calltrail's reporting API.
//
// Operations the SDK declares as Promise<void> are checked by resolving: the SDK rejects any
// status other than the one the operation expects.
//
// Usage: node drive.mjs ENDPOINT ACCESS_KEY CALLBACK_URL EVENT_GRID_URL. Prints {"calls": [call
// ids], "answered": the incoming call answered, "rejected": true} on success.

import assert from "node:assert/strict";
import { CallAutomationClient } from "@azure/communication-call-automation";

const CALLEE = "+14255550123";
const AGENT = "8:acs:r_js_agent";
const USER = "8:acs:r_js_user";

async function wait(what, check, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`waited in vain for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The emulator's own (unsigned) control endpoints: what a person on the phone does. */
async function control(endpoint, path, body) {
  const response = await fetch(endpoint + path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `${path}: ${response.status}`);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

async function main(endpoint, key, callbackUrl, eventGridUrl) {
  const client = new CallAutomationClient(`endpoint=${endpoint}/;accesskey=${key}`, {
    allowInsecureConnection: true,
  });
  const callee = { phoneNumber: CALLEE };

  // A call to a phone number.
  const created = await client.createCall(
    { targetParticipant: callee, sourceCallIdNumber: { phoneNumber: "+18005550100" } },
    callbackUrl,
    { operationContext: "js-create" },
  );
  const props = created.callConnectionProperties;
  assert.equal(props.callConnectionState, "connecting");
  assert.equal(props.targetParticipants[0].phoneNumber, CALLEE);
  const callId = props.callConnectionId;
  const connection = created.callConnection;
  const media = connection.getCallMedia();
  const connected = await wait("the callee to answer", async () => {
    const p = await connection.getCallConnectionProperties();
    return p.callConnectionState === "connected" && p;
  });
  assert.equal(connected.callConnectionId, callId);
  assert.equal(connected.sourceCallerIdNumber.phoneNumber, "+18005550100");

  await media.startContinuousDtmfRecognition(callee, { operationContext: "js-keys" });
  // The hold music's events go to a URL of their own (the test checks where each event went).
  const holdUrl = `${callbackUrl}${callbackUrl.includes("?") ? "&" : "?"}route=js-hold`;
  await media.playToAll([{ kind: "fileSource", url: "https://media.example.org/hold.wav" }], {
      loop: true,
      operationContext: "js-hold",
      operationCallbackUrl: holdUrl,
    });
  await media.startRecognizing(callee, {
      kind: "callMediaRecognizeDtmfOptions",
      maxTonesToCollect: 2,
      stopDtmfTones: ["pound"],
      initialSilenceTimeoutInSeconds: 300,
      playPrompt: { kind: "textSource", text: "Press 1 to confirm" },
      operationContext: "js-confirm",
    });
  await control(endpoint, `/emulator/calls/${callId}/dtmf`, { participant: `4:${CALLEE}`, tones: "12" });
  await wait("the recognition to complete", async () => {
    const view = await control(endpoint, `/emulator/calls/${callId}`);
    return view.recognizing === null;
  });
  const sent = await media.sendDtmfTones(["one", "pound"], callee, { operationContext: "js-send" });
  assert.equal(sent.operationContext, "js-send");

  const agent = { communicationUserId: AGENT };
  const added = await connection.addParticipant(
    { targetParticipant: agent },
    { operationContext: "js-add", invitationTimeoutInSeconds: 60 },
  );
  assert.ok(added.invitationId);
  assert.equal(added.participant.identifier.communicationUserId, AGENT);
  assert.equal(added.operationContext, "js-add");
  await wait("the agent to answer", async () => (await connection.listParticipants()).values.length === 3);
  const muted = await connection.muteParticipant(agent, { operationContext: "js-mute" });
  assert.equal(muted.operationContext, "js-mute");
  const got = await connection.getParticipant(agent);
  assert.equal(got.identifier.communicationUserId, AGENT);
  assert.equal(got.isMuted, true);
  const everyone = (await connection.listParticipants()).values;
  assert.equal(everyone.find((p) => p.identifier.communicationUserId === AGENT).isMuted, true);
  assert.equal(everyone.find((p) => p.identifier.phoneNumber === CALLEE).isMuted, false);
  const removed = await connection.removeParticipant(agent, { operationContext: "js-remove" });
  assert.equal(removed.operationContext, "js-remove");
  await media.cancelAllOperations();
  await media.stopContinuousDtmfRecognition(callee, { operationContext: "js-keys-off" });
  await connection.hangUp(true);
  const ended = await connection.getCallConnectionProperties();
  assert.equal(ended.callConnectionState, "disconnected");

  // A call to a user, hung up for the application's leg only.
  const second = await client.createCall({ targetParticipant: { communicationUserId: USER } }, callbackUrl);
  const secondId = second.callConnectionProperties.callConnectionId;
  assert.equal(second.callConnectionProperties.targetParticipants[0].communicationUserId, USER);
  await wait("the user to answer", async () => {
    const p = await second.callConnection.getCallConnectionProperties();
    return p.callConnectionState === "connected";
  });
  const raws = (await second.callConnection.listParticipants()).values.map((p) => p.identifier.communicationUserId);
  assert.ok(raws.includes(USER), JSON.stringify(raws));
  await second.callConnection.hangUp(false);

  // Someone calls the application: the emulator announces it to the Event Grid endpoint (calltrail's,
  // which stores it); the application answers with the incomingCallContext, then rejects another.
  const incoming = await control(endpoint, "/emulator/incoming",
    { from: "4:+14255550150", to: "8:acs:r_js_app", endpoint: eventGridUrl });
  const answered = await client.answerCall(incoming.incomingCallContext, callbackUrl,
    { operationContext: "js-answer" });
  const answeredProps = answered.callConnectionProperties;
  assert.equal(answeredProps.serverCallId, incoming.serverCallId);
  const answeredId = answeredProps.callConnectionId;
  await wait("the answered call to connect", async () => {
    const p = await answered.callConnection.getCallConnectionProperties();
    return p.callConnectionState === "connected";
  });
  await answered.callConnection.hangUp(true);
  const another = await control(endpoint, "/emulator/incoming",
    { from: "4:+14255550151", to: "8:acs:r_js_app", endpoint: eventGridUrl });
  await client.rejectCall(another.incomingCallContext, { callRejectReason: "busy" });

  console.log(JSON.stringify({ calls: [callId, secondId], answered: answeredId, rejected: true }));
}

main(...process.argv.slice(2, 6)).catch((error) => {
  console.error(error);
  process.exit(1);
});
