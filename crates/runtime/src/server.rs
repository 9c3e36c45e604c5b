//! The durable runner of a server process: runs executions of stored flows on tokio tasks,
//! checkpoints every engine step in the store before its commands are performed, and
//! resumes every unfinished execution after a restart.
//!
//! - An execution is inserted with this process as its lease owner (a fresh owner id per
//!   process start), then driven by one tokio task (an *actor*) that owns its [`TaskState`].
//!   The actor calls [`crate::resume`] with a horizon of "now": answers and overdue timers
//!   are processed, future timers are left pending; then it sleeps until the earliest timer
//!   or until the API delivers an event (caller digits, hang-up, cancel).
//! - Every step is written with [`store::Store::checkpoint_execution`] (state, status,
//!   pending answer-bearing commands, timers, trace records), guarded by `step`.
//! - [`Runner::resume_all`] claims unfinished executions whose lease is free
//!   (`claim_executions_to_resume`, in batches, each going on from where the last one got
//!   to), re-performs their pending commands
//!   (duplicate answers are ignored by the engine), and continues them; overdue timers fire
//!   at once. Built for 100,000s of parked tasks after a restart: the tasks of a batch share
//!   their version's program and environment, each actor deserializes its own state from the
//!   stored text (spread over the runtime's threads while the next batch is claimed), an
//!   actor with nothing due parks without building a run, and a parked actor is small (its
//!   state and any run or command in progress are boxed). Leases are renewed while a long
//!   backlog is claimed, and a claim never adopts a task this process already runs.
//!   A background loop renews this process's leases (those running out within two thirds of
//!   a lease: each renewal rewrites a row), claims executions another process abandoned,
//!   and prunes old traces.
//! - The stored status: `running` while a task waits for an answer the runtime is getting
//!   (HTTP, a function, a routing reply), `waiting` while it waits for a timer, the caller or
//!   an agent, then `completed`, `failed` or `cancelled` ([`status_of`]).
//! - A task runs to its end on the version it started on: the state pins its program key,
//!   and the program is loaded from that stored version (the draft for draft executions).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use engine::{
    Command, Engine, EngineConfig, Env, Event, Outcome, Program, ProgramKey, Start, StaticEnv,
    Status, StepOutput, TaskState, WaitOn,
};
use serde_json::value::RawValue;
use serde_json::{json, Value as Json};
use store::{
    ClaimCursor, ClaimedExecution, ExecutionRecord, Records, StepTrace, Store, StoreError,
    TracePage,
};
use tokio::sync::Notify;

use crate::traces::{TraceCursor, TraceWriter};
use crate::{
    BoxFuture, CallerAction, Clock, HttpConfig, LocalRouter, MediaPort, Performers,
    ReqwestHttpClient, RunOptions, RuntimeError, StoreFunctionRunner, SystemClock,
};

/// Settings of the runner.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// How long a lease lasts; renewed (and abandoned executions claimed) every third of
    /// it. After a crash, a restarted process takes the tasks over within about this long.
    pub lease: Duration,
    /// Traces of executions finished longer ago than this are pruned; `None` keeps them.
    pub trace_retention: Option<chrono::Duration>,
    pub engine: EngineConfig,
    pub http: HttpConfig,
    /// Engine steps per continuation (a bound against runaway loops on top of the
    /// engine's own step budget).
    pub max_steps: usize,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            lease: Duration::from_secs(9),
            trace_retention: Some(chrono::Duration::days(30)),
            engine: EngineConfig::default(),
            http: HttpConfig::default(),
            max_steps: 100_000,
        }
    }
}

/// Which version an execution runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionSel {
    Latest,
    Draft,
    Number(i64),
}

impl std::str::FromStr for VersionSel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "latest" => Ok(VersionSel::Latest),
            "draft" => Ok(VersionSel::Draft),
            n => n
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .map(VersionSel::Number)
                .ok_or_else(|| {
                    format!("version must be \"latest\", \"draft\" or a number >= 1, not '{s}'")
                }),
        }
    }
}

/// Why an execution could not be started or an event not delivered.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// A compiled flow version and the names of its secure variables.
#[derive(Clone)]
pub struct Compiled {
    pub program: Arc<Program>,
    pub secure: Vec<String>,
}

/// An actor's mailbox: the events the API delivers, in order, and a wake-up. Lighter than
/// a tokio channel, which allocates room for 32 messages up front: 100,000s of tasks park.
struct Mailbox {
    /// `None` once the actor has stopped: deliveries are refused.
    events: Mutex<Option<VecDeque<Event>>>,
    wake: Notify,
}

