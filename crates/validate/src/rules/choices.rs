//! Constrained inputs: values from allowedValues, or from the org's configuration through
//! the [`crate::ChoiceResolver`] (UNKNOWN_QUEUE, UNKNOWN_AUDIO_FILE, ... per choices kind).
//! Templated values (`{{ ... }}`) are resolved at run time and skipped here.

use super::NodeAt;
use crate::doc::{json_eq, to_text, NodeV, J};
use crate::{Diagnostic, Options};

/// One node (see [`super::NodeRules`]: the per-node rules run as each node is read).
pub(super) fn check_node(opts: &Options<'_>, out: &mut Vec<Diagnostic>, n: &NodeV<'_>, at: NodeAt) {
    let Some(def) = n.def else { return };
    let Some(props) = n.inputs() else { return };
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
                out.push(Diagnostic::error(
                    &path(),
                    "INVALID_INPUT",
                    format!(
                        "Input '{}' of activity '{}' must be one of {}; got {}.",
                        input.name,
                        def.activity_name,
                        list.join(", "),
                        to_text(value)
                    ),
                ));
            }
        }
        let Some(kind) = input.choices else { continue };
        for (item, s) in choice_values(input, value) {
            if opts.resolver.contains(kind, s) == Some(false) {
                let rel = relative_pointer(input, item);
                out.push(
                    Diagnostic::error(
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

fn is_template(v: J<'_>) -> bool {
    v.as_str().is_some_and(|s| s.contains("{{"))
}

/// The constrained literal values in an input's value, each with the index of the array item
/// it is in (`None` when the value is not an array). Values containing `{{` are left out:
/// they are resolved at run time, so no choice check applies to them. Nothing is allocated
/// for a value with one literal or none (nearly all of them): pointers are formatted by
/// [`relative_pointer`], only for a diagnostic.
fn choice_values<'a>(input: &catalog::InputDef, value: J<'a>) -> Vec<(Option<usize>, &'a str)> {
    let field = input.choices_field.as_deref();
    let literal = |v: J<'a>| -> Option<&'a str> {
        let v = match field {
            Some(f) => v.get(f)?,
            None => v,
        };
        v.as_str().filter(|s| !s.contains("{{"))
    };
    match value.as_array() {
        Some(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| literal(item).map(|s| (Some(i), s)))
            .collect(),
        None => literal(value).map(|s| (None, s)).into_iter().collect(),
    }
}

/// The JSON Pointer of a value [`choice_values`] found, relative to the input (`""`,
/// `"/audioFile"`, `"/0/skill"`).
fn relative_pointer(input: &catalog::InputDef, item: Option<usize>) -> String {
    let mut out = item.map(|i| format!("/{i}")).unwrap_or_default();
    if let Some(f) = input.choices_field.as_deref() {
        out.push('/');
        out.push_str(&flow::pointer::escape(f));
    }
    out
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
            .map(|(item, s)| (relative_pointer(i, item), s.to_owned()))
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
