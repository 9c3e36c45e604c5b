//! Constrained inputs: values from allowedValues, or from the org's configuration through
//! the [`crate::ChoiceResolver`] (UNKNOWN_QUEUE, UNKNOWN_AUDIO_FILE, ... per choices kind).
//! Templated values (`{{ ... }}`) are resolved at run time and skipped here.

use serde_json::Value;

use super::Ctx;

pub(super) fn check(cx: &mut Ctx<'_>) {
    for (_, _, n, at) in cx.all_nodes() {
        let Some(def) = cx.activity(n) else { continue };
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
                if !allowed.contains(value) && !is_template(value) {
                    let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
                    cx.error(
                        path(),
                        "INVALID_INPUT",
                        format!(
                            "Input '{}' of activity '{}' must be one of {}; got {value}.",
                            input.name,
                            def.activity_name,
                            list.join(", ")
                        ),
                    );
                }
            }
            let Some(kind) = input.choices else { continue };
            for (rel, s) in input.choice_values(value) {
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

fn is_template(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.contains("{{"))
}
