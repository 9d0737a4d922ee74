-- The call model: projections derived from the event log, which stays the source of truth. Each
-- call's rows are recomputed from all of that call's events whenever new ones arrive, so the result
-- does not depend on delivery order or duplicates, and `calltrail rebuild` reproduces it exactly.

-- Calls with events not yet projected. Written in the same transaction as the events; drained by
-- the projector of any instance (FOR UPDATE SKIP LOCKED), so a committed event is never missed.
CREATE TABLE projection_queue (
    id          bigserial   PRIMARY KEY,
    call_id     text        NOT NULL,
    enqueued_at timestamptz NOT NULL DEFAULT now()
);
-- The projector takes all queued rows of a call at once.
CREATE INDEX projection_queue_call_id ON projection_queue (call_id);

CREATE TABLE calls (
    call_id            text        PRIMARY KEY,
    server_call_id     text,
    correlation_id     text,
    -- Latest call state seen, in event order (open string: established, connected, disconnected, …).
    state              text,
    first_event_at     timestamptz NOT NULL,
    last_event_at      timestamptz NOT NULL,
    connected_at       timestamptz,
    disconnected_at    timestamptz,
    duration_ms        bigint,
    participant_count  integer     NOT NULL DEFAULT 0,
    peak_participants  integer     NOT NULL DEFAULT 0,
    -- in_progress | completed | failed | never_connected
    outcome            text        NOT NULL,
    failure_code       bigint,
    failure_sub_code   bigint,
    failure_message    text,
    event_count        integer     NOT NULL DEFAULT 0,
    dtmf_count         integer     NOT NULL DEFAULT 0,
    media_total        integer     NOT NULL DEFAULT 0,
    media_succeeded    integer     NOT NULL DEFAULT 0,
    last_event_seq     bigint      NOT NULL,
    projected_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_first_event_at ON calls (first_event_at, call_id);
CREATE INDEX calls_outcome ON calls (outcome, first_event_at, call_id);
CREATE INDEX calls_state ON calls (state, first_event_at, call_id);

-- When each participant was in the call: one row per continuous presence.
CREATE TABLE call_participants (
    call_id        text        NOT NULL,
    raw_id         text        NOT NULL,
    interval_no    integer     NOT NULL,
    kind           text        NOT NULL,
    -- The identifier with phone digits masked: safe to show and log.
    display_id     text        NOT NULL,
    joined_at      timestamptz NOT NULL,
    left_at        timestamptz,
    -- sequenceNumber of the snapshots that opened and closed the interval (GA format only).
    joined_sequence bigint,
    left_sequence   bigint,
    -- The call's first_event_at, copied here so the summary report counts distinct participants per
    -- bucket from this table's index alone, without joining every call of the range.
    call_started_at timestamptz NOT NULL,
    PRIMARY KEY (call_id, raw_id, interval_no)
);
CREATE INDEX call_participants_raw_id ON call_participants (raw_id, joined_at, call_id);
CREATE INDEX call_participants_call_started_at ON call_participants (call_started_at, raw_id);

-- Mute and hold changes, in snapshot order.
CREATE TABLE participant_changes (
    call_id         text        NOT NULL,
    raw_id          text        NOT NULL,
    ordinal         integer     NOT NULL,
    at              timestamptz NOT NULL,
    sequence_number bigint,
    is_muted        boolean,
    is_on_hold      boolean,
    PRIMARY KEY (call_id, raw_id, ordinal)
);

-- Key presses in sequenceId order, with repeats and gaps flagged.
CREATE TABLE dtmf_tones (
    call_id        text        NOT NULL,
    ordinal        integer     NOT NULL,
    sequence_id    bigint,
    tone           text        NOT NULL,
    at             timestamptz NOT NULL,
    participant_id text,
    -- The same sequenceId was seen before (a key press reported twice under different event ids).
    repeated       boolean     NOT NULL DEFAULT false,
    -- How many sequenceIds are missing just before this one.
    missing_before integer     NOT NULL DEFAULT 0,
    event_seq      bigint      NOT NULL,
    PRIMARY KEY (call_id, ordinal)
);

-- One row per play/recognize operation (keyed by operation context).
CREATE TABLE media_operations (
    call_id           text        NOT NULL,
    operation_context text        NOT NULL,
    -- play | recognize
    operation         text        NOT NULL,
    -- started | running | not_started | completed | failed | canceled
    outcome           text        NOT NULL,
    result_code       bigint,
    result_sub_code   bigint,
    result_message    text,
    started_at        timestamptz,
    finished_at       timestamptz,
    duration_ms       bigint,
    event_count       integer     NOT NULL
);
-- Not a primary key on (call_id, operation_context, operation): operation contexts carry the
-- application's own state and can exceed what a B-tree entry holds (about 2.7 kB). The projector
-- writes one row per operation itself, and a call has few of them to sort.
CREATE INDEX media_operations_call_id ON media_operations (call_id);

-- The audit log (/api/v1/events and its export) is ordered by (received_at, event_seq), so a time
-- range starts at the right place in an index. Each index here costs every ingested event a btree
-- insert, so only the audit log's indexed filters have one: a type and a correlation id, each keeping
-- that order so a page of even a common value is a short index range, and an operation context by
-- hash: contexts can be longer than a B-tree entry holds, and one context names few events. A call
-- id uses events_call_id (the call timeline's); auth_scheme and json_path filter within the others.
CREATE INDEX events_received_at ON events (received_at, event_seq);
CREATE INDEX events_event_type ON events (event_type, received_at, event_seq);
CREATE INDEX events_correlation_id ON events (correlation_id, received_at, event_seq) WHERE correlation_id IS NOT NULL;
CREATE INDEX events_operation_context ON events USING hash (operation_context) WHERE operation_context IS NOT NULL;
