-- The database ceiling (scripts/bench-ingest.sh, run db-ceiling): a sample of the group run's events
-- for pgbench to replay, kept uncompressed so that each insert compresses as the service's do.
\set ON_ERROR_STOP 1
CREATE TABLE ceiling_sample AS
  SELECT row_number() OVER (ORDER BY event_seq) AS ord, endpoint, format, auth_scheme,
         auth_principal, request_id, event_id, event_type, call_id, correlation_id,
         operation_context, raw
  FROM events WHERE false;
ALTER TABLE ceiling_sample ALTER COLUMN raw SET STORAGE EXTERNAL;
INSERT INTO ceiling_sample
  SELECT row_number() OVER (ORDER BY event_seq), endpoint, format, auth_scheme, auth_principal,
         request_id, event_id, event_type, call_id, correlation_id, operation_context, raw
  FROM (SELECT * FROM events ORDER BY event_seq LIMIT :n) e;
CREATE UNIQUE INDEX ON ceiling_sample (ord);
-- The event log as one unpartitioned table, deduplicated by a unique index of its own instead of
-- the claim in event_dedup (the partitioned table cannot have one: a unique index there must hold
-- the partition key); the secondary indexes are copied from the catalog, so later ones count too.
CREATE TABLE ceiling_unpartitioned (LIKE events INCLUDING DEFAULTS INCLUDING COMPRESSION);
ALTER TABLE ceiling_unpartitioned ADD PRIMARY KEY (event_seq);
CREATE UNIQUE INDEX ceiling_unpartitioned_dedup_key ON ceiling_unpartitioned (dedup_key);
DO $$ DECLARE i record; BEGIN
  FOR i IN SELECT indexname, indexdef FROM pg_indexes
           WHERE schemaname = 'public' AND tablename = 'events' AND indexname NOT LIKE '%pkey' LOOP
    EXECUTE replace(replace(i.indexdef, 'INDEX ' || i.indexname || ' ', 'INDEX ceiling_' || i.indexname || ' '),
                    ' ON ONLY public.events ', ' ON ceiling_unpartitioned ');
  END LOOP;
END $$;
-- The issue's reference shape: one narrow row per event, a sequential key, no deduplication.
CREATE TABLE ceiling_raw_only (
  seq bigserial PRIMARY KEY, received_at timestamptz NOT NULL, dedup_key bytea NOT NULL,
  raw text NOT NULL);
VACUUM ANALYZE ceiling_sample;
