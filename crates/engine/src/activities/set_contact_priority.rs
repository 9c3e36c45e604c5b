//! `set-contact-priority`: sets the contact's routing priority, 1 (highest) to 10
//! (`SetPriority`, no answer needed). A priority outside 1..10, or an expression that does
//! not resolve to an integer, is a failure (INVALID_INPUT) for the global error event.

use super::common::priority;
use crate::command::Command;
use crate::compile::CompileCx;
use crate::expr::Expr;
use crate::run::{Cx, Outcome};

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config {
    priority: Expr,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        priority: cx.expr_req("priority")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    match priority(cx, &c.priority) {
        Ok(priority) => {
            cx.emit(Command::SetPriority { priority });
            Outcome::Port("out")
        }
        Err(f) => Outcome::Fail(f),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::{Command, Start, Status};

    fn run(p: serde_json::Value) -> (crate::TaskState, crate::StepOutput) {
        let k = Kit::new(flow(
            json!([var("Vip", "BOOLEAN", "false")]),
            json!([node("Prio", "set-contact-priority", json!({"priority": "{{ 1 if Vip else 5 }}"}))]),
            json!([["Start", "Prio", "out"]]),
        ));
        let mut s = Start::default();
        s.variables.insert("Vip".into(), p);
        k.start_with(s)
    }

    #[test]
    fn sets_the_priority() {
        let (_, out) = run(json!(true));
        assert_eq!(out.commands[0], Command::SetPriority { priority: 1 });
        let (_, out) = run(json!(false));
        assert_eq!(out.commands[0], Command::SetPriority { priority: 5 });
    }

    #[test]
    fn out_of_range_fails() {
        let k = Kit::new(flow(json!([]), json!([node("Prio", "set-contact-priority", json!({"priority": "{{ 11 }}"}))]), json!([["Start", "Prio", "out"]])));
        let (st, _) = k.start();
        let Status::Failed { error } = st.status() else { panic!() };
        assert_eq!(error.code, "INVALID_INPUT");
    }
}
