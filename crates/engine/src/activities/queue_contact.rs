//! `queue-contact`: parks the contact in a queue (`QueueContact`, with an optional priority
//! and skill requirements) and waits for routing's `Reply`; on success it exposes `queueId`
//! and `queueName`, records the queue on the task, and continues on `out` while the contact
//! waits for an agent (typically into music on hold). An unknown, inactive or full queue
//! takes `error` (QUEUE_NOT_FOUND, QUEUE_INACTIVE, QUEUE_FULL). When an agent answers
//! (`Notify AgentAnswered`), the main flow stops: the contact is with the agent.

use super::common::{priority, reply, str_of};
use crate::command::{Command, QueueContact};
use crate::compile::{CompileCx, Input};
use crate::event::Event;
use crate::expr::Expr;
use crate::run::{Cx, Outcome};
use crate::state::WaitOn;
use crate::value::to_json;

#[derive(Debug)]
pub(crate) struct Config {
    queue: Expr,
    priority: Option<Expr>,
    skills: Option<Input>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        queue: cx.expr_req("queue")?,
        priority: cx.expr("priority")?,
        skills: cx.input("skillRequirements")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let queue = match cx.text("queue", &c.queue) {
        Ok(q) => q,
        Err(f) => return Outcome::Fail(f),
    };
    let priority = match c.priority.as_ref().map(|p| priority(cx, p)).transpose() {
        Ok(p) => p,
        Err(f) => return Outcome::Fail(f),
    };
    let skill_requirements = match &c.skills {
        Some(s) => match cx.eval_input("skillRequirements", s) {
            Ok(v) => match to_json(&v) {
                serde_json::Value::Array(items) => items,
                _ => Vec::new(),
            },
            Err(f) => return Outcome::Fail(f),
        },
        None => Vec::new(),
    };
    let id = cx.id();
    cx.emit(Command::QueueContact(QueueContact {
        id,
        queue,
        priority,
        skill_requirements,
    }));
    Outcome::Wait(WaitOn::Reply { request: id })
}

pub(crate) fn resume(_: &Config, cx: &mut Cx<'_>, _: &WaitOn, event: &Event) -> Outcome {
    match reply(event) {
        Ok(out) => {
            let queue_id = str_of(out, "queueId");
            cx.task.routing.queue = queue_id.as_str().map(str::to_owned);
            cx.set_outputs([("queueId", queue_id), ("queueName", str_of(out, "queueName"))]);
            Outcome::Port("out")
        }
        Err(Outcome::Fail(f)) => cx.failure_with(f),
        Err(other) => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::{Event, Outcome, Status};

    fn kit(handlers: bool) -> Kit {
        let mut doc = flow(
            json!([var("P", "INTEGER", "2")]),
            json!([
                node("Queue", "queue-contact", json!({"queue": "Sales", "priority": "{{ P }}",
                    "skillRequirements": [{"skill": "Spanish", "condition": "is", "value": true}]})),
                node("Music", "play-music", json!({"audioFile": "hold.wav", "duration": 30})),
                node("Full", "disconnect-contact", json!({}))
            ]),
            json!([["Start", "Queue", "out"], ["Queue", "Music", "out"], ["Music", "Music", "out"], ["Queue", "Full", "error"]]),
        );
        if handlers {
            doc["eventFlows"] = json!({"nodes": [
                {"id": "ev", "name": "Ended", "activityType": "event", "properties": {"activityName": "event",
                 "eventSourceName": "WebexContactCenter", "eventClassificationName": "VoiceInteractions", "eventSpecificationName": "ContactEnded"}}
            ], "edges": []});
        }
        Kit::new(doc)
    }

    #[test]
    fn parks_then_hands_over_to_the_agent() {
        let k = kit(false);
        let (mut st, out) = k.start();
        assert_eq!(
            commands(&out),
            vec![json!({"type": "queueContact", "id": 1, "queue": "Sales", "priority": 2,
                        "skillRequirements": [{"skill": "Spanish", "condition": "is", "value": true}]})]
        );
        let out = k.step(&mut st, Event::reply_ok(1, json!({"queueId": "q-1", "queueName": "Sales"})), 1);
        assert_eq!(outputs(&out, "Queue"), json!({"queueId": "q-1", "queueName": "Sales", "errorCode": "", "errorMessage": ""}));
        assert_eq!(st.routing().queue.as_deref(), Some("q-1"));
        // Music on hold loops on a timer until an agent answers.
        let out = k.step(&mut st, Event::TimerFired { id: 2 }, 31);
        assert_eq!(path(&out), vec![("Music".into(), "out".into())]);
        let out = k.step(&mut st, Event::notify("AgentAnswered", json!({"agentId": "agent-7"})), 40);
        assert_eq!(st.status(), &Status::Completed { outcome: Outcome::AgentConnected { agent_id: "agent-7".into() } });
        assert!(out.commands.iter().any(|c| matches!(c, crate::Command::CancelTimer { .. })));
    }

    #[test]
    fn a_flow_with_contact_handlers_listens_until_the_contact_ends() {
        let k = kit(true);
        let (mut st, _) = k.start();
        k.step(&mut st, Event::reply_ok(1, json!({"queueId": "q-1"})), 1);
        k.step(&mut st, Event::notify("AgentAnswered", json!({"agentId": "agent-7"})), 2);
        assert_eq!(st.status(), &Status::Waiting);
        let out = k.step(&mut st, Event::notify("ContactEnded", json!({"endedBy": "agent"})), 300);
        assert_eq!(path(&out), vec![("Ended".into(), "out".into())]);
        assert_eq!(st.status(), &Status::Completed { outcome: Outcome::ContactEnded { ended_by: "agent".into() } });
    }

    #[test]
    fn a_full_queue_takes_the_error_port() {
        let k = kit(false);
        let (mut st, _) = k.start();
        let out = k.step(&mut st, Event::reply_err(1, "QUEUE_FULL", "Sales is full"), 1);
        assert_eq!(path(&out)[0], ("Queue".into(), "error".into()));
        assert_eq!(outputs(&out, "Queue")["errorMessage"], json!("Node 'Queue': Sales is full"));
        assert_eq!(st.status(), &Status::Completed { outcome: Outcome::Disconnected });
    }
}
