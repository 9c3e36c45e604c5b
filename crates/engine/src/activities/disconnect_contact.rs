//! `disconnect-contact`: hangs up (`Disconnect`) and ends the task with the outcome
//! `disconnected`, whatever else runs. Local behaviour: the media port records the hang-up.

use crate::command::Command;
use crate::compile::CompileCx;
use crate::run::{Cx, End, Outcome};
use crate::state::Outcome as TaskOutcome;

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config;

pub(crate) fn compile(_: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config)
}

pub(crate) fn run(_: &Config, cx: &mut Cx<'_>) -> Outcome {
    cx.emit(Command::Disconnect);
    Outcome::End(End::Task(TaskOutcome::Disconnected))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::{Command, Outcome, Status};

    #[test]
    fn hangs_up_and_ends_the_task() {
        let k = Kit::new(flow(json!([]), json!([node("Bye", "disconnect-contact", json!({}))]), json!([["Start", "Bye", "out"]])));
        let (st, out) = k.start();
        assert_eq!(st.status(), &Status::Completed { outcome: Outcome::Disconnected });
        assert_eq!(out.commands[0], Command::Disconnect);
    }
}