impl Mailbox {
    fn new() -> Mailbox {
        Mailbox {
            events: Mutex::new(Some(VecDeque::new())),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<VecDeque<Event>>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `event` and wakes the actor; false when it has stopped.
    fn post(&self, event: Event) -> bool {
        let posted = match self.lock().as_mut() {
            Some(queue) => {
                queue.push_back(event);
                true
            }
            None => false,
        };
        // A wake-up with nobody waiting is kept for the next wait: none is lost.
        if posted {
            self.wake.notify_one();
        }
        posted
    }

    /// The oldest undelivered event.
    fn take(&self) -> Option<Event> {
        self.lock().as_mut().and_then(VecDeque::pop_front)
    }

    fn close(&self) {
        *self.lock() = None;
    }
}

/// How an actor gets its task. The state is boxed here and in the actor so that the
/// actor's future (alive as long as the task, 100,000s of them) holds a pointer, not one
/// copy of the state per place it passes through.
enum Begin {
    /// Started here: the state and the pending commands are at hand.
    Started {
        state: Box<TaskState>,
        pending: Vec<Command>,
        trace: TraceCursor,
    },
    /// Claimed from the store: the stored JSON, deserialized by the actor itself; `flow` is
    /// the version the row says the task runs on (the environment was built for it).
    Claimed {
        state: String,
        pending: String,
        flow: ProgramKey,
        trace_seq: i64,
    },
}

/// Executions claimed per statement by [`Runner::resume_all`].
const CLAIM_BATCH: u64 = 1000;

/// The durable runner. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

struct Inner {
    owner: String,
    store: Store,
    engine: Engine,
    clock: SystemClock,
    catalog: &'static catalog::Catalog,
    validator: validate::Validator<'static>,
    host: functions::FunctionHost,
    http: ReqwestHttpClient,
    router: LocalRouter,
    config: RunnerConfig,
    /// Published versions, by (org, key).
    programs: Mutex<HashMap<(String, ProgramKey), Compiled>>,
    /// Mailboxes of the executions this process is running.
    tasks: Mutex<HashMap<String, Arc<Mailbox>>>,
    /// How many of them sleep until their next timer or an event (see [`Runner::parked`]).
    parked: AtomicUsize,
    /// Moves the trace pages the tasks' steps defer into the trace table.
    traces: TraceWriter,
}

/// The program key of a draft execution.
pub const DRAFT_VERSION: i64 = 0;

impl Runner {
    pub fn new(
        store: Store,
        catalog: &'static catalog::Catalog,
        host: functions::FunctionHost,
        config: RunnerConfig,
    ) -> Result<Runner, RuntimeError> {
        let http = ReqwestHttpClient::new(config.http.clone())?;
        Ok(Runner {
            inner: Arc::new(Inner {
                owner: format!("runner-{}", uuid::Uuid::new_v4()),
                traces: TraceWriter::new(store.clone()),
                store,
                engine: Engine::new(config.engine.clone()),
                clock: SystemClock,
                catalog,
                validator: validate::Validator::new(catalog),
                host,
                http,
                router: LocalRouter::new(),
                config,
                programs: Mutex::new(HashMap::new()),
                tasks: Mutex::new(HashMap::new()),
                parked: AtomicUsize::new(0),
            }),
        })
    }

    /// This process's lease owner id.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// How many executions this process holds in memory (running or parked).
    pub fn live(&self) -> usize {
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// How many of them are parked: caught up, their next timer scheduled, waiting for it or
    /// an event. After [`Runner::resume_all`], every resumed task is here once it is live.
    pub fn parked(&self) -> usize {
        self.inner.parked.load(Ordering::Relaxed)
    }

    /// Starts an execution of `flow_id` and runs it in the background; returns it as
    /// inserted (its first step already checkpointed).
    pub async fn start(
        &self,
        org: &str,
        flow_id: &str,
        version: VersionSel,
        variables: serde_json::Map<String, Json>,
        start_data: serde_json::Map<String, Json>,
    ) -> Result<ExecutionRecord, RunnerError> {
        let inner = &self.inner;
        let flow =
            inner.store.get_flow(org, flow_id).await?.ok_or_else(|| {
                RunnerError::NotFound(format!("Flow '{flow_id}' does not exist."))
            })?;
        let number = match version {
            VersionSel::Latest => Some(flow.latest_version.ok_or_else(|| {
                RunnerError::Conflict(format!(
                    "Flow '{flow_id}' has no published version; publish it or start the draft \
                     (version \"draft\")."
                ))
            })?),
            VersionSel::Number(n) => Some(n),
            VersionSel::Draft => None,
        };
        let key = ProgramKey::new(flow_id, number.unwrap_or(DRAFT_VERSION));
        let compiled = self.load(org, &key).await?;
        let env = self.env_for(org, &compiled.program).await?;
        let start = Start {
            variables: variables.into_iter().collect(),
            outputs: start_data,
            seed: rand::random(),
            ..Start::default()
        };
        let now = inner.clock.now();
        let (state, out) = inner
            .engine
            .start(&env, &compiled.program, start, now)
            .map_err(|e| RunnerError::BadRequest(format!("The execution cannot start: {e}.")))?;
        let pending = pending_after(&[], &state, &out);
        let record = ExecutionRecord {
            id: format!("{}", uuid::Uuid::new_v4()),
            org_id: org.to_owned(),
            flow_id: flow_id.to_owned(),
            flow_version: number,
            status: status_of(&state).to_owned(),
            state: state.to_json(),
            pending: serde_json::to_value(&pending).unwrap_or(Json::Null),
            error: error_of(&state),
            step: 0,
            created_at: now,
            updated_at: now,
            finished_at: state.is_finished().then_some(now),
            lease_owner: Some(inner.owner.clone()),
            lease_until: Some(self.lease_end()),
        };
        let timers = timers_of(&state);
        let trace: Vec<Json> = out
            .trace
            .iter()
            .map(|t| serde_json::to_value(t).unwrap_or(Json::Null))
            .collect();
        inner
            .store
            .insert_execution(&record, &timers, &trace)
            .await?;
        if !state.is_finished() {
            self.spawn(
                org,
                &record.id,
                Begin::Started {
                    state: Box::new(state),
                    pending,
                    trace: TraceCursor::started(trace.len() as i64),
                },
                0,
                Arc::new(env),
            );
        }
        Ok(record)
    }

    /// Claims every unfinished execution whose lease is free and continues it here.
    /// Returns how many were claimed (and are now running here).
    pub async fn resume_all(&self) -> Result<usize, RunnerError> {
        let inner = &self.inner;
        let mut total = 0;
        let mut renewed = std::time::Instant::now();
        // Where the claims have got to: each goes on past the executions the ones before it
        // looked at (claimed or held), instead of walking them again.
        let mut cursor = ClaimCursor::default();
        loop {
            // A large backlog can take longer than a lease to claim: renew what is claimed
            // already, or its leases run out and a later claim takes them again.
            if renewed.elapsed() >= inner.config.lease / 3 {
                self.renew_leases().await?;
                renewed = std::time::Instant::now();
            }
            // On PostgreSQL two claims at once from the same cursor: two backends do the
            // work (SKIP LOCKED keeps their rows apart, the second passes over the first's).
            // SQLite's single writer would take them in turn, the second walking again past
            // the rows the first just claimed: one claim of both batches there.
            let claim = |limit| {
                inner.store.claim_executions_to_resume(
                    &inner.owner,
                    inner.config.lease,
                    inner.clock.now(),
                    limit,
                    &cursor,
                )
            };
            let (first, second) = match inner.store.backend() {
                store::Backend::Postgres => tokio::join!(claim(CLAIM_BATCH), claim(CLAIM_BATCH)),
                store::Backend::Sqlite => (
                    claim(2 * CLAIM_BATCH).await,
                    Ok((Vec::new(), ClaimCursor::default())),
                ),
            };
            let (mut n, mut failed, mut error) = (0, 0, None);
            let mut next = cursor.clone();
            for batch in [first, second] {
                // What one claim took is adopted even if the other failed.
                match batch {
                    Ok((batch, after)) => {
                        next = next.max(after);
                        n += batch.len();
                        let (adopted, not) = self.adopt_all(batch).await;
                        total += adopted;
                        failed += not;
                    }
                    Err(e) => error = Some(e),
                }
            }
            cursor = next;
            if let Some(e) = error {
                return Err(e.into());
            }
            // Failures are released, so a round of nothing else would come back at once:
            // leave them to the next maintenance round.
            if (n as u64) < 2 * CLAIM_BATCH || failed == n {
                break;
            }
        }
        if total > 0 {
            tracing::info!(count = total, "resumed executions");
        }
        Ok(total)
    }

    /// The heartbeat: renews this process's leases that would run out within two thirds of
    /// a lease. Heartbeats come every third of a lease, so a lease left alone is renewed by
    /// the next one with a third of a lease to spare, and the rows of leases taken or
    /// renewed moments ago (after a restart, the tasks just claimed) are not rewritten.
    async fn renew_leases(&self) -> Result<u64, StoreError> {
        let inner = &self.inner;
        let lease = chrono::Duration::from_std(inner.config.lease).unwrap_or_default();
        let now = inner.clock.now();
        inner
            .store
            .renew_leases_running_out(&inner.owner, now + lease, now + lease * 2 / 3)
            .await
    }

    /// When a lease taken now runs out.
    fn lease_end(&self) -> DateTime<Utc> {
        self.inner.clock.now()
            + chrono::Duration::from_std(self.inner.config.lease).unwrap_or_default()
    }

    /// Continues claimed executions; returns how many were adopted and how many failed (and
    /// were released). The tasks of one flow version share its program and environment,
    /// loaded once per batch rather than once per task; each task deserializes its own state
    /// on its actor, so that work is spread over the runtime's threads while the next batch
    /// is claimed.
    async fn adopt_all(&self, claimed: Vec<ClaimedExecution>) -> (usize, usize) {
        let inner = &self.inner;
        let mut envs: HashMap<(String, ProgramKey), Result<Arc<StaticEnv>, String>> =
            HashMap::new();
        let (mut adopted, mut failed) = (0, 0);
        for c in claimed {
            // Ours already (its lease ran out before it was renewed; the claim renewed it):
            // it keeps running as it is.
            if self.is_running(&c.id) {
                continue;
            }
            let flow = ProgramKey::new(&c.flow_id, c.flow_version.unwrap_or(DRAFT_VERSION));
            let env = match envs.entry((c.org_id.clone(), flow.clone())) {
                std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let (org, key) = e.key();
                    let env = self
                        .env_of(org, key)
                        .await
                        .map(Arc::new)
                        .map_err(|e| e.to_string());
                    e.insert(env).clone()
                }
            };
            match env {
                Ok(env) => {
                    let begin = Begin::Claimed {
                        state: c.state,
                        pending: c.pending,
                        flow,
                        trace_seq: c.trace_seq,
                    };
                    self.spawn(&c.org_id, &c.id, begin, c.step, env);
                    adopted += 1;
                }
                Err(e) => {
                    tracing::error!(execution = %c.id, error = %e, "cannot resume execution");
                    let _ = inner.store.release_lease(&c.id, &inner.owner).await;
                    failed += 1;
                }
            }
        }
        (adopted, failed)
    }

    fn is_running(&self, id: &str) -> bool {
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(id)
    }

    /// The environment a task of `key` runs in: its program and the flows it references.
    async fn env_of(&self, org: &str, key: &ProgramKey) -> Result<StaticEnv, RunnerError> {
        let compiled = self.load(org, key).await?;
        self.env_for(org, &compiled.program).await
    }

    /// A claimed task, deserialized, with its environment completed by the versions its
    /// subflow frames are pinned to.
    async fn revive(
        &self,
        org: &str,
        state: &str,
        pending: &str,
        flow: &ProgramKey,
        env: Arc<StaticEnv>,
    ) -> Result<(Box<TaskState>, Vec<Command>, Arc<StaticEnv>), RunnerError> {
        let state: Box<TaskState> = serde_json::from_str(state)
            .map_err(|e| RunnerError::Internal(format!("unreadable state: {e}")))?;
        let pending: Vec<Command> = serde_json::from_str(pending).unwrap_or_default();
        // The row names the version the state pins; should they ever differ, the state wins.
        let mut own = if state.flow() == flow {
            None
        } else {
            Some(self.env_of(org, state.flow()).await?)
        };
        for key in state.programs() {
            if own.as_ref().unwrap_or(&*env).program(key).is_none() {
                let c = self.load(org, key).await?;
                own.get_or_insert_with(|| (*env).clone())
                    .add_program(c.program);
            }
        }
        Ok((state, pending, own.map(Arc::new).unwrap_or(env)))
    }

    /// Renews leases, claims abandoned executions and prunes traces until the process ends.
    pub fn spawn_maintenance(&self) -> tokio::task::JoinHandle<()> {
        let runner = self.clone();
        tokio::spawn(async move {
            let every = runner.inner.config.lease / 3;
            let mut last_prune: Option<std::time::Instant> = None;
            loop {
                tokio::time::sleep(every).await;
                let inner = &runner.inner;
                if let Err(e) = runner.renew_leases().await {
                    tracing::warn!(error = %e, "cannot renew leases");
                }
                if let Err(e) = runner.resume_all().await {
                    tracing::warn!(error = %e, "cannot claim executions");
                }
                if let Some(retention) = inner.config.trace_retention {
                    if last_prune.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
                        last_prune = Some(std::time::Instant::now());
                        match inner
                            .store
                            .prune_traces(inner.clock.now() - retention)
                            .await
                        {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(rows = n, "pruned traces"),
                            Err(e) => tracing::warn!(error = %e, "cannot prune traces"),
                        }
                    }
                }
            }
        })
    }

    /// Delivers caller digits to an execution waiting for caller input.
    pub async fn send_digits(
        &self,
        org: &str,
        id: &str,
        digits: String,
    ) -> Result<(), RunnerError> {
        self.deliver(org, id, Event::CallerInput { digits }, true)
            .await
    }

    /// Hangs the simulated caller up.
    pub async fn hangup(&self, org: &str, id: &str) -> Result<(), RunnerError> {
        self.deliver(org, id, Event::CallerHangup, true).await
    }

    /// Cancels an unfinished execution.
    pub async fn cancel(&self, org: &str, id: &str, reason: String) -> Result<(), RunnerError> {
        self.deliver(org, id, Event::Cancel { reason }, false).await
    }

    async fn deliver(
        &self,
        org: &str,
        id: &str,
        event: Event,
        needs_caller_wait: bool,
    ) -> Result<(), RunnerError> {
        let record = self
            .inner
            .store
            .get_execution(org, id)
            .await?
            .ok_or_else(|| RunnerError::NotFound(format!("Execution '{id}' does not exist.")))?;
        if is_final(&record.status) {
            return Err(RunnerError::Conflict(format!(
                "Execution '{id}' has finished ({}).",
                record.status
            )));
        }
        if needs_caller_wait {
            let waiting = serde_json::from_value::<TaskState>(record.state)
                .map(|s| waits_for_caller(&s))
                .unwrap_or(false);
            if !waiting {
                return Err(RunnerError::Conflict(format!(
                    "Execution '{id}' is not waiting for caller input."
                )));
            }
        }
        let mailbox = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        match mailbox {
            Some(mailbox) if mailbox.post(event) => Ok(()),
            _ => Err(RunnerError::Conflict(format!(
                "Execution '{id}' is not running in this server process; retry shortly."
            ))),
        }
    }

    /// The compiled program of `key` in `org` (version [`DRAFT_VERSION`]: the current
    /// draft, never cached).
    pub async fn load(&self, org: &str, key: &ProgramKey) -> Result<Compiled, RunnerError> {
        let cache_key = (org.to_owned(), key.clone());
        if key.version != DRAFT_VERSION {
            if let Some(c) = self
                .inner
                .programs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&cache_key)
            {
                return Ok(c.clone());
            }
        }
        let doc = if key.version == DRAFT_VERSION {
            self.inner
                .store
                .get_flow(org, &key.flow_id)
                .await?
                .ok_or_else(|| {
                    RunnerError::NotFound(format!("Flow '{}' does not exist.", key.flow_id))
                })?
                .document
        } else {
            self.inner
                .store
                .get_flow_version(org, &key.flow_id, key.version)
                .await?
                .ok_or_else(|| {
                    RunnerError::NotFound(format!(
                        "Flow '{}' has no published version {}.",
                        key.flow_id, key.version
                    ))
                })?
                .document
        };
        let compiled = self.compile(&doc, key)?;
        if key.version != DRAFT_VERSION {
            let mut map = self
                .inner
                .programs
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if map.len() >= 4096 {
                map.clear();
            }
            map.insert(cache_key, compiled.clone());
        }
        Ok(compiled)
    }

