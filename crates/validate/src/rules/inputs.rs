//! INVALID_INPUT: node properties (minus activityName) checked against the activity's JSON
//! Schema, each failure reported at the pointer of the offending property.

use super::NodeAt;
use crate::doc::NodeV;
use crate::{Diagnostic, Validator};

/// One node (see [`super::NodeRules`]: the per-node rules run as each node is read).
pub(super) fn check_node(v: &Validator<'_>, out: &mut Vec<Diagnostic>, n: &NodeV<'_>, at: NodeAt) {
    let Some(def) = n.def else { return };
    let Some(schema) = v.schemas.get(&def.activity_name) else {
        return;
    };
    let Some(props) = n.props else {
        return;
    };
    if schema.is_valid(props) {
        return;
    }
    let base = format!("{at}/properties");
    // Only now, for a failing node: jsonschema words the errors over its own tree.
    let props = crate::doc::to_serde(props);
    for err in schema.full().iter_errors(&props) {
        let inner = err.instance_path.to_string();
        let mut path = format!("{base}{inner}");
        // A missing required property is reported at the property that should be there.
        let mut message = err.to_string();
        if let jsonschema::error::ValidationErrorKind::Required { property } = &err.kind {
            if let Some(p) = property.as_str() {
                path = format!("{path}/{}", flow::pointer::escape(p));
                message = format!("Activity '{}' requires input '{p}'.", def.activity_name);
            }
        } else {
            let name = inner
                .rsplit('/')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or("properties");
            message = format!(
                "Input '{name}' of activity '{}' is invalid: {message}.",
                def.activity_name
            );
        }
        out.push(Diagnostic::error(&path, "INVALID_INPUT", message));
    }
}
