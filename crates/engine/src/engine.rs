//! [`Engine`]: starts tasks and steps them with events. The interpreter loop lives here:
//! run activities until every thread of the task is parked or finished, follow ports,
//! route failures, call and return from subflows, run event flow handlers, count steps.
//!
//! Failure routing (in this order): the activity's error port (its edge, else the node's
//! `default` edge); inside a subflow, the caller's subflow node fails with SUBFLOW_ERROR
//! (and routes the same way there); otherwise the event flow bound to GlobalErrorHandling
//! runs as a new thread (the failing thread ends); without one (or when the error handler
//! itself fails), the task fails with the error recorded. A failure of an activity with no
//! error port skips the first step. Exceeding the step budget skips error ports and
//! subflow exits: it goes straight to the global error handler, which gets a few grace
//! steps; overrunning those too fails the task.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use minijinja::Value;
use serde::{Deserialize, Serialize};

use crate::activities::Activity;
use crate::command::Command;
use crate::env::Env;
use crate::event::{Event, Start};
use crate::program::{Program, ProgramKey, GLOBAL_ERROR_EVENT};
use crate::run::{Cx, End, Failure, Outcome};
use crate::state::{
    FlowError, Frame, Outcome as TaskOutcome, Routing, Scope, Status, TaskState, Thread, Vars,
    Wait, WaitOn,
};
use crate::trace::{Capture, Phase, Step, Trace, TraceLevel, MASK};
use crate::value::{coerce, from_json, record};

pub use crate::activities::http_request::HttpPolicy;

/// Engine settings (typed; the binary reads them from configuration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EngineConfig {
    /// Activity executions a task may make (all threads together).
    pub step_budget: u32,
    /// Extra executions granted to the global error handler after the budget overran.
    pub error_grace_steps: u32,
    pub trace: TraceLevel,
    /// Which addresses http-request may call.
    pub http: HttpPolicy,
    /// Subflow calls may nest this deep.
    pub max_subflow_depth: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            step_budget: 10_000,
            error_grace_steps: 100,
            trace: TraceLevel::Full,
            http: HttpPolicy::default(),
            max_subflow_depth: 16,
        }
    }
}

/// What one step produced.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StepOutput {
    /// To perform in order.
    pub commands: Vec<Command>,
    /// One record per activity execution (completed or parked).
    pub trace: Trace,
    /// Why the event changed nothing (a stale or duplicate answer, a finished task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

/// An infrastructure problem: the step could not run at all. Activity failures are never
/// `Err`; they are data in the task (error ports, the global error event, a failed task).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("program {0} is not available to the engine")]
    ProgramMissing(ProgramKey),
    #[error("the task's state does not fit program {key}: {message}")]
    CorruptState { key: ProgramKey, message: String },
    #[error("cannot start the task: {0}")]
    InvalidStart(String),
}

/// The interpreter. Cheap to share; holds only its configuration.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    config: EngineConfig,
}

/// What the next loop iteration does.
enum Entry {
    /// Run a node (`trigger`: the event that started the thread, for event nodes).
    Node { node: u32, trigger: Option<Value> },
    /// Resume the top frame's waiting node with an event.
    Resume { wait: Wait, event: Event },
    /// The top frame's waiting node fails (an injected fault).
    Fail {
        failure: Failure,
        since: DateTime<Utc>,
    },
    /// A subflow returned to the top frame's subflow node.
    Returned {
        result: Result<Scope, FlowError>,
        callee: Arc<Program>,
        since: DateTime<Utc>,
    },
}

/// How a thread stopped running.
enum Exit {
    Waiting,
    Ended,
    Unhandled(FlowError),
    TaskEnd(TaskOutcome),
}

const BUDGET_CODE: &str = "STEP_BUDGET_EXCEEDED";

