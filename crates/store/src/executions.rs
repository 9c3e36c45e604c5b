//! Durable executions (tasks): the engine's state at every checkpoint, the task's pending
//! timers, its trace, and the leases that say which server process runs it.
//!
//! The store gives `state` and `pending` no meaning: they are the runtime's JSON. What it does
//! guarantee:
//!
//! - A checkpoint is one transaction (one statement): the row (guarded by `step`), the
//!   complete set of pending timers (two columns of the row: `timers`, `next_due`) and the
//!   trace records of the step commit together or not at all. `step` is the
//!   optimistic-locking token: the write sets `step = expected + 1` in the same statement that
//!   checks it, so of two writers holding the same checkpoint exactly one wins and the other
//!   gets [`StoreError::VersionConflict`] with nothing written.
//! - Leases: an execution is *held* while `lease_until` is in the future, and *free* when
//!   `lease_until` is NULL or has passed (a crashed process's tasks become claimable again once
//!   its leases run out). Leases are unindexed columns, so taking or renewing one rewrites
//!   the row alone (in place on PostgreSQL: a HOT update); claims find unfinished executions
//!   through `executions_unfinished` and the runner's go on from a [`ClaimCursor`].
//!   [`Store::claim_unfinished_executions`] takes free unfinished tasks in one statement —
//!   `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent claimers in several processes
//!   never both take one; on SQLite the single writer (and `BEGIN IMMEDIATE`
//!   across processes) serializes claims. Owner ids must be unique per process lifetime: a
//!   claim never returns an execution whose lease is still running, even to its own owner.
//!   The runtime should insert a new execution with itself as the lease owner, so no other
//!   process's sweep picks up a task that is running here.
//! - Checkpoints do not touch the lease: a task keeps its owner until the owner releases it,
//!   the lease runs out, or (for finished tasks) forever, harmlessly — claims only ever take
//!   `running` and `waiting` executions.
//! - Trace records are numbered 1, 2, 3, ... per execution, continuing across checkpoints
//!   (from a counter on the row, `trace_seq`). A checkpoint stores its records as one row of
//!   `execution_traces` (a JSON array, numbered from its first record; migration 0005), and
//!   readers flatten the rows back into records. A checkpoint may defer its trace
//!   ([`Checkpoint::tail`], migration 0006): its page then goes into the row's `trace_tail`,
//!   with the pages its writer has not yet moved into the table
//!   ([`Store::append_trace_pages`]); a page may be in both places, and readers take each
//!   page once. Every record is in the table, the tail, or both. Retention ([`Store::prune_traces`]) removes
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
    /// How many trace records the execution has: the next is numbered `trace_seq + 1`.
    pub trace_seq: i64,
}

/// Where a series of [`Store::claim_executions_to_resume`] calls has got to: the default
/// starts from the first unfinished execution. Opaque: the SQLite rowid or the PostgreSQL id
/// of the last execution the claims looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimCursor(Option<CursorKey>);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum CursorKey {
    Rowid(i64),
    Id(String),
}

impl ClaimCursor {
    /// Moves the cursor forward to `key` (never back: concurrent claims from one cursor
    /// return their cursors in any order, and the furthest one is what both looked at).
    fn advance(&mut self, key: CursorKey) {
        if self.0.as_ref().is_none_or(|k| *k < key) {
            self.0 = Some(key);
        }
    }

    /// The further of two cursors (of claims that started from the same one).
    pub fn max(self, other: ClaimCursor) -> ClaimCursor {
        match other.0 {
            Some(key) => {
                let mut this = self;
                this.advance(key);
                this
            }
            None => self,
        }
    }
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
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Must equal the stored `step`; the write sets `step = expected_step + 1`.
    pub expected_step: i64,
    pub status: String,
    pub state: Box<RawValue>,
    pub pending: Box<RawValue>,
    pub error: Option<String>,
    /// Set by the last step; `None` leaves the stored value (a finished execution stays
    /// finished).
    pub finished_at: Option<DateTime<Utc>>,
    /// The task's complete set of pending timers (`(timer id, due)`, ids unique): replaces the
    /// stored set.
    pub timers: Vec<(i64, DateTime<Utc>)>,
    /// The trace records the checkpoint appends, numbered on from the stored counter.
    pub trace: StepTrace,
    /// Becomes `updated_at` and the time of the trace records.
    pub at: DateTime<Utc>,
}

/// Where a checkpoint's trace records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepTrace {
    /// The records become a row of `execution_traces` in the checkpoint's own statement.
    Row(Records),
    /// Deferred: no trace row is written; the row's `trace_tail` becomes `tail`: the pages
    /// of earlier checkpoints not yet known to be in `execution_traces`, then this
    /// checkpoint's own (its `records` records, numbered from the stored counter + 1), if it
    /// has any. The caller moves the pages into the table later
    /// ([`Store::append_trace_pages`]); readers see them in the meantime.
    Deferred {
        tail: Vec<TracePage>,
        records: usize,
    },
}

