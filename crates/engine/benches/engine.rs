//! Engine benchmarks (criterion): executions and node steps per second on a 10-node and a
//! 100-node straight-line flow, expression compile and evaluate times, and the memory of
//! 100,000 tasks parked in a queue (printed before the criterion runs).
//!
//! `cargo bench -p switchboard-engine --bench engine`; the Jinja2 comparison is
//! `python3 bench/engine/jinja2_bench.py` (same expressions). Figures go to BENCHMARKS.md.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use serde_json::{json, Value as Json};
use switchboard_engine::{
    Engine, EngineConfig, Event, Program, Start, StaticEnv, TaskState, TraceLevel,
};

// Figures are for the allocator the `switchboard` binary ships with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-15T09:12:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn compile(doc: &Json) -> Arc<Program> {
    let catalog = catalog::Catalog::builtin();
    let valid = validate::Validator::new(catalog)
        .validate_for_engine(doc, &validate::Options::default())
        .unwrap_or_else(|r| panic!("{}", serde_json::to_string_pretty(&r).unwrap()));
    Arc::new(Program::compile(&valid, catalog).unwrap())
}

/// A straight line of `n` nodes: start, then set-variable, condition, case, parse in turn,
/// then end-flow.
fn straight_line(n: usize) -> Json {
    line_of(n, &[0, 1, 2, 3])
}

/// A straight line of `n` nodes cycling through the given kinds (0 set-variable,
/// 1 condition, 2 case, 3 parse).
fn line_of(n: usize, kinds: &[usize]) -> Json {
    let mut nodes = vec![
        json!({"id": "n0", "name": "Start", "activityType": "start", "properties": {"activityName": "start",
        "flowType": {"eventSourceName": "WebexContactCenter", "eventClassificationName": "VoiceInteractions", "eventSpecificationName": "ContactStartWorkflow"}}}),
    ];
    let mut edges = Vec::new();
    let mut prev = "Start".to_owned();
    let mut prev_port = "out";
    for i in 1..n - 1 {
        let name = format!("N{i}");
        let (props, port) = match kinds[(i - 1) % kinds.len()] {
            0 => (
                json!({"activityName": "set-variable", "variableName": "Count", "value": "{{ Count + 1 }}"}),
                "out",
            ),
            1 => (
                json!({"activityName": "condition", "expression": "{{ Count > 0 and Tier == 'gold' }}"}),
                "true",
            ),
            2 => (
                json!({"activityName": "case", "expression": "{{ Tier }}"}),
                "default",
            ),
            _ => (
                json!({"activityName": "parse", "input": "{{ Body }}",
                       "parseSettings": [{"outputVariable": "Customer", "pathExpression": "$.customer.id"}]}),
                "out",
            ),
        };
        nodes.push(json!({"id": format!("n{i}"), "name": name, "activityType": "action", "properties": props}));
        edges.push(json!({"id": format!("e{i}"), "from": prev, "to": name, "condition": prev_port, "properties": {}}));
        prev = name;
        prev_port = port;
    }
    nodes.push(json!({"id": "end", "name": "End", "activityType": "end", "properties": {"activityName": "end-flow"}}));
    edges.push(
        json!({"id": "e-end", "from": prev, "to": "End", "condition": prev_port, "properties": {}}),
    );
    json!({
        "name": format!("Line{n}"), "flowType": "FLOW", "contactType": "telephony",
        "variables": [
            {"name": "Count", "type": "INTEGER", "value": "0"},
            {"name": "Tier", "type": "STRING", "value": "gold"},
            {"name": "Customer", "type": "STRING", "value": ""},
            {"name": "Body", "type": "STRING", "value": "{\"customer\": {\"id\": \"C-7\", \"name\": \"Ada\"}, \"open\": true}"}
        ],
        "nodes": nodes, "edges": edges
    })
}

