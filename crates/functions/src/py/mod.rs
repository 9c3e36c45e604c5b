//! Python functions in CPython worker processes.
//!
//! A pool keeps a few warm [`PythonWorker`]s; a call borrows one, and a worker that timed out,
//! crashed, hit its memory limit or left state behind is killed and replaced in the
//! background.
//!
//! # Isolation (what Python can and cannot do)
//!
//! CPython cannot be sandboxed from the inside, so Python functions are for trusted authors
//! (a self-hosted tenant, not strangers sharing a server). What the host does guarantee:
//!
//! - the environment is scrubbed (only `PATH`, `LANG`, `LC_ALL`, `HOME`, `TMPDIR`), so no
//!   server secret is visible through `os.environ`;
//! - the working directory (and `HOME`, `TMPDIR`) is a private temporary directory, emptied
//!   after every call and removed with the worker;
//! - no descriptor of the server is inherited: the runner closes everything above 2 and moves
//!   its protocol pipes off stdin and stdout, where user code finds `/dev/null`;
//! - the interpreter runs isolated (`-I -S`): no user site-packages, no `PYTHON*` variables,
//!   no site-packages at all (the standard library only, which also keeps start-up short);
//! - memory: `RLIMIT_AS` caps the address space (a `MemoryError` ends the call, and the
//!   worker is replaced); files are capped at 64 MiB (`RLIMIT_FSIZE`);
//! - time: at the deadline the worker's whole process group is killed and replaced;
//! - between calls: module globals are fresh on every call; a call that leaves a thread
//!   running, changes a builtin, `os.environ` or `sys.path` gets its worker replaced.
//!
//! What is *not* isolated: a function can read any file the server's user can read, open
//! network connections, start processes (they die with the worker at a timeout), write to the
//! worker's protocol pipe (forging, at worst, its own call's answer), and monkeypatch
//! standard-library modules in a way a later call on the same worker could notice. Run the
//! server under an OS sandbox (a container, a dedicated user) when that matters.
//!
//! Calls reuse warm workers (about 50 µs a call) rather than forking a fresh interpreter per
//! call: a fork-per-call design measured about 1 ms per call on this class of machine, and
//! would still not stop the escapes above.

mod worker;

pub use worker::{resolve_python, Python, PythonWorker};

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OnceCell, Semaphore};

use crate::{FunctionError, FunctionSource, Limits, Outcome};

pub(crate) struct PyPool {
    inner: Arc<Inner>,
}

struct Inner {
    size: usize,
    limits: Limits,
    configured: Option<PathBuf>,
    python: OnceCell<Python>,
    idle: Mutex<Vec<PythonWorker>>,
    /// Workers alive or being started, idle or busy.
    live: AtomicUsize,
    permits: Semaphore,
}

impl PyPool {
    pub(crate) fn new(size: usize, limits: Limits, configured: Option<PathBuf>) -> Self {
        let size = size.max(1);
        PyPool {
            inner: Arc::new(Inner {
                size,
                limits,
                configured,
                python: OnceCell::new(),
                idle: Mutex::new(Vec::new()),
                live: AtomicUsize::new(0),
                permits: Semaphore::new(size),
            }),
        }
    }

    pub(crate) async fn invoke(
        &self,
        f: &FunctionSource,
        inputs: &serde_json::Value,
    ) -> Result<Outcome, FunctionError> {
        let python = self.inner.python().await?;
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| FunctionError::Internal("the Python pool is closed".into()))?;
        let mut worker = match self.inner.take_idle() {
            Some(w) => w,
            None => {
                self.inner.live.fetch_add(1, Ordering::SeqCst);
                match PythonWorker::spawn(&python, &self.inner.limits) {
                    Ok(w) => w,
                    Err(e) => {
                        self.inner.live.fetch_sub(1, Ordering::SeqCst);
                        return Err(e);
                    }
                }
            }
        };
        let timeout = f.timeout.min(self.inner.limits.max_timeout);
        let mut guard = LiveGuard {
            inner: self.inner.clone(),
            armed: true,
        };
        let result = worker.invoke(f, inputs, timeout).await;
        guard.armed = false;
        if worker.is_usable() {
            self.inner.put_idle(worker);
        } else {
            self.inner.live.fetch_sub(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut worker = worker;
                worker.kill().await;
            });
        }
        self.inner.top_up(&python);
        result
    }

    /// Starts workers until the pool is full, and waits for them to be started.
    pub(crate) async fn warm_up(&self) -> Result<(), FunctionError> {
        let python = self.inner.python().await?;
        while self.inner.live.load(Ordering::SeqCst) < self.inner.size {
            self.inner.live.fetch_add(1, Ordering::SeqCst);
            match PythonWorker::spawn(&python, &self.inner.limits) {
                Ok(w) => self.inner.put_idle(w),
                Err(e) => {
                    self.inner.live.fetch_sub(1, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

/// Counts a worker out of the pool if the call holding it is cancelled (its future dropped),
/// which also drops, and so kills, the worker.
struct LiveGuard {
    inner: Arc<Inner>,
    armed: bool,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        if self.armed {
            self.inner.live.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Inner {
    async fn python(&self) -> Result<Python, FunctionError> {
        self.python
            .get_or_try_init(|| resolve_python(self.configured.as_deref()))
            .await
            .cloned()
    }

    fn take_idle(&self) -> Option<PythonWorker> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn put_idle(&self, worker: PythonWorker) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.size {
            idle.push(worker);
        } else {
            self.live.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Starts replacements in the background until `size` workers are alive again.
    fn top_up(self: &Arc<Self>, python: &Python) {
        while self.live.load(Ordering::SeqCst) < self.size {
            self.live.fetch_add(1, Ordering::SeqCst);
            match PythonWorker::spawn(python, &self.limits) {
                Ok(w) => self.put_idle(w),
                Err(e) => {
                    self.live.fetch_sub(1, Ordering::SeqCst);
                    tracing::warn!(error = %e, "could not start a replacement Python worker");
                    return;
                }
            }
        }
    }
}
