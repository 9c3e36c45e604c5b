//! Trace records: one per activity execution, as data, returned by every step.
//!
//! A record says which node ran (in which flow, on which thread), with what resolved inputs,
//! what it produced, which port it left on and where that led, when it started and how long
//! it took on the clock the caller passed in, and the error if it failed. An activity that
//! waits produces a `waiting` record when it parks (with its inputs) and a `completed` one
//! when it resumes (with its outputs and the time waited).
//!
//! A step returns its records as a [`Trace`]: compact records that point into the programs
//! they ran and share one list of recorded values, so recording costs no allocation per
//! record and no reference count per name. [`Trace::entries`] gives borrowed views that
//! serialize exactly as the owned [`TraceRecord`]s [`Trace::iter`] builds.
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

use crate::program::Program;
use crate::state::FlowError;
use crate::value::AsJson;

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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::value::serialize_opt"
    )]
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
        s.collect_map(self.0.iter().map(|(k, v)| (&**k, AsJson(v))))
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

/// One recorded value: an input as resolved, or a variable as assigned.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub label: Label,
    pub value: Value,
    pub assigned: bool,
}

/// What an activity records while it runs: its fields go straight into the step's trace.
pub(crate) struct Capture<'a> {
    pub fields: &'a mut Vec<Field>,
    /// A secure variable was assigned: the node's outputs are masked too.
    pub masked: bool,
}

impl Capture<'_> {
    pub(crate) fn push(&mut self, label: impl Into<Label>, value: Value, assigned: bool) {
        self.fields.push(Field {
            label: label.into(),
            value,
            assigned,
        });
    }
}

/// A compact record: names are indexes into its program, values a range of the trace's
/// fields.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub program: u32,
    pub node: u32,
    pub next: Option<u32>,
    pub thread: u32,
    pub depth: u32,
    pub phase: Phase,
    pub port: Option<Cow<'static, str>>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub fields: std::ops::Range<u32>,
    pub outputs: Option<Value>,
    pub error: Option<Box<FlowError>>,
}

/// The records of one step, in order (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Trace {
    programs: Vec<Arc<Program>>,
    steps: Vec<Step>,
    pub(crate) fields: Vec<Field>,
}

impl Trace {
    pub(crate) fn with_capacity(records: usize, fields: usize) -> Trace {
        Trace {
            programs: Vec::new(),
            steps: Vec::with_capacity(records),
            fields: Vec::with_capacity(fields),
        }
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Borrowed views of the records, in order.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = Entry<'_>> + ExactSizeIterator + '_ {
        self.steps
            .iter()
            .map(move |step| Entry { trace: self, step })
    }

    /// The records, owned, in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = TraceRecord> + ExactSizeIterator + '_ {
        self.entries().map(|e| e.to_record())
    }

    /// Record `i`, owned.
    pub fn get(&self, i: usize) -> Option<TraceRecord> {
        self.steps
            .get(i)
            .map(|step| Entry { trace: self, step }.to_record())
    }

    /// The last record, owned.
    pub fn last(&self) -> Option<TraceRecord> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// Every record, owned.
    pub fn records(&self) -> Vec<TraceRecord> {
        self.iter().collect()
    }

    /// Appends a record made in `program`.
    pub(crate) fn push(&mut self, program: &Arc<Program>, mut step: Step) {
        step.program = match self.programs.iter().rposition(|p| Arc::ptr_eq(p, program)) {
            Some(i) => i as u32,
            None => {
                self.programs.push(program.clone());
                (self.programs.len() - 1) as u32
            }
        };
        self.steps.push(step);
    }
}

impl IntoIterator for Trace {
    type Item = TraceRecord;
    type IntoIter = std::vec::IntoIter<TraceRecord>;

    fn into_iter(self) -> Self::IntoIter {
        self.records().into_iter()
    }
}

impl PartialEq for Trace {
    fn eq(&self, other: &Trace) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Serialize for Trace {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.entries())
    }
}

/// One record of a [`Trace`], borrowed.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    trace: &'a Trace,
    step: &'a Step,
}

