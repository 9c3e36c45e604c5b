//! Failure routing and the step budget.

use engine::{Command, EngineConfig, Event, Outcome, Start, Status};
use serde_json::json;

use crate::harness::{fixture, Sim};

#[test]
fn a_runaway_loop_hits_the_default_budget_of_10000() {
    let mut sim = Sim::with_config(
        &fixture("loop.json"),
        EngineConfig {
            trace: engine::TraceLevel::Off,
            ..EngineConfig::default()
        },
    );
    sim.start(Start::default());
    let st = sim.state();
    let Status::Failed { error } = st.status() else {
        panic!("{:?}", st.status())
    };
    assert_eq!(error.code, "STEP_BUDGET_EXCEEDED");
    assert!(
        error.message.contains("step budget of 10000"),
        "{}",
        error.message
    );
    assert_eq!(st.steps(), 10_001);
    // start + (increment, again) * n: the 10,001st execution is refused.
    assert_eq!(st.variable("Count"), Some(json!(5000)));
}

#[test]
fn the_budget_error_goes_to_the_global_handler_with_grace_steps() {
    let mut doc = fixture("loop.json");
    doc["eventFlows"] = json!({
        "nodes": [
            {"id": "ev", "name": "GlobalErrorHandling", "activityType": "event", "properties": {"activityName": "event",
              "eventSourceName": "WebexContactCenter", "eventClassificationName": "VoiceInteractions", "eventSpecificationName": "GlobalErrorHandling"}},
            {"id": "ev-msg", "name": "Sorry", "activityType": "action", "properties": {"activityName": "play-message",
              "prompt": {"promptType": "text", "text": "Error {{ GlobalErrorHandling.errorCode }} at {{ GlobalErrorHandling.errorNodeName }}"}}},
            {"id": "ev-end", "name": "HangUp", "activityType": "end", "properties": {"activityName": "disconnect-contact"}}
        ],
        "edges": [
            {"id": "ee1", "from": "GlobalErrorHandling", "to": "Sorry", "condition": "out", "properties": {}},
            {"id": "ee2", "from": "Sorry", "to": "HangUp", "condition": "out", "properties": {}}
        ]
    });
    let mut sim = Sim::with_config(
        &doc,
        EngineConfig {
            step_budget: 7,
            ..EngineConfig::default()
        },
    );
    let out = sim.start(Start::default());
    assert!(out.commands.iter().any(|c| matches!(c, Command::PlayPrompt(p) if p.prompt.text.as_deref() == Some("Error STEP_BUDGET_EXCEEDED at Increment"))));
    assert_eq!(
        sim.state().status(),
        &Status::Completed {
            outcome: Outcome::Disconnected
        }
    );
    insta::assert_yaml_snapshot!(sim.log);
}

#[test]
fn a_handler_that_loops_too_fails_the_task() {
    let mut doc = fixture("loop.json");
    doc["eventFlows"] = json!({
        "nodes": [
            {"id": "ev", "name": "GlobalErrorHandling", "activityType": "event", "properties": {"activityName": "event",
              "eventSourceName": "WebexContactCenter", "eventClassificationName": "VoiceInteractions", "eventSpecificationName": "GlobalErrorHandling"}},
            {"id": "ev-loop", "name": "Spin", "activityType": "action", "properties": {"activityName": "set-variable", "variableName": "Count", "value": "{{ Count + 1 }}"}}
        ],
        "edges": [
            {"id": "ee1", "from": "GlobalErrorHandling", "to": "Spin", "condition": "out", "properties": {}},
            {"id": "ee2", "from": "Spin", "to": "Spin", "condition": "out", "properties": {}}
        ]
    });
    let mut sim = Sim::with_config(
        &doc,
        EngineConfig {
            step_budget: 10,
            error_grace_steps: 5,
            trace: engine::TraceLevel::Path,
            ..EngineConfig::default()
        },
    );
    sim.start(Start::default());
    let Status::Failed { error } = sim.state().status() else {
        panic!()
    };
    assert_eq!(error.code, "STEP_BUDGET_EXCEEDED");
    assert_eq!(error.node, "Spin");
    assert_eq!(sim.state().steps(), 16);
}