    fn compile(&self, doc: &Json, key: &ProgramKey) -> Result<Compiled, RunnerError> {
        let valid = self
            .inner
            .validator
            .validate_for_engine(doc, &validate::Options::default())
            .map_err(|report| {
                let first: Vec<String> = serde_json::to_value(&report)
                    .ok()
                    .and_then(|v| v.get("errors").cloned())
                    .and_then(|v| v.as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .take(3)
                    .map(|e| {
                        e.get("message")
                            .and_then(Json::as_str)
                            .unwrap_or("")
                            .to_owned()
                    })
                    .collect();
                RunnerError::BadRequest(format!(
                    "Flow '{}' version {} is not valid for execution: {}",
                    key.flow_id,
                    if key.version == DRAFT_VERSION {
                        "draft".to_owned()
                    } else {
                        key.version.to_string()
                    },
                    first.join("; ")
                ))
            })?;
        let program =
            Program::compile_with_key(&valid, self.inner.catalog, key.clone()).map_err(|e| {
                RunnerError::BadRequest(format!("Flow '{}' does not compile: {e}", key.flow_id))
            })?;
        Ok(Compiled {
            program: Arc::new(program),
            secure: crate::report::secure_variables(valid.flow()),
        })
    }

    /// An environment with `program` and (recursively) the latest published versions of
    /// the flows it references.
    async fn env_for(&self, org: &str, program: &Arc<Program>) -> Result<StaticEnv, RunnerError> {
        let mut env = StaticEnv::new();
        env.add_program(program.clone());
        let mut todo: Vec<engine::FlowRef> = program.flow_refs().to_vec();
        let mut seen: Vec<String> = vec![program.key().flow_id.clone()];
        while let Some(r) = todo.pop() {
            let mut flow = None;
            if let Some(id) = &r.id {
                flow = self.inner.store.get_flow(org, id).await?;
            }
            if flow.is_none() {
                if let Some(name) = &r.name {
                    flow = self.inner.store.find_flow_by_name(org, name).await?;
                }
            }
            let Some(flow) = flow else { continue };
            if seen.contains(&flow.id) {
                continue;
            }
            seen.push(flow.id.clone());
            let Some(latest) = flow.latest_version else {
                continue;
            };
            let Ok(c) = self.load(org, &ProgramKey::new(&flow.id, latest)).await else {
                continue;
            };
            todo.extend(c.program.flow_refs().iter().cloned());
            env.add_program(c.program);
        }
        Ok(env)
    }

    /// The names of the secure variables of an execution's flow version (for masking).
    pub async fn secure_variables(&self, org: &str, key: &ProgramKey) -> Vec<String> {
        self.load(org, key)
            .await
            .map(|c| c.secure)
            .unwrap_or_default()
    }

    fn spawn(&self, org: &str, id: &str, begin: Begin, step: i64, env: Arc<StaticEnv>) {
        let mailbox = Arc::new(Mailbox::new());
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned(), mailbox.clone());
        let runner = self.clone();
        let org = org.to_owned();
        let id = id.to_owned();
        tokio::spawn(async move {
            let result = match begin {
                Begin::Started {
                    state,
                    pending,
                    trace,
                } => Ok((state, pending, env, trace)),
                Begin::Claimed {
                    state,
                    pending,
                    flow,
                    trace_seq,
                } => Box::pin(runner.revive(&org, &state, &pending, &flow, env))
                    .await
                    .map(|(state, pending, env)| {
                        (state, pending, env, TraceCursor::taken_over(trace_seq))
                    }),
            };
            let result = match result {
                Ok((state, pending, env, trace)) => {
                    let progress = Progress {
                        step,
                        pending,
                        trace,
                    };
                    runner
                        .actor(&org, &id, state, progress, env, &mailbox)
                        .await
                        .map_err(|e| {
                            tracing::error!(execution = %id, error = %e, "execution stopped; releasing it");
                        })
                }
                Err(e) => {
                    tracing::error!(execution = %id, error = %e, "cannot resume execution");
                    Err(())
                }
            };
            mailbox.close();
            runner
                .inner
                .tasks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            if result.is_err() {
                let release = runner.inner.store.release_lease(&id, &runner.inner.owner);
                let _ = Box::pin(release).await;
            }
        });
    }

