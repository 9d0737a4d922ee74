-- The issue's reference: a multi-row insert of the raw events into a narrow table.
\set first random(0, :n - :B)
\set last :first + :B
INSERT INTO ceiling_raw_only (received_at, dedup_key, raw)
SELECT now(), sha256((random()::text || ord::text)::bytea), raw
FROM ceiling_sample WHERE ord > :first AND ord <= :last;
