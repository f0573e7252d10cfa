-- A notification on record: the rule behind it and when a channel first
-- acknowledged it; and the durable delivery queue, one row per
-- notification and outbound channel, written in the same transaction as
-- the notification so that no delivery is ever lost.
ALTER TABLE notification
    ADD COLUMN rule text NOT NULL DEFAULT '',       -- the pipeline rule that asked, '' if none
    ADD COLUMN delivered_at timestamptz;            -- first channel that acknowledged it
CREATE INDEX notification_unread ON notification (recipient, id DESC) WHERE read_at IS NULL;

CREATE TABLE delivery (
    id bigserial PRIMARY KEY,
    notification_id bigint NOT NULL REFERENCES notification (id),
    channel text NOT NULL CHECK (channel IN ('webhook', 'email')),
    destination text NOT NULL,          -- the URL or the address, as the staff file had it
    secret_ref text NOT NULL DEFAULT '',-- webhook: 'env:NAME' or 'file:PATH' -- never the secret itself
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts int NOT NULL DEFAULT 0,
    created_ms bigint NOT NULL,         -- queued (ms UTC): retries stop CRM_DELIVERY_RETRY_FOR_S after it
    next_attempt_ms bigint NOT NULL,    -- pending: not before this (ms UTC)
    last_attempt_ms bigint,
    last_error text NOT NULL DEFAULT '',
    done_ms bigint,                     -- delivered or failed at (ms UTC)
    UNIQUE (notification_id, channel, destination)
);
CREATE INDEX delivery_due ON delivery (next_attempt_ms) WHERE state = 'pending';
