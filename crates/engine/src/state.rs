//! [`TaskState`]: everything a task is, as data: the durable checkpoint.
//!
//! A runtime stores the serialized state after every step (with the step's commands, in one
//! transaction) and can rebuild the task from it alone, plus the pinned programs it names.
//! Nothing here refers to a clock, a socket or a database; timers are data (id and due time).
//!
//! Layout: the task's root scope (the main flow's variables and the node outputs later
//! expressions read), global variables, the contact's start data, and *threads*. Thread 0 is
//! the main flow; an event flow handler (an agent answered, the global error event...) runs
//! as another thread on the same variables. Each thread has a call stack of frames (a
//! subflow call pushes one, with its own scope) and at most one wait point.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use minijinja::Value;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::program::ProgramKey;

/// Named values in order: a scope's variables, node outputs, or global variables.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vars(Vec<(Arc<str>, Value)>);

impl Vars {
    pub fn new() -> Vars {
        Vars(Vec::new())
    }

    pub fn from_pairs<I, K>(pairs: I) -> Vars
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<Arc<str>>,
    {
        Vars(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| **n == *name).map(|(_, v)| v)
    }

    /// By slot (the program's variable order), falling back to the name.
    pub(crate) fn get_slot(&self, slot: u32, name: &Arc<str>) -> Option<&Value> {
        match self.0.get(slot as usize) {
            // The program's name and the task's are usually the same allocation.
            Some((n, v)) if Arc::ptr_eq(n, name) || **n == **name => Some(v),
            _ => self.get(name),
        }
    }

    /// Sets by slot when the slot holds that name, else by name (appending a new one).
    pub(crate) fn set_slot(&mut self, slot: u32, name: &Arc<str>, v: Value) {
        if let Some((n, old)) = self.0.get_mut(slot as usize) {
            if Arc::ptr_eq(n, name) || **n == **name {
                *old = v;
                return;
            }
        }
        self.set(name.clone(), v);
    }

    pub fn set(&mut self, name: Arc<str>, v: Value) {
        match self.0.iter_mut().find(|(n, _)| **n == *name) {
            Some((_, old)) => *old = v,
            None => self.0.push((name, v)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.to_string(), crate::value::to_json(v)))
                .collect(),
        )
    }
}

impl Serialize for Vars {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (&**k, crate::value::AsJson(v))))
    }
}

impl<'de> Deserialize<'de> for Vars {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Vars, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vars;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of named values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vars, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((Arc::from(k), v));
                }
                Ok(Vars(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// One flow instance's data: its variables and the outputs of its nodes that later
/// expressions read (outputs nothing reads are only traced, not kept).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    pub vars: Vars,
    #[serde(default, skip_serializing_if = "Vars::is_empty")]
    pub outputs: Vars,
}

/// Where a task is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Status {
    /// Parked at one or more wait points (or listening for contact events); feed it events.
    Waiting,
    /// Finished normally.
    Completed { outcome: Outcome },
    /// Finished by an error nothing handled; the error is recorded.
    Failed { error: Box<FlowError> },
}

/// How a task finished.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Outcome {
    /// The flow ran to its end (end-flow, or a path with no further edge).
    Ended,
    /// disconnect-contact hung up.
    Disconnected,
    /// blind-transfer handed the call to a number.
    Transferred { destination: String },
    /// go-to handed the contact to another flow or entry point.
    #[serde(rename_all = "camelCase")]
    WentTo {
        destination_type: String,
        destination: String,
    },
    /// An agent took the contact; the flow stopped controlling it.
    #[serde(rename_all = "camelCase")]
    AgentConnected { agent_id: String },
    /// The contact ended (the caller hung up, the customer left, the system closed it).
    #[serde(rename_all = "camelCase")]
    ContactEnded { ended_by: String },
    /// The runtime cancelled the task.
    Cancelled { reason: String },
}

/// An activity failure, as recorded in traces, the global error event and a failed task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowError {
    /// Stable code: TIMEOUT, EXPRESSION_ERROR, STEP_BUDGET_EXCEEDED...
    pub code: String,
    pub message: String,
    /// Flow (name) and node where it happened.
    pub flow: String,
    pub node: String,
    pub activity: String,
    #[serde(serialize_with = "crate::timefmt::utc")]
    pub at: DateTime<Utc>,
}

/// A thread of execution: the main flow (id 0) or an event flow handler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    pub id: u32,
    /// The event this handler thread runs for; absent for the main flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// The call stack: the flow's own frame, then one per subflow call.
    pub stack: Vec<Frame>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<Wait>,
}

