//! The driver loop: start a task, perform each step's commands through the
//! [`Performers`], feed the answers back, fire timers through the [`Clock`], until the task
//! finishes or parks. See the crate documentation for the order of things.
//!
//! Ordering rules, so runs are reproducible:
//! - commands are performed in the order the engine emitted them, one at a time; their
//!   answers are queued and delivered in that order, one engine step each;
//! - with no answer queued, the earliest pending timer fires (ties by id), unless the
//!   caller's timed hang-up comes first (or at the same time);
//! - with no timer pending either, the caller's untimed hang-up is delivered; otherwise
//!   the task is parked and the run stops.

use std::collections::VecDeque;
use std::sync::Arc;

use engine::{Command, Engine, Env, Event, Program, Start, StepOutput, TaskState, TraceRecord};

use crate::media::{CallerAction, Hangup};
use crate::{BoxFuture, Clock, FunctionRunner, HttpClient, MediaPort, Router, RuntimeError};

/// What performs the engine's commands.
#[derive(Clone, Copy)]
pub struct Performers<'a> {
    pub functions: &'a dyn FunctionRunner,
    pub http: &'a dyn HttpClient,
    pub media: &'a dyn MediaPort,
    pub router: &'a dyn Router,
    /// Told about every step before its commands are performed (a durable runner stores
    /// the state, the commands and the trace there); `None`: nothing is recorded.
    pub checkpoint: Option<&'a dyn Checkpoint>,
}

/// Records a task's progress: called after every engine step (the start included) and
/// before any of the step's commands is performed — the engine's recipe, step 2. An `Err`
/// stops the run before anything of the step is done.
pub trait Checkpoint: Send + Sync {
    fn record<'a>(
        &'a self,
        state: &'a TaskState,
        step: &'a StepOutput,
    ) -> BoxFuture<'a, Result<(), RuntimeError>>;
}

/// Limits of one run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Engine steps (events delivered) before the run gives up with [`Stop::StepLimit`].
    /// The engine's own step budget (activity executions) normally stops a runaway flow
    /// first; this bounds the driver whatever the flow does.
    pub max_steps: usize,
    /// Call time (since the task started) after which nothing more is fired: a timer or a
    /// scheduled hang-up due later leaves the task parked. `None`: no limit. Offline runs
    /// set one so a flow that holds a caller in a music loop stops after a while.
    pub horizon: Option<chrono::Duration>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            max_steps: 100_000,
            horizon: None,
        }
    }
}

/// Why a run stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The task completed or failed (see its status).
    Finished,
    /// The task waits for something the performers did not answer (an agent, a reply that
    /// comes later); `waiting` says what, one entry per wait point.
    Parked { waiting: Vec<String> },
    /// [`RunOptions::max_steps`] ran out.
    StepLimit { steps: usize },
}

/// A run's result: the task as it stands, and everything that happened.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub state: TaskState,
    /// Every trace record of every step, in order.
    pub trace: Vec<TraceRecord>,
    /// Every command the engine emitted, in order.
    pub commands: Vec<Command>,
    /// Every event delivered after the start, in order.
    pub events: Vec<Event>,
    /// Why events were ignored (stale or duplicate answers), if any were.
    pub ignored: Vec<String>,
    pub stop: Stop,
}

/// Starts a task of `program` and drives it until it finishes or parks, with the default
/// [`RunOptions`].
pub async fn run_to_completion(
    engine: &Engine,
    env: &(dyn Env + Sync),
    program: &Arc<Program>,
    start: Start,
    performers: Performers<'_>,
    clock: &dyn Clock,
) -> Result<RunResult, RuntimeError> {
    run_with(
        engine,
        env,
        program,
        start,
        performers,
        clock,
        &RunOptions::default(),
    )
    .await
}

/// [`run_to_completion`] with explicit limits.
pub async fn run_with(
    engine: &Engine,
    env: &(dyn Env + Sync),
    program: &Arc<Program>,
    start: Start,
    performers: Performers<'_>,
    clock: &dyn Clock,
    options: &RunOptions,
) -> Result<RunResult, RuntimeError> {
    let mut run = Run::new(engine, env, performers, clock, options);
    let (mut state, out) = engine.start(env, program, start, clock.now())?;
    run.absorb(&state, out).await?;
    let stop = run.drive(&mut state).await?;
    Ok(run.finish(state, stop))
}

