-- The lead funnel (process.md §1), run by the rule engine from the
-- shipped definition (deploy/pipelines/lead_funnel.yaml): a lead's field
-- values and when it entered its stage, its history, the tasks its rules
-- asked for, the contacts and companies made from closed leads, and the
-- round-robin counter that assigns leads arriving without a responsible.

-- fields: the definition's fields, canonical values by name (date-times as
-- ms UTC in decimal). entered_at: when the lead entered its stage (the
-- engine's timers count from it). contact_id, company_id: set when the lead
-- was junked or converted.
ALTER TABLE lead
    ADD COLUMN fields jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN entered_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN contact_id bigint,
    ADD COLUMN company_id bigint;
CREATE INDEX lead_stage ON lead (stage, id);

-- Who did what to a lead, when and why (rule '' for a person's own step).
CREATE TABLE lead_history (
    id bigserial PRIMARY KEY,
    lead_id bigint NOT NULL REFERENCES lead (id),
    at timestamptz NOT NULL,
    actor text NOT NULL,
    rule text NOT NULL DEFAULT '',
    action text NOT NULL,
    detail text NOT NULL DEFAULT ''
);
CREATE INDEX lead_history_lead ON lead_history (lead_id, id);

-- The tasks a lead's rules asked the tasks service for (one per request
-- key), by tag: a rule waiting for "every task tagged X completed" counts
-- them. task_id is known once TaskCreated comes back.
CREATE TABLE lead_task (
    request_key text PRIMARY KEY,
    lead_id bigint NOT NULL REFERENCES lead (id),
    tag text NOT NULL DEFAULT '',
    task_id bigint,
    completed boolean NOT NULL DEFAULT false
);
CREATE INDEX lead_task_lead ON lead_task (lead_id, tag);

-- Companies and contacts made from closed leads, one per real company or
-- person: name_key is the name lower-cased with spaces collapsed
-- (lead_name_key), phone_key the phone's digits (lead_phone_key), email_key
-- the email lower-cased. no_deal: «Не было сделки» (the lead was junked and
-- none of its leads was converted since).
CREATE TABLE company (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    name_key text NOT NULL UNIQUE,
    no_deal boolean NOT NULL DEFAULT false,
    lead_id bigint REFERENCES lead (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contact (
    id bigserial PRIMARY KEY,
    name text NOT NULL DEFAULT '',
    phone text NOT NULL DEFAULT '',
    phone_key text NOT NULL DEFAULT '',
    email text NOT NULL DEFAULT '',
    email_key text NOT NULL DEFAULT '',
    company_id bigint REFERENCES company (id),
    no_deal boolean NOT NULL DEFAULT false,
    lead_id bigint REFERENCES lead (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX contact_phone ON contact (phone_key) WHERE phone_key <> '';
CREATE UNIQUE INDEX contact_email ON contact (email_key) WHERE email_key <> '';

ALTER TABLE lead
    ADD FOREIGN KEY (contact_id) REFERENCES contact (id),
    ADD FOREIGN KEY (company_id) REFERENCES company (id);

-- Round robin among the managers: the next turn, kept across restarts.
CREATE TABLE assignment (
    id integer PRIMARY KEY CHECK (id = 1),
    turn bigint NOT NULL
);
INSERT INTO assignment VALUES (1, 0);

UPDATE lead SET entered_at = created_at;
