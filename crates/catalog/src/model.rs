//! The catalog's data model: activity definitions, their inputs, ports and outputs, and
//! event specifications.
//!
//! These types are at once the on-disk format of `catalog/*.json` and the body of the
//! discovery responses (`GET .../v2/activities`, `GET .../v2/event-specifications`), so they
//! serialize to camelCase JSON that describes itself: a client can build a node from an
//! [`ActivityDef`] alone. Unknown fields are rejected when a catalog file is parsed, so a typo
//! in a data file (`"requried": true`) is reported instead of silently ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The contact types (channel types) a flow can have, as in the flow document's
/// `contactType`.
pub const CONTACT_TYPES: &[&str] = &["telephony", "customMessaging", "workItem", "genericAction"];

/// The value types an output or variable can have.
pub const OUTPUT_TYPES: &[&str] = &[
    "STRING", "INTEGER", "BOOLEAN", "DECIMAL", "DATETIME", "JSON",
];

/// The universal fallback port: every start, action and event activity has it, and the
/// engine follows it when no edge carries the outcome port.
pub const DEFAULT_PORT: &str = "default";

/// The port of a normal completion of a non-branching activity.
pub const OUT_PORT: &str = "out";

/// One activity a node can run (`node.properties.activityName`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActivityDef {
    /// Kebab-case, unique in the catalog: what `properties.activityName` holds.
    pub activity_name: String,
    /// What kind of node runs it; a node's `activityType` must equal it.
    pub group: Group,
    pub display_name: String,
    /// What the activity does, including its local behaviour where the real back-end does
    /// not exist yet (media, rules engine).
    pub description: String,
    /// The contact types (flow `contactType`) the activity is offered for.
    pub contact_types: Vec<String>,
    /// Per-input metadata, in the order of `input_schema.properties`.
    pub inputs: Vec<InputDef>,
    /// JSON Schema (draft 2020-12) of `node.properties` without `activityName`. It tolerates
    /// unknown members (`additionalProperties: true`): editors keep UI fields there.
    pub input_schema: Value,
    /// Named outcomes; an edge's `condition` names one of them.
    pub output_ports: Vec<PortDef>,
    /// Values the node exposes to later nodes as `{{NodeName.field}}`.
    pub outputs: Vec<OutputDef>,
}

impl ActivityDef {
    /// The output port called `name` (aliases are not resolved here; the validator
    /// normalizes `done` and `defaultBranch` first).
    pub fn port(&self, name: &str) -> Option<&PortDef> {
        self.output_ports.iter().find(|p| p.name == name)
    }

    /// The input called `name`.
    pub fn input(&self, name: &str) -> Option<&InputDef> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// The output called `name`.
    pub fn output(&self, name: &str) -> Option<&OutputDef> {
        self.outputs.iter().find(|o| o.name == name)
    }

    /// The JSON Schema of one input (`input_schema.properties[name]`).
    pub fn input_property_schema(&self, name: &str) -> Option<&Value> {
        self.input_schema.get("properties")?.get(name)
    }

    /// The default value the schema declares for an input, which the engine uses when the
    /// node leaves the input out.
    pub fn input_default(&self, name: &str) -> Option<&Value> {
        self.input_property_schema(name)?.get("default")
    }

    /// Whether the activity is offered for flows of this contact type.
    pub fn supports(&self, contact_type: &str) -> bool {
        self.contact_types.iter().any(|c| c == contact_type)
    }

    /// The ports taken when the activity fails.
    pub fn error_ports(&self) -> impl Iterator<Item = &PortDef> {
        self.output_ports.iter().filter(|p| p.error)
    }
}

/// The category of an activity, and of the node that runs it (`node.activityType`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// The single entry node of a main process.
    Start,
    /// Does work and continues on an output port.
    Action,
    /// The entry node of an event flow, bound to an event specification.
    Event,
    /// Ends the process; has no output ports.
    End,
}

