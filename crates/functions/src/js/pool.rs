//! Dedicated threads for JavaScript: QuickJS runtimes are `!Send`, so each thread owns a
//! [`JsEngine`] and takes calls from one shared channel; the async caller awaits a oneshot.

use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::{BytecodeCache, JsEngine};
use crate::{FunctionError, FunctionSource, Limits, Outcome};

/// Native stack of an engine thread; QuickJS's own limit is a fraction of it.
const THREAD_STACK_BYTES: usize = 8 << 20;
/// How long past its deadline a call may go unanswered before the caller gives up on the
/// thread (which can only happen if native code ignores the interrupt handler).
const BACKSTOP: Duration = Duration::from_secs(5);

struct Job {
    f: FunctionSource,
    inputs: serde_json::Value,
    reply: oneshot::Sender<Result<Outcome, FunctionError>>,
}

pub(crate) struct JsPool {
    tx: mpsc::Sender<Job>,
    limits: Limits,
}

impl JsPool {
    pub(crate) fn new(size: usize, limits: Limits) -> Result<Self, FunctionError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let cache = BytecodeCache::default();
        for i in 0..size.max(1) {
            let rx = rx.clone();
            let cache = cache.clone();
            let limits = limits.clone();
            std::thread::Builder::new()
                .name(format!("switchboard-js-{i}"))
                .stack_size(THREAD_STACK_BYTES)
                .spawn(move || serve(rx, limits, cache))
                .map_err(|e| {
                    FunctionError::Internal(format!("starting a JavaScript thread: {e}"))
                })?;
        }
        Ok(JsPool { tx, limits })
    }

    pub(crate) async fn invoke(
        &self,
        f: &FunctionSource,
        inputs: serde_json::Value,
    ) -> Result<Outcome, FunctionError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job {
                f: f.clone(),
                inputs,
                reply,
            })
            .map_err(|_| FunctionError::Internal("the JavaScript threads have stopped".into()))?;
        let timeout = f.timeout.min(self.limits.max_timeout);
        // Generous: the call may first wait in the queue behind others.
        let backstop = timeout * 4 + BACKSTOP;
        match tokio::time::timeout(backstop, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(FunctionError::Internal(
                "a JavaScript thread dropped the call".into(),
            )),
            Err(_) => {
                tracing::error!(key = %f.key, "a JavaScript call did not come back from its thread");
                Err(FunctionError::Timeout {
                    after: timeout,
                    logs: String::new(),
                })
            }
        }
    }
}

fn serve(rx: Arc<Mutex<mpsc::Receiver<Job>>>, limits: Limits, cache: BytecodeCache) {
    let mut engine = JsEngine::with_cache(limits.clone(), cache.clone());
    if let Err(e) = engine.warm_up() {
        tracing::error!(error = %e, "could not prepare a JavaScript engine");
    }
    loop {
        let job = {
            let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        if job.reply.is_closed() {
            continue;
        }
        let result =
            std::panic::catch_unwind(AssertUnwindSafe(|| engine.invoke(&job.f, &job.inputs)));
        let result = result.unwrap_or_else(|_| {
            tracing::error!(key = %job.f.key, "the JavaScript engine panicked; replacing it");
            engine = JsEngine::with_cache(limits.clone(), cache.clone());
            Err(FunctionError::Internal(
                "the JavaScript engine failed".into(),
            ))
        });
        let _ = job.reply.send(result);
        // Rebuild a discarded realm now rather than on the next call's clock.
        let _ = engine.warm_up();
    }
}
