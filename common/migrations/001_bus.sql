-- The bus's own tables, in every service's schema (see docs/architecture.md).

-- The last sequence handed out. Its row lock, held from UPDATE to COMMIT,
-- serialises writers, so sequences are contiguous and in commit order.
CREATE TABLE outbox_head (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_sequence bigint NOT NULL
);
INSERT INTO outbox_head (last_sequence) VALUES (0);

-- Events this service emitted, written in the transaction of the change
-- that caused them; served by sequence to subscribers that fell behind.
CREATE TABLE outbox (
    sequence bigint PRIMARY KEY,
    event_id uuid NOT NULL,
    type text NOT NULL,
    correlation_id text NOT NULL,
    time_ms bigint NOT NULL,
    envelope bytea NOT NULL     -- the encoded crm.v1.Envelope, as published
);
CREATE INDEX outbox_time ON outbox (time_ms);

-- Per source, the last sequence whose effects are committed here.
CREATE TABLE consumer_offset (
    source text PRIMARY KEY,
    last_sequence bigint NOT NULL
);

-- Messages that retrying will not fix: undecodable, invalid, unknown type,
-- or rejected by their handler. Kept for operators with the reason.
CREATE TABLE dead_letter (
    id bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    source text NOT NULL,        -- a source service, a reader ("intake") or "tick"
    sequence bigint,             -- NULL when the envelope itself was unreadable
    type text NOT NULL DEFAULT '',
    reason text NOT NULL,
    payload bytea
);
