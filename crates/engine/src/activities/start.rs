//! `start`: the entry of a main flow (and of a subflow). It exposes the contact's start data
//! (the trigger's outputs: `ANI`, a work item's `WorkItemData`...) as its outputs, read as
//! `{{NewContact.ANI}}`, and continues on `out`.

use crate::compile::CompileCx;
use crate::run::{Cx, Outcome};

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config;

pub(crate) fn compile(_: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config)
}

pub(crate) fn run(_: &Config, cx: &mut Cx<'_>) -> Outcome {
    cx.outputs = Some(cx.task.contact.clone());
    Outcome::Port("out")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::Start;

    #[test]
    fn exposes_the_start_data() {
        let k = Kit::new(flow(
            json!([var("Caller", "STRING", "")]),
            json!([node("Keep", "set-variable", json!({"variableName": "Caller", "value": "{{ Start.ANI }}"}))]),
            json!([["Start", "Keep", "out"]]),
        ));
        let mut start = Start::default();
        start.outputs.insert("ANI".into(), json!("+14155550100"));
        let (st, out) = k.start_with(start);
        assert_eq!(path(&out), vec![("Start".into(), "out".into()), ("Keep".into(), "out".into())]);
        assert_eq!(outputs(&out, "Start"), json!({"ANI": "+14155550100"}));
        assert_eq!(st.variable("Caller"), Some(json!("+14155550100")));
    }
}
