-- The trace tail of ../postgres/0006_trace_tail.sql (see there). Same columns, never filled
-- here: the checkpoint trigger (0005) writes each step's records as a trace row, where one
-- statement through the trigger costs the same either way, so the tail stays '' and readers
-- find nothing in it.
ALTER TABLE executions ADD COLUMN trace_tail TEXT NOT NULL DEFAULT '';
ALTER TABLE executions ADD COLUMN trace_tail_seq INTEGER NOT NULL DEFAULT 0;
