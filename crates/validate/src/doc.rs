//! The document the rules read: the bytes parsed once into a simd-json tape (one flat array
//! of nodes, strings borrowed from a copy of the bytes), seen through a thin [`View`] of
//! nodes, edges and variables. Validation never builds the owned [`flow::Flow`]: allocating its strings and
//! property maps cost more than every rule together.
//!
//! The view accepts exactly what the typed model accepts. Where the model would refuse a
//! value (a number for a name, an unknown activityType), the view does what
//! [`flow::parse`] does, a placeholder element or an absent field, and marks the document
//! so that the shape errors themselves are worded by [`flow::parse_slice`] (a slow path
//! taken only by malformed documents).

use catalog::{ActivityDef, Catalog};
use flow::{ActivityType, Field, FlowType, ProcessKind, VariableType};
use rustc_hash::FxHashMap as HashMap;
use simd_json::{Node, StaticNode};

/// How deep a document may nest: serde_json's limit, which the rest of the server parses
/// with (the rules walk values recursively). Its recursion limit of 128 refuses the 128th
/// nested array or object, so 127 levels pass.
const MAX_DEPTH: usize = 127;

/// A flow document parsed for validation. Borrows the bytes it was parsed from (shape
/// errors are worded from them, on the slow path) and the scratch buffer its strings live
/// in.
pub struct Document<'b> {
    bytes: &'b [u8],
    tape: simd_json::Tape<'b>,
    /// Where the tape's allocation goes back to (a large document's tape is big enough for
    /// the allocator to return it to the OS, and zeroing fresh pages costs more than
    /// filling them).
    spare: &'b mut simd_json::Tape<'static>,
}

impl Drop for Document<'_> {
    fn drop(&mut self) {
        let tape = std::mem::replace(&mut self.tape, simd_json::Tape::null());
        *self.spare = tape.reset();
    }
}

/// Buffers a parse needs (a copy of the bytes, which simd-json parses in place, and its
/// working buffers), kept by the caller so that a thread validating one flow after another
/// allocates them once.
pub struct Scratch {
    bytes: Vec<u8>,
    buffers: simd_json::Buffers,
    tape: simd_json::Tape<'static>,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            bytes: Vec::new(),
            buffers: simd_json::Buffers::default(),
            tape: simd_json::Tape::null(),
        }
    }
}

impl Scratch {
    /// Above this the buffers are dropped after use rather than kept for the next document.
    const KEEP: usize = 4 << 20;

    fn shrink(&mut self) {
        if self.bytes.capacity() > Self::KEEP {
            *self = Scratch::default();
        }
    }
}

/// Scratch buffers for tasks that hold a [`Document`] across an `.await` (so cannot use a
/// thread's own): take one per request, give it back after.
#[derive(Default)]
pub struct ScratchPool(std::sync::Mutex<Vec<Scratch>>);

impl ScratchPool {
    /// At most this many idle scratches are kept.
    const IDLE: usize = 64;

    pub fn take(&self) -> Scratch {
        let mut idle = self.0.lock().unwrap_or_else(|p| p.into_inner());
        idle.pop().unwrap_or_default()
    }

    pub fn give(&self, mut scratch: Scratch) {
        scratch.shrink();
        let mut idle = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < Self::IDLE {
            idle.push(scratch);
        }
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Run `f` with this thread's [`Scratch`] (a fresh one if it is in use further up the stack).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let r = f(&mut scratch);
            scratch.shrink();
            r
        }
        Err(_) => f(&mut Scratch::default()),
    })
}

impl<'b> Document<'b> {
    /// Parse bytes, with `scratch` holding the copy simd-json parses in place. `Err` only
    /// when they are not JSON, not a JSON object, or nested deeper than serde_json parses —
    /// except within the elements of the node and edge lists, whose depth
    /// [`crate::Validator::check`] checks as it reads them.
    pub fn parse(bytes: &'b [u8], scratch: &'b mut Scratch) -> Result<Self, flow::ParseError> {
        let Scratch {
            bytes: copy,
            buffers,
            tape: spare,
        } = scratch;
        copy.clear();
        copy.extend_from_slice(bytes);
        let mut tape = std::mem::replace(spare, simd_json::Tape::null()).reset();
        // About one tape node per 8 bytes of JSON: reserve once rather than grow by doubling.
        tape.0.reserve(bytes.len() / 6);
        let parsed = simd_json::fill_tape(copy, buffers, &mut tape).map(|()| tape);
        let tape = match parsed {
            Ok(tape) if !skeleton_too_deep(J(&tape.0)) => tape,
            Ok(_) => return Err(depth_error(bytes)),
            Err(e) => return Err(serde_error(bytes, e.to_string())),
        };
        let doc = Document { bytes, tape, spare };
        match doc.root().kind() {
            Kind::Obj(_) => Ok(doc),
            _ => Err(flow::ParseError::NotAnObject {
                found: type_name(doc.root()),
            }),
        }
    }

