//! Diagnostics and the report that collects them.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding: where (JSON Pointer), what (stable code), why (message), how bad.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub path: String,
    pub code: String,
    pub message: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(path: &str, code: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_string(),
            code: code.to_string(),
            message: message.into(),
            severity: Severity::Error,
            hint: None,
        }
    }
    pub fn warning(path: &str, code: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(path, code, message)
        }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
    /// The wire shape of the API: `{path, code, message}`.
    pub fn to_api(&self) -> serde_json::Value {
        serde_json::json!({"path": self.path, "code": self.code, "message": self.message})
    }
}

/// Every diagnostic of one validation, in document order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn new(diagnostics: Vec<Diagnostic>) -> Self {
        Report { diagnostics }
    }
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }
    /// The body of `flows:validate` and of a 422 from `flows:import`: `{valid, errors}`.
    pub fn to_api(&self) -> serde_json::Value {
        serde_json::json!({
            "valid": self.is_valid(),
            "errors": self.errors().map(Diagnostic::to_api).collect::<Vec<_>>(),
        })
    }
    /// The `preflightWarnings` array of import and save responses.
    pub fn warnings_api(&self) -> Vec<serde_json::Value> {
        self.warnings().map(Diagnostic::to_api).collect()
    }
}
