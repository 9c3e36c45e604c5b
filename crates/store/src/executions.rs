//! Durable executions (tasks): the engine's state at every checkpoint, the task's pending
//! timers, its trace, and the leases that say which server process runs it.
//!
//! The store gives `state` and `pending` no meaning: they are the runtime's JSON. What it does
//! guarantee:
//!
//! - A checkpoint is one transaction: the row (guarded by `step`), the complete set of pending
//!   timers and the trace records of the step commit together or not at all. `step` is the
//!   optimistic-locking token: the write sets `step = expected + 1` in the same statement that
//!   checks it, so of two writers holding the same checkpoint exactly one wins and the other
//!   gets [`StoreError::VersionConflict`] with nothing written.
//! - Leases: an execution is *held* while `lease_until` is in the future, and *free* when
//!   `lease_until` is NULL or has passed (a crashed process's tasks become claimable again once
//!   its leases run out). [`Store::claim_unfinished_executions`] takes free unfinished tasks in
//!   one statement — `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent claimers in several
//!   processes never both take one; on SQLite the single writer (and `BEGIN IMMEDIATE`
//!   across processes) serializes claims. Owner ids must be unique per process lifetime: a
//!   claim never returns an execution whose lease is still running, even to its own owner.
//!   The runtime should insert a new execution with itself as the lease owner, so no other
//!   process's sweep picks up a task that is running here.
//! - Checkpoints do not touch the lease: a task keeps its owner until the owner releases it,
//!   the lease runs out, or (for finished tasks) forever, harmlessly — claims only ever take
//!   `running` and `waiting` executions.
//! - Trace records are numbered 1, 2, 3, ... per execution, continuing across checkpoints
//!   (from a counter on the row, `trace_seq`). Retention ([`Store::prune_traces`]) removes
//!   the trace of finished executions and keeps the execution rows and their counters.
//! - Executions reference their org (deleting the org deletes them with their timers and
//!   traces) but not their flow: deleting a flow keeps the history of the tasks that ran it,
//!   so `flow_id` may name a flow that no longer exists.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::sql::{count_arg, from_json, to_json, write_error, Arg, Ts};
use crate::{Backend, Store, StoreError};

/// One execution (task) of a flow, as of its latest checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    /// Globally unique (leases and timers are addressed by id alone).
    pub id: String,
    pub org_id: String,
    pub flow_id: String,
    /// The published version the task runs on; `None` = the draft (for testing).
    pub flow_version: Option<i64>,
    /// `running`, `waiting`, `completed`, `failed` or `cancelled`.
    pub status: String,
    /// The engine's task state (opaque here).
    pub state: serde_json::Value,
    /// Commands issued but not yet answered (a JSON array), re-performed after a restart.
    pub pending: serde_json::Value,
    pub error: Option<String>,
    /// Checkpoint counter: the optimistic guard against two writers.
    pub step: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The server process running the task.
    pub lease_owner: Option<String>,
    /// The lease is held until then; NULL or past = free.
    pub lease_until: Option<DateTime<Utc>>,
}

/// An execution claimed by [`Store::claim_executions_to_resume`]: what a runner needs to
/// continue it, `state` and `pending` as the stored JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedExecution {
    pub id: String,
    pub org_id: String,
    pub flow_id: String,
    pub flow_version: Option<i64>,
    pub state: String,
    pub pending: String,
    pub step: i64,
    pub created_at: DateTime<Utc>,
}

/// A pending timer of an execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerRow {
    pub execution_id: String,
    pub timer_id: i64,
    pub due: DateTime<Utc>,
}

/// One trace record of an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceRow {
    pub execution_id: String,
    /// 1, 2, 3, ... per execution.
    pub seq: i64,
    pub record: serde_json::Value,
    /// When the checkpoint that wrote it happened.
    pub at: DateTime<Utc>,
}

/// What [`Store::checkpoint_execution`] writes. The JSON is already serialized: a runtime
/// writes its own types straight to text (`serde_json::value::to_raw_value`), which costs a
/// fraction of building a `serde_json::Value` first, on every step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Must equal the stored `step`; the write sets `step = expected_step + 1`.
    pub expected_step: i64,
    pub status: String,
    pub state: Box<RawValue>,
    pub pending: Box<RawValue>,
    pub error: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The task's complete set of pending timers (`(timer id, due)`, ids unique): replaces the
    /// stored set.
    pub timers: Vec<(i64, DateTime<Utc>)>,
    /// Appended to the trace, numbering continuing.
    pub trace: Vec<Box<RawValue>>,
    /// Becomes `updated_at` and the time of the trace records.
    pub at: DateTime<Utc>,
}

