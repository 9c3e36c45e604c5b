//! `play-message`: plays a prompt (text-to-speech with its `{{ }}` resolved, or an audio
//! file) through the media port (`PlayPrompt`) and continues on `out` at once: the media
//! port plays commands in order. Local behaviour: voice has no media path yet; the media
//! port records the prompt.

use super::common::PromptCfg;
use crate::command::{Command, PlayPrompt};
use crate::compile::CompileCx;
use crate::run::{Cx, Outcome};

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config {
    prompt: PromptCfg,
    interruptible: bool,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        prompt: PromptCfg::compile(cx, "prompt")?,
        interruptible: cx.bool("interruptible")?.unwrap_or(false),
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    match c.prompt.resolve(cx) {
        Ok(prompt) => {
            cx.emit(Command::PlayPrompt(PlayPrompt {
                prompt,
                interruptible: c.interruptible,
            }));
            Outcome::Port("out")
        }
        Err(f) => Outcome::Fail(f),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;

    #[test]
    fn plays_the_resolved_prompt() {
        let k = Kit::new(flow(
            json!([var("Name", "STRING", "Ada")]),
            json!([
                node("Hello", "play-message", json!({"prompt": {"promptType": "text", "text": "Hello {{ Name }}", "textType": "text", "language": "en-US"}})),
                node("Tune", "play-message", json!({"prompt": {"promptType": "audio", "audioFile": "welcome.wav"}, "interruptible": true}))
            ]),
            json!([["Start", "Hello", "out"], ["Hello", "Tune", "out"]]),
        ));
        let (_, out) = k.start();
        let c = commands(&out);
        assert_eq!(c[0], json!({"type": "playPrompt", "prompt": {"promptType": "text", "text": "Hello Ada", "textType": "text", "language": "en-US"}, "interruptible": false}));
        assert_eq!(c[1], json!({"type": "playPrompt", "prompt": {"promptType": "audio", "audioFile": "welcome.wav"}, "interruptible": true}));
    }
}
