//! Constrained inputs: values from allowedValues, or from the org's configuration through
//! the [`crate::ChoiceResolver`] (UNKNOWN_QUEUE, UNKNOWN_AUDIO_FILE, ... per choices kind).
//! Templated values (`{{ ... }}`) are resolved at run time and skipped here.

use super::Ctx;
use crate::doc::{json_eq, to_text, J};

pub(super) fn check(cx: &mut Ctx<'_>) {
    for (n, at) in cx.all_nodes() {
        let Some(def) = n.def else { continue };
        let Some(props) = n.inputs() else { continue };
        for input in &def.inputs {
            if input.choices.is_none() && input.allowed_values.is_none() {
                continue;
            }
            let Some(value) = props.get(&input.name) else {
                continue;
            };
            // Formatted only for a diagnostic: nearly every value is fine.
            let path = || format!("{at}/properties/{}", flow::pointer::escape(&input.name));
            if let Some(allowed) = &input.allowed_values {
                if !allowed.iter().any(|a| json_eq(a, value)) && !is_template(value) {
                    let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
                    cx.error(
                        path(),
                        "INVALID_INPUT",
                        format!(
                            "Input '{}' of activity '{}' must be one of {}; got {}.",
                            input.name,
                            def.activity_name,
                            list.join(", "),
                            to_text(value)
                        ),
                    );
                }
            }
            let Some(kind) = input.choices else { continue };
            for (rel, s) in choice_values(input, value) {
                if cx.opts.resolver.contains(kind, s) == Some(false) {
                    cx.push(
                        crate::Diagnostic::error(
                            &format!("{}{rel}", path()),
                            kind.error_code(),
                            format!(
                                "Input '{}' of activity '{}': '{s}' is not a known {} in this organization.",
                                input.name,
                                def.activity_name,
                                kind.as_str()
                            ),
                        )
                        .with_hint(format!(
                            "list the allowed values with GET .../v2/activities/{}/inputs/{}/choices?mode=list",
                            def.activity_name, input.name
                        )),
                    );
                }
            }
        }
    }
}

fn is_template(v: J<'_>) -> bool {
    v.as_str().is_some_and(|s| s.contains("{{"))
}

/// The constrained literal values in an input's value, each with its JSON Pointer relative to
/// the input (`""`, `"/audioFile"`, `"/0/skill"`). Values containing `{{` are left out: they
/// are resolved at run time, so no choice check applies to them.
fn choice_values<'a>(input: &catalog::InputDef, value: J<'a>) -> Vec<(String, &'a str)> {
    let mut found = Vec::new();
    let field = input.choices_field.as_deref();
    let member = |v: J<'a>| -> Option<J<'a>> {
        match field {
            Some(f) => v.get(f),
            None => Some(v),
        }
    };
    let suffix = field
        .map(|f| format!("/{}", flow::pointer::escape(f)))
        .unwrap_or_default();
    let mut push = |pointer: String, v: J<'a>| {
        if let Some(s) = v.as_str() {
            if !s.contains("{{") {
                found.push((pointer, s));
            }
        }
    };
    match value.as_array() {
        Some(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(v) = member(item) {
                    push(format!("/{i}{suffix}"), v);
                }
            }
        }
        None => {
            if let Some(v) = member(value) {
                push(suffix.clone(), v);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::ChoicesKind;
    use serde_json::json;

    fn input(choices: Option<ChoicesKind>, field: Option<&str>) -> catalog::InputDef {
        serde_json::from_value(json!({
            "name": "x", "displayName": "X", "description": "", "required": false,
            "choices": choices, "choicesField": field, "templated": true
        }))
        .unwrap()
    }

    fn values(i: &catalog::InputDef, v: serde_json::Value) -> Vec<(String, String)> {
        let text = serde_json::to_vec(&json!({ "v": v })).unwrap();
        let mut scratch = crate::Scratch::default();
        let doc = crate::Document::parse(&text, &mut scratch).unwrap();
        let got = doc.root().get("v").unwrap();
        choice_values(i, got)
            .into_iter()
            .map(|(p, s)| (p, s.to_owned()))
            .collect()
    }

    #[test]
    fn of_a_plain_string() {
        let i = input(Some(ChoicesKind::Queue), None);
        assert_eq!(
            values(&i, json!("Sales")),
            vec![(String::new(), "Sales".into())]
        );
        assert!(values(&i, json!("{{QueueVar}}")).is_empty());
        assert!(values(&i, json!(42)).is_empty());
    }

    #[test]
    fn of_an_object_member_and_array_items() {
        let i = input(Some(ChoicesKind::AudioFile), Some("audioFile"));
        let prompt = json!({"promptType": "audio", "audioFile": "welcome.wav"});
        assert_eq!(
            values(&i, prompt),
            vec![("/audioFile".to_owned(), "welcome.wav".to_owned())]
        );
        assert!(values(&i, json!({"promptType": "text", "text": "Hi"})).is_empty());
        let list = json!([{"audioFile": "a.wav"}, {"audioFile": "b.wav"}]);
        assert_eq!(
            values(&i, list),
            vec![
                ("/0/audioFile".to_owned(), "a.wav".to_owned()),
                ("/1/audioFile".to_owned(), "b.wav".to_owned())
            ]
        );
    }
}
