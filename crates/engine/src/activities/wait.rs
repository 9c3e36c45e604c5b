//! `wait`: parks the flow for `duration` seconds on an engine timer (`StartTimer`, then
//! `TimerFired`), so the wait is a checkpoint that survives a restart.

use crate::compile::CompileCx;
use crate::event::Event;
use crate::run::{Cx, Outcome};
use crate::state::WaitOn;

#[derive(Debug)]
pub(crate) struct Config {
    duration: i64,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        duration: cx.int("duration")?.ok_or("input 'duration' is required")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let timer = cx.start_timer(c.duration);
    Outcome::Wait(WaitOn::Timer { timer })
}

pub(crate) fn resume(_: &Config, _: &mut Cx<'_>, _: &WaitOn, event: &Event) -> Outcome {
    match event {
        Event::TimerFired { .. } => Outcome::Port("out"),
        other => Outcome::Ignore(format!("{}: wait only ends on its timer", other.label())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::{Command, Event, Status};

    #[test]
    fn parks_on_a_timer() {
        let k = Kit::new(flow(json!([]), json!([node("Pause", "wait", json!({"duration": 30}))]), json!([["Start", "Pause", "out"]])));
        let (mut st, out) = k.start();
        assert_eq!(out.commands, vec![Command::StartTimer { id: 1, due: at(30) }]);
        assert_eq!(st.status(), &Status::Waiting);
        assert_eq!(st.next_due(), Some(at(30)));
        let stale = k.step(&mut st, Event::TimerFired { id: 99 }, 10);
        assert!(stale.ignored.is_some());
        let out = k.step(&mut st, Event::TimerFired { id: 1 }, 30);
        assert_eq!(path(&out), vec![("Pause".into(), "out".into())]);
        assert_eq!(out.trace.get(0).unwrap().duration_ms, 30_000);
        assert!(st.is_finished());
    }
}
