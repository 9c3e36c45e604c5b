//! Parsing that never stops at the first problem.
//!
//! The fast path deserializes the whole document at once. When that fails, each field and
//! each array element is deserialized on its own so that every shape problem is reported
//! with its JSON Pointer; a broken element is replaced by a placeholder (keeping its `name`
//! when it has one) so indexes, and therefore pointers, stay those of the document as sent.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::model::*;
use crate::pointer;

/// A problem with the document's shape (wrong JSON type, unknown enum value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError {
    pub pointer: String,
    pub code: &'static str,
    pub message: String,
}

/// The bytes are not a JSON document we can look into.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("a flow document must be a JSON object, found {found}")]
    NotAnObject { found: &'static str },
}

/// The result of [`parse_bytes`]: the typed flow, its shape errors, and the raw JSON value
/// when the slow path needed it.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub flow: Flow,
    pub shape: Vec<ShapeError>,
    pub value: Option<Value>,
}

/// Parse bytes straight into the typed flow (one pass, no intermediate tree); only when the
/// document does not fit the model is it parsed again as a JSON value to report every shape
/// error with its pointer.
pub fn parse_bytes(bytes: &[u8]) -> Result<Parsed, ParseError> {
    // One UTF-8 check of the whole document is much cheaper than serde_json's check of every
    // string it reads from a byte slice; invalid UTF-8 takes the slice path for its position.
    let typed = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str::<Flow>(text),
        Err(_) => serde_json::from_slice::<Flow>(bytes),
    };
    match typed {
        Ok(flow) => Ok(Parsed {
            flow,
            shape: Vec::new(),
            value: None,
        }),
        Err(e) if e.is_data() => {
            let (value, flow, shape) = parse_slice(bytes)?;
            Ok(Parsed {
                flow,
                shape,
                value: Some(value),
            })
        }
        Err(e) => Err(ParseError::Syntax {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        }),
    }
}

