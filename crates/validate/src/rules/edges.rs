//! Edges: endpoints exist in the same process (UNKNOWN_NODE, CROSS_PROCESS_EDGE), the
//! condition is a port of the source activity after aliasing (INVALID_PORT), branching
//! ports carry a valid value in the edge's properties, and a non-branching port carries one
//! edge (a warning otherwise: only the first would ever fire).

use rustc_hash::FxHashMap as HashMap;

use flow::ProcessKind;
use serde_json::Value;

use super::{edge_ptr, process_label, Ctx};

pub(super) fn check(cx: &mut Ctx<'_>) {
    for (pi, p) in cx.flow.processes().into_iter().enumerate() {
        let other = match p.kind {
            ProcessKind::Main => 1,
            ProcessKind::Event => 0,
        };
        // (source node, port) -> first edge index; (source, port, branch value) likewise.
        let mut on_port: HashMap<(&str, &str), usize> =
            HashMap::with_capacity_and_hasher(p.edges.len(), Default::default());
        let mut on_branch: HashMap<(&str, &str, String), usize> = HashMap::default();
        for (i, e) in p.edges.iter().enumerate() {
            let at = edge_ptr(p.kind, i);
            for (field, end) in [("from", e.from()), ("to", e.to())] {
                match end {
                    None => cx.error(
                        format!("{at}/{field}"),
                        "MISSING_FIELD",
                        format!("Every edge needs '{field}': the name of a node in the same process."),
                    ),
                    Some(name) if cx.graphs[pi].by_name.contains_key(name) => {}
                    Some(name) if cx.graphs[other].by_name.contains_key(name) => cx.error(
                        format!("{at}/{field}"),
                        "CROSS_PROCESS_EDGE",
                        format!(
                            "Edge '{}' in the {} references node '{name}', which is in the {}; edges never cross processes.",
                            e.id().unwrap_or("?"),
                            process_label(p.kind),
                            process_label(if pi == 0 { ProcessKind::Event } else { ProcessKind::Main })
                        ),
                    ),
                    Some(name) => cx.error(
                        format!("{at}/{field}"),
                        "UNKNOWN_NODE",
                        format!(
                            "Edge '{}' references node '{name}', which does not exist in the {}.",
                            e.id().unwrap_or("?"),
                            process_label(p.kind)
                        ),
                    ),
                }
            }
            let Some(port) = e.port() else {
                cx.error(
                    format!("{at}/condition"),
                    "MISSING_FIELD",
                    "Every edge needs a 'condition': the output port it leaves on (e.g. out, default).".into(),
                );
                continue;
            };
            let Some(from) = e.from() else { continue };
            let Some(&src) = cx.graphs[pi].by_name.get(from) else {
                continue;
            };
            let Some(def) = cx.activity(&p.nodes[src]) else {
                continue;
            };
            let Some(port_def) = def.port(port) else {
                let ports: Vec<&str> = def.output_ports.iter().map(|p| p.name.as_str()).collect();
                let hint = if ports.is_empty() {
                    format!(
                        "'{}' ends the flow and has no output ports",
                        def.activity_name
                    )
                } else {
                    format!("ports of '{}': {}", def.activity_name, ports.join(", "))
                };
                cx.push(
                    crate::Diagnostic::error(
                        &format!("{at}/condition"),
                        "INVALID_PORT",
                        format!(
                            "Activity '{}' does not expose a port named '{}'.",
                            def.activity_name,
                            e.condition.get().map(String::as_str).unwrap_or(port)
                        ),
                    )
                    .with_hint(hint),
                );
                continue;
            };
            match &port_def.branching {
                None => {
                    if let Some(&first) = on_port.get(&(from, port)) {
                        cx.warning(
                            format!("{at}/condition"),
                            "MULTIPLE_EDGES_ON_PORT",
                            format!(
                                "Node '{from}' already leaves port '{port}' on edge '{}'; only one edge per non-branching port fires.",
                                p.edges[first].id().unwrap_or("?")
                            ),
                        );
                    } else {
                        on_port.insert((from, port), i);
                    }
                }
                Some(b) => {
                    let value = e.properties.get().and_then(|props| props.get(&b.property));
                    let Some(value) = value else {
                        cx.error(
                            format!("{at}/properties/{}", flow::pointer::escape(&b.property)),
                            "MISSING_BRANCH_VALUE",
                            format!(
                                "Port '{port}' of activity '{}' branches on a value: set properties.{} on the edge.",
                                def.activity_name, b.property
                            ),
                        );
                        continue;
                    };
                    let key = (def.activity_name.clone(), port_def.name.clone());
                    if let Some(schema) = cx.v.branch_schemas.get(&key) {
                        if let Some(err) = schema.iter_errors(value).next() {
                            cx.error(
                                format!("{at}/properties/{}", flow::pointer::escape(&b.property)),
                                "INVALID_BRANCH_VALUE",
                                format!("Branch value {value} of port '{port}' is invalid: {err}."),
                            );
                            continue;
                        }
                    }
                    let canon = canonical(value);
                    if let Some(&first) = on_branch.get(&(from, port, canon.clone())) {
                        cx.warning(
                            format!("{at}/properties/{}", flow::pointer::escape(&b.property)),
                            "DUPLICATE_BRANCH_VALUE",
                            format!(
                                "Node '{from}' already branches on {value} (edge '{}'); this edge never fires.",
                                p.edges[first].id().unwrap_or("?")
                            ),
                        );
                    } else {
                        on_branch.insert((from, port, canon), i);
                    }
                }
            }
        }
    }
}

fn canonical(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
