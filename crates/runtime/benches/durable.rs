//! Durable runtime benchmarks. Not criterion: the resume figure is one timed pass over a
//! large, slow set-up, and the step figure pairs every durable step with a bare commit in
//! the same loop (alternating, so load on the shared machine hits both alike).
//!
//! ```text
//! cargo bench -p switchboard-runtime --bench durable              # step, cold and resume, SQLite
//! cargo bench -p switchboard-runtime --bench durable -- resume    # or: step, cold
//! SWITCHBOARD_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo bench -p switchboard-runtime --bench durable          # PostgreSQL as well
//! SWITCHBOARD_BENCH_TASKS=10000 ...                               # fewer parked tasks
//! SWITCHBOARD_BENCH_NO_SETTLE=1 ...    # resume: no VACUUM/CHECKPOINT after the PostgreSQL set-up
//! SWITCHBOARD_BENCH_BACKENDS=postgres ... # only these (sqlite, postgres; comma-separated)
//! ```
//!
//! - `resume`: 100,000 executions of the IVR fixture (crates/engine/tests/fixtures/ivr.json)
//!   parked in a queue with music on hold (a timer pending), as the engine bench parks them,
//!   are bulk-inserted (not timed) with the lease of a crashed process, run out. Then a fresh
//!   [`Runner`] (empty program cache, as after a restart) runs `resume_all`, timed until
//!   every task is claimed, deserialized, its program loaded, and live in memory with its
//!   timer scheduled ([`Runner::parked`]).
//! - `step`: one durable step of a parked IVR task (engine step + building the checkpoint +
//!   the store's transaction, through the runner's own [`StoreCheckpoint`]) against a bare
//!   commit of the same state text to another row ([`store::Store::bare_commit`]: one
//!   autocommitted statement), the two alternating and nothing else between them. Then, in
//!   a second phase so that they do not run between durable steps (where they made the
//!   step's engine and serialization code colder: ~10 µs more on PostgreSQL), the bare
//!   commit alternating with the state with the step's trace records appended (the bytes
//!   the step writes: how much of the difference is the database's cost of writing the
//!   trace too) and with the state inside `BEGIN ... COMMIT`. `TMPDIR=/dev/shm` puts the
//!   SQLite file on tmpfs, where fsync is free: what is left is the work beyond the commit.
//! - `cold`: nothing timed touches a database (a temporary SQLite store only publishes the
//!   fixture). The step's work in this process — the engine step, the state's JSON, the
//!   trace page — each timed alone, once with warm caches and once with 64 MiB
//!   written between steps (every cache level and the TLBs evicted, as after the wait for a
//!   commit on a busy host). What the durable step costs beyond the commit is mostly these
//!   parts running cold.
//!
//! Figures go to BENCHMARKS.md ("Durable runtime").

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use engine::{Engine, Event, Program, ProgramKey, Start, StaticEnv, TaskState, WaitOn};
use serde_json::{json, Value as Json};
use store::{ExecutionRecord, NewExecution, Records, Store};
use switchboard_runtime::server::{Progress, Runner, RunnerConfig, StoreCheckpoint};
use switchboard_runtime::{Checkpoint as _, TraceCursor, TraceWriter};

// The allocator of the `switchboard` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_TASKS: usize = 100_000;
const STEP_EXECUTIONS: usize = 200;
const STEP_ITERATIONS: usize = 5_000;

/// The IVR fixture with music on hold lasting an hour (30 s in the fixture), so no timer
/// comes due while the benchmark runs: resuming is measured, not firing.
fn ivr_doc() -> Json {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../engine/tests/fixtures/ivr.json"
    );
    let mut doc: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for node in doc["nodes"].as_array_mut().unwrap() {
        if node["name"] == "Hold" {
            node["properties"]["duration"] = json!(3600);
        }
    }
    doc
}

/// The IVR published in a new org of `store`, compiled under its stored key.
struct Fixture {
    org: String,
    flow_id: String,
    engine: Engine,
    env: StaticEnv,
    program: Arc<Program>,
}