/// Contact events that can still fire once an agent has answered.
const AFTER_ANSWER: &[&str] = &[
    "AgentDisconnected",
    "ContactEnded",
    "PhoneContactEnded",
    "WorkItemDataUpdated",
    "CallbackFailed",
];

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        Engine { config }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Creates a task of `program` and runs it to its first wait point (or its end).
    pub fn start(
        &self,
        env: &dyn Env,
        program: &Arc<Program>,
        start: Start,
        now: DateTime<Utc>,
    ) -> Result<(TaskState, StepOutput), EngineError> {
        let start_node = program.start.ok_or_else(|| {
            EngineError::InvalidStart(format!("flow '{}' has no start node", program.name))
        })?;
        let mut vars = program.fresh_vars();
        for (name, v) in &start.variables {
            let (slot, def) = program.var(name).ok_or_else(|| {
                EngineError::InvalidStart(format!(
                    "flow '{}' has no variable '{name}'",
                    program.name
                ))
            })?;
            let value = coerce(from_json(v), def.ty)
                .map_err(|e| EngineError::InvalidStart(format!("variable '{name}': {e}")))?;
            vars.set_slot(slot, &def.name, value);
        }
        let mut state = TaskState {
            flow: program.key.clone(),
            status: Status::Waiting,
            started_at: now,
            contact: if start.outputs.is_empty() {
                crate::expr::empty_map()
            } else {
                crate::value::json_view(serde_json::Value::Object(start.outputs))
            },
            root: Scope {
                vars,
                outputs: Vars::new(),
            },
            globals: Vars::from_pairs(
                start
                    .globals
                    .iter()
                    .map(|(k, v)| (k.as_str(), from_json(v))),
            ),
            secure_globals: start.secure_globals,
            threads: Vec::new(),
            timers: Vec::new(),
            steps: 0,
            grace: false,
            rng: start.seed,
            next_id: 1,
            next_thread: 1,
            routing: Routing::default(),
            listening: false,
            ended: None,
            faults: start.faults,
            error: None,
        };
        let mut r = Runner::new(&self.config, env, now, program.clone());
        let thread = Thread {
            id: 0,
            handler: None,
            stack: vec![Frame {
                flow: None,
                node: start_node,
                at: program.node(start_node).name.clone(),
                scope: None,
                called_at: None,
            }],
            wait: None,
        };
        r.run(
            &mut state,
            thread,
            Entry::Node {
                node: start_node,
                trigger: None,
            },
        )?;
        r.settle(&mut state);
        Ok((state, r.out))
    }

    /// Feeds one event to a task and runs it to its next wait points (or its end).
    pub fn step(
        &self,
        env: &dyn Env,
        state: &mut TaskState,
        event: Event,
        now: DateTime<Utc>,
    ) -> Result<StepOutput, EngineError> {
        let root = env
            .program(&state.flow)
            .ok_or_else(|| EngineError::ProgramMissing(state.flow.clone()))?;
        let mut r = Runner::new(&self.config, env, now, root);
        if state.is_finished() {
            r.out.ignored = Some(format!("{}: the task has finished", event.label()));
            return Ok(r.out);
        }
        r.dispatch(state, event)?;
        r.settle(state);
        Ok(r.out)
    }
}

struct Runner<'e> {
    config: &'e EngineConfig,
    env: &'e dyn Env,
    now: DateTime<Utc>,
    root: Arc<Program>,
    /// Subflow programs used during this step.
    cache: Vec<Arc<Program>>,
    out: StepOutput,
}

impl<'e> Runner<'e> {
    fn new(
        config: &'e EngineConfig,
        env: &'e dyn Env,
        now: DateTime<Utc>,
        root: Arc<Program>,
    ) -> Self {
        Runner {
            config,
            env,
            now,
            root,
            cache: Vec::new(),
            out: StepOutput {
                commands: Vec::with_capacity(4),
                trace: match config.trace {
                    TraceLevel::Off => Trace::default(),
                    TraceLevel::Path => Trace::with_capacity(8, 0),
                    TraceLevel::Full => Trace::with_capacity(8, 16),
                },
                ignored: None,
            },
        }
    }

    fn ignore(&mut self, why: String) {
        self.out.ignored = Some(why);
    }

    fn program(&mut self, key: Option<&ProgramKey>) -> Result<Arc<Program>, EngineError> {
        let Some(key) = key else {
            return Ok(self.root.clone());
        };
        if let Some(p) = self.cache.iter().find(|p| p.key == *key) {
            return Ok(p.clone());
        }
        let p = self
            .env
            .program(key)
            .ok_or_else(|| EngineError::ProgramMissing(key.clone()))?;
        self.cache.push(p.clone());
        Ok(p)
    }

