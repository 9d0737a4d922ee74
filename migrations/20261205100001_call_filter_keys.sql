-- The audit log's `correlation_id` and `operation_context` filters are derived after the commit,
-- per call, instead of by an index entry per event inside the ingest transaction.
--
-- Each event's correlation id and operation context cost an index entry on `events` at ingestion:
-- the operation context's hash index was the costliest index of the event row (about a third of
-- the secondary indexes' CPU and 450 bytes of WAL per event), the correlation id's B-tree one
-- entry per event for a value a call shares. The projector now records, once per call, a key for
-- each distinct value its events carry (`call_filter_keys`); a filter finds the calls holding the
-- value's key and reads their events through the call's index, checking the value itself. The
-- events the projector has not reached yet are found through the calls named in
-- `projection_queue`, and events without a call id through the partial indexes below, so a filter
-- is exact at every moment: it costs more only while the projector is behind.

-- A value's key: the first 8 bytes of the SHA-256 of a one-letter kind ('c' for a correlation id,
-- 'o' for an operation context) followed by the value, as a signed bigint. calltrail computes the
-- same in `store::filter_key`, where the projector derives the keys it writes; this function
-- serves the read side and the backfill below. Two values sharing a key only add calls to look at.
CREATE FUNCTION calltrail_filter_key(kind text, value text) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT ('x' || encode(substring(sha256(convert_to(kind || value, 'UTF8')) FROM 1 FOR 8), 'hex'))::bit(64)::bigint $$;

-- One row per call and distinct key. A key that no longer matches any event of its call (the
-- call's events were dropped by retention) only costs a lookup; retention prunes the keys of
-- calls that are gone.
CREATE TABLE call_filter_keys (
    key     bigint NOT NULL,
    call_id text   NOT NULL,
    PRIMARY KEY (key, call_id)
);

INSERT INTO call_filter_keys (key, call_id)
SELECT DISTINCT calltrail_filter_key(k.kind, k.value), e.call_id
FROM events e
CROSS JOIN LATERAL (VALUES ('c', e.correlation_id), ('o', e.operation_context)) AS k(kind, value)
WHERE e.call_id IS NOT NULL AND k.value IS NOT NULL
ON CONFLICT DO NOTHING;

-- Events without a call id are never projected: they keep an index of their own, which events
-- with a call id (nearly all of them) do not enter.
DROP INDEX events_correlation_id;
DROP INDEX events_operation_context;
CREATE INDEX events_correlation_id_uncalled ON events (correlation_id, received_at, event_seq)
    WHERE call_id IS NULL;
CREATE INDEX events_operation_context_uncalled ON events USING hash (operation_context)
    WHERE call_id IS NULL;