/// The ten arguments every form of the checkpoint's guarded update binds first, in order
/// (`$1`..`$10` of [`UPDATE_CHECKPOINT`], `CHECKPOINT_POSTGRES` and the SQLite batch).
#[derive(Clone, Copy)]
struct Guard<'a> {
    org_id: &'a str,
    id: &'a str,
    expected_step: i64,
    status: &'a str,
    state: &'a str,
    pending: &'a str,
    error: Option<&'a str>,
    finished_at: Option<Ts>,
    at: Ts,
    added: i64,
}

/// Binds a [`Guard`] to a query (the query types differ, so a macro, not a function).
macro_rules! bind_guard {
    ($query:expr, $g:expr) => {{
        let g: Guard<'_> = $g;
        $query
            .bind(g.org_id)
            .bind(g.id)
            .bind(g.expected_step)
            .bind(g.status)
            .bind(g.state)
            .bind(g.pending)
            .bind(g.error)
            .bind(g.finished_at)
            .bind(g.at)
            .bind(g.added)
    }};
}

/// One execution for [`Store::insert_executions`]: the row with its first checkpoint's timers
/// and trace.
#[derive(Debug, Clone, Copy)]
pub struct NewExecution<'a> {
    pub record: &'a ExecutionRecord,
    pub timers: &'a [(i64, DateTime<Utc>)],
    pub trace: &'a [serde_json::Value],
}

/// Which executions [`Store::list_executions`] returns: newest first (by `created_at`, then
/// id descending).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionFilter {
    pub flow_id: Option<String>,
    pub status: Option<String>,
    pub offset: u64,
    pub limit: u64,
}

impl Default for ExecutionFilter {
    /// Every execution, no paging.
    fn default() -> Self {
        ExecutionFilter {
            flow_id: None,
            status: None,
            offset: 0,
            limit: u64::MAX,
        }
    }
}

const EXECUTION_COLUMNS: &str = "id, org_id, flow_id, flow_version, status, state, pending, \
     error, step, created_at, updated_at, finished_at, lease_owner, lease_until";

/// What [`Store::claim_executions_to_resume`] returns of a claimed row.
const CLAIMED_COLUMNS: &str = "id, org_id, flow_id, flow_version, state, pending, step, created_at";

/// The statuses of executions that have not finished: the ones claims take.
const UNFINISHED: &str = "('running', 'waiting')";

/// Rows per multi-row `INSERT`: far below both backends' bind-parameter limits.
const ROWS_PER_INSERT: usize = 500;

/// Leases never run past this (the fixed-width SQLite encoding has four-digit years).
const LATEST_LEASE_MILLIS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

#[derive(sqlx::FromRow)]
struct ExecutionRow {
    id: String,
    org_id: String,
    flow_id: String,
    flow_version: Option<i64>,
    status: String,
    state: String,
    pending: String,
    error: Option<String>,
    step: i64,
    created_at: Ts,
    updated_at: Ts,
    finished_at: Option<Ts>,
    lease_owner: Option<String>,
    lease_until: Option<Ts>,
}

impl TryFrom<ExecutionRow> for ExecutionRecord {
    type Error = StoreError;

    fn try_from(row: ExecutionRow) -> Result<Self, StoreError> {
        Ok(ExecutionRecord {
            state: from_json(&row.state, "executions.state")?,
            pending: from_json(&row.pending, "executions.pending")?,
            id: row.id,
            org_id: row.org_id,
            flow_id: row.flow_id,
            flow_version: row.flow_version,
            status: row.status,
            error: row.error,
            step: row.step,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            finished_at: row.finished_at.map(|t| t.0),
            lease_owner: row.lease_owner,
            lease_until: row.lease_until.map(|t| t.0),
        })
    }
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: String,
    org_id: String,
    flow_id: String,
    flow_version: Option<i64>,
    state: String,
    pending: String,
    step: i64,
    created_at: Ts,
}

#[derive(sqlx::FromRow)]
struct TimerDbRow {
    execution_id: String,
    timer_id: i64,
    due: Ts,
}

#[derive(sqlx::FromRow)]
struct TraceDbRow {
    execution_id: String,
    seq: i64,
    record: String,
    at: Ts,
}

