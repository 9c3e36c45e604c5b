//! Subflows (the shared-flows seed): success exit with input/output mappings, error exit.

use engine::{Command, Outcome, Start, Status};
use serde_json::json;

use crate::harness::{compile, fixture, Sim};

fn sim_with_shared(shared: serde_json::Value) -> Sim {
    let mut sim = Sim::new(&fixture("inbound-sales.json"));
    let mut shared = shared;
    shared["id"] = json!("flow-shared");
    shared["version"] = json!(4);
    sim.env.add_program(compile(&shared));
    sim
}

#[test]
fn success_exit_maps_variables_both_ways() {
    let mut sim = sim_with_shared(fixture("shared-greeting.json"));
    let out = sim.start(Start::default());
    assert!(
        matches!(&out.commands[0], Command::PlayPrompt(p) if p.prompt.language.as_deref() == Some("fr-FR"))
    );
    assert!(matches!(&out.commands[1], Command::QueueContact(q) if q.queue == "General Support"));
    assert_eq!(sim.state().variable("Heard"), Some(json!("greeting/fr-FR")));
    insta::assert_yaml_snapshot!(sim.log);
}

#[test]
fn an_unhandled_error_in_the_subflow_takes_the_error_exit() {
    let mut shared = fixture("shared-greeting.json");
    // The subflow fails at Remember: INTEGER from a string.
    shared["variables"][1]["type"] = json!("INTEGER");
    shared["variables"][1]["value"] = json!("0");
    let mut sim = sim_with_shared(shared);
    let out = sim.start(Start::default());
    assert_eq!(
        out.commands.last(),
        Some(&Command::End {
            status: Status::Completed {
                outcome: Outcome::Disconnected
            }
        })
    );
    assert!(
        sim.state().error().is_none(),
        "the caller's error exit handled it"
    );
    insta::assert_yaml_snapshot!(sim.log);
}

#[test]
fn a_missing_subflow_takes_the_error_exit() {
    let mut sim = Sim::new(&fixture("inbound-sales.json"));
    let out = sim.start(Start::default());
    let call = out
        .trace
        .iter()
        .find(|r| &*r.node == "InvokeShared")
        .unwrap();
    assert_eq!(call.port.as_deref(), Some("error"));
    assert_eq!(call.outputs_json()["errorCode"], json!("SUBFLOW_NOT_FOUND"));
    assert_eq!(
        sim.state().status(),
        &Status::Completed {
            outcome: Outcome::Disconnected
        }
    );
}
