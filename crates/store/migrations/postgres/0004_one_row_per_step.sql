-- Durable steps that write the execution row and the trace, nothing else; claims that write
-- only the row, in place (HOT). Keep in step with ../sqlite/0004_one_row_per_step.sql (same
-- tables, columns and index names; the index keys and table storage differ, as noted).
--
-- 1. Pending timers on the execution row: `timers` is the task's whole set as a JSON array of
--    [timer id, due] pairs (due as 2026-01-15T09:12:00.000Z text, as on SQLite), `next_due`
--    the soonest due, NULL with no timer. A checkpoint writes them with the row it updates
--    anyway, instead of deleting and inserting rows of a separate table with two indexes.
--    `next_due` is deliberately not indexed: nothing queries it yet, and an indexed value
--    that moves on every timer would make every step's update a non-HOT one.
ALTER TABLE executions ADD COLUMN timers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE executions ADD COLUMN next_due TIMESTAMPTZ;

UPDATE executions e SET
    timers = t.timers,
    next_due = t.next_due
FROM (
    SELECT execution_id,
           json_agg(json_build_array(timer_id,
                        to_char(due AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                    ORDER BY due, timer_id)::TEXT AS timers,
           MIN(due) AS next_due
    FROM execution_timers GROUP BY execution_id
) t
WHERE e.id = t.execution_id;

DROP TABLE execution_timers;

-- 2. Unfinished executions listed by an index no step and no claim writes. The old
--    (status, lease_until) index changed whenever a task went from `running` to `waiting` or
--    back (most steps) and on every claim and lease renewal, so none of those updates could
--    be HOT: each wrote a new tuple and an entry in all five indexes. Now no indexed column
--    (nor a column of a partial index's predicate) changes on a step before the last or on a
--    claim. Keyed by id, for claims to continue from a cursor (`id > $after`).
DROP INDEX executions_by_status;
CREATE INDEX executions_unfinished ON executions (id) WHERE finished_at IS NULL;

-- 3. Room on every page for the new version of a row (rows are ~1 KB: 15 % of 8 KB is one
--    more version; pruning frees the dead one before the next update), so that an update
--    stays on its page: HOT needs both no indexed column changed and free space there.
--    More room would make the table larger than it needs to be (a 100,000-task resume reads
--    all of it). Applies to pages filled from now on.
ALTER TABLE executions SET (fillfactor = 85);
