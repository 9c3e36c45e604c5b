//! [`Event`]s: what the outside world tells a task, and [`Start`], what it starts with.
//!
//! Answers carry the id of the command they answer. An answer nobody waits for (a duplicate
//! delivery, a timer cancelled meanwhile, a task already finished) is ignored and the step
//! says so in [`crate::StepOutput::ignored`]: a runtime that delivers at least once is safe.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::state::Fault;

/// How a task begins.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Start {
    /// Initial values of flow variables (over their defaults), converted to their types.
    pub variables: IndexMap<String, Json>,
    /// Global variables (`{{ Name }}` or `{{ global.Name }}`).
    pub globals: IndexMap<String, Json>,
    /// Names of globals to mask in traces.
    pub secure_globals: Vec<String>,
    /// The start node's outputs: the trigger's data (`ANI`, `DNIS`, a work item's
    /// `WorkItemData`...), read as `{{NewContact.ANI}}`.
    pub outputs: serde_json::Map<String, Json>,
    /// Random seed (percent-allocation). Same seed, same branches.
    pub seed: u64,
    /// Faults to inject (flow tests).
    pub faults: Vec<Fault>,
}

/// Something that happened to a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    /// The answer to an `HttpRequest`, whatever its status.
    HttpResponse {
        id: u64,
        status: u16,
        #[serde(default)]
        headers: Vec<(String, String)>,
        #[serde(default)]
        body: String,
    },
    /// No answer to an `HttpRequest`.
    HttpFailed {
        id: u64,
        reason: HttpFailure,
        #[serde(default)]
        message: String,
    },
    /// The answer to an `InvokeFunction`.
    FunctionResult { id: u64, result: FunctionOutcome },
    /// The answer to a routing or rules request (`QueueContact`, `QueueToAgent`,
    /// `GetQueueInfo`, `AdvancedQueueInfo`, `EscalateCdg`, `BreRequest`).
    Reply { id: u64, result: Reply },
    /// A timer started with `StartTimer` is due.
    TimerFired { id: u64 },
    /// The caller entered digits (including the terminator, if any).
    CallerInput { digits: String },
    /// The caller hung up: the contact ends (and PhoneContactEnded/ContactEnded fire).
    CallerHangup,
    /// A bindable event (AgentOffered, AgentAnswered, ContactEnded, QueueTimeout,
    /// WorkItemDataUpdated...) with its outputs; runs the event flow bound to it.
    Notify {
        event: String,
        #[serde(default)]
        outputs: serde_json::Map<String, Json>,
    },
    /// Arm a fault (flow tests): the named node fails the next time it runs, or at once if
    /// it is waiting now.
    FaultInjected {
        node: String,
        #[serde(default = "fault_code")]
        code: String,
        #[serde(default)]
        message: String,
    },
    /// Stop the task (an operator cancelled it, the contact was removed).
    Cancel {
        #[serde(default)]
        reason: String,
    },
}

fn fault_code() -> String {
    "FAULT_INJECTED".to_owned()
}

/// Why an HTTP request got no response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HttpFailure {
    Timeout,
    Connect,
    InvalidUrl,
    /// The runtime refused the address (private network) after resolving it.
    Denied,
}

/// A function's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum FunctionOutcome {
    /// `response.data`.
    Ok { data: Json },
    Err {
        kind: FunctionErrorKind,
        message: String,
    },
}

/// How a function failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FunctionErrorKind {
    /// It threw.
    Thrown,
    Timeout,
    MemoryLimit,
    /// No published version with the tag.
    NotFound,
}

/// An answer to a routing or rules request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum Reply {
    /// The activity's outputs, by name.
    Ok {
        #[serde(default)]
        outputs: serde_json::Map<String, Json>,
    },
    /// Takes the activity's error port with this code (QUEUE_NOT_FOUND, TIMEOUT...).
    Err { code: String, message: String },
}

impl Event {
    /// A successful `Reply` with these outputs.
    pub fn reply_ok(id: u64, outputs: Json) -> Event {
        let outputs = match outputs {
            Json::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        Event::Reply {
            id,
            result: Reply::Ok { outputs },
        }
    }

    /// A failed `Reply`.
    pub fn reply_err(id: u64, code: &str, message: &str) -> Event {
        Event::Reply {
            id,
            result: Reply::Err {
                code: code.to_owned(),
                message: message.to_owned(),
            },
        }
    }

    /// A `Notify` with these outputs.
    pub fn notify(event: &str, outputs: Json) -> Event {
        let outputs = match outputs {
            Json::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        Event::Notify {
            event: event.to_owned(),
            outputs,
        }
    }

    /// A short name for traces and logs.
    pub fn label(&self) -> String {
        match self {
            Event::HttpResponse { id, status, .. } => format!("HttpResponse#{id} {status}"),
            Event::HttpFailed { id, reason, .. } => format!("HttpFailed#{id} {reason:?}"),
            Event::FunctionResult { id, .. } => format!("FunctionResult#{id}"),
            Event::Reply { id, .. } => format!("Reply#{id}"),
            Event::TimerFired { id } => format!("TimerFired#{id}"),
            Event::CallerInput { digits } => format!("CallerInput {digits}"),
            Event::CallerHangup => "CallerHangup".to_owned(),
            Event::Notify { event, .. } => format!("Notify {event}"),
            Event::FaultInjected { node, .. } => format!("FaultInjected {node}"),
            Event::Cancel { .. } => "Cancel".to_owned(),
        }
    }
}
