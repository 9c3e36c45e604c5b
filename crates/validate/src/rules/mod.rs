//! The rules, one file each. Every rule reads the document's [`View`] and pushes
//! diagnostics; none stops the others.

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

use flow::ProcessKind;

use crate::doc::{Graph, NodeV, NodeVisitor, Var, View};
use crate::{Diagnostic, Options, Validator};

pub(crate) struct Ctx<'a> {
    pub v: &'a Validator<'a>,
    pub view: &'a View<'a>,
    pub opts: &'a Options<'a>,
    pub graphs: &'a [Graph<'a>; 2],
    diags: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        v: &'a Validator<'a>,
        view: &'a View<'a>,
        graphs: &'a [Graph<'a>; 2],
        opts: &'a Options<'a>,
    ) -> Self {
        Ctx {
            v,
            view,
            opts,
            graphs,
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
    /// Nodes of both processes, main first, with their pointer (formatted only when used).
    pub fn all_nodes(&self) -> impl Iterator<Item = (&'a NodeV<'a>, NodeAt)> + 'a {
        let view: &'a View<'a> = self.view;
        view.procs.iter().flat_map(|p| {
            p.nodes
                .iter()
                .enumerate()
                .map(move |(i, n)| (n, NodeAt(p.kind, i)))
        })
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

/// The rules that read a node's properties (its input schema, its constrained inputs, its
/// templates), run by [`View::new`] on each node as it reads it, while the node's part of
/// the tape is in cache. Run as passes of their own, each streamed the tape back from memory
/// on a large document.
pub(crate) struct NodeRules<'a> {
    v: &'a Validator<'a>,
    opts: &'a Options<'a>,
    /// Per process (main, event): the report lists them after the whole-document rules
    /// that [`run_all`] runs first, main process first, as when they ran there.
    diags: [Vec<Diagnostic>; 2],
    strings: templates::Strings<'a>,
}

impl<'a> NodeRules<'a> {
    pub fn new(v: &'a Validator<'a>, opts: &'a Options<'a>) -> Self {
        NodeRules {
            v,
            opts,
            diags: [Vec::new(), Vec::new()],
            // Until the view hands over the variables (it does not for a document that is
            // not an object).
            strings: templates::Strings::new(&[], 0),
        }
    }
}

impl<'a> NodeVisitor<'a> for NodeRules<'a> {
    fn variables(&mut self, vars: &[Var<'a>], nodes: usize) {
        self.strings = templates::Strings::new(vars, nodes);
    }

    fn node(&mut self, kind: ProcessKind, i: usize, n: &NodeV<'a>) {
        let at = NodeAt(kind, i);
        let out = &mut self.diags[usize::from(kind == ProcessKind::Event)];
        inputs::check_node(self.v, out, n, at);
        choices::check_node(self.opts, out, n, at);
        self.strings.collect_node(self.v, n, at);
    }
}

pub(crate) fn run_all(cx: &mut Ctx<'_>, nodes: NodeRules<'_>) {
    start::check(cx);
    names::check(cx);
    activity::check(cx);
    events::check(cx);
    // Diagnostics are sorted into document order at the end, and each rule's still come in
    // the order they did when the per-node rules ran here, so the report is the same.
    let [main, event] = nodes.diags;
    cx.diags.extend(main);
    cx.diags.extend(event);
    edges::check(cx);
    variables::check(cx);
    let mut strings = nodes.strings;
    strings.collect_edges(cx.v, cx.view);
    strings.check(cx);
    reachability::check(cx);
}
