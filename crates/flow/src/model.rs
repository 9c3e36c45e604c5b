//! Typed flow document, field for field as the guide's tables define it.
//!
//! Every struct keeps the keys it does not know in `extra` (flattened), and every optional
//! field is a [`Field`], so nothing a client sent is lost on a round trip.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::field::Field;
use crate::record::record;

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

/// Unknown keys (and edge properties), kept in document order. foldhash rather than SipHash:
/// these maps are built for every edge of every document parsed, and foldhash is several
/// times faster on short keys while still seeded per process.
pub type Extra = IndexMap<String, Value, foldhash::fast::RandomState>;

record! {
    /// A whole flow document (top-level fields of the guide's table plus server fields).
    pub struct Flow {
        "id" => id: String,
        "orgId" => org_id: String,
        "name" => name: String,
        "flowType" => flow_type: FlowType,
        "contactType" => contact_type: String,
        "description" => description: String,
        "version" => version: i64,
        "status" => status: FlowStatus,
        "nodes" => nodes: Vec<Node>,
        "edges" => edges: Vec<Edge>,
        "variables" => variables: Vec<Variable>,
        "eventFlows" => event_flows: EventFlows,
        "preferences" => preferences: Vec<Preference>,
    } other keys in extra, key order in key_order
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

record! {
    /// One activity instance.
    pub struct Node {
        "id" => id: String,
        "name" => name: String,
        "activityType" => activity_type: ActivityType,
        "properties" => properties: Properties,
    }
}

impl Node {
    pub fn name(&self) -> Option<&str> {
        self.name.get().map(String::as_str)
    }
    pub fn activity_name(&self) -> Option<&str> {
        self.properties.get().and_then(Properties::activity_name)
    }
    /// The node's properties object: the activity's input values (and `activityName`).
    pub fn inputs(&self) -> Option<&serde_json::Map<String, Value>> {
        self.properties.get().and_then(Properties::as_object)
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

/// Node properties as sent: `activityName` plus the activity's inputs. Kept as one JSON value
/// because that object is exactly what the activity's input schema validates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Properties(pub Value);

impl Properties {
    /// `activityName`, when it is a string.
    pub fn activity_name(&self) -> Option<&str> {
        // A scan, not a hash lookup: properties are small and `activityName` is nearly
        // always their first key, and every rule asks for it.
        self.0
            .as_object()?
            .iter()
            .find(|(k, _)| k.as_str() == "activityName")
            .and_then(|(_, v)| v.as_str())
    }
    /// The properties object (including `activityName`); `None` when not an object.
    pub fn as_object(&self) -> Option<&serde_json::Map<String, Value>> {
        self.0.as_object()
    }
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}

record! {
    pub struct Edge {
        "id" => id: String,
        "from" => from: String,
        "to" => to: String,
        "condition" => condition: String,
        "properties" => properties: Extra,
    }
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

record! {
    /// A flow variable. `value` is a string in the guide; other JSON is kept and reported by the
    /// validator rather than rejected by the parser.
    pub struct Variable {
        "name" => name: String,
        "type" => ty: VariableType,
        "value" => value: Value,
        "description" => description: String,
        "isCAD" => is_cad: bool,
        "isAgentEditable" => is_agent_editable: bool,
        "isReportable" => is_reportable: bool,
        "isSecure" => is_secure: bool,
    }
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
    pub const ALL: &'static [&'static str] = &[
        "STRING", "INTEGER", "BOOLEAN", "DECIMAL", "DATETIME", "JSON",
    ];
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

record! {
    /// The single event-handler process.
    pub struct EventFlows {
        "nodes" => nodes: Vec<Node>,
        "edges" => edges: Vec<Edge>,
    }
}

record! {
    pub struct Preference {
        "name" => name: String,
        "type" => ty: String,
        "value" => value: Value,
    }
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
