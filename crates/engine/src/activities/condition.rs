//! `condition`: evaluates `expression` and continues on `true` or `false`. A string is
//! true when it is "true" in any case, a number when it is not 0 (see
//! [`crate::value::truthy`]). Exposes `result`.

use minijinja::Value;

use crate::compile::CompileCx;
use crate::expr::Expr;
use crate::run::{Cx, Outcome};
use crate::value::truthy;

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
    let b = truthy(&v);
    cx.set_outputs([("result", Value::from(b))]);
    Outcome::Port(if b { "true" } else { "false" })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::Status;

    fn check(expr: &str) -> String {
        let k = Kit::new(flow(
            json!([var("Amount", "INTEGER", "150"), var("Tier", "STRING", "gold")]),
            json!([node("If", "condition", json!({"expression": expr}))]),
            json!([["Start", "If", "out"]]),
        ));
        let (_, out) = k.start();
        path(&out)[1].1.clone()
    }

    #[test]
    fn branches_on_truth() {
        assert_eq!(check("{{ Amount > 100 and Tier == 'gold' }}"), "true");
        assert_eq!(check("{{ Amount < 100 or not Tier }}"), "false");
        assert_eq!(check("{{ 'TRUE' }}"), "true");
        assert_eq!(check("{{ Amount - 150 }}"), "false");
        assert_eq!(check("{{ Tier }}"), "false");
        assert_eq!(check("{{ Tier | upper == 'GOLD' }}"), "true");
    }

    #[test]
    fn a_failing_expression_names_node_and_expression() {
        let k = Kit::new(flow(
            json!([var("Amount", "INTEGER", "150")]),
            json!([node("If", "condition", json!({"expression": "{{ Amount + 'x' }}"}))]),
            json!([["Start", "If", "out"]]),
        ));
        let (st, _) = k.start();
        let Status::Failed { error } = st.status() else { panic!() };
        assert_eq!(error.code, "EXPRESSION_ERROR");
        assert!(error.message.contains("Node 'If'"), "{}", error.message);
        assert!(error.message.contains("{{ Amount + 'x' }}"), "{}", error.message);
    }
}
