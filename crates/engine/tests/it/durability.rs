//! The checkpoint: a task serialized at a wait point and restored finishes exactly as an
//! uninterrupted one, and what a parked task costs.

use engine::{Event, Start, TaskState};
use serde_json::json;

use crate::harness::{fixture, Sim};

fn reply_script() -> Vec<(i64, Event)> {
    vec![
        (
            0,
            Event::HttpResponse {
                id: 1,
                status: 200,
                headers: vec![],
                body: r#"{"name": "Ada", "tier": "gold"}"#.into(),
            },
        ),
        (3, Event::CallerInput { digits: "1".into() }),
        (
            1,
            Event::reply_ok(4, json!({"queueId": "q-sales", "queueName": "Sales"})),
        ),
        (
            0,
            Event::reply_ok(5, json!({"queueId": "q-sales", "positionInQueue": 2})),
        ),
        (30, Event::TimerFired { id: 6 }),
        (
            0,
            Event::reply_ok(7, json!({"queueId": "q-sales", "positionInQueue": 1})),
        ),
        (
            12,
            Event::notify("AgentAnswered", json!({"agentId": "agent-7"})),
        ),
        (
            1,
            Event::HttpResponse {
                id: 9,
                status: 201,
                headers: vec![],
                body: String::new(),
            },
        ),
    ]
}

fn ivr() -> Sim {
    let mut sim = Sim::new(&fixture("ivr.json"));
    sim.env
        .add_business_hours(crate::scenarios::support_hours());
    sim
}

fn ani() -> Start {
    let mut s = Start::default();
    s.outputs.insert("ANI".into(), json!("+14155550100"));
    s
}

#[test]
fn a_restored_checkpoint_finishes_like_an_uninterrupted_task() {
    // Uninterrupted.
    let mut a = ivr();
    a.start(ani());
    for (secs, ev) in reply_script() {
        a.send(secs, ev);
    }
    // Serialized and restored before every event (a restart at every wait point).
    let mut b = ivr();
    b.start(ani());
    for (secs, ev) in reply_script() {
        let text = serde_json::to_string(b.state()).unwrap();
        let restored: TaskState = serde_json::from_str(&text).unwrap();
        assert_eq!(&restored, b.state());
        b.state = Some(restored);
        b.send(secs, ev);
    }
    assert_eq!(a.log, b.log);
    assert!(a.state().is_finished());
}

#[test]
fn serialize_while_waiting_on_a_timer_then_resume() {
    let mut doc = fixture("basic-flow.json");
    doc["nodes"][1] = json!({"id": "node-wait", "name": "Pause", "activityType": "action", "properties": {"activityName": "wait", "duration": 3600}});
    doc["edges"][0]["to"] = json!("Pause");
    doc["edges"][1]["from"] = json!("Pause");
    let mut sim = Sim::new(&doc);
    sim.start(Start::default());
    let checkpoint = serde_json::to_value(sim.state()).unwrap();
    insta::assert_yaml_snapshot!(checkpoint);
    // The process dies here. A new one reads the checkpoint and the pending timer...
    let restored: TaskState = serde_json::from_value(checkpoint).unwrap();
    let timer = restored.pending_timers()[0].clone();
    assert_eq!(
        timer.due,
        crate::harness::t0() + chrono::Duration::seconds(3600)
    );
    sim.state = Some(restored);
    // ...and fires it late (overdue after the restart).
    let out = sim.send(4000, Event::TimerFired { id: timer.id });
    assert_eq!(out.trace.get(0).unwrap().duration_ms, 4_000_000);
    assert!(sim.state().is_finished());
    // A duplicate delivery changes nothing.
    let again = sim.send(1, Event::TimerFired { id: timer.id });
    assert!(again.ignored.is_some() && again.commands.is_empty());
}

#[test]
fn a_task_parked_in_a_queue_is_small() {
    let mut sim = ivr();
    sim.start(ani());
    for (secs, ev) in reply_script().into_iter().take(5) {
        sim.send(secs, ev);
    }
    let st = sim.state();
    assert!(st.threads()[0].wait.is_some());
    let total = serde_json::to_vec(st).unwrap().len();
    let overhead = st.overhead_bytes();
    assert!(overhead <= 2048, "overhead {overhead} bytes");
    assert!(total < 4096, "total {total} bytes");
}
