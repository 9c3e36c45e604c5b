-- A durable step appends one trace row, whatever the number of its records, and nothing checks
-- a foreign key for it. Keep in step with ../sqlite/0005_one_trace_row_per_step.sql (same
-- columns; SQLite keeps its foreign key, as noted there).
--
-- 1. One row per checkpoint: `records` is the JSON array of the records the checkpoint
--    appended (never empty: a checkpoint without records writes no row), `seq` the number of
--    the first of them; the others follow it, so record numbers stay 1, 2, 3, ... per
--    execution (`executions.trace_seq` still counts records) and rows never overlap. Readers
--    (src/executions.rs) flatten the arrays: the trace reads record by record as before. A
--    step used to insert one row, heap tuple and key entry per record (two for a parked IVR
--    task). Existing rows hold one record each: each becomes a one-element array.
ALTER TABLE execution_traces RENAME COLUMN record TO records;
UPDATE execution_traces SET records = '[' || records || ']';

-- 2. No foreign key from the trace to its execution. Every inserted trace row cost a check
--    (the RI trigger's query and a share lock on the execution row), although the only
--    writers insert a trace row in the transaction that writes that very execution row: a
--    checkpoint in the statement of its guarded update (which holds the row's lock, so a
--    concurrent DELETE of the execution waits for it, then deletes the new trace row too),
--    `insert_executions` after inserting the row. Deleting executions still deletes their
--    trace (an org's deletion cascades to its executions, and from them here): a
--    statement-level trigger, once per DELETE whatever the number of rows. Its function names
--    the table through the search path of the schema the migration ran in. This replaces the
--    trace's ON DELETE CASCADE of 0002_executions.sql; what 0002 says of deleting an org (its
--    executions and their trace go with it) still holds.
ALTER TABLE execution_traces DROP CONSTRAINT execution_traces_execution_id_fkey;

CREATE FUNCTION execution_traces_of_deleted() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM execution_traces t USING deleted d WHERE t.execution_id = d.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER executions_delete_traces AFTER DELETE ON executions
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION execution_traces_of_deleted();
