//! switchboard-functions: sandboxed runtimes for custom functions.
//!
//! A custom function is a small piece of user code with one entry point,
//! `handle(request, response)`: it reads `request.inputs` and writes `response.data`. This
//! crate runs such functions and nothing else; storing, versioning and publishing them is the
//! API's business, and calling them from flows the engine's.
//!
//! - **JavaScript** runs in embedded QuickJS ([`JsEngine`], module [`js`]): ES modules,
//!   promises and `async`/`await`, `console.*` captured, with a deadline enforced by the
//!   interpreter's interrupt handler, a memory cap, no host access at all, and no state shared
//!   between calls. Compiled bytecode is cached per [`FunctionSource::key`].
//! - **Python** runs in warm CPython worker processes ([`PythonWorker`], module [`py`]):
//!   `def handle(request, response)` or `async def`, `print` captured, with a deadline (the
//!   worker is killed), an address-space cap, a scrubbed environment and a private working
//!   directory. Python cannot be sandboxed from the inside; [`py`] says exactly what is and is
//!   not isolated.
//!
//! [`FunctionHost`] is the entry point for servers: cheap to clone, `Send + Sync`, with a pool
//! of JavaScript threads and a pool of Python workers behind one async `invoke`.
//!
//! # The handler contract (both languages)
//!
//! - JavaScript: an ES module exporting `handle` (`export const handle = async (request,
//!   response) => {...}`, `export function handle`, `export default function`, or a default
//!   object with a `handle` method), sync or async. Python: `def handle(request, response)` or
//!   `async def handle(...)`.
//! - `request.inputs` is the call's input object; in Python it is a `dict` whose keys also
//!   read as attributes (`request.inputs.contact.phone`), like the JavaScript object.
//! - `response.data` starts as `{}`. The result is `response.data` when the handler returns
//!   nothing or the response itself; the `data` of any other object it returns that has one;
//!   otherwise the returned value itself. It must be JSON-serialisable (in JavaScript, as
//!   `JSON.stringify` sees it: `undefined` becomes `null`).
//! - Output (`console.*`, `print`) is captured into [`Outcome::logs`] and the error's logs,
//!   never written to the server's stdout; at most 1 MiB per call is kept.
//! - Failures are [`FunctionError`]s: `Compile` (syntax, no `handle`, an `import` in
//!   JavaScript), `Thrown` (message `"Name: message"` and the user's stack frames), `Timeout`,
//!   `MemoryLimit`, and the host's own `RuntimeUnavailable` and `Internal`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), switchboard_functions::FunctionError> {
//! use std::time::Duration;
//! use switchboard_functions::{FunctionHost, FunctionSource, HostConfig, Language};
//!
//! let host = FunctionHost::new(HostConfig::default());
//! let f = FunctionSource {
//!     key: "parseContact@1".into(),
//!     language: Language::Js,
//!     source: "export const handle = async (req, res) => { res.data = { n: req.inputs.n + 1 }; return res; };".into(),
//!     timeout: Duration::from_secs(3),
//! };
//! let out = host.invoke(&f, serde_json::json!({"n": 41})).await?;
//! assert_eq!(out.result, serde_json::json!({"n": 42}));
//! # Ok(()) }
//! ```

mod error;
pub mod js;
mod logs;
pub mod py;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use error::FunctionError;
pub use js::{BytecodeCache, JsEngine};
pub use py::{resolve_python, Python, PythonWorker};

/// The language a function is written in. Serialised as `"js"` or `"py"`, as in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Js,
    Py,
}

impl Language {
    /// The wire name: `"js"` or `"py"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Js => "js",
            Language::Py => "py",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "js" => Ok(Language::Js),
            "py" => Ok(Language::Py),
            other => Err(format!("unknown language '{other}': expected 'js' or 'py'")),
        }
    }
}

/// One version of a function, as the host runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSource {
    /// Identifies this version, e.g. `"{functionId}@{version}"`. Compiled code is cached per
    /// key (and recompiled if the same key comes with a different source).
    pub key: String,
    pub language: Language,
    pub source: String,
    /// The call's deadline, clamped to [`Limits::max_timeout`].
    pub timeout: Duration,
}

