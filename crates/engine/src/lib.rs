//! switchboard-engine: the flow interpreter as a deterministic state machine ("sans-IO",
//! like quinn-proto).
//!
//! The engine never reads a clock, opens a socket or touches a database. A runtime gives it
//! a task's state, an event and the current time; it returns what to do (commands) and what
//! happened (trace records), and the state is updated in place:
//!
//! ```text
//! Program::compile(&valid_flow, &catalog)       once per published flow version (Arc, shared)
//! Engine::start(&env, &program, Start, now)     -> (TaskState, StepOutput)
//! Engine::step(&env, &mut state, Event, now)    -> StepOutput { commands, trace, ignored }
//! ```
//!
//! # Pieces
//!
//! - [`Program`]: a validated flow version, compiled: nodes indexed, edges resolved to
//!   targets per port and branch value, every `{{ }}` expression compiled once.
//!   Immutable and `Send + Sync`. Identified by a [`ProgramKey`] (flow id, version).
//! - [`TaskState`]: the durable checkpoint (serde): variables, kept node outputs, global
//!   variables, the contact's start data, threads (the main flow and event flow handlers),
//!   each with a call stack (subflow frames pin their program's version) and at most one
//!   wait point, pending timers, the step counter, the seeded random state, the status.
//! - [`Event`]: answers to commands (HTTP, function, routing replies, timers, caller input)
//!   and things that happen to the contact (hang-up, bindable events such as AgentAnswered,
//!   fault injection, cancellation). [`Start`] starts a task.
//! - [`Command`]: HTTP requests, function invocations, timers, prompts, digit collection,
//!   routing requests, transfers, screen pops, go-to, emitted events, and `End`.
//! - [`Trace`]: a step's records, one per activity execution: node, activity, resolved
//!   inputs (secure values masked), outputs, port, next node, start time, duration, error.
//!   Kept compact (indexes into the programs, values in one shared list); [`Entry`] views
//!   serialize directly, [`TraceRecord`] is the owned, deserializable form.
//! - [`Env`]: the synchronous lookups a step may make (programs by key, the current version
//!   of a subflow or go-to target, business-hours schedules). [`StaticEnv`] holds them in
//!   memory.
//!
//! # Expressions
//!
//! `{{ }}` templates (minijinja, compiled once per program version) read flow variables by
//! name (typed: STRING, INTEGER, BOOLEAN, DECIMAL, DATETIME, JSON), global variables
//! (`{{ Lang }}` or `{{ global.Lang }}`), the start node's outputs (`{{NewContact.ANI}}`),
//! any node's outputs (`{{HTTP_1.httpStatusCode}}`, empty until the node has run) and `now`
//! (the step's clock, RFC 3339). Lookups of missing things are empty, not errors
//! (minijinja's Chainable mode); a failing expression is an activity failure
//! (EXPRESSION_ERROR) naming the node and the expression. An input that is exactly one
//! `{{ expr }}` yields a typed value; text around expressions yields a string. Filters:
//! minijinja's builtins plus `fromjson` and `jsonpath('$.a.b')`. Paths, comparisons,
//! boolean logic and arithmetic run natively (same results, property-tested against
//! minijinja); the rest runs in minijinja's VM.
//!
//! # Semantics
//!
//! An activity completes with an outcome port; the edge on that port is followed, else the
//! edge on `default`. Branching ports (`case`/`value`, menu `digit`/`digit`,
//! percent-allocation `allocation`/`percentage`) pick the edge whose branch value matches,
//! else `default`. A normal outcome with no edge ends the path: the thread ends (a subflow
//! returns through its success exit). Failures: the activity's error port (else `default`),
//! then the caller's subflow error exit, then the GlobalErrorHandling event flow (a new
//! thread; the failing thread ends), else the task fails with the error recorded. Every
//! activity execution counts against the step budget (default 10,000 per task); overrunning
//! it is an error that goes straight to the global error handler, which gets 100 grace
//! steps; overrunning those fails the task. A subflow's own event flow is not used: its
//! unhandled errors take the caller's error exit, and bindable events run the handlers of
//! the task's flow. See [`engine`] for the details.
//!
//! Threads: bindable events (AgentAnswered, ContactEnded, QueueTimeout,
//! WorkItemDataUpdated...) run their event flow handler as a new thread on the task's
//! variables while the main flow stays parked. AgentAnswered also stops the main flow (the
//! contact is with an agent). A caller hang-up (or ContactEnded) stops every thread and runs
//! the PhoneContactEnded/ContactEnded handlers. When no thread is left the task completes,
//! unless the contact is still queued or with an agent and the flow handles contact events:
//! then it keeps listening until the contact ends.
//!
//! # Driving the engine (a runtime's recipe)
//!
//! 1. Load (or compile and cache) the `Arc<Program>` of the published version; call
//!    [`Engine::start`] with the trigger's data as [`Start::outputs`] and a random seed.
//! 2. In one transaction, store the serialized [`TaskState`] and the step's commands (an
//!    outbox), and the trace records. The checkpoint holds secure variables as they are
//!    (the task resumes from it): encrypt it at rest, and show
//!    [`TaskState::to_json_masked`] in APIs and logs.
//! 3. Perform the commands in order. For each command with an id
//!    ([`Command::request_id`]), feed the answer back with [`Engine::step`] as the matching
//!    event (`HttpResponse`/`HttpFailed`, `FunctionResult`, `Reply`, `CallerInput`). Schedule
//!    `StartTimer` and deliver `TimerFired` when due; after a restart, deliver overdue ones
//!    at once ([`TaskState::pending_timers`]). Repeat step 2 after every step.
//! 4. Before stepping a task, make sure the [`Env`] can provide every program in
//!    [`TaskState::programs`] (pinned versions) and the flows [`Program::flow_refs`] names.
//! 5. Stop when [`TaskState::is_finished`]; the last command is [`Command::End`].
//!
//! Answers nobody waits for (duplicates, late timers) are ignored and reported in
//! [`StepOutput::ignored`], so at-least-once delivery is safe.

