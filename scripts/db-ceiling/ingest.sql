-- The ingest statement of src/store/event_log.rs, replayed by pgbench: the same claim of keys in
-- event_dedup, the same insert of the claimed rows and the same queue row, with the rows taken from
-- ceiling_sample (:B consecutive events, fresh random keys) instead of the 25 bound arrays.
\set first random(0, :n - :B)
\set last :first + :B
WITH src AS MATERIALIZED (
  SELECT sha256((random()::text || ord::text)::bytea) AS k, now() AS t, s.*
  FROM ceiling_sample s WHERE ord > :first AND ord <= :last),
claimed AS (
  INSERT INTO event_dedup (dedup_key, first_received_at)
  SELECT k, t FROM src ORDER BY k
  ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key),
stored AS (
  INSERT INTO events (received_at, dedup_key, endpoint, format, auth_scheme, auth_principal,
    request_id, event_id, event_type, call_id, correlation_id, operation_context, raw)
  SELECT t, k, endpoint, format, auth_scheme, auth_principal, request_id, event_id, event_type,
    call_id, correlation_id, operation_context, raw
  FROM src WHERE k IN (SELECT dedup_key FROM claimed) ORDER BY ord
  RETURNING dedup_key, call_id, event_seq),
queued AS (
  INSERT INTO projection_queue (call_ids, event_seqs, owner)
  SELECT array_agg(DISTINCT call_id ORDER BY call_id), array_agg(event_seq), 1::int8 FROM stored
  WHERE call_id IS NOT NULL HAVING count(*) > 0)
SELECT count(*) FROM stored;