/// One flow instance on a thread's stack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// The subflow program (pinned version); absent for the task's own flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<ProgramKey>,
    /// The node waiting (top frame) or calling the subflow above (lower frames), by index...
    pub node: u32,
    /// ...and by name, for people reading a checkpoint (checked against the program).
    pub at: Arc<str>,
    /// The subflow's own variables and outputs; absent: the task's root scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Box<Scope>>,
    /// When the subflow call began (subflow frames).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::timefmt::utc_opt"
    )]
    pub called_at: Option<DateTime<Utc>>,
}

/// What a thread waits for, since when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Wait {
    #[serde(serialize_with = "crate::timefmt::utc")]
    pub since: DateTime<Utc>,
    #[serde(flatten)]
    pub on: WaitOn,
}

/// The event that ends a wait. Ids match the ids of the commands the wait emitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "for", rename_all = "camelCase")]
pub enum WaitOn {
    /// `TimerFired { id: timer }` (wait, play-music).
    Timer { timer: u64 },
    /// `HttpResponse`/`HttpFailed` with this id.
    Http { request: u64 },
    /// `FunctionResult` with this id.
    Function { request: u64 },
    /// `Reply` with this id (routing, queue information, the rules engine).
    Reply { request: u64 },
    /// `CallerInput`, or `TimerFired { id: timer }` when the caller enters nothing; `attempt`
    /// counts from 1.
    Digits {
        request: u64,
        timer: u64,
        attempt: u32,
    },
}

/// A pending timer: the runtime fires `TimerFired { id }` at `due` (at once if overdue).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub id: u64,
    #[serde(serialize_with = "crate::timefmt::utc")]
    pub due: DateTime<Utc>,
    pub thread: u32,
}

/// The contact's routing situation, as far as the flow knows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Routing {
    /// The queue the contact is parked in (queue-contact, queue-to-agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The agent who took the contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The contact has ended (hang-up, customer left); caller-facing activities fail.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ended: bool,
}

/// A fault armed for tests: the next run of the named node fails with this error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub node: String,
    pub code: String,
    pub message: String,
}

/// A task's complete state; see the module documentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskState {
    /// The flow version the task started on; it runs to its end on it.
    pub(crate) flow: ProgramKey,
    pub(crate) status: Status,
    #[serde(serialize_with = "crate::timefmt::utc")]
    pub(crate) started_at: DateTime<Utc>,
    /// The start node's outputs (`{{NewContact.ANI}}`, a work item's payload).
    #[serde(serialize_with = "crate::value::serialize")]
    pub(crate) contact: Value,
    /// The main flow's variables and kept node outputs.
    pub(crate) root: Scope,
    #[serde(default, skip_serializing_if = "Vars::is_empty")]
    pub(crate) globals: Vars,
    /// Names of global variables whose values are masked in traces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) secure_globals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) threads: Vec<Thread>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) timers: Vec<Timer>,
    /// Activity executions so far (the step budget counts these).
    pub(crate) steps: u32,
    /// The budget overran once and the error handler got its grace steps.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) grace: bool,
    /// Random state (percent-allocation); seeded by the caller, so runs are reproducible.
    pub(crate) rng: u64,
    /// The next command id (requests and timers share the sequence).
    pub(crate) next_id: u64,
    /// The next thread id.
    #[serde(default)]
    pub(crate) next_thread: u32,
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) routing: Routing,
    /// The main flow ended but the contact is still in the contact center: the task stays
    /// to run the event flows bound to contact events until the contact ends.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) listening: bool,
    /// How the main flow ended, while handler threads still run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ended: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) faults: Vec<Fault>,
    /// The last activity failure that reached the global error handler (or failed the task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<Box<FlowError>>,
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

