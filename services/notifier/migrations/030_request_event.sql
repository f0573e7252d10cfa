-- The event behind each notification: the request's event id (its source
-- and sequence are requested_by and request_sequence), the causation id of
-- the NotificationStored that follows it.
ALTER TABLE notification ADD COLUMN request_event_id text NOT NULL DEFAULT '';