    /// Drives one task until it finishes: catches up, parks until its next timer or an
    /// event, and again. What only a run needs (performers, the checkpoint writer) is built
    /// per run, in a boxed future, so a parked actor is just the task and its mailbox.
    async fn actor(
        &self,
        org: &str,
        id: &str,
        mut state: Box<TaskState>,
        mut progress: Progress,
        env: Arc<StaticEnv>,
        mailbox: &Mailbox,
    ) -> Result<(), RuntimeError> {
        let inner = &self.inner;
        // Answers to commands performed before a restart (or never performed).
        let mut events = Vec::new();
        if !progress.pending.is_empty() {
            events = Box::pin(self.perform_pending(org, &progress.pending)).await?;
        }
        loop {
            // One delivered event per run, as they came.
            if events.is_empty() {
                events.extend(mailbox.take());
            }
            let now = inner.clock.now();
            // With no answer to deliver and no timer due, a run would only find the task
            // parked: skip building one (the common case of a resumed task).
            let due = state.next_due().is_some_and(|due| due <= now);
            if !events.is_empty() || due || state.is_finished() {
                let run = self.run(org, id, *state, std::mem::take(&mut events), progress, &env);
                let (r, after) = Box::pin(run).await?;
                *state = r.state;
                progress = after;
                if state.is_finished() {
                    return Ok(());
                }
                if let crate::Stop::StepLimit { steps } = r.stop {
                    tracing::warn!(execution = %id, steps, "driver step limit; cancelling");
                    events.push(Event::Cancel {
                        reason: format!("driver step limit of {steps} steps"),
                    });
                    continue;
                }
            }
            let next = state.next_due();
            // Counted from here until the wait ends; the timer is registered by the first
            // poll of the `select!` below, in this same poll of the task.
            let _parked = Parked::enter(&inner.parked);
            let sleep = async {
                match next {
                    Some(due) => inner.clock.sleep_until(due).await,
                    None => std::future::pending::<()>().await,
                }
            };
            // Events are taken at the top of the loop.
            tokio::select! {
                () = mailbox.wake.notified() => {}
                () = sleep => {}
            }
        }
    }

