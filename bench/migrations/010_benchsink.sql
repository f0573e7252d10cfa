-- crm-benchsink (bench/bench-bus.sh): its effect, per source and event type,
-- of everything it has applied. One upsert per batch, in the transaction
-- that also moves its consumer offset; no row per event. bench-bus.sh
-- checks it against what the source wrote (exactly once).
CREATE TABLE sink_count (
    source text NOT NULL,
    type text NOT NULL,
    events bigint NOT NULL,
    payload_bytes bigint NOT NULL,
    max_sequence bigint NOT NULL,
    PRIMARY KEY (source, type)
);
