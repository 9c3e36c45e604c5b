//! `blind-transfer`: transfers the call to `destination` (`Transfer`) and ends the task with
//! the outcome `transferred`. An empty destination cannot be dialled: TRANSFER_FAILED, which
//! goes to the global error event (the activity has no ports). Local behaviour: the media
//! port records the transfer.

use crate::command::Command;
use crate::compile::CompileCx;
use crate::expr::Expr;
use crate::run::{Cx, End, Outcome};
use crate::state::Outcome as TaskOutcome;

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config {
    destination: Expr,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        destination: cx.expr_req("destination")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let destination = match cx.text("destination", &c.destination) {
        Ok(d) => d.trim().to_owned(),
        Err(f) => return Outcome::Fail(f),
    };
    if destination.is_empty() {
        return cx.failure("TRANSFER_FAILED", "the transfer destination is empty");
    }
    cx.emit(Command::Transfer {
        destination: destination.clone(),
    });
    Outcome::End(End::Task(TaskOutcome::Transferred { destination }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::{Command, Outcome, Status};

    fn kit(dest: &str) -> Kit {
        Kit::new(flow(
            json!([var("Number", "STRING", "+14155550199")]),
            json!([node("Xfer", "blind-transfer", json!({"destination": dest}))]),
            json!([["Start", "Xfer", "out"]]),
        ))
    }

    #[test]
    fn transfers_and_ends() {
        let (st, out) = kit("{{ Number }}").start();
        assert_eq!(out.commands[0], Command::Transfer { destination: "+14155550199".into() });
        assert_eq!(st.status(), &Status::Completed { outcome: Outcome::Transferred { destination: "+14155550199".into() } });
    }

    #[test]
    fn an_empty_destination_fails() {
        let (st, _) = kit("{{ Nobody }}").start();
        let Status::Failed { error } = st.status() else { panic!() };
        assert_eq!(error.code, "TRANSFER_FAILED");
    }
}