    fn dispatch(&mut self, state: &mut TaskState, event: Event) -> Result<(), EngineError> {
        match &event {
            Event::TimerFired { id } => {
                let id = *id;
                let Some(pos) = state.timers.iter().position(|t| t.id == id) else {
                    self.ignore(format!("{}: no such pending timer", event.label()));
                    return Ok(());
                };
                state.timers.remove(pos);
                self.resume(state, event, |w| matches!(w, WaitOn::Timer { timer } | WaitOn::Digits { timer, .. } if *timer == id))
            }
            Event::HttpResponse { id, .. } | Event::HttpFailed { id, .. } => {
                let id = *id;
                self.resume(state, event, |w| *w == WaitOn::Http { request: id })
            }
            Event::FunctionResult { id, .. } => {
                let id = *id;
                self.resume(state, event, |w| *w == WaitOn::Function { request: id })
            }
            Event::Reply { id, .. } => {
                let id = *id;
                self.resume(state, event, |w| *w == WaitOn::Reply { request: id })
            }
            Event::CallerInput { .. } => {
                self.resume(state, event, |w| matches!(w, WaitOn::Digits { .. }))
            }
            Event::CallerHangup => {
                let secs = (self.now - state.started_at).num_seconds();
                let at = crate::value::format_datetime(self.now);
                let phone = record([
                    ("disconnectedBy", Value::from("caller")),
                    ("callDuration", Value::from(secs)),
                    ("endedTimestamp", Value::from(at.clone())),
                ]);
                let contact = record([
                    ("endedBy", Value::from("customer")),
                    ("endReason", Value::from("caller hung up")),
                    ("endedTimestamp", Value::from(at)),
                ]);
                self.contact_ended(
                    state,
                    "customer",
                    vec![("PhoneContactEnded", phone), ("ContactEnded", contact)],
                )
            }
            Event::Notify {
                event: name,
                outputs,
            } => {
                let outputs = from_json(&serde_json::Value::Object(outputs.clone()));
                self.notify(state, name, outputs)
            }
            Event::FaultInjected {
                node,
                code,
                message,
            } => {
                let message = if message.is_empty() {
                    format!("Node '{node}': fault injected")
                } else {
                    message.clone()
                };
                let failure = Failure::new(code.clone(), message.clone());
                let waiting = state.threads.iter().position(|t| {
                    t.wait.is_some() && t.stack.last().is_some_and(|f| *f.at == **node)
                });
                match waiting {
                    Some(pos) => {
                        let mut thread = state.threads.remove(pos);
                        let Some(wait) = thread.wait.take() else {
                            return Ok(());
                        };
                        self.abandon(state, &wait.on);
                        self.run(
                            state,
                            thread,
                            Entry::Fail {
                                failure,
                                since: wait.since,
                            },
                        )
                    }
                    None => {
                        state.faults.push(crate::state::Fault {
                            node: node.clone(),
                            code: code.clone(),
                            message,
                        });
                        Ok(())
                    }
                }
            }
            Event::Cancel { reason } => {
                self.finish(
                    state,
                    Status::Completed {
                        outcome: TaskOutcome::Cancelled {
                            reason: reason.clone(),
                        },
                    },
                );
                Ok(())
            }
        }
    }

    /// Resumes the thread whose wait matches.
    fn resume(
        &mut self,
        state: &mut TaskState,
        event: Event,
        matches: impl Fn(&WaitOn) -> bool,
    ) -> Result<(), EngineError> {
        let Some(pos) = state
            .threads
            .iter()
            .position(|t| t.wait.as_ref().is_some_and(|w| matches(&w.on)))
        else {
            self.ignore(format!("{}: nothing waits for it", event.label()));
            return Ok(());
        };
        let mut thread = state.threads.remove(pos);
        let Some(wait) = thread.wait.take() else {
            return Ok(());
        };
        self.run(state, thread, Entry::Resume { wait, event })
    }

