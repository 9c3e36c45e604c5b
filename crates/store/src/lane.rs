//! PostgreSQL connections for single statements, kept apart from sqlx's pool: every
//! checkpoint (one per durable step) and every `reader!`/`writer!` body.
//!
//! sqlx's pool pings a connection each time it is released (sqlx-core 0.8
//! `Floating::return_to_pool`: a `Sync` and a wait for `ReadyForQuery`). That is a second
//! round trip to the server, and a second wake-up of its backend, after every statement.
//! For a checkpoint, the one statement a task's step costs, the ping doubled the server's
//! work per step and made the next statement wait for, or compete with, it (see
//! BENCHMARKS.md, "Durable runtime": the bare commit itself is faster through the lane).
//! Transactions stay on the pool (several statements; its acquire queue and timeout).
//!
//! A lane hands out up to `capacity` connections of its own, one unit of work at a time:
//! - A connection goes back only after its statement finished without an I/O or protocol
//!   error. Any other end (such an error, the future dropped mid-statement) drops it and
//!   closes its socket, so a connection in an unknown state is never reused. An error the
//!   server reports and survives (a constraint, say) leaves the connection usable, and it
//!   goes back; a FATAL one (the session terminated) does not.
//! - A connection idle for [`PING_AFTER_IDLE`] is pinged before use, like the pool's (a
//!   server restart, a firewall's idle cut); a dead one is dropped and another taken. One
//!   open for [`MAX_LIFETIME`] is closed after its statement, as the pool's are.
//! - With every connection in use, [`Lane::run`] uses the pool: a burst of statements never
//!   waits on the lane.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::postgres::{
    PgArguments, PgConnectOptions, PgDatabaseError, PgPool, PgQueryResult, PgSeverity,
};
use sqlx::query::Query;
use sqlx::{Connection, PgConnection, Postgres};

use crate::PING_AFTER_IDLE;

/// A connection this old is closed instead of given back, as sqlx's pool does by default:
/// the server process behind it does not grow for ever, and a replaced server is found.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A connection: since when it is open, and since when it is idle.
struct Idle {
    conn: PgConnection,
    opened: Instant,
    since: Instant,
}

pub(crate) struct Lane {
    connect: PgConnectOptions,
    /// How long opening a connection may take (the pool's acquire timeout): an unreachable
    /// server must not hold a step longer than the pool would.
    connect_timeout: Duration,
    capacity: usize,
    /// Connections open, idle or in use.
    open: AtomicUsize,
    idle: Mutex<Vec<Idle>>,
    closed: AtomicBool,
}

/// A connection taken from a [`Lane`], counted in its `open`: dropped with its socket, and
/// its place freed, unless [`Taken::keep_after`] gives it back.
pub(crate) struct Taken<'a> {
    lane: &'a Lane,
    conn: Option<PgConnection>,
    opened: Instant,
    /// Given back: its place stays counted.
    kept: bool,
}

