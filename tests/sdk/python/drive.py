"""Drives calltrail's Call Automation emulator with the official Python SDK, unmodified: every
SDK call's return value is checked here; the callbacks it caused are checked by the Rust test that
runs this script (tests/api/emulator/sdk.rs), through calltrail's reporting API.

Usage: drive.py ENDPOINT ACCESS_KEY CALLBACK_URL EVENT_GRID_URL. Prints {"calls": [call ids],
"answered": the incoming call answered, "rejected": true} on success.
"""

import json
import sys
import time
import urllib.request

from azure.core.credentials import AzureKeyCredential
from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationUserIdentifier,
    DtmfTone,
    FileSource,
    PhoneNumberIdentifier,
    RecognizeInputType,
    TextSource,
)

CALLEE = "+14255550123"
AGENT = "8:acs:r_py_agent"
USER = "8:acs:r_py_user"


def wait(what, check, seconds=20):
    deadline = time.time() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"waited in vain for {what}")
        time.sleep(0.05)


def control(endpoint, path, body=None):
    """The emulator's own (unsigned) control endpoints: what a person on the phone does."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        endpoint + path, data=data, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def main(endpoint, key, callback_url, event_grid_url):
    client = CallAutomationClient(endpoint, AzureKeyCredential(key))
    callee = PhoneNumberIdentifier(CALLEE)

    # A call to a phone number.
    created = client.create_call(
        callee,
        callback_url,
        source_caller_id_number=PhoneNumberIdentifier("+18005550100"),
        operation_context="py-create",
    )
    assert created.call_connection_state == "connecting", created.call_connection_state
    assert created.targets[0].raw_id == "4:" + CALLEE, created.targets
    call_id = created.call_connection_id
    connection = client.get_call_connection(call_id)
    props = wait(
        "the callee to answer",
        lambda: (p := connection.get_call_properties()).call_connection_state == "connected" and p,
    )
    assert props.call_connection_id == call_id
    assert props.source_caller_id_number.raw_id == "4:+18005550100"

    assert connection.start_continuous_dtmf_recognition(callee, operation_context="py-keys") is None
    # The hold music's events go to a URL of their own (the test checks where each event went).
    hold_url = callback_url + ("&" if "?" in callback_url else "?") + "route=py-hold"
    result = connection.play_media_to_all(
        FileSource("https://media.example.org/hold.wav"),
        loop=True,
        operation_context="py-hold",
        operation_callback_url=hold_url,
    )
    assert result is None
    assert (
        connection.start_recognizing_media(
            RecognizeInputType.DTMF,
            callee,
            play_prompt=TextSource(text="Press 1 to confirm"),
            initial_silence_timeout=300,
            dtmf_max_tones_to_collect=2,
            dtmf_stop_tones=[DtmfTone.POUND],
            operation_context="py-confirm",
        )
        is None
    )
    control(endpoint, f"/emulator/calls/{call_id}/dtmf", {"participant": "4:" + CALLEE, "tones": "12"})
    wait(
        "the recognition to complete",
        lambda: control(endpoint, f"/emulator/calls/{call_id}")["recognizing"] is None,
    )
    sent = connection.send_dtmf_tones([DtmfTone.ONE, DtmfTone.POUND], callee, operation_context="py-send")
    assert sent.operation_context == "py-send", sent

    agent = CommunicationUserIdentifier(AGENT)
    added = connection.add_participant(agent, operation_context="py-add", invitation_timeout=60)
    assert added.invitation_id, added
    assert added.participant.identifier.raw_id == AGENT, added.participant
    assert added.operation_context == "py-add"
    wait("the agent to answer", lambda: len(list(connection.list_participants())) == 3)
    muted = connection.mute_participant(agent, operation_context="py-mute")
    assert muted.operation_context == "py-mute", muted
    got = connection.get_participant(agent)
    assert got.identifier.raw_id == AGENT and got.is_muted, got
    everyone = {p.identifier.raw_id: p.is_muted for p in connection.list_participants()}
    assert everyone.get(AGENT) is True and everyone.get("4:" + CALLEE) is False, everyone
    removed = connection.remove_participant(agent, operation_context="py-remove")
    assert removed.operation_context == "py-remove", removed
    assert connection.cancel_all_media_operations() is None
    assert connection.stop_continuous_dtmf_recognition(callee, operation_context="py-keys-off") is None
    assert connection.hang_up(is_for_everyone=True) is None
    ended = connection.get_call_properties()
    assert ended.call_connection_state == "disconnected", ended.call_connection_state

    # A call to a user, hung up for the application's leg only.
    second = client.create_call(CommunicationUserIdentifier(USER), callback_url)
    assert second.targets[0].raw_id == USER
    other = client.get_call_connection(second.call_connection_id)
    wait("the user to answer", lambda: other.get_call_properties().call_connection_state == "connected")
    raws = sorted(p.identifier.raw_id for p in other.list_participants())
    assert USER in raws, raws
    assert other.hang_up(is_for_everyone=False) is None

    # Someone calls the application: the emulator announces it to the Event Grid endpoint
    # (calltrail's, which stores it); the application answers with the incomingCallContext, then
    # rejects another.
    incoming = control(
        endpoint,
        "/emulator/incoming",
        {"from": "4:+14255550140", "to": "8:acs:r_py_app", "endpoint": event_grid_url},
    )
    answered = client.answer_call(
        incoming["incomingCallContext"], callback_url, operation_context="py-answer"
    )
    assert answered.server_call_id == incoming["serverCallId"], answered
    answered_connection = client.get_call_connection(answered.call_connection_id)
    wait(
        "the answered call to connect",
        lambda: answered_connection.get_call_properties().call_connection_state == "connected",
    )
    assert answered_connection.hang_up(is_for_everyone=True) is None
    another = control(
        endpoint,
        "/emulator/incoming",
        {"from": "4:+14255550141", "to": "8:acs:r_py_app", "endpoint": event_grid_url},
    )
    assert client.reject_call(another["incomingCallContext"], call_reject_reason="busy") is None

    print(
        json.dumps(
            {
                "calls": [call_id, second.call_connection_id],
                "answered": answered.call_connection_id,
                "rejected": True,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])