impl<'a> Entry<'a> {
    fn program(&self) -> &'a Program {
        &self.trace.programs[self.step.program as usize]
    }

    pub fn thread(&self) -> u32 {
        self.step.thread
    }

    pub fn flow(&self) -> &'a str {
        &self.program().name
    }

    /// Subflow nesting depth, 0 for the task's own flow.
    pub fn depth(&self) -> u32 {
        self.step.depth
    }

    pub fn node(&self) -> &'a str {
        &self.program().node(self.step.node).name
    }

    pub fn activity(&self) -> &'a str {
        &self.program().node(self.step.node).activity_name
    }

    pub fn phase(&self) -> Phase {
        self.step.phase
    }

    pub fn port(&self) -> Option<&'a str> {
        self.step.port.as_deref()
    }

    pub fn next(&self) -> Option<&'a str> {
        self.step.next.map(|n| &*self.program().node(n).name)
    }

    pub fn error(&self) -> Option<&'a FlowError> {
        self.step.error.as_deref()
    }

    fn fields(&self) -> &'a [Field] {
        &self.trace.fields[self.step.fields.start as usize..self.step.fields.end as usize]
    }

    fn field_map(&self, assigned: bool) -> Option<FieldMap<'a>> {
        let fields = self.fields();
        fields
            .iter()
            .any(|f| f.assigned == assigned)
            .then_some(FieldMap { fields, assigned })
    }

    fn fields_of(&self, assigned: bool) -> Option<Fields> {
        self.field_map(assigned).map(|m| {
            Fields(
                m.iter()
                    .map(|f| (f.label.clone(), f.value.clone()))
                    .collect(),
            )
        })
    }

    /// The record, owned.
    pub fn to_record(&self) -> TraceRecord {
        let p = self.program();
        let nd = p.node(self.step.node);
        TraceRecord {
            thread: self.step.thread,
            flow: p.name.clone(),
            depth: self.step.depth,
            node: nd.name.clone(),
            activity: nd.activity_name.clone(),
            phase: self.step.phase,
            inputs: self.fields_of(false),
            outputs: self.step.outputs.clone(),
            assigned: self.fields_of(true),
            port: self.step.port.clone(),
            next: self.step.next.map(|n| p.node(n).name.clone()),
            started_at: self.step.started_at,
            duration_ms: self.step.duration_ms,
            error: self.step.error.clone(),
        }
    }
}

/// The inputs or the assigned variables of a record, serialized as a JSON object.
struct FieldMap<'a> {
    fields: &'a [Field],
    assigned: bool,
}

impl<'a> FieldMap<'a> {
    fn iter(&self) -> impl Iterator<Item = &'a Field> + '_ {
        self.fields.iter().filter(|f| f.assigned == self.assigned)
    }
}

impl Serialize for FieldMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|f| (&*f.label, AsJson(&f.value))))
    }
}

/// A time as [`TraceRecord::started_at`] serializes it.
struct At(DateTime<Utc>);

impl Serialize for At {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::timefmt::utc(&self.0, s)
    }
}

/// The same JSON as the record's own (field for field, in order): the runtime stores a
/// step's trace from these without building the records.
impl Serialize for Entry<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let st = self.step;
        let mut m = s.serialize_struct("TraceRecord", 14)?;
        m.serialize_field("thread", &st.thread)?;
        m.serialize_field("flow", self.flow())?;
        if st.depth != 0 {
            m.serialize_field("depth", &st.depth)?;
        }
        m.serialize_field("node", self.node())?;
        m.serialize_field("activity", self.activity())?;
        m.serialize_field("phase", &st.phase)?;
        if let Some(inputs) = self.field_map(false) {
            m.serialize_field("inputs", &inputs)?;
        }
        if let Some(outputs) = &st.outputs {
            m.serialize_field("outputs", &AsJson(outputs))?;
        }
        if let Some(assigned) = self.field_map(true) {
            m.serialize_field("assigned", &assigned)?;
        }
        if let Some(port) = &st.port {
            m.serialize_field("port", port)?;
        }
        if let Some(next) = self.next() {
            m.serialize_field("next", next)?;
        }
        m.serialize_field("startedAt", &At(st.started_at))?;
        m.serialize_field("durationMs", &st.duration_ms)?;
        if let Some(error) = &st.error {
            m.serialize_field("error", error)?;
        }
        m.end()
    }
}
