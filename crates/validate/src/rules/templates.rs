//! `{{ }}` templates in node and edge properties: they must compile (INVALID_EXPRESSION),
//! and what they reference must exist: a declared variable (else UNDECLARED_VARIABLE, a
//! warning, since it may be a global variable the server knows), or a node's declared output
//! (`{{NodeName.field}}`, else UNKNOWN_NODE_OUTPUT). Also owns UNUSED_VARIABLE, because
//! "used" is the set of names these templates and variable-target inputs mention.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fmt::Write as _;

use catalog::ChoicesKind;
use flow::{ActivityType, Node};
use serde_json::Value;

use super::Ctx;

/// Names the engine provides to every expression.
const BUILTINS: &[&str] = &["now", "global"];

pub(super) fn check(cx: &mut Ctx<'_>) {
    let declared: HashSet<&str> = cx
        .flow
        .variables()
        .iter()
        .filter_map(|v| v.name())
        .collect();
    let mut nodes: HashMap<&str, &Node> = HashMap::with_capacity_and_hasher(
        cx.flow.nodes().len() + cx.flow.event().nodes.len(),
        Default::default(),
    );
    for p in cx.flow.processes() {
        for n in p.nodes {
            if let Some(name) = n.name() {
                nodes.entry(name).or_insert(n);
            }
        }
    }
    let mut used: HashSet<String> = HashSet::default();
    let mut strings: Vec<(String, &str)> = Vec::new();
    let mut buf = String::new();
    let interesting = |s: &str| s.contains("{{") || s.contains("{%") || declared.contains(s);
    for p in cx.flow.processes() {
        for (i, n) in p.nodes.iter().enumerate() {
            if let Some(props) = n.inputs() {
                buf.clear();
                let _ = write!(buf, "{}/nodes/{i}/properties", p.kind.pointer_base());
                for (k, v) in props {
                    collect(&mut buf, k, v, &interesting, &mut strings);
                }
            }
        }
        for (i, e) in p.edges.iter().enumerate() {
            if let Some(props) = e.properties.get() {
                buf.clear();
                let _ = write!(buf, "{}/edges/{i}/properties", p.kind.pointer_base());
                for (k, v) in props {
                    collect(&mut buf, k, v, &interesting, &mut strings);
                }
            }
        }
    }
    for (path, s) in strings {
        if declared.contains(s) {
            // A variable named as a target (set-variable, parse, output mappings).
            used.insert(s.to_string());
        }
        if !s.contains("{{") && !s.contains("{%") {
            continue;
        }
        let refs = match cx.v.analyze(s) {
            Ok(refs) => refs,
            Err(detail) => {
                let msg = format!("Expression '{s}' does not compile: {detail}.");
                cx.error(path, "INVALID_EXPRESSION", msg);
                continue;
            }
        };
        for r in refs.iter() {
            let mut parts = r.splitn(3, '.');
            let root = parts.next().unwrap_or_default();
            let attr = parts.next();
            if declared.contains(root) {
                used.insert(root.to_string());
                continue;
            }
            if BUILTINS.contains(&root) {
                continue;
            }
            if let Some(node) = nodes.get(root) {
                if let Some(attr) = attr {
                    if let Some(outputs) = node_outputs(cx, node) {
                        if !outputs.iter().any(|o| o == attr) {
                            cx.push(
                                crate::Diagnostic::error(
                                    &path,
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
                }
                continue;
            }
            if cx.opts.resolver.contains(ChoicesKind::GlobalVariable, root) == Some(true) {
                continue;
            }
            cx.warning(
                path.clone(),
                "UNDECLARED_VARIABLE",
                format!("Expression '{s}' references '{root}', which is neither a flow variable nor a node."),
            );
        }
    }
    for (i, v) in cx.flow.variables().iter().enumerate() {
        if let Some(name) = v.name() {
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

/// The outputs a node exposes: its activity's, or for start and event nodes, its event's.
/// `None` when unknown (an unknown activity is reported elsewhere).
fn node_outputs(cx: &Ctx<'_>, node: &Node) -> Option<Vec<String>> {
    let def = cx.activity(node)?;
    let mut out: Vec<String> = def.outputs.iter().map(|o| o.name.clone()).collect();
    let event = match node.activity_type.get() {
        Some(ActivityType::Start) => node
            .inputs()
            .and_then(|p| p.get("flowType"))
            .and_then(|f| f.get("eventSpecificationName")),
        Some(ActivityType::Event) => node.inputs().and_then(|p| p.get("eventSpecificationName")),
        _ => None,
    };
    if let Some(spec) = event
        .and_then(Value::as_str)
        .and_then(|n| cx.v.catalog.event(n))
    {
        out.extend(spec.outputs.iter().map(|o| o.name.clone()));
    }
    Some(out)
}

/// Walk a property value, keeping the strings `keep` selects with their pointer. One
/// buffer holds the current pointer; it is copied only for the strings kept.
fn collect<'v>(
    buf: &mut String,
    key: &str,
    v: &'v Value,
    keep: &dyn Fn(&str) -> bool,
    out: &mut Vec<(String, &'v str)>,
) {
    let len = buf.len();
    buf.push('/');
    buf.push_str(&flow::pointer::escape(key));
    match v {
        Value::String(s) if keep(s) => out.push((buf.clone(), s)),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect(buf, &i.to_string(), x, keep, out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                collect(buf, k, x, keep, out);
            }
        }
        _ => {}
    }
    buf.truncate(len);
}