    pub(crate) fn root(&self) -> J<'_> {
        J(&self.tape.0)
    }

    /// The bytes the document was parsed from.
    pub fn bytes(&self) -> &'b [u8] {
        self.bytes
    }

    /// The flow's `name`, when it is a string.
    pub fn name(&self) -> Option<&str> {
        self.root().get("name").and_then(J::as_str)
    }

    /// The choices kinds the document's constrained inputs use (what a resolver must know).
    /// A glance at the nodes' properties, not the view the rules build.
    pub fn choice_kinds(&self, catalog: &Catalog) -> Vec<catalog::ChoicesKind> {
        let root = self.root();
        let lists = [
            root.get("nodes"),
            root.get("eventFlows").and_then(|e| e.get("nodes")),
        ];
        let mut kinds = Vec::new();
        for node in lists
            .into_iter()
            .flatten()
            .filter_map(J::as_array)
            .flat_map(Arr::iter)
        {
            let Some(props) = node.get("properties").and_then(J::as_object) else {
                continue;
            };
            let def = props
                .get("activityName")
                .and_then(J::as_str)
                .and_then(|a| catalog.activity(a));
            for i in def.into_iter().flat_map(|d| &d.inputs) {
                if let Some(k) = i.choices {
                    if !kinds.contains(&k) && props.contains_key(&i.name) {
                        kinds.push(k);
                    }
                }
            }
        }
        kinds
    }

    /// The shape errors of the document, worded by the typed model's parser.
    pub(crate) fn shape_errors(&self) -> Vec<flow::ShapeError> {
        flow::parse_slice(self.bytes)
            .map(|(_, _, errors)| errors)
            .unwrap_or_default()
    }
}

