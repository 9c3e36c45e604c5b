//! switchboard-runtime: the async driver of the flow engine.
//!
//! The engine (`switchboard-engine`) is a pure state machine: it says what to do
//! ([`engine::Command`]) and waits for answers ([`engine::Event`]). This crate does it: it
//! performs each command through a *performer* and feeds the answer back, until the task
//! finishes or waits for something nobody here can answer. The same driver runs in the
//! server (real HTTP, the function host, real time) and offline in `switchboard flow run`
//! (mocks, a scripted caller, a virtual clock).
//!
//! # Performers
//!
//! | command                                   | trait             | server / offline            |
//! |-------------------------------------------|-------------------|-----------------------------|
//! | `HttpRequest`                             | [`HttpClient`]    | [`ReqwestHttpClient`] / [`MockHttp`] |
//! | `InvokeFunction`                          | [`FunctionRunner`]| [`StoreFunctionRunner`] / [`MockFunctions`] |
//! | `PlayPrompt`, `PlayMusic`, `CollectDigits`| [`MediaPort`]     | [`ScriptedCaller`] (no real media path yet) |
//! | routing and rules requests, contact commands | [`Router`]     | [`LocalRouter`] (until the routing issue) |
//! | `StartTimer` / `CancelTimer`              | [`Clock`]         | [`SystemClock`] / [`VirtualClock`] |
//!
//! Every trait returns failures as data the engine routes to the node's error port
//! (connection refused, a thrown function, an unknown queue); `Err` ([`RuntimeError`]) is
//! for infrastructure (the store is down, the engine lacks a program).
//!
//! # The driver
//!
//! [`run_to_completion`] starts a task and loops: perform the step's commands in order,
//! queue their answers, step the engine with the next answer; when no answer is queued,
//! sleep until the earliest pending timer (or the caller's scheduled hang-up) and fire it;
//! when nothing is due either, deliver the caller's pending hang-up, else stop: the task is
//! parked ([`Stop::Parked`]). A bound on engine steps ([`RunOptions::max_steps`]) makes sure
//! it never spins forever. [`resume`] continues a parked task with new events. A
//! [`Checkpoint`] sees every step before its commands are performed.
//!
//! [`server`] is the durable runner of `switchboard serve`: each execution is checkpointed in
//! the store after every step (state, pending commands, timers, new trace records) before its
//! commands run; on start-up it claims unfinished executions (leases, `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL), re-performs their pending commands and fires overdue timers.
//!
//! [`report`] turns a run into what `flow run` prints: one line per activity, the status,
//! and the variables with secure ones masked.

mod clock;
mod driver;
mod error;
mod function;
mod http;
mod media;
mod mock;
pub mod report;
mod routing;
pub mod server;
mod traces;

use std::future::Future;
use std::pin::Pin;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use driver::{
    resume, run_to_completion, run_with, Checkpoint, Performers, RunOptions, RunResult, Stop,
};
pub use error::RuntimeError;
pub use function::{outcome_of, FunctionRunner, Resolution, StoreFunctionRunner, DEFAULT_TAG};
pub use http::{HttpClient, HttpConfig, HttpResult, OfflineHttp, ReqwestHttpClient};
pub use media::{CallerAction, Hangup, MediaPort, ScriptError, ScriptedCaller};
pub use mock::{MockError, MockFunctions, MockHttp};
pub use routing::{LocalRouter, Router};
pub use traces::{TraceCursor, TraceWriter};

/// A boxed, `Send` future: what the performer traits return, so they can be used as trait
/// objects (`&dyn HttpClient`) in the server and in tests alike.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
