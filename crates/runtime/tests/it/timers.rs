//! Timers under the virtual clock (an hour's wait takes no time), parked tasks, resuming
//! them, and the driver's step bound.

use engine::{Command, Event, Reply, StaticEnv};
use runtime::{
    BoxFuture, Clock, LocalRouter, MockFunctions, OfflineHttp, Performers, Router, RunOptions,
    ScriptedCaller, Stop, VirtualClock,
};
use serde_json::json;

use crate::harness::{compile, engine, flow, node, path, run, status, t0, var, Setup};

#[tokio::test]
async fn a_wait_node_jumps_the_virtual_clock() {
    let doc = flow(
        json!([var("Waited", "STRING", "no")]),
        json!([
            node("Hold", "wait", json!({"duration": 3600})),
            node(
                "Mark",
                "set-variable",
                json!({"variableName": "Waited", "value": "yes"})
            )
        ]),
        json!([["Start", "Hold", "out"], ["Hold", "Mark", "out"]]),
    );
    let wall = std::time::Instant::now();
    let (r, end) = run(&doc, Setup::default()).await;
    assert!(wall.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(status(&r), "completed");
    assert_eq!(r.state.variable("Waited"), Some(json!("yes")));
    assert_eq!(end, t0() + chrono::Duration::hours(1));
    let hold = r
        .trace
        .iter()
        .find(|t| &*t.node == "Hold" && t.phase == engine::Phase::Completed)
        .unwrap();
    assert_eq!(hold.duration_ms, 3_600_000);
    let mark = r.trace.iter().find(|t| &*t.node == "Mark").unwrap();
    assert_eq!(mark.started_at, t0() + chrono::Duration::hours(1));
    assert!(r.events.contains(&Event::TimerFired { id: 1 }));
    assert_eq!(r.stop, Stop::Finished);
}

/// A router that never answers (routing's answer comes later).
struct Slow;

impl Router for Slow {
    fn request<'a>(&'a self, _: &'a Command) -> BoxFuture<'a, Option<Reply>> {
        Box::pin(std::future::ready(None))
    }
}

#[tokio::test]
async fn a_task_parks_on_an_unanswered_request_and_resumes_with_the_answer() {
    let doc = flow(
        json!([var("Q", "STRING", "")]),
        json!([
            node("Queue", "queue-contact", json!({"queue": "Sales"})),
            node(
                "Note",
                "set-variable",
                json!({"variableName": "Q", "value": "{{ Queue.queueName }}"})
            ),
            node("Oops", "end-flow", json!({}))
        ]),
        json!([
            ["Start", "Queue", "out"],
            ["Queue", "Note", "out"],
            ["Queue", "Oops", "error"]
        ]),
    );
    let program = compile(&doc);
    let mut env = StaticEnv::new();
    env.add_program(program.clone());
    let (functions, http, media, clock) = (
        MockFunctions::new(),
        OfflineHttp,
        ScriptedCaller::silent(),
        VirtualClock::new(t0()),
    );
    let p = Performers {
        functions: &functions,
        http: &http,
        media: &media,
        router: &Slow,
        checkpoint: None,
    };
    let engine = engine();
    let r = runtime::run_to_completion(&engine, &env, &program, Default::default(), p, &clock)
        .await
        .unwrap();
    assert_eq!(
        r.stop,
        Stop::Parked {
            waiting: vec!["Queue waits for a routing reply".into()]
        }
    );
    assert_eq!(status(&r), "waiting");

    let answer = Event::reply_ok(1, json!({"queueId": "q-1", "queueName": "Sales"}));
    let p = Performers {
        router: &LocalRouter::new(),
        ..p
    };
    let r = runtime::resume(
        &engine,
        &env,
        r.state,
        vec![answer],
        p,
        &clock,
        &RunOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.stop, Stop::Finished);
    assert_eq!(r.state.variable("Q"), Some(json!("Sales")));
    assert_eq!(path(&r)[0], ("Queue".into(), "out".into()));
}

#[tokio::test]
async fn the_driver_stops_at_its_step_bound() {
    let doc = flow(
        json!([]),
        json!([node("Hold", "wait", json!({"duration": 1}))]),
        json!([["Start", "Hold", "out"], ["Hold", "Hold", "out"]]),
    );
    let program = compile(&doc);
    let mut env = StaticEnv::new();
    env.add_program(program.clone());
    let (functions, http, media, router, clock) = (
        MockFunctions::new(),
        OfflineHttp,
        ScriptedCaller::silent(),
        LocalRouter::new(),
        VirtualClock::new(t0()),
    );
    let p = Performers {
        functions: &functions,
        http: &http,
        media: &media,
        router: &router,
        checkpoint: None,
    };
    let r = runtime::run_with(
        &engine(),
        &env,
        &program,
        Default::default(),
        p,
        &clock,
        &RunOptions {
            max_steps: 5,
            ..RunOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(r.stop, Stop::StepLimit { steps: 5 });
    assert_eq!(clock.now(), t0() + chrono::Duration::seconds(5));
    assert_eq!(status(&r), "waiting");
}