pub(crate) fn type_name(v: J<'_>) -> &'static str {
    match v.kind() {
        Kind::Null => "null",
        Kind::Bool(_) => "a boolean",
        Kind::Num(_) => "a number",
        Kind::Str(_) => "a string",
        Kind::Arr(_) => "an array",
        Kind::Obj(_) => "an object",
    }
}

/// The error of a document nested deeper than [`MAX_DEPTH`], worded by serde_json (which
/// stops at the same depth) with its line and column.
pub(crate) fn depth_error(bytes: &[u8]) -> flow::ParseError {
    serde_error(bytes, "recursion limit exceeded".into())
}

/// The error of bytes simd-json refused, as serde_json words syntax errors everywhere else
/// (line, column, message); `fallback` if serde_json takes them after all.
fn serde_error(bytes: &[u8], fallback: String) -> flow::ParseError {
    match flow::parse_slice(bytes) {
        Err(err) => err,
        Ok(_) => flow::ParseError::Syntax {
            line: 1,
            column: 1,
            message: fallback,
        },
    }
}

/// Does the document nest deeper than [`MAX_DEPTH`] outside the elements of its node and
/// edge lists? Those elements are checked by [`View::new`] as it reads each one
/// ([`element_too_deep`]): on a large document a walk of its own touched every element's
/// first tape node after the parse had pushed them out of cache.
fn skeleton_too_deep(root: J<'_>) -> bool {
    let Some(top) = root.as_object() else {
        return too_deep(root.0, 0);
    };
    let list = |k: &str, v: J<'_>| same_any(k, &["nodes", "edges"]) && v.as_array().is_some();
    top.iter().any(|(k, v)| {
        if list(k, v) {
            return false;
        }
        match v.as_object() {
            Some(ef) if same(k, "eventFlows") => {
                ef.iter().any(|(k, x)| !list(k, x) && too_deep(x.0, 2))
            }
            _ => too_deep(v.0, 1),
        }
    })
}

/// Does a list element, `open` containers deep, nest deeper than [`MAX_DEPTH`]? Reads only
/// its first tape node unless it is large enough to.
fn element_too_deep(x: J<'_>, open: usize) -> bool {
    open + x.0.len() > MAX_DEPTH && too_deep(x.0, open)
}

/// Does the value starting `tape`, inside `open` containers, nest arrays and objects deeper
/// than [`MAX_DEPTH`]?
fn too_deep(tape: &[Node<'_>], open: usize) -> bool {
    // End index (exclusive) of every open container; the enclosing ones never close here.
    let mut ends = [usize::MAX; MAX_DEPTH];
    let mut open = open.min(MAX_DEPTH);
    let mut i = 0;
    while let Some(n) = tape.get(i) {
        if let Node::Object { count, .. } | Node::Array { count, .. } = *n {
            while open > 0 && ends[open - 1] <= i {
                open -= 1;
            }
            if open == MAX_DEPTH {
                return true;
            }
            // Each level of nesting takes a node, so a container of `count` nodes cannot
            // reach the limit when `count` levels more stay within it: skipped whole. Only the
            // document's outer structure is walked (a node's properties are skipped in one
            // step), not every tape node.
            if open + 1 + count <= MAX_DEPTH {
                i += count + 1;
                continue;
            }
            ends[open] = i + count + 1;
            open += 1;
        }
        i += 1;
    }
    false
}

/// A JSON value on the tape: the slice starting at its node, as long as the value.
#[derive(Clone, Copy)]
pub(crate) struct J<'a>(&'a [Node<'a>]);

/// A value, decoded.
pub(crate) enum Kind<'a> {
    Null,
    Bool(bool),
    Num(Num),
    Str(&'a str),
    Arr(Arr<'a>),
    Obj(Obj<'a>),
}

#[derive(Clone, Copy)]
pub(crate) enum Num {
    I(i64),
    U(u64),
    F(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::U(u) => u as f64,
            Num::F(f) => f,
        }
    }
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Num::I(i) => Some(i),
            Num::U(u) => i64::try_from(u).ok(),
            Num::F(_) => None,
        }
    }
    pub fn as_u64(self) -> Option<u64> {
        match self {
            Num::I(i) => u64::try_from(i).ok(),
            Num::U(u) => Some(u),
            Num::F(_) => None,
        }
    }
    /// Integral in JSON Schema's sense (`2.0` is an integer).
    pub fn is_integral(self) -> bool {
        match self {
            Num::I(_) | Num::U(_) => true,
            Num::F(f) => f.is_finite() && f.fract() == 0.0,
        }
    }
}

/// Nodes a value takes on the tape, its header included.
fn span(n: &Node<'_>) -> usize {
    match n {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

impl<'a> J<'a> {
    pub fn kind(self) -> Kind<'a> {
        match self.0.first() {
            Some(Node::String(s)) => Kind::Str(s),
            Some(&Node::Object { len, count }) => Kind::Obj(Obj {
                len,
                nodes: &self.0[1..=count],
            }),
            Some(&Node::Array { len, count }) => Kind::Arr(Arr {
                len,
                nodes: &self.0[1..=count],
            }),
            Some(Node::Static(StaticNode::Bool(b))) => Kind::Bool(*b),
            Some(Node::Static(StaticNode::I64(i))) => Kind::Num(Num::I(*i)),
            Some(Node::Static(StaticNode::U64(u))) => Kind::Num(Num::U(*u)),
            Some(Node::Static(StaticNode::F64(f))) => Kind::Num(Num::F(*f)),
            #[allow(unreachable_patterns)] // 128-bit integers, when a feature enables them
            _ => Kind::Null,
        }
    }
    pub fn as_str(self) -> Option<&'a str> {
        match self.0.first() {
            Some(Node::String(s)) => Some(s),
            _ => None,
        }
    }
    pub fn as_object(self) -> Option<Obj<'a>> {
        match self.kind() {
            Kind::Obj(o) => Some(o),
            _ => None,
        }
    }
    pub fn as_array(self) -> Option<Arr<'a>> {
        match self.kind() {
            Kind::Arr(a) => Some(a),
            _ => None,
        }
    }
    /// A member of an object value.
    pub fn get(self, key: &str) -> Option<J<'a>> {
        self.as_object()?.get(key)
    }
    pub fn is_null(self) -> bool {
        matches!(self.0.first(), Some(Node::Static(StaticNode::Null)))
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    len: usize,
    /// Keys and values, after the header.
    nodes: &'a [Node<'a>],
}

impl<'a> Obj<'a> {
    pub fn len(self) -> usize {
        self.len
    }
    /// Members in document order.
    pub fn iter(self) -> impl Iterator<Item = (&'a str, J<'a>)> + Clone {
        let mut rest = self.nodes;
        std::iter::from_fn(move || {
            let (key, tail) = rest.split_first()?;
            let n = span(tail.first()?);
            let (value, after) = tail.split_at(n);
            rest = after;
            Some((key_str(key), J(value)))
        })
    }
    /// The member named `key`; the last one when a key repeats, as serde_json (and so the
    /// typed model and `jsonschema`) reads it.
    pub fn get(self, key: &str) -> Option<J<'a>> {
        self.iter()
            .filter(|(k, _)| same(k, key))
            .last()
            .map(|(_, v)| v)
    }
    pub fn contains_key(self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// String equality that never calls `memcmp`. Keys and names are short: for them the library
/// call (a PLT jump and a size dispatch) costs several times the comparison, and matching
/// the keys of every node and edge made it a twentieth of a validation's time.
#[inline(always)]
pub(crate) fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // Two overlapping words cover every byte: head and tail.
    if n >= 8 {
        if n > 16 {
            return a == b;
        }
        let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().unwrap());
        return word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8);
    }
    if n >= 4 {
        let word = |s: &[u8], at: usize| u32::from_ne_bytes(s[at..at + 4].try_into().unwrap());
        return word(a, 0) == word(b, 0) && word(a, n - 4) == word(b, n - 4);
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// Is `k` one of `keys` (compared with [`same`])?
#[inline(always)]
fn same_any(k: &str, keys: &[&str]) -> bool {
    keys.iter().any(|key| same(k, key))
}

fn key_str<'a>(n: &Node<'a>) -> &'a str {
    match n {
        Node::String(s) => s,
        _ => "",
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Arr<'a> {
    len: usize,
    nodes: &'a [Node<'a>],
}

