//! [`Program`]: a validated flow version compiled for execution.
//!
//! Compiling indexes both processes' nodes, resolves every edge to a target node index per
//! outcome port (and per branch value on branching ports), converts variable defaults to
//! their types, and compiles every `{{ }}` expression once. The result is immutable and
//! `Send + Sync`: one `Arc<Program>` serves every task of that flow version.
//!
//! A program is identified by a [`ProgramKey`] (flow id and version). A task records the key
//! it started with and its subflow frames record theirs, so a task finishes on the versions
//! it began with whatever is published meanwhile (version pinning).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use catalog::{Catalog, Group};
use flow::{ActivityType, FlowType, ProcessKind, VariableType};
use minijinja::Value;
use serde::{Deserialize, Serialize};

use crate::activities::Activity;
use crate::compile::{CompileCx, NodeNs};

/// The event bound by the global error handler.
pub const GLOBAL_ERROR_EVENT: &str = "GlobalErrorHandling";

/// Identifies one flow version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramKey {
    pub flow_id: String,
    pub version: i64,
}

impl ProgramKey {
    pub fn new(flow_id: impl Into<String>, version: i64) -> ProgramKey {
        ProgramKey {
            flow_id: flow_id.into(),
            version,
        }
    }
}

impl fmt::Display for ProgramKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.flow_id, self.version)
    }
}

/// How a node names another flow (subflow, go-to): by id or name, and a version label
/// (`Dev`, `Test`, `Latest`, `Live`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub label: String,
}

impl fmt::Display for FlowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = self.name.as_deref().or(self.id.as_deref()).unwrap_or("?");
        write!(f, "'{who}' ({})", self.label)
    }
}

/// A flow that could not be compiled. Only flows the validator accepted reach the compiler,
/// so this means the catalog and the flow disagree (an activity the engine does not
/// implement, an input of the wrong shape).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("flow '{flow}', node '{node}': {message}")]
pub struct CompileError {
    pub flow: String,
    pub node: String,
    pub message: String,
}

/// A flow variable as compiled.
#[derive(Debug)]
pub(crate) struct VarDef {
    pub name: Arc<str>,
    pub ty: VariableType,
    pub secure: bool,
    pub default: Value,
}

/// One branch of a branching port.
#[derive(Debug)]
pub(crate) struct Branch {
    pub port: Box<str>,
    /// The edge's branch value in the string form `case` compares.
    pub value: String,
    /// The raw branch value (percent-allocation reads its number).
    pub raw: serde_json::Value,
    pub target: u32,
}

/// Where each outcome of a node leads.
#[derive(Debug, Default)]
pub(crate) struct Exits {
    /// Non-branching ports, in document order (the first edge on a port wins).
    pub ports: Vec<(Box<str>, u32)>,
    pub branches: Vec<Branch>,
}

impl Exits {
    fn exact(&self, port: &str) -> Option<u32> {
        self.ports
            .iter()
            .find(|(p, _)| **p == *port)
            .map(|(_, t)| *t)
    }

    /// The edge on `port`, else the edge on `default`.
    pub fn port(&self, port: &str) -> Option<u32> {
        self.exact(port).or_else(|| self.exact(flow::DEFAULT_PORT))
    }

    /// The edge on branching `port` whose value is `value`, else the edge on `default`.
    pub fn branch(&self, port: &str, value: &str) -> Option<u32> {
        self.branches
            .iter()
            .find(|b| *b.port == *port && b.value == value)
            .map(|b| b.target)
            .or_else(|| self.exact(flow::DEFAULT_PORT))
    }

    /// The branches of one branching port, in document order.
    pub fn branches_on<'a>(&'a self, port: &'a str) -> impl Iterator<Item = &'a Branch> + 'a {
        self.branches.iter().filter(move |b| *b.port == *port)
    }

    pub fn default_target(&self) -> Option<u32> {
        self.exact(flow::DEFAULT_PORT)
    }
}

/// One node as compiled.
pub(crate) struct Node {
    pub name: Arc<str>,
    pub activity_name: Arc<str>,
    pub activity: Activity,
    pub exits: Exits,
    /// The activity's error port, if it has one.
    pub error_port: Option<Box<str>>,
    /// Some expression reads this node's outputs, so they are kept in the task's scope.
    pub keep_outputs: bool,
    /// The node assigns a secure variable, so its outputs are masked wherever shown.
    pub secret_outputs: bool,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("activity", &self.activity_name)
            .finish()
    }
}

