//! [`FunctionRunner`]: performs `InvokeFunction`. [`StoreFunctionRunner`] resolves a
//! published custom function in the store (by id, else by its unique name; the version
//! its tag points at, `Live` by default) and runs it on the [`functions::FunctionHost`].
//!
//! Everything the function's author can cause is an error *outcome* the engine routes to
//! the node's `error` port: no such function or no version with the tag
//! (FUNCTION_NOT_FOUND), a compile error or a throw (FUNCTION_ERROR), the timeout
//! (TIMEOUT), the memory cap (MEMORY_LIMIT), and a language runtime missing on this machine
//! (FUNCTION_ERROR, with the host's message). Only the store failing or the host's own
//! internal faults are [`RuntimeError`]s.

use std::time::Duration;

use engine::{FunctionCall, FunctionErrorKind, FunctionOutcome};
use functions::{FunctionError, FunctionHost, FunctionSource, Language};
use store::Store;

use crate::{BoxFuture, RuntimeError};

/// The tag a call uses when it names none.
pub const DEFAULT_TAG: &str = "Live";

/// Runs custom functions for flows.
pub trait FunctionRunner: Send + Sync {
    /// Resolves and runs the function `call` names with `call.inputs` as `request.inputs`.
    fn invoke<'a>(
        &'a self,
        call: &'a FunctionCall,
    ) -> BoxFuture<'a, Result<FunctionOutcome, RuntimeError>>;
}

/// What a function reference designates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The version to run.
    Found(FunctionSource),
    /// Why there is nothing to run (the message of a FUNCTION_NOT_FOUND outcome).
    Missing(String),
}

/// Functions from the store of one organization, run on a [`FunctionHost`].
#[derive(Clone)]
pub struct StoreFunctionRunner {
    pub store: Store,
    pub host: FunctionHost,
    pub org: String,
}

impl StoreFunctionRunner {
    pub fn new(store: Store, host: FunctionHost, org: impl Into<String>) -> StoreFunctionRunner {
        StoreFunctionRunner {
            store,
            host,
            org: org.into(),
        }
    }

    /// Finds the function (by `id`, else by `name`) and the version `tag` points at.
    pub async fn resolve(
        &self,
        id: Option<&str>,
        name: Option<&str>,
        tag: &str,
    ) -> Result<Resolution, RuntimeError> {
        let tag = if tag.trim().is_empty() {
            DEFAULT_TAG
        } else {
            tag
        };
        let mut function = None;
        if let Some(id) = id.filter(|s| !s.is_empty()) {
            function = self.store.get_function(&self.org, id).await?;
        }
        if function.is_none() {
            if let Some(name) = name.filter(|s| !s.is_empty()) {
                function = self.store.find_function_by_name(&self.org, name).await?;
            }
        }
        let who = describe(id, name);
        let Some(function) = function else {
            return Ok(Resolution::Missing(format!(
                "no function {who} in this organization"
            )));
        };
        let Some(&version) = function.tag_version_map.get(tag) else {
            let tags = if function.tag_version_map.is_empty() {
                "it has never been published".to_owned()
            } else {
                let list: Vec<String> = function
                    .tag_version_map
                    .iter()
                    .map(|(t, v)| format!("{t} -> {v}"))
                    .collect();
                format!("its tags: {}", list.join(", "))
            };
            return Ok(Resolution::Missing(format!(
                "function '{}' has no version tagged '{tag}' ({tags})",
                function.name
            )));
        };
        let Some(v) = self
            .store
            .get_function_version(&self.org, &function.id, version)
            .await?
        else {
            return Ok(Resolution::Missing(format!(
                "function '{}' version {version} (tag '{tag}') does not exist",
                function.name
            )));
        };
        let language = match v.language.parse::<Language>() {
            Ok(l) => l,
            Err(e) => {
                return Ok(Resolution::Missing(format!(
                    "function '{}' version {version}: {e}",
                    function.name
                )))
            }
        };
        Ok(Resolution::Found(FunctionSource {
            key: format!("{}@{version}", function.id),
            language,
            source: v.source_code,
            timeout: Duration::from_secs(u64::try_from(v.timeout_in_sec).unwrap_or(0).max(1)),
        }))
    }
}