/// Continues a task (parked, or loaded from a checkpoint) by delivering `events` in order,
/// then driving it as [`run_to_completion`] does. The result holds only what happened in
/// this continuation.
pub async fn resume(
    engine: &Engine,
    env: &(dyn Env + Sync),
    mut state: TaskState,
    events: Vec<Event>,
    performers: Performers<'_>,
    clock: &dyn Clock,
    options: &RunOptions,
) -> Result<RunResult, RuntimeError> {
    let mut run = Run::new(engine, env, performers, clock, options);
    run.queue.extend(events);
    let stop = run.drive(&mut state).await?;
    Ok(run.finish(state, stop))
}

struct Run<'a> {
    engine: &'a Engine,
    env: &'a (dyn Env + Sync),
    p: Performers<'a>,
    clock: &'a dyn Clock,
    max_steps: usize,
    horizon: Option<chrono::Duration>,
    steps: usize,
    queue: VecDeque<Event>,
    trace: Vec<TraceRecord>,
    commands: Vec<Command>,
    events: Vec<Event>,
    ignored: Vec<String>,
}

impl<'a> Run<'a> {
    fn new(
        engine: &'a Engine,
        env: &'a (dyn Env + Sync),
        p: Performers<'a>,
        clock: &'a dyn Clock,
        options: &RunOptions,
    ) -> Run<'a> {
        Run {
            engine,
            env,
            p,
            clock,
            max_steps: options.max_steps,
            horizon: options.horizon,
            steps: 0,
            queue: VecDeque::new(),
            trace: Vec::new(),
            commands: Vec::new(),
            events: Vec::new(),
            ignored: Vec::new(),
        }
    }

    fn finish(self, state: TaskState, stop: Stop) -> RunResult {
        RunResult {
            state,
            trace: self.trace,
            commands: self.commands,
            events: self.events,
            ignored: self.ignored,
            stop,
        }
    }

    async fn drive(&mut self, state: &mut TaskState) -> Result<Stop, RuntimeError> {
        loop {
            if state.is_finished() {
                return Ok(Stop::Finished);
            }
            if self.steps >= self.max_steps {
                return Ok(Stop::StepLimit { steps: self.steps });
            }
            let event = match self.queue.pop_front() {
                Some(e) => e,
                None => match self.unprompted(state).await {
                    Some(e) => e,
                    None => {
                        return Ok(Stop::Parked {
                            waiting: describe_waits(state),
                        })
                    }
                },
            };
            self.steps += 1;
            self.events.push(event.clone());
            let out = self.engine.step(self.env, state, event, self.clock.now())?;
            self.absorb(state, out).await?;
        }
    }

    /// The next thing that happens without an answer queued: a timer or the caller.
    async fn unprompted(&mut self, state: &TaskState) -> Option<Event> {
        let timer = state
            .pending_timers()
            .iter()
            .min_by_key(|t| (t.due, t.id))
            .map(|t| (t.id, t.due));
        let hangup = self.p.media.pending_hangup();
        // A hang-up too far away to represent never comes.
        let hangup_at = match hangup {
            Some(Hangup::After(d)) => chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| state.started_at().checked_add_signed(d)),
            _ => None,
        };
        // (when, the timer to fire; None: the caller hangs up)
        let next = match (timer, hangup_at) {
            (Some((_, due)), Some(at)) if at <= due => Some((at, None)),
            (None, Some(at)) => Some((at, None)),
            (Some((id, due)), _) => Some((due, Some(id))),
            (None, None) => None,
        };
        let Some((at, timer)) = next else {
            if hangup == Some(Hangup::WhenIdle) {
                self.p.media.hangup_delivered();
                return Some(Event::CallerHangup);
            }
            return None;
        };
        if let Some(h) = self.horizon {
            if state
                .started_at()
                .checked_add_signed(h)
                .is_some_and(|limit| at > limit)
            {
                return None;
            }
        }
        self.clock.sleep_until(at).await;
        Some(match timer {
            Some(id) => Event::TimerFired { id },
            None => {
                self.p.media.hangup_delivered();
                Event::CallerHangup
            }
        })
    }

    async fn absorb(&mut self, state: &TaskState, out: StepOutput) -> Result<(), RuntimeError> {
        if let Some(c) = self.p.checkpoint {
            c.record(state, &out).await?;
        }
        self.trace.extend(out.trace);
        if let Some(why) = out.ignored {
            tracing::debug!(%why, "event ignored");
            self.ignored.push(why);
        }
        for command in out.commands {
            if let Some(answer) = self.perform(&command).await? {
                self.queue.push_back(answer);
            }
            self.commands.push(command);
        }
        Ok(())
    }

    /// Performs one command; the answer, for commands that get one now.
    async fn perform(&self, command: &Command) -> Result<Option<Event>, RuntimeError> {
        Ok(match command {
            Command::HttpRequest(r) => Some(self.p.http.send(r).await.into_event(r.id)),
            Command::InvokeFunction(f) => Some(Event::FunctionResult {
                id: f.id,
                result: self.p.functions.invoke(f).await?,
            }),
            // The state keeps pending timers; `unprompted` fires them.
            Command::StartTimer { .. } | Command::CancelTimer { .. } => None,
            Command::PlayPrompt(_) | Command::PlayMusic { .. } => {
                self.p.media.play(command);
                None
            }
            Command::CollectDigits(c) => match self.p.media.collect(c).await {
                CallerAction::Digits(digits) => Some(Event::CallerInput { digits }),
                CallerAction::Hangup => Some(Event::CallerHangup),
                CallerAction::Silence => None,
            },
            Command::QueueContact(_)
            | Command::QueueToAgent(_)
            | Command::GetQueueInfo { .. }
            | Command::AdvancedQueueInfo { .. }
            | Command::EscalateCdg { .. }
            | Command::BreRequest(_) => {
                let id = command.request_id();
                match (id, self.p.router.request(command).await) {
                    (Some(id), Some(result)) => Some(Event::Reply { id, result }),
                    _ => None,
                }
            }
            Command::SetPriority { .. }
            | Command::ScreenPop(_)
            | Command::Transfer { .. }
            | Command::Disconnect
            | Command::GoTo { .. }
            | Command::EmitEvent { .. } => {
                self.p.router.notify(command);
                None
            }
            Command::End { .. } => None,
        })
    }
}

