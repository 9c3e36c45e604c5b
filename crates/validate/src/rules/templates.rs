//! `{{ }}` templates in node and edge properties: they must compile (INVALID_EXPRESSION),
//! and what they reference must exist: a declared variable (else UNDECLARED_VARIABLE, a
//! warning, since it may be a global variable the server knows), or a node's declared output
//! (`{{NodeName.field}}`, else UNKNOWN_NODE_OUTPUT). Also owns UNUSED_VARIABLE, because
//! "used" is the set of names these templates and variable-target inputs mention.

use rustc_hash::FxHashSet as HashSet;

use catalog::ChoicesKind;
use flow::{ActivityType, ProcessKind};

use super::{Ctx, NodeAt};
use crate::doc::{Kind, NodeV, Obj, Var, View, J};
use crate::{Analysis, Validator};

/// Names the engine provides to every expression.
const BUILTINS: &[&str] = &["now", "global"];

/// The strings worth checking, gathered node by node while the other per-node rules read
/// the same properties (see [`super::NodeRules`]), then edge by edge; [`Strings::check`]
/// does the rest.
pub(super) struct Strings<'v> {
    declared: HashSet<&'v str>,
    /// Shortest and longest declared name: most property strings are not variable names, and
    /// comparing lengths is cheaper than hashing.
    lengths: (usize, usize),
    found: Vec<Found<'v>>,
}

impl<'v> Strings<'v> {
    /// `nodes`: how many nodes the document has (about one string worth checking each).
    pub fn new(variables: &[Var<'v>], nodes: usize) -> Self {
        let declared: HashSet<&str> = variables.iter().filter_map(|v| v.name).collect();
        let lengths = declared.iter().fold((usize::MAX, 0), |(lo, hi), d| {
            (lo.min(d.len()), hi.max(d.len()))
        });
        Strings {
            declared,
            lengths,
            // Sized once, not grown by doubling.
            found: Vec::with_capacity(nodes),
        }
    }

    /// The strings of one node's properties.
    pub fn collect_node(&mut self, v: &Validator<'_>, n: &NodeV<'v>, at: NodeAt) {
        if let Some(props) = n.inputs() {
            self.collect(v, Site::Node(at.0, at.1), props);
        }
    }

    /// The strings of every edge's properties.
    pub fn collect_edges(&mut self, v: &Validator<'_>, view: &View<'v>) {
        for p in &view.procs {
            for (i, e) in p.edges.iter().enumerate() {
                if let Some(props) = e.props {
                    self.collect(v, Site::Edge(p.kind, i), props);
                }
            }
        }
    }

    fn collect(&mut self, validator: &Validator<'_>, site: Site, props: Obj<'v>) {
        let (declared, lengths, found) = (&self.declared, self.lengths, &mut self.found);
        for (_, v) in props.iter() {
            strings(v, &mut |s| {
                let template = has_template(s);
                if !template && !declared_name(declared, lengths, s) {
                    return;
                }
                // Analysed now, while the text is in cache; what it reads is checked once
                // every node is known.
                let refs = template.then(|| validator.analyze(s));
                found.push(Found {
                    site,
                    props,
                    s,
                    refs,
                })
            });
        }
    }

    pub fn check(self, cx: &mut Ctx<'_>) {
        let view = cx.view;
        let Strings {
            declared,
            lengths,
            found: strings,
        } = self;
        let is_declared = |s: &str| declared_name(&declared, lengths, s);
        // A name resolves in the main process first, as the engine resolves it.
        let graphs = cx.graphs;
        let node_named = |name: &str| -> Option<&NodeV<'_>> {
            graphs
                .iter()
                .zip(&view.procs)
                .find_map(|(g, p)| g.node_named(name).map(|i| &p.nodes[i]))
        };
        // Borrowed from the document: nothing here allocates per string or per reference.
        let mut used: HashSet<&str> = HashSet::default();
        used.reserve(declared.len());
        for found in &strings {
            let s = found.s;
            if is_declared(s) {
                // A variable named as a target (set-variable, parse, output mappings).
                used.insert(s);
            }
            let Some(analysis) = &found.refs else {
                continue;
            };
            let refs = match &**analysis {
                Ok(refs) => refs,
                Err(detail) => {
                    let msg = format!("Expression '{s}' does not compile: {detail}.");
                    cx.error(found.pointer(), "INVALID_EXPRESSION", msg);
                    continue;
                }
            };
            for r in refs.iter() {
                let mut parts = r.splitn(3, '.');
                let root = parts.next().unwrap_or_default();
                let attr = parts.next();
                if let Some(name) = declared.get(root) {
                    used.insert(name);
                    continue;
                }
                if BUILTINS.contains(&root) {
                    continue;
                }
                if let Some(node) = node_named(root) {
                    if let Some(attr) = attr {
                        if node_outputs(cx, node).is_some_and(|mut o| !o.any(|o| o == attr)) {
                            let outputs: Vec<&str> =
                                node_outputs(cx, node).into_iter().flatten().collect();
                            cx.push(
                            crate::Diagnostic::error(
                                &found.pointer(),
                                "UNKNOWN_NODE_OUTPUT",
                                format!("Expression '{s}' reads '{root}.{attr}', but node '{root}' has no output '{attr}'."),
                            )
                            .with_hint(if outputs.is_empty() {
                                format!("node '{root}' exposes no outputs")
                            } else {
                                format!("outputs of '{root}': {}", outputs.join(", "))
                            }),
                        );
                        }
                    }
                    continue;
                }
                if cx.opts.resolver.contains(ChoicesKind::GlobalVariable, root) == Some(true) {
                    continue;
                }
                cx.warning(
                found.pointer(),
                "UNDECLARED_VARIABLE",
                format!("Expression '{s}' references '{root}', which is neither a flow variable nor a node."),
            );
            }
        }
        for (i, v) in view.variables.iter().enumerate() {
            if let Some(name) = v.name {
                if !used.contains(name) {
                    cx.warning(
                        format!("/variables/{i}"),
                        "UNUSED_VARIABLE",
                        format!("Variable '{name}' is declared but never used."),
                    );
                }
            }
        }
    }
}

