//! The activities: one module per catalog activity, each with its compile step (node
//! properties into a typed config, expressions compiled), its run step and, for activities
//! that wait, its resume step; and each with its own tests.
//!
//! Architecture invariant: [`IMPLEMENTED`] and the catalog name the same activities (a test
//! checks both directions). Adding an activity means a catalog entry, a module here and a
//! line in the `activities!` list.

use crate::compile::CompileCx;
use crate::event::Event;
use crate::run::{Cx, Outcome};
use crate::state::WaitOn;

pub(crate) mod common;
#[cfg(test)]
pub(crate) mod testkit;

macro_rules! activities {
    ($($variant:ident => $module:ident, $name:literal;)*) => {
        $(pub(crate) mod $module;)*

        /// A node's activity with its compiled configuration.
        pub(crate) enum Activity {
            $($variant(Box<$module::Config>),)*
        }

        /// Every activity the engine implements, by catalog `activityName`.
        pub const IMPLEMENTED: &[&str] = &[$($name),*];

        impl Activity {
            /// Compiles a node of activity `name`; `None` when the engine has no such activity.
            pub(crate) fn compile(name: &str, cx: &mut CompileCx<'_>) -> Option<Result<Activity, String>> {
                match name {
                    $($name => Some($module::compile(cx).map(|c| Activity::$variant(Box::new(c)))),)*
                    _ => None,
                }
            }

            /// Runs the activity.
            pub(crate) fn run(&self, cx: &mut Cx<'_>) -> Outcome {
                match self {
                    $(Activity::$variant(c) => $module::run(c, cx),)*
                }
            }

            /// Continues a waiting activity with the event that ends (or may end) its wait.
            pub(crate) fn resume(&self, cx: &mut Cx<'_>, wait: &WaitOn, event: &Event) -> Outcome {
                match self {
                    $(Activity::$variant(c) => $module::resume(c, cx, wait, event),)*
                }
            }
        }
    };
}

activities! {
    Start => start, "start";
    Event => event, "event";
    SetVariable => set_variable, "set-variable";
    Condition => condition, "condition";
    Case => case, "case";
    Parse => parse, "parse";
    Wait => wait, "wait";
    PercentAllocation => percent_allocation, "percent-allocation";
    BusinessHours => business_hours, "business-hours";
    GoTo => go_to, "go-to";
    EndFlow => end_flow, "end-flow";
    HttpRequest => http_request, "http-request";
    Function => function, "function";
    Subflow => subflow, "subflow";
    BreRequest => bre_request, "bre-request";
    QueueContact => queue_contact, "queue-contact";
    QueueToAgent => queue_to_agent, "queue-to-agent";
    GetQueueInfo => get_queue_info, "get-queue-info";
    AdvancedQueueInfo => advanced_queue_info, "advanced-queue-info";
    SetContactPriority => set_contact_priority, "set-contact-priority";
    EscalateCdg => escalate_cdg, "escalate-cdg";
    ScreenPop => screen_pop, "screen-pop";
    PlayMessage => play_message, "play-message";
    PlayMusic => play_music, "play-music";
    Menu => menu, "menu";
    CollectDigits => collect_digits, "collect-digits";
    BlindTransfer => blind_transfer, "blind-transfer";
    DisconnectContact => disconnect_contact, "disconnect-contact";
}

/// `resume` of activities that never wait.
pub(crate) fn no_resume<C>(_: &C, _: &mut Cx<'_>, _: &WaitOn, event: &Event) -> Outcome {
    Outcome::Ignore(format!("{}: this activity does not wait", event.label()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn catalog_and_engine_name_the_same_activities() {
        let catalog: BTreeSet<&str> = catalog::Catalog::builtin()
            .activities()
            .iter()
            .map(|a| a.activity_name.as_str())
            .collect();
        let engine: BTreeSet<&str> = super::IMPLEMENTED.iter().copied().collect();
        let missing: Vec<_> = catalog.difference(&engine).collect();
        let extra: Vec<_> = engine.difference(&catalog).collect();
        assert!(
            missing.is_empty(),
            "in the catalog but not implemented: {missing:?}"
        );
        assert!(
            extra.is_empty(),
            "implemented but not in the catalog: {extra:?}"
        );
        assert_eq!(
            super::IMPLEMENTED.len(),
            engine.len(),
            "an activity is listed twice"
        );
    }

    #[test]
    fn every_port_an_activity_returns_is_in_the_catalog() {
        // The ports each module's run/resume can return, checked against the catalog.
        let returned: &[(&str, &[&str])] = &[
            ("start", &["out"]),
            ("event", &["out"]),
            ("set-variable", &["out"]),
            ("condition", &["true", "false"]),
            ("case", &["case"]),
            ("parse", &["out", "error"]),
            ("wait", &["out"]),
            ("percent-allocation", &["allocation"]),
            (
                "business-hours",
                &["working", "holiday", "override", "closed"],
            ),
            ("http-request", &["out", "error"]),
            ("function", &["out", "error"]),
            ("subflow", &["out", "error"]),
            ("bre-request", &["out", "error"]),
            ("queue-contact", &["out", "error"]),
            ("queue-to-agent", &["out", "error"]),
            ("get-queue-info", &["out", "error"]),
            ("advanced-queue-info", &["out", "error"]),
            ("set-contact-priority", &["out"]),
            ("escalate-cdg", &["out", "error"]),
            ("screen-pop", &["out"]),
            ("play-message", &["out"]),
            ("play-music", &["out"]),
            ("menu", &["digit", "onTimeout", "onInvalid"]),
            ("collect-digits", &["out", "onTimeout", "onInvalid"]),
        ];
        let catalog = catalog::Catalog::builtin();
        for (activity, ports) in returned {
            let def = catalog
                .activity(activity)
                .unwrap_or_else(|| panic!("{activity} not in the catalog"));
            for p in *ports {
                assert!(
                    def.port(p).is_some(),
                    "{activity} returns port {p}, which the catalog does not list"
                );
            }
            let errors: Vec<&str> = def.error_ports().map(|p| p.name.as_str()).collect();
            assert!(
                errors.iter().all(|e| ports.contains(e)),
                "{activity}: error ports {errors:?}"
            );
        }
    }
}
