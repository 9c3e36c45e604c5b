//! Entry nodes: exactly one start node in the main process (strict mode; a warning when
//! lenient, as `:validate` may pass a document that `:import` rejects), no start node in the
//! event process, event nodes only in the event process.

use flow::{ActivityType, ProcessKind};

use super::{node_ptr, Ctx};

pub(super) fn check(cx: &mut Ctx<'_>) {
    let view = cx.view;
    let main = &view.procs[0];
    let starts: Vec<usize> = main
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.activity_type == Some(ActivityType::Start))
        .map(|(i, _)| i)
        .collect();
    let strict = cx.strict();
    match starts.len() {
        0 => {
            let msg = "The main flow must contain exactly one start node (activityType: \"start\"); it has none.".to_string();
            let d = if strict {
                crate::Diagnostic::error("/nodes", "MISSING_START_NODE", msg)
            } else {
                crate::Diagnostic::warning("/nodes", "MISSING_START_NODE", msg)
            };
            cx.push(d.with_hint("Add a node with activityType \"start\" and properties.activityName \"start\"; :import rejects the flow without it."));
        }
        1 => {}
        _ => {
            for &i in &starts[1..] {
                let msg = format!(
                    "The main flow must contain exactly one start node; node '{}' is start node number {} of {}.",
                    main.nodes[i].name.unwrap_or("?"),
                    starts.iter().position(|&s| s == i).unwrap_or(0) + 1,
                    starts.len()
                );
                let path = format!("{}/activityType", node_ptr(ProcessKind::Main, i));
                if strict {
                    cx.error(path, "MULTIPLE_START_NODES", msg);
                } else {
                    cx.warning(path, "MULTIPLE_START_NODES", msg);
                }
            }
        }
    }
    for (i, n) in main.nodes.iter().enumerate() {
        if n.activity_type == Some(ActivityType::Event) {
            cx.error(
                format!("{}/activityType", node_ptr(ProcessKind::Main, i)),
                "EVENT_NODE_IN_MAIN_FLOW",
                format!(
                    "Node '{}' is an event node; event nodes belong in eventFlows.nodes.",
                    n.name.unwrap_or("?")
                ),
            );
        }
    }
    for (i, n) in view.procs[1].nodes.iter().enumerate() {
        if n.activity_type == Some(ActivityType::Start) {
            cx.error(
                format!("{}/activityType", node_ptr(ProcessKind::Event, i)),
                "START_NODE_IN_EVENT_FLOW",
                format!(
                    "Node '{}' is a start node; the event flow begins with event nodes (activityType: \"event\").",
                    n.name.unwrap_or("?")
                ),
            );
        }
    }
}
