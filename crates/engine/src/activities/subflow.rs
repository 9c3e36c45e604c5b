//! `subflow`: runs a published subflow (flowType SUBFLOW, by name or id at the version its
//! label names, via [`crate::Env::resolve_flow`]) on the same contact, as a new frame on the
//! thread's stack with its own variables. `inputMappings` (subflow variable -> value,
//! resolved here) set its variables; when it ends (end-flow, or a path with no further edge)
//! `outputMappings` (subflow variable -> variable here) copy values back and the node takes
//! its success exit `out`. An error the subflow does not handle takes the error exit
//! `error` (SUBFLOW_ERROR, naming the subflow's failing node); a subflow that cannot be
//! found or is not a SUBFLOW takes it too (SUBFLOW_NOT_FOUND). The frame pins the subflow's
//! version, so a task resumes inside the version it called.

use std::sync::Arc;

use flow::FlowType;

use crate::compile::{CompileCx, Input, Target};
use crate::program::{FlowRef, Program};
use crate::run::{Call, Cx, Outcome};
use crate::state::{FlowError, Scope};
use crate::value::coerce;

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config {
    flow: FlowRef,
    inputs: Vec<(String, Input)>,
    outputs: Vec<(String, Target)>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    let name = cx.string("subflowName")?;
    let id = cx.string("subflowId")?;
    if name.is_none() && id.is_none() {
        return Err("a subflow node needs subflowName or subflowId".to_owned());
    }
    let flow = FlowRef {
        id,
        name,
        label: cx.string("subflowLabel")?.unwrap_or_else(|| "Latest".to_owned()),
    };
    cx.flow_ref = Some(flow.clone());
    let mut inputs = Vec::new();
    if let Some(m) = cx.raw("inputMappings") {
        let m = m.as_object().ok_or("input 'inputMappings' must be an object")?;
        for (k, v) in m {
            inputs.push((k.clone(), cx.tree(v)?));
        }
    }
    Ok(Config {
        flow,
        inputs,
        outputs: cx.mapping("outputMappings")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    if cx.depth >= cx.config.max_subflow_depth {
        return cx.failure("SUBFLOW_ERROR", format!("subflow calls nest deeper than {}", cx.config.max_subflow_depth));
    }
    let Some(program) = cx.env.resolve_flow(&c.flow) else {
        return cx.failure("SUBFLOW_NOT_FOUND", format!("no subflow {}", c.flow));
    };
    if program.flow_type() != FlowType::Subflow || program.start.is_none() {
        return cx.failure("SUBFLOW_NOT_FOUND", format!("flow {} is not a subflow with a start node", c.flow));
    }
    let mut scope = Scope {
        vars: program.fresh_vars(),
        outputs: Default::default(),
    };
    for (name, input) in &c.inputs {
        let v = match cx.eval_input(format!("inputMappings.{name}"), input) {
            Ok(v) => v,
            Err(f) => return Outcome::Fail(f),
        };
        let Some((slot, def)) = program.var(name) else {
            return cx.failure("SUBFLOW_ERROR", format!("subflow '{}' has no variable '{name}'", program.name()));
        };
        match coerce(v, def.ty) {
            Ok(v) => scope.vars.set_slot(slot, &def.name, v),
            Err(e) => return cx.failure("SUBFLOW_ERROR", format!("subflow variable '{name}': {e}")),
        }
    }
    Outcome::Call(Box::new(Call { program, scope }))
}

/// The subflow ended: copy its outputs back (success), or fail with its error.
pub(crate) fn returned(c: &Config, cx: &mut Cx<'_>, result: Result<Scope, FlowError>, callee: &Arc<Program>) -> Outcome {
    match result {
        Ok(scope) => {
            for (from, target) in &c.outputs {
                if let Some(v) = scope.vars.get(from) {
                    if let Err(f) = cx.assign(target, v.clone()) {
                        return Outcome::Fail(f);
                    }
                }
            }
            Outcome::Port("out")
        }
        Err(e) => {
            let prefix = format!("Node '{}': ", e.node);
            let message = e.message.strip_prefix(&prefix).unwrap_or(&e.message);
            cx.failure(
                "SUBFLOW_ERROR",
                format!("subflow '{}' failed at node '{}' ({}): {message}", callee.name(), e.node, e.code),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::{Event, Status};

    fn subflow_doc(version: i64, body: serde_json::Value, edges: serde_json::Value) -> serde_json::Value {
        let mut d = flow(json!([var("In", "INTEGER", "0"), var("Out", "STRING", "")]), body, edges);
        d["name"] = json!("Shared");
        d["id"] = json!("f-shared");
        d["version"] = json!(version);
        d["flowType"] = json!("SUBFLOW");
        d
    }

    fn caller() -> Kit {
        Kit::new(flow(
            json!([var("Result", "STRING", ""), var("Why", "STRING", "")]),
            json!([
                node("Call", "subflow", json!({
                    "subflowName": "Shared",
                    "inputMappings": {"In": "{{ 20 + 1 }}"},
                    "outputMappings": {"Out": "Result"}
                })),
                node("Ok", "end-flow", json!({})),
                node("Bad", "set-variable", json!({"variableName": "Why", "value": "{{ Call.errorMessage }}"}))
            ]),
            json!([["Start", "Call", "out"], ["Call", "Ok", "out"], ["Call", "Bad", "error"]]),
        ))
    }

    #[test]
    fn success_exit_with_mappings() {
        let mut k = caller();
        k.env.add_program(compile(&subflow_doc(
            1,
            json!([node("Set", "set-variable", json!({"variableName": "Out", "value": "got {{ In }}"})), node("Done", "end-flow", json!({}))]),
            json!([["Start", "Set", "out"], ["Set", "Done", "out"]]),
        )));
        let (st, out) = k.start();
        assert_eq!(st.variable("Result"), Some(json!("got 21")));
        let nodes: Vec<(String, u32)> = out.trace.iter().map(|r| (r.node.to_string(), r.depth)).collect();
        assert_eq!(
            nodes,
            vec![("Start".into(), 0), ("Call".into(), 0), ("Start".into(), 1), ("Set".into(), 1), ("Done".into(), 1), ("Call".into(), 0), ("Ok".into(), 0)]
        );
        assert_eq!(path(&out).last().unwrap(), &("Ok".to_string(), String::new()));
        assert!(matches!(st.status(), Status::Completed { .. }));
    }

    #[test]
    fn error_exit_and_not_found() {
        let mut k = caller();
        k.env.add_program(compile(&subflow_doc(
            1,
            json!([node("Boom", "set-variable", json!({"variableName": "In", "value": "not a number"}))]),
            json!([["Start", "Boom", "out"]]),
        )));
        let (st, out) = k.start();
        let why = st.variable("Why").unwrap();
        assert!(why.as_str().unwrap().contains("subflow 'Shared' failed at node 'Boom' (INVALID_VALUE)"), "{why}");
        assert!(path(&out).contains(&("Call".into(), "error".into())));

        let k = caller();
        let (st, _) = k.start();
        assert!(st.variable("Why").unwrap().as_str().unwrap().contains("no subflow 'Shared' (Latest)"));
    }

    #[test]
    fn a_waiting_subflow_resumes_on_its_pinned_version() {
        let mut k = caller();
        let wait_then = |label: &str| {
            subflow_doc(
                1,
                json!([node("Pause", "wait", json!({"duration": 5})), node("Set", "set-variable", json!({"variableName": "Out", "value": label}))]),
                json!([["Start", "Pause", "out"], ["Pause", "Set", "out"]]),
            )
        };
        k.env.add_program(compile(&wait_then("v1")));
        let (mut st, _) = k.start();
        // Version 2 is published while the task waits inside version 1.
        let mut v2 = wait_then("v2");
        v2["version"] = json!(2);
        k.env.add_program(compile(&v2));
        let back: crate::TaskState = serde_json::from_value(st.to_json()).unwrap();
        assert_eq!(back, st);
        k.step(&mut st, Event::TimerFired { id: 1 }, 5);
        assert_eq!(st.variable("Result"), Some(json!("v1")));
        // A new task calls version 2.
        let (mut st2, _) = k.start();
        k.step(&mut st2, Event::TimerFired { id: 1 }, 5);
        assert_eq!(st2.variable("Result"), Some(json!("v2")));
    }
}