mod activities;
mod command;
mod compile;
pub mod engine;
mod env;
mod event;
mod expr;
mod fast;
mod jsondoc;
pub mod jsonpath;
mod program;
mod rng;
mod run;
pub mod schedule;
mod state;
mod timefmt;
mod trace;
pub mod value;

pub use activities::IMPLEMENTED;
pub use command::{
    BreRequest, CollectDigits, Command, FunctionCall, HttpRequest, PlayPrompt, Prompt,
    QueueContact, QueueToAgent, ScreenPop,
};
pub use engine::{Engine, EngineConfig, EngineError, HttpPolicy, StepOutput};
pub use env::{Env, StaticEnv};
pub use event::{Event, FunctionErrorKind, FunctionOutcome, HttpFailure, Reply, Start};
pub use program::{CompileError, FlowRef, Program, ProgramKey, GLOBAL_ERROR_EVENT};
pub use schedule::BusinessHours;
pub use state::{
    Fault, FlowError, Frame, Outcome, Routing, Scope, Status, TaskState, Thread, Timer, Vars, Wait,
    WaitOn,
};
pub use trace::{Entry, Fields, Label, Phase, Trace, TraceLevel, TraceRecord, MASK};

/// Hooks for the criterion benchmarks: expression compile and evaluate in isolation.
/// Not part of the API.
#[doc(hidden)]
pub mod bench_support {
    use std::sync::Arc;

    use crate::expr::{Binding, Data, Expr, Namespace};
    use crate::state::Vars;
    use crate::value::Value;

    /// Binds `Customer` (JSON) and `Amount` (DECIMAL) as flow variables.
    struct Ns;

    impl Namespace for Ns {
        fn bind(&self, root: &str) -> (Binding, bool) {
            match root {
                "Customer" => (
                    Binding::Var {
                        slot: 0,
                        name: Arc::from("Customer"),
                    },
                    false,
                ),
                "Amount" => (
                    Binding::Var {
                        slot: 1,
                        name: Arc::from("Amount"),
                    },
                    false,
                ),
                other => (Binding::Global(Arc::from(other)), false),
            }
        }
    }

    pub struct Compiled(Expr);

    pub struct SampleData {
        vars: Vars,
        empty: Vars,
        contact: Value,
    }

    pub fn compile_expression(src: &str) -> Compiled {
        Compiled(Expr::compile(src, &Ns).expect("expression compiles"))
    }

    pub fn sample_data() -> SampleData {
        SampleData {
            vars: Vars::from_pairs([
                (
                    "Customer",
                    crate::value::from_json(&serde_json::json!({"name": "Ada", "tier": "gold"})),
                ),
                ("Amount", Value::from(150.5)),
            ]),
            empty: Vars::new(),
            contact: Value::from(()),
        }
    }

    impl Compiled {
        pub fn eval(&self, d: &SampleData) -> Result<Value, String> {
            self.0.eval(&Data {
                vars: &d.vars,
                outputs: &d.empty,
                contact: &d.contact,
                globals: &d.empty,
                now: chrono::DateTime::UNIX_EPOCH,
            })
        }
    }
}
