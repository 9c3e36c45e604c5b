//! What an activity runs with ([`Cx`]) and what it returns ([`Outcome`]).
//!
//! An activity reads its inputs through `Cx` (which resolves expressions against the task's
//! data and records the resolved values for the trace), assigns variables (converted to
//! their types), sets its outputs, emits commands, and returns how it finished: on a port,
//! on a branch of a branching port, with a failure, parked at a wait point, ending the flow
//! or the contact, or calling a subflow.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use flow::VariableType;
use minijinja::value::ValueKind;
use minijinja::Value;

use crate::command::Command;
use crate::compile::{Input, Target};
use crate::engine::EngineConfig;
use crate::env::Env;
use crate::expr::{Data, Expr};
use crate::jsonpath::{Doc, Selection};
use crate::program::{Node, Program};
use crate::state::{Scope, TaskState, Timer, WaitOn};
use crate::trace::{Capture, MASK};
use crate::value::coerce;

/// An activity failure: a stable code and a message naming the node.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Failure {
    pub code: Cow<'static, str>,
    pub message: String,
}

impl Failure {
    pub(crate) fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Failure {
        Failure {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// How an ending activity ends things.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum End {
    /// end-flow: this flow ends (a subflow returns through its success exit).
    Flow,
    /// The contact leaves: the task ends with this outcome.
    Task(crate::state::Outcome),
}

/// A subflow call: the callee and its initial scope.
pub(crate) struct Call {
    pub program: Arc<Program>,
    pub scope: Scope,
}

/// How an activity finished (or did not, yet).
pub(crate) enum Outcome {
    /// Completed on a port.
    Port(&'static str),
    /// Completed on a branching port with this value (case, menu).
    Branch(&'static str, String),
    /// Completed on a branching port by picking an edge (percent-allocation); `None` takes
    /// the default edge.
    Target(&'static str, Option<u32>),
    /// Failed: the error port, else the default edge, else the global error event.
    Fail(Failure),
    /// Parked until an event ends the wait.
    Wait(WaitOn),
    End(End),
    Call(Box<Call>),
    /// The event does not concern this wait (it stays).
    Ignore(String),
}

impl Outcome {
    pub(crate) fn fail(code: &'static str, message: impl Into<String>) -> Outcome {
        Outcome::Fail(Failure::new(code, message))
    }
}

/// Everything an activity may touch while it runs.
pub(crate) struct Cx<'a> {
    pub now: DateTime<Utc>,
    pub node: &'a Node,
    /// The running flow instance's variables and kept outputs.
    pub scope: &'a mut Scope,
    /// The rest of the task (its root scope is `scope`, or a caller's: do not touch).
    pub task: &'a mut TaskState,
    pub thread: u32,
    /// Frames on the thread's stack (1: not inside a subflow).
    pub depth: u32,
    pub env: &'a dyn Env,
    pub config: &'a EngineConfig,
    pub commands: &'a mut Vec<Command>,
    pub capture: Option<Capture<'a>>,
    /// The event that started this thread (event nodes expose it).
    pub trigger: Option<Value>,
    /// Set by the activity: what `{{Node.field}}` reads.
    pub outputs: Option<Value>,
}

impl<'a> Cx<'a> {
    pub(crate) fn data(&self) -> Data<'_> {
        Data {
            vars: &self.scope.vars,
            outputs: &self.scope.outputs,
            contact: &self.task.contact,
            globals: &self.task.globals,
            now: self.now,
        }
    }

    fn expr_failure(&self, e: &Expr, detail: &str) -> Failure {
        Failure::new(
            "EXPRESSION_ERROR",
            format!(
                "Node '{}': expression '{}' failed: {detail}",
                self.node.name,
                e.source()
            ),
        )
    }

    fn capture_input(&mut self, label: impl Into<crate::trace::Label>, secure: bool, v: &Value) {
        if let Some(c) = self.capture.as_mut() {
            let shown = if secure { Value::from(MASK) } else { v.clone() };
            c.push(label, shown, false);
        }
    }

    /// Evaluates a scalar input and records it.
    pub(crate) fn eval(&mut self, label: &'static str, e: &Expr) -> Result<Value, Failure> {
        let v = e.eval(&self.data()).map_err(|d| self.expr_failure(e, &d))?;
        if self.capture.is_some() {
            let secure = e.is_secure(&self.task.secure_globals);
            self.capture_input(label, secure, &v);
        }
        Ok(v)
    }

    /// Evaluates a scalar input as text.
    pub(crate) fn text(&mut self, label: &'static str, e: &Expr) -> Result<String, Failure> {
        self.eval(label, e).map(|v| crate::value::text(&v))
    }

    /// Evaluates an input tree and records it.
    pub(crate) fn eval_input(
        &mut self,
        label: impl Into<crate::trace::Label>,
        i: &Input,
    ) -> Result<Value, Failure> {
        let v = self.build(i)?;
        if self.capture.is_some() {
            let secure = i.is_secure(&self.task.secure_globals);
            self.capture_input(label, secure, &v);
        }
        Ok(v)
    }

    fn build(&self, i: &Input) -> Result<Value, Failure> {
        Ok(match i {
            Input::Expr(e) => e.eval(&self.data()).map_err(|d| self.expr_failure(e, &d))?,
            Input::List(items) => Value::from(
                items
                    .iter()
                    .map(|i| self.build(i))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Input::Map(m) => Value::from_iter(
                m.iter()
                    .map(|(k, i)| Ok((Value::from(&**k), self.build(i)?)))
                    .collect::<Result<Vec<_>, Failure>>()?,
            ),
        })
    }

    /// An input that must be an integer (literal, or an expression resolving to one).
    pub(crate) fn int(&mut self, label: &'static str, e: &Expr) -> Result<i64, Failure> {
        let v = self.eval(label, e)?;
        match coerce(v, VariableType::Integer) {
            Ok(i) => Ok(i.as_i64().unwrap_or_default()),
            Err(why) => Err(Failure::new(
                "INVALID_INPUT",
                format!("Node '{}': input '{label}': {why}", self.node.name),
            )),
        }
    }

    /// Assigns a variable, converting the value to its type.
    pub(crate) fn assign(&mut self, t: &Target, v: Value) -> Result<(), Failure> {
        let (name, secure, value) = match t {
            Target::Var {
                slot,
                name,
                ty,
                secure,
            } => {
                let value = coerce(v, *ty).map_err(|why| {
                    let why = if *secure {
                        format!("the value is not a valid {}", ty.as_str())
                    } else {
                        why
                    };
                    Failure::new(
                        "INVALID_VALUE",
                        format!(
                            "Node '{}': cannot assign variable '{name}': {why}",
                            self.node.name
                        ),
                    )
                })?;
                self.scope.vars.set_slot(*slot, name, value.clone());
                (name, *secure, value)
            }
            Target::Global(name) => {
                let Some(old) = self.task.globals.get(name) else {
                    return Err(Failure::new(
                        "UNKNOWN_VARIABLE",
                        format!(
                            "Node '{}': no flow variable or global variable is named '{name}'",
                            self.node.name
                        ),
                    ));
                };
                let ty = match old.kind() {
                    ValueKind::Bool => Some(VariableType::Boolean),
                    ValueKind::String => Some(VariableType::String),
                    ValueKind::Number if old.as_i64().is_some() => Some(VariableType::Integer),
                    ValueKind::Number => Some(VariableType::Decimal),
                    _ => None,
                };
                let value = match ty {
                    Some(ty) => coerce(v, ty).map_err(|why| {
                        Failure::new(
                            "INVALID_VALUE",
                            format!(
                                "Node '{}': cannot assign global variable '{name}': {why}",
                                self.node.name
                            ),
                        )
                    })?,
                    None => v,
                };
                let secure = self.task.secure_globals.iter().any(|s| **s == **name);
                self.task.globals.set(name.clone(), value.clone());
                (name, secure, value)
            }
        };
        if let Some(c) = self.capture.as_mut() {
            let shown = if secure { Value::from(MASK) } else { value };
            c.push(name.clone(), shown, true);
            c.masked |= secure;
        }
        Ok(())
    }

    /// Whether the node assigned a secure variable (its recorded outputs are masked).
    pub(crate) fn masked(&self) -> bool {
        self.capture.as_ref().is_some_and(|c| c.masked)
    }

    /// Whether anything will read the node's outputs (a later expression, or the trace);
    /// when nothing will, building them is skipped.
    pub(crate) fn wants_outputs(&self) -> bool {
        self.node.keep_outputs || self.capture.is_some()
    }

    /// Sets the node's outputs from `(name, value)` pairs (with empty `errorCode` and
    /// `errorMessage` for activities that have an error port).
    pub(crate) fn set_outputs<const N: usize>(&mut self, pairs: [(&'static str, Value); N]) {
        if !self.wants_outputs() {
            return;
        }
        let blank_errors = self.node.error_port.is_some();
        self.outputs = Some(crate::value::outputs_record(pairs, blank_errors));
    }

    /// A fresh command id.
    pub(crate) fn id(&mut self) -> u64 {
        let id = self.task.next_id;
        self.task.next_id += 1;
        id
    }

    pub(crate) fn emit(&mut self, c: Command) {
        self.commands.push(c);
    }

    /// Starts a timer due in `secs` seconds.
    pub(crate) fn start_timer(&mut self, secs: i64) -> u64 {
        let id = self.id();
        let due = self.now + Duration::seconds(secs);
        self.task.timers.push(Timer {
            id,
            due,
            thread: self.thread,
        });
        self.emit(Command::StartTimer { id, due });
        id
    }

    /// Cancels a pending timer (no-op when it already fired).
    pub(crate) fn cancel_timer(&mut self, id: u64) {
        if let Some(i) = self.task.timers.iter().position(|t| t.id == id) {
            self.task.timers.remove(i);
            self.emit(Command::CancelTimer { id });
        }
    }

    /// A uniformly random number in `0..n`.
    pub(crate) fn random_below(&mut self, n: u64) -> u64 {
        crate::rng::below(&mut self.task.rng, n)
    }

    /// A failure reported from outside (a reply), with this node named.
    pub(crate) fn failure_with(&self, f: Failure) -> Outcome {
        Outcome::Fail(Failure::new(
            f.code,
            format!("Node '{}': {}", self.node.name, f.message),
        ))
    }

    /// A failure naming this node.
    pub(crate) fn failure(&self, code: &'static str, message: impl std::fmt::Display) -> Outcome {
        Outcome::Fail(Failure::new(
            code,
            format!("Node '{}': {message}", self.node.name),
        ))
    }
}

/// Applies JSON path settings to a document, assigning every variable a path selects.
pub(crate) fn apply_parse_settings<T: Doc + ToValue>(
    cx: &mut Cx<'_>,
    settings: &[crate::compile::ParseSetting],
    doc: T,
) -> Result<(), Failure> {
    for s in settings {
        let path = s.path.as_ref().map_err(|e| {
            Failure::new(
                "INVALID_PATH",
                format!("Node '{}': path expression {e}", cx.node.name),
            )
        })?;
        let v = match path.select(doc.clone()) {
            None => continue,
            Some(Selection::One(v)) => v.to_value(),
            Some(Selection::Many(vs)) => {
                Value::from(vs.into_iter().map(ToValue::to_value).collect::<Vec<_>>())
            }
        };
        cx.assign(&s.target, v)?;
    }
    Ok(())
}

/// A document value as an engine value.
pub(crate) trait ToValue {
    fn to_value(self) -> Value;
}

impl ToValue for Value {
    fn to_value(self) -> Value {
        self
    }
}

impl ToValue for &serde_json::Value {
    fn to_value(self) -> Value {
        crate::value::json_to_value(self)
    }
}
