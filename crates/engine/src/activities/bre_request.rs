//! `bre-request`: asks the business rules engine to evaluate `ruleName` with `parameters`
//! (`BreRequest`) and waits for the `Reply`; its `result` member (or the whole reply) is
//! exposed as `result`. A failed reply takes `error` with its code (BRE_NOT_CONFIGURED,
//! RULE_NOT_FOUND, TIMEOUT). Local behaviour: there is no rules engine yet; flow tests mock
//! the reply and a server answers BRE_NOT_CONFIGURED.


use super::common::reply;
use crate::command::{BreRequest, Command};
use crate::compile::{CompileCx, Input};
use crate::event::Event;
use crate::run::{Cx, Outcome};
use crate::state::WaitOn;
use crate::value::{from_json, to_json};

#[derive(Debug)]
pub(crate) struct Config {
    rule: String,
    parameters: Option<Input>,
    timeout: u32,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        rule: cx.string("ruleName")?.ok_or("input 'ruleName' is required")?,
        parameters: cx.input("parameters")?,
        timeout: cx.int("timeoutInSec")?.unwrap_or(5).clamp(1, 30) as u32,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let parameters = match &c.parameters {
        Some(p) => match cx.eval_input("parameters", p) {
            Ok(v) => to_json(&v),
            Err(f) => return Outcome::Fail(f),
        },
        None => serde_json::json!({}),
    };
    let id = cx.id();
    cx.emit(Command::BreRequest(BreRequest {
        id,
        rule_name: c.rule.clone(),
        parameters,
        timeout_secs: c.timeout,
    }));
    Outcome::Wait(WaitOn::Reply { request: id })
}

pub(crate) fn resume(_: &Config, cx: &mut Cx<'_>, _: &WaitOn, event: &Event) -> Outcome {
    match reply(event) {
        Ok(outputs) => {
            let result = match outputs.get("result") {
                Some(r) => from_json(r),
                None => from_json(&serde_json::Value::Object(outputs.clone())),
            };
            cx.set_outputs([("result", result)]);
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
            json!([var("Amount", "INTEGER", "250")]),
            json!([
                node("Rule", "bre-request", json!({"ruleName": "discount", "parameters": {"amount": "{{ Amount }}"}})),
                node("NoRule", "end-flow", json!({}))
            ]),
            json!([["Start", "Rule", "out"], ["Rule", "NoRule", "error"]]),
        ))
    }

    #[test]
    fn asks_and_exposes_the_answer() {
        let k = kit();
        let (mut st, out) = k.start();
        assert_eq!(
            commands(&out),
            vec![json!({"type": "breRequest", "id": 1, "ruleName": "discount", "parameters": {"amount": 250}, "timeoutSecs": 5})]
        );
        let out = k.step(&mut st, Event::reply_ok(1, json!({"result": {"discount": 10}})), 1);
        assert_eq!(outputs(&out, "Rule")["result"], json!({"discount": 10}));
        assert_eq!(path(&out)[0].1, "out");
    }

    #[test]
    fn no_rules_engine_takes_the_error_port() {
        let k = kit();
        let (mut st, _) = k.start();
        let out = k.step(&mut st, Event::reply_err(1, "BRE_NOT_CONFIGURED", "no rules engine"), 1);
        assert_eq!(path(&out)[0], ("Rule".into(), "error".into()));
        assert_eq!(outputs(&out, "Rule")["errorCode"], json!("BRE_NOT_CONFIGURED"));
    }
}