    /// Performs the answer-bearing commands a task was waiting on when it was stored.
    async fn perform_pending(
        &self,
        org: &str,
        pending: &[Command],
    ) -> Result<Vec<Event>, RuntimeError> {
        let inner = &self.inner;
        let functions = StoreFunctionRunner::new(inner.store.clone(), inner.host.clone(), org);
        let performers = Performers {
            functions: &functions,
            http: &inner.http,
            media: &ApiCaller,
            router: &inner.router,
            checkpoint: None,
        };
        let mut events = Vec::new();
        for c in pending {
            if let Some(e) = perform(&performers, c).await? {
                events.push(e);
            }
        }
        Ok(events)
    }

    /// One continuation of a task with `events` ([`crate::resume`] up to "now"), every step
    /// checkpointed; returns the run and the stored step and pending commands after it.
    async fn run(
        &self,
        org: &str,
        id: &str,
        state: TaskState,
        events: Vec<Event>,
        progress: Progress,
        env: &StaticEnv,
    ) -> Result<(crate::RunResult, Progress), RuntimeError> {
        let inner = &self.inner;
        let functions = StoreFunctionRunner::new(inner.store.clone(), inner.host.clone(), org);
        let checkpoint =
            StoreCheckpoint::new(inner.store.clone(), inner.traces.clone(), org, id, progress);
        let performers = Performers {
            functions: &functions,
            http: &inner.http,
            media: &ApiCaller,
            router: &inner.router,
            checkpoint: Some(&checkpoint),
        };
        let options = RunOptions {
            max_steps: inner.config.max_steps,
            horizon: Some(inner.clock.now() - state.started_at()),
        };
        let r = crate::resume(
            &inner.engine,
            env,
            state,
            events,
            performers,
            &inner.clock,
            &options,
        )
        .await?;
        Ok((r, checkpoint.into_progress()))
    }
}