/// `INSERT INTO execution_timers` of `rows` rows; `$1` is the execution id, then
/// `(timer_id, due)` per row.
fn timers_insert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| format!("($1, ${}, ${})", 2 + 2 * i, 3 + 2 * i))
        .collect();
    format!(
        "INSERT INTO execution_timers (execution_id, timer_id, due) VALUES {}",
        values.join(", ")
    )
}

/// `INSERT INTO execution_traces` of `rows` rows; `$1` is the execution id, `$2` the time,
/// then `(seq, record)` per row.
fn trace_insert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| format!("($1, ${}, ${}, $2)", 3 + 2 * i, 4 + 2 * i))
        .collect();
    format!(
        "INSERT INTO execution_traces (execution_id, seq, record, at) VALUES {}",
        values.join(", ")
    )
}

/// The guarded write of a checkpoint: `$1` org, `$2` id, `$3` expected step, `$4`..`$9`
/// status, state, pending, error, finished_at, updated_at, `$10` how many trace records the
/// checkpoint adds. Returns the new step and trace counter.
const UPDATE_CHECKPOINT: &str = "UPDATE executions SET status = $4, state = $5, pending = $6, \
     error = $7, finished_at = $8, updated_at = $9, step = step + 1, trace_seq = trace_seq + $10 \
     WHERE org_id = $1 AND id = $2 AND step = $3 RETURNING step, trace_seq";

/// Explains a checkpoint that matched no row (with [`refused`]).
const CURRENT_STEP: &str = "SELECT step FROM executions WHERE org_id = $1 AND id = $2";

/// Why a checkpoint matched no row, from the execution's current step (if it exists).
fn refused(current: Option<i64>) -> StoreError {
    match current {
        Some(current) => StoreError::VersionConflict { current },
        None => StoreError::NotFound,
    }
}

/// A whole checkpoint on PostgreSQL, one statement: [`UPDATE_CHECKPOINT`]'s parameters, then
/// `$11` timer ids, `$12` their due times, `$13` the trace records. Every other part reads
/// the guarded update's row, so nothing is touched before it holds the row lock, and nothing
/// at all when it matched nothing (stale or missing: no row is returned).
const CHECKPOINT_POSTGRES: &str = "WITH cur AS ( \
         UPDATE executions SET status = $4, state = $5, pending = $6, error = $7, \
             finished_at = $8, updated_at = $9, step = step + 1, trace_seq = trace_seq + $10 \
         WHERE org_id = $1 AND id = $2 AND step = $3 \
         RETURNING id, step, trace_seq \
     ), gone AS ( \
         DELETE FROM execution_timers t USING cur \
         WHERE t.execution_id = cur.id AND t.timer_id <> ALL ($11::BIGINT[]) \
     ), kept AS ( \
         INSERT INTO execution_timers (execution_id, timer_id, due) \
         SELECT cur.id, n.timer_id, n.due \
         FROM cur, unnest($11::BIGINT[], $12::TIMESTAMPTZ[]) AS n (timer_id, due) \
         ON CONFLICT (execution_id, timer_id) DO UPDATE SET due = EXCLUDED.due \
             WHERE execution_timers.due <> EXCLUDED.due \
     ), traced AS ( \
         INSERT INTO execution_traces (execution_id, seq, record, at) \
         SELECT cur.id, cur.trace_seq - $10 + r.n, r.record, $9 \
         FROM cur, unnest($13::TEXT[]) WITH ORDINALITY AS r (record, n) \
     ) \
     SELECT step FROM cur";

