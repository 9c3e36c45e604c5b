//! [`Command`]s: what a step asks the outside world to do.
//!
//! The engine never performs I/O. A runtime performs each command in order and, for those
//! that carry an `id`, feeds the answer back as an [`crate::Event`] with the same id.
//! Fire-and-forget commands (prompts, priority, screen pops, transfers, timers to cancel)
//! need no answer: the flow has already moved on.
//!
//! Ids are unique within a task (requests and timers share one sequence), so a runtime can
//! key answers by `(task id, command id)`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// One thing to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Command {
    /// Call an HTTP endpoint; answer with `HttpResponse` or `HttpFailed`.
    HttpRequest(HttpRequest),
    /// Run a published custom function; answer with `FunctionResult`.
    InvokeFunction(FunctionCall),
    /// Fire `TimerFired { id }` at `due` (at once if it is already past, e.g. after a restart).
    StartTimer { id: u64, due: DateTime<Utc> },
    /// The timer is no longer needed; a late `TimerFired` for it is ignored anyway.
    CancelTimer { id: u64 },
    /// Play a prompt to the caller (media port).
    PlayPrompt(PlayPrompt),
    /// Play music (media port); the flow's timer, not the media, ends the activity.
    #[serde(rename_all = "camelCase")]
    PlayMusic {
        audio_file: String,
        duration: Option<u32>,
        start_offset: u32,
    },
    /// Collect digits from the caller (media port); answer with `CallerInput`. The entry
    /// timeout is the engine's own timer.
    CollectDigits(CollectDigits),
    /// Park the contact in a queue; answer with `Reply` (`queueId`, `queueName`).
    QueueContact(QueueContact),
    /// Park the contact for one agent; answer with `Reply` (`agentId`, `queueId`).
    QueueToAgent(QueueToAgent),
    /// Read the contact's place in a queue; answer with `Reply` (get-queue-info outputs).
    #[serde(rename_all = "camelCase")]
    GetQueueInfo { id: u64, queue: String },
    /// Read a queue's statistics; answer with `Reply` (advanced-queue-info outputs).
    #[serde(rename_all = "camelCase")]
    AdvancedQueueInfo {
        id: u64,
        queue: String,
        lookback_minutes: u32,
    },
    /// Offer the queued contact to a later distribution group; answer with `Reply`
    /// (`distributionGroup`).
    #[serde(rename_all = "camelCase")]
    EscalateCdg {
        id: u64,
        queue: String,
        target_group: Option<u32>,
    },
    /// Set the contact's priority (1 highest .. 10).
    SetPriority { priority: u8 },
    /// Attach a screen pop to the contact.
    ScreenPop(ScreenPop),
    /// Ask the business rules engine; answer with `Reply` (`result`).
    BreRequest(BreRequest),
    /// Transfer the call to a number; the task ends.
    Transfer { destination: String },
    /// Hang up the contact; the task ends.
    Disconnect,
    /// Hand the contact to another flow or entry point; the task ends.
    #[serde(rename_all = "camelCase")]
    GoTo {
        destination_type: String,
        destination: String,
        /// The resolved flow version, when the destination is a flow.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        flow: Option<crate::ProgramKey>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
    /// Publish an event (for webhooks and logs); secure values are already masked.
    EmitEvent { name: String, payload: Json },
    /// The task finished; see its status. Always the last command of a step.
    End { status: crate::Status },
}

impl Command {
    /// The id an answer must carry, for commands that wait for one.
    pub fn request_id(&self) -> Option<u64> {
        match self {
            Command::HttpRequest(r) => Some(r.id),
            Command::InvokeFunction(f) => Some(f.id),
            Command::CollectDigits(c) => Some(c.id),
            Command::QueueContact(q) => Some(q.id),
            Command::QueueToAgent(q) => Some(q.id),
            Command::GetQueueInfo { id, .. }
            | Command::AdvancedQueueInfo { id, .. }
            | Command::EscalateCdg { id, .. }
            | Command::StartTimer { id, .. } => Some(*id),
            Command::BreRequest(b) => Some(b.id),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    pub id: u64,
    pub method: String,
    /// With the query parameters appended, percent-encoded.
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub timeout_secs: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCall {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_id: Option<String>,
    pub tag: String,
    /// `request.inputs`.
    pub inputs: Json,
}

/// A prompt with its text resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prompt {
    /// `text` or `audio`.
    pub prompt_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `text` or `ssml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlayPrompt {
    pub prompt: Prompt,
    pub interruptible: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectDigits {
    pub id: u64,
    pub prompt: Prompt,
    pub min_digits: u32,
    pub max_digits: u32,
    /// `#`, `*`, or absent for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminator: Option<String>,
    pub entry_timeout_secs: u32,
    pub inter_digit_timeout_secs: u32,
    pub interruptible: bool,
    /// Which try this is, from 1.
    pub attempt: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueContact {
    pub id: u64,
    pub queue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skill_requirements: Vec<Json>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueToAgent {
    pub id: u64,
    pub agent: String,
    /// `id` or `email`.
    pub agent_lookup_type: String,
    pub queue: String,
    pub park_if_unavailable: bool,
    pub recovery_timeout_secs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScreenPop {
    /// With the query parameters appended, percent-encoded.
    pub url: String,
    pub display_settings: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tab_label: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreRequest {
    pub id: u64,
    pub rule_name: String,
    pub parameters: Json,
    pub timeout_secs: u32,
}