impl StepTrace {
    /// How many records the checkpoint appends.
    pub fn records(&self) -> usize {
        match self {
            StepTrace::Row(records) => records.len(),
            StepTrace::Deferred { records, .. } => *records,
        }
    }
}

/// Trace records serialized into one JSON array: what a trace row (or page) holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Records {
    text: String,
    len: usize,
}

impl Records {
    /// `records` serialized into one buffer (one allocation for them all, no copy after); a
    /// record that cannot be serialized is `null`.
    pub fn collect<T: Serialize>(records: impl IntoIterator<Item = T>) -> Records {
        let mut buf = Vec::with_capacity(512);
        buf.push(b'[');
        let mut len = 0;
        for record in records {
            if len > 0 {
                buf.push(b',');
            }
            let start = buf.len();
            if serde_json::to_writer(&mut buf, &record).is_err() {
                buf.truncate(start);
                buf.extend_from_slice(b"null");
            }
            len += 1;
        }
        buf.push(b']');
        // serde_json writes UTF-8: the check cannot fail (and `unsafe` is not allowed here).
        let text = String::from_utf8(buf).unwrap_or_else(|_| "[]".to_owned());
        Records { text, len }
    }

    /// The array's text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The records of one checkpoint as one unit of an execution's trace: a row of
/// `execution_traces`, or a line of the row's `trace_tail` (migration 0006) until it has been
/// moved there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracePage {
    /// The number of its first record; the others follow.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The records, a JSON array.
    pub records: String,
}

impl TracePage {
    /// The page of `records`, numbered from `seq`, at `at` (millisecond precision, as
    /// stored).
    pub fn new(seq: i64, at: DateTime<Utc>, records: Records) -> TracePage {
        TracePage {
            seq,
            at: Ts::new(at).0,
            records: records.text,
        }
    }
}

/// The twelve arguments both forms of the checkpoint bind first, in order (`$1`..`$12` of
/// [`CHECKPOINT_POSTGRES`] and [`CHECKPOINT_SQLITE`]).
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
    timers: &'a str,
    next_due: Option<Ts>,
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
            .bind(g.timers)
            .bind(g.next_due)
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
const CLAIMED_COLUMNS: &str =
    "id, org_id, flow_id, flow_version, state, pending, step, created_at, trace_seq";

/// The statuses of executions that have not finished: the ones claims take.
const UNFINISHED: &str = "('running', 'waiting')";

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
    trace_seq: i64,
    /// The SQLite rowid (the claim cursor there); NULL on PostgreSQL, where it is the id.
    claim_rowid: Option<i64>,
}

/// One row of `execution_traces`: the records one checkpoint appended, `seq` the number of
/// the first (migration 0005).
#[derive(sqlx::FromRow)]
struct TraceDbRow {
    execution_id: String,
    seq: i64,
    records: String,
    at: Ts,
}

/// Pages as `executions.trace_tail` keeps them: one line per page, `[seq,"at",records]`
/// (the time as SQLite's fixed-width text). `None` for no pages.
fn encode_tail(pages: &[TracePage]) -> Option<String> {
    if pages.is_empty() {
        return None;
    }
    use std::fmt::Write as _;
    let mut text = String::with_capacity(pages.iter().map(|p| p.records.len() + 48).sum());
    for page in pages {
        // Writing to a `String` cannot fail.
        let _ = write!(text, "[{},\"", page.seq);
        text += &Ts::new(page.at).text();
        text.push_str("\",");
        text += &page.records;
        text.push_str("]\n");
    }
    Some(text)
}

/// The pages of `executions.trace_tail` (see [`encode_tail`]); records kept as their text.
fn decode_tail(text: &str) -> Result<Vec<TracePage>, StoreError> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (seq, at, records): (i64, String, Box<RawValue>) =
                from_json(line, "executions.trace_tail")?;
            let at = DateTime::parse_from_rfc3339(&at)
                .map_err(|e| StoreError::Corrupt(format!("executions.trace_tail: {e}")))?;
            Ok(TracePage {
                seq,
                at: at.with_timezone(&Utc),
                records: records.get().to_owned(),
            })
        })
        .collect()
}

/// A task's pending timers as the row keeps them (`executions.timers`): a JSON array of
/// `[timer id, due]`, due in the fixed-width text of SQLite's timestamps, and the soonest due
/// (`executions.next_due`).
fn encode_timers(timers: &[(i64, DateTime<Utc>)]) -> (String, Option<Ts>) {
    let mut text = String::with_capacity(2 + timers.len() * 36);
    text.push('[');
    for (i, (timer_id, due)) in timers.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push('[');
        text += &timer_id.to_string();
        text.push_str(",\"");
        text += &Ts::new(*due).text();
        text.push_str("\"]");
    }
    text.push(']');
    let next_due = timers.iter().map(|(_, due)| *due).min().map(Ts::new);
    (text, next_due)
}

