//! Flow builders and a one-call runner: a flow document around a few nodes, validated and
//! compiled against the builtin catalog, run from Thursday 2026-01-15 09:12:00 UTC on the
//! virtual clock.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use engine::{Engine, EngineConfig, HttpPolicy, Program, Start, StaticEnv};
use runtime::{
    Checkpoint, FunctionRunner, HttpClient, LocalRouter, MediaPort, MockFunctions, OfflineHttp,
    Performers, RunOptions, RunResult, ScriptedCaller, VirtualClock,
};
use serde_json::{json, Value as Json};

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-15T09:12:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A telephony flow named `T` (see `test_support::flow`).
pub fn flow(variables: Json, nodes: Json, edges: Json) -> Json {
    test_support::flow("T", variables, nodes, edges)
}

pub use test_support::node;

pub fn var(name: &str, ty: &str, value: &str) -> Json {
    json!({"name": name, "type": ty, "value": value})
}

pub fn compile(doc: &Json) -> Arc<Program> {
    let catalog = catalog::Catalog::builtin();
    let valid = validate::Validator::new(catalog)
        .validate_for_engine(doc, &validate::Options::default())
        .unwrap_or_else(|r| {
            panic!(
                "invalid test flow: {}",
                serde_json::to_string_pretty(&r).unwrap()
            )
        });
    Arc::new(Program::compile(&valid, catalog).unwrap_or_else(|e| panic!("{e}")))
}

/// What performs commands in a test; unset performers refuse (offline HTTP, no functions,
/// a silent caller).
#[derive(Default)]
pub struct Setup<'a> {
    pub functions: Option<&'a dyn FunctionRunner>,
    pub http: Option<&'a dyn HttpClient>,
    pub media: Option<&'a dyn MediaPort>,
    pub checkpoint: Option<&'a dyn Checkpoint>,
    pub start: Start,
}

/// Loopback allowed (the receiver runs on 127.0.0.1), private ranges denied.
pub fn engine() -> Engine {
    Engine::new(EngineConfig {
        http: HttpPolicy {
            allow_loopback: true,
            ..HttpPolicy::default()
        },
        ..EngineConfig::default()
    })
}

/// Runs `doc` to completion on the virtual clock; returns the result and the clock's time
/// at the end.
pub async fn run(doc: &Json, setup: Setup<'_>) -> (RunResult, DateTime<Utc>) {
    run_opts(doc, setup, &RunOptions::default()).await
}

/// [`run`] with explicit options.
pub async fn run_opts(
    doc: &Json,
    setup: Setup<'_>,
    options: &RunOptions,
) -> (RunResult, DateTime<Utc>) {
    let program = compile(doc);
    let mut env = StaticEnv::new();
    env.add_program(program.clone());
    let no_functions = MockFunctions::new();
    let offline = OfflineHttp;
    let silent = ScriptedCaller::silent();
    let router = LocalRouter::new();
    let clock = VirtualClock::new(t0());
    let performers = Performers {
        functions: setup.functions.unwrap_or(&no_functions),
        http: setup.http.unwrap_or(&offline),
        media: setup.media.unwrap_or(&silent),
        router: &router,
        checkpoint: setup.checkpoint,
    };
    let result = runtime::run_with(
        &engine(),
        &env,
        &program,
        setup.start,
        performers,
        &clock,
        options,
    )
    .await
    .expect("the run has no infrastructure failure");
    use runtime::Clock;
    (result, clock.now())
}

/// The completed activities as `(node, port)`.
pub fn path(r: &RunResult) -> Vec<(String, String)> {
    r.trace
        .iter()
        .filter(|t| t.phase == engine::Phase::Completed)
        .map(|t| {
            (
                t.node.to_string(),
                t.port.as_deref().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The outputs of the last completed record of `node`.
pub fn outputs(r: &RunResult, node: &str) -> Json {
    r.trace
        .iter()
        .rev()
        .find(|t| &*t.node == node && t.phase == engine::Phase::Completed)
        .map(|t| t.outputs_json())
        .unwrap_or(Json::Null)
}

/// The status as `completed`, `failed` or `waiting`.
pub fn status(r: &RunResult) -> &'static str {
    runtime::report::status(&r.state)
}
