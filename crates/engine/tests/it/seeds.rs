//! The guide's two flows: the basic flow and the flow with a global error handler.

use engine::{Command, Event, Outcome, Start, Status};
use serde_json::json;

use crate::harness::{fixture, Sim};

fn caller() -> Start {
    let mut s = Start::default();
    s.outputs.insert("ANI".into(), json!("+14155550100"));
    s.outputs.insert("DNIS".into(), json!("+18005550123"));
    s.outputs.insert("InteractionId".into(), json!("c0ffee"));
    s
}

#[test]
fn basic_flow_greets_and_disconnects() {
    let mut sim = Sim::new(&fixture("basic-flow.json"));
    let out = sim.start(caller());
    assert!(
        matches!(&out.commands[0], Command::PlayPrompt(p) if p.prompt.text.as_deref() == Some("Thank you for calling. Goodbye."))
    );
    assert_eq!(out.commands[1], Command::Disconnect);
    assert_eq!(
        sim.state().status(),
        &Status::Completed {
            outcome: Outcome::Disconnected
        }
    );
    insta::assert_yaml_snapshot!(sim.log);
}

#[test]
fn error_handler_flow_routes_a_failure_to_the_event_flow() {
    let mut sim = Sim::new(&fixture("error-handler-flow.json"));
    sim.full_trace = true;
    sim.start(Start {
        faults: vec![engine::Fault {
            node: "WelcomeMessage".into(),
            code: "MEDIA_FAILURE".into(),
            message: "the media port is down".into(),
        }],
        ..caller()
    });
    let st = sim.state();
    assert_eq!(
        st.status(),
        &Status::Completed {
            outcome: Outcome::Disconnected
        }
    );
    assert_eq!(st.error().map(|e| e.code.as_str()), Some("MEDIA_FAILURE"));
    insta::assert_yaml_snapshot!(sim.log);
}

#[test]
fn the_same_failure_without_a_handler_fails_the_task() {
    let mut sim = Sim::new(&fixture("basic-flow.json"));
    sim.start(caller());
    // Inject while running: the flow has finished, so the fault is ignored...
    let out = sim.send(
        1,
        Event::FaultInjected {
            node: "WelcomeMessage".into(),
            code: "MEDIA_FAILURE".into(),
            message: String::new(),
        },
    );
    assert!(out.ignored.is_some());
    // ...and armed at the start, it fails the task, recorded.
    let mut sim = Sim::new(&fixture("basic-flow.json"));
    sim.start(Start {
        faults: vec![engine::Fault {
            node: "WelcomeMessage".into(),
            code: "MEDIA_FAILURE".into(),
            message: String::new(),
        }],
        ..caller()
    });
    let Status::Failed { error } = sim.state().status() else {
        panic!("{:?}", sim.state().status())
    };
    assert_eq!(error.node, "WelcomeMessage");
    assert_eq!(error.activity, "play-message");
    assert_eq!(error.message, "Node 'WelcomeMessage': fault injected");
    insta::assert_yaml_snapshot!(sim.log);
}