impl Lane {
    /// Up to `capacity` connections (none: every statement goes to the pool).
    pub(crate) fn new(
        connect: PgConnectOptions,
        connect_timeout: Duration,
        capacity: usize,
    ) -> Lane {
        Lane {
            connect,
            connect_timeout,
            capacity,
            open: AtomicUsize::new(0),
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// Runs `work` (its statements) on one of the lane's connections, or on a pooled one
    /// when none is free or a new one cannot be opened (the pool may still have a working
    /// one).
    pub(crate) async fn run<T>(
        &self,
        pool: &PgPool,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let taken = self.take().await.unwrap_or_else(|error| {
            tracing::warn!(%error, "could not open a lane connection; using the pool");
            None
        });
        match taken {
            Some(mut taken) => {
                let out = work(taken.conn()).await;
                taken.keep_after(&out);
                out
            }
            None => work(&mut *pool.acquire().await?).await,
        }
    }

    /// [`Lane::run`] of one statement.
    pub(crate) async fn execute(
        &self,
        pool: &PgPool,
        query: Query<'_, Postgres, PgArguments>,
    ) -> Result<PgQueryResult, sqlx::Error> {
        self.run(pool, async |conn| query.execute(conn).await).await
    }

    /// An idle connection, or a new one while fewer than `capacity` are open; `None` when all
    /// are in use or the lane is closed.
    async fn take(&self) -> Result<Option<Taken<'_>>, sqlx::Error> {
        loop {
            if self.closed.load(Ordering::Acquire) {
                return Ok(None);
            }
            let popped = self.lock().pop();
            let Some(idle) = popped else {
                break;
            };
            // Dropping `taken` (the connection dead, or this future dropped mid-ping) frees
            // its place.
            let mut taken = self.taken(Some(idle.conn), idle.opened);
            if idle.since.elapsed() < PING_AFTER_IDLE || taken.conn().ping().await.is_ok() {
                return Ok(Some(taken));
            }
        }
        let counted = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            });
        if counted.is_err() {
            return Ok(None);
        }
        // The place is counted from here on; a failed connect, or this future dropped while
        // connecting, drops `taken` and frees it.
        let mut taken = self.taken(None, Instant::now());
        let connecting = PgConnection::connect_with(&self.connect);
        taken.conn = Some(
            tokio::time::timeout(self.connect_timeout, connecting)
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)??,
        );
        Ok(Some(taken))
    }

    /// Drops the idle connections; those in use are dropped when they finish. `take` then
    /// returns `None`.
    pub(crate) fn close(&self) {
        // Under the lock, so that no connection is given back after it.
        let idle = {
            let mut idle = self.lock();
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut *idle)
        };
        self.open.fetch_sub(idle.len(), Ordering::AcqRel);
    }

    /// A place counted in `open`, with its connection (`None` while it is being opened).
    fn taken(&self, conn: Option<PgConnection>, opened: Instant) -> Taken<'_> {
        Taken {
            lane: self,
            conn,
            opened,
            kept: false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Taken<'_> {
    /// The connection, to run one statement on.
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        self.conn
            .as_mut()
            .expect("a taken connection is there until kept or dropped")
    }

    /// Gives the connection back after `outcome`, its statement's result: kept unless the
    /// statement failed in a way that may leave the connection unusable.
    pub(crate) fn keep_after<T>(mut self, outcome: &Result<T, sqlx::Error>) {
        let reusable = match outcome {
            Ok(_) => true,
            // The server reported an error and goes on, unless it is ending the session
            // (FATAL: terminated by an administrator, shutting down).
            Err(sqlx::Error::Database(e)) => e
                .try_downcast_ref::<PgDatabaseError>()
                .is_some_and(|e| !matches!(e.severity(), PgSeverity::Fatal | PgSeverity::Panic)),
            Err(_) => false,
        };
        if !reusable || self.opened.elapsed() >= MAX_LIFETIME {
            return;
        }
        let mut idle = self.lane.lock();
        if !self.lane.closed.load(Ordering::Acquire) {
            if let Some(conn) = self.conn.take() {
                idle.push(Idle {
                    conn,
                    opened: self.opened,
                    since: Instant::now(),
                });
                self.kept = true;
            }
        }
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.lane.open.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(port: u16) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(port)
            .username("switchboard")
    }

    /// A loopback server that accepts connections and never answers.
    async fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        (port, server)
    }

    fn open(lane: &Lane) -> usize {
        lane.open.load(Ordering::Acquire)
    }

    #[tokio::test]
    async fn a_failed_connect_frees_its_place() {
        // A loopback port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let lane = Lane::new(options(port), Duration::from_secs(30), 1);
        for _ in 0..3 {
            assert!(lane.take().await.is_err());
            assert_eq!(open(&lane), 0);
        }
    }

    #[tokio::test]
    async fn a_take_dropped_while_connecting_frees_its_place() {
        // Connecting waits until dropped.
        let (port, server) = silent_server().await;
        let lane = Lane::new(options(port), Duration::from_secs(30), 1);
        for _ in 0..3 {
            let waited = tokio::time::timeout(Duration::from_millis(50), lane.take()).await;
            // Still connecting (not `None` for a full lane): the last drop freed the place.
            assert!(waited.is_err());
            assert_eq!(open(&lane), 0);
        }
        server.abort();
    }

    #[tokio::test]
    async fn opening_a_connection_times_out() {
        let (port, server) = silent_server().await;
        let lane = Lane::new(options(port), Duration::from_millis(50), 1);
        let taken = tokio::time::timeout(Duration::from_secs(10), lane.take()).await;
        assert!(matches!(taken, Ok(Err(sqlx::Error::PoolTimedOut))));
        assert_eq!(open(&lane), 0);
        server.abort();
    }

    #[tokio::test]
    async fn a_lane_without_places_or_closed_takes_nothing() {
        let none = Lane::new(options(1), Duration::from_secs(30), 0);
        assert!(none.take().await.unwrap().is_none());
        let closed = Lane::new(options(1), Duration::from_secs(30), 4);
        closed.close();
        assert!(closed.take().await.unwrap().is_none());
        assert_eq!(open(&closed), 0);
    }
}
