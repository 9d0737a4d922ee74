-- Synthetic data for the reporting-query benchmark: :calls calls (default 100,000) over the last 30
-- days, ten events each (so 1,000,000 events), and projection rows consistent with those events.
-- Run against a migrated, empty database: psql -v calls=100000 -f scripts/bench-data.sql
\set ON_ERROR_STOP on
\if :{?calls}
\else
\set calls 100000
\endif

SET synchronous_commit = off;
SELECT set_config('bench.base', (date_trunc('day', now()) - interval '30 days')::text, false);

-- One row per call with what its events and projection rows are derived from.
CREATE TEMP TABLE bench_calls AS
SELECT n,
       'bench-call-' || n AS call_id,
       current_setting('bench.base')::timestamptz
         + (n::float8 / :calls) * interval '30 days' AS started,
       CASE WHEN n % 20 = 0 THEN 'failed' WHEN n % 20 = 1 THEN 'never_connected' ELSE 'completed' END AS outcome,
       n % 10 = 3 AS play_failed,
       '4:+1425' || lpad(((n * 37) % 20000)::text, 7, '0') AS phone,
       30000 + (n * 7919) % 600000 AS duration_ms
FROM generate_series(0, :calls - 1) AS n;

-- The ten events of each call, in time order so that event_seq follows receipt as in production.
CREATE TEMP TABLE bench_events AS
SELECT c.call_id, c.n, k,
       c.started + k * interval '5 seconds' AS received_at,
       CASE k WHEN 0 THEN 'CallConnected' WHEN 1 THEN 'ParticipantsUpdated' WHEN 2 THEN 'PlayStarted'
              WHEN 3 THEN CASE WHEN c.play_failed THEN 'PlayFailed' ELSE 'PlayCompleted' END
              WHEN 7 THEN 'RecognizeCompleted' WHEN 8 THEN 'ParticipantsUpdated' WHEN 9 THEN 'CallDisconnected'
              ELSE 'ContinuousDtmfRecognitionToneReceived' END AS short_type,
       CASE k WHEN 0 THEN 'call_state' WHEN 9 THEN 'call_state' WHEN 1 THEN 'participants_updated'
              WHEN 8 THEN 'participants_updated' WHEN 2 THEN 'play' WHEN 3 THEN 'play' WHEN 7 THEN 'recognize'
              ELSE 'dtmf_tone' END AS family,
       CASE WHEN k IN (2, 3) THEN 'welcome-prompt' WHEN k = 7 THEN 'menu' END AS operation_context,
       CASE WHEN k = 3 AND c.play_failed THEN 400 WHEN k IN (3, 4, 5, 6, 7) THEN 200 END AS result_code,
       CASE WHEN k = 3 AND c.play_failed THEN 8536 WHEN k IN (3, 4, 5, 6, 7) THEN 0 END AS result_sub_code,
       CASE WHEN k IN (1, 8) THEN k END AS sequence_number
FROM bench_calls c CROSS JOIN generate_series(0, 9) AS k;

INSERT INTO event_dedup (dedup_key, first_received_at)
SELECT sha256(convert_to(call_id || ':' || k, 'UTF8')), received_at FROM bench_events;

INSERT INTO events (received_at, dedup_key, endpoint, format, auth_scheme, auth_principal, request_id,
                    event_id, event_type, call_id, correlation_id, operation_context, raw)
SELECT e.received_at, sha256(convert_to(e.call_id || ':' || e.k, 'UTF8')), 'callbacks', 'call_automation',
       CASE WHEN e.n % 20 = 7 THEN 'jwt' ELSE 'query_secret' END,
       CASE WHEN e.n % 20 = 7 THEN 'acs' ELSE 'secret:0' END,
       md5(e.call_id || e.k), md5('id' || e.call_id || e.k),
       'Microsoft.Communication.' || e.short_type, e.call_id,
       'corr-' || e.call_id, e.operation_context,
       json_build_object(
         'id', md5('id' || e.call_id || e.k), 'source', 'calling/callConnections/' || e.call_id,
         'type', 'Microsoft.Communication.' || e.short_type, 'subject', 'calling/callConnections/' || e.call_id,
         'time', e.received_at - interval '40 milliseconds', 'specversion', '1.0',
         'datacontenttype', 'application/json',
         'data', json_build_object(
           'callConnectionId', e.call_id, 'serverCallId', 'srv-' || e.call_id,
           'correlationId', 'corr-' || e.call_id, 'operationContext', e.operation_context,
           'resultInformation', CASE WHEN e.result_code IS NOT NULL THEN json_build_object(
             'code', e.result_code, 'subCode', e.result_sub_code, 'message', 'Action completed.') END))::text
