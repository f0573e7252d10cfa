-- Deals (process.md §2), run by the rule engine from the deal pipeline's
-- definition (deploy/pipelines/new_client.yaml): one deal per converted
-- lead, its field values and when it entered its stage, its history, the
-- tasks its rules asked for and the timers it is waiting for.

-- lead_id: the lead it was opened from, once per lead whatever is
-- replayed. name .. comment: the client as the lead gave it (the templates'
-- built-ins). fields: the definition's fields, canonical values by name
-- (date-times as ms UTC in decimal). entered_at: when it entered its stage
-- (the engine's timers count from it), to the millisecond.
CREATE TABLE deal (
    id bigserial PRIMARY KEY,
    lead_id bigint NOT NULL UNIQUE,
    contact_id bigint,
    company_id bigint,
    pipeline text NOT NULL,
    stage text NOT NULL,
    fields jsonb NOT NULL DEFAULT '{}',
    entered_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    responsible text NOT NULL,
    title text NOT NULL DEFAULT '',
    name text NOT NULL DEFAULT '',
    phone text NOT NULL DEFAULT '',
    email text NOT NULL DEFAULT '',
    company text NOT NULL DEFAULT '',
    comment text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deal_stage ON deal (stage, id);
CREATE INDEX deal_responsible ON deal (responsible, id);

-- Who did what to a deal, when and why (rule '' for a person's own step).
CREATE TABLE deal_history (
    id bigserial PRIMARY KEY,
    deal_id bigint NOT NULL REFERENCES deal (id),
    at timestamptz NOT NULL,
    actor text NOT NULL,
    rule text NOT NULL DEFAULT '',
    action text NOT NULL,
    detail text NOT NULL DEFAULT ''
);
CREATE INDEX deal_history_deal ON deal_history (deal_id, id);

-- The tasks of a deal (one per request key; a person's task of the deal
-- under 'task:<id>'), by tag: a rule waiting for "every task tagged X
-- completed" counts them. task_id is known once TaskCreated comes back.
CREATE TABLE deal_task (
    request_key text PRIMARY KEY,
    deal_id bigint NOT NULL REFERENCES deal (id),
    tag text NOT NULL DEFAULT '',
    task_id bigint,
    title text NOT NULL DEFAULT '',
    responsible text NOT NULL DEFAULT '',
    rule text NOT NULL DEFAULT '',
    completed boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deal_task_deal ON deal_task (deal_id, tag);

-- The timers a deal asked the timer service for and that are still
-- pending: set on TimerRequested, gone on TimerCancelRequested or when
-- TimerFired comes back. key: "deal:<id>:<timer>" (one per deal and timer).
CREATE TABLE deal_timer (
    key text PRIMARY KEY,
    deal_id bigint NOT NULL REFERENCES deal (id),
    timer text NOT NULL,
    due_ms bigint NOT NULL
);
CREATE INDEX deal_timer_deal ON deal_timer (deal_id, due_ms);