impl<'a> Arr<'a> {
    pub fn len(self) -> usize {
        self.len
    }
    pub fn iter(self) -> impl Iterator<Item = J<'a>> + Clone {
        let mut rest = self.nodes;
        std::iter::from_fn(move || {
            let n = span(rest.first()?);
            let (value, after) = rest.split_at(n);
            rest = after;
            Some(J(value))
        })
    }
    pub fn get(self, i: usize) -> Option<J<'a>> {
        self.iter().nth(i)
    }
}

/// The parts of a flow the rules read, borrowed from the tree.
pub(crate) struct View<'a> {
    pub flow_type: FlowType,
    pub procs: [Proc<'a>; 2],
    pub variables: Vec<Var<'a>>,
    /// Some value does not fit the typed model: shape errors must be reported.
    pub bad_shape: bool,
    /// A node or edge nests deeper than [`MAX_DEPTH`]: the document is malformed (the
    /// visitor has not seen that node, and no rule may walk the view).
    pub too_deep: bool,
}

pub(crate) struct Proc<'a> {
    pub kind: ProcessKind,
    pub nodes: Vec<NodeV<'a>>,
    pub edges: Vec<EdgeV<'a>>,
}

#[derive(Default)]
pub(crate) struct NodeV<'a> {
    /// The element itself (`None` for a placeholder).
    pub value: Option<J<'a>>,
    pub id: Option<&'a str>,
    pub name: Option<&'a str>,
    pub activity_type: Option<ActivityType>,
    /// `properties`, unless absent or null.
    pub props: Option<J<'a>>,
    /// `properties`, when an object.
    pub inputs: Option<Obj<'a>>,
    pub activity_name: Option<&'a str>,
    /// The catalog's definition of `activity_name`, when known.
    pub def: Option<&'a ActivityDef>,
}

impl<'a> NodeV<'a> {
    /// The properties object (including `activityName`); `None` when not an object.
    pub fn inputs(&self) -> Option<Obj<'a>> {
        self.inputs
    }
    /// A property of the node's properties object.
    pub fn input(&self, key: &str) -> Option<J<'a>> {
        self.inputs.and_then(|o| o.get(key))
    }
}

#[derive(Default)]
pub(crate) struct EdgeV<'a> {
    /// The element itself (`None` for a placeholder).
    pub value: Option<J<'a>>,
    pub id: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub condition: Option<&'a str>,
    /// `properties`, an object, unless absent or null.
    pub props: Option<Obj<'a>>,
}

impl EdgeV<'_> {
    /// The condition after alias normalization (`done -> out`, `defaultBranch -> default`).
    pub fn port(&self) -> Option<&str> {
        self.condition.map(flow::normalize_port)
    }
}

#[derive(Default)]
pub(crate) struct Var<'a> {
    pub name: Option<&'a str>,
    pub ty: Field<VariableType>,
    /// `value`, unless absent or null.
    pub value: Option<J<'a>>,
}