impl Group {
    pub fn as_str(&self) -> &'static str {
        match self {
            Group::Start => "start",
            Group::Action => "action",
            Group::Event => "event",
            Group::End => "end",
        }
    }

    pub fn all() -> &'static [Group] {
        &[Group::Start, Group::Action, Group::Event, Group::End]
    }

    /// Parses `start`, `action`, `event` or `end` (a node's `activityType`).
    pub fn parse(s: &str) -> Option<Group> {
        Group::all().iter().copied().find(|g| g.as_str() == s)
    }
}

impl std::fmt::Display for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Metadata of one input of an activity; its type and bounds are in the activity's
/// `input_schema`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InputDef {
    /// The key in `node.properties`.
    pub name: String,
    pub display_name: String,
    pub description: String,
    /// Mirrors the schema's `required` list.
    pub required: bool,
    /// The closed set of values, mirroring the schema's `enum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_values: Option<Vec<Value>>,
    /// The value names an entity of the org's configuration (a queue, an audio file...):
    /// `getActivityInputChoices` lists them and the validator reports `UNKNOWN_*` for a value
    /// that is not one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<ChoicesKind>,
    /// For an object-valued input (or an array of objects), the member that holds the
    /// constrained value, e.g. `audioFile` in `prompt`. Absent: the input's value itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices_field: Option<String>,
    /// Sibling inputs a dynamic choice list depends on (`mode=dynamic`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_inputs: Vec<String>,
    /// True when the value (or the string members of an object value) may contain `{{ }}`
    /// expressions, resolved when the node runs.
    #[serde(default)]
    pub templated: bool,
}

/// Escapes one JSON Pointer reference token (RFC 6901: `~` → `~0`, `/` → `~1`).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The kind of configuration entity an input's value names.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub enum ChoicesKind {
    Queue,
    Team,
    AudioFile,
    BusinessHours,
    EntryPoint,
    Flow,
    Function,
    GlobalVariable,
    Skill,
    Site,
    Agent,
}

impl ChoicesKind {
    /// The validation code for a value that names no such entity.
    pub fn error_code(&self) -> &'static str {
        match self {
            ChoicesKind::Queue => "UNKNOWN_QUEUE",
            ChoicesKind::Team => "UNKNOWN_TEAM",
            ChoicesKind::AudioFile => "UNKNOWN_AUDIO_FILE",
            ChoicesKind::BusinessHours => "UNKNOWN_BUSINESS_HOURS",
            ChoicesKind::EntryPoint => "UNKNOWN_ENTRY_POINT",
            ChoicesKind::Flow => "UNKNOWN_FLOW",
            ChoicesKind::Function => "UNKNOWN_FUNCTION",
            ChoicesKind::GlobalVariable => "UNKNOWN_GLOBAL_VARIABLE",
            ChoicesKind::Skill => "UNKNOWN_SKILL",
            ChoicesKind::Site => "UNKNOWN_SITE",
            ChoicesKind::Agent => "UNKNOWN_AGENT",
        }
    }

    /// The serialized name (`"audioFile"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ChoicesKind::Queue => "queue",
            ChoicesKind::Team => "team",
            ChoicesKind::AudioFile => "audioFile",
            ChoicesKind::BusinessHours => "businessHours",
            ChoicesKind::EntryPoint => "entryPoint",
            ChoicesKind::Flow => "flow",
            ChoicesKind::Function => "function",
            ChoicesKind::GlobalVariable => "globalVariable",
            ChoicesKind::Skill => "skill",
            ChoicesKind::Site => "site",
            ChoicesKind::Agent => "agent",
        }
    }

    pub fn all() -> &'static [ChoicesKind] {
        &[
            ChoicesKind::Queue,
            ChoicesKind::Team,
            ChoicesKind::AudioFile,
            ChoicesKind::BusinessHours,
            ChoicesKind::EntryPoint,
            ChoicesKind::Flow,
            ChoicesKind::Function,
            ChoicesKind::GlobalVariable,
            ChoicesKind::Skill,
            ChoicesKind::Site,
            ChoicesKind::Agent,
        ]
    }

    /// Parses the serialized name (`"audioFile"`).
    pub fn parse(s: &str) -> Option<ChoicesKind> {
        ChoicesKind::all().iter().copied().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for ChoicesKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A named outcome of an activity. An edge fires on a port by naming it in `condition`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortDef {
    pub name: String,
    pub description: String,
    /// Set for a branching port: several edges may leave on it, each carrying its branch
    /// value in `edge.properties`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branching: Option<Branching>,
    /// Taken when the activity fails: a failure routed here is handled by the flow instead of
    /// the global error event flow.
    #[serde(default)]
    pub error: bool,
}

impl PortDef {
    pub fn is_branching(&self) -> bool {
        self.branching.is_some()
    }
}

/// How the edges of a branching port say which branch they are.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Branching {
    /// The key in `edge.properties` carrying the branch value.
    pub property: String,
    /// JSON Schema (draft 2020-12) of that value.
    pub schema: Value,
}

