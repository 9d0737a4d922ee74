#!/usr/bin/env bash
# The dashboard's call page in the reporting-query benchmark (run by scripts/bench-queries.sh, or
# against any running calltrail): delivers one call of 100 participants and 2,000 events through
# the callback route (the same shape as the big-call test, tests/api/ui/big.rs: 100 participant
# snapshots, 1,800 key presses, 49 plays), waits until the call model holds it, logs in to the
# dashboard with an API token and times the call page: its first window, and a later one.
#   scripts/bench-call-page.sh URL API_TOKEN [CALLBACK_SECRET] [ITERATIONS]
# Each request is timed by curl from its start to the whole body (loopback; client start-up
# excluded), after a warm-up of a tenth of the requests.
set -euo pipefail
base=$1
token=$2
secret=${3:-local-dev-secret}
iterations=${4:-100}
call=bench-big-call

# The 2,000 events, in deliveries of 100 (format B: arrays of CloudEvents), one file each.
payloads=$(mktemp -d /tmp/calltrail-bench-call.XXXXXX)
trap 'rm -rf "$payloads"' EXIT
python3 - "$call" "$payloads" <<'PY'
import datetime, json, sys
call, out = sys.argv[1], sys.argv[2]
start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(hours=2)
def at(ms):
    return (start + datetime.timedelta(milliseconds=ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
def event(eid, kind, data, time):
    base = {"callConnectionId": call, "serverCallId": "srv-" + call, "correlationId": "corr-" + call}
    base.update(data)
    return {"id": eid, "source": "calling/callConnections/" + call, "type": "Microsoft.Communication." + kind,
            "subject": "calling/callConnections/" + call, "time": time, "specversion": "1.0",
            "datacontenttype": "application/json", "data": base}
def user(n):
    raw = "8:acs:bench-p%03d" % n
    return {"kind": "communicationUser", "rawId": raw, "communicationUser": {"id": raw}}
ok = {"code": 200, "subCode": 0, "message": "ok"}
events = [event("b-0", "CallConnected", {}, at(0))]
for n in range(100):
    people = [{"identifier": user(p), "isMuted": False, "isOnHold": False} for p in range(n + 1)]
    events.append(event("b-p%d" % n, "ParticipantsUpdated", {"sequenceNumber": n + 1, "participants": people}, at(n * 1000)))
for k in range(1800):
    events.append(event("b-t%d" % k, "ContinuousDtmfRecognitionToneReceived",
                        {"sequenceId": k + 1, "tone": "five", "participantId": "8:acs:bench-p%03d" % (k % 100),
                         "resultInformation": ok}, at(100000 + k * 100)))
for k in range(49):
    context = {"operationContext": "prompt-%d" % k, "resultInformation": ok}
    events.append(event("b-s%d" % k, "PlayStarted", context, at(100000 + k * 3000)))
    events.append(event("b-c%d" % k, "PlayCompleted", context, at(101000 + k * 3000)))
events.append(event("b-end", "CallDisconnected", {}, at(300000)))
assert len(events) == 2000
for i in range(0, len(events), 100):
    with open("%s/%04d.json" % (out, i // 100), "w") as f:
        json.dump(events[i:i + 100], f)
PY
for file in "$payloads"/*.json; do
  curl -fsS -o /dev/null -H 'content-type: application/json' --data-binary "@$file" \
    "$base/api/callbacks?secret=$secret"
done
for _ in $(seq 1 600); do
  count=$(curl -fsS -H "authorization: Bearer $token" "$base/api/v1/calls/$call" 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("event_count", 0))' 2>/dev/null || echo 0)
  [ "$count" = 2000 ] && break
  sleep 0.1
done
[ "$count" = 2000 ] || { echo "the call model did not reach $call's 2,000 events" >&2; exit 1; }

# A session as a browser on the same origin gets one.
cookie=$(curl -fsS -o /dev/null -D - -H 'sec-fetch-site: same-origin' \
  --data-urlencode "token=$token" --data-urlencode 'next=/ui' "$base/ui/login" |
  tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -n 1)
[ -n "$cookie" ] || { echo "the dashboard login gave no session cookie" >&2; exit 1; }

time_page() {
  local name=$1 path=$2 warm=$((iterations / 10)) i bytes
  bytes=$(curl -fsS -H "cookie: $cookie" "$base$path" | wc -c)
  for i in $(seq 1 "$warm"); do curl -fsS -o /dev/null -H "cookie: $cookie" "$base$path"; done
  for i in $(seq 1 "$iterations"); do
    curl -fsS -o /dev/null -w '%{time_total}\n' -H "cookie: $cookie" "$base$path"
  done | sort -n | awk -v name="$name" -v n="$iterations" -v bytes="$bytes" '
    { t[NR] = $1 * 1000 }
    END { p50 = t[int((n - 1) * 0.50) + 1]; p99 = t[int((n - 1) * 0.99) + 1];
          printf "| %s | %d | %.2f | %.2f | %.2f | %d |\n", name, n, p50, p99, t[n], bytes }'
}
echo "| dashboard page | requests | p50 ms | p99 ms | max ms | bytes |"
echo "|---|---:|---:|---:|---:|---:|"
time_page "call page, 100 participants, 2,000 events (first window)" "/ui/calls/$call"
time_page "the same, lanes 1, window 8" "/ui/calls/$call?lanes=1&window=8"
