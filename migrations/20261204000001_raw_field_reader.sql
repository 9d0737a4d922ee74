-- The audit log's JSON-field filter reads a field of each event's raw text as jsonb. Events stored
-- before NUL characters (\u0000) and numbers beyond numeric's range were refused at ingestion can
-- hold text that jsonb refuses, and a single such row made every filtered query that reached it
-- fail. This reader gives NULL for such a row instead (it matches no filter), so one stored event
-- can never make a query of others fail. New events that jsonb cannot read are refused at ingestion.
CREATE FUNCTION calltrail_raw_field(raw text, path text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    RETURN raw::jsonb #>> path;
EXCEPTION
    WHEN untranslatable_character OR invalid_text_representation
        OR numeric_value_out_of_range OR character_not_in_repertoire THEN
        RETURN NULL;
END
$$;