/// Counts an actor as parked while it lives.
struct Parked<'a>(&'a AtomicUsize);

impl<'a> Parked<'a> {
    fn enter(count: &'a AtomicUsize) -> Parked<'a> {
        count.fetch_add(1, Ordering::Relaxed);
        Parked(count)
    }
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The simulated caller: nothing answers `CollectDigits` at once; the API delivers
/// `CallerInput` and `CallerHangup` later.
struct ApiCaller;

impl MediaPort for ApiCaller {
    fn collect<'a>(&'a self, _: &'a engine::CollectDigits) -> BoxFuture<'a, CallerAction> {
        Box::pin(std::future::ready(CallerAction::Silence))
    }
}

/// Writes every step of one execution to the store (state, status, pending commands,
/// timers, new trace records), guarded by the stored step counter: the [`crate::Checkpoint`]
/// of the runner's tasks. Public so benchmarks can time a durable step on its own.
pub struct StoreCheckpoint {
    store: Store,
    traces: TraceWriter,
    org: String,
    id: String,
    clock: SystemClock,
    progress: Mutex<Progress>,
}

/// Where an execution's checkpoints have got to.
pub struct Progress {
    /// The stored step counter.
    pub step: i64,
    /// The answer-bearing commands still awaited.
    pub pending: Vec<Command>,
    /// Its deferred trace pages.
    pub trace: TraceCursor,
}

impl StoreCheckpoint {
    /// The checkpoint of execution `id` of `org`, stored as `progress` says; its trace pages
    /// deferred to `traces`.
    pub fn new(store: Store, traces: TraceWriter, org: &str, id: &str, progress: Progress) -> Self {
        StoreCheckpoint {
            store,
            traces,
            org: org.to_owned(),
            id: id.to_owned(),
            clock: SystemClock,
            progress: Mutex::new(progress),
        }
    }

    /// Where the checkpoints written so far have got to.
    pub fn into_progress(self) -> Progress {
        self.progress
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
    }
}

impl crate::Checkpoint for StoreCheckpoint {
    fn record<'a>(
        &'a self,
        state: &'a TaskState,
        step: &'a StepOutput,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move {
            let (expected, pending, queue) = {
                let mut p = self.progress.lock().unwrap_or_else(|p| p.into_inner());
                let queue = p.trace.queue(&self.id);
                (p.step, pending_after(&p.pending, state, step), queue)
            };
            let now = self.clock.now();
            // The step's records, serialized straight into its page.
            let records = step.trace.len();
            let (mut tail, seq) = self.traces.prepare(&queue).await?;
            if records > 0 {
                tail.push(TracePage::new(
                    seq,
                    now,
                    Records::collect(step.trace.entries()),
                ));
            }
            let finished = state.is_finished();
            let c = store::Checkpoint {
                expected_step: expected,
                status: status_of(state).to_owned(),
                state: raw_json(state),
                pending: raw_json(&pending),
                error: error_of(state),
                finished_at: finished.then_some(now),
                timers: timers_of(state),
                trace: StepTrace::Deferred { tail, records },
                at: now,
            };
            let written = self
                .store
                .checkpoint_execution(&self.org, &self.id, &c)
                .await?;
            let tail = match c.trace {
                StepTrace::Deferred { tail, .. } => tail,
                StepTrace::Row(_) => Vec::new(),
            };
            self.traces.committed(&queue, tail, records, finished);
            let mut p = self.progress.lock().unwrap_or_else(|p| p.into_inner());
            p.step = written;
            p.pending = pending;
            Ok(())
        })
    }
}

