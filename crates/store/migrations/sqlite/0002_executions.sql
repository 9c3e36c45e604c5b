-- Durable executions, SQLite flavour. Keep in step with ../postgres/0002_executions.sql:
-- same tables, same columns, same constraint and index names; only the types differ.
--
-- An execution belongs to its org (deleting the org deletes it, its timers and its trace) but
-- deliberately has no foreign key to flows: deleting a flow keeps the history of the tasks that
-- ran it, so flow_id may name a flow that no longer exists.

CREATE TABLE executions (
    id           TEXT NOT NULL PRIMARY KEY, -- globally unique (the runtime addresses leases by id)
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    flow_id      TEXT NOT NULL,             -- no foreign key: see above
    flow_version INTEGER,                   -- published version run; NULL = the draft
    status       TEXT NOT NULL,             -- running | waiting | completed | failed | cancelled
    state        TEXT NOT NULL,             -- the engine's task state, JSON
    pending      TEXT NOT NULL,             -- JSON array of commands issued but not yet answered
    error        TEXT,
    step         INTEGER NOT NULL,          -- checkpoint counter (optimistic locking)
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    finished_at  TEXT,
    lease_owner  TEXT,                      -- the server process running the task
    lease_until  TEXT
);
CREATE INDEX executions_by_org_created ON executions (org_id, created_at, id);
CREATE INDEX executions_by_flow ON executions (org_id, flow_id, created_at);
CREATE INDEX executions_by_status ON executions (status, lease_until);
CREATE INDEX executions_by_finished ON executions (finished_at);

-- The pending timers of each execution: replaced as a whole by every checkpoint.
CREATE TABLE execution_timers (
    execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    timer_id     INTEGER NOT NULL,
    due          TEXT NOT NULL,
    CONSTRAINT execution_timers_pkey PRIMARY KEY (execution_id, timer_id)
);
CREATE INDEX execution_timers_by_due ON execution_timers (due);

-- Append-only trace: one row per record, numbered 1, 2, 3, ... per execution.
CREATE TABLE execution_traces (
    execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    record       TEXT NOT NULL,             -- JSON
    at           TEXT NOT NULL,
    CONSTRAINT execution_traces_pkey PRIMARY KEY (execution_id, seq)
);
