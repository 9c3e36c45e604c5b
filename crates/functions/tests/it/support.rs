//! Shared helpers: outcomes rendered as text so the tables compare data, not API details.

use std::time::Duration;

use switchboard_functions::{FunctionError, FunctionSource, Language, Outcome};

/// The parseContact function exactly as the guide's create request sends it.
pub const PARSE_CONTACT: &str = "export const handle = async (request, response) => {\n  const phoneDigits = String(request.inputs.contact.phone).replace(/\\D/g, \"\");\n  response.data = { phoneDigits, areaCode: phoneDigits.slice(0, 3) };\n  return response;\n};";

pub fn john_doe() -> serde_json::Value {
    serde_json::json!({"contact": {"name": "John Doe", "phone": "(415) 555-0132"}})
}

pub fn source(language: Language, key: &str, code: &str, timeout: Duration) -> FunctionSource {
    FunctionSource {
        key: key.to_owned(),
        language,
        source: code.to_owned(),
        timeout,
    }
}

/// `ok <json>` (plus `logs: ...` lines), or `<kind>: <message>` (plus stack and logs).
pub fn render(result: &Result<Outcome, FunctionError>) -> String {
    let mut out = String::new();
    let mut logs = "";
    match result {
        Ok(o) => {
            out.push_str(&format!("ok {}", o.result));
            logs = &o.logs;
        }
        Err(FunctionError::Thrown {
            message,
            stack,
            logs: l,
        }) => {
            out.push_str(&format!("thrown: {message}"));
            if !stack.is_empty() {
                out.push_str(&format!("\nstack:\n{stack}"));
            }
            logs = l;
        }
        Err(FunctionError::Compile { message }) => out.push_str(&format!("compile: {message}")),
        Err(FunctionError::RuntimeUnavailable { message }) => {
            out.push_str(&format!("unavailable: {message}"))
        }
        Err(FunctionError::Internal(message)) => out.push_str(&format!("internal: {message}")),
        Err(e @ (FunctionError::Timeout { .. } | FunctionError::MemoryLimit { .. })) => {
            out.push_str(e.kind());
            logs = e.logs();
        }
    }
    if !logs.is_empty() {
        out.push_str(&format!("\nlogs:\n{logs}"));
    }
    out
}

/// Compares `actual` to `expected`, where `expected` may end in `...` to match a prefix only.
pub fn matches(name: &str, actual: &str, expected: &str) -> Result<(), String> {
    let ok = match expected.strip_suffix("...") {
        Some(prefix) => actual.starts_with(prefix),
        None => actual == expected,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "case `{name}`\n--- expected\n{expected}\n--- actual\n{actual}\n"
        ))
    }
}
