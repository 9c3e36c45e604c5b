//! Persistence for switchboard: every row the server keeps, in SQLite (the embedded default,
//! one file in WAL mode) or PostgreSQL, behind one [`Store`] handle.
//!
//! Architecture invariant: this is the only crate that writes SQL. The rest of the workspace
//! sees typed records ([`FlowRecord`], [`FunctionRecord`], [`ExecutionRecord`], ...) and
//! [`StoreError`], whose user variants (`NotFound`, `NameConflict`, `VersionConflict`,
//! `Locked`, ...) the API turns into 4xx answers and whose internal ones are always 5xx.
//!
//! # Two backends, one body of SQL
//!
//! [`Store`] is an enum over an sqlx pool per backend, not a trait object: both backends run
//! the same SQL text (sqlx-sqlite accepts `$1` placeholders), each operation is written once
//! and compiled for both by the `reader!`/`writer!`/`transaction!` macros below, and one test
//! suite (`tests/it`) runs every test on both. What genuinely differs — timestamp encoding,
//! constraint-violation classification — lives in `sql.rs`; the schemas live in
//! `migrations/{sqlite,postgres}`, applied by `sqlx::migrate!` on every connect (idempotent).
//! Queries are runtime-checked (`query`, `query_as` + `FromRow`), so a fresh clone builds
//! without a database. One deliberate exception to "same SQL": a checkpoint, written on every
//! durable step, is one statement on each backend — with data-modifying CTEs on PostgreSQL,
//! an insert into a view whose trigger does the work on SQLite (which has no such CTEs); see
//! `executions`.
//!
//! Concurrency rules:
//! - Every change that touches more than one row runs in a transaction.
//! - Optimistic locking (a draft's `version`) and edit locks are checked in the same statement
//!   that writes: `UPDATE ... WHERE version = $expected AND (locked_by IS NULL OR ...)`.
//!   Only when nothing matched does a second read explain why.
//! - Publishing is one transaction that first locks the parent row (`SELECT ... FOR UPDATE`
//!   on PostgreSQL; on SQLite `BEGIN IMMEDIATE` already holds the database), so concurrent
//!   publishers of one flow or function queue and numbering has no gaps or duplicates.
//! - Claims of shared work (executions to resume) are one statement that picks free rows
//!   `FOR UPDATE SKIP LOCKED` (PostgreSQL) and stamps a lease on them: concurrent claimers in
//!   any number of processes never take the same row, and an expired lease frees it again.
//! - SQLite gets one writer connection and a pool of read-only readers: writes queue in the
//!   process instead of spinning on `SQLITE_BUSY`, and readers never block in WAL mode.
//!   Transactions there start with `BEGIN IMMEDIATE`, so another process holding the file
//!   makes us wait (busy timeout) rather than fail on a lock upgrade.
//!
//! # Code map
//!
//! - `auth` — organizations, bearer tokens (hashes only) and OAuth clients.
//! - `flows` — flow drafts, published versions, tags, edit locks.
//! - `functions` — custom functions: drafts, versions, `tagVersionMap`, locks.
//! - `entities` — configuration entities (queues, teams, audio files, business hours, entry
//!   points, global variables, ...) in one generic table keyed by kind.
//! - `executions` — durable executions (tasks): one row per execution holding the engine
//!   state and pending commands as JSON, its pending timers (`timers`, `next_due`), the flow
//!   version it runs on, a `step` counter guarding checkpoints, and a lease (owner, expiry)
//!   naming the process that runs it; and the append-only trace (`execution_traces`, one
//!   row per checkpoint holding its records, numbered per execution, pruned by retention),
//!   whose newest pages a runner keeps in the row's `trace_tail` until it has moved them.
//!   A checkpoint — row, timers, trace — is one statement, and no column it changes before
//!   the last step is indexed. Processes
//!   claim unfinished executions whose lease is free or expired with `FOR UPDATE SKIP
//!   LOCKED` (on SQLite the single writer makes the same one-statement `UPDATE ...
//!   RETURNING` claim safe), walking an index of the unfinished ones from a cursor.
//!   Executions reference their org but not their flow: deleting a flow keeps its tasks'
//!   history.
//! - `lane` — PostgreSQL connections of the store's own for single statements (checkpoints,
//!   `reader!`, `writer!`): sqlx's pool pings a connection every time it is released, a
//!   second round trip per statement. Transactions use the pool.
//!
//! # Room for what comes next
//!
//! These get their own modules and migrations; nothing above needs to change for them.
//! - Due-timer claims across processes: a cluster-wide "what is due now" query over
//!   `executions.next_due` (not indexed today: an index on it would be written by every
//!   step that moves a timer, and cost PostgreSQL its HOT updates; a partial index over the
//!   unfinished rows is the candidate); cross-node wake-ups use PostgreSQL `LISTEN/NOTIFY`.
//! - Group commit: checkpoints of many tasks in one transaction, when durable-step throughput
//!   on one SQLite file (one fsync per commit) is not enough.
//! - The webhook outbox: deliveries inserted in the same transaction as the change that caused
//!   them, dequeued with `FOR UPDATE SKIP LOCKED` (zero2prod's issue_delivery_worker), with an
//!   attempt log.

