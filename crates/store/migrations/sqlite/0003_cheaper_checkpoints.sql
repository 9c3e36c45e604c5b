-- Cheaper durable steps. Keep in step with ../postgres/0003_cheaper_checkpoints.sql (same
-- tables, columns, constraint and index names).
--
-- 1. The number of each execution's last trace record, kept on its row. A checkpoint numbers
--    the records it appends from this counter, which its guarded UPDATE bumps, instead of
--    reading MAX(seq) from the trace first. Retention deletes trace rows but not the counter,
--    so numbering never restarts.
ALTER TABLE executions ADD COLUMN trace_seq INTEGER NOT NULL DEFAULT 0;

UPDATE executions SET trace_seq = (
    SELECT COALESCE(MAX(t.seq), 0) FROM execution_traces t WHERE t.execution_id = executions.id
);

-- 2. Pending timers WITHOUT ROWID (SQLite only; PostgreSQL has no rowid): the primary key is
--    the table itself, so replacing a task's timers writes one b-tree and the `due` index,
--    not three. Same columns, constraint and index as before.
CREATE TABLE execution_timers_new (
    execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    timer_id     INTEGER NOT NULL,
    due          TEXT NOT NULL,
    CONSTRAINT execution_timers_pkey PRIMARY KEY (execution_id, timer_id)
) WITHOUT ROWID;
INSERT INTO execution_timers_new (execution_id, timer_id, due)
    SELECT execution_id, timer_id, due FROM execution_timers;
DROP TABLE execution_timers;
ALTER TABLE execution_timers_new RENAME TO execution_timers;
CREATE INDEX execution_timers_by_due ON execution_timers (due);
