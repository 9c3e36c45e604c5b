-- switchboard schema, PostgreSQL flavour. Keep in step with ../sqlite/0001_initial.sql:
-- same tables, same columns, same constraint names; only the types differ.
-- JSON columns are TEXT, not JSONB: JSONB reorders object keys, and a flow exported must be
-- the flow imported. Names and ids sort bytewise (COLLATE "C") so that list order is the same
-- on both backends whatever the database locale.

CREATE TABLE orgs (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE clients (
    client_id   TEXT NOT NULL PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE tokens (
    token_hash  TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_name   TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    client_id   TEXT,
    expires_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE flows (
    org_id             TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id                 TEXT COLLATE "C" NOT NULL,
    name               TEXT COLLATE "C" NOT NULL,
    name_folded        TEXT COLLATE "C" NOT NULL,
    flow_type          TEXT NOT NULL,
    description        TEXT,
    status             TEXT NOT NULL,
    version            BIGINT NOT NULL,
    document           TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_date       TIMESTAMPTZ NOT NULL,
    last_modified_by   TEXT NOT NULL,
    last_modified_date TIMESTAMPTZ NOT NULL,
    locked_by          TEXT,
    locked_at          TIMESTAMPTZ,
    latest_version     BIGINT,
    CONSTRAINT flows_pkey PRIMARY KEY (org_id, id),
    CONSTRAINT flows_name_unique UNIQUE (org_id, name)
);
CREATE INDEX flows_by_folded_name ON flows (org_id, name_folded, name, id);

CREATE TABLE flow_versions (
    org_id       TEXT COLLATE "C" NOT NULL,
    flow_id      TEXT COLLATE "C" NOT NULL,
    number       BIGINT NOT NULL,
    document     TEXT NOT NULL,
    comment      TEXT,
    created_by   TEXT NOT NULL,
    created_date TIMESTAMPTZ NOT NULL,
    CONSTRAINT flow_versions_pkey PRIMARY KEY (org_id, flow_id, number),
    FOREIGN KEY (org_id, flow_id) REFERENCES flows (org_id, id) ON DELETE CASCADE
);

CREATE FUNCTION switchboard_reject_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME;
END;
$$;

-- Published versions are immutable: only whole-flow deletion removes them.
CREATE TRIGGER flow_versions_immutable BEFORE UPDATE ON flow_versions
    FOR EACH ROW EXECUTE FUNCTION switchboard_reject_update();

CREATE TABLE flow_tags (
    org_id   TEXT COLLATE "C" NOT NULL,
    flow_id  TEXT COLLATE "C" NOT NULL,
    tag      TEXT COLLATE "C" NOT NULL,
    number   BIGINT NOT NULL,
    CONSTRAINT flow_tags_pkey PRIMARY KEY (org_id, flow_id, tag),
    FOREIGN KEY (org_id, flow_id, number)
        REFERENCES flow_versions (org_id, flow_id, number) ON DELETE CASCADE
);

CREATE TABLE functions (
    org_id             TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id                 TEXT COLLATE "C" NOT NULL,
    name               TEXT COLLATE "C" NOT NULL,
    name_folded        TEXT COLLATE "C" NOT NULL,
    description        TEXT,
    language           TEXT NOT NULL,
    selected_runtime   TEXT NOT NULL,
    timeout_in_sec     BIGINT NOT NULL,
    source_code        TEXT NOT NULL,
    inputs             TEXT NOT NULL,
    outputs            TEXT NOT NULL,
    status             TEXT NOT NULL,
    draft_version      BIGINT NOT NULL,
    latest_version     BIGINT,
    locked_by          TEXT,
    locked_at          TIMESTAMPTZ,
    created_by         TEXT NOT NULL,
    created_date       TIMESTAMPTZ NOT NULL,
    last_modified_by   TEXT NOT NULL,
    last_modified_date TIMESTAMPTZ NOT NULL,
    extra              TEXT NOT NULL,
    CONSTRAINT functions_pkey PRIMARY KEY (org_id, id),
    CONSTRAINT functions_name_unique UNIQUE (org_id, name)
);
CREATE INDEX functions_by_folded_name ON functions (org_id, name_folded, name, id);

CREATE TABLE function_versions (
    org_id           TEXT COLLATE "C" NOT NULL,
    function_id      TEXT COLLATE "C" NOT NULL,
    version          BIGINT NOT NULL,
    source_code      TEXT NOT NULL,
    language         TEXT NOT NULL,
    selected_runtime TEXT NOT NULL,
    timeout_in_sec   BIGINT NOT NULL,
    inputs           TEXT NOT NULL,
    outputs          TEXT NOT NULL,
    comment          TEXT,
    created_by       TEXT NOT NULL,
    created_date     TIMESTAMPTZ NOT NULL,
    CONSTRAINT function_versions_pkey PRIMARY KEY (org_id, function_id, version),
    FOREIGN KEY (org_id, function_id) REFERENCES functions (org_id, id) ON DELETE CASCADE
);

CREATE TRIGGER function_versions_immutable BEFORE UPDATE ON function_versions
    FOR EACH ROW EXECUTE FUNCTION switchboard_reject_update();

CREATE TABLE function_tags (
    org_id      TEXT COLLATE "C" NOT NULL,
    function_id TEXT COLLATE "C" NOT NULL,
    tag         TEXT COLLATE "C" NOT NULL,
    version     BIGINT NOT NULL,
    CONSTRAINT function_tags_pkey PRIMARY KEY (org_id, function_id, tag),
    FOREIGN KEY (org_id, function_id, version)
        REFERENCES function_versions (org_id, function_id, version) ON DELETE CASCADE
);

CREATE TABLE entities (
    org_id     TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    kind       TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT entities_pkey PRIMARY KEY (org_id, kind, id)
);
CREATE INDEX entities_by_name ON entities (org_id, kind, name, id);
