-- Leads, as received from other systems or entered by hand. The pair
-- (source_system, external_id) identifies a lead: the same pair twice is
-- the same lead.
CREATE TABLE lead (
    id bigserial PRIMARY KEY,
    source_system text NOT NULL,
    external_id text NOT NULL,
    name text NOT NULL DEFAULT '',
    phone text NOT NULL DEFAULT '',
    email text NOT NULL DEFAULT '',
    company text NOT NULL DEFAULT '',
    comment text NOT NULL DEFAULT '',
    responsible text NOT NULL,
    stage text NOT NULL DEFAULT 'new',
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_system, external_id)
);
CREATE INDEX lead_responsible ON lead (responsible, id);
