"""What the contract check (scripts/contract.sh) is told beyond the OpenAPI document.

Two rules of the reporting API are not JSON Schema's to state, so a request the document allows can
still break them: a cursor is valid only as the service issued it (for that list, in that order),
and `json_path` and `json_value` go together. Before a request valid by the document is sent, it is
made to keep them: a drawn cursor is replaced by one the service issued for that list (or dropped
when that list has none), and a lone `json_path` or `json_value` gets its partner. Requests meant
to be invalid are sent as drawn.

So that the routes of one call or event answer with rows, not only 404s, about half of the valid
requests naming a call, an event or a participant name one that is stored (chosen from what was
drawn, so a run is reproducible from its seed).

The fuzzer cannot read NDJSON, so a check of its own holds every line of an export to the schema
the document gives it.
"""

import json
import os
import urllib.parse
import urllib.request
import zlib

import jsonschema_rs
import schemathesis

BASE = os.environ["CONTRACT_BASE_URL"]
TOKEN = os.environ["CONTRACT_TOKEN"]
PREFIX = "/api/v1"


def _get(path):
    request = urllib.request.Request(BASE + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _items(path):
    return _get(path)["items"]


calls = [c["call_id"] for c in _items(f"{PREFIX}/calls?limit=500")]
events = [e["event_seq"] for e in _items(f"{PREFIX}/events?limit=500")]
# The call whose sub-lists have the most rows, so that each has a second page.
busiest = max(calls, key=lambda c: len(_items(f"{PREFIX}/calls/{urllib.parse.quote(c, safe='')}/events?limit=500")))
quoted = urllib.parse.quote(busiest, safe="")
participants = sorted({p["raw_id"] for p in _items(f"{PREFIX}/calls/{quoted}/participants?limit=500")})
if not (calls and events and participants):
    raise SystemExit("the loaded database has no calls, events or participants")


def _calls_of(raw_id):
    return f"{PREFIX}/participants/{urllib.parse.quote(raw_id, safe='')}/calls"


# A participant in more than one call, if there is one, so that their list has a second page.
regular = next((p for p in participants if len(_items(f"{_calls_of(p)}?limit=2")) > 1), participants[0])

# Each list's cursors, by order: the next_cursor of a one-row first page.
LISTS = {
    f"{PREFIX}/calls": f"{PREFIX}/calls",
    f"{PREFIX}/calls/{{id}}/participants": f"{PREFIX}/calls/{quoted}/participants",
    f"{PREFIX}/calls/{{id}}/events": f"{PREFIX}/calls/{quoted}/events",
    f"{PREFIX}/calls/{{id}}/dtmf": f"{PREFIX}/calls/{quoted}/dtmf",
    f"{PREFIX}/calls/{{id}}/media": f"{PREFIX}/calls/{quoted}/media",
    f"{PREFIX}/participants/{{rawId}}/calls": _calls_of(regular),
    f"{PREFIX}/events": f"{PREFIX}/events",
}
CURSORS = {}
for template, path in LISTS.items():
    for order in ("asc", "desc"):
        cursor = _get(f"{path}?limit=1&order={order}")["next_cursor"]
        if cursor:
            CURSORS[(template, order)] = cursor
missing = sorted(f"{t} ({o})" for t in LISTS for o in ("asc", "desc") if (t, o) not in CURSORS)
if missing:
    print(f"contract hooks: no second page, so no issued cursor, for {', '.join(missing)}")


def _pick(drawn, stored):
    """A stored value for about half of the drawn ones, the same for the same draw."""
    digest = zlib.crc32(repr(drawn).encode())
    if digest % 2:
        return drawn
    return stored[(digest // 2) % len(stored)]


# Each line of an NDJSON export is one of these; the document's components resolve its references.
_document = _get(f"{PREFIX}/openapi.json")
_line_schema = _document["paths"][f"{PREFIX}/events/export"]["get"]["responses"]["200"]["content"][
    "application/x-ndjson"
]["schema"]
_line_validator = jsonschema_rs.Draft202012Validator(
    {**_line_schema, "components": _document["components"]}, validate_formats=True
)


@schemathesis.check
def ndjson_lines_conform(ctx, response, case):
    """Every line of an NDJSON answer is valid by the schema documented for it."""
    content_type = (response.headers.get("content-type") or [""])[0]
    if response.status_code != 200 or not content_type.startswith("application/x-ndjson"):
        return None
    for number, line in enumerate(response.content.decode("utf-8").splitlines(), start=1):
        errors = [error.message for error in _line_validator.iter_errors(json.loads(line))]
        if errors:
            raise AssertionError(f"NDJSON line {number} does not match its schema: {'; '.join(errors)}")
    return None


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    template = case.operation.path
    if case.path_parameters:
        params = case.path_parameters
        if "rawId" in params:
            params["rawId"] = _pick(params["rawId"], participants)
        if "event_seq" in params:
            params["event_seq"] = _pick(params["event_seq"], events)
        if "id" in params:
            params["id"] = _pick(params["id"], calls)
    query = case.query
    if not query:
        return case
    if query.get("cursor") not in (None, ""):
        order = query.get("order") or "asc"
        issued = CURSORS.get((template, order))
        if issued is None:
            del query["cursor"]
        else:
            query["cursor"] = issued
    has_path = query.get("json_path") not in (None, "")
    has_value = "json_value" in query
    if has_path and not has_value:
        query["json_value"] = "1"
    elif has_value and not has_path:
        query["json_path"] = "data.callConnectionId"
    return case
