-- The outbox as segments: one row per writing transaction instead of one
-- per event (docs/architecture.md, "The bus's tables"). A row per event cost
-- Postgres a heap tuple and two index entries per event; a segment costs
-- them once per transaction, whatever its number of events.

-- The events of one transaction, sequences first_sequence..last_sequence
-- (contiguous; segments never overlap). Element i (from 1) of each array is
-- the event of sequence first_sequence + i - 1.
CREATE TABLE outbox_segment (
    first_sequence bigint NOT NULL,
    last_sequence bigint PRIMARY KEY,
    time_ms bigint NOT NULL,        -- when it was written (every event's Envelope.time_ms)
    event_ids uuid[] NOT NULL,
    types text[] NOT NULL,
    correlation_ids text[] NOT NULL,
    envelopes bytea[] NOT NULL,     -- the encoded crm.v1.Envelopes, as published
    CHECK (last_sequence >= first_sequence)
);
-- The envelopes are protobuf, which pglz hardly compresses: storing them
-- uncompressed saves Postgres the attempt on every large segment.
ALTER TABLE outbox_segment ALTER COLUMN envelopes SET STORAGE EXTERNAL;
-- For the prune, which deletes whole segments by age.
CREATE INDEX outbox_segment_time ON outbox_segment (time_ms);

INSERT INTO outbox_segment (first_sequence, last_sequence, time_ms, event_ids, types, correlation_ids, envelopes)
SELECT sequence, sequence, time_ms, ARRAY[event_id], ARRAY[type], ARRAY[correlation_id], ARRAY[envelope]
FROM outbox;
DROP TABLE outbox;

-- One row per event, as the table was, for operators' queries (by type,
-- correlation_id, sequence). Not for the services: they read the segments.
CREATE VIEW outbox AS
SELECT s.first_sequence + u.n - 1 AS sequence, u.event_id, u.type, u.correlation_id, s.time_ms, u.envelope
FROM outbox_segment s,
     unnest(s.event_ids, s.types, s.correlation_ids, s.envelopes)
         WITH ORDINALITY AS u (event_id, type, correlation_id, envelope, n);
