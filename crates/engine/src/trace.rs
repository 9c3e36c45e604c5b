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

use std::sync::Arc;

use chrono::{DateTime, Utc};
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<serde_json::Map<String, Json>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Json>,
    /// Variables the node assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<serde_json::Map<String, Json>>,
    /// The outcome port (`out`, `true`, `error`, `case`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// The node the edge led to; absent when the path ended here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Arc<str>>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FlowError>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What an activity records while it runs (inputs as resolved, variables assigned).
#[derive(Debug, Default)]
pub(crate) struct Capture {
    pub inputs: serde_json::Map<String, Json>,
    pub assigned: serde_json::Map<String, Json>,
    /// A secure variable was assigned: the node's outputs are masked too.
    pub masked: bool,
}
