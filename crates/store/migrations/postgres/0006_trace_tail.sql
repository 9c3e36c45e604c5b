-- A durable step's trace records wait on the execution row, and move to execution_traces a few
-- steps' worth at a time. Keep in step with ../sqlite/0006_trace_tail.sql (same columns; SQLite
-- never fills them, as noted there).
--
-- `trace_tail` holds the records of the latest steps not yet in a trace row: the contents of a
-- JSON array (records joined by commas, no brackets), '' when none; `trace_tail_seq` the number
-- of its first record (0 when empty); its last is `trace_seq`. A step that appends to the tail
-- writes the row it updates anyway, in place (HOT), instead of a heap tuple and a b-tree entry
-- of execution_traces: the runner appends while the row stays small enough to be stored
-- inline (no TOAST) and moves the tail into one trace row with the next step's records when
-- it would not, and on the last step. Readers (src/executions.rs) read the trace rows, then
-- the tail.
ALTER TABLE executions ADD COLUMN trace_tail TEXT NOT NULL DEFAULT '';
ALTER TABLE executions ADD COLUMN trace_tail_seq BIGINT NOT NULL DEFAULT 0;
