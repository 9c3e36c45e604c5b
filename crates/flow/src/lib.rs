//! The flow document model of switchboard.
//!
//! A flow is a JSON graph (see the Flow Orchestration guide): top-level fields, main-process
//! `nodes`/`edges`, `variables`, one `eventFlows` process and `preferences`. This crate owns
//! the typed model, parsing that reports *every* shape problem with a JSON Pointer, port alias
//! normalization and the PATCH merge contract. It is pure: no I/O, no clocks.
//!
//! Architecture invariant: unknown fields are preserved at every level, and an explicit `null`
//! stays `null`, so `parse -> serialize` yields JSON equal to what was sent.

mod field;
pub mod locate;
mod model;
mod parse;
pub mod patch;
pub mod pointer;
mod record;
pub use record::KeyOrder;

pub use field::Field;
pub use model::*;
pub use parse::{parse, parse_bytes, parse_slice, ParseError, Parsed, ShapeError};
pub use patch::{apply_patch, FlowPatch};

/// Port aliases normalized before port checks: `done -> out`, `defaultBranch -> default`.
pub fn normalize_port(condition: &str) -> &str {
    match condition {
        "done" => "out",
        "defaultBranch" => "default",
        other => other,
    }
}

/// The port every non-end activity exposes: followed when no edge matches the outcome port.
pub const DEFAULT_PORT: &str = "default";
