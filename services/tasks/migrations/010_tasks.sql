-- Tasks (with their comments and attachments) and activities, in the
-- schema tasks of the role crm_tasks (deploy/postgres/schemas.sql).

-- A task. One per request_key when another service asked for it (the bus
-- may deliver a request twice); a task a person created has request_key ''.
CREATE TABLE task (
    id bigserial PRIMARY KEY,
    request_key text NOT NULL DEFAULT '',
    title text NOT NULL,
    description text NOT NULL DEFAULT '',
    record text NOT NULL DEFAULT '',     -- "lead:5", "deal:7" or ''
    creator text NOT NULL DEFAULT '',
    responsible text NOT NULL,
    coexecutors text[] NOT NULL DEFAULT '{}',
    deadline_ms bigint,                  -- ms UTC; NULL: no deadline
    tag text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'cancelled')),
    rule text NOT NULL DEFAULT '',       -- the rule that asked for it
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    completed_by text
);
CREATE UNIQUE INDEX task_request_key ON task (request_key) WHERE request_key <> '';
-- ListTasks: a person's tasks (open ones first of all), newest first; as
-- co-executor through the GIN index (coexecutors @> ARRAY[login]).
CREATE INDEX task_responsible ON task (responsible, status, id);
CREATE INDEX task_coexecutors ON task USING gin (coexecutors);
CREATE INDEX task_record ON task (record, id) WHERE record <> '';

CREATE TABLE task_comment (
    id bigserial PRIMARY KEY,
    task_id bigint NOT NULL REFERENCES task (id),
    author text NOT NULL,
    text text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_comment_task ON task_comment (task_id, id);

-- Files attached when a task is completed (e.g. the invoice). The bytes
-- live here, next to the task, so that a backup holds both; sha256 (hex)
-- is computed by the service from the bytes it stores.
CREATE TABLE task_attachment (
    task_id bigint NOT NULL REFERENCES task (id),
    name text NOT NULL,
    content_type text NOT NULL,
    size bigint NOT NULL,                -- bytes
    sha256 text NOT NULL,
    data bytea NOT NULL,
    added_by text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, name)
);

-- Activities (дела): a scheduled call and the like. Asked for by request_key;
-- the same key again moves it.
CREATE TABLE activity (
    id bigserial PRIMARY KEY,
    request_key text NOT NULL UNIQUE,
    title text NOT NULL,
    record text NOT NULL DEFAULT '',
    responsible text NOT NULL,
    at_ms bigint NOT NULL,               -- ms UTC
    status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'cancelled')),
    rule text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- ListActivities: a person's activities by time.
CREATE INDEX activity_responsible ON activity (responsible, at_ms);
