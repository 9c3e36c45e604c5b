//! Event flow handlers beside the main flow, the contact ending, stale answers, cancel.

use engine::{Command, Event, Outcome, Start, Status};
use serde_json::json;

use crate::harness::{fixture, Sim};

fn handler(name: &str, spec: &str) -> serde_json::Value {
    json!({"id": format!("ev-{name}"), "name": name, "activityType": "event", "properties": {"activityName": "event",
        "eventSourceName": "WebexContactCenter", "eventClassificationName": "VoiceInteractions", "eventSpecificationName": spec}})
}

/// A menu flow whose event flow reports hang-ups to a CRM.
fn menu_flow() -> serde_json::Value {
    let mut doc = fixture("basic-flow.json");
    doc["nodes"][1] = json!({"id": "node-menu", "name": "Menu", "activityType": "action", "properties": {"activityName": "menu",
        "prompt": {"promptType": "text", "text": "Press 1"}, "entryTimeout": 5}});
    doc["edges"] = json!([
        {"id": "e1", "from": "NewContact", "to": "Menu", "condition": "out", "properties": {}},
        {"id": "e2", "from": "Menu", "to": "DisconnectContact", "condition": "digit", "properties": {"digit": "1"}},
        {"id": "e3", "from": "Menu", "to": "DisconnectContact", "condition": "default", "properties": {}}
    ]);
    doc["eventFlows"] = json!({
        "nodes": [
            handler("Hungup", "PhoneContactEnded"),
            {"id": "ev-http", "name": "Report", "activityType": "action", "properties": {"activityName": "http-request",
              "method": "POST", "url": "https://crm.example.com/abandoned", "body": {"by": "{{ Hungup.disconnectedBy }}", "after": "{{ Hungup.callDuration }}"}}}
        ],
        "edges": [{"id": "ee1", "from": "Hungup", "to": "Report", "condition": "out", "properties": {}}]
    });
    doc
}

#[test]
fn a_hang_up_stops_the_flow_and_runs_its_handler() {
    let mut sim = Sim::new(&menu_flow());
    sim.start(Start::default());
    let out = sim.send(2, Event::CallerHangup);
    // The menu's timer is cancelled; the handler reports and waits for the response.
    assert_eq!(out.commands[0], Command::CancelTimer { id: 2 });
    assert!(
        matches!(&out.commands[1], Command::HttpRequest(r) if r.body.as_deref() == Some(r#"{"by":"caller","after":2}"#))
    );
    assert_eq!(sim.state().status(), &Status::Waiting);
    // A late digit is ignored; the handler's response ends the task.
    assert!(sim
        .send(1, Event::CallerInput { digits: "1".into() })
        .ignored
        .is_some());
    sim.send(
        1,
        Event::HttpResponse {
            id: 3,
            status: 204,
            headers: vec![],
            body: String::new(),
        },
    );
    assert_eq!(
        sim.state().status(),
        &Status::Completed {
            outcome: Outcome::ContactEnded {
                ended_by: "customer".into()
            }
        }
    );
    insta::assert_yaml_snapshot!(sim.log);
}

#[test]
fn a_handler_runs_while_the_main_flow_stays_parked() {
    let mut doc = fixture("work-item.json");
    doc["nodes"][1]["properties"]["expression"] = json!("{{ NewWorkItem.WorkItemData.priority }}");
    let mut sim = Sim::new(&doc);
    let mut start = Start::default();
    start.outputs.insert(
        "WorkItemData".into(),
        json!({"priority": "Low", "claimNumber": "CLM1"}),
    );
    sim.start(start);
    // Parked on the claims API; an update arrives meanwhile.
    let out = sim.send(
        1,
        Event::notify(
            "WorkItemDataUpdated",
            json!({"workItemData": {"claimStatus": "Escalated"}}),
        ),
    );
    assert_eq!(out.trace.len(), 2, "{:?}", out.trace);
    assert_eq!(
        sim.state().variable("ClaimStatus"),
        Some(json!("Escalated"))
    );
    assert!(
        sim.state().threads()[0].wait.is_some(),
        "the main flow still waits for its HTTP response"
    );
}

#[test]
fn unknown_and_stale_events_are_ignored() {
    let mut sim = Sim::new(&menu_flow());
    sim.start(Start::default());
    for ev in [
        Event::TimerFired { id: 42 },
        Event::HttpResponse {
            id: 1,
            status: 200,
            headers: vec![],
            body: String::new(),
        },
        Event::reply_ok(7, json!({})),
        Event::notify("QueueTimeout", json!({})),
        Event::notify("GlobalErrorHandling", json!({})),
    ] {
        let before = sim.state().clone();
        let out = sim.send(0, ev);
        assert!(out.ignored.is_some() && out.commands.is_empty() && out.trace.is_empty());
        assert_eq!(&before, sim.state());
    }
}

#[test]
fn cancel_stops_everything() {
    let mut sim = Sim::new(&menu_flow());
    sim.start(Start::default());
    let out = sim.send(
        1,
        Event::Cancel {
            reason: "operator".into(),
        },
    );
    assert_eq!(out.commands[0], Command::CancelTimer { id: 2 });
    assert_eq!(
        sim.state().status(),
        &Status::Completed {
            outcome: Outcome::Cancelled {
                reason: "operator".into()
            }
        }
    );
    assert!(sim.state().pending_timers().is_empty());
    let after = sim.send(1, Event::CallerInput { digits: "1".into() });
    assert!(after.ignored.is_some());
}

#[test]
fn a_fault_on_a_waiting_node_fails_it_at_once() {
    let mut sim = Sim::new(&menu_flow());
    sim.start(Start::default());
    let out = sim.send(
        1,
        Event::FaultInjected {
            node: "Menu".into(),
            code: "MEDIA_FAILURE".into(),
            message: String::new(),
        },
    );
    assert_eq!(out.commands[0], Command::CancelTimer { id: 2 });
    let Status::Failed { error } = sim.state().status() else {
        panic!()
    };
    assert_eq!(
        (error.node.as_str(), error.code.as_str()),
        ("Menu", "MEDIA_FAILURE")
    );
}