/// Is `s` a declared variable's name (`lengths`: the shortest and longest such name)?
fn declared_name(declared: &HashSet<&str>, lengths: (usize, usize), s: &str) -> bool {
    (lengths.0..=lengths.1).contains(&s.len()) && declared.contains(s)
}

/// The properties object a collected string sits in.
#[derive(Clone, Copy)]
enum Site {
    Node(ProcessKind, usize),
    Edge(ProcessKind, usize),
}

/// A string worth checking, with where it came from; its pointer is worked out only when a
/// diagnostic needs it (most strings are fine).
struct Found<'v> {
    site: Site,
    /// The node's or edge's properties object the string sits in.
    props: Obj<'v>,
    s: &'v str,
    /// What a template reads (`None`: not a template).
    refs: Option<Analysis>,
}

impl Found<'_> {
    fn pointer(&self) -> String {
        let mut buf = match self.site {
            Site::Node(kind, i) => format!("{}/properties", super::node_ptr(kind, i)),
            Site::Edge(kind, i) => format!("{}/properties", super::edge_ptr(kind, i)),
        };
        let _found = self
            .props
            .iter()
            .any(|(k, v)| locate(&mut buf, k, v, self.s));
        buf
    }
}

/// Appends to `buf` the path to the string `target` (found by address) under `key`.
fn locate(buf: &mut String, key: &str, v: J<'_>, target: &str) -> bool {
    let len = buf.len();
    buf.push('/');
    buf.push_str(&flow::pointer::escape(key));
    let hit = match v.kind() {
        Kind::Str(s) => std::ptr::eq(s, target),
        Kind::Arr(a) => a
            .iter()
            .enumerate()
            .any(|(i, x)| locate(buf, &i.to_string(), x, target)),
        Kind::Obj(o) => o.iter().any(|(k, x)| locate(buf, k, x, target)),
        _ => false,
    };
    if !hit {
        buf.truncate(len);
    }
    hit
}

/// The names of the outputs a node exposes: its activity's, or for start and event nodes,
/// its event's too. `None` when unknown (an unknown activity is reported elsewhere).
fn node_outputs<'a>(cx: &Ctx<'a>, node: &NodeV<'a>) -> Option<impl Iterator<Item = &'a str>> {
    let def = node.def?;
    let event = match node.activity_type {
        Some(ActivityType::Start) => node
            .input("flowType")
            .and_then(|f| f.get("eventSpecificationName")),
        Some(ActivityType::Event) => node.input("eventSpecificationName"),
        _ => None,
    };
    let catalog: &'a catalog::Catalog = cx.v.catalog;
    let spec = event.and_then(J::as_str).and_then(|n| catalog.event(n));
    Some(
        def.outputs
            .iter()
            .chain(spec.into_iter().flat_map(|s| s.outputs.iter()))
            .map(|o| o.name.as_str()),
    )
}

/// Does the text hold a `{{` or `{%` (an expression or a statement)?
fn has_template(s: &str) -> bool {
    let b = s.as_bytes();
    // Property strings are mostly short: a plain scan beats setting up a vector search.
    if b.len() < 64 {
        return b
            .windows(2)
            .any(|w| w[0] == b'{' && matches!(w[1], b'{' | b'%'));
    }
    memchr::memchr_iter(b'{', b).any(|i| matches!(b.get(i + 1), Some(b'{' | b'%')))
}

/// Walk a property value, handing every string in it to `out`.
fn strings<'v>(v: J<'v>, out: &mut dyn FnMut(&'v str)) {
    match v.kind() {
        Kind::Str(s) => out(s),
        Kind::Arr(a) => a.iter().for_each(|x| strings(x, out)),
        Kind::Obj(o) => o.iter().for_each(|(_, x)| strings(x, out)),
        _ => {}
    }
}
