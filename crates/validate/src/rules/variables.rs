//! Variables: named, uniquely, with a name templates can reference, a known type (the parser
//! reports unknown ones) and a default value that parses as that type.

use rustc_hash::FxHashMap as HashMap;

use flow::VariableType;

use super::Ctx;

pub(super) fn check(cx: &mut Ctx<'_>) {
    let mut seen: HashMap<&str, usize> = HashMap::default();
    let view = cx.view;
    for (i, v) in view.variables.iter().enumerate() {
        let at = format!("/variables/{i}");
        match v.name {
            None => cx.error(
                format!("{at}/name"),
                "MISSING_FIELD",
                "Every variable needs a 'name'.".into(),
            ),
            Some(name) => {
                if let Some(first) = seen.insert(name, i) {
                    seen.insert(name, first);
                    cx.error(
                        format!("{at}/name"),
                        "DUPLICATE_VARIABLE",
                        format!("Variable '{name}' is already declared at /variables/{first}."),
                    );
                } else if !is_identifier(name) {
                    cx.error(
                        format!("{at}/name"),
                        "INVALID_VARIABLE_NAME",
                        format!("Variable name '{name}' must start with a letter or '_' and contain only letters, digits and '_', so that {{{{ {name} }}}} can reference it."),
                    );
                }
            }
        }
        let Some(&ty) = v.ty.get() else {
            if v.ty.is_absent() {
                cx.error(
                    format!("{at}/type"),
                    "MISSING_FIELD",
                    format!(
                        "Variable needs a 'type': one of {}.",
                        VariableType::ALL.join(", ")
                    ),
                );
            }
            continue;
        };
        let Some(value) = v.value else { continue };
        match value.as_str() {
            Some(s) => {
                if let Err(why) = parses_as(ty, s) {
                    cx.error(
                        format!("{at}/value"),
                        "INVALID_VARIABLE_VALUE",
                        format!(
                            "Default value '{s}' of variable '{}' is not a valid {}: {why}.",
                            v.name.unwrap_or("?"),
                            ty.as_str()
                        ),
                    );
                }
            }
            None => {
                let other = crate::doc::to_text(value);
                cx.error(
                    format!("{at}/value"),
                    "INVALID_VARIABLE_VALUE",
                    format!(
                        "Variable values are encoded as strings; got {other}. Write \"{}\" instead.",
                        other.replace('"', "\\\"")
                    ),
                )
            }
        }
    }
}

pub(super) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Does a string default value parse as the variable's type? Empty means "unset".
pub fn parses_as(ty: VariableType, s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    match ty {
        VariableType::String => Ok(()),
        VariableType::Integer => s
            .trim()
            .parse::<i64>()
            .map(|_| ())
            .map_err(|e| e.to_string()),
        VariableType::Decimal => s
            .trim()
            .parse::<f64>()
            .map_err(|e| e.to_string())
            .and_then(|f| {
                if f.is_finite() {
                    Ok(())
                } else {
                    Err("not a finite number".into())
                }
            }),
        VariableType::Boolean => match s.trim() {
            "true" | "false" => Ok(()),
            _ => Err("expected true or false".into()),
        },
        VariableType::Datetime => chrono::DateTime::parse_from_rfc3339(s.trim())
            .map(|_| ())
            .map_err(|e| format!("expected RFC 3339 such as 2026-01-15T09:12:00Z ({e})")),
        VariableType::Json => serde_json::from_str::<serde_json::Value>(s)
            .map(|_| ())
            .map_err(|e| e.to_string()),
    }
}
