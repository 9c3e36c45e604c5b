//! Errors of catalog loading.
//!
//! Loading a catalog never stops at the first problem: every problem of every file is
//! collected into one [`CatalogError`], each with the file it is in and a JSON Pointer into
//! that file, so an operator fixing a `--catalog` directory sees the whole list at once.

use std::fmt;

/// A catalog that could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The sources have problems; all of them are listed, in file order.
    #[error("invalid catalog ({} problem{}):\n{}", .problems.len(), plural(.problems.len()), ProblemList(.problems))]
    Invalid { problems: Vec<Problem> },
}

impl CatalogError {
    /// Every problem found, in file order.
    pub fn problems(&self) -> &[Problem] {
        match self {
            CatalogError::Invalid { problems } => problems,
        }
    }
}

/// One problem in one catalog file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file name as given to [`crate::Catalog::from_sources`].
    pub file: String,
    /// JSON Pointer into the file (`/activities/3/inputSchema`); empty for the whole file.
    pub pointer: String,
    pub kind: ProblemKind,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.pointer, self.message)
        }
    }
}

/// What kind of problem a [`Problem`] is; stable, for tests and tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The file is not JSON.
    BadJson,
    /// The JSON does not have the catalog's shape: a missing or unknown field, a wrong type,
    /// an unknown group, binding or choices kind.
    BadShape,
    /// An activity name is not kebab-case.
    BadName,
    DuplicateActivity,
    DuplicateEvent,
    /// A contact type outside [`crate::CONTACT_TYPES`].
    UnknownContactType,
    /// An output type outside [`crate::OUTPUT_TYPES`].
    UnknownOutputType,
    /// An input schema or branching schema is not a valid JSON Schema (draft 2020-12), or
    /// does not describe an object of properties.
    InvalidSchema,
    /// `inputs` and `inputSchema` disagree (names, order, required, allowed values).
    InputsMismatch,
    /// Two ports, inputs or outputs of one activity (or outputs of one event) share a name.
    DuplicateName,
    /// A start, action or event activity without the `default` port, or an end activity with
    /// ports.
    BadPorts,
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {p}")?;
        }
        Ok(())
    }
}