async fn fixture(store: &Store) -> Fixture {
    let now = store::now();
    let org = uuid::Uuid::new_v4().to_string();
    store
        .insert_org(&store::Org {
            id: org.clone(),
            name: format!("bench {org}"),
            created_at: now,
        })
        .await
        .unwrap();
    let doc = ivr_doc();
    let flow_id = uuid::Uuid::new_v4().to_string();
    store
        .insert_flow(&store::FlowRecord {
            id: flow_id.clone(),
            org_id: org.clone(),
            name: doc["name"].as_str().unwrap().to_owned(),
            flow_type: "FLOW".to_owned(),
            description: None,
            status: "Draft".to_owned(),
            version: 0,
            document: doc.clone(),
            created_by: "bench".to_owned(),
            created_date: now,
            last_modified_by: "bench".to_owned(),
            last_modified_date: now,
            locked_by: None,
            locked_at: None,
            latest_version: None,
        })
        .await
        .unwrap();
    let version = store
        .publish_flow(
            &org,
            &flow_id,
            &store::PublishRequest {
                comment: None,
                tags: vec!["Live".to_owned()],
                actor: "bench".to_owned(),
                at: now,
            },
        )
        .await
        .unwrap();
    let catalog = catalog::Catalog::builtin();
    let valid = validate::Validator::new(catalog)
        .validate_for_engine(&doc, &validate::Options::default())
        .unwrap_or_else(|r| panic!("{}", serde_json::to_string_pretty(&r).unwrap()));
    let key = ProgramKey::new(&flow_id, version.number);
    let program = Arc::new(Program::compile_with_key(&valid, catalog, key).unwrap());
    let mut env = StaticEnv::new();
    env.add_program(program.clone());
    // Only for driving the tasks to the queue here; the parked tasks do not need it.
    env.add_business_hours(
        serde_json::from_value(json!({"name": "Support Hours", "timezone": "Europe/London",
            "workingHours": [{"name": "Every day", "days": ["MON","TUE","WED","THU","FRI","SAT","SUN"],
                              "startTime": "00:00", "endTime": "23:59"}]}))
        .unwrap(),
    );
    Fixture {
        org,
        flow_id,
        engine: Engine::default(),
        env,
        program,
    }
}

/// Task `i` driven until it is parked in the queue with music on hold (as the engine bench
/// does): 4 variables, the caller's start data, kept node outputs, one timer pending.
fn park(f: &Fixture, i: usize, now: DateTime<Utc>) -> TaskState {
    let mut start = Start {
        seed: i as u64,
        ..Start::default()
    };
    start
        .outputs
        .insert("ANI".into(), json!(format!("+1415555{:04}", i % 10_000)));
    start
        .outputs
        .insert("InteractionId".into(), json!(format!("task-{i:06}")));
    let (mut st, _) = f.engine.start(&f.env, &f.program, start, now).unwrap();
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
        f.engine.step(&f.env, &mut st, ev, now).unwrap();
    }
    assert!(
        !st.is_finished() && st.pending_timers().len() == 1,
        "{:?}",
        st.status()
    );
    st
}

/// The stored row of a parked task, leased by a process that crashed a while ago.
fn row(f: &Fixture, state: &TaskState, now: DateTime<Utc>) -> ExecutionRecord {
    ExecutionRecord {
        id: uuid::Uuid::new_v4().to_string(),
        org_id: f.org.clone(),
        flow_id: f.flow_id.clone(),
        flow_version: Some(f.program.key().version),
        status: "waiting".to_owned(),
        state: state.to_json(),
        // Parked in the queue: every answer-bearing command has been answered.
        pending: json!([]),
        error: None,
        step: 5,
        created_at: now,
        updated_at: now,
        finished_at: None,
        lease_owner: Some("runner-crashed".to_owned()),
        lease_until: Some(now - chrono::Duration::seconds(1)),
    }
}

fn timers(state: &TaskState) -> Vec<(i64, DateTime<Utc>)> {
    state
        .pending_timers()
        .iter()
        .map(|t| (t.id as i64, t.due))
        .collect()
}

/// Inserts `n` parked tasks in batches of one transaction each; returns (row, state) of
/// the first `keep`.
async fn insert_parked(
    store: &Store,
    f: &Fixture,
    n: usize,
    keep: usize,
) -> Vec<(ExecutionRecord, TaskState)> {
    let now = store::now();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < n {
        let batch: Vec<_> = (i..n.min(i + 2000))
            .map(|j| {
                let st = park(f, j, now);
                (row(f, &st, now), st.clone(), timers(&st))
            })
            .collect();
        let news: Vec<NewExecution> = batch
            .iter()
            .map(|(r, _, t)| NewExecution {
                record: r,
                timers: t,
                trace: &[],
            })
            .collect();
        store.insert_executions(&news).await.unwrap();
        i += batch.len();
        for (r, st, _) in batch {
            if kept.len() < keep {
                kept.push((r, st));
            }
        }
    }
    kept
}

