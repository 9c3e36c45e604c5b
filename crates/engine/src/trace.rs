//! Trace records: one per activity execution, as data, returned by every step.
//!
//! A record says which node ran (in which flow, on which thread), with what resolved inputs,
//! what it produced, which port it left on and where that led, when it started and how long
//! it took on the clock the caller passed in, and the error if it failed. An activity that
//! waits produces a `waiting` record when it parks (with its inputs) and a `completed` one
//! when it resumes (with its outputs and the time waited).
//!
//! Secure values never reach a record: an input whose expression reads an `isSecure`
//! variable (or a secure global) is recorded as `"******"`, and so are the values assigned
//! to secure variables and the outputs of a node that assigned one.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use minijinja::Value;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::state::FlowError;

/// What replaces a secure value.
pub const MASK: &str = "******";

/// How much a step records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TraceLevel {
    /// Nothing.
    Off,
    /// Node, activity, port, timing and errors; no values.
    Path,
    /// Everything, including resolved inputs and outputs.
    #[default]
    Full,
}

/// Whether a record ends an execution or parks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    Completed,
    Waiting,
}

/// One activity execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceRecord {
    /// The thread (0: the main flow; others: event flow handlers).
    pub thread: u32,
    /// The flow's name (a subflow's, inside a subflow call).
    pub flow: Arc<str>,
    /// Subflow nesting depth, 0 for the task's own flow.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub depth: u32,
    pub node: Arc<str>,
    pub activity: Arc<str>,
    pub phase: Phase,
    /// Inputs as resolved (secure ones masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Fields>,
    /// What `{{Node.field}}` reads (masked when the node assigned a secure variable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Value>,
    /// Variables the node assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<Fields>,
    /// The outcome port (`out`, `true`, `error`, `case`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Cow<'static, str>>,
    /// The node the edge led to; absent when the path ended here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Arc<str>>,
    #[serde(serialize_with = "crate::timefmt::utc")]
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Box<FlowError>>,
}

impl TraceRecord {
    /// The resolved inputs as a JSON object (`null` when not recorded).
    pub fn inputs_json(&self) -> Json {
        self.inputs
            .as_ref()
            .map(Fields::to_json)
            .unwrap_or(Json::Null)
    }

    /// The outputs as JSON (`null` when not recorded).
    pub fn outputs_json(&self) -> Json {
        self.outputs
            .as_ref()
            .map(crate::value::to_json)
            .unwrap_or(Json::Null)
    }

    /// The assigned variables as a JSON object (`null` when none).
    pub fn assigned_json(&self) -> Json {
        self.assigned
            .as_ref()
            .map(Fields::to_json)
            .unwrap_or(Json::Null)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A field's name: an activity's fixed input name, or a shared name (a variable's), so
/// recording one copies no text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Label {
    Static(&'static str),
    Shared(Arc<str>),
}

impl std::ops::Deref for Label {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Label::Static(s) => s,
            Label::Shared(s) => s,
        }
    }
}

impl From<&'static str> for Label {
    fn from(s: &'static str) -> Label {
        Label::Static(s)
    }
}

impl From<Arc<str>> for Label {
    fn from(s: Arc<str>) -> Label {
        Label::Shared(s)
    }
}

impl From<String> for Label {
    fn from(s: String) -> Label {
        Label::Shared(s.into())
    }
}

/// Named values in order, serialized as a JSON object. Recording them costs a clone of
/// each value (a reference count), not a conversion: traces are built on every step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields(pub Vec<(Label, Value)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| **k == *name).map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn push(&mut self, name: impl Into<Label>, v: Value) {
        self.0.push((name.into(), v));
    }

    pub fn to_json(&self) -> Json {
        Json::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.to_string(), crate::value::to_json(v)))
                .collect(),
        )
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(&**k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
        let vars = crate::state::Vars::deserialize(d)?;
        Ok(Fields(
            vars.iter()
                .map(|(k, v)| (Label::from(k.to_string()), v.clone()))
                .collect(),
        ))
    }
}

/// What an activity records while it runs (inputs as resolved, variables assigned).
#[derive(Debug, Default)]
pub(crate) struct Capture {
    pub inputs: Fields,
    pub assigned: Fields,
    /// A secure variable was assigned: the node's outputs are masked too.
    pub masked: bool,
}
