//! `case`: evaluates `expression` and continues on the `case` edge whose
//! `properties.value` equals the result, compared as strings (`1` matches `"1"`, `1.0`
//! too), else on `default`. Exposes `result`.

use minijinja::Value;

use crate::compile::CompileCx;
use crate::expr::Expr;
use crate::run::{Cx, Outcome};
use crate::value::canonical;

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config {
    expression: Expr,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        expression: cx.expr_req("expression")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let v = match cx.eval("expression", &c.expression) {
        Ok(v) => v,
        Err(f) => return Outcome::Fail(f),
    };
    let s = canonical(&v);
    cx.set_outputs([("result", Value::from(s.clone()))]);
    Outcome::Branch("case", s)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::Start;

    fn route(tier: serde_json::Value) -> String {
        let k = Kit::new(flow(
            json!([var("Tier", "JSON", "")]),
            json!([
                node("Switch", "case", json!({"expression": "{{ Tier }}"})),
                node("Gold", "end-flow", json!({})),
                node("One", "end-flow", json!({})),
                node("Other", "end-flow", json!({}))
            ]),
            json!([
                ["Start", "Switch", "out"],
                ["Switch", "Gold", "case", {"value": "gold"}],
                ["Switch", "One", "case", {"value": 1}],
                ["Switch", "Other", "default"]
            ]),
        ));
        let mut start = Start::default();
        start.variables.insert("Tier".into(), tier);
        let (_, out) = k.start_with(start);
        out.trace.get(1).unwrap().next.as_deref().unwrap_or("").to_owned()
    }

    #[test]
    fn matches_branch_values_as_strings() {
        assert_eq!(route(json!("gold")), "Gold");
        assert_eq!(route(json!(1)), "One");
        assert_eq!(route(json!("1")), "One");
        assert_eq!(route(json!(1.0)), "One");
        assert_eq!(route(json!("silver")), "Other");
    }
}
