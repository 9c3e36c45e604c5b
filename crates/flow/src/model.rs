//! Typed flow document, field for field as the guide's tables define it.
//!
//! Every struct keeps the keys it does not know in `extra` (flattened), and every optional
//! field is a [`Field`], so nothing a client sent is lost on a round trip.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::field::Field;

/// Keys the server owns: set by the server on every write, ignored when a client sends them.
pub const SERVER_FIELDS: &[&str] = &[
    "id",
    "orgId",
    "version",
    "status",
    "createdBy",
    "createdDate",
    "lastModifiedBy",
    "lastModifiedDate",
    "lockedBy",
];

/// Unknown keys, kept in document order.
pub type Extra = IndexMap<String, Value>;

/// A whole flow document (top-level fields of the guide's table plus server fields).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub id: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub org_id: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub name: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub flow_type: Field<FlowType>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub contact_type: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub description: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub version: Field<i64>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub status: Field<FlowStatus>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub nodes: Field<Vec<Node>>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub edges: Field<Vec<Edge>>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub variables: Field<Vec<Variable>>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub event_flows: Field<EventFlows>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub preferences: Field<Vec<Preference>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FlowType {
    #[serde(rename = "FLOW")]
    Flow,
    #[serde(rename = "SUBFLOW")]
    Subflow,
}

impl FlowType {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowType::Flow => "FLOW",
            FlowType::Subflow => "SUBFLOW",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FlowStatus {
    Draft,
    Published,
}

/// One activity instance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub id: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub name: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub activity_type: Field<ActivityType>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub properties: Field<Properties>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Node {
    pub fn name(&self) -> Option<&str> {
        self.name.get().map(String::as_str)
    }
    pub fn activity_name(&self) -> Option<&str> {
        self.properties
            .get()
            .and_then(|p| p.activity_name.get())
            .map(String::as_str)
    }
    /// The activity's input values: `properties` without `activityName`.
    pub fn inputs(&self) -> Option<&IndexMap<String, Value>> {
        self.properties.get().map(|p| &p.inputs)
    }
}

/// The category of a node: `start`, `action`, `event` or `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivityType {
    Start,
    Action,
    Event,
    End,
}

impl ActivityType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityType::Start => "start",
            ActivityType::Action => "action",
            ActivityType::Event => "event",
            ActivityType::End => "end",
        }
    }
}

/// Node properties: `activityName` plus the activity's inputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Properties {
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub activity_name: Field<String>,
    #[serde(flatten)]
    pub inputs: IndexMap<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub id: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub from: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub to: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub condition: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub properties: Field<IndexMap<String, Value>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Edge {
    pub fn id(&self) -> Option<&str> {
        self.id.get().map(String::as_str)
    }
    pub fn from(&self) -> Option<&str> {
        self.from.get().map(String::as_str)
    }
    pub fn to(&self) -> Option<&str> {
        self.to.get().map(String::as_str)
    }
    /// The condition after alias normalization (`done -> out`, `defaultBranch -> default`).
    pub fn port(&self) -> Option<&str> {
        self.condition
            .get()
            .map(|c| crate::normalize_port(c.as_str()))
    }
}

/// A flow variable. `value` is a string in the guide; other JSON is kept and reported by the
/// validator rather than rejected by the parser.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub name: Field<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Field::is_absent")]
    pub ty: Field<VariableType>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub value: Field<Value>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub description: Field<String>,
    #[serde(rename = "isCAD", default, skip_serializing_if = "Field::is_absent")]
    pub is_cad: Field<bool>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub is_agent_editable: Field<bool>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub is_reportable: Field<bool>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub is_secure: Field<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Variable {
    pub fn name(&self) -> Option<&str> {
        self.name.get().map(String::as_str)
    }
    pub fn secure(&self) -> bool {
        self.is_secure.get().copied().unwrap_or(false)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VariableType {
    String,
    Integer,
    Boolean,
    Decimal,
    Datetime,
    Json,
}

impl VariableType {
    pub const ALL: &'static [&'static str] =
        &["STRING", "INTEGER", "BOOLEAN", "DECIMAL", "DATETIME", "JSON"];
    pub fn as_str(self) -> &'static str {
        match self {
            VariableType::String => "STRING",
            VariableType::Integer => "INTEGER",
            VariableType::Boolean => "BOOLEAN",
            VariableType::Decimal => "DECIMAL",
            VariableType::Datetime => "DATETIME",
            VariableType::Json => "JSON",
        }
    }
}

/// The single event-handler process.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventFlows {
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub nodes: Field<Vec<Node>>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub edges: Field<Vec<Edge>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Preference {
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub name: Field<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Field::is_absent")]
    pub ty: Field<String>,
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub value: Field<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which of the two processes a node or edge belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProcessKind {
    Main,
    Event,
}

impl ProcessKind {
    /// The JSON Pointer prefix of the process's `nodes`/`edges` arrays.
    pub fn pointer_base(self) -> &'static str {
        match self {
            ProcessKind::Main => "",
            ProcessKind::Event => "/eventFlows",
        }
    }
}

/// A borrowed view of one process.
#[derive(Clone, Copy, Debug)]
pub struct Process<'a> {
    pub kind: ProcessKind,
    pub nodes: &'a [Node],
    pub edges: &'a [Edge],
}

impl Flow {
    pub fn nodes(&self) -> &[Node] {
        self.nodes.get().map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn edges(&self) -> &[Edge] {
        self.edges.get().map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn variables(&self) -> &[Variable] {
        self.variables.get().map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn preferences(&self) -> &[Preference] {
        self.preferences.get().map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn name(&self) -> Option<&str> {
        self.name.get().map(String::as_str)
    }
    pub fn flow_type(&self) -> FlowType {
        self.flow_type.get().copied().unwrap_or(FlowType::Flow)
    }
    pub fn main(&self) -> Process<'_> {
        Process {
            kind: ProcessKind::Main,
            nodes: self.nodes(),
            edges: self.edges(),
        }
    }
    pub fn event(&self) -> Process<'_> {
        let ef = self.event_flows.get();
        Process {
            kind: ProcessKind::Event,
            nodes: ef
                .and_then(|e| e.nodes.get())
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            edges: ef
                .and_then(|e| e.edges.get())
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        }
    }
    /// Both processes, main first (document order).
    pub fn processes(&self) -> [Process<'_>; 2] {
        [self.main(), self.event()]
    }
    /// Serialize back to JSON. Never fails: every field is plain JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