/// A compiled flow version; see the module documentation.
#[derive(Debug)]
pub struct Program {
    pub(crate) key: ProgramKey,
    pub(crate) name: Arc<str>,
    pub(crate) flow_type: FlowType,
    pub(crate) nodes: Vec<Node>,
    pub(crate) start: Option<u32>,
    /// Event flow entry nodes by the event they bind.
    pub(crate) handlers: Vec<(String, u32)>,
    pub(crate) vars: Vec<VarDef>,
    pub(crate) flow_refs: Vec<FlowRef>,
    pub(crate) expressions: usize,
}

impl Program {
    /// Compiles a validated flow. The key is the flow's `id` (its name when it has none) and
    /// `version` (0 when absent).
    pub fn compile(
        valid: &validate::ValidFlow,
        catalog: &Catalog,
    ) -> Result<Program, CompileError> {
        let f = valid.flow();
        let key = ProgramKey {
            flow_id: f.id.get().or(f.name.get()).cloned().unwrap_or_default(),
            version: f.version.get().copied().unwrap_or(0),
        };
        Program::compile_with_key(valid, catalog, key)
    }

    /// Compiles a validated flow under an explicit key (a server passes the stored flow id
    /// and published version number).
    pub fn compile_with_key(
        valid: &validate::ValidFlow,
        catalog: &Catalog,
        key: ProgramKey,
    ) -> Result<Program, CompileError> {
        compile(valid.flow(), catalog, key)
    }

