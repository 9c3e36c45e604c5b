//! `go-to`: ends this flow and hands the contact to another flow (by name or id, at the
//! version `flowVersionLabel` names) or to an entry point (`GoTo` command); the task ends
//! with the outcome `wentTo` and the runtime starts the destination. A flow that cannot be
//! resolved through [`crate::Env::resolve_flow`] is a failure (GOTO_FAILED) for the global
//! error event; entry points are resolved by the runtime.

use crate::command::Command;
use crate::compile::CompileCx;
use crate::expr::Expr;
use crate::program::FlowRef;
use crate::run::{Cx, End, Outcome};
use crate::state::Outcome as TaskOutcome;

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config {
    destination_type: String,
    flow: Option<Expr>,
    label: String,
    entry_point: Option<Expr>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    let destination_type = cx.string("destinationType")?.unwrap_or_else(|| "flow".to_owned());
    let label = cx.string("flowVersionLabel")?.unwrap_or_else(|| "Live".to_owned());
    let flow = cx.expr("flow")?;
    if let Some(name) = flow.as_ref().and_then(Expr::literal_str) {
        cx.flow_ref = Some(FlowRef {
            id: None,
            name: Some(name.to_owned()),
            label: label.clone(),
        });
    }
    Ok(Config {
        destination_type,
        flow,
        label,
        entry_point: cx.expr("entryPoint")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let (input, expr) = match c.destination_type.as_str() {
        "entryPoint" => ("entryPoint", &c.entry_point),
        _ => ("flow", &c.flow),
    };
    let Some(expr) = expr else {
        return cx.failure("GOTO_FAILED", format!("input '{input}' is required for destinationType {}", c.destination_type));
    };
    let destination = match cx.text(input, expr) {
        Ok(d) => d,
        Err(f) => return Outcome::Fail(f),
    };
    let (flow, label) = if c.destination_type == "entryPoint" {
        (None, None)
    } else {
        let r = FlowRef {
            id: Some(destination.clone()),
            name: Some(destination.clone()),
            label: c.label.clone(),
        };
        match cx.env.resolve_flow(&r) {
            Some(p) => (Some(p.key().clone()), Some(c.label.clone())),
            None => return cx.failure("GOTO_FAILED", format!("no flow {r} to go to")),
        }
    };
    cx.emit(Command::GoTo {
        destination_type: c.destination_type.clone(),
        destination: destination.clone(),
        flow,
        label,
    });
    Outcome::End(End::Task(TaskOutcome::WentTo {
        destination_type: c.destination_type.clone(),
        destination,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::{Command, Outcome, ProgramKey, Status};

    #[test]
    fn hands_the_contact_to_another_flow() {
        let mut k = Kit::new(flow(
            json!([]),
            json!([node("Jump", "go-to", json!({"destinationType": "flow", "flow": "Other"}))]),
            json!([["Start", "Jump", "out"]]),
        ));
        let mut other = flow(json!([]), json!([]), json!([]));
        other["name"] = json!("Other");
        other["id"] = json!("f-other");
        other["version"] = json!(3);
        k.env.add_program(compile(&other));
        let (st, out) = k.start();
        assert_eq!(
            out.commands[0],
            Command::GoTo {
                destination_type: "flow".into(),
                destination: "Other".into(),
                flow: Some(ProgramKey::new("f-other", 3)),
                label: Some("Live".into()),
            }
        );
        assert_eq!(st.status(), &Status::Completed { outcome: Outcome::WentTo { destination_type: "flow".into(), destination: "Other".into() } });
        assert_eq!(k.program.flow_refs().len(), 1);
    }

    #[test]
    fn an_unknown_flow_fails_and_entry_points_pass_through() {
        let k = Kit::new(flow(
            json!([]),
            json!([node("Jump", "go-to", json!({"destinationType": "flow", "flow": "Nowhere"}))]),
            json!([["Start", "Jump", "out"]]),
        ));
        let (st, _) = k.start();
        let Status::Failed { error } = st.status() else { panic!() };
        assert_eq!(error.code, "GOTO_FAILED");
        let k = Kit::new(flow(
            json!([]),
            json!([node("Jump", "go-to", json!({"destinationType": "entryPoint", "entryPoint": "EP-Sales"}))]),
            json!([["Start", "Jump", "out"]]),
        ));
        let (st, out) = k.start();
        assert!(matches!(&out.commands[0], Command::GoTo { destination, .. } if destination == "EP-Sales"));
        assert!(matches!(st.status(), Status::Completed { .. }));
    }
}
