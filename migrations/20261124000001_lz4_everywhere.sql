-- lz4 for every column of the event log that PostgreSQL may compress, not only `raw` and `details`
-- (…20261122000001). A row over the 2 kB threshold has its largest values compressed one by one
-- until it fits, and after those two the next largest is usually `operation_context` (applications
-- serialise their state into it), which still used the default pglz: `pglz_compress` was 2 % of
-- PostgreSQL's CPU in the ingest profile. The projector's copy of the operation context gets the
-- same. Metadata only: values already stored keep their compression, nothing is rewritten.
DO $$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT a.attrelid::regclass AS rel, a.attname AS name
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attstorage IN ('x', 'm')
          AND (c.oid = 'events'::regclass
               OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'events'::regclass)
               OR c.oid = 'media_operations'::regclass)
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET COMPRESSION lz4', col.rel, col.name);
    END LOOP;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: these columns keep pglz compression';
END;
$$;
