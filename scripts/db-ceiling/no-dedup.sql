-- ingest.sql without the claim in event_dedup: every row is inserted, nothing is deduplicated.
\set first random(0, :n - :B)
\set last :first + :B
WITH stored AS (
  INSERT INTO events (received_at, dedup_key, endpoint, format, auth_scheme, auth_principal,
    request_id, event_id, event_type, call_id, correlation_id, operation_context, raw)
  SELECT now(), sha256((random()::text || ord::text)::bytea), endpoint, format, auth_scheme,
    auth_principal, request_id, event_id, event_type, call_id, correlation_id, operation_context,
    raw
  FROM ceiling_sample WHERE ord > :first AND ord <= :last ORDER BY ord
  RETURNING call_id, event_seq),
queued AS (
  INSERT INTO projection_queue (call_ids, event_seqs, owner)
  SELECT array_agg(DISTINCT call_id ORDER BY call_id), array_agg(event_seq), 1::int8 FROM stored
  WHERE call_id IS NOT NULL HAVING count(*) > 0)
SELECT count(*) FROM stored;