    /// Cancels the timer a wait holds.
    fn abandon(&mut self, state: &mut TaskState, on: &WaitOn) {
        if let WaitOn::Timer { timer } | WaitOn::Digits { timer, .. } = on {
            if let Some(i) = state.timers.iter().position(|t| t.id == *timer) {
                state.timers.remove(i);
                self.out.commands.push(Command::CancelTimer { id: *timer });
            }
        }
    }

    /// Cancels every timer a thread holds.
    fn drop_thread_timers(&mut self, state: &mut TaskState, thread: u32) {
        let mut i = 0;
        while i < state.timers.len() {
            if state.timers[i].thread == thread {
                let t = state.timers.remove(i);
                self.out.commands.push(Command::CancelTimer { id: t.id });
            } else {
                i += 1;
            }
        }
    }

    fn notify(
        &mut self,
        state: &mut TaskState,
        name: &str,
        outputs: Value,
    ) -> Result<(), EngineError> {
        if name == GLOBAL_ERROR_EVENT {
            self.ignore(format!(
                "Notify {name}: the engine raises this event itself"
            ));
            return Ok(());
        }
        match name {
            "ContactEnded" | "PhoneContactEnded" => {
                let by = ["endedBy", "disconnectedBy"]
                    .iter()
                    .find_map(|k| {
                        outputs
                            .get_attr(k)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                    })
                    .unwrap_or_else(|| "system".to_owned());
                return self.contact_ended(state, &by, vec![(name, outputs)]);
            }
            "AgentAnswered" => {
                let agent = outputs
                    .get_attr("agentId")
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                state.routing.agent = Some(agent.clone());
                // The contact is with an agent: the main flow no longer controls it.
                if let Some(pos) = state.threads.iter().position(|t| t.handler.is_none()) {
                    let t = state.threads.remove(pos);
                    self.drop_thread_timers(state, t.id);
                }
                state.ended = Some(TaskOutcome::AgentConnected { agent_id: agent });
            }
            _ => {}
        }
        match self.root.handler(name) {
            Some(node) => self.spawn(state, name, node, outputs),
            None => {
                if name != "AgentAnswered" {
                    self.ignore(format!("Notify {name}: no event flow handles it"));
                }
                Ok(())
            }
        }
    }

    /// The contact is gone: every thread stops, then the handlers of the given events run.
    fn contact_ended(
        &mut self,
        state: &mut TaskState,
        ended_by: &str,
        events: Vec<(&str, Value)>,
    ) -> Result<(), EngineError> {
        state.routing.ended = true;
        state.listening = false;
        for t in std::mem::take(&mut state.threads) {
            self.drop_thread_timers(state, t.id);
        }
        state.ended = Some(TaskOutcome::ContactEnded {
            ended_by: ended_by.to_owned(),
        });
        for (name, outputs) in events {
            if state.is_finished() {
                break;
            }
            if let Some(node) = self.root.handler(name) {
                self.spawn(state, name, node, outputs)?;
            }
        }
        Ok(())
    }

    /// Starts an event flow handler thread.
    fn spawn(
        &mut self,
        state: &mut TaskState,
        event: &str,
        node: u32,
        outputs: Value,
    ) -> Result<(), EngineError> {
        let id = state.next_thread;
        state.next_thread += 1;
        let thread = Thread {
            id,
            handler: Some(event.to_owned()),
            stack: vec![Frame {
                flow: None,
                node,
                at: self.root.node(node).name.clone(),
                scope: None,
                called_at: None,
            }],
            wait: None,
        };
        self.run(
            state,
            thread,
            Entry::Node {
                node,
                trigger: Some(outputs),
            },
        )
    }

    /// Runs a thread until it parks or stops, then files it.
    fn run(
        &mut self,
        state: &mut TaskState,
        mut thread: Thread,
        entry: Entry,
    ) -> Result<(), EngineError> {
        let mut root = std::mem::take(&mut state.root);
        let exit = self.drive(state, &mut root, &mut thread, entry);
        state.root = root;
        match exit? {
            Exit::Waiting => {
                let pos = state.threads.partition_point(|t| t.id < thread.id);
                state.threads.insert(pos, thread);
            }
            Exit::Ended => {
                self.drop_thread_timers(state, thread.id);
                if thread.handler.is_none() && state.ended.is_none() {
                    state.ended = Some(TaskOutcome::Ended);
                }
            }
            Exit::TaskEnd(outcome) => self.finish(state, Status::Completed { outcome }),
            Exit::Unhandled(error) => self.unhandled(state, thread, error)?,
        }
        Ok(())
    }

