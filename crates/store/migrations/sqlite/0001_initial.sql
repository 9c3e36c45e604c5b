-- switchboard schema, SQLite flavour. Keep in step with ../postgres/0001_initial.sql:
-- same tables, same columns, same constraint names; only the types differ.
-- Timestamps are TEXT in the fixed-width form 2026-01-15T09:12:00.000Z (see src/sql.rs),
-- so they sort chronologically. JSON is TEXT, stored exactly as serialized (key order kept).

CREATE TABLE orgs (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE clients (
    client_id   TEXT NOT NULL PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    scopes      TEXT NOT NULL,            -- JSON array of strings
    created_at  TEXT NOT NULL
);

CREATE TABLE tokens (
    token_hash  TEXT NOT NULL PRIMARY KEY, -- only hashes are stored; the caller hashes
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_name   TEXT NOT NULL,
    scopes      TEXT NOT NULL,            -- JSON array of strings
    kind        TEXT NOT NULL,            -- access | refresh
    client_id   TEXT,
    expires_at  TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE flows (
    org_id             TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    name               TEXT NOT NULL,
    name_folded        TEXT NOT NULL,     -- lower-cased name, for case-insensitive search and ordering
    flow_type          TEXT NOT NULL,
    description        TEXT,
    status             TEXT NOT NULL,
    version            INTEGER NOT NULL,  -- draft document version (optimistic locking)
    document           TEXT NOT NULL,     -- the draft as sent, JSON
    created_by         TEXT NOT NULL,
    created_date       TEXT NOT NULL,
    last_modified_by   TEXT NOT NULL,
    last_modified_date TEXT NOT NULL,
    locked_by          TEXT,
    locked_at          TEXT,
    latest_version     INTEGER,           -- newest published number; always MAX(flow_versions.number)
    CONSTRAINT flows_pkey PRIMARY KEY (org_id, id),
    CONSTRAINT flows_name_unique UNIQUE (org_id, name)
);
CREATE INDEX flows_by_folded_name ON flows (org_id, name_folded, name, id);

CREATE TABLE flow_versions (
    org_id       TEXT NOT NULL,
    flow_id      TEXT NOT NULL,
    number       INTEGER NOT NULL,
    document     TEXT NOT NULL,
    comment      TEXT,
    created_by   TEXT NOT NULL,
    created_date TEXT NOT NULL,
    CONSTRAINT flow_versions_pkey PRIMARY KEY (org_id, flow_id, number),
    FOREIGN KEY (org_id, flow_id) REFERENCES flows (org_id, id) ON DELETE CASCADE
);

-- Published versions are immutable: only whole-flow deletion removes them.
CREATE TRIGGER flow_versions_immutable BEFORE UPDATE ON flow_versions
BEGIN
    SELECT RAISE(ABORT, 'flow versions are immutable');
END;

CREATE TABLE flow_tags (
    org_id   TEXT NOT NULL,
    flow_id  TEXT NOT NULL,
    tag      TEXT NOT NULL,
    number   INTEGER NOT NULL,
    CONSTRAINT flow_tags_pkey PRIMARY KEY (org_id, flow_id, tag),
    FOREIGN KEY (org_id, flow_id, number)
        REFERENCES flow_versions (org_id, flow_id, number) ON DELETE CASCADE
);

CREATE TABLE functions (
    org_id             TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    name               TEXT NOT NULL,
    name_folded        TEXT NOT NULL,
    description        TEXT,
    language           TEXT NOT NULL,
    selected_runtime   TEXT NOT NULL,
    timeout_in_sec     INTEGER NOT NULL,
    source_code        TEXT NOT NULL,
    inputs             TEXT NOT NULL,     -- JSON
    outputs            TEXT NOT NULL,     -- a stringified JSON object, kept as sent
    status             TEXT NOT NULL,
    draft_version      INTEGER NOT NULL,
    latest_version     INTEGER,           -- always MAX(function_versions.version)
    locked_by          TEXT,
    locked_at          TEXT,
    created_by         TEXT NOT NULL,
    created_date       TEXT NOT NULL,
    last_modified_by   TEXT NOT NULL,
    last_modified_date TEXT NOT NULL,
    extra              TEXT NOT NULL,     -- JSON object: fields the client sent that we do not model
    CONSTRAINT functions_pkey PRIMARY KEY (org_id, id),
    CONSTRAINT functions_name_unique UNIQUE (org_id, name)
);
CREATE INDEX functions_by_folded_name ON functions (org_id, name_folded, name, id);

CREATE TABLE function_versions (
    org_id           TEXT NOT NULL,
    function_id      TEXT NOT NULL,
    version          INTEGER NOT NULL,
    source_code      TEXT NOT NULL,
    language         TEXT NOT NULL,
    selected_runtime TEXT NOT NULL,
    timeout_in_sec   INTEGER NOT NULL,
    inputs           TEXT NOT NULL,
    outputs          TEXT NOT NULL,
    comment          TEXT,
    created_by       TEXT NOT NULL,
    created_date     TEXT NOT NULL,
    CONSTRAINT function_versions_pkey PRIMARY KEY (org_id, function_id, version),
    FOREIGN KEY (org_id, function_id) REFERENCES functions (org_id, id) ON DELETE CASCADE
);

CREATE TRIGGER function_versions_immutable BEFORE UPDATE ON function_versions
BEGIN
    SELECT RAISE(ABORT, 'function versions are immutable');
END;

CREATE TABLE function_tags (
    org_id      TEXT NOT NULL,
    function_id TEXT NOT NULL,
    tag         TEXT NOT NULL,
    version     INTEGER NOT NULL,
    CONSTRAINT function_tags_pkey PRIMARY KEY (org_id, function_id, tag),
    FOREIGN KEY (org_id, function_id, version)
        REFERENCES function_versions (org_id, function_id, version) ON DELETE CASCADE
);

-- Configuration entities (queues, teams, audio files, business hours, entry points, global
-- variables, ...): one generic table keyed by kind, the body kept in the official JSON shape.
CREATE TABLE entities (
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,             -- JSON
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT entities_pkey PRIMARY KEY (org_id, kind, id)
);
CREATE INDEX entities_by_name ON entities (org_id, kind, name, id);