fn executions(c: &mut Criterion) {
    for n in [10usize, 100] {
        let program = compile(&straight_line(n));
        assert_eq!(program.node_count(), n);
        let mut env = StaticEnv::new();
        env.add_program(program.clone());
        let mut group = c.benchmark_group(format!("flow_{n}_nodes"));
        group.throughput(Throughput::Elements(n as u64));
        for (label, trace) in [
            ("trace_full", TraceLevel::Full),
            ("trace_path", TraceLevel::Path),
            ("trace_off", TraceLevel::Off),
        ] {
            let engine = Engine::new(EngineConfig {
                trace,
                ..EngineConfig::default()
            });
            let (st, _) = engine
                .start(&env, &program, Start::default(), t0())
                .unwrap();
            assert!(
                st.is_finished() && st.steps() as usize == n,
                "{:?}",
                st.status()
            );
            group.bench_function(BenchmarkId::new("execution", label), |b| {
                b.iter(|| {
                    black_box(
                        engine
                            .start(&env, &program, Start::default(), t0())
                            .unwrap(),
                    )
                })
            });
        }
        group.finish();
    }
    let mut group = c.benchmark_group("flow_10_nodes_of_one_kind");
    group.throughput(Throughput::Elements(10));
    let engine = Engine::new(EngineConfig {
        trace: TraceLevel::Off,
        ..EngineConfig::default()
    });
    for (label, kind) in [
        ("set-variable", 0),
        ("condition", 1),
        ("case", 2),
        ("parse", 3),
    ] {
        let program = compile(&line_of(10, &[kind]));
        let mut env = StaticEnv::new();
        env.add_program(program.clone());
        group.bench_function(BenchmarkId::new("trace_off", label), |b| {
            b.iter(|| {
                black_box(
                    engine
                        .start(&env, &program, Start::default(), t0())
                        .unwrap(),
                )
            })
        });
    }
    group.finish();
}

/// The expressions timed here and in bench/engine/jinja2_bench.py.
const EXPRESSIONS: &[(&str, &str)] = &[
    ("path", "{{ Customer.tier }}"),
    ("compare", "{{ Amount > 100 and Customer.tier == 'gold' }}"),
    ("arithmetic", "{{ (Amount * 1.2) | round(2) }}"),
    (
        "text",
        "Hello {{ Customer.name }}, you owe {{ Amount }} dollars.",
    ),
    ("filters", "{{ Customer.name | upper | replace('A', '4') }}"),
];

fn expressions(c: &mut Criterion) {
    let mut group = c.benchmark_group("expression");
    for (label, src) in EXPRESSIONS {
        let doc = json!({
            "name": "Expr", "flowType": "FLOW", "contactType": "telephony",
            "variables": [
                {"name": "Customer", "type": "JSON", "value": "{\"name\": \"Ada\", \"tier\": \"gold\"}"},
                {"name": "Amount", "type": "DECIMAL", "value": "150.5"},
                {"name": "Out", "type": "STRING", "value": ""}
            ],
            "nodes": [
                {"id": "s", "name": "Start", "activityType": "start", "properties": {"activityName": "start", "flowType": {
                    "eventSourceName": "WebexContactCenter", "eventClassificationName": "VoiceInteractions", "eventSpecificationName": "ContactStartWorkflow"}}},
                {"id": "x", "name": "Eval", "activityType": "action", "properties": {"activityName": "set-variable", "variableName": "Out", "value": src}}
            ],
            "edges": [{"id": "e", "from": "Start", "to": "Eval", "condition": "out", "properties": {}}]
        });
        let catalog = catalog::Catalog::builtin();
        let valid = validate::Validator::new(catalog)
            .validate_for_engine(&doc, &validate::Options::default())
            .unwrap();
        // Compile: the whole program is 2 nodes; the expression dominates. Reported per
        // program compile, so it is an upper bound of the expression's compile time.
        group.bench_function(BenchmarkId::new("compile_program", label), |b| {
            b.iter(|| black_box(Program::compile(&valid, catalog).unwrap()))
        });
        group.bench_function(BenchmarkId::new("compile", label), |b| {
            b.iter(|| black_box(switchboard_engine::bench_support::compile_expression(src)))
        });
        let compiled = switchboard_engine::bench_support::compile_expression(src);
        let data = switchboard_engine::bench_support::sample_data();
        group.bench_function(BenchmarkId::new("evaluate", label), |b| {
            b.iter(|| black_box(compiled.eval(&data)))
        });
    }
    group.finish();
}

/// Heap in use, from the resident set (Linux).
fn resident_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<usize>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

/// CPU seconds this thread has used (user + system, from /proc; 10 ms resolution).
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesized command name; utime and stime are 14th and 15th.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f[11].parse::<f64>().ok()? + f[12].parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

