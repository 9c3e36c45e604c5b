//! `escalate-cdg`: moves a queued contact to a later call distribution group of its queue
//! at once (`EscalateCdg`, answered by routing's `Reply` with `distributionGroup`). The
//! queue defaults to the one the contact is parked in; not queued takes `error` at once
//! (NOT_QUEUED), as does a reply of QUEUE_NOT_FOUND or NO_SUCH_GROUP.

use super::common::{int_of, reply};
use crate::command::Command;
use crate::compile::CompileCx;
use crate::event::Event;
use crate::expr::Expr;
use crate::run::{Cx, Outcome};
use crate::state::WaitOn;

#[derive(Debug)]
pub(crate) struct Config {
    queue: Option<Expr>,
    target_group: Option<u32>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        queue: cx.expr("queue")?,
        target_group: cx.int("targetGroup")?.map(|g| g.max(1) as u32),
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let queue = match &c.queue {
        Some(q) => match cx.text("queue", q) {
            Ok(q) => q,
            Err(f) => return Outcome::Fail(f),
        },
        None => match cx.task.routing.queue.clone() {
            Some(q) => q,
            None => return cx.failure("NOT_QUEUED", "the contact is not queued"),
        },
    };
    let id = cx.id();
    cx.emit(Command::EscalateCdg {
        id,
        queue,
        target_group: c.target_group,
    });
    Outcome::Wait(WaitOn::Reply { request: id })
}

pub(crate) fn resume(_: &Config, cx: &mut Cx<'_>, _: &WaitOn, event: &Event) -> Outcome {
    match reply(event) {
        Ok(out) => {
            cx.set_outputs([("distributionGroup", int_of(out, "distributionGroup"))]);
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
    fn escalates_the_queued_contact() {
        let k = Kit::new(flow(
            json!([]),
            json!([
                node("Queue", "queue-contact", json!({"queue": "Sales"})),
                node("Escalate", "escalate-cdg", json!({"targetGroup": 2})),
                node("Nope", "end-flow", json!({}))
            ]),
            json!([["Start", "Queue", "out"], ["Queue", "Escalate", "out"], ["Escalate", "Nope", "error"]]),
        ));
        let (mut st, _) = k.start();
        let out = k.step(&mut st, Event::reply_ok(1, json!({"queueId": "q-1"})), 1);
        assert_eq!(out.commands, vec![Command::EscalateCdg { id: 2, queue: "q-1".into(), target_group: Some(2) }]);
        let out = k.step(&mut st, Event::reply_ok(2, json!({"distributionGroup": 2})), 2);
        assert_eq!(outputs(&out, "Escalate")["distributionGroup"], json!(2));
    }

    #[test]
    fn not_queued_fails_at_once() {
        let k = Kit::new(flow(
            json!([]),
            json!([node("Escalate", "escalate-cdg", json!({})), node("Nope", "end-flow", json!({}))]),
            json!([["Start", "Escalate", "out"], ["Escalate", "Nope", "error"]]),
        ));
        let (_, out) = k.start();
        assert_eq!(outputs(&out, "Escalate")["errorCode"], json!("NOT_QUEUED"));
    }
}