/// The timers of `executions.timers` (see [`encode_timers`]).
fn decode_timers(text: &str) -> Result<Vec<(i64, DateTime<Utc>)>, StoreError> {
    let pairs: Vec<(i64, String)> = from_json(text, "executions.timers")?;
    pairs
        .into_iter()
        .map(|(timer_id, due)| {
            DateTime::parse_from_rfc3339(&due)
                .map(|due| (timer_id, due.with_timezone(&Utc)))
                .map_err(|e| StoreError::Corrupt(format!("executions.timers: {due}: {e}")))
        })
        .collect()
}

/// The trace row of a new execution's first checkpoint: `$1` the execution id, `$2` the
/// records ([`Records`]), `$3` the time; numbered from 1.
const FIRST_TRACE: &str =
    "INSERT INTO execution_traces (execution_id, seq, records, at) VALUES ($1, 1, $2, $3)";

/// Explains a checkpoint that matched no row (with [`refused`]).
const CURRENT_STEP: &str = "SELECT step FROM executions WHERE org_id = $1 AND id = $2";

/// Why a checkpoint matched no row, from the execution's current step (if it exists).
fn refused(current: Option<i64>) -> StoreError {
    match current {
        Some(current) => StoreError::VersionConflict { current },
        None => StoreError::NotFound,
    }
}

/// A checkpoint without trace records on PostgreSQL: `$1` org, `$2` id, `$3` expected step,
/// `$4`..`$9` status, state, pending, error, finished_at (NULL: unchanged), updated_at,
/// `$10` how many trace records the checkpoint adds, `$11` and `$12` the timers and the
/// soonest due ([`encode_timers`]). It matched a row (one row affected) or wrote nothing.
///
/// No column it sets is indexed (nor in a partial index's predicate) but `finished_at`,
/// which changes only on the last step: the update is HOT (PostgreSQL compares values).
const CHECKPOINT_ROW_POSTGRES: &str = "UPDATE executions SET status = $4, state = $5, \
     pending = $6, error = $7, finished_at = COALESCE($8, finished_at), updated_at = $9, \
     step = step + 1, trace_seq = trace_seq + $10, timers = $11, next_due = $12 \
     WHERE org_id = $1 AND id = $2 AND step = $3";

/// A whole checkpoint on PostgreSQL, one statement: [`CHECKPOINT_ROW_POSTGRES`] and the
/// checkpoint's one trace row, `$13` its records ([`Records`]), numbered from the
/// counter the update bumped. The insert reads the guarded update's row, so nothing is
/// appended when it matched nothing; the statement's row count is the insert's: one if the
/// checkpoint was written, none if not. Nothing is returned (the new step is `$3 + 1`).
const CHECKPOINT_POSTGRES: &str = "WITH cur AS ( \
         UPDATE executions SET status = $4, state = $5, pending = $6, error = $7, \
             finished_at = COALESCE($8, finished_at), updated_at = $9, step = step + 1, \
             trace_seq = trace_seq + $10, timers = $11, next_due = $12 \
         WHERE org_id = $1 AND id = $2 AND step = $3 \
         RETURNING trace_seq - $10 + 1 AS seq \
     ) \
     INSERT INTO execution_traces (execution_id, seq, records, at) \
     SELECT $2, seq, $13, $9 FROM cur";

/// A checkpoint with a deferred trace on PostgreSQL: [`CHECKPOINT_ROW_POSTGRES`] that also
/// sets the row's `trace_tail` to `$13` ([`encode_tail`]; empty for no pages). No trace row.
const CHECKPOINT_TAIL_POSTGRES: &str = "UPDATE executions SET status = $4, state = $5, \
     pending = $6, error = $7, finished_at = COALESCE($8, finished_at), updated_at = $9, \
     step = step + 1, trace_seq = trace_seq + $10, timers = $11, next_due = $12, \
     trace_tail = $13 WHERE org_id = $1 AND id = $2 AND step = $3";

/// A whole checkpoint on SQLite, one statement: the same parameters, `$13` the trace
/// records as one JSON array ([`Records`]), `$14` the tail of a deferred trace (NULL
/// without: then the records become a trace row; migration 0006). The `execution_checkpoints` view's trigger
/// (migration 0004, its trace insert replaced by 0005) checks the guard, appends the one
/// trace row (none without records) and updates the row; a stale or missing execution
/// aborts it with [`STALE_CHECKPOINT`] and nothing written. Only the last step's update
/// names `finished_at`, so no other step touches an index: the statement writes the row's
/// page and the trace's.
const CHECKPOINT_SQLITE: &str = "INSERT INTO execution_checkpoints (org_id, id, \
     expected_step, status, state, pending, error, finished_at, updated_at, added, timers, \
     next_due, trace, tail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

