-- lz4 instead of the default pglz for the two large columns of the event log. A row is ~2 kB, so
-- most cross the 2 kB threshold where PostgreSQL compresses its largest values on insert: with pglz
-- that was the single most expensive function in the insert path (scripts/bench-index-cost.sql
-- measures both). lz4 compresses JSON several times faster at a similar ratio, and reading the raw
-- events back decompresses faster too. New partitions take the setting from the parent; existing
-- ones are changed here (values already stored keep their compression). A server built without
-- lz4 keeps pglz.
DO $$
DECLARE
    part regclass;
BEGIN
    ALTER TABLE events ALTER COLUMN raw SET COMPRESSION lz4, ALTER COLUMN details SET COMPRESSION lz4;
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'events'::regclass LOOP
        EXECUTE format(
            'ALTER TABLE %s ALTER COLUMN raw SET COMPRESSION lz4, ALTER COLUMN details SET COMPRESSION lz4',
            part);
    END LOOP;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: the event log keeps pglz compression';
END;
$$;
