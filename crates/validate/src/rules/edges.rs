//! Edges: endpoints exist in the same process (UNKNOWN_NODE, CROSS_PROCESS_EDGE), the
//! condition is a port of the source activity after aliasing (INVALID_PORT), branching
//! ports carry a valid value in the edge's properties, and a non-branching port carries one
//! edge (a warning otherwise: only the first would ever fire).

use std::borrow::Cow;

use rustc_hash::FxHashMap as HashMap;

use flow::ProcessKind;

use crate::doc::{to_text, J};

use super::{edge_ptr, process_label, Ctx};

pub(super) fn check(cx: &mut Ctx<'_>) {
    let view = cx.view;
    for (pi, p) in view.procs.iter().enumerate() {
        let other = match p.kind {
            ProcessKind::Main => 1,
            ProcessKind::Event => 0,
        };
        // (source node, port, branch value) -> first edge index.
        let mut on_branch: HashMap<(usize, &str, Cow<'_, str>), usize> = HashMap::default();
        for (i, e) in p.edges.iter().enumerate() {
            let at = edge_ptr(p.kind, i);
            let g = &cx.graphs[pi];
            for (field, end, found) in [("from", e.from, g.from(i)), ("to", e.to, g.to(i))] {
                match end {
                    None => cx.error(
                        format!("{at}/{field}"),
                        "MISSING_FIELD",
                        format!("Every edge needs '{field}': the name of a node in the same process."),
                    ),
                    Some(_) if found.is_some() => {}
                    Some(name) if cx.graphs[other].node_named(name).is_some() => cx.error(
                        format!("{at}/{field}"),
                        "CROSS_PROCESS_EDGE",
                        format!(
                            "Edge '{}' in the {} references node '{name}', which is in the {}; edges never cross processes.",
                            e.id.unwrap_or("?"),
                            process_label(p.kind),
                            process_label(if pi == 0 { ProcessKind::Event } else { ProcessKind::Main })
                        ),
                    ),
                    Some(name) => cx.error(
                        format!("{at}/{field}"),
                        "UNKNOWN_NODE",
                        format!(
                            "Edge '{}' references node '{name}', which does not exist in the {}.",
                            e.id.unwrap_or("?"),
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
            let (Some(from), Some(src)) = (e.from, cx.graphs[pi].from(i)) else {
                continue;
            };
            let Some(def) = p.nodes[src].def else {
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
                            e.condition.unwrap_or(port)
                        ),
                    )
                    .with_hint(hint),
                );
                continue;
            };
            match &port_def.branching {
                None => {
                    // The edges leaving a node are few: the first one on this port is found
                    // among them (every earlier one got this far, same node, same port).
                    let g = &cx.graphs[pi];
                    let first = g
                        .outgoing(src)
                        .iter()
                        .map(|&e| e as usize)
                        .take_while(|&e| e < i)
                        .find(|&e| p.edges[e].port() == Some(port));
                    if let Some(first) = first {
                        cx.warning(
                            format!("{at}/condition"),
                            "MULTIPLE_EDGES_ON_PORT",
                            format!(
                                "Node '{from}' already leaves port '{port}' on edge '{}'; only one edge per non-branching port fires.",
                                p.edges[first].id.unwrap_or("?")
                            ),
                        );
                    }
                }
                Some(b) => {
                    let value = e.props.and_then(|props| props.get(&b.property));
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
                    let schema =
                        cx.v.branch_schemas
                            .get(def.activity_name.as_str())
                            .and_then(|ports| ports.get(port_def.name.as_str()));
                    if let Some(schema) = schema {
                        if !schema.is_valid(value) {
                            let doc_value = crate::doc::to_serde(value);
                            let err = schema
                                .full()
                                .iter_errors(&doc_value)
                                .next()
                                .map(|e| e.to_string());
                            if let Some(err) = err {
                                cx.error(
                                    format!("{at}/properties/{}", flow::pointer::escape(&b.property)),
                                    "INVALID_BRANCH_VALUE",
                                    format!("Branch value {doc_value} of port '{port}' is invalid: {err}."),
                                );
                                continue;
                            }
                        }
                    }
                    let canon = canonical(value);
                    if let Some(&first) = on_branch.get(&(src, port, canon.clone())) {
                        cx.warning(
                            format!("{at}/properties/{}", flow::pointer::escape(&b.property)),
                            "DUPLICATE_BRANCH_VALUE",
                            format!(
                                "Node '{from}' already branches on {} (edge '{}'); this edge never fires.",
                                to_text(value),
                                p.edges[first].id.unwrap_or("?")
                            ),
                        );
                    } else {
                        on_branch.insert((src, port, canon), i);
                    }
                }
            }
        }
    }
}

fn canonical(v: J<'_>) -> Cow<'_, str> {
    match v.as_str() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(to_text(v)),
    }
}