FROM bench_events e
ORDER BY e.received_at, e.k;

INSERT INTO calls (call_id, server_call_id, correlation_id, state, first_event_at, last_event_at,
                   connected_at, disconnected_at, duration_ms, participant_count, peak_participants,
                   outcome, failure_code, failure_sub_code, failure_message, event_count, dtmf_count,
                   media_total, media_succeeded, last_event_seq)
SELECT c.call_id, 'srv-' || c.call_id, 'corr-' || c.call_id, 'disconnected', c.started,
       c.started + interval '45 seconds',
       CASE WHEN c.outcome <> 'never_connected' THEN c.started END,
       c.started + interval '45 seconds',
       CASE WHEN c.outcome <> 'never_connected' THEN c.duration_ms END,
       0, 2, c.outcome,
       CASE WHEN c.outcome = 'failed' THEN 500 END, CASE WHEN c.outcome = 'failed' THEN 8500 END,
       CASE WHEN c.outcome = 'failed' THEN 'Call failed.' END,
       10, 3, 2, CASE WHEN c.play_failed THEN 1 ELSE 2 END, 0
FROM bench_calls c;

-- A phone participant (every fifth one leaves and comes back) and the bot of every call.
INSERT INTO call_participants (call_id, raw_id, interval_no, kind, display_id, joined_at, left_at,
                               joined_sequence, left_sequence, call_started_at)
SELECT c.call_id, c.phone, 1, 'phone_number', '4:+1425*******', c.started + interval '5 seconds',
       c.started + CASE WHEN c.n % 5 = 0 THEN interval '20 seconds' ELSE interval '45 seconds' END, 1, 2,
       c.started
FROM bench_calls c
UNION ALL
SELECT c.call_id, c.phone, 2, 'phone_number', '4:+1425*******', c.started + interval '30 seconds',
       c.started + interval '45 seconds', 2, 3, c.started
FROM bench_calls c WHERE c.n % 5 = 0
UNION ALL
SELECT c.call_id, '8:acs:bench-bot', 1, 'communication_user', '8:acs:bench-bot', c.started,
       c.started + interval '45 seconds', 1, 3, c.started
FROM bench_calls c;

INSERT INTO participant_changes (call_id, raw_id, ordinal, at, sequence_number, is_muted, is_on_hold)
SELECT c.call_id, c.phone, o, c.started + (5 + o * 5) * interval '1 second', o, o % 2 = 1, o = 2
FROM bench_calls c CROSS JOIN generate_series(1, 3) AS o;

INSERT INTO dtmf_tones (call_id, ordinal, sequence_id, tone, at, participant_id, repeated,
                        missing_before, event_seq)
SELECT c.call_id, o, o, (o % 10)::text, c.started + (15 + o * 5) * interval '1 second', c.phone,
       false, 0, 0
FROM bench_calls c CROSS JOIN generate_series(1, 3) AS o;

INSERT INTO media_operations (call_id, operation_context, operation, outcome, result_code,
                              result_sub_code, result_message, started_at, finished_at, duration_ms,
                              event_count)
SELECT c.call_id, 'welcome-prompt', 'play', CASE WHEN c.play_failed THEN 'failed' ELSE 'completed' END,
       CASE WHEN c.play_failed THEN 400 ELSE 200 END, CASE WHEN c.play_failed THEN 8536 ELSE 0 END,
       'Action completed.', c.started + interval '10 seconds', c.started + interval '15 seconds', 5000, 2
FROM bench_calls c
UNION ALL
SELECT c.call_id, 'menu', 'recognize', 'completed', 200, 0, 'Action completed.',
       c.started + interval '15 seconds', c.started + interval '35 seconds', 20000, 1
FROM bench_calls c;

-- The audit log's filter keys, as the projector keeps them: one per call and distinct correlation
-- id or operation context.
INSERT INTO call_filter_keys (key, call_id)
SELECT DISTINCT calltrail_filter_key(k.kind, k.value), e.call_id
FROM events e
CROSS JOIN LATERAL (VALUES ('c', e.correlation_id), ('o', e.operation_context)) AS k(kind, value)
WHERE e.call_id IS NOT NULL AND k.value IS NOT NULL;

-- The summary rollups, as the projector would have kept them (and as `calltrail rebuild` makes them).
SELECT calltrail_recompute_summary_rollups();

ANALYZE;
