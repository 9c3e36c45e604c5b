//! End-to-end scenarios: a realistic IVR (business hours, caller lookup, menu, queue with
//! announcements and music on hold, agent answers) and a work-item flow, snapshotted step
//! by step; percent-allocation determinism.

use engine::{BusinessHours, Command, Event, Outcome, Start, Status};
use serde_json::json;

use crate::harness::{fixture, Sim};

/// 08:00-17:59 London on weekdays, with a holiday on Friday 2026-01-16.
pub fn support_hours() -> BusinessHours {
    serde_json::from_value(json!({
        "name": "Support Hours", "timezone": "Europe/London",
        "workingHours": [{"name": "Weekdays", "days": ["MON", "TUE", "WED", "THU", "FRI"], "startTime": "08:00", "endTime": "17:59"}],
        "holidays": [{"name": "Company Day", "startDate": "2026-01-16", "endDate": "2026-01-16"}],
        "overrides": []
    }))
    .unwrap()
}

fn ivr() -> Sim {
    let mut sim = Sim::new(&fixture("ivr.json"));
    sim.env.add_business_hours(support_hours());
    sim
}

fn caller() -> Start {
    let mut s = Start::default();
    s.outputs.insert("ANI".into(), json!("+14155550100"));
    s.outputs.insert("DNIS".into(), json!("+18005550123"));
    s
}

#[test]
fn ivr_from_call_to_agent() {
    let mut sim = ivr();
    sim.start(caller());
    sim.send(
        0,
        Event::HttpResponse {
            id: 1,
            status: 200,
            headers: vec![],
            body: r#"{"name": "Ada", "tier": "gold"}"#.into(),
        },
    );
    // Nothing pressed: the menu asks again.
    sim.send(5, Event::TimerFired { id: 3 });
    let out = sim.send(2, Event::CallerInput { digits: "1".into() });
    assert!(
        matches!(&out.commands[1], Command::QueueContact(q) if q.queue == "Sales" && q.priority == Some(1))
    );
    sim.send(
        1,
        Event::reply_ok(6, json!({"queueId": "q-sales", "queueName": "Sales"})),
    );
    sim.send(
        0,
        Event::reply_ok(
            7,
            json!({"queueId": "q-sales", "positionInQueue": 2, "estimatedWaitTime": 60}),
        ),
    );
    sim.send(30, Event::TimerFired { id: 8 });
    sim.send(
        0,
        Event::reply_ok(9, json!({"queueId": "q-sales", "positionInQueue": 1})),
    );
    sim.send(
        12,
        Event::notify(
            "AgentAnswered",
            json!({"agentId": "agent-7", "agentName": "Grace"}),
        ),
    );
    sim.send(
        1,
        Event::HttpResponse {
            id: 11,
            status: 201,
            headers: vec![],
            body: String::new(),
        },
    );
    assert_eq!(
        sim.state().status(),
        &Status::Completed {
            outcome: Outcome::AgentConnected {
                agent_id: "agent-7".into()
            }
        }
    );
    assert_eq!(sim.state().variable("CustomerName"), Some(json!("Ada")));
    insta::assert_yaml_snapshot!(sim.log);
}

#[test]
fn ivr_outside_business_hours_and_on_holidays() {
    for (when, expect) in [
        ("2026-01-15T07:59:00Z", "closed"), // 07:59 London
        ("2026-01-15T08:00:00Z", "working"),
        ("2026-01-15T17:59:59Z", "working"),
        ("2026-01-15T18:00:00Z", "closed"),
        ("2026-01-16T12:00:00Z", "holiday"), // Company Day
        ("2026-01-17T12:00:00Z", "closed"),  // Saturday
        ("2026-07-15T07:30:00Z", "working"), // 08:30 BST
    ] {
        let mut sim = ivr();
        sim.now = chrono::DateTime::parse_from_rfc3339(when)
            .unwrap()
            .with_timezone(&chrono::Utc);
        let out = sim.start(caller());
        let hours = out.trace.iter().find(|r| &*r.node == "CheckHours").unwrap();
        assert_eq!(hours.outputs_json()["result"], json!(expect), "{when}");
        let closed = out.commands.contains(&Command::Disconnect);
        assert_eq!(closed, expect != "working", "{when}");
    }
}