#[test]
fn error_port_then_default_edge_then_global_handler() {
    // http-request has an error port: its edge wins; without it the default edge catches
    // the error; without both the global handler runs.
    let flow = |edges: serde_json::Value| {
        let mut doc = json!({
            "name": "Routing", "flowType": "FLOW", "contactType": "telephony", "variables": [],
            "nodes": [
                {"id": "s", "name": "NewContact", "activityType": "start", "properties": {"activityName": "start", "flowType": {
                    "eventSourceName": "WebexContactCenter", "eventClassificationName": "VoiceInteractions", "eventSpecificationName": "ContactStartWorkflow"}}},
                {"id": "h", "name": "Call", "activityType": "action", "properties": {"activityName": "http-request", "url": "https://api.example.com/x"}},
                {"id": "e", "name": "OnError", "activityType": "end", "properties": {"activityName": "end-flow"}},
                {"id": "d", "name": "OnDefault", "activityType": "end", "properties": {"activityName": "end-flow"}},
                {"id": "o", "name": "OnOut", "activityType": "end", "properties": {"activityName": "end-flow"}}
            ],
            "edges": edges
        });
        doc["eventFlows"] = json!({
            "nodes": [
                {"id": "ev", "name": "GlobalErrorHandling", "activityType": "event", "properties": {"activityName": "event",
                  "eventSourceName": "WebexContactCenter", "eventClassificationName": "VoiceInteractions", "eventSpecificationName": "GlobalErrorHandling"}},
                {"id": "g", "name": "Global", "activityType": "end", "properties": {"activityName": "end-flow"}}
            ],
            "edges": [{"id": "ge", "from": "GlobalErrorHandling", "to": "Global", "condition": "out", "properties": {}}]
        });
        doc
    };
    let start = json!({"id": "e0", "from": "NewContact", "to": "Call", "condition": "out", "properties": {}});
    let on = |c: &str, to: &str| json!({"id": format!("e-{c}"), "from": "Call", "to": to, "condition": c, "properties": {}});
    let cases = [
        (
            json!([
                start,
                on("out", "OnOut"),
                on("error", "OnError"),
                on("default", "OnDefault")
            ]),
            "OnError",
        ),
        (
            json!([start, on("out", "OnOut"), on("default", "OnDefault")]),
            "OnDefault",
        ),
        (json!([start, on("out", "OnOut")]), "Global"),
    ];
    for (edges, expect) in cases {
        let mut sim = Sim::new(&flow(edges));
        sim.start(Start::default());
        let out = sim.send(
            10,
            Event::HttpFailed {
                id: 1,
                reason: engine::HttpFailure::Timeout,
                message: "no answer in 10s".into(),
            },
        );
        let last = out.trace.last().unwrap();
        assert_eq!(&*last.node, expect, "{:?}", out.trace);
        assert!(matches!(sim.state().status(), Status::Completed { .. }));
        let handled_globally = sim.state().error().is_some();
        assert_eq!(handled_globally, expect == "Global");
    }
}

#[test]
fn an_error_inside_the_error_handler_fails_the_task() {
    let mut doc = fixture("error-handler-flow.json");
    doc["eventFlows"]["nodes"][1] = json!({"id": "event-end", "name": "EndOnError", "activityType": "action",
        "properties": {"activityName": "set-variable", "variableName": "Nope", "value": "x"}});
    let mut sim = Sim::new(&doc);
    sim.start(Start {
        faults: vec![engine::Fault {
            node: "WelcomeMessage".into(),
            code: "MEDIA_FAILURE".into(),
            message: String::new(),
        }],
        ..Start::default()
    });
    let Status::Failed { error } = sim.state().status() else {
        panic!()
    };
    assert_eq!(error.code, "UNKNOWN_VARIABLE");
    assert_eq!(error.node, "EndOnError");
}
