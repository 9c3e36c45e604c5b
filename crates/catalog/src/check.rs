//! Compiled schemas and the checks that use them: a node's properties against its
//! activity's input schema, and an edge's branch value against its port's schema.
//!
//! The catalog compiles every schema once, when it is loaded (which is also how it proves
//! they are valid), so the validator and the engine check thousands of nodes without
//! recompiling, and without depending on the JSON Schema library themselves.

use serde::Serialize;
use serde_json::Value;

use crate::model::ActivityDef;
use crate::Catalog;

/// One way a value fails a schema.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InputViolation {
    /// JSON Pointer relative to the checked object: `/prompt/promptType` under a node's
    /// `properties`, `/digit` under an edge's `properties`. Empty for the object itself (a
    /// missing required member is reported on the object).
    pub pointer: String,
    pub message: String,
}

/// Compiles a JSON Schema as draft 2020-12 (its `$schema`, if any, is ignored). Formats are
/// annotations only: a templated value such as `{{BaseUrl}}/x` is not a URI until it runs.
pub(crate) fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::draft202012::options()
        .should_validate_formats(false)
        .build(schema)
        .map_err(|e| {
            let at = e.instance_path.as_str();
            if at.is_empty() {
                format!("invalid JSON Schema: {e}")
            } else {
                format!("invalid JSON Schema at {at}: {e}")
            }
        })
}

/// The compiled schemas of one activity.
#[derive(Debug)]
pub(crate) struct CompiledActivity {
    input: jsonschema::Validator,
    /// (port name, schema of the branch value) for each branching port.
    branches: Vec<(String, jsonschema::Validator)>,
}

impl CompiledActivity {
    /// Errors are (JSON Pointer relative to the activity, message).
    pub(crate) fn compile(def: &ActivityDef) -> Result<CompiledActivity, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let input = compile_schema(&def.input_schema)
            .map_err(|e| errors.push(("/inputSchema".to_owned(), e)))
            .ok();
        let mut branches = Vec::new();
        for (i, port) in def.output_ports.iter().enumerate() {
            if let Some(b) = &port.branching {
                match compile_schema(&b.schema) {
                    Ok(v) => branches.push((port.name.clone(), v)),
                    Err(e) => errors.push((format!("/outputPorts/{i}/branching/schema"), e)),
                }
            }
        }
        match input {
            Some(input) if errors.is_empty() => Ok(CompiledActivity { input, branches }),
            _ => Err(errors),
        }
    }
}

fn violations(
    validator: &jsonschema::Validator,
    value: &Value,
    prefix: &str,
) -> Vec<InputViolation> {
    validator
        .iter_errors(value)
        .map(|e| InputViolation {
            pointer: format!("{prefix}{}", e.instance_path.as_str()),
            message: e.to_string(),
        })
        .collect()
}

impl Catalog {
    /// Checks a node's `properties` (its `activityName` and UI fields are tolerated) against
    /// the activity's input schema. `None` when the activity is unknown; otherwise every
    /// violation, empty when the properties are valid.
    pub fn check_input(
        &self,
        activity_name: &str,
        properties: &Value,
    ) -> Option<Vec<InputViolation>> {
        let i = *self.activity_index.get(activity_name)?;
        Some(violations(&self.compiled[i].input, properties, ""))
    }

    /// Checks the `properties` of an edge leaving on a branching port: the branch value must
    /// be present and match the port's schema. `None` when the activity or port is unknown or
    /// the port is not branching.
    pub fn check_branch(
        &self,
        activity_name: &str,
        port: &str,
        edge_properties: &Value,
    ) -> Option<Vec<InputViolation>> {
        let i = *self.activity_index.get(activity_name)?;
        let def = &self.activities[i];
        let branching = def.port(port)?.branching.as_ref()?;
        let (_, validator) = self.compiled[i].branches.iter().find(|(p, _)| p == port)?;
        let key = &branching.property;
        match edge_properties.get(key) {
            Some(value) => Some(violations(
                validator,
                value,
                &format!("/{}", crate::model::escape_pointer_token(key)),
            )),
            None => Some(vec![InputViolation {
                pointer: String::new(),
                message: format!(
                    "an edge on the branching port {port:?} of {activity_name:?} carries its branch value in properties.{key}, which is missing"
                ),
            }]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compile_reports_a_bad_schema() {
        assert!(compile_schema(&json!({"type": "object"})).is_ok());
        let err = compile_schema(&json!({"type": "strin"})).unwrap_err();
        assert!(err.contains("invalid JSON Schema"), "{err}");
    }

    #[test]
    fn formats_are_annotations() {
        let v = compile_schema(&json!({"type": "string", "format": "uri"})).unwrap();
        assert!(v.is_valid(&json!("{{BaseUrl}}/customers")));
    }
}