/// `value` as JSON text, serialized directly (the same text as through a
/// `serde_json::Value`, for a fraction of the work); `null` if it cannot be serialized.
fn raw_json<T: serde::Serialize + ?Sized>(value: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(value)
        .unwrap_or_else(|_| RawValue::from_string("null".to_owned()).expect("`null` is JSON"))
}

/// The answer-bearing commands still awaited after `step`: earlier ones still waited on,
/// then the step's own.
fn pending_after(before: &[Command], state: &TaskState, step: &StepOutput) -> Vec<Command> {
    let awaited = |c: &Command| {
        let Some(id) = c.request_id() else {
            return false;
        };
        let answerable = matches!(
            c,
            Command::HttpRequest(_)
                | Command::InvokeFunction(_)
                | Command::QueueContact(_)
                | Command::QueueToAgent(_)
                | Command::GetQueueInfo { .. }
                | Command::AdvancedQueueInfo { .. }
                | Command::EscalateCdg { .. }
                | Command::BreRequest(_)
        );
        answerable
            && state
                .threads()
                .iter()
                .any(|t| match t.wait.as_ref().map(|w| &w.on) {
                    Some(WaitOn::Http { request })
                    | Some(WaitOn::Function { request })
                    | Some(WaitOn::Reply { request }) => *request == id,
                    _ => false,
                })
    };
    before
        .iter()
        .chain(step.commands.iter())
        .filter(|c| awaited(c))
        .cloned()
        .collect()
}

