//! `collect-digits`: plays a prompt and collects a string of digits (`CollectDigits`; the
//! media port ends the entry on the terminator, `maxDigits` or the inter-digit timeout and
//! answers `CallerInput`). The digits before the terminator, at most `maxDigits`, are
//! exposed as `digits` and stored in `outputVariable` (masked in traces when it is secure).
//! Fewer than `minDigits` is an invalid try, no input a timeout (an engine timer); both
//! replay the prompt up to `maxAttempts` tries, then take `onInvalid` / `onTimeout`.

use minijinja::Value;

use super::common::PromptCfg;
use crate::command::{CollectDigits, Command};
use crate::compile::{CompileCx, Target};
use crate::event::Event;
use crate::run::{Cx, Outcome};
use crate::state::WaitOn;

#[derive(Debug)]
pub(crate) struct Config {
    prompt: PromptCfg,
    min: u32,
    max: u32,
    terminator: Option<char>,
    entry_timeout: u32,
    inter_digit_timeout: u32,
    max_attempts: u32,
    interruptible: bool,
    output: Option<Target>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    let terminator = match cx.string("terminator")?.as_deref() {
        None | Some("none") => None,
        Some(t) => t.chars().next(),
    };
    let min = cx.int("minDigits")?.unwrap_or(1).max(1) as u32;
    Ok(Config {
        prompt: PromptCfg::compile(cx, "prompt")?,
        min,
        max: (cx.int("maxDigits")?.unwrap_or(16).max(1) as u32).max(min),
        terminator,
        entry_timeout: cx.int("entryTimeout")?.unwrap_or(5).max(1) as u32,
        inter_digit_timeout: cx.int("interDigitTimeout")?.unwrap_or(3).max(1) as u32,
        max_attempts: cx.int("maxAttempts")?.unwrap_or(1).max(1) as u32,
        interruptible: cx.bool("interruptible")?.unwrap_or(true),
        output: cx.string("outputVariable")?.map(|v| cx.target(&v)),
    })
}

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
        min_digits: c.min,
        max_digits: c.max,
        terminator: c.terminator.map(String::from),
        entry_timeout_secs: c.entry_timeout,
        inter_digit_timeout_secs: c.inter_digit_timeout,
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
        return Outcome::Ignore("collect-digits: unexpected wait".to_owned());
    };
    let entered: Option<String> = match event {
        Event::CallerInput { digits } => {
            cx.cancel_timer(timer);
            let before = match c.terminator {
                Some(t) => digits.split(t).next().unwrap_or_default(),
                None => digits.as_str(),
            };
            let kept: String = before.chars().filter(|ch| ch.is_ascii_digit() || *ch == '*' || *ch == '#').take(c.max as usize).collect();
            (!kept.is_empty()).then_some(kept)
        }
        Event::TimerFired { .. } => None,
        other => return Outcome::Ignore(format!("{}: collect-digits waits for digits", other.label())),
    };
    match entered {
        Some(d) if d.chars().count() as u32 >= c.min => {
            if let Some(t) = &c.output {
                if let Err(f) = cx.assign(t, Value::from(d.clone())) {
                    return Outcome::Fail(f);
                }
            }
            cx.set_outputs([("digits", Value::from(d))]);
            Outcome::Port("out")
        }
        _ if attempt < c.max_attempts => ask(c, cx, attempt + 1),
        Some(d) => {
            cx.set_outputs([("digits", Value::from(d))]);
            Outcome::Port("onInvalid")
        }
        None => {
            cx.set_outputs([("digits", Value::from(""))]);
            Outcome::Port("onTimeout")
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::{Command, Event};

    fn kit(secure: bool) -> Kit {
        Kit::new(flow(
            json!([{"name": "Pin", "type": "STRING", "value": "", "isSecure": secure}]),
            json!([
                node("Collect", "collect-digits", json!({
                    "prompt": {"promptType": "text", "text": "Enter your PIN, then hash"},
                    "minDigits": 4, "maxDigits": 6, "terminator": "#", "maxAttempts": 2, "outputVariable": "Pin"})),
                node("Ok", "end-flow", json!({})),
                node("Short", "end-flow", json!({})),
                node("Silent", "end-flow", json!({}))
            ]),
            json!([["Start", "Collect", "out"], ["Collect", "Ok", "out"], ["Collect", "Short", "onInvalid"], ["Collect", "Silent", "onTimeout"]]),
        ))
    }

    #[test]
    fn collects_up_to_the_terminator() {
        let k = kit(false);
        let (mut st, out) = k.start();
        assert!(matches!(&out.commands[0], Command::CollectDigits(c) if c.min_digits == 4 && c.max_digits == 6 && c.terminator.as_deref() == Some("#")));
        let out = k.step(&mut st, Event::CallerInput { digits: "1234#".into() }, 4);
        assert_eq!(out.trace.get(0).unwrap().next.as_deref(), Some("Ok"));
        assert_eq!(st.variable("Pin"), Some(json!("1234")));
        assert_eq!(outputs(&out, "Collect")["digits"], json!("1234"));
    }

    #[test]
    fn too_short_twice_is_invalid() {
        let k = kit(false);
        let (mut st, _) = k.start();
        k.step(&mut st, Event::CallerInput { digits: "12#".into() }, 2);
        let out = k.step(&mut st, Event::CallerInput { digits: "9#".into() }, 5);
        assert_eq!(out.trace.get(0).unwrap().next.as_deref(), Some("Short"));
    }

    #[test]
    fn a_secure_target_is_masked() {
        let k = kit(true);
        let (mut st, _) = k.start();
        let out = k.step(&mut st, Event::CallerInput { digits: "987654#".into() }, 4);
        assert_eq!(st.variable("Pin"), Some(json!("987654")));
        let rec = &out.trace.get(0).unwrap();
        assert_eq!(rec.outputs_json(), json!("******"));
        assert_eq!(rec.assigned_json()["Pin"], json!("******"));
        assert!(!serde_json::to_string(&out.trace).unwrap().contains("987654"));
    }
}