/// CPU seconds this process has used (user + system; 10 ms resolution).
fn process_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f[11].parse::<f64>().ok()? + f[12].parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

/// Resident memory of this process, bytes.
fn resident_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn host() -> functions::FunctionHost {
    functions::FunctionHost::new(functions::HostConfig {
        js_pool_size: 1,
        py_pool_size: 1,
        ..functions::HostConfig::default()
    })
}

/// Which database a run uses.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Db {
    fn label(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "SQLite",
            Db::Postgres(_) => "PostgreSQL",
        }
    }

    async fn open(&self) -> Store {
        match self {
            Db::Sqlite(dir) => Store::connect(&format!(
                "sqlite://{}",
                dir.path().join("bench.db").display()
            ))
            .await
            .unwrap(),
            Db::Postgres(url) => Store::connect_postgres_isolated(url).await.unwrap(),
        }
    }
}

async fn resume(db: Db, n: usize) {
    let store = db.open().await;
    let f = fixture(&store).await;
    let t = Instant::now();
    insert_parked(&store, &f, n, 0).await;
    eprintln!(
        "{}: {n} parked tasks inserted in {:.1?} (set-up, not timed)",
        db.label(),
        t.elapsed()
    );
    // As after a restart: new connections on SQLite (a PostgreSQL isolated schema lives as
    // long as its pool, so that store is kept) and a new runner with nothing cached. Closing
    // SQLite writes the set-up's WAL into the file; on PostgreSQL `settle` vacuums and
    // checkpoints, or the first claims would do what autovacuum and the checkpointer have
    // long done for tasks parked in a running system (see BENCHMARKS.md).
    let store = match &db {
        Db::Sqlite(_) => {
            store.close().await;
            db.open().await
        }
        Db::Postgres(_) => {
            if std::env::var_os("SWITCHBOARD_BENCH_NO_SETTLE").is_none() {
                store.settle().await.unwrap();
            }
            store
        }
    };
    let runner = Runner::new(
        store.clone(),
        catalog::Catalog::builtin(),
        host(),
        RunnerConfig::default(),
    )
    .unwrap();
    let rss = resident_bytes();
    let cpu = process_cpu_seconds();
    let t = Instant::now();
    let claimed = runner.resume_all().await.unwrap();
    let returned = t.elapsed();
    while runner.parked() < n {
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "only {} of {n} parked",
            runner.parked()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let total = t.elapsed();
    let cpu = process_cpu_seconds() - cpu;
    let rss = resident_bytes().saturating_sub(rss);
    assert_eq!(claimed, n);
    assert_eq!(runner.live(), n);
    println!(
        "{}: resume {n} parked tasks: {:.3} s ({:.2} µs/task); resume_all returned after {:.3} s; \
         {:.2} CPU s; resident +{:.0} bytes/task",
        db.label(),
        total.as_secs_f64(),
        total.as_secs_f64() * 1e6 / n as f64,
        returned.as_secs_f64(),
        cpu,
        rss as f64 / n as f64
    );
    store.close().await;
}

/// The event that moves a parked IVR task on: its timer, or the routing reply it waits for.
fn next_event(st: &TaskState) -> Event {
    for t in st.threads() {
        match t.wait.as_ref().map(|w| &w.on) {
            Some(WaitOn::Timer { timer }) => return Event::TimerFired { id: *timer },
            Some(WaitOn::Reply { request }) => {
                return Event::reply_ok(
                    *request,
                    json!({"queueId": "q-sales", "positionInQueue": 2}),
                )
            }
            _ => {}
        }
    }
    panic!("nothing to answer: {:?}", st.status());
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn step(db: Db) {
    let store = db.open().await;
    let f = fixture(&store).await;
    let tasks = insert_parked(&store, &f, 4 * STEP_EXECUTIONS, 4 * STEP_EXECUTIONS).await;
    let (durable, bare) = tasks.split_at(STEP_EXECUTIONS);
    // Separate rows per baseline: SQLite does not write a page when a value is rewritten
    // unchanged.
    let (bare_commit, bare) = bare.split_at(STEP_EXECUTIONS);
    let (bare_bytes, bare_transaction) = bare.split_at(STEP_EXECUTIONS);
    // As the runner does: trace pages deferred to a writer moving them in the background.
    let traces = TraceWriter::new(store.clone());
    let mut durable: Vec<(TaskState, StoreCheckpoint)> = durable
        .iter()
        .map(|(r, st)| {
            let progress = Progress {
                step: r.step,
                pending: Vec::new(),
                trace: TraceCursor::started(0),
            };
            (
                st.clone(),
                StoreCheckpoint::new(store.clone(), traces.clone(), &f.org, &r.id, progress),
            )
        })
        .collect();
    let warm_up = STEP_ITERATIONS / 10;
    let (mut steps, mut records, mut commits) = (Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0usize;
    // Each execution's last state text, and with its step's trace records appended: what
    // the second phase writes.
    let mut written: Vec<(String, String)> = vec![Default::default(); STEP_EXECUTIONS];
    // Phase 1, the figure: a durable step, then a bare commit of the state it wrote; again.
    // Nothing else runs between them, so each finds the caches as the other left them.
    for i in 0..warm_up + STEP_ITERATIONS {
        let k = i % STEP_EXECUTIONS;
        let (st, checkpoint) = &mut durable[k];
        let event = next_event(st);
        let t = Instant::now();
        let out = f.engine.step(&f.env, st, event, Utc::now()).unwrap();
        let stepped = t.elapsed();
        checkpoint.record(st, &out).await.unwrap();
        let total = t.elapsed();
        // The baseline writes exactly the bytes of the state just checkpointed.
        let text = serde_json::to_string(st).unwrap();
        let t = Instant::now();
        store
            .bare_commit(&bare_commit[k].0.id, &text, false)
            .await
            .unwrap();
        let commit = t.elapsed();
        if i >= warm_up {
            steps.push(stepped.as_secs_f64() * 1e6);
            records.push(total.as_secs_f64() * 1e6);
            commits.push(commit.as_secs_f64() * 1e6);
            bytes += text.len();
        }
        let with_trace = format!("{text}{}", Records::collect(out.trace.entries()).as_str());
        written[k] = (text, with_trace);
    }
    // Phase 2, what the difference is made of: the bare commit again, alternating with the
    // same state with the step's trace records appended (the bytes a step writes: the
    // database's cost of writing the trace too) and with the state in BEGIN ... COMMIT.
    // Separate, so that they do not run between durable steps; each pass gives a row
    // another execution's texts than the last (SQLite does not write a page when a value is
    // rewritten unchanged).
    let (mut again, mut same_bytes, mut transactions) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..warm_up + STEP_ITERATIONS {
        let k = i % STEP_EXECUTIONS;
        let (text, with_trace) = &written[(k + i / STEP_EXECUTIONS + 1) % STEP_EXECUTIONS];
        for (rows, text, in_transaction, times) in [
            (bare_commit, text, false, &mut again),
            (bare_bytes, with_trace, false, &mut same_bytes),
            (bare_transaction, text, true, &mut transactions),
        ] {
            let t = Instant::now();
            store
                .bare_commit(&rows[k].0.id, text, in_transaction)
                .await
                .unwrap();
            if i >= warm_up {
                times.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    for v in [
        &mut steps,
        &mut records,
        &mut commits,
        &mut again,
        &mut same_bytes,
        &mut transactions,
    ] {
        v.sort_by(f64::total_cmp);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let p50 = |v: &[f64]| percentile(v, 0.5);
    let line =
        |label: &str, p50: f64, mean: f64| format!("\n  {label:<50}{p50:>7.1} / {mean:>7.1}");
    let row = |label: &str, v: &[f64]| line(label, p50(v), mean(v));
    let diff = |label: &str, a: &[f64], b: &[f64]| line(label, p50(a) - p50(b), mean(a) - mean(b));
    println!(
        "{}: {STEP_ITERATIONS} durable steps of {:.0}-byte states (p50 / mean, µs):{}{}{}{}\n  \
         then {STEP_ITERATIONS} rounds of bare commits:{}{}{}{}{}",
        db.label(),
        bytes as f64 / records.len() as f64,
        row("durable step (engine step + checkpoint + commit)", &records),
        row("engine step alone", &steps),
        row("bare commit of the same state (one statement)", &commits),
        diff("durable step - bare commit", &records, &commits),
        row("bare commit of the same state", &again),
        row("same with the step's trace records appended", &same_bytes),
        row("same state in BEGIN ... COMMIT", &transactions),
        diff("with the trace - without", &same_bytes, &again),
        diff("BEGIN ... COMMIT - one statement", &transactions, &again),
    );
    store.close().await;
}

/// `cold` (see the module's docs).
async fn cold() {
    const ITERATIONS: usize = 1_000;
    let store = Db::Sqlite(tempfile::tempdir().unwrap()).open().await;
    let f = fixture(&store).await;
    let now = store::now();
    let mut tasks: Vec<TaskState> = (0..STEP_EXECUTIONS).map(|i| park(&f, i, now)).collect();
    let mut evict = vec![0u8; 64 << 20];
    println!("client-side parts of a durable step, p50 µs (timer step / reply step):");
    for evicted in [false, true] {
        // The timer's steps, then the reply's: [engine, state, trace] each.
        let mut parts: [[Vec<f64>; 3]; 2] = Default::default();
        for i in 0..ITERATIONS {
            if evicted {
                for byte in evict.iter_mut().step_by(64) {
                    *byte = byte.wrapping_add(1);
                }
            }
            let st = &mut tasks[i % STEP_EXECUTIONS];
            let event = next_event(st);
            let times = &mut parts[usize::from(!matches!(event, Event::TimerFired { .. }))];
            let t = Instant::now();
            let out = f.engine.step(&f.env, st, event, Utc::now()).unwrap();
            times[0].push(t.elapsed().as_secs_f64() * 1e6);
            let t = Instant::now();
            let state = serde_json::value::to_raw_value(&*st).unwrap();
            times[1].push(t.elapsed().as_secs_f64() * 1e6);
            let t = Instant::now();
            let page = Records::collect(out.trace.entries());
            times[2].push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box((state, page));
        }
        for v in parts.iter_mut().flatten() {
            v.sort_by(f64::total_cmp);
        }
        let p50 = |part: usize| {
            format!(
                "{:>5.1} / {:>5.1}",
                percentile(&parts[0][part], 0.5),
                percentile(&parts[1][part], 0.5)
            )
        };
        println!(
            "  caches {:<8} engine step {}   state JSON {}   trace page {}",
            if evicted { "evicted" } else { "warm" },
            p50(0),
            p50(1),
            p50(2),
        );
    }
    store.close().await;
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |what: &str| args.is_empty() || args.iter().any(|a| a == what);
    let n: usize = std::env::var("SWITCHBOARD_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_TASKS);
    let postgres = std::env::var("SWITCHBOARD_BENCH_DATABASE_URL").ok();
    let only: Option<Vec<String>> = std::env::var("SWITCHBOARD_BENCH_BACKENDS")
        .ok()
        .map(|v| v.split(',').map(|b| b.trim().to_owned()).collect());
    let wants_backend = |b: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == b));
    if wants_backend("postgres") && only.is_some() && postgres.is_none() {
        eprintln!("SWITCHBOARD_BENCH_BACKENDS names postgres: set SWITCHBOARD_BENCH_DATABASE_URL");
        std::process::exit(2);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dbs = || {
            let mut dbs = Vec::new();
            if wants_backend("sqlite") {
                dbs.push(Db::Sqlite(tempfile::tempdir().unwrap()));
            }
            if let Some(url) = postgres.as_ref().filter(|_| wants_backend("postgres")) {
                dbs.push(Db::Postgres(url.clone()));
            }
            dbs
        };
        if wants("step") {
            for db in dbs() {
                // On a runtime thread, where the runner's actors write their checkpoints.
                tokio::spawn(step(db)).await.unwrap();
            }
        }
        if wants("cold") {
            cold().await;
        }
        if wants("resume") {
            for db in dbs() {
                resume(db, n).await;
            }
        }
    });
    // The resumed tasks sleep for an hour: do not wait for them.
    rt.shutdown_background();
}