    /// An error nothing in the flow handled: the global error handler, or failure.
    fn unhandled(
        &mut self,
        state: &mut TaskState,
        thread: Thread,
        error: FlowError,
    ) -> Result<(), EngineError> {
        self.drop_thread_timers(state, thread.id);
        state.error = Some(Box::new(error.clone()));
        if thread.handler.is_none() && state.ended.is_none() {
            state.ended = Some(TaskOutcome::Ended);
        }
        let budget = error.code == BUDGET_CODE;
        let in_handler = thread.handler.as_deref() == Some(GLOBAL_ERROR_EVENT);
        let handler = self
            .root
            .handler(GLOBAL_ERROR_EVENT)
            .filter(|_| !(in_handler || (budget && state.grace)));
        self.out.commands.push(Command::EmitEvent {
            name: "flow.error".to_owned(),
            payload: serde_json::json!({
                "code": error.code,
                "message": error.message,
                "flow": error.flow,
                "node": error.node,
                "activity": error.activity,
                "handled": handler.is_some(),
            }),
        });
        match handler {
            Some(node) => {
                if budget {
                    state.grace = true;
                }
                let outputs = record([
                    ("errorCode", Value::from(error.code.clone())),
                    ("errorMessage", Value::from(error.message.clone())),
                    ("errorNodeName", Value::from(error.node.clone())),
                    ("errorActivityName", Value::from(error.activity.clone())),
                    (
                        "errorTimestamp",
                        Value::from(crate::value::format_datetime(error.at)),
                    ),
                ]);
                self.spawn(state, GLOBAL_ERROR_EVENT, node, outputs)
            }
            None => {
                self.finish(
                    state,
                    Status::Failed {
                        error: Box::new(error),
                    },
                );
                Ok(())
            }
        }
    }

    /// Ends the task: cancels its timers and threads, records the status.
    fn finish(&mut self, state: &mut TaskState, status: Status) {
        if state.is_finished() {
            return;
        }
        for t in std::mem::take(&mut state.timers) {
            self.out.commands.push(Command::CancelTimer { id: t.id });
        }
        state.threads.clear();
        state.listening = false;
        state.ended = None;
        state.status = status.clone();
        self.out.commands.push(Command::End { status });
    }

    /// After an event: completes the task when nothing runs or listens any more.
    fn settle(&mut self, state: &mut TaskState) {
        if state.is_finished() || !state.threads.is_empty() {
            return;
        }
        let contact_here = !state.routing.ended
            && (state.routing.queue.is_some() || state.routing.agent.is_some());
        // Events that can still happen to the contact: with an agent, only the later ones.
        let still_possible = |e: &str| match state.routing.agent {
            Some(_) => AFTER_ANSWER.contains(&e),
            None => e != GLOBAL_ERROR_EVENT,
        };
        let listens = self.root.handlers.iter().any(|(e, _)| still_possible(e));
        if contact_here && listens {
            state.listening = true;
            return;
        }
        let outcome = state.ended.take().unwrap_or(TaskOutcome::Ended);
        self.finish(state, Status::Completed { outcome });
    }

