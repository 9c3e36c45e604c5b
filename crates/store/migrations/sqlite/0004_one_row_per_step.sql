-- Durable steps that write the execution row and the trace, nothing else; claims that write
-- only the row. Keep in step with ../postgres/0004_one_row_per_step.sql (same tables, columns
-- and index names; the index keys and table storage differ, as noted).
--
-- 1. Pending timers on the execution row: `timers` is the task's whole set as a JSON array of
--    [timer id, due] pairs, due in the fixed-width timestamp text of every other column
--    (src/sql.rs), and `next_due` the soonest due, NULL with no timer. A checkpoint writes
--    them with the row it updates anyway, instead of deleting and inserting rows of a
--    separate table and its `due` index (two to three more b-tree pages per step). `next_due`
--    is deliberately not indexed: nothing queries it yet, and an index on a value that moves
--    on every timer would cost each step a page here and HOT updates on PostgreSQL.
ALTER TABLE executions ADD COLUMN timers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE executions ADD COLUMN next_due TEXT;

UPDATE executions SET
    timers = (SELECT json_group_array(json_array(t.timer_id, t.due))
              FROM (SELECT timer_id, due FROM execution_timers
                    WHERE execution_id = executions.id ORDER BY due, timer_id) t),
    next_due = (SELECT MIN(due) FROM execution_timers WHERE execution_id = executions.id)
WHERE id IN (SELECT execution_id FROM execution_timers);

DROP TABLE execution_timers;

-- 2. The trace WITHOUT ROWID: the primary key (execution_id, seq) is the table, one b-tree
--    instead of the table and its key index; an execution's records are read as one range.
--    (Appending a ~400-byte record still costs ~2.6 WAL pages on average, as with a rowid
--    table and its index: leaf splits of an insert at a random place dominate.) Same columns
--    and names.
CREATE TABLE execution_traces_new (
    execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    record       TEXT NOT NULL,             -- JSON
    at           TEXT NOT NULL,
    CONSTRAINT execution_traces_pkey PRIMARY KEY (execution_id, seq)
) WITHOUT ROWID;
INSERT INTO execution_traces_new (execution_id, seq, record, at)
    SELECT execution_id, seq, record, at FROM execution_traces;
DROP TABLE execution_traces;
ALTER TABLE execution_traces_new RENAME TO execution_traces;

-- 3. Unfinished executions listed by an index no step and no claim writes. The old
--    (status, lease_until) index changed whenever a task went from `running` to `waiting` or
--    back (most steps) and on every claim and lease renewal. This one holds the unfinished
--    rows only (finished_at is set once, by the last step) and its key never changes: here it
--    is the always-NULL finished_at, so entries sort by rowid and claims walk the table in
--    its own order from a cursor (`rowid > $after`), writing each page once.
DROP INDEX executions_by_status;
CREATE INDEX executions_unfinished ON executions (finished_at) WHERE finished_at IS NULL;

-- 4. A checkpoint in one statement. SQLite has no data-modifying CTEs, so a checkpoint was a
--    batch from BEGIN IMMEDIATE to COMMIT; inserting one row into this view instead runs the
--    trigger below in the statement's own transaction: all of it or nothing, with no
--    transaction left open if the caller goes away. The columns are the guarded update's
--    parameters in order (src/executions.rs); `trace` is a JSON array of the records.
--    The guard comes first: a stale or missing execution aborts the statement.
CREATE VIEW execution_checkpoints AS SELECT
    NULL AS org_id, NULL AS id, NULL AS expected_step, NULL AS status, NULL AS state,
    NULL AS pending, NULL AS error, NULL AS finished_at, NULL AS updated_at, NULL AS added,
    NULL AS timers, NULL AS next_due, NULL AS trace;

CREATE TRIGGER execution_checkpoints_write INSTEAD OF INSERT ON execution_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'switchboard: stale checkpoint') WHERE NOT EXISTS (
        SELECT 1 FROM executions
        WHERE org_id = NEW.org_id AND id = NEW.id AND step = NEW.expected_step);
    INSERT INTO execution_traces (execution_id, seq, record, at)
        SELECT e.id, e.trace_seq + 1 + r.key, r.value, NEW.updated_at
        FROM executions e, json_each(NEW.trace) r
        WHERE e.id = NEW.id;
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
