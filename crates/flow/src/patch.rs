//! The PATCH contract of the guide as a pure, idempotent merge over a stored document.
//!
//! `upsert_nodes` match main-process nodes by `name`, `upsert_edges` match edges by `id`
//! (present items are replaced in place, new ones appended), `remove_node_names` and
//! `remove_edge_keys` delete, and any other top-level key overrides the document's
//! (server-owned fields excepted). Removals apply before upserts, so a patch that removes
//! and re-adds an item replaces it; applying the same patch twice gives the same document.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::SERVER_FIELDS;

/// A PATCH body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowPatch {
    #[serde(default)]
    pub upsert_nodes: Vec<Value>,
    #[serde(default)]
    pub upsert_edges: Vec<Value>,
    #[serde(default)]
    pub remove_node_names: Vec<String>,
    #[serde(default)]
    pub remove_edge_keys: Vec<String>,
    /// Top-level overrides such as `name` and `description`.
    #[serde(flatten)]
    pub overrides: IndexMap<String, Value>,
}

/// A patch that cannot be applied at all (as opposed to one whose result fails validation).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PatchError {
    pub pointer: String,
    pub code: &'static str,
    pub message: String,
}

impl FlowPatch {
    /// Parse a PATCH body, reporting the pointer of the first malformed part.
    pub fn from_value(v: &Value) -> Result<Self, PatchError> {
        if !v.is_object() {
            return Err(PatchError {
                pointer: String::new(),
                code: "INVALID_PATCH",
                message: "A PATCH body must be a JSON object.".into(),
            });
        }
        serde_path_to_error::deserialize(v).map_err(|e| PatchError {
            pointer: format!("/{}", e.path().to_string().replace('.', "/")),
            code: "INVALID_PATCH",
            message: format!("Invalid PATCH body at '{}': {}", e.path(), e.inner()),
        })
    }
}

/// Apply a patch to a flow document and return the merged document.
pub fn apply_patch(doc: &Value, patch: &FlowPatch) -> Result<Value, PatchError> {
    let mut out: Map<String, Value> = doc.as_object().cloned().unwrap_or_default();

    let mut nodes = take_array(&mut out, "nodes");
    let mut edges = take_array(&mut out, "edges");

    nodes.retain(|n| !key_in(n, "name", &patch.remove_node_names));
    edges.retain(|e| !key_in(e, "id", &patch.remove_edge_keys));

    for (i, node) in patch.upsert_nodes.iter().enumerate() {
        let name = key_of(node, "name").ok_or_else(|| PatchError {
            pointer: format!("/upsert_nodes/{i}/name"),
            code: "INVALID_PATCH",
            message: "Every upserted node needs a string 'name' (the merge key).".into(),
        })?;
        upsert(&mut nodes, "name", name, node);
    }
    for (i, edge) in patch.upsert_edges.iter().enumerate() {
        let id = key_of(edge, "id").ok_or_else(|| PatchError {
            pointer: format!("/upsert_edges/{i}/id"),
            code: "INVALID_PATCH",
            message: "Every upserted edge needs a string 'id' (the merge key).".into(),
        })?;
        upsert(&mut edges, "id", id, edge);
    }
    out.insert("nodes".into(), Value::Array(nodes));
    out.insert("edges".into(), Value::Array(edges));

    for (k, v) in &patch.overrides {
        if SERVER_FIELDS.contains(&k.as_str()) {
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(out))
}

fn take_array(obj: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match obj.get_mut(key) {
        Some(Value::Array(a)) => std::mem::take(a),
        _ => Vec::new(),
    }
}

fn key_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn key_in(v: &Value, key: &str, set: &[String]) -> bool {
    key_of(v, key).is_some_and(|k| set.iter().any(|s| s == k))
}

fn upsert(items: &mut Vec<Value>, key: &str, k: &str, item: &Value) {
    match items.iter_mut().find(|x| key_of(x, key) == Some(k)) {
        Some(slot) => *slot = item.clone(),
        None => items.push(item.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "name": "F", "version": 3,
            "nodes": [{"name": "A", "x": 1}, {"name": "B"}],
            "edges": [{"id": "e1", "from": "A", "to": "B"}]
        })
    }

    #[test]
    fn upserts_removes_and_overrides_idempotently() {
        let patch = FlowPatch::from_value(&json!({
            "upsert_nodes": [{"name": "A", "x": 2}, {"name": "C"}],
            "upsert_edges": [{"id": "e2", "from": "B", "to": "C"}],
            "remove_node_names": ["B"],
            "remove_edge_keys": ["e1"],
            "description": "new", "version": 99
        }))
        .unwrap();
        let once = apply_patch(&base(), &patch).unwrap();
        assert_eq!(
            once,
            json!({
                "name": "F", "version": 3,
                "nodes": [{"name": "A", "x": 2}, {"name": "C"}],
                "edges": [{"id": "e2", "from": "B", "to": "C"}],
                "description": "new"
            })
        );
        assert_eq!(apply_patch(&once, &patch).unwrap(), once);
    }

    #[test]
    fn upsert_without_key_is_rejected_with_pointer() {
        let patch = FlowPatch::from_value(&json!({"upsert_edges": [{"from": "A"}]})).unwrap();
        let err = apply_patch(&base(), &patch).unwrap_err();
        assert_eq!(err.pointer, "/upsert_edges/0/id");
        let err = FlowPatch::from_value(&json!({"remove_node_names": "A"})).unwrap_err();
        assert_eq!(err.code, "INVALID_PATCH");
    }
}
