-- RetryDeadLetter (crmctl deadletters retry): what it needs to apply a dead
-- letter again, and what came of it.

-- The whole message as it arrived: an encoded crm.v1.Envelope for an event,
-- a reader's frames (czmq's zmsg_encode) for an intake message. NULL when
-- there is nothing to apply again (unreadable, lost, a tick) or for rows
-- recorded before this migration.
ALTER TABLE dead_letter ADD COLUMN message bytea;
-- Retries so far; reason holds the last one's failure.
ALTER TABLE dead_letter ADD COLUMN retries integer NOT NULL DEFAULT 0;
-- Set when a retry applied it: the row is closed (kept for the record).
ALTER TABLE dead_letter ADD COLUMN retried_at timestamptz;