fn describe(id: Option<&str>, name: Option<&str>) -> String {
    match (name, id) {
        (Some(n), _) if !n.is_empty() => format!("named '{n}'"),
        (_, Some(i)) if !i.is_empty() => format!("with id '{i}'"),
        _ => "(no name or id given)".to_owned(),
    }
}

impl FunctionRunner for StoreFunctionRunner {
    fn invoke<'a>(
        &'a self,
        call: &'a FunctionCall,
    ) -> BoxFuture<'a, Result<FunctionOutcome, RuntimeError>> {
        Box::pin(async move {
            let resolved = self
                .resolve(
                    call.function_id.as_deref(),
                    call.function_name.as_deref(),
                    &call.tag,
                )
                .await?;
            let source = match resolved {
                Resolution::Found(s) => s,
                Resolution::Missing(message) => {
                    return Ok(FunctionOutcome::Err {
                        kind: FunctionErrorKind::NotFound,
                        message,
                    })
                }
            };
            let result = self.host.invoke(&source, call.inputs.clone()).await;
            match &result {
                Ok(o) if !o.logs.is_empty() => {
                    tracing::debug!(function = %source.key, logs = %o.logs, "function logs")
                }
                Err(e) if !e.logs().is_empty() => {
                    tracing::debug!(function = %source.key, logs = %e.logs(), "function logs")
                }
                _ => {}
            }
            outcome_of(result)
        })
    }
}

/// Maps a call's result to the engine's outcome: the author's failures become error
/// outcomes (the node's `error` port); only the host's internal faults are `Err`.
pub fn outcome_of(
    result: Result<functions::Outcome, FunctionError>,
) -> Result<FunctionOutcome, RuntimeError> {
    let (kind, message) = match result {
        Ok(o) => return Ok(FunctionOutcome::Ok { data: o.result }),
        Err(FunctionError::Internal(m)) => return Err(RuntimeError::FunctionHost(m)),
        Err(e @ FunctionError::Compile { .. }) => (FunctionErrorKind::Thrown, e.to_string()),
        Err(FunctionError::Thrown { message, .. }) => (FunctionErrorKind::Thrown, message),
        Err(e @ FunctionError::Timeout { .. }) => (FunctionErrorKind::Timeout, e.to_string()),
        Err(e @ FunctionError::MemoryLimit { .. }) => {
            (FunctionErrorKind::MemoryLimit, e.to_string())
        }
        // The flow can do something about python3 missing here (its error port); the run
        // as a whole is fine.
        Err(e @ FunctionError::RuntimeUnavailable { .. }) => {
            (FunctionErrorKind::Thrown, e.to_string())
        }
    };
    Ok(FunctionOutcome::Err { kind, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn author_failures_are_outcomes_host_faults_are_errors() {
        let kind = |r| match outcome_of(r) {
            Ok(FunctionOutcome::Err { kind, .. }) => Some(kind),
            _ => None,
        };
        assert_eq!(
            kind(Err(FunctionError::Thrown {
                message: "Error: boom".into(),
                stack: String::new(),
                logs: String::new()
            })),
            Some(FunctionErrorKind::Thrown)
        );
        assert_eq!(
            kind(Err(FunctionError::Compile {
                message: "x".into()
            })),
            Some(FunctionErrorKind::Thrown)
        );
        assert_eq!(
            kind(Err(FunctionError::Timeout {
                after: Duration::from_secs(1),
                logs: String::new()
            })),
            Some(FunctionErrorKind::Timeout)
        );
        assert_eq!(
            kind(Err(FunctionError::MemoryLimit {
                logs: String::new()
            })),
            Some(FunctionErrorKind::MemoryLimit)
        );
        assert!(outcome_of(Err(FunctionError::Internal("pool gone".into()))).is_err());
        assert_eq!(
            outcome_of(Ok(functions::Outcome {
                result: serde_json::json!({"a": 1}),
                logs: String::new(),
                duration: Duration::ZERO
            }))
            .ok(),
            Some(FunctionOutcome::Ok {
                data: serde_json::json!({"a": 1})
            })
        );
    }
}
