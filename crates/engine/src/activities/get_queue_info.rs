//! `get-queue-info`: reads the contact's position and estimated wait in a queue (the
//! given one, else the queue the contact is parked in) through `GetQueueInfo` and routing's
//! `Reply`. No queue given and the contact not queued takes `error` at once (NOT_QUEUED); an
//! unknown queue takes it with QUEUE_NOT_FOUND. Exposes `queueId`, `queueName`,
//! `positionInQueue`, `estimatedWaitTime`, `contactsInQueue`.

use super::common::{int_of, reply, str_of};
use crate::command::Command;
use crate::compile::CompileCx;
use crate::event::Event;
use crate::expr::Expr;
use crate::run::{Cx, Outcome};
use crate::state::WaitOn;

#[derive(Debug)]
pub(crate) struct Config {
    queue: Option<Expr>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config { queue: cx.expr("queue")? })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let queue = match &c.queue {
        Some(q) => match cx.text("queue", q) {
            Ok(q) => q,
            Err(f) => return Outcome::Fail(f),
        },
        None => match cx.task.routing.queue.clone() {
            Some(q) => q,
            None => return cx.failure("NOT_QUEUED", "no queue was given and the contact is not queued"),
        },
    };
    let id = cx.id();
    cx.emit(Command::GetQueueInfo { id, queue });
    Outcome::Wait(WaitOn::Reply { request: id })
}

pub(crate) fn resume(_: &Config, cx: &mut Cx<'_>, _: &WaitOn, event: &Event) -> Outcome {
    match reply(event) {
        Ok(out) => {
            cx.set_outputs([
                ("queueId", str_of(out, "queueId")),
                ("queueName", str_of(out, "queueName")),
                ("positionInQueue", int_of(out, "positionInQueue")),
                ("estimatedWaitTime", int_of(out, "estimatedWaitTime")),
                ("contactsInQueue", int_of(out, "contactsInQueue")),
            ]);
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
    use crate::{Command, Event};

    #[test]
    fn reads_the_contacts_queue() {
        let k = Kit::new(flow(
            json!([]),
            json!([
                node("Queue", "queue-contact", json!({"queue": "Sales"})),
                node("Info", "get-queue-info", json!({})),
                node("Say", "play-message", json!({"prompt": {"promptType": "text", "text": "You are number {{ Info.positionInQueue }}"}}))
            ]),
            json!([["Start", "Queue", "out"], ["Queue", "Info", "out"], ["Info", "Say", "out"]]),
        ));
        let (mut st, _) = k.start();
        let out = k.step(&mut st, Event::reply_ok(1, json!({"queueId": "q-1", "queueName": "Sales"})), 1);
        assert_eq!(out.commands, vec![Command::GetQueueInfo { id: 2, queue: "q-1".into() }]);
        let out = k.step(&mut st, Event::reply_ok(2, json!({"queueId": "q-1", "positionInQueue": 3, "estimatedWaitTime": "90"})), 2);
        assert_eq!(outputs(&out, "Info")["estimatedWaitTime"], json!(90));
        assert!(matches!(&out.commands[0], Command::PlayPrompt(p) if p.prompt.text.as_deref() == Some("You are number 3")));
    }

    #[test]
    fn not_queued_takes_the_error_port() {
        let k = Kit::new(flow(
            json!([]),
            json!([node("Info", "get-queue-info", json!({})), node("Nope", "end-flow", json!({}))]),
            json!([["Start", "Info", "out"], ["Info", "Nope", "error"]]),
        ));
        let (_, out) = k.start();
        assert_eq!(path(&out)[1], ("Info".into(), "error".into()));
        assert_eq!(outputs(&out, "Info")["errorCode"], json!("NOT_QUEUED"));
    }
}