/// One line per wait point: `Node (flow) waits for ...`.
fn describe_waits(state: &TaskState) -> Vec<String> {
    use engine::WaitOn;
    let mut out: Vec<String> = state
        .threads()
        .iter()
        .filter_map(|t| {
            let wait = t.wait.as_ref()?;
            let node = t.stack.last().map(|f| f.at.to_string()).unwrap_or_default();
            let what = match &wait.on {
                WaitOn::Timer { timer } => {
                    match state.pending_timers().iter().find(|t| t.id == *timer) {
                        Some(t) => format!(
                            "a timer due at {}",
                            crate::report::offset((t.due - state.started_at()).num_milliseconds())
                        ),
                        None => "a timer".to_owned(),
                    }
                }
                WaitOn::Http { .. } => "an HTTP response".to_owned(),
                WaitOn::Function { .. } => "a function result".to_owned(),
                WaitOn::Reply { .. } => "a routing reply".to_owned(),
                WaitOn::Digits { .. } => "caller input".to_owned(),
            };
            Some(format!("{node} waits for {what}"))
        })
        .collect();
    if out.is_empty() {
        let routing = state.routing();
        out.push(match (&routing.agent, &routing.queue) {
            (Some(agent), _) => format!("the contact is with agent {agent}"),
            (None, Some(queue)) => {
                format!("the contact is queued in {queue}, waiting for an agent")
            }
            (None, None) => "listening for contact events".to_owned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server spawns runs on tokio's multi-threaded runtime.
    #[test]
    fn runs_are_send() {
        fn is_send<T: Send>(_: &T) {}
        let engine = Engine::default();
        let env = engine::StaticEnv::new();
        let functions = crate::MockFunctions::new();
        let http = crate::OfflineHttp;
        let media = crate::ScriptedCaller::silent();
        let router = crate::LocalRouter::new();
        let clock = crate::SystemClock;
        let p = Performers {
            functions: &functions,
            http: &http,
            media: &media,
            router: &router,
            checkpoint: None,
        };
        let options = RunOptions::default();
        let state: Option<TaskState> = None;
        if let Some(state) = state {
            let fut = resume(&engine, &env, state, Vec::new(), p, &clock, &options);
            is_send(&fut);
        }
    }
}
