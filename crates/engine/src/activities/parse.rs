//! `parse`: parses JSON text (`input`, usually `{{HTTP.httpResponseBody}}`) and copies what
//! each `parseSettings` path selects into its variable. A path that selects nothing leaves
//! its variable alone. Text that is not JSON takes the `error` port (INVALID_JSON), as does
//! a malformed path (INVALID_PATH). An input that is already JSON (a JSON variable) is used
//! as it is. Exposes `result`, the parsed document.

use minijinja::value::ValueKind;

use crate::compile::{CompileCx, ParseSetting};
use crate::expr::Expr;
use crate::jsondoc::Tree;
use crate::run::{apply_parse_settings, Cx, Outcome};

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config {
    input: Expr,
    settings: Vec<ParseSetting>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        input: cx.expr_req("input")?,
        settings: cx.parse_settings("parseSettings")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let v = match cx.eval("input", &c.input) {
        Ok(v) => v,
        Err(f) => return Outcome::Fail(f),
    };
    if v.kind() == ValueKind::String {
        // Parse into a tree borrowing from the text and convert only what the paths select;
        // `result` keeps the text and is parsed again only if something reads it.
        let text = v.as_str().unwrap_or_default();
        let doc = match Tree::parse(text) {
            Ok(doc) => doc,
            Err(e) => return cx.failure("INVALID_JSON", format!("input is not valid JSON: {e}")),
        };
        if let Err(f) = apply_parse_settings(cx, &c.settings, &doc) {
            return Outcome::Fail(f);
        }
        if cx.wants_outputs() {
            cx.set_outputs([("result", crate::value::json_text(text, &doc))]);
        }
        return Outcome::Port("out");
    }
    if let Err(f) = apply_parse_settings(cx, &c.settings, v.clone()) {
        return Outcome::Fail(f);
    }
    cx.set_outputs([("result", v)]);
    Outcome::Port("out")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::Start;

    fn kit(settings: serde_json::Value) -> Kit {
        Kit::new(flow(
            json!([var("Body", "STRING", ""), var("Id", "STRING", "none"), var("Count", "INTEGER", "0"), var("Skus", "JSON", "")]),
            json!([
                node("Parse", "parse", json!({"input": "{{ Body }}", "parseSettings": settings})),
                node("Bad", "end-flow", json!({}))
            ]),
            json!([["Start", "Parse", "out"], ["Parse", "Bad", "error"]]),
        ))
    }

    fn run(k: &Kit, body: &str) -> (crate::TaskState, crate::StepOutput) {
        let mut s = Start::default();
        s.variables.insert("Body".into(), json!(body));
        k.start_with(s)
    }

    #[test]
    fn copies_selected_values_into_typed_variables() {
        let k = kit(json!([
            {"outputVariable": "Id", "pathExpression": "$.customer.id"},
            {"outputVariable": "Count", "pathExpression": "$.count"},
            {"outputVariable": "Skus", "pathExpression": "$.items[*].sku"},
            {"outputVariable": "Id", "pathExpression": "$.missing"}
        ]));
        let (st, out) = run(&k, r#"{"customer": {"id": "C-7"}, "count": "3", "items": [{"sku": "A"}, {"sku": "B"}]}"#);
        assert_eq!(st.variable("Id"), Some(json!("C-7")));
        assert_eq!(st.variable("Count"), Some(json!(3)));
        assert_eq!(st.variable("Skus"), Some(json!(["A", "B"])));
        assert_eq!(path(&out)[1], ("Parse".into(), "out".into()));
        assert_eq!(outputs(&out, "Parse")["result"]["count"], json!("3"));
        assert_eq!(outputs(&out, "Parse")["errorCode"], json!(""));
    }

    #[test]
    fn untraced_parsing_sets_the_same_variables() {
        let mut k = kit(json!([
            {"outputVariable": "Id", "pathExpression": "$.customer.id"},
            {"outputVariable": "Skus", "pathExpression": "$..sku"}
        ]));
        k.engine = crate::Engine::new(crate::EngineConfig { trace: crate::TraceLevel::Off, ..Default::default() });
        let (st, out) = run(&k, r#"{"customer": {"id": "C-7"}, "items": [{"sku": "A"}, {"sku": "B"}]}"#);
        assert!(out.trace.is_empty());
        assert_eq!(st.variable("Id"), Some(json!("C-7")));
        assert_eq!(st.variable("Skus"), Some(json!(["A", "B"])));
        let (st, _) = run(&k, "{oops");
        assert!(st.is_finished());
    }

    #[test]
    fn invalid_json_and_paths_take_the_error_port() {
        let k = kit(json!([{"outputVariable": "Id", "pathExpression": "$.a"}]));
        let (_, out) = run(&k, "not json");
        assert_eq!(path(&out)[1], ("Parse".into(), "error".into()));
        assert_eq!(outputs(&out, "Parse")["errorCode"], json!("INVALID_JSON"));
        let k = kit(json!([{"outputVariable": "Id", "pathExpression": "$.a[?(@.x)]"}]));
        let (_, out) = run(&k, "{}");
        assert_eq!(outputs(&out, "Parse")["errorCode"], json!("INVALID_PATH"));
    }
}