/// A whole checkpoint on SQLite as one batch of statements, its transaction included:
/// [`UPDATE_CHECKPOINT`]'s parameters, then `(timer_id, due)` per timer, then each trace
/// record.
///
/// Every write is guarded by the row still having the expected step, so a stale or missing
/// execution commits an empty transaction: the timers not in the new set are deleted and
/// the new set upserted (unchanged timers and their index entries are not touched), the
/// trace appended, numbered from the row's counter, and last the guarded update, which
/// returns the new step (no row: nothing was written). `BEGIN IMMEDIATE` keeps every other
/// writer out in between.
fn batched_checkpoint_sql(timers: usize, trace: usize) -> String {
    const EXPECTED: &str = "SELECT 1 FROM executions WHERE org_id = $1 AND id = $2 AND step = $3";
    let mut sql =
        String::from("BEGIN IMMEDIATE; DELETE FROM execution_timers WHERE execution_id = $2");
    if timers > 0 {
        let ids: Vec<String> = (0..timers).map(|i| format!("${}", 11 + 2 * i)).collect();
        sql += &format!(" AND timer_id NOT IN ({})", ids.join(", "));
    }
    sql += &format!(" AND EXISTS ({EXPECTED}); ");
    if timers > 0 {
        let values: Vec<String> = (0..timers)
            .map(|i| format!("(${}, ${})", 11 + 2 * i, 12 + 2 * i))
            .collect();
        sql += &format!(
            "INSERT INTO execution_timers (execution_id, timer_id, due) \
             SELECT e.id, v.column1, v.column2 FROM executions e, (VALUES {}) AS v \
             WHERE e.org_id = $1 AND e.id = $2 AND e.step = $3 \
             ON CONFLICT (execution_id, timer_id) DO UPDATE SET due = excluded.due \
             WHERE execution_timers.due <> excluded.due; ",
            values.join(", ")
        );
    }
    if trace > 0 {
        let first = 11 + 2 * timers;
        let values: Vec<String> = (0..trace)
            .map(|i| format!("({}, ${})", i + 1, first + i))
            .collect();
        sql += &format!(
            "INSERT INTO execution_traces (execution_id, seq, record, at) \
             SELECT e.id, e.trace_seq + v.column1, v.column2, $9 \
             FROM executions e, (VALUES {}) AS v \
             WHERE e.org_id = $1 AND e.id = $2 AND e.step = $3; ",
            values.join(", ")
        );
    }
    sql += UPDATE_CHECKPOINT;
    sql += "; COMMIT";
    sql
}

/// Inserts `$timers` (`&[(i64, DateTime<Utc>)]`) for execution `$id` inside transaction `$tx`.
macro_rules! insert_timers {
    ($tx:ident, $id:expr, $timers:expr) => {
        for chunk in $timers.chunks(ROWS_PER_INSERT) {
            let sql = timers_insert_sql(chunk.len());
            let mut query = sqlx::query(&sql).bind($id);
            for (timer_id, due) in chunk {
                query = query.bind(*timer_id).bind(Ts::new(*due));
            }
            query.execute(&mut *$tx).await?;
        }
    };
}

/// Appends `$records` (serialized JSON) to the trace of execution `$id`, numbered from
/// `$first_seq`, inside transaction `$tx`.
macro_rules! append_trace {
    ($tx:ident, $id:expr, $first_seq:expr, $records:expr, $at:expr) => {
        let mut seq: i64 = $first_seq;
        for chunk in $records.chunks(ROWS_PER_INSERT) {
            let sql = trace_insert_sql(chunk.len());
            let mut query = sqlx::query(&sql).bind($id).bind($at);
            for record in chunk {
                query = query.bind(seq).bind(record);
                seq += 1;
            }
            query.execute(&mut *$tx).await?;
        }
    };
}

/// When a lease of `lease` taken at `now` runs out (capped at the year 9999).
fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    let latest = DateTime::<Utc>::from_timestamp_millis(LATEST_LEASE_MILLIS)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    chrono::Duration::from_std(lease)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .map_or(latest, |until| until.min(latest))
}

impl Store {
    /// Inserts a new execution with its first checkpoint's timers and trace (numbered from 1,
    /// timed `e.updated_at`), in one transaction. [`StoreError::AlreadyExists`] if the id is
    /// taken, [`StoreError::UnknownOrg`].
    pub async fn insert_execution(
        &self,
        e: &ExecutionRecord,
        timers: &[(i64, DateTime<Utc>)],
        trace: &[serde_json::Value],
    ) -> Result<(), StoreError> {
        self.insert_executions(&[NewExecution {
            record: e,
            timers,
            trace,
        }])
        .await
    }

