-- A durable step appends one trace row, whatever the number of its records. Keep in step with
-- ../postgres/0005_one_trace_row_per_step.sql (same columns; the foreign key differs, as noted).
--
-- 1. One row per checkpoint: `records` is the JSON array of the records the checkpoint
--    appended (never empty: a checkpoint without records writes no row), `seq` the number of
--    the first of them; the others follow it, so record numbers stay 1, 2, 3, ... per
--    execution (`executions.trace_seq` still counts records) and rows never overlap. Readers
--    (src/executions.rs) flatten the arrays: the trace reads record by record as before. A
--    step used to insert one b-tree entry per record (two for a parked IVR task); now one,
--    the `trace` text of the checkpoint as it comes. Existing rows hold one record each: each
--    becomes a one-element array.
ALTER TABLE execution_traces RENAME COLUMN record TO records;
UPDATE execution_traces SET records = '[' || records || ']';

-- 2. The checkpoint trigger of migration 0004, appending that one row (0004's comments
--    describe it with its json_each insert of one row per record). Unchanged otherwise:
--    the guard first (a stale or missing execution aborts the statement, nothing written),
--    then the trace, then the row. The foreign key from the trace to its execution stays
--    here (PostgreSQL dropped its own for a trigger on DELETE): SQLite checks it with one
--    probe of the executions key the guard has just read, and dropping it would mean
--    rebuilding the table.
DROP TRIGGER execution_checkpoints_write;

CREATE TRIGGER execution_checkpoints_write INSTEAD OF INSERT ON execution_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'switchboard: stale checkpoint') WHERE NOT EXISTS (
        SELECT 1 FROM executions
        WHERE org_id = NEW.org_id AND id = NEW.id AND step = NEW.expected_step);
    INSERT INTO execution_traces (execution_id, seq, records, at)
        SELECT e.id, e.trace_seq + 1, NEW.trace, NEW.updated_at
        FROM executions e
        WHERE e.id = NEW.id AND NEW.added > 0;
    -- Two forms, one of which matches: only the last step names finished_at, because SQLite
    -- rewrites the entries of every index on a column an UPDATE sets, even to its value.
    UPDATE executions SET status = NEW.status, state = NEW.state, pending = NEW.pending,
        error = NEW.error, updated_at = NEW.updated_at, step = step + 1,
        trace_seq = trace_seq + NEW.added, timers = NEW.timers, next_due = NEW.next_due
    WHERE id = NEW.id AND NEW.finished_at IS NULL;
    UPDATE executions SET status = NEW.status, state = NEW.state, pending = NEW.pending,
        error = NEW.error, finished_at = NEW.finished_at, updated_at = NEW.updated_at,
        step = step + 1, trace_seq = trace_seq + NEW.added, timers = NEW.timers,
        next_due = NEW.next_due
    WHERE id = NEW.id AND NEW.finished_at IS NOT NULL;
END;
