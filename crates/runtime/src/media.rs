//! [`MediaPort`]: the caller's side of a voice contact. There is no real media path yet
//! (DESIGN.md: "Voice has no real media path yet"), so prompts are recorded and digits come
//! from a [`ScriptedCaller`]: a short script such as `digits:1,2 hangup`.
//!
//! # Script
//!
//! Whitespace-separated items, used in order:
//!
//! - `digits:1,2,345#` — answers the next collections with `1`, then `2`, then `345#` (one
//!   comma-separated entry per prompt; digits, `*` and `#`).
//! - `silence` — says nothing at the next collection (its entry timeout runs out).
//! - `hangup` — hangs up at the next collection, or as soon as the flow waits for nothing
//!   the caller could answer (parked in a queue, say) once no timer is pending.
//! - `hangup:30` — hangs up 30 seconds into the call (call time, so under the virtual clock
//!   too); collections before then get silence.
//!
//! When the script is used up the caller stays silent (menus time out, then take
//! `onTimeout`).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use engine::{CollectDigits, Command};

use crate::BoxFuture;

/// What the caller does when asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerAction {
    /// Presses these keys (the terminator included, if any).
    Digits(String),
    /// Presses nothing; the flow's entry timer decides.
    Silence,
    /// Hangs up.
    Hangup,
}

/// A hang-up the caller will do without being asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hangup {
    /// As soon as nothing else is due.
    WhenIdle,
    /// This long after the call started.
    After(Duration),
}

/// The media side of a contact.
pub trait MediaPort: Send + Sync {
    /// `PlayPrompt` and `PlayMusic`: fire and forget.
    fn play(&self, command: &Command) {
        let _ = command;
    }

    /// `CollectDigits`: the prompt plays and the caller answers.
    fn collect<'a>(&'a self, request: &'a CollectDigits) -> BoxFuture<'a, CallerAction>;

    /// A hang-up the caller has in store, if any.
    fn pending_hangup(&self) -> Option<Hangup> {
        None
    }

    /// The driver delivered the pending hang-up.
    fn hangup_delivered(&self) {}
}

/// A malformed caller script.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("caller script: {0}")]
pub struct ScriptError(pub String);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Digits(String),
    Silence,
    Hangup(Option<Duration>),
}

#[derive(Debug, Default)]
struct Caller {
    script: VecDeque<Item>,
    heard: Vec<String>,
}

/// A caller following a script (see the module documentation). Records what it heard.
#[derive(Debug, Default)]
pub struct ScriptedCaller {
    inner: Mutex<Caller>,
}

impl ScriptedCaller {
    /// A caller who never presses anything and never hangs up.
    pub fn silent() -> ScriptedCaller {
        ScriptedCaller::default()
    }

    pub fn parse(script: &str) -> Result<ScriptedCaller, ScriptError> {
        let mut items = VecDeque::new();
        for token in script.split_whitespace() {
            let (word, arg) = match token.split_once(':') {
                Some((w, a)) => (w, Some(a)),
                None => (token, None),
            };
            match (word.to_ascii_lowercase().as_str(), arg) {
                ("digits", Some(list)) => {
                    for entry in list.split(',') {
                        let entry = entry.trim();
                        if entry.is_empty()
                            || !entry
                                .chars()
                                .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
                        {
                            return Err(ScriptError(format!(
                                "'{entry}' in '{token}' is not a key sequence (digits, * and #)"
                            )));
                        }
                        items.push_back(Item::Digits(entry.to_owned()));
                    }
                }
                ("silence", None) => items.push_back(Item::Silence),
                ("hangup", None) => items.push_back(Item::Hangup(None)),
                ("hangup", Some(secs)) => {
                    let secs: u64 = secs
                        .trim_end_matches('s')
                        .parse()
                        .map_err(|_| ScriptError(format!("'{token}': expected hangup:SECONDS")))?;
                    items.push_back(Item::Hangup(Some(Duration::from_secs(secs))));
                }
                _ => {
                    return Err(ScriptError(format!(
                        "unknown item '{token}' (expected digits:1,2 silence hangup hangup:SECONDS)"
                    )))
                }
            }
        }
        Ok(ScriptedCaller {
            inner: Mutex::new(Caller {
                script: items,
                heard: Vec::new(),
            }),
        })
    }

