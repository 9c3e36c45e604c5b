//! Suppressing a warning for one node (or edge, or variable).
//!
//! In the document: an element carrying `"x-switchboard-allow": ["UNREACHABLE_NODE"]`
//! silences those codes for diagnostics inside that element. In a config file: a list of
//! `{code, node}` pairs (node optional: all nodes). Only warnings can be suppressed; an
//! error is a reason to change the flow, not the linter.

use serde::Deserialize;
use serde_json::Value;

use crate::{Diagnostic, Severity};

/// The document key that lists suppressed codes on a node, edge or variable.
pub const ALLOW_KEY: &str = "x-switchboard-allow";

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    pub code: String,
    #[serde(default)]
    pub node: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Suppressions {
    #[serde(default)]
    pub allow: Vec<Suppression>,
}

impl Suppressions {
    pub const fn empty() -> Self {
        Suppressions { allow: Vec::new() }
    }

    pub(crate) fn apply(
        &self,
        flow: &flow::Flow,
        src: &crate::order::Source<'_>,
        top: &[String],
        diags: &mut Vec<Diagnostic>,
    ) {
        // Most documents carry no allow lists: skip the per-diagnostic walk for them.
        let doc_may_allow = match src {
            crate::order::Source::Bytes(b) => {
                memchr::memmem::find(b, ALLOW_KEY.as_bytes()).is_some()
            }
            crate::order::Source::Value(_) => true,
        };
        if !doc_may_allow && self.allow.is_empty() {
            return;
        }
        diags.retain(|d| {
            d.severity == Severity::Error
                || !((doc_may_allow && in_document(flow, src, top, d)) || self.in_config(flow, d))
        });
    }

    fn in_config(&self, flow: &flow::Flow, d: &Diagnostic) -> bool {
        self.allow.iter().any(|s| {
            s.code == d.code
                && match &s.node {
                    None => true,
                    Some(name) => flow.processes().iter().any(|p| {
                        p.nodes.iter().enumerate().any(|(i, n)| {
                            n.name() == Some(name.as_str())
                                && within(&d.path, &format!("{}/nodes/{i}", p.kind.pointer_base()))
                        })
                    }),
                }
        })
    }
}

fn within(path: &str, prefix: &str) -> bool {
    path == prefix || path.starts_with(&format!("{prefix}/"))
}

/// Does any element on the diagnostic's path allow its code?
fn in_document(
    flow: &flow::Flow,
    src: &crate::order::Source<'_>,
    top: &[String],
    d: &Diagnostic,
) -> bool {
    let mut allowed = false;
    let mut check = |v: &Value| {
        if let Some(allow) = v.get(ALLOW_KEY).and_then(Value::as_array) {
            allowed |= allow.iter().any(|c| c.as_str() == Some(d.code.as_str()));
        }
    };
    crate::order::walk(flow, src, top, &d.path, Some(&mut check));
    allowed
}
