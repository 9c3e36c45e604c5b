//! The builtin catalog files, compiled into the binary.
//!
//! The data lives in `catalog/*.json` at the workspace root so that it reads as data (and a
//! deployment can copy and edit it); this module only embeds it, in load order.

/// `(file name, contents)` of each builtin catalog file, in load order.
pub(crate) const SOURCES: &[(&str, &str)] = &[
    (
        "flow-control.json",
        include_str!("../../../catalog/flow-control.json"),
    ),
    (
        "integration.json",
        include_str!("../../../catalog/integration.json"),
    ),
    (
        "telephony.json",
        include_str!("../../../catalog/telephony.json"),
    ),
    (
        "routing.json",
        include_str!("../../../catalog/routing.json"),
    ),
    ("events.json", include_str!("../../../catalog/events.json")),
];
