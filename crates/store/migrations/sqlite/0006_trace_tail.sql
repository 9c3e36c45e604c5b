-- A durable step writes its trace records into its own execution row; a background writer
-- moves them into `execution_traces` later, many at a time. Keep in step with
-- ../postgres/0006_trace_tail.sql, which describes `trace_tail`. Here a step then writes one
-- b-tree page (the row's), not two: one WAL frame to sync instead of two.
ALTER TABLE executions ADD COLUMN trace_tail TEXT;

-- 0004's view and 0005's trigger with one more column, `tail`: when it is not NULL the
-- checkpoint's records are in it (as its last page) and no trace row is inserted; the row's
-- `trace_tail` becomes `tail`. When it is NULL, the trigger works as before.
DROP TRIGGER execution_checkpoints_write;
DROP VIEW execution_checkpoints;

CREATE VIEW execution_checkpoints AS SELECT
    NULL AS org_id, NULL AS id, NULL AS expected_step, NULL AS status, NULL AS state,
    NULL AS pending, NULL AS error, NULL AS finished_at, NULL AS updated_at, NULL AS added,
    NULL AS timers, NULL AS next_due, NULL AS trace, NULL AS tail;

CREATE TRIGGER execution_checkpoints_write INSTEAD OF INSERT ON execution_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'switchboard: stale checkpoint') WHERE NOT EXISTS (
        SELECT 1 FROM executions
        WHERE org_id = NEW.org_id AND id = NEW.id AND step = NEW.expected_step);
    INSERT INTO execution_traces (execution_id, seq, records, at)
        SELECT e.id, e.trace_seq + 1, NEW.trace, NEW.updated_at
        FROM executions e
        WHERE e.id = NEW.id AND NEW.added > 0 AND NEW.tail IS NULL;
    -- Two forms, one of which matches: only the last step names finished_at, because SQLite
    -- rewrites the entries of every index on a column an UPDATE sets, even to its value.
    UPDATE executions SET status = NEW.status, state = NEW.state, pending = NEW.pending,
        error = NEW.error, updated_at = NEW.updated_at, step = step + 1,
        trace_seq = trace_seq + NEW.added, timers = NEW.timers, next_due = NEW.next_due,
        trace_tail = COALESCE(NEW.tail, trace_tail)
    WHERE id = NEW.id AND NEW.finished_at IS NULL;
    UPDATE executions SET status = NEW.status, state = NEW.state, pending = NEW.pending,
        error = NEW.error, finished_at = NEW.finished_at, updated_at = NEW.updated_at,
        step = step + 1, trace_seq = trace_seq + NEW.added, timers = NEW.timers,
        next_due = NEW.next_due, trace_tail = COALESCE(NEW.tail, trace_tail)
    WHERE id = NEW.id AND NEW.finished_at IS NOT NULL;
END;
