//! `queue-to-agent`: parks the contact for one agent (by id or email), reported in a queue
//! (`QueueToAgent`), and waits for routing's `Reply`: `agentId` and `queueId` on `out`, or
//! `error` (AGENT_NOT_FOUND, AGENT_UNAVAILABLE, QUEUE_NOT_FOUND). Routing re-queues the
//! contact for any agent of the queue after `recoveryTimeout` seconds.

use super::common::{priority, reply, str_of};
use crate::command::{Command, QueueToAgent};
use crate::compile::CompileCx;
use crate::event::Event;
use crate::expr::Expr;
use crate::run::{Cx, Failure, Outcome};
use crate::state::WaitOn;

#[derive(Debug)]
pub(crate) struct Config {
    agent: Expr,
    lookup: String,
    queue: Expr,
    park: bool,
    recovery: u32,
    priority: Option<Expr>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        agent: cx.expr_req("agent")?,
        lookup: cx.string("agentLookupType")?.unwrap_or_else(|| "id".to_owned()),
        queue: cx.expr_req("queue")?,
        park: cx.bool("parkIfUnavailable")?.unwrap_or(true),
        recovery: cx.int("recoveryTimeout")?.unwrap_or(30).max(1) as u32,
        priority: cx.expr("priority")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let resolved: Result<_, Failure> = (|| {
        let agent = cx.text("agent", &c.agent)?;
        let queue = cx.text("queue", &c.queue)?;
        let priority = c.priority.as_ref().map(|p| priority(cx, p)).transpose()?;
        Ok((agent, queue, priority))
    })();
    let (agent, queue, priority) = match resolved {
        Ok(r) => r,
        Err(f) => return Outcome::Fail(f),
    };
    let id = cx.id();
    cx.emit(Command::QueueToAgent(QueueToAgent {
        id,
        agent,
        agent_lookup_type: c.lookup.clone(),
        queue,
        park_if_unavailable: c.park,
        recovery_timeout_secs: c.recovery,
        priority,
    }));
    Outcome::Wait(WaitOn::Reply { request: id })
}

pub(crate) fn resume(_: &Config, cx: &mut Cx<'_>, _: &WaitOn, event: &Event) -> Outcome {
    match reply(event) {
        Ok(out) => {
            let queue_id = str_of(out, "queueId");
            cx.task.routing.queue = queue_id.as_str().map(str::to_owned);
            cx.set_outputs([("agentId", str_of(out, "agentId")), ("queueId", queue_id)]);
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
    use crate::Event;

    fn kit() -> Kit {
        Kit::new(flow(
            json!([var("Last", "STRING", "ada@example.com")]),
            json!([
                node("ToAgent", "queue-to-agent", json!({"agent": "{{ Last }}", "agentLookupType": "email", "queue": "Support"})),
                node("Gone", "end-flow", json!({}))
            ]),
            json!([["Start", "ToAgent", "out"], ["ToAgent", "Gone", "error"]]),
        ))
    }

    #[test]
    fn parks_for_one_agent() {
        let k = kit();
        let (mut st, out) = k.start();
        assert_eq!(
            commands(&out),
            vec![json!({"type": "queueToAgent", "id": 1, "agent": "ada@example.com", "agentLookupType": "email",
                        "queue": "Support", "parkIfUnavailable": true, "recoveryTimeoutSecs": 30})]
        );
        let out = k.step(&mut st, Event::reply_ok(1, json!({"agentId": "a-1", "queueId": "q-9"})), 1);
        assert_eq!(outputs(&out, "ToAgent")["agentId"], json!("a-1"));
        assert_eq!(st.routing().queue.as_deref(), Some("q-9"));
    }

    #[test]
    fn an_unavailable_agent_takes_the_error_port() {
        let k = kit();
        let (mut st, _) = k.start();
        let out = k.step(&mut st, Event::reply_err(1, "AGENT_UNAVAILABLE", "not logged in"), 1);
        assert_eq!(path(&out)[0], ("ToAgent".into(), "error".into()));
    }
}
