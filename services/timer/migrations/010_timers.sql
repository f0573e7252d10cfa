-- Timers, one per (owner, key). They live here, not in memory: the service
-- holds only the next due instant, whatever the number pending.
CREATE TABLE timer (
    owner text NOT NULL,
    key text NOT NULL,
    due_ms bigint NOT NULL,          -- absolute, ms since the Unix epoch, UTC
    payload bytea NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'fired', 'cancelled')),
    correlation_id text NOT NULL,
    requested_sequence bigint NOT NULL,  -- the owner's sequence of the last request
    fired_ms bigint,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
-- The firing query walks this in due order; fired and cancelled rows stay
-- out of it, so its size is the number pending.
CREATE INDEX timer_due ON timer (due_ms) WHERE state = 'pending';