    /// The interpreter loop for one thread.
    fn drive(
        &mut self,
        state: &mut TaskState,
        root: &mut Scope,
        thread: &mut Thread,
        entry: Entry,
    ) -> Result<Exit, EngineError> {
        let mut entry = entry;
        let full = self.config.trace == TraceLevel::Full;
        // The top frame's program, looked up again only when a call or a return changes
        // the stack's depth (each iteration pushes or pops at most one frame), not on every
        // step.
        let mut program = match thread.stack.last() {
            Some(frame) => self.program(frame.flow.as_ref())?,
            None => return Ok(Exit::Ended),
        };
        let mut program_depth = thread.stack.len() as u32;
        loop {
            let depth = thread.stack.len() as u32;
            let Some(frame) = thread.stack.last_mut() else {
                return Ok(Exit::Ended);
            };
            if depth != program_depth {
                program = self.program(frame.flow.as_ref())?;
                program_depth = depth;
            }
            let frame_node = frame.node;
            if (frame_node as usize) >= program.nodes.len()
                || *program.node(frame_node).name != *frame.at
            {
                return Err(EngineError::CorruptState {
                    key: program.key.clone(),
                    message: format!(
                        "frame at node #{frame_node} '{}' does not match the program",
                        frame.at
                    ),
                });
            }
            let scope: &mut Scope = match frame.scope.as_deref_mut() {
                Some(s) => s,
                None => &mut *root,
            };
            // This node's recorded fields start here in the step's trace.
            let fields_from = self.out.trace.fields.len();
            let mut held_wait: Option<Wait> = None;

            let thread_id = thread.id;
            macro_rules! cx {
                ($node:expr, $trigger:expr) => {
                    Cx {
                        now: self.now,
                        node: program.node($node),
                        scope: &mut *scope,
                        task: &mut *state,
                        thread: thread_id,
                        depth,
                        env: self.env,
                        config: self.config,
                        commands: &mut self.out.commands,
                        capture: full.then(|| Capture {
                            fields: &mut self.out.trace.fields,
                            masked: false,
                        }),
                        trigger: $trigger,
                        outputs: None,
                    }
                };
            }
            let (idx, started, outcome, outputs, masked) = match entry {
                Entry::Node { node, trigger } => {
                    let mut cx = cx!(node, trigger);
                    cx.task.steps += 1;
                    let limit = self.config.step_budget
                        + if cx.task.grace {
                            self.config.error_grace_steps
                        } else {
                            0
                        };
                    let outcome = if cx.task.steps > limit {
                        Outcome::Fail(Failure::new(
                            BUDGET_CODE,
                            format!(
                                "The task exceeded its step budget of {limit} activity executions at node '{}' (a loop that never ends?)",
                                cx.node.name
                            ),
                        ))
                    } else if let Some(f) = take_fault(cx.task, &cx.node.name) {
                        Outcome::Fail(f)
                    } else {
                        cx.node.activity.run(&mut cx)
                    };
                    let masked = cx.masked();
                    (node, self.now, outcome, cx.outputs, masked)
                }
                Entry::Resume { wait, event } => {
                    let mut cx = cx!(frame_node, None);
                    let outcome = cx.node.activity.resume(&mut cx, &wait.on, &event);
                    let masked = cx.masked();
                    let outputs = cx.outputs;
                    let since = wait.since;
                    held_wait = Some(wait);
                    (frame_node, since, outcome, outputs, masked)
                }
                Entry::Fail { failure, since } => {
                    (frame_node, since, Outcome::Fail(failure), None, false)
                }
                Entry::Returned {
                    result,
                    callee,
                    since,
                } => {
                    let mut cx = cx!(frame_node, None);
                    let outcome = match &cx.node.activity {
                        Activity::Subflow(c) => {
                            crate::activities::subflow::returned(c, &mut cx, result, &callee)
                        }
                        _ => Outcome::fail(
                            "SUBFLOW_ERROR",
                            "a subflow returned to a node that is not a subflow node",
                        ),
                    };
                    let masked = cx.masked();
                    (frame_node, since, outcome, cx.outputs, masked)
                }
            };
            let nd = program.node(idx);

            if let Outcome::Ignore(why) = outcome {
                self.out.trace.fields.truncate(fields_from);
                thread.wait = held_wait;
                self.ignore(why);
                return Ok(Exit::Waiting);
            }

            let failed = match &outcome {
                Outcome::Fail(f) => Some(FlowError {
                    code: f.code.to_string(),
                    message: f.message.clone(),
                    flow: program.name.to_string(),
                    node: nd.name.to_string(),
                    activity: nd.activity_name.to_string(),
                    at: self.now,
                }),
                _ => None,
            };
            // Nodes with an error port expose errorCode/errorMessage, empty on success
            // (`set_outputs` adds those), when anything reads the outputs.
            let wanted = nd.keep_outputs || full;
            let outputs = match (&nd.error_port, &failed) {
                (Some(_), Some(e)) if wanted => Some(with_error(outputs, &e.code, &e.message)),
                (Some(_), None)
                    if wanted
                        && outputs.is_none()
                        && !matches!(outcome, Outcome::Wait(_) | Outcome::Call(_)) =>
                {
                    Some(with_error(None, "", ""))
                }
                _ => outputs,
            };
            if nd.keep_outputs {
                if let Some(o) = &outputs {
                    scope.outputs.set(nd.name.clone(), o.clone());
                }
            }
            let rec = |me: &mut Self,
                       phase: Phase,
                       port: Option<Cow<'static, str>>,
                       next: Option<u32>,
                       error: Option<FlowError>| {
                me.record(
                    thread_id,
                    &program,
                    depth,
                    idx,
                    phase,
                    started,
                    fields_from,
                    masked,
                    outputs.as_ref(),
                    port,
                    next,
                    error,
                );
            };

            match outcome {
                // A port or a branch value: record the step, then follow the edge it selects
                // (or finish the frame when there is none).
                Outcome::Port(_) | Outcome::Branch(..) => {
                    let (p, next) = match &outcome {
                        Outcome::Branch(p, value) => (*p, nd.exits.branch(p, value)),
                        Outcome::Port(p) => (*p, nd.exits.port(p)),
                        _ => unreachable!("matched above"),
                    };
                    rec(self, Phase::Completed, Some(Cow::Borrowed(p)), next, None);
                    match next {
                        Some(n) => {
                            entry = Entry::Node {
                                node: n,
                                trigger: None,
                            }
                        }
                        None => match self.frame_done(thread, Ok(()), &program)? {
                            Some(e) => entry = e,
                            None => return Ok(Exit::Ended),
                        },
                    }
                }
                Outcome::Target(p, target) => {
                    let (port, next) = match target {
                        Some(t) => (p, Some(t)),
                        None => (flow::DEFAULT_PORT, nd.exits.default_target()),
                    };
                    rec(
                        self,
                        Phase::Completed,
                        Some(Cow::Borrowed(port)),
                        next,
                        None,
                    );
                    match next {
                        Some(n) => {
                            entry = Entry::Node {
                                node: n,
                                trigger: None,
                            }
                        }
                        None => match self.frame_done(thread, Ok(()), &program)? {
                            Some(e) => entry = e,
                            None => return Ok(Exit::Ended),
                        },
                    }
                }
                Outcome::Fail(f) => {
                    let error = failed.unwrap_or_else(|| FlowError {
                        code: f.code.to_string(),
                        message: f.message,
                        flow: program.name.to_string(),
                        node: nd.name.to_string(),
                        activity: nd.activity_name.to_string(),
                        at: self.now,
                    });
                    let budget = error.code == BUDGET_CODE;
                    let handled = if budget {
                        None
                    } else {
                        nd.error_port
                            .as_deref()
                            .and_then(|p| nd.exits.port(p).map(|n| (p, n)))
                    };
                    match handled {
                        Some((p, n)) => {
                            rec(
                                self,
                                Phase::Completed,
                                Some(Cow::Owned(p.to_owned())),
                                Some(n),
                                Some(error),
                            );
                            entry = Entry::Node {
                                node: n,
                                trigger: None,
                            };
                        }
                        None => {
                            rec(self, Phase::Completed, None, None, Some(error.clone()));
                            if budget {
                                thread.stack.truncate(1);
                                return Ok(Exit::Unhandled(error));
                            }
                            match self.frame_done(thread, Err(error.clone()), &program)? {
                                Some(e) => entry = e,
                                None => return Ok(Exit::Unhandled(error)),
                            }
                        }
                    }
                }
                Outcome::Wait(on) => {
                    if let Some(f) = thread.stack.last_mut() {
                        f.node = idx;
                        f.at = nd.name.clone();
                    }
                    thread.wait = Some(Wait { since: started, on });
                    rec(self, Phase::Waiting, None, None, None);
                    return Ok(Exit::Waiting);
                }
                Outcome::End(End::Flow) => {
                    rec(self, Phase::Completed, None, None, None);
                    match self.frame_done(thread, Ok(()), &program)? {
                        Some(e) => entry = e,
                        None => return Ok(Exit::Ended),
                    }
                }
                Outcome::End(End::Task(outcome)) => {
                    rec(self, Phase::Completed, None, None, None);
                    return Ok(Exit::TaskEnd(outcome));
                }
                Outcome::Call(call) => {
                    let Some(start) = call.program.start else {
                        return Err(EngineError::CorruptState {
                            key: call.program.key.clone(),
                            message: "a subflow without a start node was called".to_owned(),
                        });
                    };
                    rec(self, Phase::Waiting, None, None, None);
                    if let Some(f) = thread.stack.last_mut() {
                        f.node = idx;
                        f.at = nd.name.clone();
                    }
                    let callee = call.program;
                    if !self.cache.iter().any(|p| p.key == callee.key) {
                        self.cache.push(callee.clone());
                    }
                    thread.stack.push(Frame {
                        flow: Some(callee.key.clone()),
                        node: start,
                        at: callee.node(start).name.clone(),
                        scope: Some(Box::new(call.scope)),
                        called_at: Some(self.now),
                    });
                    entry = Entry::Node {
                        node: start,
                        trigger: None,
                    };
                }
                Outcome::Ignore(_) => return Ok(Exit::Waiting),
            }
        }
    }

