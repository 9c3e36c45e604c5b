//! Graph warnings: nodes no entry reaches, non-end nodes with no way out, and output ports
//! with no edge when there is no `default` edge to catch them.

use flow::ActivityType;

use super::{node_ptr, process_label, Ctx};

pub(super) fn check(cx: &mut Ctx<'_>) {
    let view = cx.view;
    for (pi, p) in view.procs.iter().enumerate() {
        let g = &cx.graphs[pi];
        let has_entry = p.nodes.iter().any(|n| {
            matches!(
                n.activity_type,
                Some(ActivityType::Start | ActivityType::Event)
            )
        });
        let reachable = g.reachable(p);
        let mut found = Vec::new();
        for (i, n) in p.nodes.iter().enumerate() {
            let at = node_ptr(p.kind, i);
            let name = n.name.unwrap_or("?");
            if has_entry && !reachable[i] {
                found.push((
                    at,
                    "UNREACHABLE_NODE",
                    format!(
                        "Node '{name}' cannot be reached from the {}'s entry node.",
                        process_label(p.kind)
                    ),
                ));
            }
            let Some(def) = n.def else { continue };
            if def.output_ports.is_empty() || n.activity_type == Some(ActivityType::End) {
                continue;
            }
            let edges = g.outgoing(i);
            let out = edges.iter().filter_map(|&e| p.edges[e as usize].port());
            if out.clone().next().is_none() {
                found.push((
                    at,
                    "NO_EXIT",
                    format!("Node '{name}' ({}) has no outgoing edge; the task stops here without an end activity.", def.activity_name),
                ));
                continue;
            }
            if out.clone().any(|port| port == flow::DEFAULT_PORT) {
                continue;
            }
            for port in &def.output_ports {
                if port.name != flow::DEFAULT_PORT && !out.clone().any(|o| o == port.name) {
                    let why = if port.error {
                        "errors there go to the global error handler"
                    } else {
                        "the task stops if the activity takes it"
                    };
                    found.push((
                        at,
                        "UNCONNECTED_PORT",
                        format!(
                            "Output port '{}' of node '{name}' has no edge; {why}.",
                            port.name
                        ),
                    ));
                }
            }
        }
        for (path, code, msg) in found {
            cx.warning(path, code, msg);
        }
    }
}