impl TaskState {
    /// The flow version the task runs on.
    pub fn flow(&self) -> &ProgramKey {
        &self.flow
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Completed or failed: no event changes it any more.
    pub fn is_finished(&self) -> bool {
        !matches!(self.status, Status::Waiting)
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    /// The main flow's variables.
    pub fn variables(&self) -> &Vars {
        &self.root.vars
    }

    /// A main flow variable as JSON.
    pub fn variable(&self, name: &str) -> Option<serde_json::Value> {
        self.root.vars.get(name).map(crate::value::to_json)
    }

    pub fn globals(&self) -> &Vars {
        &self.globals
    }

    /// The contact's start data (the start node's outputs).
    pub fn contact(&self) -> serde_json::Value {
        crate::value::to_json(&self.contact)
    }

    /// Timers the runtime must fire (`TimerFired`) at their due time, overdue ones at once.
    pub fn pending_timers(&self) -> &[Timer] {
        &self.timers
    }

    /// The earliest due time of a pending timer.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.timers.iter().map(|t| t.due).min()
    }

    /// Live threads with their stacks and wait points.
    pub fn threads(&self) -> &[Thread] {
        &self.threads
    }

    /// Activity executions so far.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// The last error that reached the global error event or failed the task.
    pub fn error(&self) -> Option<&FlowError> {
        self.error.as_deref()
    }

    pub fn routing(&self) -> &Routing {
        &self.routing
    }

    /// Every flow version the task needs to continue (its own and its subflows'), so a
    /// runtime can load them before stepping.
    pub fn programs(&self) -> Vec<&ProgramKey> {
        let mut keys = vec![&self.flow];
        for t in &self.threads {
            for f in &t.stack {
                if let Some(k) = &f.flow {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
            }
        }
        keys
    }

    /// The checkpoint as JSON. It holds secure values as they are (the task resumes from
    /// it): a store should encrypt it at rest, and show [`TaskState::to_json_masked`].
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The checkpoint as JSON with secure values masked: secure variables (of the flow and
    /// of subflow frames), the kept outputs of nodes that assign secure variables, and
    /// secure globals. For APIs, logs and events.
    pub fn to_json_masked(&self, env: &dyn crate::Env) -> serde_json::Value {
        use serde_json::Value as Json;
        fn mask_scope(scope: &mut Json, program: &crate::Program) {
            for v in program.vars.iter().filter(|v| v.secure) {
                if let Some(slot) =
                    scope.pointer_mut(&format!("/vars/{}", crate::expr::pointer_token(&v.name)))
                {
                    *slot = Json::from(crate::MASK);
                }
            }
            for n in program.nodes.iter().filter(|n| n.secret_outputs) {
                if let Some(slot) =
                    scope.pointer_mut(&format!("/outputs/{}", crate::expr::pointer_token(&n.name)))
                {
                    *slot = Json::from(crate::MASK);
                }
            }
        }
        let mut out = self.to_json();
        if let Some(p) = env.program(&self.flow) {
            if let Some(root) = out.get_mut("root") {
                mask_scope(root, &p);
            }
        }
        for (ti, t) in self.threads.iter().enumerate() {
            for (fi, f) in t.stack.iter().enumerate() {
                let (Some(key), Some(_)) = (&f.flow, &f.scope) else {
                    continue;
                };
                let Some(p) = env.program(key) else { continue };
                if let Some(scope) = out.pointer_mut(&format!("/threads/{ti}/stack/{fi}/scope")) {
                    mask_scope(scope, &p);
                }
            }
        }
        for g in &self.secure_globals {
            if let Some(slot) =
                out.pointer_mut(&format!("/globals/{}", crate::expr::pointer_token(g)))
            {
                *slot = Json::from(crate::MASK);
            }
        }
        out
    }

    /// Serialized size in bytes of everything but the variables, node outputs, globals and
    /// start data (what the engine adds to a task's own data).
    pub fn overhead_bytes(&self) -> usize {
        let mut bare = self.clone();
        bare.root = Scope::default();
        bare.globals = Vars::new();
        bare.contact = Value::from(());
        for t in &mut bare.threads {
            for f in &mut t.stack {
                if f.scope.is_some() {
                    f.scope = Some(Box::default());
                }
            }
        }
        serde_json::to_vec(&bare).map(|v| v.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_serialize_as_objects_in_order() {
        let v = Vars::from_pairs([("b", Value::from(1)), ("a", Value::from("x"))]);
        let s = serde_json::to_string(&v).unwrap();
        assert_eq!(s, r#"{"b":1,"a":"x"}"#);
        let back: Vars = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn slots_fall_back_to_names() {
        let mut v = Vars::from_pairs([("a", Value::from(1)), ("b", Value::from(2))]);
        assert_eq!(v.get_slot(1, &Arc::from("b")), Some(&Value::from(2)));
        assert_eq!(v.get_slot(0, &Arc::from("b")), Some(&Value::from(2)));
        v.set_slot(5, &Arc::from("c"), Value::from(3));
        assert_eq!(v.get("c"), Some(&Value::from(3)));
        v.set_slot(0, &Arc::from("a"), Value::from(9));
        assert_eq!(v.get("a"), Some(&Value::from(9)));
    }

    #[test]
    fn wait_points_serialize_flat() {
        let w = Wait {
            since: DateTime::parse_from_rfc3339("2026-01-15T09:12:00Z")
                .unwrap()
                .with_timezone(&Utc),
            on: WaitOn::Timer { timer: 3 },
        };
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"since":"2026-01-15T09:12:00Z","for":"timer","timer":3}"#
        );
    }
}
