//! Constrained-input resolution. The validator is pure, so the server prefetches the org's
//! configuration into a [`StaticChoices`]; offline, the CLI loads one from a choices file.

use std::collections::{HashMap, HashSet};

use catalog::ChoicesKind;

/// Answers whether a value is in the resolved choice set of an input kind.
pub trait ChoiceResolver {
    /// `Some(true)` known, `Some(false)` unknown, `None` cannot tell (no data for the kind).
    fn contains(&self, kind: ChoicesKind, value: &str) -> Option<bool>;
}

/// Knows nothing: constrained inputs are not checked.
pub struct NoChoices;

impl ChoiceResolver for NoChoices {
    fn contains(&self, _: ChoicesKind, _: &str) -> Option<bool> {
        None
    }
}

/// A fixed set of ids and names per kind.
#[derive(Clone, Debug, Default)]
pub struct StaticChoices {
    sets: HashMap<ChoicesKind, HashSet<String>>,
}

impl StaticChoices {
    pub fn new() -> Self {
        Self::default()
    }
    /// Mark the kind as resolvable (so unknown values are reported) even with no values.
    pub fn declare(&mut self, kind: ChoicesKind) -> &mut Self {
        self.sets.entry(kind).or_default();
        self
    }
    pub fn insert(&mut self, kind: ChoicesKind, value: impl Into<String>) -> &mut Self {
        self.sets.entry(kind).or_default().insert(value.into());
        self
    }
    pub fn values(&self, kind: ChoicesKind) -> impl Iterator<Item = &str> {
        self.sets
            .get(&kind)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }
    /// Parse a choices file: `{"queue": ["Sales", "q-123"], "audioFile": [...]}` or with
    /// objects `{"id": ..., "name": ...}` as items (both id and name are accepted).
    pub fn from_json(v: &serde_json::Value) -> Result<Self, String> {
        let obj = v
            .as_object()
            .ok_or("a choices file must be a JSON object keyed by choices kind")?;
        let mut out = StaticChoices::new();
        for (k, items) in obj {
            let kind: ChoicesKind = serde_json::from_value(serde_json::Value::String(k.clone()))
                .map_err(|_| {
                    let known: Vec<&str> = ChoicesKind::all().iter().map(|c| c.as_str()).collect();
                    format!("unknown choices kind '{k}' (known: {})", known.join(", "))
                })?;
            out.declare(kind);
            let arr = items
                .as_array()
                .ok_or_else(|| format!("'{k}' must be an array of values"))?;
            for item in arr {
                match item {
                    serde_json::Value::String(s) => {
                        out.insert(kind, s.clone());
                    }
                    serde_json::Value::Object(o) => {
                        for key in ["id", "name"] {
                            if let Some(s) = o.get(key).and_then(|v| v.as_str()) {
                                out.insert(kind, s.to_string());
                            }
                        }
                    }
                    _ => {
                        return Err(format!(
                            "'{k}' items must be strings or {{id, name}} objects"
                        ))
                    }
                }
            }
        }
        Ok(out)
    }
}

impl ChoiceResolver for StaticChoices {
    fn contains(&self, kind: ChoicesKind, value: &str) -> Option<bool> {
        self.sets.get(&kind).map(|s| s.contains(value))
    }
}