/// Throughput per CPU second of this thread: unlike wall-clock figures, unaffected by
/// other processes taking the core (the benchmark machine is shared).
fn cpu_time_report() {
    println!("node steps per CPU second (one thread, ~3 s of CPU each):");
    for n in [10usize, 100] {
        let program = compile(&straight_line(n));
        let mut env = StaticEnv::new();
        env.add_program(program.clone());
        for (label, trace) in [
            ("full", TraceLevel::Full),
            ("path", TraceLevel::Path),
            ("off", TraceLevel::Off),
        ] {
            let engine = Engine::new(EngineConfig {
                trace,
                ..EngineConfig::default()
            });
            let now = t0();
            let start = thread_cpu_seconds();
            let mut runs = 0u64;
            while thread_cpu_seconds() - start < 3.0 {
                for _ in 0..1000 {
                    black_box(engine.start(&env, &program, Start::default(), now).unwrap());
                }
                runs += 1000;
            }
            let cpu = thread_cpu_seconds() - start;
            println!(
                "  {n:>3} nodes, trace {label:<4}: {:>9.0} executions/s, {:>9.0} node steps/s",
                runs as f64 / cpu,
                (runs * n as u64) as f64 / cpu
            );
        }
    }
}

const PARKED: usize = 100_000;

/// The IVR fixture, ready to run.
fn ivr() -> (Engine, StaticEnv, Arc<Program>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ivr.json");
    let doc: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let program = compile(&doc);
    let mut env = StaticEnv::new();
    env.add_program(program.clone());
    env.add_business_hours(
        serde_json::from_value(json!({"name": "Support Hours", "timezone": "Europe/London",
            "workingHours": [{"name": "Weekdays", "days": ["MON","TUE","WED","THU","FRI"], "startTime": "08:00", "endTime": "17:59"}]}))
        .unwrap(),
    );
    (Engine::default(), env, program)
}

/// Task `i` of the IVR, driven until it is parked in the queue with music on hold (a
/// timer pending).
fn park(engine: &Engine, env: &StaticEnv, program: &Arc<Program>, i: usize) -> TaskState {
    let mut start = Start {
        seed: i as u64,
        ..Start::default()
    };
    start
        .outputs
        .insert("ANI".into(), json!(format!("+1415555{i:04}")));
    start
        .outputs
        .insert("InteractionId".into(), json!(format!("task-{i:06}")));
    let (mut st, _) = engine.start(env, program, start, t0()).unwrap();
    let body = r#"{"name": "Ada", "tier": "gold"}"#.to_owned();
    for ev in [
        Event::HttpResponse {
            id: 1,
            status: 200,
            headers: vec![],
            body,
        },
        Event::CallerInput { digits: "1".into() },
        Event::reply_ok(4, json!({"queueId": "q-sales", "queueName": "Sales"})),
        Event::reply_ok(5, json!({"queueId": "q-sales", "positionInQueue": 3})),
    ] {
        engine.step(env, &mut st, ev, t0()).unwrap();
    }
    st
}

fn parked_texts() -> Vec<String> {
    let (engine, env, program) = ivr();
    (0..PARKED)
        .map(|i| serde_json::to_string(&park(&engine, &env, &program, i)).unwrap())
        .collect()
}

/// 100,000 tasks of a realistic IVR parked in a queue: their serialized size, the engine's
/// overhead beyond the tasks' own data, the resident memory of holding them (each figure
/// measured in a fresh process, so freed memory is not reused), and the time to load and
/// resume them all (deserialize, fire the timer, run to the next wait point).
fn parked_report() {
    let (engine, env, program) = ivr();
    let sample = park(&engine, &env, &program, 1);
    assert!(!sample.is_finished() && sample.pending_timers().len() == 1);
    let texts = parked_texts();
    let total_text: usize = texts.iter().map(String::len).sum();
    let t = Instant::now();
    let mut parked: Vec<TaskState> = texts
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    let load = t.elapsed();
    let t = Instant::now();
    let mut records = 0usize;
    for st in &mut parked {
        let timer = st.pending_timers()[0].id;
        let out = engine
            .step(
                &env,
                st,
                Event::TimerFired { id: timer },
                t0() + chrono::Duration::seconds(30),
            )
            .unwrap();
        records += out.trace.len();
    }
    let resume = t.elapsed();
    drop(black_box(parked));
    let rss = |mode: &str| -> f64 {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env("SWITCHBOARD_BENCH_PARKED", mode)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| {
                l.strip_prefix("RSS ")
                    .and_then(|n| n.trim().parse::<f64>().ok())
            })
            .unwrap_or(f64::NAN)
    };
    let (full, bare) = (rss("full"), rss("bare"));
    let n = PARKED as f64;
    println!("parked tasks (IVR in queue, music on hold), {PARKED} of them:");
    println!(
        "  serialized JSON: {} bytes (sample), {:.0} bytes mean",
        serde_json::to_string(&sample).unwrap().len(),
        total_text as f64 / n
    );
    println!(
        "  engine overhead beyond variables/outputs/start data: {} bytes serialized",
        sample.overhead_bytes()
    );
    println!("  resident memory: {:.0} bytes/task", full / n);
    println!(
        "  resident memory without the tasks' own data (variables, kept outputs, start data): {:.0} bytes/task; size_of::<TaskState>() = {}",
        bare / n,
        std::mem::size_of::<TaskState>()
    );
    println!(
        "  deserialize all: {:?} ({:.2} µs/task)",
        load,
        load.as_secs_f64() * 1e6 / n
    );
    println!(
        "  resume all (TimerFired -> next wait point, {records} trace records): {:?} ({:.2} µs/task)",
        resume,
        resume.as_secs_f64() * 1e6 / n
    );
}

