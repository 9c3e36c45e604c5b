//! Event bindings: a start node's `properties.flowType.eventSpecificationName` names a start
//! event, an event node's `properties.eventSpecificationName` names a bindable event.

use catalog::EventBinding;
use flow::ActivityType;

use super::Ctx;

pub(super) fn check(cx: &mut Ctx<'_>) {
    for (n, at) in cx.all_nodes() {
        let (path, want, value) = match n.activity_type {
            Some(ActivityType::Start) => (
                format!("{at}/properties/flowType/eventSpecificationName"),
                EventBinding::Start,
                n.input("flowType")
                    .and_then(|f| f.get("eventSpecificationName")),
            ),
            Some(ActivityType::Event) => (
                format!("{at}/properties/eventSpecificationName"),
                EventBinding::Event,
                n.input("eventSpecificationName"),
            ),
            _ => continue,
        };
        // Wrong types are the input schema's to report. A subflow's start node has no
        // trigger binding; a FLOW's must have one, or nothing can ever start it.
        let Some(name) = value.and_then(crate::doc::J::as_str) else {
            if want == EventBinding::Start
                && value.is_none()
                && cx.view.flow_type == flow::FlowType::Flow
            {
                cx.push(
                    crate::Diagnostic::error(
                        &format!("{at}/properties/flowType"),
                        "MISSING_EVENT_BINDING",
                        "The start node of a FLOW must bind a start event in properties.flowType (eventSourceName, eventClassificationName, eventSpecificationName).",
                    )
                    .with_hint("for inbound telephony: {\"eventSourceName\": \"WebexContactCenter\", \"eventClassificationName\": \"VoiceInteractions\", \"eventSpecificationName\": \"ContactStartWorkflow\"}"),
                );
            }
            continue;
        };
        match cx.v.catalog.event(name) {
            Some(spec) if spec.binding == want => {}
            Some(_) => cx.error(
                path,
                "UNKNOWN_EVENT",
                match want {
                    EventBinding::Start => format!("Event '{name}' cannot start a flow; a start node binds a start event such as ContactStartWorkflow."),
                    EventBinding::Event => format!("Event '{name}' starts flows and cannot be bound by an event-flow node."),
                },
            ),
            None => {
                let known: Vec<&str> = cx
                    .v
                    .catalog
                    .events()
                    .iter()
                    .filter(|e| e.binding == want)
                    .map(|e| e.name.as_str())
                    .collect();
                cx.push(
                    crate::Diagnostic::error(
                        &path,
                        "UNKNOWN_EVENT",
                        format!("Event '{name}' is not in this project's event specifications."),
                    )
                    .with_hint(format!("known events: {}", known.join(", "))),
                );
            }
        }
    }
}
