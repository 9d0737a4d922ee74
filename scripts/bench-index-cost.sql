-- What each part of an event row costs PostgreSQL to insert: run by scripts/bench-ingest.sh on a
-- database the benchmark filled (psql -v n=<events>). Copies of `events` and `event_dedup` get the
-- same columns and indexes (read from the catalog, so indexes added later are measured too); the
-- same sample of real benchmark events is inserted with everything, with all but one index, with
-- no secondary index, and with lz4 instead of pglz compression. Each figure is the best of three,
-- in one backend, without the commit: CPU work and WAL volume per event, which is what a batch
-- costs before its fsync.
\set ON_ERROR_STOP 1
\pset footer off

CREATE TEMP TABLE sample AS
  SELECT received_at, dedup_key, endpoint, format, auth_scheme, auth_principal, request_id,
         event_id, source, event_type, subject, event_time, family, call_id, server_call_id,
         correlation_id, operation_context, result_code, result_sub_code, result_message,
         sequence_number, details::text AS details, raw
  FROM events LIMIT 0;
-- Kept uncompressed, so that each insert compresses as the service's inserts do.
ALTER TABLE sample ALTER COLUMN details SET STORAGE EXTERNAL, ALTER COLUMN raw SET STORAGE EXTERNAL;
INSERT INTO sample
  SELECT received_at, dedup_key, endpoint, format, auth_scheme, auth_principal, request_id,
         event_id, source, event_type, subject, event_time, family, call_id, server_call_id,
         correlation_id, operation_context, result_code, result_sub_code, result_message,
         sequence_number, details::text, raw
  FROM events ORDER BY event_seq LIMIT :n;

CREATE TABLE cost_events (LIKE events INCLUDING DEFAULTS);
CREATE TABLE cost_dedup (LIKE event_dedup INCLUDING ALL);
CREATE TEMP TABLE cost_indexes AS
  SELECT indexname AS name,
         replace(replace(indexdef, 'INDEX ' || indexname || ' ', 'INDEX cost_' || indexname || ' '),
                 ' ON ONLY public.events ', ' ON cost_events ') AS ddl
  FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'events';
DO $$ DECLARE i record; BEGIN
  FOR i IN SELECT * FROM cost_indexes LOOP EXECUTE i.ddl; END LOOP;
END $$;

CREATE FUNCTION pg_temp.measure(variant text) RETURNS TABLE (what text, us_per_event numeric, wal_bytes_per_event numeric)
LANGUAGE plpgsql AS $$
DECLARE
  best numeric;
  wal numeric;
  t0 timestamptz;
  w0 pg_lsn;
  elapsed numeric;
  n numeric := (SELECT count(*) FROM sample);
BEGIN
  FOR rep IN 1..3 LOOP
    TRUNCATE cost_events;
    w0 := pg_current_wal_insert_lsn();
    t0 := clock_timestamp();
    INSERT INTO cost_events (received_at, dedup_key, endpoint, format, auth_scheme, auth_principal,
        request_id, event_id, source, event_type, subject, event_time, family, call_id,
        server_call_id, correlation_id, operation_context, result_code, result_sub_code,
        result_message, sequence_number, details, raw)
      SELECT received_at, dedup_key, endpoint, format, auth_scheme, auth_principal, request_id,
             event_id, source, event_type, subject, event_time, family, call_id, server_call_id,
             correlation_id, operation_context, result_code, result_sub_code, result_message,
             sequence_number, details::jsonb, raw
      FROM sample;
    elapsed := extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
    IF best IS NULL OR elapsed < best THEN
      best := elapsed;
      wal := pg_wal_lsn_diff(pg_current_wal_insert_lsn(), w0) / n;
    END IF;
  END LOOP;
  RETURN QUERY SELECT variant, round(best, 1), round(wal);
END $$;

CREATE FUNCTION pg_temp.measure_dedup() RETURNS TABLE (what text, us_per_event numeric, wal_bytes_per_event numeric)
LANGUAGE plpgsql AS $$
DECLARE
  best numeric;
  wal numeric;
  t0 timestamptz;
  w0 pg_lsn;
  elapsed numeric;
  n numeric := (SELECT count(*) FROM sample);
BEGIN
  FOR rep IN 1..3 LOOP
    TRUNCATE cost_dedup;
    w0 := pg_current_wal_insert_lsn();
    t0 := clock_timestamp();
    INSERT INTO cost_dedup (dedup_key, first_received_at)
      SELECT dedup_key, received_at FROM sample ORDER BY dedup_key
      ON CONFLICT (dedup_key) DO NOTHING;
    elapsed := extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
    IF best IS NULL OR elapsed < best THEN
      best := elapsed;
      wal := pg_wal_lsn_diff(pg_current_wal_insert_lsn(), w0) / n;
    END IF;
  END LOOP;
  RETURN QUERY SELECT 'event_dedup row (its two indexes included)'::text, round(best, 1), round(wal);
END $$;

-- One index left out at a time, then none at all, then every index back with lz4 compression.
CREATE FUNCTION pg_temp.variants() RETURNS TABLE (what text, us_per_event numeric, wal_bytes_per_event numeric)
LANGUAGE plpgsql AS $$
DECLARE i record;
BEGIN
  RETURN QUERY SELECT * FROM pg_temp.measure('events row as deployed (every index, pglz)');
  FOR i IN SELECT * FROM cost_indexes ORDER BY name LOOP
    EXECUTE format('DROP INDEX cost_%s', i.name);
    RETURN QUERY SELECT * FROM pg_temp.measure('  without ' || i.name);
    EXECUTE i.ddl;
  END LOOP;
  FOR i IN SELECT * FROM cost_indexes WHERE ddl NOT LIKE '%UNIQUE%' AND name NOT LIKE '%pkey' LOOP
    EXECUTE format('DROP INDEX cost_%s', i.name);
  END LOOP;
  RETURN QUERY SELECT * FROM pg_temp.measure('  heap and primary key only');
  FOR i IN SELECT * FROM cost_indexes WHERE ddl NOT LIKE '%UNIQUE%' AND name NOT LIKE '%pkey' LOOP
    EXECUTE i.ddl;
  END LOOP;
  ALTER TABLE cost_events ALTER COLUMN raw SET COMPRESSION lz4, ALTER COLUMN details SET COMPRESSION lz4;
  RETURN QUERY SELECT * FROM pg_temp.measure('  every index, lz4 instead of pglz');
  ALTER TABLE cost_events ALTER COLUMN raw SET STORAGE EXTERNAL, ALTER COLUMN details SET STORAGE EXTERNAL;
  RETURN QUERY SELECT * FROM pg_temp.measure('  every index, no compression');
  RETURN QUERY SELECT * FROM pg_temp.measure_dedup();
END $$;

SELECT format('%s events sampled', count(*)) AS sample FROM sample;
SELECT * FROM pg_temp.variants();

DROP TABLE cost_events, cost_dedup;
