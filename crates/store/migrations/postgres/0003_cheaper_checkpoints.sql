-- Cheaper durable steps. Keep in step with ../sqlite/0003_cheaper_checkpoints.sql (which also
-- rebuilds execution_timers WITHOUT ROWID, a SQLite storage detail with no PostgreSQL
-- counterpart: tables, columns, constraint and index names stay the same on both).
--
-- The number of each execution's last trace record, kept on its row. A checkpoint numbers the
-- records it appends from this counter, which its guarded UPDATE bumps, instead of reading
-- MAX(seq) from the trace first. Retention deletes trace rows but not the counter, so
-- numbering never restarts.
ALTER TABLE executions ADD COLUMN trace_seq BIGINT NOT NULL DEFAULT 0;

UPDATE executions SET trace_seq = (
    SELECT COALESCE(MAX(t.seq), 0) FROM execution_traces t WHERE t.execution_id = executions.id
);
