//! Suppressing a warning for one node (or edge, or variable).
//!
//! In the document: an element carrying `"x-switchboard-allow": ["UNREACHABLE_NODE"]`
//! silences those codes for diagnostics inside that element. In a config file: a list of
//! `{code, node}` pairs (node optional: all nodes). Only warnings can be suppressed; an
//! error is a reason to change the flow, not the linter.

use serde::Deserialize;

use crate::doc::{View, J};
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

    /// Drop suppressed warnings. `doc_may_allow`: the document mentions [`ALLOW_KEY`] at
    /// all (most do not, and then no pointer needs walking).
    pub(crate) fn apply(
        &self,
        view: &View<'_>,
        root: J<'_>,
        doc_may_allow: bool,
        diags: &mut Vec<Diagnostic>,
    ) {
        if !doc_may_allow && self.allow.is_empty() {
            return;
        }
        diags.retain(|d| {
            d.severity == Severity::Error
                || !((doc_may_allow && in_document(root, d)) || self.in_config(view, d))
        });
    }

    fn in_config(&self, view: &View<'_>, d: &Diagnostic) -> bool {
        self.allow.iter().any(|s| {
            s.code == d.code
                && match &s.node {
                    None => true,
                    Some(name) => view.procs.iter().any(|p| {
                        p.nodes.iter().enumerate().any(|(i, n)| {
                            n.name == Some(name.as_str())
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
fn in_document(root: J<'_>, d: &Diagnostic) -> bool {
    let mut allowed = false;
    let mut check = |v: J<'_>| {
        if let Some(allow) = v.get(ALLOW_KEY).and_then(J::as_array) {
            allowed |= allow.iter().any(|c| c.as_str() == Some(d.code.as_str()));
        }
    };
    crate::order::walk(root, &d.path, &mut check);
    allowed
}