/// Child process of [`parked_report`]: prints the resident memory of the parked tasks
/// (`full`) or of the same tasks stripped of their own data (`bare`).
fn parked_child(mode: &str) {
    let texts: Vec<String> = parked_texts()
        .into_iter()
        .map(|s| {
            if mode != "bare" {
                return s;
            }
            let mut v: Json = serde_json::from_str(&s).unwrap();
            v["root"] = json!({"vars": {}});
            v["contact"] = json!(null);
            serde_json::to_string(&v).unwrap()
        })
        .collect();
    let before = resident_bytes();
    let tasks: Vec<TaskState> = texts
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    let after = resident_bytes();
    println!("RSS {}", after.saturating_sub(before));
    drop(black_box(tasks));
}

/// The engine's share of a durable step of a parked IVR task (what the runtime does before
/// its store call): the step itself (timer fired, run to the next wait point), the task
/// state serialized, and the step's trace serialized record by record.
fn checkpoint(c: &mut Criterion) {
    let (engine, env, program) = ivr();
    let parked = park(&engine, &env, &program, 1);
    let fire = Event::TimerFired {
        id: parked.pending_timers()[0].id,
    };
    let mut group = c.benchmark_group("checkpoint");
    group.bench_function("step", |b| {
        b.iter_batched(
            || parked.clone(),
            |mut st| black_box(engine.step(&env, &mut st, fire.clone(), t0()).unwrap()),
            criterion::BatchSize::SmallInput,
        )
    });
    let mut st = parked.clone();
    let out = engine.step(&env, &mut st, fire.clone(), t0()).unwrap();
    group.bench_function("serialize_state", |b| {
        b.iter(|| black_box(serde_json::to_string(&st).unwrap()))
    });
    group.bench_function("serialize_trace", |b| {
        b.iter(|| {
            black_box(
                out.trace
                    .entries()
                    .map(|e| serde_json::to_string(&e).unwrap())
                    .collect::<Vec<_>>(),
            )
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = executions, expressions, checkpoint
}

fn main() {
    // `SWITCHBOARD_BENCH_FIXED=100:full:20000[:rounds]`: run exactly that many executions and
    // exit, for `perf stat` and `perf record`; with rounds, print the fastest round's time
    // per node step.
    if let Ok(spec) = std::env::var("SWITCHBOARD_BENCH_FIXED") {
        let parts: Vec<&str> = spec.split(':').collect();
        let n: usize = parts[0].parse().unwrap();
        let trace = match parts[1] {
            "full" => TraceLevel::Full,
            "path" => TraceLevel::Path,
            _ => TraceLevel::Off,
        };
        let runs: u64 = parts[2].parse().unwrap();
        let program = compile(&straight_line(n));
        let mut env = StaticEnv::new();
        env.add_program(program.clone());
        let engine = Engine::new(EngineConfig {
            trace,
            ..EngineConfig::default()
        });
        let now = t0();
        // Optional rounds: each is timed, and the fastest is printed (on a noisy host the
        // minimum is the steadiest figure for an A/B).
        let rounds: u32 = parts.get(3).map_or(1, |r| r.parse().unwrap());
        let mut best = f64::MAX;
        for _ in 0..rounds {
            let began = Instant::now();
            for _ in 0..runs {
                black_box(engine.start(&env, &program, Start::default(), now).unwrap());
            }
            best = best.min(began.elapsed().as_nanos() as f64 / (runs * n as u64) as f64);
        }
        if rounds > 1 {
            println!("{spec}: fastest round {best:.0} ns per node step");
        }
        return;
    }
    if let Ok(mode) = std::env::var("SWITCHBOARD_BENCH_PARKED") {
        parked_child(&mode);
        return;
    }
    let filter_given = std::env::args().skip(1).any(|a| !a.starts_with('-'));
    if !filter_given || std::env::args().any(|a| a == "parked") {
        parked_report();
    }
    if !filter_given || std::env::args().any(|a| a == "cpu") {
        cpu_time_report();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