/// Sees each node the moment [`View::new`] has read it, while its part of the tape is still
/// in cache: the per-node rules run there rather than in a second pass over the tape (on a
/// large document that pass read the tape back from memory).
pub(crate) trait NodeVisitor<'a> {
    /// The document's variables, before any node, and how many nodes follow (both processes).
    fn variables(&mut self, vars: &[Var<'a>], nodes: usize);
    /// Node `i` of process `kind` (a placeholder when it does not fit the model).
    fn node(&mut self, kind: ProcessKind, i: usize, n: &NodeV<'a>);
}

impl<'a> View<'a> {
    pub fn new(root: J<'a>, catalog: &'a Catalog, visitor: &mut dyn NodeVisitor<'a>) -> Self {
        let mut view = View {
            flow_type: FlowType::Flow,
            procs: [
                Proc {
                    kind: ProcessKind::Main,
                    nodes: Vec::new(),
                    edges: Vec::new(),
                },
                Proc {
                    kind: ProcessKind::Event,
                    nodes: Vec::new(),
                    edges: Vec::new(),
                },
            ],
            variables: Vec::new(),
            bad_shape: false,
            too_deep: false,
        };
        let Some(top) = root.as_object() else {
            view.bad_shape = true;
            return view;
        };
        let mut ok = true;
        let mut deep = false;
        // Variables first, wherever they are in the document: the node visitor needs their
        // names. (The last `variables` member, as the typed model reads a repeated key.)
        let vars = top.get("variables");
        if let Some(v) = vars {
            view.variables = elements(v, &mut ok, variable);
        }
        // The arrays the view ends up with (the last of a repeated member, as the typed model
        // reads it): only their elements go to the visitor.
        let (main_nodes, event_nodes) = (top.get("nodes"), last_event_member(top, "nodes"));
        let count = |v: Option<J<'a>>| v.and_then(J::as_array).map_or(0, Arr::len);
        visitor.variables(&view.variables, count(main_nodes) + count(event_nodes));
        let kept = |last: Option<J<'a>>, v: J<'a>| last.is_some_and(|x| std::ptr::eq(x.0, v.0));
        for (k, v) in top.iter() {
            match k {
                k if same(k, "nodes") => {
                    view.procs[0].nodes = nodes(
                        v,
                        ProcessKind::Main,
                        catalog,
                        (&mut ok, &mut deep),
                        visitor,
                        kept(main_nodes, v),
                    )
                }
                k if same(k, "edges") => {
                    view.procs[0].edges =
                        listed(v, list_depth(ProcessKind::Main), (&mut ok, &mut deep), edge)
                }
                // An earlier, repeated `variables` member still has to fit the model.
                k if same(k, "variables") && !kept(vars, v) => {
                    elements(v, &mut ok, variable);
                }
                k if same(k, "preferences") => {
                    elements(v, &mut ok, preference);
                }
                k if same(k, "eventFlows") => match v.as_object() {
                    Some(ef) => {
                        for (k, x) in ef.iter() {
                            match k {
                                k if same(k, "nodes") => {
                                    view.procs[1].nodes = nodes(
                                        x,
                                        ProcessKind::Event,
                                        catalog,
                                        (&mut ok, &mut deep),
                                        visitor,
                                        kept(event_nodes, x),
                                    )
                                }
                                k if same(k, "edges") => {
                                    view.procs[1].edges = listed(
                                        x,
                                        list_depth(ProcessKind::Event),
                                        (&mut ok, &mut deep),
                                        edge,
                                    )
                                }
                                _ => {}
                            }
                        }
                    }
                    None => ok &= v.is_null(),
                },
                k if same(k, "flowType") => match v.as_str() {
                    Some("FLOW") => view.flow_type = FlowType::Flow,
                    Some("SUBFLOW") => view.flow_type = FlowType::Subflow,
                    _ => ok &= v.is_null(),
                },
                k if same(k, "version") => {
                    ok &= match v.kind() {
                        Kind::Null => true,
                        Kind::Num(n) => n.as_i64().is_some(),
                        _ => false,
                    }
                }
                k if same(k, "status") => {
                    ok &= v.is_null() || matches!(v.as_str(), Some("Draft" | "Published"))
                }
                k if same_any(k, &["id", "orgId", "name", "contactType", "description"]) => {
                    ok &= is_str(v)
                }
                _ => {}
            }
        }
        view.bad_shape = !ok;
        view.too_deep = deep;
        view
    }
}

/// A process's nodes, each handed to `visitor` as it is read when `seen` (the array the
/// view keeps).
fn nodes<'a>(
    v: J<'a>,
    kind: ProcessKind,
    catalog: &'a Catalog,
    flags: (&mut bool, &mut bool),
    visitor: &mut dyn NodeVisitor<'a>,
    seen: bool,
) -> Vec<NodeV<'a>> {
    let mut i = 0;
    listed(v, list_depth(kind), flags, |x, ok| {
        let n = node(x, catalog, ok);
        if seen {
            visitor.node(kind, i, &n);
        }
        i += 1;
        n
    })
}

/// How many containers enclose the elements of a process's node and edge lists: the
/// document and the list, and for the event process the `eventFlows` object.
fn list_depth(kind: ProcessKind) -> usize {
    match kind {
        ProcessKind::Main => 2,
        ProcessKind::Event => 3,
    }
}

/// The elements of a node or edge list, `open` containers deep, through `one` as
/// [`elements`] does; each is first checked for depth (the parse left these to the view),
/// and one nested too deep is not read but flagged (`flags.1`).
fn listed<'a, T: Default>(
    v: J<'a>,
    open: usize,
    (ok, deep): (&mut bool, &mut bool),
    mut one: impl FnMut(J<'a>, &mut bool) -> T,
) -> Vec<T> {
    elements(v, ok, |x, ok| {
        if element_too_deep(x, open) {
            *deep = true;
            return T::default();
        }
        one(x, ok)
    })
}

