//! [`ValidFlow`]: a flow that passed strict validation. Its constructor is private to this
//! crate, so the engine can rely on the graph rules having held.

use flow::Flow;

use crate::Report;

#[derive(Clone, Debug)]
pub struct ValidFlow {
    flow: Flow,
    warnings: Report,
}

impl ValidFlow {
    pub(crate) fn new(flow: Flow, warnings: Report) -> Self {
        ValidFlow { flow, warnings }
    }
    pub fn flow(&self) -> &Flow {
        &self.flow
    }
    pub fn into_flow(self) -> Flow {
        self.flow
    }
    /// Warnings found while validating (never errors).
    pub fn report(&self) -> &Report {
        &self.warnings
    }
}