    /// [`Store::insert_execution`] of many executions in one transaction: all or none are
    /// written (imports, test and benchmark set-ups; one commit instead of one per row).
    pub async fn insert_executions(&self, batch: &[NewExecution<'_>]) -> Result<(), StoreError> {
        struct Encoded {
            state: String,
            pending: String,
            trace: Vec<String>,
        }
        // Encoded before the transaction starts, so the single SQLite writer is held only
        // for the statements.
        let encoded = batch
            .iter()
            .map(|n| {
                Ok(Encoded {
                    state: to_json(&n.record.state)?,
                    pending: to_json(&n.record.pending)?,
                    trace: n.trace.iter().map(to_json).collect::<Result<Vec<_>, _>>()?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let sql = format!(
            "INSERT INTO executions ({EXECUTION_COLUMNS}, trace_seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        );
        transaction!(self, |tx| {
            for (n, enc) in batch.iter().zip(&encoded) {
                let e = n.record;
                let at = Ts::new(e.updated_at);
                sqlx::query(&sql)
                    .bind(&e.id)
                    .bind(&e.org_id)
                    .bind(&e.flow_id)
                    .bind(e.flow_version)
                    .bind(&e.status)
                    .bind(&enc.state)
                    .bind(&enc.pending)
                    .bind(&e.error)
                    .bind(e.step)
                    .bind(Ts::new(e.created_at))
                    .bind(at)
                    .bind(Ts::opt(e.finished_at))
                    .bind(&e.lease_owner)
                    .bind(Ts::opt(e.lease_until))
                    .bind(count_arg(enc.trace.len() as u64))
                    .execute(&mut *tx)
                    .await
                    .map_err(|err| write_error(err, "executions", &e.org_id, &e.id, &e.id))?;
                insert_timers!(tx, &e.id, n.timers);
                append_trace!(tx, &e.id, 1, enc.trace, at);
            }
        });
        Ok(())
    }

    /// Writes a checkpoint in one transaction: updates the row if its `step` is still
    /// `c.expected_step` (setting it to `expected_step + 1`), replaces the pending timers with
    /// `c.timers` and appends `c.trace`. Returns the new step. The lease is left as it is.
    ///
    /// [`StoreError::NotFound`] (also for another org's execution);
    /// [`StoreError::VersionConflict`] with the stored step when `expected_step` is stale —
    /// nothing is written then. Under concurrent checkpoints with one `expected_step`, exactly
    /// one wins.
    ///
    /// Every durable step of every task comes through here, so it is lean: the row's trace
    /// counter (`trace_seq`) numbers the new records, timers that did not change are not
    /// rewritten, nothing is read back but the step, and the whole transaction reaches the
    /// database in one call — one statement on PostgreSQL, one batch from `BEGIN IMMEDIATE`
    /// to `COMMIT` on SQLite (each call is a round trip to sqlx's SQLite thread, as costly as
    /// the rest of a step) — except on SQLite for checkpoints of more than
    /// [`ROWS_PER_INSERT`] timers or trace records, which stay within its parameter limit
    /// statement by statement.
    pub async fn checkpoint_execution(
        &self,
        org_id: &str,
        id: &str,
        c: &Checkpoint,
    ) -> Result<i64, StoreError> {
        let trace: Vec<&str> = c.trace.iter().map(|r| r.get()).collect();
        let at = Ts::new(c.at);
        let added = count_arg(trace.len() as u64);
        let guard = Guard {
            org_id,
            id,
            expected_step: c.expected_step,
            status: &c.status,
            state: c.state.get(),
            pending: c.pending.get(),
            error: c.error.as_deref(),
            finished_at: Ts::opt(c.finished_at),
            at,
            added,
        };
        if let crate::Db::Postgres(pool) = &self.db {
            let started = std::time::Instant::now();
            let (timer_ids, dues): (Vec<i64>, Vec<DateTime<Utc>>) = c
                .timers
                .iter()
                .map(|(timer_id, due)| (*timer_id, crate::truncate_to_millis(*due)))
                .unzip();
            // One statement is one transaction: no BEGIN and COMMIT round trips.
            let step: Option<i64> = bind_guard!(sqlx::query_scalar(CHECKPOINT_POSTGRES), guard)
                .bind(&timer_ids)
                .bind(&dues)
                .bind(&trace)
                .fetch_optional(pool)
                .await?;
            crate::observe(&self.db, "transaction", started);
            return match step {
                Some(step) => Ok(step),
                None => {
                    let current: Option<i64> = sqlx::query_scalar(CURRENT_STEP)
                        .bind(org_id)
                        .bind(id)
                        .fetch_optional(pool)
                        .await?;
                    Err(refused(current))
                }
            };
        }
        let batched = c.timers.len() <= ROWS_PER_INSERT && trace.len() <= ROWS_PER_INSERT;
        if let (crate::Db::Sqlite { write, .. }, true) = (&self.db, batched) {
            let started = std::time::Instant::now();
            let sql = batched_checkpoint_sql(c.timers.len(), trace.len());
            let pool = write.clone();
            // Owned copies for the task below; it borrows them back as a `Guard`.
            let (org, execution) = (org_id.to_owned(), id.to_owned());
            let (status, error) = (c.status.clone(), c.error.clone());
            let (state, pending) = (guard.state.to_owned(), guard.pending.to_owned());
            let timers = c.timers.clone();
            let trace: Vec<String> = trace.iter().map(|r| (*r).to_owned()).collect();
            let (step, finished_at) = (guard.expected_step, guard.finished_at);
            // The batch holds its own transaction, so it must never stop halfway: it runs on
            // its own task, which finishes (or rolls back) even if this future is dropped.
            let written = tokio::spawn(async move {
                let mut conn = pool.acquire().await?;
                let guard = Guard {
                    org_id: &org,
                    id: &execution,
                    expected_step: step,
                    status: &status,
                    state: &state,
                    pending: &pending,
                    error: error.as_deref(),
                    finished_at,
                    at,
                    added,
                };
                let mut query = bind_guard!(sqlx::query_scalar(&sql), guard);
                for (timer_id, due) in &timers {
                    query = query.bind(*timer_id).bind(Ts::new(*due));
                }
                for record in &trace {
                    query = query.bind(record);
                }
                // fetch_all: every statement of the batch runs to its end.
                let written: Result<Vec<i64>, sqlx::Error> = query.fetch_all(&mut *conn).await;
                if written.is_err() {
                    // A statement failed before COMMIT: end the transaction it left open
                    // (fails harmlessly when BEGIN itself failed).
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                }
                written
            })
            .await
            .map_err(|e| {
                StoreError::Database(sqlx::Error::Protocol(format!("checkpoint: {e}")))
            })??;
            crate::observe(&self.db, "transaction", started);
            if let Some(step) = written.into_iter().next() {
                return Ok(step);
            }
            let current: Option<i64> = writer!(self, |pool| sqlx::query_scalar(CURRENT_STEP)
                .bind(org_id)
                .bind(id)
                .fetch_optional(pool)
                .await)?;
            return Err(refused(current));
        }
        // SQLite, more timers or trace records than one statement may bind: statement by
        // statement, the guarded update first.
        let step = transaction!(self, |tx| {
            let row: Option<(i64, i64)> = bind_guard!(sqlx::query_as(UPDATE_CHECKPOINT), guard)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((step, trace_seq)) = row else {
                // Nothing matched: say why (leaving here rolls the transaction back).
                let current: Option<i64> = sqlx::query_scalar(CURRENT_STEP)
                    .bind(org_id)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                return Err(refused(current));
            };
            sqlx::query("DELETE FROM execution_timers WHERE execution_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            insert_timers!(tx, id, c.timers);
            append_trace!(tx, id, trace_seq - added + 1, trace, at);
            step
        });
        Ok(step)
    }

    /// Benchmark baseline, not for production: overwrites the `state` of execution `id` with
    /// `state` and commits — the store's own cost of durably writing a row, which a checkpoint
    /// of the same size cannot go below.
    ///
    /// `in_transaction`: inside `BEGIN` ... `COMMIT` (on SQLite `BEGIN IMMEDIATE`, as every
    /// multi-statement write of the store), else one autocommitted statement (the cheapest).
    #[doc(hidden)]
    pub async fn bare_commit(
        &self,
        id: &str,
        state: &str,
        in_transaction: bool,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE executions SET state = $2 WHERE id = $1";
        if in_transaction {
            transaction!(self, |tx| {
                sqlx::query(sql)
                    .bind(id)
                    .bind(state)
                    .execute(&mut *tx)
                    .await?;
            });
        } else {
            writer!(self, |pool| sqlx::query(sql)
                .bind(id)
                .bind(state)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(())
    }

    pub async fn get_execution(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let sql =
            format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE org_id = $1 AND id = $2");
        let row = reader!(self, |pool| sqlx::query_as::<_, ExecutionRow>(&sql)
            .bind(org_id)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(ExecutionRecord::try_from).transpose()
    }

    /// One page of the org's executions matching `filter`, newest first, and how many match
    /// in all.
    pub async fn list_executions(
        &self,
        org_id: &str,
        filter: &ExecutionFilter,
    ) -> Result<(Vec<ExecutionRecord>, u64), StoreError> {
        let mut args = vec![Arg::Text(org_id.to_owned())];
        let mut conditions = String::from("org_id = $1");
        if let Some(flow_id) = &filter.flow_id {
            args.push(Arg::Text(flow_id.clone()));
            conditions += &format!(" AND flow_id = ${}", args.len());
        }
        if let Some(status) = &filter.status {
            args.push(Arg::Text(status.clone()));
            conditions += &format!(" AND status = ${}", args.len());
        }

        let (rows, total) = self
            .page::<ExecutionRow>(crate::Page {
                table: "executions",
                columns: EXECUTION_COLUMNS,
                conditions: &conditions,
                order: "created_at DESC, id DESC",
                args,
                limit: filter.limit,
                offset: filter.offset,
            })
            .await?;
        let executions = rows
            .into_iter()
            .map(ExecutionRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((executions, total))
    }

    /// Claims up to `limit` unfinished executions (status `running` or `waiting`) of every
    /// org whose lease is free (`lease_until` NULL or not after `now`), for `owner`, until
    /// `now + lease`. Returns only the executions claimed, ordered by `created_at`, then id
    /// (which free ones a claim takes when more than `limit` are free is unspecified).
    ///
    /// One statement: on PostgreSQL the candidates are locked `FOR UPDATE SKIP LOCKED`, so
    /// concurrent claimers (in any number of processes) never take the same execution; an
    /// execution another claimer is taking is skipped, not waited for.
    pub async fn claim_unfinished_executions(
        &self,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        let rows = self
            .claim::<ExecutionRow>(owner, lease, now, limit, EXECUTION_COLUMNS)
            .await?;
        let mut claimed = rows
            .into_iter()
            .map(ExecutionRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(claimed)
    }

    /// [`Store::claim_unfinished_executions`] for a runner resuming its tasks: only what it
    /// needs, with `state` and `pending` as the stored JSON text, which it deserializes
    /// straight into its own types (no intermediate `serde_json::Value`). Same order.
    pub async fn claim_executions_to_resume(
        &self,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<ClaimedExecution>, StoreError> {
        let rows = self
            .claim::<ClaimedRow>(owner, lease, now, limit, CLAIMED_COLUMNS)
            .await?;
        let mut claimed: Vec<ClaimedExecution> = rows
            .into_iter()
            .map(|row| ClaimedExecution {
                id: row.id,
                org_id: row.org_id,
                flow_id: row.flow_id,
                flow_version: row.flow_version,
                state: row.state,
                pending: row.pending,
                step: row.step,
                created_at: row.created_at.0,
            })
            .collect();
        claimed.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(claimed)
    }

    /// The claim statement of both claim methods, returning `columns` of the claimed rows.
    async fn claim<R>(
        &self,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
        limit: u64,
        columns: &str,
    ) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // SQLite addresses the rows by rowid, its table's own key: by `id`, every row would
        // cost a probe of the (random-UUID) primary key index, most of it page reads when
        // 100,000s are claimed after a restart.
        let (key, skip_locked) = match self.backend() {
            Backend::Postgres => ("id", " FOR UPDATE SKIP LOCKED"),
            Backend::Sqlite => ("rowid", ""),
        };
        // MATERIALIZED: the candidates are chosen (and locked) exactly once, never re-run
        // as part of the update's plan.
        let sql = format!(
            "WITH claimable AS MATERIALIZED ( \
                 SELECT {key} AS k FROM executions \
                 WHERE status IN {UNFINISHED} AND (lease_until IS NULL OR lease_until <= $3) \
                 LIMIT $4{skip_locked} \
             ) \
             UPDATE executions SET lease_owner = $1, lease_until = $2 \
             WHERE {key} IN (SELECT k FROM claimable) \
             RETURNING {columns}"
        );
        let rows = writer!(self, |pool| sqlx::query_as::<_, R>(&sql)
            .bind(owner)
            .bind(Ts::new(lease_end(now, lease)))
            .bind(Ts::new(now))
            .bind(count_arg(limit))
            .fetch_all(pool)
            .await)?;
        Ok(rows)
    }

    /// Extends `owner`'s lease on execution `id` to `until`. False if `owner` does not hold
    /// it (anymore): someone else claimed it, it was released, or there is no such execution.
    /// A lease that ran out but was not claimed by anyone else can still be renewed.
    pub async fn renew_lease(
        &self,
        id: &str,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let renewed = writer!(self, |pool| sqlx::query(
            "UPDATE executions SET lease_until = $3 WHERE id = $1 AND lease_owner = $2"
        )
        .bind(id)
        .bind(owner)
        .bind(Ts::new(until))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(renewed > 0)
    }

    /// Extends every lease `owner` holds on an unfinished execution to `until`, in one
    /// statement (the heartbeat of a process with many parked tasks); returns how many.
    pub async fn renew_leases(&self, owner: &str, until: DateTime<Utc>) -> Result<u64, StoreError> {
        let sql = format!(
            "UPDATE executions SET lease_until = $2 \
             WHERE status IN {UNFINISHED} AND lease_owner = $1"
        );
        let renewed = writer!(self, |pool| sqlx::query(&sql)
            .bind(owner)
            .bind(Ts::new(until))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(renewed)
    }

    /// Gives up `owner`'s lease on execution `id`, making it claimable at once. Does nothing
    /// if `owner` does not hold it.
    pub async fn release_lease(&self, id: &str, owner: &str) -> Result<(), StoreError> {
        writer!(self, |pool| sqlx::query(
            "UPDATE executions SET lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2"
        )
        .bind(id)
        .bind(owner)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The pending timers of execution `id`, soonest first (then by timer id).
    pub async fn timers_of(&self, id: &str) -> Result<Vec<TimerRow>, StoreError> {
        let rows = reader!(self, |pool| sqlx::query_as::<_, TimerDbRow>(
            "SELECT execution_id, timer_id, due FROM execution_timers \
             WHERE execution_id = $1 ORDER BY due, timer_id"
        )
        .bind(id)
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|row| TimerRow {
                execution_id: row.execution_id,
                timer_id: row.timer_id,
                due: row.due.0,
            })
            .collect())
    }

    /// The trace of the org's execution `id`, in order (empty for an unknown execution, or
    /// one whose trace was pruned).
    pub async fn trace_of(&self, org_id: &str, id: &str) -> Result<Vec<TraceRow>, StoreError> {
        let rows = reader!(self, |pool| sqlx::query_as::<_, TraceDbRow>(
            "SELECT t.execution_id, t.seq, t.record, t.at \
             FROM execution_traces t JOIN executions e ON e.id = t.execution_id \
             WHERE e.org_id = $1 AND t.execution_id = $2 ORDER BY t.seq"
        )
        .bind(org_id)
        .bind(id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|row| {
                Ok(TraceRow {
                    record: from_json(&row.record, "execution_traces.record")?,
                    execution_id: row.execution_id,
                    seq: row.seq,
                    at: row.at.0,
                })
            })
            .collect()
    }

    /// Retention: deletes the trace rows of every execution that finished before `before`
    /// (the executions themselves stay). Returns how many rows went.
    pub async fn prune_traces(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let pruned = writer!(self, |pool| sqlx::query(
            "DELETE FROM execution_traces WHERE execution_id IN \
                 (SELECT id FROM executions WHERE finished_at < $1)"
        )
        .bind(Ts::new(before))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(pruned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_inserts_number_their_placeholders() {
        assert_eq!(
            timers_insert_sql(2),
            "INSERT INTO execution_timers (execution_id, timer_id, due) \
             VALUES ($1, $2, $3), ($1, $4, $5)"
        );
        assert_eq!(
            trace_insert_sql(2),
            "INSERT INTO execution_traces (execution_id, seq, record, at) \
             VALUES ($1, $3, $4, $2), ($1, $5, $6, $2)"
        );
    }

    #[test]
    fn batched_checkpoints_number_their_placeholders() {
        // Timers bind from $11 in pairs, then the trace records.
        let sql = batched_checkpoint_sql(2, 2);
        assert!(sql.starts_with("BEGIN IMMEDIATE; DELETE"), "{sql}");
        assert!(sql.contains("timer_id NOT IN ($11, $13)"), "{sql}");
        assert!(sql.contains("(VALUES ($11, $12), ($13, $14))"), "{sql}");
        assert!(sql.contains("(VALUES (1, $15), (2, $16))"), "{sql}");
        assert!(sql.ends_with("RETURNING step, trace_seq; COMMIT"), "{sql}");
        assert_eq!(sql.matches(';').count(), 5, "{sql}");
        // Nothing to add: the deletion of every timer and the update.
        let sql = batched_checkpoint_sql(0, 0);
        assert!(sql.contains("DELETE FROM execution_timers WHERE execution_id = $2 AND EXISTS"));
        assert_eq!(sql.matches(';').count(), 3, "{sql}");
    }

    #[test]
    fn leases_end_by_the_year_9999() {
        let now = crate::now();
        assert_eq!(
            lease_end(now, Duration::from_secs(30)),
            now + chrono::Duration::seconds(30)
        );
        let latest = lease_end(now, Duration::MAX);
        assert_eq!(latest.to_rfc3339(), "9999-12-31T23:59:59.999+00:00");
    }
}