mod error;
mod lane;
mod sql;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Executor, PgConnection};

pub use error::StoreError;
pub use sql::{now, truncate_to_millis};

/// Runs `$body` with `$pool` bound to a pool for reads, on whichever backend is in use (on
/// PostgreSQL a connection of the `lane`, or a pooled one: `$body` returns a
/// `Result<_, sqlx::Error>`).
macro_rules! reader {
    ($store:expr, |$pool:ident| $body:expr) => {{
        let started = std::time::Instant::now();
        let out = match &$store.db {
            $crate::Db::Sqlite { read: $pool, .. } => $body,
            $crate::Db::Postgres { pool, lane } => lane.run(pool, async |$pool| $body).await,
        };
        $crate::observe(&$store.db, "read", started);
        out
    }};
}

/// Runs `$body` with `$pool` bound to a pool for single-statement writes (on PostgreSQL a
/// connection of the `lane`, or a pooled one, as in `reader!`).
macro_rules! writer {
    ($store:expr, |$pool:ident| $body:expr) => {{
        let started = std::time::Instant::now();
        let out = match &$store.db {
            $crate::Db::Sqlite { write: $pool, .. } => $body,
            $crate::Db::Postgres { pool, lane } => lane.run(pool, async |$pool| $body).await,
        };
        $crate::observe(&$store.db, "write", started);
        out
    }};
}

/// Runs `$body` inside a transaction bound to `$tx` (use `&mut *$tx` as the executor) and
/// commits when the body finishes. Leaving the body early (`?`, `return`) drops the
/// transaction, which rolls it back.
macro_rules! transaction {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let started = std::time::Instant::now();
        let out = match &$store.db {
            $crate::Db::Sqlite { write, .. } => {
                let mut $tx = write.begin_with("BEGIN IMMEDIATE").await?;
                let value = $body;
                $tx.commit().await?;
                value
            }
            $crate::Db::Postgres { pool, .. } => {
                let mut $tx = pool.begin().await?;
                let value = $body;
                $tx.commit().await?;
                value
            }
        };
        $crate::observe(&$store.db, "transaction", started);
        out
    }};
}

/// Store latency for Prometheus (`switchboard_store_duration_seconds{backend, kind}`), taken
/// in the three macros every query goes through (a body that leaves early with `?` is not
/// timed).
pub(crate) fn observe(db: &Db, kind: &'static str, started: std::time::Instant) {
    let backend = match db {
        Db::Sqlite { .. } => "sqlite",
        Db::Postgres { .. } => "postgres",
    };
    metrics::histogram!("switchboard_store_duration_seconds", "backend" => backend, "kind" => kind)
        .record(started.elapsed().as_secs_f64());
}

/// One page of `SELECT {columns} FROM {table} WHERE {conditions} ORDER BY {order}` and the
/// number of rows matching in all. `args` bind `$1..$n` of `conditions`; the page's LIMIT and
/// OFFSET are appended after them. The list endpoints (flows, executions) share it.
pub(crate) struct Page<'a> {
    pub table: &'a str,
    pub columns: &'a str,
    pub conditions: &'a str,
    pub order: &'a str,
    pub args: Vec<sql::Arg>,
    pub limit: u64,
    pub offset: u64,
}

/// Bind every [`sql::Arg`] of `$args` to `$query`, in order.
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                $crate::sql::Arg::Text(s) => query.bind(s),
                $crate::sql::Arg::Int(i) => query.bind(i),
            };
        }
        query
    }};
}