    /// What was played to the caller, in order: prompt texts (or `audio:FILE`) and
    /// `music:FILE`.
    pub fn heard(&self) -> Vec<String> {
        self.lock().heard.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Caller> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn prompt_text(p: &engine::Prompt) -> String {
    match (&p.text, &p.audio_file) {
        (Some(t), _) => t.clone(),
        (None, Some(a)) => format!("audio:{a}"),
        (None, None) => p.prompt_type.clone(),
    }
}

impl MediaPort for ScriptedCaller {
    fn play(&self, command: &Command) {
        let what = match command {
            Command::PlayPrompt(p) => prompt_text(&p.prompt),
            Command::PlayMusic { audio_file, .. } => format!("music:{audio_file}"),
            _ => return,
        };
        self.lock().heard.push(what);
    }

    fn collect<'a>(&'a self, request: &'a CollectDigits) -> BoxFuture<'a, CallerAction> {
        let mut c = self.lock();
        c.heard.push(prompt_text(&request.prompt));
        let action = match c.script.front() {
            // A timed hang-up comes at its time, not at a prompt.
            Some(Item::Hangup(Some(_))) | None => CallerAction::Silence,
            Some(_) => match c.script.pop_front() {
                Some(Item::Digits(d)) => CallerAction::Digits(d),
                Some(Item::Hangup(None)) => CallerAction::Hangup,
                _ => CallerAction::Silence,
            },
        };
        Box::pin(std::future::ready(action))
    }

    fn pending_hangup(&self) -> Option<Hangup> {
        match self.lock().script.front() {
            Some(Item::Hangup(None)) => Some(Hangup::WhenIdle),
            Some(Item::Hangup(Some(d))) => Some(Hangup::After(*d)),
            _ => None,
        }
    }

    fn hangup_delivered(&self) {
        let mut c = self.lock();
        if matches!(c.script.front(), Some(Item::Hangup(_))) {
            c.script.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask() -> CollectDigits {
        CollectDigits {
            id: 1,
            prompt: engine::Prompt {
                prompt_type: "text".into(),
                text: Some("Press 1".into()),
                text_type: None,
                audio_file: None,
                language: None,
                voice: None,
            },
            min_digits: 1,
            max_digits: 1,
            terminator: None,
            entry_timeout_secs: 5,
            inter_digit_timeout_secs: 5,
            interruptible: true,
            attempt: 1,
        }
    }

    #[tokio::test]
    async fn follows_the_script_in_order() {
        let c = ScriptedCaller::parse("digits:1,23# silence hangup").unwrap();
        let r = ask();
        assert_eq!(c.collect(&r).await, CallerAction::Digits("1".into()));
        assert_eq!(c.collect(&r).await, CallerAction::Digits("23#".into()));
        assert_eq!(c.pending_hangup(), None);
        assert_eq!(c.collect(&r).await, CallerAction::Silence);
        assert_eq!(c.pending_hangup(), Some(Hangup::WhenIdle));
        assert_eq!(c.collect(&r).await, CallerAction::Hangup);
        assert_eq!(c.collect(&r).await, CallerAction::Silence);
        assert_eq!(c.heard().len(), 5);
    }

    #[tokio::test]
    async fn a_timed_hangup_waits_for_its_time() {
        let c = ScriptedCaller::parse("hangup:30").unwrap();
        assert_eq!(c.collect(&ask()).await, CallerAction::Silence);
        assert_eq!(
            c.pending_hangup(),
            Some(Hangup::After(Duration::from_secs(30)))
        );
        c.hangup_delivered();
        assert_eq!(c.pending_hangup(), None);
    }

    #[test]
    fn bad_scripts_say_what_is_wrong() {
        for (bad, says) in [
            ("digits:", "not a key sequence"),
            ("digits:1,x", "'x'"),
            ("press:1", "unknown item 'press:1'"),
            ("hangup:soon", "hangup:SECONDS"),
        ] {
            let e = ScriptedCaller::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(ScriptedCaller::parse("").is_ok());
    }
}
