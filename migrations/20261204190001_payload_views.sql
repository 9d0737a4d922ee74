-- Who opened which stored event's raw payload on the dashboard, and when: one row per view (the
-- event page, its exact view, a download). The viewer is named by a prefix of the configured hash of
-- the token they logged in with, never the token. Written only by people reading the dashboard, so
-- it stays small; it has no key to `events`, whose partitions retention drops (a view of an event
-- since dropped is still a view that happened).
CREATE TABLE payload_views (
    view_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    viewed_at timestamptz NOT NULL DEFAULT now(),
    principal text        NOT NULL,
    event_seq bigint      NOT NULL,
    call_id   text,
    how       text        NOT NULL CHECK (how IN ('page', 'exact', 'download'))
);
CREATE INDEX payload_views_event ON payload_views (event_seq, viewed_at);
CREATE INDEX payload_views_viewed_at ON payload_views (viewed_at);