/// What a successful call produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `response.data` (see the crate docs for what a handler may return).
    pub result: serde_json::Value,
    /// Captured `console.*` / `print` output, one entry per line, joined by `'\n'`.
    /// `console.warn` and `console.error` entries start with `WARN: ` and `ERROR: `.
    pub logs: String,
    /// Wall time of the call, compilation included.
    pub duration: Duration,
}

/// Resource limits applied to every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Memory a call may allocate: QuickJS heap on top of the realm's own (JavaScript), or
    /// address space on top of the idle interpreter's (Python). Default 64 MiB.
    pub memory_bytes: usize,
    /// Upper bound for [`FunctionSource::timeout`]. Default 60 s.
    pub max_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            max_timeout: Duration::from_secs(60),
        }
    }
}

/// How a [`FunctionHost`] is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// JavaScript threads. Default: the number of CPUs.
    pub js_pool_size: usize,
    /// Warm Python worker processes. Default: the number of CPUs.
    pub py_pool_size: usize,
    pub limits: Limits,
    /// The Python interpreter; `None` means `python3` on the `PATH`.
    pub python: Option<PathBuf>,
}

impl Default for HostConfig {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        HostConfig {
            js_pool_size: cpus,
            py_pool_size: cpus,
            limits: Limits::default(),
            python: None,
        }
    }
}

/// Runs functions of either language. Clone it freely: clones share the pools.
#[derive(Clone)]
pub struct FunctionHost {
    inner: Arc<HostInner>,
}

struct HostInner {
    js: Result<js::pool::JsPool, FunctionError>,
    py: py::PyPool,
}

impl FunctionHost {
    /// Starts the JavaScript threads. Python workers start on the first Python call, or on
    /// [`warm_up`](Self::warm_up). Does not need a Tokio runtime.
    pub fn new(config: HostConfig) -> Self {
        let js = js::pool::JsPool::new(config.js_pool_size, config.limits.clone());
        if let Err(e) = &js {
            tracing::error!(error = %e, "JavaScript functions are unavailable");
        }
        let py = py::PyPool::new(
            config.py_pool_size,
            config.limits.clone(),
            config.python.clone(),
        );
        FunctionHost {
            inner: Arc::new(HostInner { js, py }),
        }
    }

    /// Runs `f` with `inputs` (the JSON object that becomes `request.inputs`).
    pub async fn invoke(
        &self,
        f: &FunctionSource,
        inputs: serde_json::Value,
    ) -> Result<Outcome, FunctionError> {
        match f.language {
            Language::Js => match &self.inner.js {
                Ok(pool) => pool.invoke(f, inputs).await,
                Err(e) => Err(FunctionError::RuntimeUnavailable {
                    message: e.to_string(),
                }),
            },
            Language::Py => self.inner.py.invoke(f, &inputs).await,
        }
    }

    /// Starts the Python workers now (so the first Python call is warm) and fails with
    /// [`FunctionError::RuntimeUnavailable`] when there is no usable Python.
    pub async fn warm_up(&self) -> Result<(), FunctionError> {
        self.inner.py.warm_up().await
    }

    /// The `selectedRuntime` values accepted for `language`, the default first.
    pub fn supported_runtimes(language: Language) -> &'static [&'static str] {
        match language {
            Language::Js => &["nodejs22.x", "nodejs20.x", "nodejs18.x"],
            Language::Py => &["python3.13", "python3.12", "python3.11"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_wire_names() {
        assert_eq!(
            serde_json::to_string(&Language::Js).ok().as_deref(),
            Some("\"js\"")
        );
        assert_eq!(
            serde_json::from_str::<Language>("\"py\"").ok(),
            Some(Language::Py)
        );
        assert!(serde_json::from_str::<Language>("\"JS\"").is_err());
        assert_eq!("js".parse::<Language>(), Ok(Language::Js));
    }

    #[test]
    fn default_runtime_comes_first() {
        assert_eq!(
            FunctionHost::supported_runtimes(Language::Js)[0],
            "nodejs22.x"
        );
        assert_eq!(
            FunctionHost::supported_runtimes(Language::Py)[0],
            "python3.13"
        );
    }

    #[test]
    fn host_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<FunctionHost>();
    }
}
