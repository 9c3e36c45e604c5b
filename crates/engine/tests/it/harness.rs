//! The simulator the scenarios use: a flow (or several), a scripted clock, scripted answers,
//! and a record of every step (the event, the commands, a compact trace, the state) for
//! snapshots.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use engine::{
    Engine, EngineConfig, Event, Program, Start, StaticEnv, StepOutput, TaskState, TraceRecord,
};
use serde_json::{json, Value as Json};

/// Thursday 2026-01-15 09:12:00 UTC.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-15T09:12:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn fixture(name: &str) -> Json {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Validates (strictly, as import does) and compiles.
pub fn compile(doc: &Json) -> Arc<Program> {
    let catalog = catalog::Catalog::builtin();
    let valid = validate::Validator::new(catalog)
        .validate_for_engine(doc, &validate::Options::default())
        .unwrap_or_else(|r| {
            panic!(
                "invalid flow: {}",
                serde_json::to_string_pretty(&r).unwrap()
            )
        });
    Arc::new(Program::compile(&valid, catalog).unwrap_or_else(|e| panic!("{e}")))
}

/// A trace record in one line: `Node [activity] port -> Next (12s) !! CODE: message`.
pub fn line(r: &TraceRecord) -> String {
    let mut s = format!(
        "{}{}{} [{}]",
        "  ".repeat(r.depth as usize),
        if r.thread > 0 {
            format!("t{} ", r.thread)
        } else {
            String::new()
        },
        r.node,
        r.activity
    );
    match r.phase {
        engine::Phase::Waiting => s.push_str(" waiting"),
        engine::Phase::Completed => {
            if let Some(p) = &r.port {
                s.push_str(&format!(" {p}"));
            }
            match &r.next {
                Some(n) => s.push_str(&format!(" -> {n}")),
                None => s.push_str(" (end of path)"),
            }
        }
    }
    if r.duration_ms > 0 {
        s.push_str(&format!(" ({}s)", r.duration_ms / 1000));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!(" !! {}: {}", e.code, e.message));
    }
    s
}

pub struct Sim {
    pub engine: Engine,
    pub env: StaticEnv,
    pub program: Arc<Program>,
    pub state: Option<TaskState>,
    pub now: DateTime<Utc>,
    pub log: Vec<Json>,
    /// Include full trace records (inputs, outputs) in the log.
    pub full_trace: bool,
}

impl Sim {
    pub fn new(doc: &Json) -> Sim {
        Sim::with_config(doc, EngineConfig::default())
    }

    pub fn with_config(doc: &Json, config: EngineConfig) -> Sim {
        let program = compile(doc);
        let mut env = StaticEnv::new();
        env.add_program(program.clone());
        Sim {
            engine: Engine::new(config),
            env,
            program,
            state: None,
            now: t0(),
            log: Vec::new(),
            full_trace: false,
        }
    }

    pub fn state(&self) -> &TaskState {
        self.state.as_ref().expect("started")
    }

    pub fn start(&mut self, start: Start) -> StepOutput {
        let (state, out) = self
            .engine
            .start(&self.env, &self.program, start, self.now)
            .expect("start");
        self.state = Some(state);
        self.record("start", Json::Null, &out);
        out
    }

    /// Advances the clock by `secs` and delivers `event`.
    pub fn send(&mut self, secs: i64, event: Event) -> StepOutput {
        self.now += Duration::seconds(secs);
        let ev = serde_json::to_value(&event).unwrap();
        let state = self.state.as_mut().expect("started");
        let out = self
            .engine
            .step(&self.env, state, event, self.now)
            .expect("step");
        self.record("step", ev, &out);
        out
    }

    fn record(&mut self, kind: &str, event: Json, out: &StepOutput) {
        // Every trace entry serializes exactly as the record built from it.
        for e in out.trace.entries() {
            let direct = serde_json::to_string(&e).unwrap();
            assert_eq!(direct, serde_json::to_string(&e.to_record()).unwrap());
        }
        let trace: Json = if self.full_trace {
            serde_json::to_value(&out.trace).unwrap()
        } else {
            json!(out.trace.iter().map(|r| line(&r)).collect::<Vec<_>>())
        };
        let mut entry = json!({
            "step": format!("{} {} (+{}s)", self.log.len(), kind, (self.now - t0()).num_seconds()),
            "commands": out.commands,
            "trace": trace,
            "state": self.state().to_json(),
        });
        if !event.is_null() {
            entry["event"] = event;
        }
        if let Some(why) = &out.ignored {
            entry["ignored"] = json!(why);
        }
        self.log.push(entry);
    }
}