impl Store {
    pub(crate) async fn page<R>(&self, page: Page<'_>) -> Result<(Vec<R>, u64), StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let Page {
            table,
            columns,
            conditions,
            order,
            mut args,
            limit,
            offset,
        } = page;
        let count_sql = format!("SELECT COUNT(*) FROM {table} WHERE {conditions}");
        let total: i64 = reader!(self, |pool| {
            bind_args!(sqlx::query_scalar(&count_sql), &args)
                .fetch_one(pool)
                .await
        })?;
        let n = args.len();
        args.push(sql::Arg::Int(sql::count_arg(limit)));
        args.push(sql::Arg::Int(sql::count_arg(offset)));
        let page_sql = format!(
            "SELECT {columns} FROM {table} WHERE {conditions} ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let rows = reader!(self, |pool| {
            bind_args!(sqlx::query_as::<_, R>(&page_sql), &args)
                .fetch_all(pool)
                .await
        })?;
        Ok((rows, u64::try_from(total).unwrap_or(0)))
    }
}

mod auth;
mod entities;
mod executions;
mod flows;
mod functions;

pub use auth::{ClientRecord, Org, TokenRecord};
pub use entities::EntityRecord;
pub use executions::{
    Checkpoint, ClaimCursor, ClaimedExecution, ExecutionFilter, ExecutionRecord, NewExecution,
    Records, StepTrace, TimerRow, TracePage, TraceRow,
};
pub use flows::{DraftUpdate, FlowFilter, FlowRecord, FlowVersionRecord, PublishRequest};
pub use functions::{FunctionRecord, FunctionVersionRecord};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Schemas made by [`Store::connect_postgres_isolated`] start with this, then the creation
/// time in Unix seconds, so leftovers of crashed test runs can be recognised and dropped.
const ISOLATED_SCHEMA_PREFIX: &str = "switchboard_test_";
/// Isolated schemas older than this are dropped by the next isolated connect.
const ISOLATED_SCHEMA_MAX_AGE: Duration = Duration::from_secs(3600);

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Connection settings beyond the URL. The binary fills these from its configuration.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections: on PostgreSQL all of them, half (rounded down) for single statements
    /// (see `lane`) and the rest pooled; on SQLite the read-only readers (SQLite always has
    /// exactly one writer).
    pub max_connections: u32,
    /// How long to wait for a free pooled connection before failing.
    pub acquire_timeout: Duration,
    /// How long a SQLite statement waits for a lock held by another process.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// A handle on the database. Cheap to clone: clones share the pools.
#[derive(Clone)]
pub struct Store {
    db: Db,
    /// The private schema of a store made by [`Store::connect_postgres_isolated`].
    isolated_schema: Option<Arc<str>>,
}

#[derive(Clone)]
enum Db {
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    /// Single statements take a lane's connection first, transactions the pool's.
    Postgres {
        pool: PgPool,
        lane: Arc<lane::Lane>,
    },
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("isolated_schema", &self.isolated_schema)
            .finish()
    }
}

impl Store {
    /// Connects and applies pending migrations. `url` is `sqlite://path/to/file.db` (the file
    /// and its directory are created if missing), `sqlite::memory:`, or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, &StoreOptions::default()).await
    }

    /// [`Store::connect`] with explicit pool settings.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let store = if url.starts_with("sqlite:") {
            connect_sqlite(url, options).await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::InvalidUrl(format!("{}: {e}", redact(url))))?;
            connect_postgres(connect, options, None).await?
        } else {
            return Err(StoreError::InvalidUrl(format!(
                "{}: expected sqlite://, sqlite::memory: or postgres://",
                redact(url)
            )));
        };
        tracing::info!(backend = ?store.backend(), "store connected, migrations applied");
        Ok(store)
    }

    /// For tests: connects to PostgreSQL inside a private, freshly created schema (via
    /// `search_path`), so tests running in parallel never see each other's rows. The schema
    /// is dropped by [`Store::close`]; ones left behind by crashed runs are dropped by a later
    /// call once they are an hour old.
    pub async fn connect_postgres_isolated(url: &str) -> Result<Store, StoreError> {
        let base = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl(format!("{}: {e}", redact(url))))?;
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let schema = format!(
            "{ISOLATED_SCHEMA_PREFIX}{created}_{}",
            uuid::Uuid::new_v4().simple()
        );

        let mut admin = PgConnection::connect_with(&base).await?;
        drop_stale_schemas(&mut admin, created).await;
        admin
            .execute(format!("CREATE SCHEMA \"{schema}\"").as_str())
            .await?;
        admin.close().await?;

        let options = StoreOptions {
            max_connections: 5,
            ..StoreOptions::default()
        };
        // Named after its schema, so that a test can find this store's server processes.
        let connect = base
            .options([("search_path", schema.as_str())])
            .application_name(&schema);
        connect_postgres(connect, &options, Some(schema.into())).await
    }

    /// The private schema of a store made by [`Store::connect_postgres_isolated`], which is
    /// also its connections' `application_name`.
    pub fn isolated_schema(&self) -> Option<&str> {
        self.isolated_schema.as_deref()
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Applies pending migrations. [`Store::connect`] already did; running them again is a
    /// no-op (each applied migration is recorded with its checksum in `_sqlx_migrations`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await?,
            Db::Postgres { pool, .. } => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Checks that the database answers (for readiness probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        reader!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Closes every pooled connection, waiting for checked-out ones to come back. A store made
    /// by [`Store::connect_postgres_isolated`] drops its schema first.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres { pool, lane } => {
                lane.close();
                if let Some(schema) = &self.isolated_schema {
                    let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                    if let Err(e) = pool.execute(drop.as_str()).await {
                        tracing::warn!(%schema, error = %e, "could not drop isolated schema");
                    }
                }
                pool.close().await;
            }
        }
    }
}