/// The last `key` member of any `eventFlows` object (the one the view keeps).
fn last_event_member<'a>(top: Obj<'a>, key: &str) -> Option<J<'a>> {
    let mut last = None;
    for (k, v) in top.iter() {
        if let (true, Some(ef)) = (same(k, "eventFlows"), v.as_object()) {
            last = ef
                .iter()
                .filter(|(k, _)| same(k, key))
                .last()
                .map(|(_, x)| x)
                .or(last);
        }
    }
    last
}

fn is_str(v: J<'_>) -> bool {
    v.is_null() || v.as_str().is_some()
}

/// A string field: `Some` when a string, `None` when null; `ok` cleared for anything else.
fn str_field<'a>(v: J<'a>, ok: &mut bool) -> Option<&'a str> {
    match v.kind() {
        Kind::Str(s) => Some(s),
        Kind::Null => None,
        _ => {
            *ok = false;
            None
        }
    }
}

/// The elements of an array field, each through `one` (which clears its `ok` to ask for the
/// typed model's placeholder). Not an array: no elements, as the model has it.
fn elements<'a, T>(v: J<'a>, ok: &mut bool, mut one: impl FnMut(J<'a>, &mut bool) -> T) -> Vec<T> {
    match v.kind() {
        Kind::Arr(items) => {
            let mut out = Vec::with_capacity(items.len());
            out.extend(items.iter().map(|x| one(x, ok)));
            out
        }
        Kind::Null => Vec::new(),
        _ => {
            *ok = false;
            Vec::new()
        }
    }
}

fn node<'a>(v: J<'a>, catalog: &'a Catalog, ok: &mut bool) -> NodeV<'a> {
    let Some(o) = v.as_object() else {
        *ok = false;
        return NodeV::default();
    };
    let mut n = NodeV {
        value: Some(v),
        ..NodeV::default()
    };
    let mut fine = true;
    for (k, x) in o.iter() {
        match k {
            k if same(k, "id") => n.id = str_field(x, &mut fine),
            k if same(k, "name") => n.name = str_field(x, &mut fine),
            k if same(k, "activityType") => {
                n.activity_type = match str_field(x, &mut fine) {
                    Some(t) if same(t, "start") => Some(ActivityType::Start),
                    Some(t) if same(t, "action") => Some(ActivityType::Action),
                    Some(t) if same(t, "event") => Some(ActivityType::Event),
                    Some(t) if same(t, "end") => Some(ActivityType::End),
                    Some(_) => {
                        fine = false;
                        None
                    }
                    None => None,
                }
            }
            k if same(k, "properties") => match x.kind() {
                Kind::Obj(p) => {
                    n.props = Some(x);
                    n.inputs = Some(p);
                    // The last `activityName` when repeated, as the typed model reads it.
                    n.activity_name = p.get("activityName").and_then(J::as_str);
                }
                Kind::Null => {}
                _ => n.props = Some(x),
            },
            _ => {}
        }
    }
    if !fine {
        *ok = false;
        // The typed model's placeholder keeps only the name, so edges to a node with, say,
        // a bad activityType do not also report UNKNOWN_NODE.
        return NodeV {
            name: o.get("name").and_then(J::as_str),
            ..NodeV::default()
        };
    }
    n.def = n.activity_name.and_then(|a| catalog.activity(a));
    n
}

fn edge<'a>(v: J<'a>, ok: &mut bool) -> EdgeV<'a> {
    let Some(o) = v.as_object() else {
        *ok = false;
        return EdgeV::default();
    };
    let mut e = EdgeV {
        value: Some(v),
        ..EdgeV::default()
    };
    let mut fine = true;
    for (k, x) in o.iter() {
        match k {
            k if same(k, "id") => e.id = str_field(x, &mut fine),
            k if same(k, "from") => e.from = str_field(x, &mut fine),
            k if same(k, "to") => e.to = str_field(x, &mut fine),
            k if same(k, "condition") => e.condition = str_field(x, &mut fine),
            k if same(k, "properties") => match x.kind() {
                Kind::Obj(o) => e.props = Some(o),
                Kind::Null => {}
                _ => fine = false,
            },
            _ => {}
        }
    }
    if !fine {
        *ok = false;
        return EdgeV::default();
    }
    e
}