/// A value a node exposes to later nodes as `{{NodeName.name}}`, or a start or event node
/// exposes from its event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutputDef {
    pub name: String,
    /// One of [`OUTPUT_TYPES`].
    #[serde(rename = "type")]
    pub ty: String,
    pub description: String,
}

/// An event a flow can be bound to: the trigger of a main flow (its start node's
/// `properties.flowType`) or the event an event flow reacts to (its event node).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventSpec {
    /// The `eventSpecificationName`, unique in the catalog.
    pub name: String,
    pub event_source_name: String,
    pub event_classification_name: String,
    /// Other classifications the event is also raised under, e.g. `GlobalErrorHandling`
    /// for work items (`WorkItemInteractions`) as well as voice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_classification_names: Vec<String>,
    pub display_name: String,
    pub description: String,
    pub binding: EventBinding,
    pub contact_types: Vec<String>,
    /// What the bound start or event node exposes to later nodes.
    pub outputs: Vec<OutputDef>,
}

impl EventSpec {
    /// Whether a node naming this event with this source and classification binds it.
    pub fn binds(&self, event_source_name: &str, event_classification_name: &str) -> bool {
        self.event_source_name == event_source_name
            && (self.event_classification_name == event_classification_name
                || self
                    .additional_classification_names
                    .iter()
                    .any(|c| c == event_classification_name))
    }

    /// Whether the event is raised for flows of this contact type.
    pub fn supports(&self, contact_type: &str) -> bool {
        self.contact_types.iter().any(|c| c == contact_type)
    }

    /// The output called `name`.
    pub fn output(&self, name: &str) -> Option<&OutputDef> {
        self.outputs.iter().find(|o| o.name == name)
    }
}

/// Where an event specification is bound.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum EventBinding {
    /// Starts a main flow: named by a start node's `properties.flowType`.
    Start,
    /// Starts an event flow: named by an event node's properties.
    Event,
}

impl EventBinding {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventBinding::Start => "start",
            EventBinding::Event => "event",
        }
    }
}

impl std::fmt::Display for EventBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn choices_kind_round_trips_and_has_codes() {
        for k in ChoicesKind::all() {
            let s = serde_json::to_value(k).unwrap();
            assert_eq!(s, json!(k.as_str()));
            assert_eq!(ChoicesKind::parse(k.as_str()), Some(*k));
            assert!(k.error_code().starts_with("UNKNOWN_"));
        }
        assert_eq!(ChoicesKind::AudioFile.error_code(), "UNKNOWN_AUDIO_FILE");
    }

    #[test]
    fn group_round_trips() {
        for g in Group::all() {
            assert_eq!(serde_json::to_value(g).unwrap(), json!(g.as_str()));
            assert_eq!(Group::parse(g.as_str()), Some(*g));
        }
    }
}