    /// The top frame finished (normally, or with an error nothing in it handled). In a
    /// subflow, returns to the caller's node; at the bottom of the stack, `None`.
    fn frame_done(
        &mut self,
        thread: &mut Thread,
        result: Result<(), FlowError>,
        program: &Arc<Program>,
    ) -> Result<Option<Entry>, EngineError> {
        if thread.stack.len() <= 1 {
            return Ok(None);
        }
        let Some(callee) = thread.stack.pop() else {
            return Ok(None);
        };
        let since = callee.called_at.unwrap_or(self.now);
        let result = result.map(|()| callee.scope.map(|s| *s).unwrap_or_default());
        Ok(Some(Entry::Returned {
            result,
            callee: program.clone(),
            since,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        thread: u32,
        program: &Arc<Program>,
        depth: u32,
        idx: u32,
        phase: Phase,
        started: DateTime<Utc>,
        fields_from: usize,
        masked: bool,
        outputs: Option<&Value>,
        port: Option<Cow<'static, str>>,
        next: Option<u32>,
        error: Option<FlowError>,
    ) {
        let outputs = match self.config.trace {
            TraceLevel::Off => return,
            TraceLevel::Path => None,
            TraceLevel::Full if masked => outputs.map(|_| Value::from(MASK)),
            TraceLevel::Full => outputs.cloned(),
        };
        let fields_to = self.out.trace.fields.len() as u32;
        self.out.trace.push(
            program,
            Step {
                program: 0,
                node: idx,
                next,
                thread,
                depth: depth.saturating_sub(1),
                phase,
                port,
                started_at: started,
                // Most records start and end at the step's clock: no arithmetic for them.
                duration_ms: if started == self.now {
                    0
                } else {
                    (self.now - started).num_milliseconds()
                },
                fields: fields_from as u32..fields_to,
                outputs,
                error: error.map(Box::new),
            },
        );
    }
}

/// Takes the fault armed for a node, if any.
fn take_fault(task: &mut TaskState, node: &str) -> Option<Failure> {
    if task.faults.is_empty() {
        return None;
    }
    let i = task.faults.iter().position(|f| f.node == node)?;
    let f = task.faults.remove(i);
    let message = if f.message.is_empty() {
        format!("Node '{node}': fault injected")
    } else {
        f.message
    };
    Some(Failure::new(f.code, message))
}

/// `outputs` with `errorCode` and `errorMessage` set.
fn with_error(outputs: Option<Value>, code: &str, message: &str) -> Value {
    let mut pairs: Vec<(Value, Value)> = Vec::new();
    if let Some(o) = &outputs {
        if let Ok(keys) = o.try_iter() {
            for k in keys {
                if k.as_str() == Some("errorCode") || k.as_str() == Some("errorMessage") {
                    continue;
                }
                let v = o.get_item(&k).unwrap_or(Value::UNDEFINED);
                pairs.push((k, v));
            }
        }
    }
    pairs.push((Value::from("errorCode"), Value::from(code)));
    pairs.push((Value::from("errorMessage"), Value::from(message)));
    Value::from_iter(pairs)
}
