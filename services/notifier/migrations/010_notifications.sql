-- Notifications for people, stored once per request_key whatever the bus
-- replays. Delivery channels (webhook, e-mail) come later; this is the inbox.
CREATE TABLE notification (
    id bigserial PRIMARY KEY,
    request_key text NOT NULL UNIQUE,
    recipient text NOT NULL,
    text text NOT NULL,
    correlation_id text NOT NULL,
    requested_by text NOT NULL,      -- source service of the request
    request_sequence bigint NOT NULL,
    requested_ms bigint NOT NULL,    -- the request event's time, ms UTC
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz
);
CREATE INDEX notification_recipient ON notification (recipient, id DESC);
