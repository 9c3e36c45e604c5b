//! `advanced-queue-info`: reads a queue's statistics over the last `lookbackMinutes`
//! (`AdvancedQueueInfo`, answered by routing's `Reply`), e.g. to route around a busy queue.
//! An unknown queue takes `error` (QUEUE_NOT_FOUND). Exposes `contactsInQueue`,
//! `longestWaitTime`, `averageWaitTime`, `loggedInAgents`, `availableAgents`.

use super::common::{int_of, reply};
use crate::command::Command;
use crate::compile::CompileCx;
use crate::event::Event;
use crate::expr::Expr;
use crate::run::{Cx, Outcome};
use crate::state::WaitOn;

#[derive(Debug)]
pub(crate) struct Config {
    queue: Expr,
    lookback: u32,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        queue: cx.expr_req("queue")?,
        lookback: cx.int("lookbackMinutes")?.unwrap_or(15).clamp(1, 1440) as u32,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let queue = match cx.text("queue", &c.queue) {
        Ok(q) => q,
        Err(f) => return Outcome::Fail(f),
    };
    let id = cx.id();
    cx.emit(Command::AdvancedQueueInfo {
        id,
        queue,
        lookback_minutes: c.lookback,
    });
    Outcome::Wait(WaitOn::Reply { request: id })
}

pub(crate) fn resume(_: &Config, cx: &mut Cx<'_>, _: &WaitOn, event: &Event) -> Outcome {
    match reply(event) {
        Ok(out) => {
            cx.set_outputs([
                ("contactsInQueue", int_of(out, "contactsInQueue")),
                ("longestWaitTime", int_of(out, "longestWaitTime")),
                ("averageWaitTime", int_of(out, "averageWaitTime")),
                ("loggedInAgents", int_of(out, "loggedInAgents")),
                ("availableAgents", int_of(out, "availableAgents")),
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
    fn reads_statistics_and_routes_on_them() {
        let k = Kit::new(flow(
            json!([]),
            json!([
                node("Stats", "advanced-queue-info", json!({"queue": "Sales", "lookbackMinutes": 30})),
                node("Busy", "condition", json!({"expression": "{{ Stats.availableAgents == 0 }}"})),
                node("Gone", "end-flow", json!({}))
            ]),
            json!([["Start", "Stats", "out"], ["Stats", "Busy", "out"], ["Stats", "Gone", "error"]]),
        ));
        let (mut st, out) = k.start();
        assert_eq!(out.commands, vec![Command::AdvancedQueueInfo { id: 1, queue: "Sales".into(), lookback_minutes: 30 }]);
        let out = k.step(&mut st, Event::reply_ok(1, json!({"contactsInQueue": 4, "availableAgents": 0})), 1);
        assert_eq!(path(&out)[1], ("Busy".into(), "true".into()));
        let (mut st, _) = k.start();
        let out = k.step(&mut st, Event::reply_err(1, "QUEUE_NOT_FOUND", "no such queue"), 1);
        assert_eq!(path(&out)[0], ("Stats".into(), "error".into()));
    }
}
