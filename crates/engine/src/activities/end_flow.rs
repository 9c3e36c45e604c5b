//! `end-flow`: ends this flow without ending the contact. In a subflow it returns to the
//! caller through the success exit; in an event flow handler it ends the handler; in the
//! main flow, a contact parked in a queue stays there (the task keeps listening for its
//! contact events when the flow handles any), otherwise the task completes.

use crate::compile::CompileCx;
use crate::run::{Cx, End, Outcome};

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config;

pub(crate) fn compile(_: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config)
}

pub(crate) fn run(_: &Config, _: &mut Cx<'_>) -> Outcome {
    Outcome::End(End::Flow)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::{Command, Outcome, Status};

    #[test]
    fn ends_the_flow() {
        let k = Kit::new(flow(json!([]), json!([node("Done", "end-flow", json!({}))]), json!([["Start", "Done", "out"]])));
        let (st, out) = k.start();
        assert_eq!(st.status(), &Status::Completed { outcome: Outcome::Ended });
        assert_eq!(out.commands, vec![Command::End { status: st.status().clone() }]);
    }
}
