//! Pieces several activities share: prompts (play-message, menu, collect-digits), contact
//! priorities, routing replies, URL query strings.

use minijinja::value::ValueKind;
use minijinja::Value;
use serde_json::Value as Json;

use crate::command::Prompt;
use crate::compile::{CompileCx, Input};
use crate::event::{Event, Reply};
use crate::expr::Expr;
use crate::run::{Cx, Failure, Outcome};

/// A prompt input with its templated members compiled.
#[derive(Debug)]
pub(crate) struct PromptCfg {
    prompt_type: String,
    text: Option<Expr>,
    text_type: Option<String>,
    audio_file: Option<Expr>,
    language: Option<Expr>,
    voice: Option<Expr>,
}

impl PromptCfg {
    pub(crate) fn compile(cx: &mut CompileCx<'_>, input: &str) -> Result<PromptCfg, String> {
        let raw = cx
            .raw(input)
            .ok_or_else(|| format!("input '{input}' is required"))?;
        let obj = raw
            .as_object()
            .ok_or_else(|| format!("input '{input}' must be an object"))?;
        let mut member = |name: &str| -> Result<Option<Expr>, String> {
            match obj.get(name) {
                None | Some(Json::Null) => Ok(None),
                Some(v) => match cx.tree(v)? {
                    Input::Expr(e) => Ok(Some(e)),
                    _ => Err(format!("{input}.{name} must be a string")),
                },
            }
        };
        let text = member("text")?;
        let audio_file = member("audioFile")?;
        let language = member("language")?;
        let voice = member("voice")?;
        let prompt_type = obj
            .get("promptType")
            .and_then(Json::as_str)
            .unwrap_or(if audio_file.is_some() {
                "audio"
            } else {
                "text"
            })
            .to_owned();
        Ok(PromptCfg {
            prompt_type,
            text,
            text_type: obj
                .get("textType")
                .and_then(Json::as_str)
                .map(str::to_owned),
            audio_file,
            language,
            voice,
        })
    }

    /// The prompt with its expressions resolved.
    pub(crate) fn resolve(&self, cx: &mut Cx<'_>) -> Result<Prompt, Failure> {
        let mut text_of =
            |label: &'static str, e: &Option<Expr>| -> Result<Option<String>, Failure> {
                e.as_ref().map(|e| cx.text(label, e)).transpose()
            };
        Ok(Prompt {
            prompt_type: self.prompt_type.clone(),
            text: text_of("prompt.text", &self.text)?,
            text_type: self.text_type.clone(),
            audio_file: text_of("prompt.audioFile", &self.audio_file)?,
            language: text_of("prompt.language", &self.language)?,
            voice: text_of("prompt.voice", &self.voice)?,
        })
    }
}

/// A priority input resolved: 1 (highest) to 10.
pub(crate) fn priority(cx: &mut Cx<'_>, e: &Expr) -> Result<u8, Failure> {
    let p = cx.int("priority", e)?;
    if (1..=10).contains(&p) {
        Ok(p as u8)
    } else {
        Err(Failure::new(
            "INVALID_INPUT",
            format!(
                "Node '{}': priority must be 1 (highest) to 10, not {p}",
                cx.node.name
            ),
        ))
    }
}

/// The outputs of a successful routing or rules `Reply`, or the outcome to return (a
/// failure, or `Ignore` for any other event).
pub(crate) fn reply(event: &Event) -> Result<&serde_json::Map<String, Json>, Outcome> {
    match event {
        Event::Reply {
            result: Reply::Ok { outputs },
            ..
        } => Ok(outputs),
        Event::Reply {
            result: Reply::Err { code, message },
            ..
        } => Err(Outcome::Fail(Failure::new(code.clone(), message.clone()))),
        other => Err(Outcome::Ignore(format!(
            "{}: this activity waits for a Reply",
            other.label()
        ))),
    }
}

/// An integer member of a reply (0 when absent or not a number).
pub(crate) fn int_of(m: &serde_json::Map<String, Json>, name: &str) -> Value {
    let n = match m.get(name) {
        Some(Json::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(0),
        Some(Json::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    };
    Value::from(n)
}

/// A string member of a reply ("" when absent).
pub(crate) fn str_of(m: &serde_json::Map<String, Json>, name: &str) -> Value {
    match m.get(name) {
        Some(Json::String(s)) => Value::from(s.as_str()),
        Some(Json::Null) | None => Value::from(""),
        Some(other) => Value::from(other.to_string()),
    }
}

/// Appends `name=value` pairs from a map value to a URL, percent-encoded.
pub(crate) fn with_query(url: &str, params: Option<&Value>) -> String {
    let Some(params) = params.filter(|p| p.kind() == ValueKind::Map) else {
        return url.to_owned();
    };
    let mut out = url.to_owned();
    let mut first = !url.contains('?');
    if let Ok(keys) = params.try_iter() {
        for k in keys {
            let v = params.get_item(&k).unwrap_or(Value::UNDEFINED);
            out.push(if first { '?' } else { '&' });
            first = false;
            out.push_str(&encode(&crate::value::text(&k)));
            out.push('=');
            out.push_str(&encode(&crate::value::text(&v)));
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings() {
        let p = crate::value::from_json(&serde_json::json!({"q": "a b&c", "n": 2}));
        assert_eq!(
            with_query("https://x/y", Some(&p)),
            "https://x/y?q=a%20b%26c&n=2"
        );
        assert_eq!(
            with_query("https://x/y?z=1", Some(&p)),
            "https://x/y?z=1&q=a%20b%26c&n=2"
        );
        assert_eq!(with_query("https://x/y", None), "https://x/y");
    }

    #[test]
    fn reply_members() {
        let m = serde_json::json!({"a": 3, "b": "4", "c": "x"});
        let m = m.as_object().unwrap();
        assert_eq!(int_of(m, "a"), Value::from(3));
        assert_eq!(int_of(m, "b"), Value::from(4));
        assert_eq!(int_of(m, "zz"), Value::from(0));
        assert_eq!(str_of(m, "c"), Value::from("x"));
        assert_eq!(str_of(m, "zz"), Value::from(""));
    }
}
