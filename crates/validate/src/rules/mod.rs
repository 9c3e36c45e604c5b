//! The rules, one file each. Every rule reads the parsed flow (and the raw value for
//! pointers and schemas) and pushes diagnostics; none stops the others.

mod activity;
mod choices;
mod edges;
mod events;
mod inputs;
mod names;
mod reachability;
mod start;
mod templates;
mod variables;

use flow::graph::Graph;
use flow::{Flow, Node, ProcessKind};
use serde_json::Value;

use crate::{Diagnostic, Options, Validator};

pub(crate) struct Ctx<'a> {
    pub v: &'a Validator<'a>,
    pub flow: &'a Flow,
    pub opts: &'a Options<'a>,
    pub graphs: [Graph<'a>; 2],
    diags: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    pub fn new(v: &'a Validator<'a>, flow: &'a Flow, opts: &'a Options<'a>) -> Self {
        Ctx {
            v,
            flow,
            opts,
            graphs: [Graph::new(flow.main()), Graph::new(flow.event())],
            diags: Vec::new(),
        }
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }
    pub fn error(&mut self, path: impl std::fmt::Display, code: &str, message: String) {
        self.diags
            .push(Diagnostic::error(&path.to_string(), code, message));
    }
    pub fn warning(&mut self, path: impl std::fmt::Display, code: &str, message: String) {
        self.diags
            .push(Diagnostic::warning(&path.to_string(), code, message));
    }
    pub fn strict(&self) -> bool {
        self.opts.mode == crate::Mode::Strict
    }
    pub fn finish(self) -> Vec<Diagnostic> {
        self.diags
    }
    /// The catalog definition of a node's activity, if it names a known one.
    pub fn activity(&self, node: &Node) -> Option<&'a catalog::ActivityDef> {
        let catalog: &'a catalog::Catalog = self.v.catalog;
        node.activity_name().and_then(|n| catalog.activity(n))
    }
    /// Iterate nodes of both processes with their pointer (formatted only when used).
    pub fn all_nodes(&self) -> Vec<(ProcessKind, usize, &'a Node, NodeAt)> {
        let flow: &'a Flow = self.flow;
        flow.processes()
            .into_iter()
            .flat_map(|p| {
                p.nodes
                    .iter()
                    .enumerate()
                    .map(move |(i, n)| (p.kind, i, n, NodeAt(p.kind, i)))
            })
            .collect()
    }

    /// The raw `properties` value of a node, for schema checks.
    pub fn raw_properties(&self, kind: ProcessKind, i: usize) -> Option<&'a Value> {
        let flow: &'a Flow = self.flow;
        let p = match kind {
            ProcessKind::Main => flow.main(),
            ProcessKind::Event => flow.event(),
        };
        p.nodes
            .get(i)
            .and_then(|n| n.properties.get())
            .map(|p| &p.0)
    }
}

/// A node's JSON Pointer, formatted lazily: most nodes never need it.
#[derive(Clone, Copy)]
pub struct NodeAt(pub ProcessKind, pub usize);

impl std::fmt::Display for NodeAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/nodes/{}", self.0.pointer_base(), self.1)
    }
}

impl Ctx<'_> {}

/// A node's pointer, formatted only when a diagnostic needs it.
pub fn node_ptr(kind: ProcessKind, i: usize) -> NodeAt {
    NodeAt(kind, i)
}

/// An edge's pointer, formatted only when a diagnostic needs it.
pub fn edge_ptr(kind: ProcessKind, i: usize) -> EdgeAt {
    EdgeAt(kind, i)
}

#[derive(Clone, Copy)]
pub struct EdgeAt(pub ProcessKind, pub usize);

impl std::fmt::Display for EdgeAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/edges/{}", self.0.pointer_base(), self.1)
    }
}

pub fn process_label(kind: ProcessKind) -> &'static str {
    match kind {
        ProcessKind::Main => "main flow",
        ProcessKind::Event => "event flow",
    }
}

pub(crate) fn run_all(cx: &mut Ctx<'_>) {
    start::check(cx);
    names::check(cx);
    activity::check(cx);
    events::check(cx);
    inputs::check(cx);
    choices::check(cx);
    edges::check(cx);
    variables::check(cx);
    templates::check(cx);
    reachability::check(cx);
}