/// The message of the trigger's abort when the guard fails.
const STALE_CHECKPOINT: &str = "switchboard: stale checkpoint";

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
            timers: (String, Option<Ts>),
            /// The trace row's records, None without any.
            trace: Option<String>,
        }
        // Encoded before the transaction starts, so the single SQLite writer is held only
        // for the statements.
        let encoded = batch
            .iter()
            .map(|n| {
                Ok(Encoded {
                    state: to_json(&n.record.state)?,
                    pending: to_json(&n.record.pending)?,
                    timers: encode_timers(n.timers),
                    trace: match n.trace {
                        [] => None,
                        records => Some(to_json(records)?),
                    },
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let sql = format!(
            "INSERT INTO executions ({EXECUTION_COLUMNS}, trace_seq, timers, next_due) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
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
                    .bind(count_arg(n.trace.len() as u64))
                    .bind(&enc.timers.0)
                    .bind(enc.timers.1)
                    .execute(&mut *tx)
                    .await
                    .map_err(|err| write_error(err, "executions", &e.org_id, &e.id, &e.id))?;
                if let Some(records) = &enc.trace {
                    sqlx::query(FIRST_TRACE)
                        .bind(&e.id)
                        .bind(records)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        });
        Ok(())
    }

    /// Writes a checkpoint in one transaction: updates the row if its `step` is still
    /// `c.expected_step` (setting it to `expected_step + 1`) with the pending timers
    /// `c.timers` (replacing the stored set) and appends `c.trace`. Returns the new step. The
    /// lease is left as it is.
    ///
    /// [`StoreError::NotFound`] (also for another org's execution);
    /// [`StoreError::VersionConflict`] with the stored step when `expected_step` is stale —
    /// nothing is written then. Under concurrent checkpoints with one `expected_step`, exactly
    /// one wins.
    ///
    /// Every durable step of every task comes through here, so it is lean: one statement on
    /// both backends (one call, and on SQLite no transaction of ours to close); the timers
    /// are two columns of the row, not rows of a table with its own indexes; the row's trace
    /// counter (`trace_seq`) numbers the new records; no column a step changes is indexed
    /// before the last step; nothing is read back. A step writes the row and one trace row
    /// holding all its records: on SQLite two b-tree pages (the trace is `WITHOUT ROWID`), on
    /// PostgreSQL a heap-only update of the row and a trace tuple with its key (no foreign
    /// key to check: migration 0005). With a deferred trace (`c.tail`), the row alone: one
    /// page on SQLite, a heap-only update on PostgreSQL. On PostgreSQL the statement goes
    /// through the store's own connections (`lane`): one round trip, not two.
    pub async fn checkpoint_execution(
        &self,
        org_id: &str,
        id: &str,
        c: &Checkpoint,
    ) -> Result<i64, StoreError> {
        // A deferred trace's records are in its tail already. Its tail is empty, not NULL,
        // when it has no pages: NULL tells SQLite's trigger to write a trace row.
        let (records, tail) = match &c.trace {
            StepTrace::Row(records) => (records.as_str(), None),
            StepTrace::Deferred { tail, .. } => ("", Some(encode_tail(tail).unwrap_or_default())),
        };
        let at = Ts::new(c.at);
        let added = count_arg(c.trace.records() as u64);
        let (timers, next_due) = encode_timers(&c.timers);
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
            timers: &timers,
            next_due,
        };
        let started = std::time::Instant::now();
        // One statement is one transaction on both backends: no BEGIN and COMMIT round
        // trips, and nothing left half-done if this future is dropped.
        let written: Option<i64> = match &self.db {
            crate::Db::Postgres { pool, lane } => {
                let query = match &tail {
                    Some(tail) => bind_guard!(sqlx::query(CHECKPOINT_TAIL_POSTGRES), guard)
                        .bind(tail.as_str()),
                    None if c.trace.records() == 0 => {
                        bind_guard!(sqlx::query(CHECKPOINT_ROW_POSTGRES), guard)
                    }
                    None => bind_guard!(sqlx::query(CHECKPOINT_POSTGRES), guard).bind(records),
                };
                let done = lane.execute(pool, query).await?;
                (done.rows_affected() > 0).then_some(c.expected_step + 1)
            }
            crate::Db::Sqlite { write, .. } => {
                let done = bind_guard!(sqlx::query(CHECKPOINT_SQLITE), guard)
                    .bind(records)
                    .bind(tail.as_deref())
                    .execute(write)
                    .await;
                match done {
                    Ok(_) => Some(c.expected_step + 1),
                    Err(sqlx::Error::Database(e)) if e.message().contains(STALE_CHECKPOINT) => None,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        crate::observe(&self.db, "transaction", started);
        match written {
            Some(step) => Ok(step),
            None => {
                let current: Option<i64> = writer!(self, |pool| sqlx::query_scalar(CURRENT_STEP)
                    .bind(org_id)
                    .bind(id)
                    .fetch_optional(pool)
                    .await)?;
                Err(refused(current))
            }
        }
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
        // On PostgreSQL both forms through the lane, as a checkpoint: `transaction!` would
        // take a pooled connection, whose ping after it would run into the bench's next
        // statement.
        if let crate::Db::Postgres { pool, lane } = &self.db {
            lane.run(pool, async |conn| {
                let update = sqlx::query(sql).bind(id).bind(state);
                if in_transaction {
                    let mut tx = sqlx::Connection::begin(conn).await?;
                    update.execute(&mut *tx).await?;
                    tx.commit().await
                } else {
                    update.execute(conn).await.map(|_| ())
                }
            })
            .await?;
            return Ok(());
        }
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

    /// Benchmark set-up, not for production: does now the work a database defers after a
    /// bulk insert, as it would long be done for tasks parked in a running system, so that
    /// a timed phase right after the set-up does not pay for it. On PostgreSQL
    /// `VACUUM (ANALYZE) executions` (hint bits, visibility map, statistics: what
    /// autovacuum would otherwise do during the timed phase) then `CHECKPOINT` (the dirty
    /// buffers; needs a superuser or `pg_checkpoint`); on SQLite the WAL into the file
    /// (which reopening the store also does).
    #[doc(hidden)]
    pub async fn settle(&self) -> Result<(), StoreError> {
        let statements: &[&str] = match self.backend() {
            Backend::Postgres => &["VACUUM (ANALYZE) executions", "CHECKPOINT"],
            Backend::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)"],
        };
        for sql in statements {
            writer!(self, |pool| sqlx::query(sql)
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
    ///
    /// Each call looks at the unfinished executions from the first; to take many, use
    /// [`Store::claim_executions_to_resume`], which goes on from a cursor.
    pub async fn claim_unfinished_executions(
        &self,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        let rows = self
            .claim::<ExecutionRow>(
                owner,
                lease,
                now,
                limit,
                EXECUTION_COLUMNS,
                &ClaimCursor::default(),
            )
            .await?;
        let mut claimed = rows
            .into_iter()
            .map(ExecutionRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(claimed)
    }

    /// [`Store::claim_unfinished_executions`] for a runner resuming its tasks, a batch at a
    /// time: only what it needs, with `state` and `pending` as the stored JSON text, which it
    /// deserializes straight into its own types (no intermediate `serde_json::Value`). Same
    /// order.
    ///
    /// The claim looks only at executions after `after` in the order claims walk them (the
    /// default cursor: from the first) and returns, with what it claimed, the cursor past
    /// everything it looked at, for the next call. Without the cursor every claim would
    /// walk again past the executions claimed before it, which no longer qualify but are
    /// still unfinished: no index says whose lease is free, since one keyed by the lease
    /// would be rewritten by every claim and renewal (see migration 0004). Rows that a
    /// cursor passed and that become free later are found by the next series of claims
    /// (the runner's maintenance starts one every third of a lease).
    pub async fn claim_executions_to_resume(
        &self,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
        limit: u64,
        after: &ClaimCursor,
    ) -> Result<(Vec<ClaimedExecution>, ClaimCursor), StoreError> {
        let rows = self
            .claim::<ClaimedRow>(owner, lease, now, limit, CLAIMED_COLUMNS, after)
            .await?;
        let mut next = after.clone();
        for row in &rows {
            next.advance(match row.claim_rowid {
                Some(rowid) => CursorKey::Rowid(rowid),
                None => CursorKey::Id(row.id.clone()),
            });
        }
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
                trace_seq: row.trace_seq,
            })
            .collect();
        claimed.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok((claimed, next))
    }

    /// The claim statement of both claim methods, returning `columns` of the claimed rows
    /// (and `claim_rowid`, the SQLite rowid, NULL on PostgreSQL) of the executions after
    /// `after`.
    async fn claim<R>(
        &self,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
        limit: u64,
        columns: &str,
        after: &ClaimCursor,
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
        // The candidates come from `executions_unfinished`, in its order, after the cursor.
        // SQLite walks them by rowid (that index's entries are in rowid order), the table's
        // own key: by `id`, every row would cost a probe of the (random-UUID) primary key
        // index and the claim would write pages all over the table. PostgreSQL walks them by
        // id, locking each `FOR UPDATE SKIP LOCKED`.
        let (key, from, skip_locked, rowid) = match self.backend() {
            Backend::Postgres => (
                "id",
                "executions",
                " FOR UPDATE SKIP LOCKED",
                "NULL::BIGINT",
            ),
            Backend::Sqlite => (
                "rowid",
                "executions INDEXED BY executions_unfinished",
                "",
                "rowid",
            ),
        };
        // MATERIALIZED: the candidates are chosen (and locked) exactly once, never re-run
        // as part of the update's plan.
        let sql = format!(
            "WITH claimable AS MATERIALIZED ( \
                 SELECT {key} AS k FROM {from} \
                 WHERE finished_at IS NULL AND {key} > $5 AND status IN {UNFINISHED} \
                     AND (lease_until IS NULL OR lease_until <= $3) \
                 ORDER BY {key} LIMIT $4{skip_locked} \
             ) \
             UPDATE executions SET lease_owner = $1, lease_until = $2 \
             WHERE {key} IN (SELECT k FROM claimable) \
             RETURNING {columns}, {rowid} AS claim_rowid"
        );
        let until = Ts::new(lease_end(now, lease));
        // The cursor's type differs per backend, so each arm builds the query.
        macro_rules! claim_after {
            ($after:expr) => {
                writer!(self, |pool| sqlx::query_as::<_, R>(&sql)
                    .bind(owner)
                    .bind(until)
                    .bind(Ts::new(now))
                    .bind(count_arg(limit))
                    .bind($after)
                    .fetch_all(pool)
                    .await)?
            };
        }
        let rows = match (&after.0, self.backend()) {
            (Some(CursorKey::Rowid(rowid)), _) => claim_after!(*rowid),
            (Some(CursorKey::Id(id)), _) => claim_after!(id.as_str()),
            // Before every rowid; before every id ("C" collation: the empty string first).
            (None, Backend::Sqlite) => claim_after!(i64::MIN),
            (None, Backend::Postgres) => claim_after!(""),
        };
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
        self.renew(owner, until, None).await
    }

    /// [`Store::renew_leases`] of only the leases that run out before `before`: a heartbeat
    /// need not rewrite the rows of leases taken or renewed moments ago (after a restart,
    /// most of them), and every renewal is a row written.
    pub async fn renew_leases_running_out(
        &self,
        owner: &str,
        until: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.renew(owner, until, Some(before)).await
    }

    /// The heartbeat statement: `before` None renews every lease of `owner`.
    async fn renew(
        &self,
        owner: &str,
        until: DateTime<Utc>,
        before: Option<DateTime<Utc>>,
    ) -> Result<u64, StoreError> {
        let from = match self.backend() {
            Backend::Postgres => "executions",
            Backend::Sqlite => "executions INDEXED BY executions_unfinished",
        };
        let sql = format!(
            "UPDATE {from} SET lease_until = $2 \
             WHERE finished_at IS NULL AND status IN {UNFINISHED} AND lease_owner = $1 \
                 AND ($3 IS NULL OR lease_until IS NULL OR lease_until < $3)"
        );
        let renewed = writer!(self, |pool| sqlx::query(&sql)
            .bind(owner)
            .bind(Ts::new(until))
            .bind(Ts::opt(before))
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

    /// Moves deferred trace pages into `execution_traces` (the runtime's trace writer, many
    /// executions at a time), one transaction: `pages` as (execution id, page); a page
    /// already there (same execution and `seq`) or of an execution that no longer exists is
    /// skipped, so moving a page twice is harmless. (On PostgreSQL, pages moved while their
    /// execution is being deleted can outlive it: the delete's trigger does not see rows of a
    /// transaction that commits after its own statement; an org is rarely deleted while its
    /// tasks run.) Then clears the `trace_tail` of each
    /// execution of `finished` that has finished: the caller has moved every page of its
    /// tail in this call or before, and a finished execution is written no more.
    pub async fn append_trace_pages(
        &self,
        pages: &[(&str, &TracePage)],
        finished: &[&str],
    ) -> Result<(), StoreError> {
        if pages.is_empty() && finished.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        match &self.db {
            crate::Db::Postgres { pool, .. } => {
                // One statement (one round trip, its own transaction) for the batch: the
                // pages as arrays, then the tails of the finished executions.
                sqlx::query(
                    "WITH moved AS ( \
                         INSERT INTO execution_traces (execution_id, seq, records, at) \
                         SELECT u.execution_id, u.seq, u.records, u.at \
                         FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::TIMESTAMPTZ[]) \
                             AS u(execution_id, seq, records, at) \
                         WHERE EXISTS (SELECT 1 FROM executions e WHERE e.id = u.execution_id) \
                         ON CONFLICT DO NOTHING \
                     ) \
                     UPDATE executions SET trace_tail = NULL \
                     WHERE id = ANY($5) AND finished_at IS NOT NULL AND trace_tail IS NOT NULL",
                )
                .bind(pages.iter().map(|(id, _)| *id).collect::<Vec<_>>())
                .bind(pages.iter().map(|(_, p)| p.seq).collect::<Vec<_>>())
                .bind(
                    pages
                        .iter()
                        .map(|(_, p)| p.records.as_str())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    pages
                        .iter()
                        .map(|(_, p)| Ts::new(p.at).0)
                        .collect::<Vec<_>>(),
                )
                .bind(finished)
                .execute(pool)
                .await?;
            }
            crate::Db::Sqlite { write, .. } => {
                // In-process statements: a loop costs no round trips.
                let mut tx = write.begin_with("BEGIN IMMEDIATE").await?;
                for (id, page) in pages {
                    sqlx::query(
                        "INSERT INTO execution_traces (execution_id, seq, records, at) \
                         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM executions WHERE id = $1) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(*id)
                    .bind(page.seq)
                    .bind(page.records.as_str())
                    .bind(Ts::new(page.at))
                    .execute(&mut *tx)
                    .await?;
                }
                for id in finished {
                    sqlx::query(
                        "UPDATE executions SET trace_tail = NULL \
                         WHERE id = $1 AND finished_at IS NOT NULL AND trace_tail IS NOT NULL",
                    )
                    .bind(*id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            }
        }
        crate::observe(&self.db, "transaction", started);
        Ok(())
    }

    /// Moves the pages of execution `id`'s stored `trace_tail` into `execution_traces` (see
    /// [`Store::append_trace_pages`]); returns how many pages the tail held. For a runner
    /// that takes over an execution: its tail may hold pages that the process which wrote
    /// them never moved, and the runner's own tails replace the stored one.
    pub async fn move_trace_tail(&self, id: &str) -> Result<usize, StoreError> {
        let tail: Option<Option<String>> = reader!(self, |pool| sqlx::query_scalar(
            "SELECT trace_tail FROM executions WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        let pages = match tail.flatten() {
            Some(text) => decode_tail(&text)?,
            None => return Ok(0),
        };
        let refs: Vec<(&str, &TracePage)> = pages.iter().map(|p| (id, p)).collect();
        self.append_trace_pages(&refs, &[]).await?;
        Ok(pages.len())
    }

    /// The pending timers of execution `id`, soonest first (then by timer id); none for an
    /// unknown execution.
    pub async fn timers_of(&self, id: &str) -> Result<Vec<TimerRow>, StoreError> {
        let text: Option<String> = reader!(self, |pool| sqlx::query_scalar(
            "SELECT timers FROM executions WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        let mut timers = match text {
            Some(text) => decode_timers(&text)?,
            None => Vec::new(),
        };
        timers.sort_by_key(|(timer_id, due)| (*due, *timer_id));
        Ok(timers
            .into_iter()
            .map(|(timer_id, due)| TimerRow {
                execution_id: id.to_owned(),
                timer_id,
                due,
            })
            .collect())
    }

    /// The trace of the org's execution `id`, record by record in order (empty for an
    /// unknown execution, or one whose trace was pruned).
    pub async fn trace_of(&self, org_id: &str, id: &str) -> Result<Vec<TraceRow>, StoreError> {
        // The tail first: a page moved into the table between the two reads is then in the
        // table read, and one in both is taken once.
        let tail: Option<Option<String>> = reader!(self, |pool| sqlx::query_scalar(
            "SELECT trace_tail FROM executions WHERE org_id = $1 AND id = $2"
        )
        .bind(org_id)
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        let mut rows = reader!(self, |pool| sqlx::query_as::<_, TraceDbRow>(
            "SELECT t.execution_id, t.seq, t.records, t.at \
             FROM execution_traces t JOIN executions e ON e.id = t.execution_id \
             WHERE e.org_id = $1 AND t.execution_id = $2 ORDER BY t.seq"
        )
        .bind(org_id)
        .bind(id)
        .fetch_all(pool)
        .await)?;
        if let Some(text) = tail.flatten() {
            let stored: std::collections::HashSet<i64> = rows.iter().map(|r| r.seq).collect();
            for page in decode_tail(&text)? {
                if !stored.contains(&page.seq) {
                    rows.push(TraceDbRow {
                        execution_id: id.to_owned(),
                        seq: page.seq,
                        records: page.records,
                        at: Ts(page.at),
                    });
                }
            }
            rows.sort_by_key(|r| r.seq);
        }
        let mut trace = Vec::with_capacity(rows.len());
        for row in rows {
            let records: Vec<serde_json::Value> =
                from_json(&row.records, "execution_traces.records")?;
            for (seq, record) in (row.seq..).zip(records) {
                trace.push(TraceRow {
                    execution_id: row.execution_id.clone(),
                    seq,
                    record,
                    at: row.at.0,
                });
            }
        }
        Ok(trace)
    }

    /// Retention: deletes the trace of every execution that finished before `before` (the
    /// executions themselves stay). Returns how many trace records went.
    ///
    /// One transaction: the records are counted, then their rows deleted. A row holds a
    /// checkpoint's records from its `seq` on, and retention takes all of an execution's
    /// rows, so an execution loses the records from its first remaining row's `seq` to its
    /// counter `trace_seq`: counted from the key and the row, no JSON read.
    pub async fn prune_traces(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = Ts::new(before);
        let pruned = transaction!(self, |tx| {
            let records: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(e.trace_seq - t.first_seq + 1), 0) AS BIGINT) \
                 FROM (SELECT execution_id, MIN(seq) AS first_seq FROM execution_traces \
                       WHERE execution_id IN \
                           (SELECT id FROM executions WHERE finished_at < $1) \
                       GROUP BY execution_id) t \
                 JOIN executions e ON e.id = t.execution_id",
            )
            .bind(before)
            .fetch_one(&mut *tx)
            .await?;
            // Pages still in tails (migration 0006): those of an execution with no trace row
            // left, or before its first row (never moved), count too.
            let tails: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
                "SELECT e.trace_seq, e.trace_tail, \
                     (SELECT MIN(t.seq) FROM execution_traces t WHERE t.execution_id = e.id) \
                 FROM executions e WHERE e.finished_at < $1 AND e.trace_tail IS NOT NULL",
            )
            .bind(before)
            .fetch_all(&mut *tx)
            .await?;
            let mut in_tails = 0;
            for (trace_seq, tail, first_row) in tails {
                let Some(first_page) = decode_tail(&tail)?.iter().map(|p| p.seq).min() else {
                    continue;
                };
                in_tails += match first_row {
                    None => trace_seq - first_page + 1,
                    Some(first_row) => (first_row - first_page).max(0),
                };
            }
            sqlx::query(
                "DELETE FROM execution_traces WHERE execution_id IN \
                     (SELECT id FROM executions WHERE finished_at < $1)",
            )
            .bind(before)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE executions SET trace_tail = NULL \
                 WHERE finished_at < $1 AND trace_tail IS NOT NULL",
            )
            .bind(before)
            .execute(&mut *tx)
            .await?;
            records + in_tails
        });
        Ok(u64::try_from(pruned).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_rows_hold_a_json_array_of_records() {
        let none = Records::collect(std::iter::empty::<u8>());
        assert_eq!(
            (none.as_str(), none.len(), none.is_empty()),
            ("[]", 0, true)
        );
        let two = Records::collect([serde_json::json!({"a": 1}), serde_json::json!(2)]);
        assert_eq!((two.as_str(), two.len()), (r#"[{"a":1},2]"#, 2));
        // A record that cannot be serialized (a map with non-string keys) is null.
        let bad: std::collections::BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        let mixed = Records::collect([Some(&bad), None]);
        assert_eq!((mixed.as_str(), mixed.len()), ("[null,null]", 2));
    }

    #[test]
    fn timers_round_trip_through_their_column() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let timers = [
            (7, at("2026-03-03T00:00:00.123456Z")),
            (2, at("2026-03-01T10:02:00Z")),
        ];
        let (text, next_due) = encode_timers(&timers);
        assert_eq!(
            text,
            r#"[[7,"2026-03-03T00:00:00.123Z"],[2,"2026-03-01T10:02:00.000Z"]]"#
        );
        assert_eq!(next_due, Some(Ts(at("2026-03-01T10:02:00Z"))));
        assert_eq!(
            decode_timers(&text).unwrap(),
            [(7, at("2026-03-03T00:00:00.123Z")), (2, timers[1].1)]
        );
        assert_eq!(encode_timers(&[]), ("[]".to_owned(), None));
        // As PostgreSQL's json_agg writes them (migration 0004).
        assert_eq!(
            decode_timers(r#"[[1, "2026-03-01T10:02:00.000Z"]]"#).unwrap(),
            [(1, timers[1].1)]
        );
    }

    #[test]
    fn claim_cursors_only_move_forward() {
        let mut c = ClaimCursor::default();
        c.advance(CursorKey::Rowid(5));
        c.advance(CursorKey::Rowid(3));
        assert_eq!(c, ClaimCursor(Some(CursorKey::Rowid(5))));
        let other = ClaimCursor(Some(CursorKey::Rowid(9)));
        assert_eq!(c.clone().max(other.clone()), other);
        assert_eq!(other.clone().max(c), other);
        assert_eq!(
            ClaimCursor::default().max(ClaimCursor::default()),
            ClaimCursor(None)
        );
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