fn variable<'a>(v: J<'a>, ok: &mut bool) -> Var<'a> {
    let Some(o) = v.as_object() else {
        *ok = false;
        return Var::default();
    };
    let mut var = Var::default();
    let mut fine = true;
    for (k, x) in o.iter() {
        match k {
            k if same(k, "name") => var.name = str_field(x, &mut fine),
            k if same(k, "type") => {
                var.ty = match x.as_str() {
                    Some("STRING") => Field::Value(VariableType::String),
                    Some("INTEGER") => Field::Value(VariableType::Integer),
                    Some("BOOLEAN") => Field::Value(VariableType::Boolean),
                    Some("DECIMAL") => Field::Value(VariableType::Decimal),
                    Some("DATETIME") => Field::Value(VariableType::Datetime),
                    Some("JSON") => Field::Value(VariableType::Json),
                    _ => {
                        fine &= x.is_null();
                        Field::Null
                    }
                }
            }
            k if same(k, "value") && !x.is_null() => var.value = Some(x),
            k if same(k, "description") => fine &= is_str(x),
            k if same_any(k, &["isCAD", "isAgentEditable", "isReportable", "isSecure"]) => {
                fine &= matches!(x.kind(), Kind::Null | Kind::Bool(_))
            }
            _ => {}
        }
    }
    if !fine {
        *ok = false;
        return Var::default();
    }
    var
}

fn preference(v: J<'_>, ok: &mut bool) {
    match v.as_object() {
        Some(o) => {
            for (k, x) in o.iter() {
                if matches!(k, "name" | "type") {
                    *ok &= is_str(x);
                }
            }
        }
        None => *ok = false,
    }
}

/// A node name as a hash key, compared with [`same`] (a lookup per edge end).
#[derive(Hash, Clone, Copy)]
pub(crate) struct Name<'a>(pub &'a str);

impl PartialEq for Name<'_> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        same(self.0, other.0)
    }
}

impl Eq for Name<'_> {}

/// Indexes over one process, built once per validation: names resolved to node indexes
/// once, so the rules walk edges by index. Indexes are `u32` ([`NONE`] for none): on a large
/// document these arrays and the passes that fill them go beyond the L2 cache, and every
/// byte they do not take is one the name table keeps.
pub(crate) struct Graph<'a> {
    /// First node index per name.
    by_name: HashMap<Name<'a>, u32>,
    /// Per edge, the (first) node its `from` / `to` names, in this process.
    ends: Vec<[u32; 2]>,
    /// Per node, the first node of the same name (edges leave a name, not an index).
    first: Vec<u32>,
    /// Outgoing edges of each first node, in document order: `out[start[i]..start[i + 1]]`.
    start: Vec<u32>,
    out: Vec<u32>,
}

/// No node: an absent name, or one no node has.
const NONE: u32 = u32::MAX;

fn some(i: u32) -> Option<usize> {
    (i != NONE).then_some(i as usize)
}

impl<'a> Graph<'a> {
    pub fn new(p: &Proc<'a>) -> Self {
        let n = p.nodes.len();
        let mut by_name: HashMap<Name<'a>, u32> =
            HashMap::with_capacity_and_hasher(n, Default::default());
        let first = (0u32..)
            .zip(&p.nodes)
            .map(|(i, node)| {
                node.name
                    .map_or(NONE, |name| *by_name.entry(Name(name)).or_insert(i))
            })
            .collect();
        // One pass over the edges for both ends: an edge's names share its cache lines.
        let resolve = |name: Option<&'a str>| {
            name.and_then(|x| by_name.get(&Name(x)).copied())
                .unwrap_or(NONE)
        };
        let ends: Vec<[u32; 2]> = p
            .edges
            .iter()
            .map(|e| [resolve(e.from), resolve(e.to)])
            .collect();
        let mut start = vec![0u32; n + 1];
        for &[f, _] in &ends {
            if f != NONE {
                start[f as usize + 1] += 1;
            }
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut next = start.clone();
        let mut out = vec![0u32; start[n] as usize];
        for (e, &[f, _]) in (0u32..).zip(&ends) {
            if f != NONE {
                let slot = &mut next[f as usize];
                out[*slot as usize] = e;
                *slot += 1;
            }
        }
        Graph {
            by_name,
            ends,
            first,
            start,
            out,
        }
    }

    /// The node named by `name` in this process (the first of that name).
    pub fn node_named(&self, name: &str) -> Option<usize> {
        self.by_name.get(&Name(name)).map(|&i| i as usize)
    }

    /// The node edge `e` leaves (`from`), if its name resolves in this process.
    pub fn from(&self, e: usize) -> Option<usize> {
        some(self.ends[e][0])
    }

    /// The node edge `e` enters (`to`), if its name resolves in this process.
    pub fn to(&self, e: usize) -> Option<usize> {
        some(self.ends[e][1])
    }

    /// The first node with the same name as node `i` (`i` itself when none comes before it);
    /// `None` when node `i` has no name.
    pub fn first_named_like(&self, i: usize) -> Option<usize> {
        some(self.first[i])
    }

