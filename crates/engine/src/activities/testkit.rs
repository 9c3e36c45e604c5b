//! Test helpers for activity modules: build a small flow around the activity, validate and
//! compile it against the builtin catalog, run it with a fixed clock.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value as Json};

use crate::{Engine, EngineConfig, Event, Program, Start, StaticEnv, StepOutput, TaskState};

/// Thursday 2026-01-15 09:12:00 UTC.
pub(crate) fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-15T09:12:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

/// Validates and compiles a flow document; panics with the report when it is invalid.
pub(crate) fn compile(doc: &Json) -> Arc<Program> {
    let catalog = catalog::Catalog::builtin();
    let v = validate::Validator::new(catalog);
    let valid = v
        .validate_for_engine(doc, &validate::Options::default())
        .unwrap_or_else(|r| {
            panic!(
                "invalid test flow: {}",
                serde_json::to_string_pretty(&r).unwrap()
            )
        });
    Arc::new(Program::compile(&valid, catalog).unwrap_or_else(|e| panic!("{e}")))
}

/// A telephony flow: a start node `Start` followed by `nodes`, wired by `edges`
/// (`[from, to, condition]` or `[from, to, condition, {properties}]`).
pub(crate) fn flow(variables: Json, nodes: Json, edges: Json) -> Json {
    let mut all = vec![json!({
        "id": "n-start", "name": "Start", "activityType": "start",
        "properties": {"activityName": "start", "flowType": {
            "eventSourceName": "WebexContactCenter",
            "eventClassificationName": "VoiceInteractions",
            "eventSpecificationName": "ContactStartWorkflow"}}
    })];
    for (i, n) in nodes
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let mut n = n;
        let activity = n["properties"]["activityName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let group = catalog::Catalog::builtin()
            .activity(&activity)
            .map(|a| a.group.as_str())
            .unwrap_or("action");
        n["id"] = json!(format!("n-{i}"));
        n["activityType"] = json!(group);
        all.push(n);
    }
    let edges: Vec<Json> = edges
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            json!({
                "id": format!("e-{i}"), "from": e[0], "to": e[1], "condition": e[2],
                "properties": e.get(3).cloned().unwrap_or(json!({}))
            })
        })
        .collect();
    json!({
        "name": "T", "flowType": "FLOW", "contactType": "telephony",
        "variables": variables, "nodes": all, "edges": edges
    })
}

/// A node: `node("Ask", "menu", {...inputs})`.
pub(crate) fn node(name: &str, activity: &str, inputs: Json) -> Json {
    let mut props = inputs;
    props["activityName"] = json!(activity);
    json!({"name": name, "properties": props})
}

/// A variable declaration.
pub(crate) fn var(name: &str, ty: &str, value: &str) -> Json {
    json!({"name": name, "type": ty, "value": value})
}

pub(crate) struct Kit {
    pub engine: Engine,
    pub env: StaticEnv,
    pub program: Arc<Program>,
}

impl Kit {
    pub(crate) fn new(doc: Json) -> Kit {
        let program = compile(&doc);
        let mut env = StaticEnv::new();
        env.add_program(program.clone());
        Kit {
            engine: Engine::new(EngineConfig::default()),
            env,
            program,
        }
    }

    pub(crate) fn start(&self) -> (TaskState, StepOutput) {
        self.start_with(Start::default())
    }

    pub(crate) fn start_with(&self, start: Start) -> (TaskState, StepOutput) {
        let (st, out) = self
            .engine
            .start(&self.env, &self.program, start, t0())
            .expect("start");
        same_json(&out);
        (st, out)
    }

    pub(crate) fn step(&self, st: &mut TaskState, ev: Event, secs: i64) -> StepOutput {
        let out = self.engine.step(&self.env, st, ev, at(secs)).expect("step");
        same_json(&out);
        out
    }
}

/// Every trace entry serializes exactly as the record built from it, and that record
/// reads back to the same JSON.
fn same_json(out: &StepOutput) {
    for e in out.trace.entries() {
        let direct = serde_json::to_string(&e).unwrap();
        let record = e.to_record();
        assert_eq!(direct, serde_json::to_string(&record).unwrap());
        let back: crate::TraceRecord = serde_json::from_str(&direct).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), direct);
    }
}

/// `(node, port)` of each completed record.
pub(crate) fn path(out: &StepOutput) -> Vec<(String, String)> {
    out.trace
        .iter()
        .filter(|r| r.phase == crate::trace::Phase::Completed)
        .map(|r| {
            (
                r.node.to_string(),
                r.port.as_deref().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The outputs of the last record of a node.
pub(crate) fn outputs(out: &StepOutput, node: &str) -> Json {
    out.trace
        .iter()
        .rev()
        .find(|r| &*r.node == node)
        .map(|r| r.outputs_json())
        .unwrap_or(Json::Null)
}

/// The commands as JSON (for compact assertions).
pub(crate) fn commands(out: &StepOutput) -> Vec<Json> {
    out.commands
        .iter()
        .map(|c| serde_json::to_value(c).unwrap())
        .collect()
}
