-- Durable executions, PostgreSQL flavour. Keep in step with ../sqlite/0002_executions.sql:
-- same tables, same columns, same constraint and index names; only the types differ.
--
-- An execution belongs to its org (deleting the org deletes it, its timers and its trace) but
-- deliberately has no foreign key to flows: deleting a flow keeps the history of the tasks that
-- ran it, so flow_id may name a flow that no longer exists.

CREATE TABLE executions (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id       TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    flow_id      TEXT COLLATE "C" NOT NULL,
    flow_version BIGINT,
    status       TEXT COLLATE "C" NOT NULL,
    state        TEXT NOT NULL,
    pending      TEXT NOT NULL,
    error        TEXT,
    step         BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    lease_owner  TEXT,
    lease_until  TIMESTAMPTZ
);
CREATE INDEX executions_by_org_created ON executions (org_id, created_at, id);
CREATE INDEX executions_by_flow ON executions (org_id, flow_id, created_at);
CREATE INDEX executions_by_status ON executions (status, lease_until);
CREATE INDEX executions_by_finished ON executions (finished_at);

CREATE TABLE execution_timers (
    execution_id TEXT COLLATE "C" NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    timer_id     BIGINT NOT NULL,
    due          TIMESTAMPTZ NOT NULL,
    CONSTRAINT execution_timers_pkey PRIMARY KEY (execution_id, timer_id)
);
CREATE INDEX execution_timers_by_due ON execution_timers (due);

CREATE TABLE execution_traces (
    execution_id TEXT COLLATE "C" NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    record       TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    CONSTRAINT execution_traces_pkey PRIMARY KEY (execution_id, seq)
);
