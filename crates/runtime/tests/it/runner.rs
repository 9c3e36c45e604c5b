//! The durable runner: the statuses it stores, and resuming after a crash — every unfinished
//! execution claimed once, live with its timer scheduled, and never adopted twice by the
//! process that runs it when its lease runs out before a renewal.

use std::time::{Duration, Instant};

use engine::{Engine, Start, StaticEnv};
use runtime::server::{status_of, Runner, RunnerConfig, VersionSel};
use serde_json::json;
use store::Store;

use crate::harness::{compile, flow, node, t0};

#[test]
fn tasks_awaiting_the_runtime_are_running_and_parked_ones_waiting() {
    let engine = Engine::default();
    let start = |doc| {
        let program = compile(&doc);
        let mut env = StaticEnv::new();
        env.add_program(program.clone());
        engine
            .start(&env, &program, Start::default(), t0())
            .unwrap()
            .0
    };
    let http = start(flow(
        json!([]),
        json!([node(
            "HTTP",
            "http-request",
            json!({"url": "https://crm.example.com/customers"})
        )]),
        json!([["Start", "HTTP", "out"]]),
    ));
    assert_eq!(status_of(&http), "running");
    let parked = start(flow(
        json!([]),
        json!([node("Hold", "wait", json!({"duration": 3600}))]),
        json!([["Start", "Hold", "out"]]),
    ));
    assert_eq!(status_of(&parked), "waiting");
    let done = start(flow(
        json!([]),
        json!([node("End", "end-flow", json!({}))]),
        json!([["Start", "End", "out"]]),
    ));
    assert_eq!(status_of(&done), "completed");
}

/// A new org with a published flow that parks on an hour-long wait; (org, flow id).
async fn published_wait(store: &Store) -> (String, String) {
    let now = store::now();
    let org = uuid::Uuid::new_v4().to_string();
    store
        .insert_org(&store::Org {
            id: org.clone(),
            name: "runner test".to_owned(),
            created_at: now,
        })
        .await
        .unwrap();
    let doc = flow(
        json!([]),
        json!([
            node("Hold", "wait", json!({"duration": 3600})),
            node("End", "end-flow", json!({}))
        ]),
        json!([["Start", "Hold", "out"], ["Hold", "End", "out"]]),
    );
    let flow_id = uuid::Uuid::new_v4().to_string();
    store
        .insert_flow(&store::FlowRecord {
            id: flow_id.clone(),
            org_id: org.clone(),
            name: "T".to_owned(),
            flow_type: "FLOW".to_owned(),
            description: None,
            status: "Draft".to_owned(),
            version: 0,
            document: doc,
            created_by: "test".to_owned(),
            created_date: now,
            last_modified_by: "test".to_owned(),
            last_modified_date: now,
            locked_by: None,
            locked_at: None,
            latest_version: None,
        })
        .await
        .unwrap();
    store
        .publish_flow(
            &org,
            &flow_id,
            &store::PublishRequest {
                comment: None,
                tags: vec![],
                actor: "test".to_owned(),
                at: now,
            },
        )
        .await
        .unwrap();
    (org, flow_id)
}

fn runner(store: Store, lease: Duration) -> Runner {
    let host = functions::FunctionHost::new(functions::HostConfig {
        js_pool_size: 1,
        py_pool_size: 1,
        ..functions::HostConfig::default()
    });
    let config = RunnerConfig {
        lease,
        ..RunnerConfig::default()
    };
    Runner::new(store, catalog::Catalog::builtin(), host, config).unwrap()
}