/// Parse bytes into the raw JSON value and the typed flow.
pub fn parse_slice(bytes: &[u8]) -> Result<(Value, Flow, Vec<ShapeError>), ParseError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ParseError::Syntax {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })?;
    let (flow, errors) = parse(&value)?;
    Ok((value, flow, errors))
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parse a JSON value into a typed flow, collecting every shape error.
pub fn parse(value: &Value) -> Result<(Flow, Vec<ShapeError>), ParseError> {
    let Value::Object(obj) = value else {
        return Err(ParseError::NotAnObject {
            found: type_name(value),
        });
    };
    if let Ok(flow) = Flow::deserialize(value) {
        return Ok((flow, Vec::new()));
    }
    let mut errors = Vec::new();
    let mut flow = Flow::default();
    for (key, v) in obj {
        let at = format!("/{}", pointer::escape(key));
        match key.as_str() {
            "nodes" => flow.nodes = elements(v, &at, &mut errors, placeholder_node).into(),
            "edges" => flow.edges = elements(v, &at, &mut errors, |_| Edge::default()).into(),
            "variables" => {
                flow.variables = elements(v, &at, &mut errors, |_| Variable::default()).into()
            }
            "preferences" => {
                flow.preferences = elements(v, &at, &mut errors, |_| Preference::default()).into()
            }
            "eventFlows" => match v {
                Value::Object(ef) => {
                    let mut out = EventFlows::default();
                    for (k, v) in ef {
                        let at = format!("{at}/{}", pointer::escape(k));
                        match k.as_str() {
                            "nodes" => {
                                out.nodes = elements(v, &at, &mut errors, placeholder_node).into()
                            }
                            "edges" => {
                                out.edges =
                                    elements(v, &at, &mut errors, |_| Edge::default()).into()
                            }
                            _ => {
                                out.extra.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    flow.event_flows = out.into();
                }
                Value::Null => flow.event_flows = crate::Field::Null,
                other => errors.push(ShapeError {
                    pointer: at,
                    code: "INVALID_FIELD",
                    message: format!(
                        "'eventFlows' must be an object with nodes and edges, found {}.",
                        type_name(other)
                    ),
                }),
            },
            _ => {
                // A scalar field: deserialize a one-key document to check it in isolation.
                let mut single = Map::new();
                single.insert(key.clone(), v.clone());
                match serde_path_to_error::deserialize::<_, Flow>(&Value::Object(single)) {
                    Ok(one) => merge_scalar(&mut flow, one),
                    Err(e) => errors.push(shape_error("", &e)),
                }
            }
        }
    }
    Ok((flow, errors))
}

fn merge_scalar(flow: &mut Flow, one: Flow) {
    macro_rules! take {
        ($($f:ident),*) => { $( if one.$f.is_present() { flow.$f = one.$f; } )* };
    }
    take!(
        id,
        org_id,
        name,
        flow_type,
        contact_type,
        description,
        version,
        status
    );
    flow.extra.extend(one.extra);
}

fn placeholder_node(v: &Value) -> Node {
    // Keep the name so edges to a node with, say, a bad activityType do not also report
    // UNKNOWN_NODE: one mistake, one diagnostic.
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .map(|s| crate::Field::Value(s.to_string()))
        .unwrap_or_default();
    Node {
        name,
        ..Node::default()
    }
}

fn elements<T: for<'de> Deserialize<'de>>(
    v: &Value,
    at: &str,
    errors: &mut Vec<ShapeError>,
    placeholder: impl Fn(&Value) -> T,
) -> Vec<T> {
    let Value::Array(items) = v else {
        if !v.is_null() {
            errors.push(ShapeError {
                pointer: at.to_string(),
                code: "INVALID_FIELD",
                message: format!(
                    "'{}' must be an array, found {}.",
                    at.rsplit('/').next().unwrap_or(at),
                    type_name(v)
                ),
            });
        }
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .map(
            |(i, item)| match serde_path_to_error::deserialize::<_, T>(item) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(shape_error(&format!("{at}/{i}"), &e));
                    placeholder(item)
                }
            },
        )
        .collect()
}

fn shape_error(base: &str, e: &serde_path_to_error::Error<serde_json::Error>) -> ShapeError {
    let mut ptr = base.to_string();
    let mut last = String::new();
    for seg in e.path().iter() {
        use serde_path_to_error::Segment;
        let tok = match seg {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } | Segment::Enum { variant: key } => key.clone(),
            Segment::Unknown => continue,
        };
        ptr.push('/');
        ptr.push_str(&pointer::escape(&tok));
        last = tok;
    }
    let code = match (last.as_str(), base.contains("/variables/")) {
        ("activityType", _) => "INVALID_ACTIVITY_TYPE",
        ("type", true) => "INVALID_VARIABLE_TYPE",
        ("flowType", false) if base.is_empty() => "INVALID_FLOW_TYPE",
        _ => "INVALID_FIELD",
    };
    let inner = strip_position(&e.inner().to_string());
    ShapeError {
        message: format!("Invalid value for '{last}': {inner}."),
        pointer: ptr,
        code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_every_broken_element_with_its_pointer() {
        let doc = json!({
            "name": "x",
            "nodes": [
                {"name": "A", "activityType": "begin", "properties": {"activityName": "start"}},
                {"name": "B", "activityType": "action", "properties": {"activityName": "play-message"}},
                {"name": 7}
            ],
            "variables": [{"name": "v", "type": "FLOAT"}],
            "version": "one"
        });
        let (flow, errors) = parse(&doc).unwrap();
        let got: Vec<_> = errors
            .iter()
            .map(|e| (e.pointer.as_str(), e.code))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/nodes/0/activityType", "INVALID_ACTIVITY_TYPE"),
                ("/nodes/2/name", "INVALID_FIELD"),
                ("/variables/0/type", "INVALID_VARIABLE_TYPE"),
                ("/version", "INVALID_FIELD"),
            ]
        );
        // Indexes are preserved; the broken node keeps its name.
        assert_eq!(flow.nodes().len(), 3);
        assert_eq!(flow.nodes()[0].name(), Some("A"));
        assert_eq!(flow.nodes()[1].activity_name(), Some("play-message"));
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = parse_slice(b"{\n  \"name\": \"x\",\n  oops\n}").unwrap_err();
        match err {
            ParseError::Syntax { line, column, .. } => assert_eq!((line, column), (3, 3)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            parse_slice(b"[1]"),
            Err(ParseError::NotAnObject { .. })
        ));
    }

    #[test]
    fn round_trip_keeps_unknown_fields_and_nulls() {
        let doc = json!({
            "name": "x", "description": null, "custom": {"a": [1, 2.5, "s"]},
            "nodes": [{"id": "n", "name": "A", "activityType": "start", "x": 1,
                       "properties": {"activityName": "start", "flowType": {"k": "v"}}}],
            "edges": [{"id": "e", "from": "A", "to": "B", "condition": "done", "properties": null}],
            "variables": [{"name": "v", "type": "STRING", "value": "1", "isCAD": false, "desktopLabel": "V"}],
            "eventFlows": {"nodes": [], "edges": [], "eventsMap": {}},
            "preferences": [{"name": "p", "type": "Boolean", "value": "true"}]
        });
        let (flow, errors) = parse(&doc).unwrap();
        assert!(errors.is_empty());
        assert_eq!(flow.to_value(), doc);
        assert_eq!(flow.edges()[0].port(), Some("out"));
    }
}