    /// The edges leaving node `i` (leaving its name), in document order.
    pub fn outgoing(&self, i: usize) -> &[u32] {
        match self.first_named_like(i) {
            Some(f) => &self.out[self.start[f] as usize..self.start[f + 1] as usize],
            None => &[],
        }
    }

    /// Which node indexes the entry nodes (start nodes in the main process, event nodes in
    /// the event process) reach, entries included.
    pub fn reachable(&self, p: &Proc<'a>) -> Vec<bool> {
        let mut seen = vec![false; p.nodes.len()];
        let mut stack: Vec<usize> = p
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                matches!(
                    n.activity_type,
                    Some(ActivityType::Start | ActivityType::Event)
                )
            })
            .map(|(i, _)| i)
            .collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            for &e in self.outgoing(i) {
                if let Some(j) = self.to(e as usize) {
                    if !seen[j] {
                        stack.push(j);
                    }
                }
            }
        }
        seen
    }
}

/// JSON equality between a catalog value and a document value (numbers by value, as JSON
/// Schema's `enum` and `const` compare them).
pub(crate) fn json_eq(a: &serde_json::Value, b: J<'_>) -> bool {
    use serde_json::Value as S;
    match (a, b.kind()) {
        (S::Null, Kind::Null) => true,
        (S::Bool(x), Kind::Bool(y)) => *x == y,
        (S::String(x), Kind::Str(y)) => same(x, y),
        (S::Number(x), Kind::Num(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == Some(y.as_f64())
            }
        }
        (S::Array(xs), Kind::Arr(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys.iter()).all(|(x, y)| json_eq(x, y))
        }
        (S::Object(xs), Kind::Obj(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| json_eq(x, y)))
        }
        _ => false,
    }
}

/// A document value as a `serde_json::Value` (for `jsonschema`'s error messages, which only
/// the failing nodes need).
pub(crate) fn to_serde(v: J<'_>) -> serde_json::Value {
    use serde_json::Value as S;
    match v.kind() {
        Kind::Null => S::Null,
        Kind::Bool(b) => S::Bool(b),
        Kind::Num(Num::I(i)) => S::from(i),
        Kind::Num(Num::U(u)) => S::from(u),
        Kind::Num(Num::F(f)) => serde_json::Number::from_f64(f).map_or(S::Null, S::Number),
        Kind::Str(s) => S::String(s.to_owned()),
        Kind::Arr(a) => S::Array(a.iter().map(to_serde).collect()),
        Kind::Obj(o) => S::Object(o.iter().map(|(k, x)| (k.to_owned(), to_serde(x))).collect()),
    }
}

/// Compact JSON text of a document value, as `serde_json::Value`'s `Display` writes it.
pub(crate) fn to_text(v: J<'_>) -> String {
    to_serde(v).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every container visited: the walk [`too_deep`] shortens.
    fn too_deep_slowly(tape: &[Node<'_>]) -> bool {
        let mut ends = [0usize; MAX_DEPTH];
        let mut open = 0;
        for (i, n) in tape.iter().enumerate() {
            if let Node::Object { count, .. } | Node::Array { count, .. } = n {
                while open > 0 && ends[open - 1] <= i {
                    open -= 1;
                }
                if open == MAX_DEPTH {
                    return true;
                }
                ends[open] = i + count + 1;
                open += 1;
            }
        }
        false
    }

    fn deep(n: usize, open: &str, close: &str) -> String {
        format!("{}1{}", open.repeat(n), close.repeat(n))
    }

    #[test]
    fn depth_limit_is_exact_and_agrees_with_the_full_walk() {
        let mut docs = Vec::new();
        for d in MAX_DEPTH - 3..=MAX_DEPTH + 3 {
            docs.push((d, deep(d, "[", "]")));
            docs.push((d, deep(d, "{\"a\":", "}")));
            // Deep inside siblings that are skipped whole, and after a wide shallow one.
            docs.push((
                d + 2,
                format!(
                    "{{\"x\":[1,2,[3,[4]]],\"nodes\":[{{\"p\":{{\"q\":\"s\"}}}},{}],\"y\":{{}}}}",
                    deep(d, "[", "]")
                ),
            ));
            docs.push((
                d + 1,
                format!("[{},{}]", deep(MAX_DEPTH - 1, "[", "]"), deep(d, "[", "]")),
            ));
        }
        for (depth, text) in docs {
            let mut bytes = text.clone().into_bytes();
            let mut buffers = simd_json::Buffers::default();
            let mut tape = simd_json::Tape::null();
            simd_json::fill_tape(&mut bytes, &mut buffers, &mut tape).unwrap();
            assert_eq!(too_deep(&tape.0, 0), depth > MAX_DEPTH, "{text}");
            assert_eq!(too_deep(&tape.0, 0), too_deep_slowly(&tape.0), "{text}");
        }
    }
}
