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

/// The constrained strings inside an input's value, with their pointer below the input
/// (as [`catalog::InputDef::choice_values`], over the document tree).
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