/// Re-performs an answer-bearing command (after a restart, or for the first step).
async fn perform(p: &Performers<'_>, c: &Command) -> Result<Option<Event>, RuntimeError> {
    Ok(match c {
        Command::HttpRequest(r) => Some(p.http.send(r).await.into_event(r.id)),
        Command::InvokeFunction(f) => Some(Event::FunctionResult {
            id: f.id,
            result: p.functions.invoke(f).await?,
        }),
        Command::QueueContact(_)
        | Command::QueueToAgent(_)
        | Command::GetQueueInfo { .. }
        | Command::AdvancedQueueInfo { .. }
        | Command::EscalateCdg { .. }
        | Command::BreRequest(_) => match (c.request_id(), p.router.request(c).await) {
            (Some(id), Some(result)) => Some(Event::Reply { id, result }),
            _ => None,
        },
        _ => None,
    })
}

fn timers_of(state: &TaskState) -> Vec<(i64, DateTime<Utc>)> {
    state
        .pending_timers()
        .iter()
        .map(|t| (i64::try_from(t.id).unwrap_or(i64::MAX), t.due))
        .collect()
}

/// The store status of a task (the statuses the executions API lists):
/// - `running`: it waits for an answer this runtime is getting — an HTTP response, a function
///   result or a routing reply (commands in flight, re-performed after a restart);
/// - `waiting`: parked until something outside happens — a timer, the caller, an agent;
/// - `completed`, `failed`, `cancelled`: finished.
pub fn status_of(state: &TaskState) -> &'static str {
    match state.status() {
        Status::Waiting if in_flight(state) => "running",
        Status::Waiting => "waiting",
        Status::Completed {
            outcome: Outcome::Cancelled { .. },
        } => "cancelled",
        Status::Completed { .. } => "completed",
        Status::Failed { .. } => "failed",
    }
}

/// Whether some thread waits for an answer to a command the runtime performs.
fn in_flight(state: &TaskState) -> bool {
    state.threads().iter().any(|t| {
        matches!(
            t.wait.as_ref().map(|w| &w.on),
            Some(WaitOn::Http { .. } | WaitOn::Function { .. } | WaitOn::Reply { .. })
        )
    })
}

fn error_of(state: &TaskState) -> Option<String> {
    state
        .error()
        .map(|e| format!("{} at {} ({}): {}", e.code, e.node, e.activity, e.message))
}

fn is_final(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "cancelled")
}

/// Whether some thread of the task waits for caller digits.
pub fn waits_for_caller(state: &TaskState) -> bool {
    state
        .threads()
        .iter()
        .any(|t| matches!(t.wait.as_ref().map(|w| &w.on), Some(WaitOn::Digits { .. })))
}

/// A summary of what the task waits for, one line per wait point (empty when finished).
pub fn waiting_for(state: &TaskState) -> Vec<Json> {
    state
        .threads()
        .iter()
        .filter_map(|t| {
            let w = t.wait.as_ref()?;
            let node = t.stack.last().map(|f| f.at.to_string()).unwrap_or_default();
            let (what, extra) = match &w.on {
                WaitOn::Timer { timer } => (
                    "timer",
                    state
                        .pending_timers()
                        .iter()
                        .find(|x| x.id == *timer)
                        .map(|x| json!({"due": x.due.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)}))
                        .unwrap_or(json!({})),
                ),
                WaitOn::Http { .. } => ("httpResponse", json!({})),
                WaitOn::Function { .. } => ("functionResult", json!({})),
                WaitOn::Reply { .. } => ("routingReply", json!({})),
                WaitOn::Digits { attempt, .. } => ("callerInput", json!({"attempt": attempt})),
            };
            let mut v = json!({"thread": t.id, "node": node, "waitingFor": what,
                "since": w.since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)});
            if let (Some(obj), Json::Object(extra)) = (v.as_object_mut(), extra) {
                obj.extend(extra);
            }
            Some(v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!("latest".parse::<VersionSel>(), Ok(VersionSel::Latest));
        assert_eq!("draft".parse::<VersionSel>(), Ok(VersionSel::Draft));
        assert_eq!("3".parse::<VersionSel>(), Ok(VersionSel::Number(3)));
        assert!("0".parse::<VersionSel>().is_err());
        assert!("x".parse::<VersionSel>().is_err());
    }
}
