-- What each part of an event row costs PostgreSQL to insert: run by scripts/bench-ingest.sh on a
-- database the benchmark filled (psql -v n=<events>). A copy of `events` gets the same columns,
-- compression and indexes (read from the catalog, so indexes added later are measured too); the
-- same sample of the benchmark's events is inserted into it as deployed, with one index left out
-- at a time, with no secondary index, with pglz and with no compression; then into a copy of
-- `event_dedup`. Three rounds over all variants, interleaved so that a noisy neighbour hits them
-- alike; the best of the three is shown. Times are one backend's insert without the commit (the
-- CPU work of a batch before its fsync); WAL is what that commit then has to write.
\set ON_ERROR_STOP 1
\pset footer off

CREATE TEMP TABLE sample AS
  SELECT received_at, dedup_key, endpoint, format, auth_scheme, auth_principal, request_id,
         event_id, event_type, call_id, correlation_id, operation_context, raw
  FROM events LIMIT 0;
-- Kept uncompressed, so that each insert compresses as the service's inserts do.
ALTER TABLE sample ALTER COLUMN raw SET STORAGE EXTERNAL;
INSERT INTO sample
  SELECT received_at, dedup_key, endpoint, format, auth_scheme, auth_principal, request_id,
         event_id, event_type, call_id, correlation_id, operation_context, raw
  FROM events ORDER BY event_seq LIMIT :n;

CREATE TABLE cost_events (LIKE events INCLUDING DEFAULTS INCLUDING COMPRESSION);
CREATE TABLE cost_dedup (LIKE event_dedup INCLUDING ALL);
CREATE TEMP TABLE cost_indexes AS
  SELECT indexname AS name,
         replace(replace(indexdef, 'INDEX ' || indexname || ' ', 'INDEX cost_' || indexname || ' '),
                 ' ON ONLY public.events ', ' ON cost_events ') AS ddl,
         indexname LIKE '%pkey' AS primary_key
  FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'events';
DO $$ DECLARE i record; BEGIN
  FOR i IN SELECT * FROM cost_indexes LOOP EXECUTE i.ddl; END LOOP;
END $$;
CREATE TEMP TABLE cost_results (ord int, what text, us numeric, wal numeric);

CREATE FUNCTION pg_temp.once(ord int, what text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  w0 pg_lsn;
  n numeric := (SELECT count(*) FROM sample);
BEGIN
  TRUNCATE cost_events;
  w0 := pg_current_wal_insert_lsn();
  t0 := clock_timestamp();
  INSERT INTO cost_events (received_at, dedup_key, endpoint, format, auth_scheme, auth_principal,
      request_id, event_id, event_type, call_id, correlation_id, operation_context, raw)
    SELECT received_at, dedup_key, endpoint, format, auth_scheme, auth_principal, request_id,
           event_id, event_type, call_id, correlation_id, operation_context, raw
    FROM sample;
  INSERT INTO cost_results VALUES (ord, what,
    extract(epoch FROM clock_timestamp() - t0) * 1e6 / n,
    pg_wal_lsn_diff(pg_current_wal_insert_lsn(), w0) / n);
END $$;

CREATE FUNCTION pg_temp.once_dedup(ord int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  w0 pg_lsn;
  n numeric := (SELECT count(*) FROM sample);
BEGIN
  TRUNCATE cost_dedup;
  w0 := pg_current_wal_insert_lsn();
  t0 := clock_timestamp();
  INSERT INTO cost_dedup (dedup_key, first_received_at)
    SELECT dedup_key, received_at FROM sample ORDER BY dedup_key
    ON CONFLICT (dedup_key) DO NOTHING;
  INSERT INTO cost_results VALUES (ord, 'event_dedup row (primary key and time index)',
    extract(epoch FROM clock_timestamp() - t0) * 1e6 / n,
    pg_wal_lsn_diff(pg_current_wal_insert_lsn(), w0) / n);
END $$;

CREATE FUNCTION pg_temp.round() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  i record;
  k int := 1;
BEGIN
  PERFORM pg_temp.once(0, 'events row as deployed (every index)');
  FOR i IN SELECT * FROM cost_indexes ORDER BY name LOOP
    EXECUTE format('DROP INDEX cost_%s', i.name);
    PERFORM pg_temp.once(k, '  without ' || i.name);
    EXECUTE i.ddl;
    k := k + 1;
  END LOOP;
  FOR i IN SELECT * FROM cost_indexes WHERE NOT primary_key LOOP
    EXECUTE format('DROP INDEX cost_%s', i.name);
  END LOOP;
  PERFORM pg_temp.once(100, '  heap and primary key only');
  FOR i IN SELECT * FROM cost_indexes WHERE NOT primary_key LOOP
    EXECUTE i.ddl;
  END LOOP;
  ALTER TABLE cost_events ALTER COLUMN raw SET COMPRESSION pglz;
  PERFORM pg_temp.once(101, '  every index, pglz compression');
  ALTER TABLE cost_events ALTER COLUMN raw SET STORAGE EXTERNAL;
  PERFORM pg_temp.once(102, '  every index, no compression');
  -- Back to the deployed storage for the next round.
  ALTER TABLE cost_events ALTER COLUMN raw SET STORAGE EXTENDED;
  EXECUTE format('ALTER TABLE cost_events ALTER COLUMN raw SET COMPRESSION %s',
    (SELECT CASE attcompression WHEN 'l' THEN 'lz4' ELSE 'pglz' END FROM pg_attribute
      WHERE attrelid = 'events'::regclass AND attname = 'raw'));
  PERFORM pg_temp.once_dedup(200);
END $$;

SELECT format('%s events sampled; raw compression as deployed: %s', count(*),
  (SELECT CASE attcompression WHEN 'l' THEN 'lz4' ELSE 'pglz' END FROM pg_attribute
    WHERE attrelid = 'events'::regclass AND attname = 'raw')) AS sample
FROM sample;
SELECT pg_temp.round() FROM generate_series(1, 3) \g /dev/null
SELECT what, round(min(us), 1) AS us_per_event, round(min(wal)) AS wal_bytes_per_event
FROM cost_results GROUP BY ord, what ORDER BY ord;

DROP TABLE cost_events, cost_dedup;