    pub fn key(&self) -> &ProgramKey {
        &self.key
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn flow_type(&self) -> FlowType {
        self.flow_type
    }

    /// The flows this one names literally (subflow calls, go-to targets), so a runtime can
    /// load them before stepping.
    pub fn flow_refs(&self) -> &[FlowRef] {
        &self.flow_refs
    }

    /// Events the event flow binds (e.g. `GlobalErrorHandling`, `AgentAnswered`).
    pub fn handled_events(&self) -> impl Iterator<Item = &str> {
        self.handlers.iter().map(|(e, _)| e.as_str())
    }

    /// Number of nodes (both processes).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of `{{ }}` expressions compiled.
    pub fn expression_count(&self) -> usize {
        self.expressions
    }

    pub(crate) fn node(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    pub(crate) fn handler(&self, event: &str) -> Option<u32> {
        self.handlers
            .iter()
            .find(|(e, _)| e == event)
            .map(|(_, n)| *n)
    }

    /// The variables with their defaults, as a fresh scope.
    pub(crate) fn fresh_vars(&self) -> crate::state::Vars {
        crate::state::Vars::from_pairs(
            self.vars
                .iter()
                .map(|v| (v.name.clone(), v.default.clone())),
        )
    }

    pub(crate) fn var(&self, name: &str) -> Option<(u32, &VarDef)> {
        self.vars
            .iter()
            .enumerate()
            .find(|(_, v)| *v.name == *name)
            .map(|(i, v)| (i as u32, v))
    }
}

fn compile(f: &flow::Flow, catalog: &Catalog, key: ProgramKey) -> Result<Program, CompileError> {
    let flow_name: Arc<str> = Arc::from(f.name().unwrap_or(key.flow_id.as_str()));
    let err = |node: &str, message: String| CompileError {
        flow: flow_name.to_string(),
        node: node.to_owned(),
        message,
    };

    let mut vars = Vec::new();
    for v in f.variables() {
        let Some(name) = v.name() else { continue };
        let ty = v.ty.get().copied().unwrap_or(VariableType::String);
        let default = crate::value::default_value(ty, v.value.get())
            .map_err(|e| err("", format!("variable '{name}': default value: {e}")))?;
        vars.push(VarDef {
            name: Arc::from(name),
            ty,
            secure: v.secure(),
            default,
        });
    }

    // Index nodes: main process first, then the event flow; names per process.
    let mut order: Vec<(ProcessKind, &flow::Node, Arc<str>)> = Vec::new();
    let mut by_process: [HashMap<&str, u32>; 2] = [HashMap::new(), HashMap::new()];
    for p in f.processes() {
        let pi = process_index(p.kind);
        for n in p.nodes {
            let Some(name) = n.name() else {
                return Err(err("?", "a node has no name".to_owned()));
            };
            let i = order.len() as u32;
            by_process[pi].entry(name).or_insert(i);
            order.push((p.kind, n, Arc::from(name)));
        }
    }
    let start = order
        .iter()
        .position(|(k, n, _)| {
            *k == ProcessKind::Main && n.activity_type.get() == Some(&ActivityType::Start)
        })
        .map(|i| i as u32);

    let referenced: std::cell::RefCell<HashSet<Arc<str>>> = Default::default();
    let names: Vec<Arc<str>> = order.iter().map(|(_, _, n)| n.clone()).collect();
    let mut nodes = Vec::with_capacity(order.len());
    let mut handlers = Vec::new();
    let mut flow_refs = Vec::new();
    let mut expressions = 0;
    for (i, (kind, n, name)) in order.iter().enumerate() {
        let activity_name = n.activity_name().unwrap_or_default();
        let def = catalog.activity(activity_name).ok_or_else(|| {
            err(
                name,
                format!("activity '{activity_name}' is not in the catalog"),
            )
        })?;
        let exits = exits(f, *kind, name, def, &by_process[process_index(*kind)])
            .map_err(|m| err(name, m))?;
        let ns = NodeNs {
            vars: &vars,
            own: &by_process[process_index(*kind)],
            other: &by_process[1 - process_index(*kind)],
            start,
            names: &names,
            referenced: &referenced,
        };
        let mut cx = CompileCx::new(n, def, &ns, &exits);
        let activity = Activity::compile(activity_name, &mut cx)
            .unwrap_or_else(|| {
                Err(format!(
                    "activity '{activity_name}' has no implementation in the engine"
                ))
            })
            .map_err(|m| err(name, m))?;
        expressions += cx.expressions;
        let secret_outputs = cx.assigns_secure.get();
        if let Some(r) = cx.flow_ref.take() {
            flow_refs.push(r);
        }
        if *kind == ProcessKind::Event && def.group == Group::Event {
            if let Some(ev) = n
                .inputs()
                .and_then(|p| p.get("eventSpecificationName"))
                .and_then(|v| v.as_str())
            {
                handlers.push((ev.to_owned(), i as u32));
            }
        }
        nodes.push(Node {
            name: name.clone(),
            activity_name: Arc::from(activity_name),
            activity,
            exits,
            error_port: def.error_ports().next().map(|p| Box::from(p.name.as_str())),
            keep_outputs: false,
            secret_outputs,
        });
    }
    let referenced = referenced.into_inner();
    for n in &mut nodes {
        n.keep_outputs = referenced.contains(&n.name);
    }
    Ok(Program {
        key,
        name: flow_name.clone(),
        flow_type: f.flow_type(),
        nodes,
        start,
        handlers,
        vars,
        flow_refs,
        expressions,
    })
}

fn process_index(k: ProcessKind) -> usize {
    match k {
        ProcessKind::Main => 0,
        ProcessKind::Event => 1,
    }
}

/// Resolves the edges leaving one node.
fn exits(
    f: &flow::Flow,
    kind: ProcessKind,
    from: &str,
    def: &catalog::ActivityDef,
    by_name: &HashMap<&str, u32>,
) -> Result<Exits, String> {
    let process = match kind {
        ProcessKind::Main => f.main(),
        ProcessKind::Event => f.event(),
    };
    let mut out = Exits::default();
    for e in process.edges.iter().filter(|e| e.from() == Some(from)) {
        let id = e.id().unwrap_or("?");
        let port = e
            .port()
            .ok_or_else(|| format!("edge '{id}' has no condition"))?;
        let to = e.to().ok_or_else(|| format!("edge '{id}' has no target"))?;
        let target = *by_name
            .get(to)
            .ok_or_else(|| format!("edge '{id}' leads to unknown node '{to}'"))?;
        let port_def = def.port(port).ok_or_else(|| {
            format!(
                "edge '{id}': activity '{}' has no port '{port}'",
                def.activity_name
            )
        })?;
        match &port_def.branching {
            None => {
                if out.exact(port).is_none() {
                    out.ports.push((Box::from(port), target));
                }
            }
            Some(b) => {
                let raw = e
                    .properties
                    .get()
                    .and_then(|p| p.get(&b.property))
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "edge '{id}' on port '{port}' has no properties.{}",
                            b.property
                        )
                    })?;
                out.branches.push(Branch {
                    port: Box::from(port),
                    value: crate::value::canonical_json(&raw),
                    raw,
                    target,
                });
            }
        }
    }
    Ok(out)
}
