-- lz4 for the call model's fold state (…20261126000001), as for the event log's large columns
-- (…20261124000001). A call's row passes the 2 kB threshold where PostgreSQL compresses its largest
-- value once the state holds a few participants and media operations, and the projector rewrites
-- the row at every pass: in the ingest benchmark's profile `pglz_compress` was 0.6 % of all CPU
-- samples, every one of them in the projector's backends. Metadata only: states already stored
-- keep their compression until their call's row is next written.
DO $$
BEGIN
    ALTER TABLE calls ALTER COLUMN fold SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: calls.fold keeps pglz compression';
END;
$$;
