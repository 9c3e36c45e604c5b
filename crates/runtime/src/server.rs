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
//!   (`claim_unfinished_executions`), re-performs their pending commands (duplicate
//!   answers are ignored by the engine), and continues them; overdue timers fire at once.
//!   A background loop renews this process's leases, claims executions another process
//!   abandoned, and prunes old traces.
//! - A task runs to its end on the version it started on: the state pins its program key,
//!   and the program is loaded from that stored version (the draft for draft executions).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use engine::{
    Command, Engine, EngineConfig, Event, Outcome, Program, ProgramKey, Start, StaticEnv, Status,
    StepOutput, TaskState, WaitOn,
};
use serde_json::{json, Value as Json};
use store::{ExecutionRecord, Store, StoreError};
use tokio::sync::mpsc;

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

/// What an actor is told.
enum Msg {
    Event(Event),
}

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
    tasks: Mutex<HashMap<String, mpsc::UnboundedSender<Msg>>>,
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
            lease_until: Some(
                now + chrono::Duration::from_std(inner.config.lease).unwrap_or_default(),
            ),
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
            self.spawn(org, &record.id, state, 0, pending, env);
        }
        Ok(record)
    }

    /// Claims every unfinished execution whose lease is free and continues it here.
    /// Returns how many were claimed.
    pub async fn resume_all(&self) -> Result<usize, RunnerError> {
        let inner = &self.inner;
        let mut total = 0;
        loop {
            let claimed = inner
                .store
                .claim_unfinished_executions(
                    &inner.owner,
                    inner.config.lease,
                    inner.clock.now(),
                    500,
                )
                .await?;
            let n = claimed.len();
            total += n;
            for record in claimed {
                if let Err(e) = self.adopt(record.clone()).await {
                    tracing::error!(execution = %record.id, error = %e, "cannot resume execution");
                    let _ = inner.store.release_lease(&record.id, &inner.owner).await;
                }
            }
            if n < 500 {
                break;
            }
        }
        if total > 0 {
            tracing::info!(count = total, "resumed executions");
        }
        Ok(total)
    }

    /// Continues a claimed execution.
    async fn adopt(&self, record: ExecutionRecord) -> Result<(), RunnerError> {
        let state: TaskState = serde_json::from_value(record.state.clone())
            .map_err(|e| RunnerError::Internal(format!("unreadable state: {e}")))?;
        let pending: Vec<Command> =
            serde_json::from_value(record.pending.clone()).unwrap_or_default();
        let compiled = self.load(&record.org_id, state.flow()).await?;
        let mut env = self.env_for(&record.org_id, &compiled.program).await?;
        for key in state.programs() {
            if key != state.flow() {
                let c = self.load(&record.org_id, key).await?;
                env.add_program(c.program);
            }
        }
        self.spawn(&record.org_id, &record.id, state, record.step, pending, env);
        Ok(())
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
                let until = inner.clock.now()
                    + chrono::Duration::from_std(inner.config.lease).unwrap_or_default();
                if let Err(e) = inner.store.renew_leases(&inner.owner, until).await {
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
        let tx = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        match tx {
            Some(tx) if tx.send(Msg::Event(event)).is_ok() => Ok(()),
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

    fn spawn(
        &self,
        org: &str,
        id: &str,
        state: TaskState,
        step: i64,
        pending: Vec<Command>,
        env: StaticEnv,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned(), tx);
        let runner = self.clone();
        let org = org.to_owned();
        let id = id.to_owned();
        tokio::spawn(async move {
            let result = runner.actor(&org, &id, state, step, pending, env, rx).await;
            runner
                .inner
                .tasks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            if let Err(e) = result {
                tracing::error!(execution = %id, error = %e, "execution stopped; releasing it");
                let _ = runner
                    .inner
                    .store
                    .release_lease(&id, &runner.inner.owner)
                    .await;
            }
        });
    }

    #[allow(clippy::too_many_arguments)]
    async fn actor(
        &self,
        org: &str,
        id: &str,
        mut state: TaskState,
        step: i64,
        pending: Vec<Command>,
        env: StaticEnv,
        mut rx: mpsc::UnboundedReceiver<Msg>,
    ) -> Result<(), RuntimeError> {
        let inner = &self.inner;
        let functions = StoreFunctionRunner::new(inner.store.clone(), inner.host.clone(), org);
        let checkpoint = StoreCheckpoint {
            store: inner.store.clone(),
            org: org.to_owned(),
            id: id.to_owned(),
            clock: inner.clock,
            progress: Mutex::new((step, pending.clone())),
        };
        let media = ApiCaller;
        let performers = Performers {
            functions: &functions,
            http: &inner.http,
            media: &media,
            router: &inner.router,
            checkpoint: Some(&checkpoint),
        };
        // Answers to commands performed before a restart (or never performed).
        let mut events = Vec::new();
        for c in &pending {
            if let Some(e) = perform(&performers, c).await? {
                events.push(e);
            }
        }
        loop {
            let horizon = inner.clock.now() - state.started_at();
            let options = RunOptions {
                max_steps: inner.config.max_steps,
                horizon: Some(horizon),
            };
            let r = crate::resume(
                &inner.engine,
                &env,
                state,
                std::mem::take(&mut events),
                performers,
                &inner.clock,
                &options,
            )
            .await?;
            state = r.state;
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
            let next = state.next_due();
            let sleep = async {
                match next {
                    Some(due) => inner.clock.sleep_until(due).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Msg::Event(e)) => events.push(e),
                    None => return Ok(()),
                },
                () = sleep => {}
            }
        }
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

/// Writes every step to the store.
struct StoreCheckpoint {
    store: Store,
    org: String,
    id: String,
    clock: SystemClock,
    /// The stored step counter and the pending commands.
    progress: Mutex<(i64, Vec<Command>)>,
}

impl crate::Checkpoint for StoreCheckpoint {
    fn record<'a>(
        &'a self,
        state: &'a TaskState,
        step: &'a StepOutput,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move {
            let (expected, pending) = {
                let p = self.progress.lock().unwrap_or_else(|p| p.into_inner());
                (p.0, pending_after(&p.1, state, step))
            };
            let now = self.clock.now();
            let c = store::Checkpoint {
                expected_step: expected,
                status: status_of(state).to_owned(),
                state: state.to_json(),
                pending: serde_json::to_value(&pending).unwrap_or(Json::Null),
                error: error_of(state),
                finished_at: state.is_finished().then_some(now),
                timers: timers_of(state),
                trace: step
                    .trace
                    .iter()
                    .map(|t| serde_json::to_value(t).unwrap_or(Json::Null))
                    .collect(),
                at: now,
            };
            let written = self
                .store
                .checkpoint_execution(&self.org, &self.id, &c)
                .await?;
            *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = (written.step, pending);
            Ok(())
        })
    }
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

/// The store status of a task: `waiting`, `completed`, `failed` or `cancelled`.
pub fn status_of(state: &TaskState) -> &'static str {
    match state.status() {
        Status::Waiting => "waiting",
        Status::Completed {
            outcome: Outcome::Cancelled { .. },
        } => "cancelled",
        Status::Completed { .. } => "completed",
        Status::Failed { .. } => "failed",
    }
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