async fn connect_sqlite(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
    let connect = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::InvalidUrl(format!("{url}: {e}")))?
        .foreign_keys(true)
        .busy_timeout(options.busy_timeout);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");

    if in_memory {
        // Every connection to an in-memory database must share it, and it vanishes with the
        // last one: a single connection that never idles out serves reads and writes alike.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        SQLITE_MIGRATIONS.run(&pool).await?;
        return Ok(Store {
            db: Db::Sqlite {
                read: pool.clone(),
                write: pool,
            },
            isolated_schema: None,
        });
    }

    if let Some(dir) = connect.get_filename().parent() {
        if !dir.as_os_str().is_empty() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
    }

    // WAL keeps readers and the writer out of each other's way; FULL makes every commit
    // durable across power loss too (NORMAL would only survive a process crash).
    let writer = connect
        .clone()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(writer)
        .await?;
    SQLITE_MIGRATIONS.run(&write).await?;

    // Read-only readers: a write through the wrong pool fails loudly instead of racing the
    // writer for the lock.
    let read = SqlitePoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect.read_only(true))
        .await?;
    Ok(Store {
        db: Db::Sqlite { read, write },
        isolated_schema: None,
    })
}

/// A PostgreSQL connection idle this long is pinged before use.
pub(crate) const PING_AFTER_IDLE: Duration = Duration::from_secs(2);

async fn connect_postgres(
    connect: PgConnectOptions,
    options: &StoreOptions,
    isolated_schema: Option<Arc<str>>,
) -> Result<Store, StoreError> {
    // The lane takes half the connections (none of one), the pool the rest.
    let max = options.max_connections.max(1);
    let lane = lane::Lane::new(connect.clone(), options.acquire_timeout, (max / 2) as usize);
    let pool = PgPoolOptions::new()
        // sqlx pings every connection it hands out by default: a round trip to the server
        // before every statement. A connection busy a moment ago is alive; one idle for a
        // while (a server restart, a firewall's idle cut) is still checked first, and a dead
        // one dropped for another. (SQLite keeps the default: there the ping is a hop to the
        // connection's thread, and leaving it out made durable steps no faster.)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .max_connections(max - max / 2)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await?;
    POSTGRES_MIGRATIONS.run(&pool).await?;
    Ok(Store {
        db: Db::Postgres {
            pool,
            lane: Arc::new(lane),
        },
        isolated_schema,
    })
}

/// Best effort: drops isolated test schemas older than [`ISOLATED_SCHEMA_MAX_AGE`].
async fn drop_stale_schemas(conn: &mut PgConnection, now_secs: u64) {
    let pattern = format!("{}%", ISOLATED_SCHEMA_PREFIX.replace('_', "\\_"));
    let names: Vec<(String,)> =
        match sqlx::query_as("SELECT nspname::TEXT FROM pg_namespace WHERE nspname LIKE $1")
            .bind(pattern)
            .fetch_all(&mut *conn)
            .await
        {
            Ok(names) => names,
            Err(e) => {
                tracing::debug!(error = %e, "could not list isolated schemas");
                return;
            }
        };
    for (name,) in names {
        let created = name[ISOLATED_SCHEMA_PREFIX.len()..]
            .split('_')
            .next()
            .and_then(|secs| secs.parse::<u64>().ok());
        let Some(created) = created else { continue };
        if now_secs.saturating_sub(created) < ISOLATED_SCHEMA_MAX_AGE.as_secs() {
            continue;
        }
        let drop = format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE");
        if let Err(e) = conn.execute(drop.as_str()).await {
            tracing::debug!(schema = %name, error = %e, "could not drop stale isolated schema");
        }
    }
}

/// `url` without its password, for error messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://sb:secret@db:5432/x"),
            "postgres://sb:***@db:5432/x"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
    }
}
