//! The one error type of this crate, [`FunctionError`]: what went wrong in a call, split into
//! the user's faults (compile, thrown, timeout, memory) and the host's (unavailable, internal),
//! each with a stable [`kind`](FunctionError::kind) that the API and the flow engine key off.

use std::time::Duration;

/// Why a function call produced no result.
///
/// `Compile`, `Thrown`, `Timeout` and `MemoryLimit` are the function author's problem (the API
/// answers 4xx, a flow takes the error port). `RuntimeUnavailable` and `Internal` are the
/// host's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunctionError {
    /// The source does not compile, or does not export a `handle` function, or imports a
    /// module (there are none to import).
    #[error("compile error: {message}")]
    Compile { message: String },
    /// The user's code threw, its promise rejected, or Python raised.
    #[error("{message}")]
    Thrown {
        /// `"<ErrorName>: <message>"`, e.g. `"TypeError: x is undefined"`.
        message: String,
        /// The user's frames only, innermost last for Python and first for JavaScript, as each
        /// language prints them.
        stack: String,
        /// What the function logged before it failed.
        logs: String,
    },
    /// The call ran past its timeout and was stopped.
    #[error("function timed out after {} ms", after.as_millis())]
    Timeout { after: Duration, logs: String },
    /// The call tried to use more memory than [`Limits::memory_bytes`](crate::Limits).
    #[error("function exceeded its memory limit")]
    MemoryLimit { logs: String },
    /// The language runtime cannot run here (for instance python3 is not installed).
    #[error("runtime unavailable: {message}")]
    RuntimeUnavailable { message: String },
    /// A fault of the host, not of the function.
    #[error("internal error: {0}")]
    Internal(String),
}

impl FunctionError {
    /// A stable, machine-readable name for the variant: `"compile"`, `"thrown"`, `"timeout"`,
    /// `"memory"`, `"unavailable"` or `"internal"`.
    pub fn kind(&self) -> &'static str {
        match self {
            FunctionError::Compile { .. } => "compile",
            FunctionError::Thrown { .. } => "thrown",
            FunctionError::Timeout { .. } => "timeout",
            FunctionError::MemoryLimit { .. } => "memory",
            FunctionError::RuntimeUnavailable { .. } => "unavailable",
            FunctionError::Internal(_) => "internal",
        }
    }

    /// True when the fault lies with the function's code or its limits rather than the host.
    pub fn is_user_error(&self) -> bool {
        !matches!(
            self,
            FunctionError::RuntimeUnavailable { .. } | FunctionError::Internal(_)
        )
    }

    /// The logs captured before the failure, when the variant carries any.
    pub fn logs(&self) -> &str {
        match self {
            FunctionError::Thrown { logs, .. }
            | FunctionError::Timeout { logs, .. }
            | FunctionError::MemoryLimit { logs } => logs,
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stable() {
        let all = [
            FunctionError::Compile {
                message: String::new(),
            },
            FunctionError::Thrown {
                message: String::new(),
                stack: String::new(),
                logs: String::new(),
            },
            FunctionError::Timeout {
                after: Duration::from_millis(5),
                logs: String::new(),
            },
            FunctionError::MemoryLimit {
                logs: String::new(),
            },
            FunctionError::RuntimeUnavailable {
                message: String::new(),
            },
            FunctionError::Internal(String::new()),
        ];
        let kinds: Vec<_> = all.iter().map(FunctionError::kind).collect();
        assert_eq!(
            kinds,
            [
                "compile",
                "thrown",
                "timeout",
                "memory",
                "unavailable",
                "internal"
            ]
        );
        assert_eq!(all[2].to_string(), "function timed out after 5 ms");
    }
}
