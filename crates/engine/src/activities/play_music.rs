//! `play-music`: plays an audio file (`PlayMusic`), typically on hold in a queue. With a
//! `duration`, the flow waits that long on an engine timer before `out` (so an on-hold loop
//! is a sequence of checkpoints); without one, it continues at once. Local behaviour: the
//! media port records the music.

use crate::command::Command;
use crate::compile::CompileCx;
use crate::event::Event;
use crate::expr::Expr;
use crate::run::{Cx, Outcome};
use crate::state::WaitOn;

#[derive(Debug)]
pub(crate) struct Config {
    audio_file: Expr,
    duration: Option<u32>,
    start_offset: u32,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        audio_file: cx.expr_req("audioFile")?,
        duration: cx.int("duration")?.map(|d| d.max(1) as u32),
        start_offset: cx.int("startOffset")?.unwrap_or(0).max(0) as u32,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let audio_file = match cx.text("audioFile", &c.audio_file) {
        Ok(a) => a,
        Err(f) => return Outcome::Fail(f),
    };
    cx.emit(Command::PlayMusic {
        audio_file,
        duration: c.duration,
        start_offset: c.start_offset,
    });
    match c.duration {
        Some(secs) => Outcome::Wait(WaitOn::Timer {
            timer: cx.start_timer(i64::from(secs)),
        }),
        None => Outcome::Port("out"),
    }
}

pub(crate) fn resume(_: &Config, _: &mut Cx<'_>, _: &WaitOn, event: &Event) -> Outcome {
    match event {
        Event::TimerFired { .. } => Outcome::Port("out"),
        other => Outcome::Ignore(format!("{}: play-music ends on its timer", other.label())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::Event;

    #[test]
    fn plays_for_its_duration() {
        let k = Kit::new(flow(
            json!([]),
            json!([node("Hold", "play-music", json!({"audioFile": "hold.wav", "duration": 20})), node("Once", "play-music", json!({"audioFile": "jingle.wav"}))]),
            json!([["Start", "Hold", "out"], ["Hold", "Once", "out"]]),
        ));
        let (mut st, out) = k.start();
        assert_eq!(
            commands(&out),
            vec![
                json!({"type": "playMusic", "audioFile": "hold.wav", "duration": 20, "startOffset": 0}),
                json!({"type": "startTimer", "id": 1, "due": "2026-01-15T09:12:20Z"})
            ]
        );
        let out = k.step(&mut st, Event::TimerFired { id: 1 }, 20);
        assert_eq!(path(&out), vec![("Hold".into(), "out".into()), ("Once".into(), "out".into())]);
        assert!(st.is_finished());
    }
}
