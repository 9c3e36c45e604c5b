//! `function`: invokes a published custom function by name or id and tag
//! (`InvokeFunction`; the runtime calls it through its function runner) and waits. The
//! resolved `inputMappings` are `request.inputs`; the function's `response.data` is exposed
//! as `result`, and `outputMappings` (output name, or a JSON path starting with `$`, to a
//! variable) copy members of it into variables. A thrown error (FUNCTION_ERROR), a timeout
//! (TIMEOUT), the memory cap (MEMORY_LIMIT) or no version with the tag
//! (FUNCTION_NOT_FOUND) takes `error`.

use minijinja::value::ValueKind;

use crate::command::{Command, FunctionCall};
use crate::compile::{CompileCx, Input, Target};
use crate::event::{Event, FunctionErrorKind, FunctionOutcome};
use crate::jsonpath::JsonPath;
use crate::run::{Cx, Outcome};
use crate::state::WaitOn;
use crate::value::to_json;

#[derive(Debug)]
pub(crate) struct Config {
    name: Option<String>,
    id: Option<String>,
    tag: String,
    inputs: Option<Input>,
    outputs: Vec<(String, Target)>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    let name = cx.string("functionName")?;
    let id = cx.string("functionId")?;
    if name.is_none() && id.is_none() {
        return Err("a function node needs functionName or functionId".to_owned());
    }
    Ok(Config {
        name,
        id,
        tag: cx.string("tag")?.unwrap_or_else(|| "Live".to_owned()),
        inputs: cx.input("inputMappings")?,
        outputs: cx.mapping("outputMappings")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let inputs = match &c.inputs {
        Some(i) => match cx.eval_input("inputMappings", i) {
            Ok(v) => to_json(&v),
            Err(f) => return Outcome::Fail(f),
        },
        None => serde_json::json!({}),
    };
    let id = cx.id();
    cx.emit(Command::InvokeFunction(FunctionCall {
        id,
        function_name: c.name.clone(),
        function_id: c.id.clone(),
        tag: c.tag.clone(),
        inputs,
    }));
    Outcome::Wait(WaitOn::Function { request: id })
}

pub(crate) fn resume(c: &Config, cx: &mut Cx<'_>, _: &WaitOn, event: &Event) -> Outcome {
    match event {
        Event::FunctionResult { result: FunctionOutcome::Ok { data }, .. } => {
            let data = crate::value::json_view(data.clone());
            for (output, target) in &c.outputs {
                let value = if output.starts_with('$') {
                    match JsonPath::parse(output) {
                        Ok(p) => p.select_value(&data),
                        Err(e) => return cx.failure("FUNCTION_ERROR", format!("output mapping {e}")),
                    }
                } else if data.kind() == ValueKind::Map {
                    data.get_attr(output).ok().filter(|v| !v.is_undefined())
                } else {
                    None
                };
                if let Some(v) = value {
                    if let Err(f) = cx.assign(target, v) {
                        return Outcome::Fail(f);
                    }
                }
            }
            cx.set_outputs([("result", data)]);
            Outcome::Port("out")
        }
        Event::FunctionResult { result: FunctionOutcome::Err { kind, message }, .. } => {
            let code = match kind {
                FunctionErrorKind::Thrown => "FUNCTION_ERROR",
                FunctionErrorKind::Timeout => "TIMEOUT",
                FunctionErrorKind::MemoryLimit => "MEMORY_LIMIT",
                FunctionErrorKind::NotFound => "FUNCTION_NOT_FOUND",
            };
            let who = c.name.as_deref().or(c.id.as_deref()).unwrap_or("?");
            cx.failure(code, format!("function '{who}' ({}): {message}", c.tag))
        }
        other => Outcome::Ignore(format!("{}: the function node waits for its result", other.label())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::{Event, FunctionErrorKind, FunctionOutcome};

    fn kit() -> Kit {
        Kit::new(flow(
            json!([var("Phone", "STRING", "(415) 555-0132"), var("Digits", "STRING", ""), var("Area", "INTEGER", "0")]),
            json!([
                node("Fn", "function", json!({
                    "functionName": "parseContact", "tag": "Live",
                    "inputMappings": {"contact": {"phone": "{{ Phone }}"}},
                    "outputMappings": {"phoneDigits": "Digits", "$.areaCode": "Area"}
                })),
                node("Oops", "end-flow", json!({}))
            ]),
            json!([["Start", "Fn", "out"], ["Fn", "Oops", "error"]]),
        ))
    }

    #[test]
    fn invokes_and_maps_outputs() {
        let k = kit();
        let (mut st, out) = k.start();
        assert_eq!(
            commands(&out),
            vec![json!({"type": "invokeFunction", "id": 1, "functionName": "parseContact", "tag": "Live",
                        "inputs": {"contact": {"phone": "(415) 555-0132"}}})]
        );
        let data = json!({"phoneDigits": "4155550132", "areaCode": "415"});
        let out = k.step(&mut st, Event::FunctionResult { id: 1, result: FunctionOutcome::Ok { data: data.clone() } }, 1);
        assert_eq!(path(&out), vec![("Fn".into(), "out".into())]);
        assert_eq!(st.variable("Digits"), Some(json!("4155550132")));
        assert_eq!(st.variable("Area"), Some(json!(415)));
        assert_eq!(outputs(&out, "Fn")["result"], data);
    }

    #[test]
    fn failures_take_the_error_port() {
        let k = kit();
        for (kind, code) in [
            (FunctionErrorKind::Thrown, "FUNCTION_ERROR"),
            (FunctionErrorKind::Timeout, "TIMEOUT"),
            (FunctionErrorKind::MemoryLimit, "MEMORY_LIMIT"),
            (FunctionErrorKind::NotFound, "FUNCTION_NOT_FOUND"),
        ] {
            let (mut st, _) = k.start();
            let out = k.step(&mut st, Event::FunctionResult { id: 1, result: FunctionOutcome::Err { kind, message: "boom".into() } }, 1);
            assert_eq!(path(&out)[0], ("Fn".into(), "error".into()));
            assert_eq!(outputs(&out, "Fn")["errorCode"], json!(code));
        }
    }
}