#[test]
fn ivr_lookup_failure_goes_straight_to_the_menu() {
    let mut sim = ivr();
    sim.start(caller());
    let out = sim.send(
        5,
        Event::HttpFailed {
            id: 1,
            reason: engine::HttpFailure::Timeout,
            message: "5s".into(),
        },
    );
    assert_eq!(out.trace.get(0).unwrap().port.as_deref(), Some("error"));
    assert_eq!(out.trace.get(0).unwrap().next.as_deref(), Some("MainMenu"));
    assert!(
        matches!(&out.commands[0], Command::CollectDigits(c) if c.prompt.text.as_deref() == Some("Press 1 for sales, 2 for support."))
    );
}

#[test]
fn work_item_routed_by_its_data() {
    let mut sim = Sim::new(&fixture("work-item.json"));
    let mut start = Start {
        seed: 7,
        ..Start::default()
    };
    start.outputs.insert("InteractionId".into(), json!("wi-1"));
    start.outputs.insert(
        "WorkItemData".into(),
        json!({"customerAccountId": "3572653863", "claimNumber": "CLM1234567", "priority": "High"}),
    );
    let out = sim.start(start);
    assert_eq!(out.commands[0], Command::SetPriority { priority: 1 });
    assert!(
        matches!(&out.commands[1], Command::HttpRequest(r) if r.url == "https://claims.example.com/claims/CLM1234567")
    );
    sim.send(
        1,
        Event::HttpResponse {
            id: 1,
            status: 200,
            headers: vec![],
            body: r#"{"status": "Approved", "amount": 640.5}"#.into(),
        },
    );
    sim.send(
        1,
        Event::reply_ok(2, json!({"queueId": "q-claims-b", "queueName": "Claims-B"})),
    );
    assert_eq!(sim.state().variable("Amount"), Some(json!(640.5)));
    assert_eq!(
        sim.state().variable("Claim"),
        Some(json!({"status": "Approved", "amount": 640.5}))
    );
    // The flow ended with the work item queued; it listens for updates until the contact ends.
    assert_eq!(sim.state().status(), &Status::Waiting);
    sim.send(
        60,
        Event::notify(
            "WorkItemDataUpdated",
            json!({"workItemData": {"claimStatus": "Paid"}}),
        ),
    );
    assert_eq!(sim.state().variable("ClaimStatus"), Some(json!("Paid")));
    sim.send(
        600,
        Event::notify("ContactEnded", json!({"endedBy": "agent"})),
    );
    assert_eq!(
        sim.state().status(),
        &Status::Completed {
            outcome: Outcome::ContactEnded {
                ended_by: "agent".into()
            }
        }
    );
    insta::assert_yaml_snapshot!(sim.log);
}

#[test]
fn percent_allocation_is_deterministic_per_seed() {
    let branches: Vec<String> = (0..12)
        .map(|seed| {
            let mut sim = Sim::new(&fixture("work-item.json"));
            let mut start = Start {
                seed,
                ..Start::default()
            };
            start.outputs.insert(
                "WorkItemData".into(),
                json!({"claimNumber": "C", "priority": "Low"}),
            );
            sim.start(start);
            let out = sim.send(
                1,
                Event::HttpResponse {
                    id: 1,
                    status: 200,
                    headers: vec![],
                    body: r#"{"status": "Open", "amount": 10}"#.into(),
                },
            );
            let split = out.trace.iter().find(|r| &*r.node == "Split").unwrap();
            format!(
                "seed {seed}: {} ({}%)",
                split.next.as_deref().unwrap(),
                split.outputs_json()["percentage"]
            )
        })
        .collect();
    // Same seeds, same branches, run after run and release after release.
    insta::assert_yaml_snapshot!(branches);
}
