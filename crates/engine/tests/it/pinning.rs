//! Version pinning: a task finishes on the flow version it started on, whatever is
//! published meanwhile; tasks started afterwards run the new version.

use engine::{Event, Program, ProgramKey, Start, StaticEnv};
use serde_json::json;

use crate::harness::{compile, fixture, Sim};

fn version(v: i64, greeting: &str) -> std::sync::Arc<Program> {
    let mut doc = fixture("basic-flow.json");
    doc["id"] = json!("flow-1");
    doc["version"] = json!(v);
    doc["variables"] = json!([{"name": "Said", "type": "STRING", "value": ""}]);
    // Wait first, then greet: the task is parked on v1 when v2 is published.
    doc["nodes"][1] = json!({"id": "node-wait", "name": "Pause", "activityType": "action", "properties": {"activityName": "wait", "duration": 10}});
    doc["nodes"].as_array_mut().unwrap().push(
        json!({"id": "node-say", "name": "Say", "activityType": "action",
        "properties": {"activityName": "set-variable", "variableName": "Said", "value": greeting}}),
    );
    doc["edges"] = json!([
        {"id": "e1", "from": "NewContact", "to": "Pause", "condition": "out", "properties": {}},
        {"id": "e2", "from": "Pause", "to": "Say", "condition": "out", "properties": {}},
        {"id": "e3", "from": "Say", "to": "DisconnectContact", "condition": "out", "properties": {}}
    ]);
    compile(&doc)
}

#[test]
fn a_task_finishes_on_the_version_it_started_on() {
    let v1 = version(1, "hello from v1");
    let v2 = version(2, "hello from v2");
    assert_eq!(v1.key(), &ProgramKey::new("flow-1", 1));

    let mut sim = Sim::new(&fixture("basic-flow.json"));
    sim.env = StaticEnv::new();
    sim.env.add_program(v1.clone());
    sim.program = v1;
    sim.start(Start::default());
    assert_eq!(sim.state().flow(), &ProgramKey::new("flow-1", 1));

    // Publish v2 while the task waits: new tasks start on it.
    sim.env.add_program(v2.clone());
    let (mut newer, _) = sim
        .engine
        .start(&sim.env, &v2, Start::default(), sim.now)
        .unwrap();

    sim.send(10, Event::TimerFired { id: 1 });
    assert_eq!(sim.state().variable("Said"), Some(json!("hello from v1")));
    sim.engine
        .step(&sim.env, &mut newer, Event::TimerFired { id: 1 }, sim.now)
        .unwrap();
    assert_eq!(newer.variable("Said"), Some(json!("hello from v2")));
    assert_eq!(newer.flow(), &ProgramKey::new("flow-1", 2));
    insta::assert_yaml_snapshot!(sim.log);
}

#[test]
fn a_task_whose_version_is_gone_is_an_infrastructure_error() {
    let v1 = version(1, "v1");
    let mut env = StaticEnv::new();
    env.add_program(v1.clone());
    let engine = engine::Engine::default();
    let (mut st, _) = engine
        .start(&env, &v1, Start::default(), crate::harness::t0())
        .unwrap();
    let empty = StaticEnv::new();
    let err = engine
        .step(
            &empty,
            &mut st,
            Event::TimerFired { id: 1 },
            crate::harness::t0(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        engine::EngineError::ProgramMissing(ProgramKey::new("flow-1", 1))
    );
    assert_eq!(
        err.to_string(),
        "program flow-1@1 is not available to the engine"
    );
}
