//! `menu`: plays a prompt and collects one digit (`PlayPrompt` is implied by
//! `CollectDigits`, which carries the prompt), then continues on the `digit` edge carrying
//! that digit in `properties.digit`. The entry timeout is an engine timer. No input, or a
//! digit no edge carries, replays the prompt, up to `maxAttempts` tries in all; then
//! `onTimeout` or `onInvalid`. After the caller hung up it fails (CONTACT_ENDED). Exposes
//! `digit` (empty on timeout). Local behaviour: a scripted caller answers `CallerInput`.

use minijinja::Value;

use super::common::PromptCfg;
use crate::command::{CollectDigits, Command};
use crate::compile::CompileCx;
use crate::event::Event;
use crate::run::{Cx, Outcome};
use crate::state::WaitOn;

#[derive(Debug)]
pub(crate) struct Config {
    prompt: PromptCfg,
    entry_timeout: u32,
    max_attempts: u32,
    interruptible: bool,
    /// The digits some edge carries.
    digits: Vec<String>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        prompt: PromptCfg::compile(cx, "prompt")?,
        entry_timeout: cx.int("entryTimeout")?.unwrap_or(5).max(1) as u32,
        max_attempts: cx.int("maxAttempts")?.unwrap_or(1).max(1) as u32,
        interruptible: cx.bool("interruptible")?.unwrap_or(true),
        digits: cx.exits.branches_on("digit").map(|b| b.value.clone()).collect(),
    })
}

/// Plays the prompt and waits for a digit (try number `attempt`).
fn ask(c: &Config, cx: &mut Cx<'_>, attempt: u32) -> Outcome {
    if cx.task.routing.ended {
        return cx.failure("CONTACT_ENDED", "the caller is gone");
    }
    let prompt = match c.prompt.resolve(cx) {
        Ok(p) => p,
        Err(f) => return Outcome::Fail(f),
    };
    let request = cx.id();
    cx.emit(Command::CollectDigits(CollectDigits {
        id: request,
        prompt,
        min_digits: 1,
        max_digits: 1,
        terminator: None,
        entry_timeout_secs: c.entry_timeout,
        inter_digit_timeout_secs: c.entry_timeout,
        interruptible: c.interruptible,
        attempt,
    }));
    let timer = cx.start_timer(i64::from(c.entry_timeout));
    Outcome::Wait(WaitOn::Digits { request, timer, attempt })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    ask(c, cx, 1)
}

pub(crate) fn resume(c: &Config, cx: &mut Cx<'_>, wait: &WaitOn, event: &Event) -> Outcome {
    let WaitOn::Digits { timer, attempt, .. } = *wait else {
        return Outcome::Ignore("menu: unexpected wait".to_owned());
    };
    let entered = match event {
        Event::CallerInput { digits } => {
            cx.cancel_timer(timer);
            digits.chars().next().map(String::from)
        }
        Event::TimerFired { .. } => None,
        other => return Outcome::Ignore(format!("{}: the menu waits for a digit", other.label())),
    };
    match entered {
        Some(d) if c.digits.contains(&d) => {
            cx.set_outputs([("digit", Value::from(d.clone()))]);
            Outcome::Branch("digit", d)
        }
        _ if attempt < c.max_attempts => ask(c, cx, attempt + 1),
        Some(d) => {
            cx.set_outputs([("digit", Value::from(d))]);
            Outcome::Port("onInvalid")
        }
        None => {
            cx.set_outputs([("digit", Value::from(""))]);
            Outcome::Port("onTimeout")
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::{Command, Event, Status};

    fn kit(attempts: i64) -> Kit {
        Kit::new(flow(
            json!([]),
            json!([
                node("Menu", "menu", json!({"prompt": {"promptType": "text", "text": "Press 1 for sales, 2 for support"}, "maxAttempts": attempts, "entryTimeout": 5})),
                node("Sales", "end-flow", json!({})),
                node("Support", "end-flow", json!({})),
                node("NoInput", "end-flow", json!({})),
                node("Invalid", "end-flow", json!({}))
            ]),
            json!([
                ["Start", "Menu", "out"],
                ["Menu", "Sales", "digit", {"digit": "1"}],
                ["Menu", "Support", "digit", {"digit": "2"}],
                ["Menu", "NoInput", "onTimeout"],
                ["Menu", "Invalid", "onInvalid"]
            ]),
        ))
    }

    #[test]
    fn branches_on_the_digit() {
        let k = kit(1);
        let (mut st, out) = k.start();
        assert!(matches!(&out.commands[0], Command::CollectDigits(c) if c.max_digits == 1 && c.attempt == 1));
        assert!(matches!(out.commands[1], Command::StartTimer { id: 2, .. }));
        let out = k.step(&mut st, Event::CallerInput { digits: "2".into() }, 3);
        assert_eq!(out.commands[0], Command::CancelTimer { id: 2 });
        assert_eq!(out.trace.get(0).unwrap().next.as_deref(), Some("Support"));
        assert_eq!(outputs(&out, "Menu")["digit"], json!("2"));
    }

    #[test]
    fn retries_then_gives_up() {
        let k = kit(2);
        let (mut st, _) = k.start();
        let out = k.step(&mut st, Event::CallerInput { digits: "9".into() }, 2);
        assert!(matches!(&out.commands[1], Command::CollectDigits(c) if c.attempt == 2));
        assert_eq!(st.status(), &Status::Waiting);
        let out = k.step(&mut st, Event::TimerFired { id: 4 }, 10);
        assert_eq!(out.trace.get(0).unwrap().next.as_deref(), Some("NoInput"));
        assert_eq!(out.trace.get(0).unwrap().started_at, t0(), "the record spans every try");

        let k = kit(1);
        let (mut st, _) = k.start();
        let out = k.step(&mut st, Event::CallerInput { digits: "7".into() }, 2);
        assert_eq!(out.trace.get(0).unwrap().next.as_deref(), Some("Invalid"));
    }
}
