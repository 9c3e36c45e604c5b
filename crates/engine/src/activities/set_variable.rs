//! `set-variable`: assigns a flow variable (or a global variable) the resolved `value`,
//! converted to the variable's type; a value that does not convert is a failure
//! (INVALID_VALUE), as is a name that is neither (UNKNOWN_VARIABLE). No error port: failures
//! go to the global error event.

use crate::compile::{CompileCx, Input, Target};
use crate::run::{Cx, Outcome};

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config {
    target: Target,
    value: Input,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    let name = cx.string("variableName")?.ok_or("input 'variableName' is required")?;
    let value = cx.input("value")?.unwrap_or(Input::Expr(crate::expr::Expr::literal(minijinja::Value::from(()))));
    Ok(Config {
        target: cx.target(&name),
        value,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let v = match cx.eval_input("value", &c.value) {
        Ok(v) => v,
        Err(f) => return Outcome::Fail(f),
    };
    match cx.assign(&c.target, v) {
        Ok(()) => Outcome::Port("out"),
        Err(f) => Outcome::Fail(f),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::{Start, Status};

    fn one(ty: &str, value: serde_json::Value) -> Kit {
        Kit::new(flow(
            json!([var("X", ty, ""), var("N", "INTEGER", "41")]),
            json!([node("Set", "set-variable", json!({"variableName": "X", "value": value}))]),
            json!([["Start", "Set", "out"]]),
        ))
    }

    #[test]
    fn converts_to_the_variables_type() {
        let (st, _) = one("INTEGER", json!("{{ N + 1 }}")).start();
        assert_eq!(st.variable("X"), Some(json!(42)));
        let (st, _) = one("STRING", json!("n={{ N }}")).start();
        assert_eq!(st.variable("X"), Some(json!("n=41")));
        let (st, _) = one("JSON", json!({"n": "{{ N }}", "list": [1, "{{ N > 40 }}"]})).start();
        assert_eq!(st.variable("X"), Some(json!({"n": 41, "list": [1, true]})));
        let (st, _) = one("DATETIME", json!("{{ now }}")).start();
        assert_eq!(st.variable("X"), Some(json!("2026-01-15T09:12:00Z")));
        let (st, _) = one("BOOLEAN", json!("TRUE")).start();
        assert_eq!(st.variable("X"), Some(json!(true)));
    }

    #[test]
    fn a_value_that_does_not_convert_fails() {
        let (st, out) = one("INTEGER", json!("forty")).start();
        let Status::Failed { error } = st.status() else { panic!("{:?}", st.status()) };
        assert_eq!(error.code, "INVALID_VALUE");
        assert!(error.message.contains("'forty' is not a valid INTEGER"), "{}", error.message);
        assert!(error.message.contains("Set"));
        assert!(out.trace.iter().any(|r| r.error.is_some()));
    }

    #[test]
    fn globals_can_be_assigned_but_not_invented() {
        let k = Kit::new(flow(
            json!([]),
            json!([node("Set", "set-variable", json!({"variableName": "Lang", "value": "fr-FR"}))]),
            json!([["Start", "Set", "out"]]),
        ));
        let mut start = Start::default();
        start.globals.insert("Lang".into(), json!("en-US"));
        let (st, _) = k.start_with(start);
        assert_eq!(st.globals().get("Lang").map(crate::value::to_json), Some(json!("fr-FR")));
        let (st, _) = k.start();
        let Status::Failed { error } = st.status() else { panic!() };
        assert_eq!(error.code, "UNKNOWN_VARIABLE");
    }
}