/// Polls until `runner` has `n` parked tasks (a liveness bound, not a timing assertion).
async fn parked(runner: &Runner, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while runner.parked() < n {
        assert!(
            Instant::now() < deadline,
            "{} of {n} parked",
            runner.parked()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn a_restarted_runner_resumes_every_parked_task_once() {
    const TASKS: usize = 25;
    const LEASE: Duration = Duration::from_millis(300);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("runner.db").display());

    // The first process starts the tasks, then dies with them (its runtime is dropped).
    let first = tokio::runtime::Runtime::new().unwrap();
    let (org, ids) = first.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        let (org, flow_id) = published_wait(&store).await;
        let runner = runner(store, LEASE);
        let mut ids = Vec::new();
        for _ in 0..TASKS {
            let record = runner
                .start(
                    &org,
                    &flow_id,
                    VersionSel::Latest,
                    Default::default(),
                    Default::default(),
                )
                .await
                .unwrap();
            assert_eq!(record.status, "waiting");
            ids.push(record.id);
        }
        parked(&runner, TASKS).await;
        (org, ids)
    });
    drop(first);

    let second = tokio::runtime::Runtime::new().unwrap();
    second.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        // The dead process's leases run out.
        tokio::time::sleep(LEASE * 2).await;
        let runner = runner(store.clone(), LEASE);
        assert_eq!(runner.resume_all().await.unwrap(), TASKS);
        parked(&runner, TASKS).await;
        assert_eq!(runner.live(), TASKS);
        for id in &ids {
            let timers = store.timers_of(id).await.unwrap();
            assert_eq!(timers.len(), 1, "{id}");
        }

        // No maintenance loop renews the leases here, so they run out again: a sweep must
        // leave the tasks this process runs alone instead of adopting them a second time.
        tokio::time::sleep(LEASE * 2).await;
        assert_eq!(runner.resume_all().await.unwrap(), 0);
        assert_eq!(runner.live(), TASKS);
        assert_eq!(runner.parked(), TASKS);

        // A resumed task still takes events (and is cancelled exactly once).
        runner
            .cancel(&org, &ids[0], "test".to_owned())
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let e = store.get_execution(&org, &ids[0]).await.unwrap().unwrap();
            if e.status == "cancelled" {
                break;
            }
            assert_eq!(e.status, "waiting");
            assert!(Instant::now() < deadline, "not cancelled");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
}

/// Polls `store` until `id` has `status` (a liveness bound, not a timing assertion).
async fn wait_for_status(store: &Store, org: &str, id: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let e = store.get_execution(org, id).await.unwrap().unwrap();
        if e.status == status {
            return;
        }
        assert!(Instant::now() < deadline, "{id} is {}", e.status);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Trace pages deferred into the row's tail: a process that died before moving them left
/// one in a task's tail; the process taking the task over moves it before its first step
/// replaces the tail, and once the task has finished and its pages are moved, the tail is
/// cleared. The trace reads complete and in order throughout, each record once.
#[test]
fn trace_pages_left_in_a_tail_by_a_dead_process_are_kept() {
    const LEASE: Duration = Duration::from_millis(300);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("runner.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        let (org, flow_id) = published_wait(&store).await;
        let first = runner(store.clone(), LEASE);
        let id = first
            .start(
                &org,
                &flow_id,
                VersionSel::Latest,
                <_>::default(),
                <_>::default(),
            )
            .await
            .unwrap()
            .id;
        parked(&first, 1).await;
        let started = store.trace_of(&org, &id).await.unwrap();
        assert!(!started.is_empty());

        // What the dead process wrote last: a step whose page (one record) is only in the
        // row's tail, and whose lease then ran out.
        let row = store.get_execution(&org, &id).await.unwrap().unwrap();
        let raw = |v: serde_json::Value| serde_json::value::to_raw_value(&v).unwrap();
        let at = store::now();
        let lost = store::Records::collect([json!({"node": "LostStep", "activity": "wait"})]);
        let page = store::TracePage::new(started.len() as i64 + 1, at, lost);
        store
            .checkpoint_execution(
                &org,
                &id,
                &store::Checkpoint {
                    expected_step: row.step,
                    status: row.status.clone(),
                    state: raw(row.state.clone()),
                    pending: raw(row.pending.clone()),
                    error: None,
                    finished_at: None,
                    timers: store
                        .timers_of(&id)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|t| (t.timer_id, t.due))
                        .collect(),
                    trace: store::StepTrace::Deferred {
                        tail: vec![page],
                        records: 1,
                    },
                    at,
                },
            )
            .await
            .unwrap();
        store.release_lease(&id, first.owner()).await.unwrap();
        drop(first);

        let second = runner(store.clone(), LEASE);
        assert_eq!(second.resume_all().await.unwrap(), 1);
        parked(&second, 1).await;
        second.cancel(&org, &id, "test".to_owned()).await.unwrap();
        wait_for_status(&store, &org, &id, "cancelled").await;

        let trace = store.trace_of(&org, &id).await.unwrap();
        let seqs: Vec<i64> = trace.iter().map(|t| t.seq).collect();
        assert_eq!(seqs, (1..=trace.len() as i64).collect::<Vec<_>>());
        // Had the new process not moved it, its empty tail would have lost the page.
        assert!(trace.len() > started.len(), "{trace:#?}");
        assert_eq!(trace[started.len()].record["node"], "LostStep");

        // The writer moves the finished task's pages and clears its tail.
        let deadline = Instant::now() + Duration::from_secs(30);
        while store.move_trace_tail(&id).await.unwrap() > 0 {
            assert!(Instant::now() < deadline, "tail never cleared");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(store.trace_of(&org, &id).await.unwrap(), trace);
    });
}
