//! JavaScript functions in embedded QuickJS (quickjs-ng through rquickjs).
//!
//! [`JsEngine`] runs functions on the thread that owns it (QuickJS runtimes are `!Send`); the
//! host's pool (`pool.rs`) gives each of a few dedicated threads its own engine and feeds them
//! through a channel, which is what [`FunctionHost`](crate::FunctionHost) uses.
//!
//! # One call, step by step
//!
//! 1. The source is compiled once per [`FunctionSource::key`] (and source text) to module
//!    bytecode in a *compiler* context, where no user code ever runs; the bytecode is kept in a
//!    [`BytecodeCache`] shared by every engine of a host.
//! 2. The bytecode is loaded into the engine's *realm* (a QuickJS context prepared by
//!    `prelude.js`) as a new module instance and evaluated, so module-level variables are fresh
//!    on every call.
//! 3. The prelude's private `call` driver builds `request` and `response`, awaits `handle`, and
//!    serialises `response.data`; the engine runs the job queue and the timers until the
//!    promise settles, under the deadline.
//! 4. The prelude's `reset` deletes every global the call created and cancels its timers.
//!
//! # Isolation (what a call can and cannot see)
//!
//! A fresh QuickJS context per call would cost about 100 µs to create plus a collection pass
//! of about 100 µs to free (capping throughput near 12,000 calls/s on two cores), so a realm
//! serves many calls and is made safe to share instead:
//!
//! - every intrinsic reachable from the realm is frozen before user code runs (a *lockdown*,
//!   as in SES/Hardened JavaScript); the common "override" properties (`toString`,
//!   `constructor`, an error's `name`/`message`, ...) become accessors, so assigning them on
//!   one's own objects still works;
//! - the standard globals are read-only and undeletable; a global a call creates is deleted
//!   after the call, and a realm that cannot be reset (a non-configurable global, a
//!   non-extensible global object) is discarded;
//! - the realm has no `eval` and no `Function` constructor (the context lacks the Eval
//!   intrinsic), so no code can reach the global lexical scope, and no `WeakRef` or
//!   `FinalizationRegistry` (whose callbacks would run whenever the collector decides);
//! - module state is per call (a new module instance each time); pending timers are
//!   cancelled and pending jobs drained before the next call starts;
//! - there is no `require`, `process`, `fetch`, `std`/`os` module or any other host object
//!   besides `console` and the timer functions, and `import` of any module fails;
//! - a realm is replaced after [`REALM_MAX_CALLS`] calls or when its reset fails; the whole
//!   runtime is replaced after a timeout, a memory error or any other call cut short (QuickJS
//!   keeps pending jobs in the runtime, so nothing of such a call can run later).
//!
//! What remains shared between calls on one realm: the global `Symbol.for` registry and the
//! state of `Math.random`. Neither can carry data written by one call to another that does not
//! already know it.
//!
//! # Building a realm
//!
//! A call that finds no realm pays for building one: about 0.3 ms with the call (p50 on the
//! project's 2-core VM; `js/new_realm_and_call`, `bench/functions/run.sh`). Freeing the realm
//! it replaces takes a collection pass of about 0.1 ms (`js/free_realm`). The host's threads
//! do both after answering (`warm_up`), so a call waits for neither unless it arrives while
//! its thread is still at it. Where the build's time goes (perf):
//!
//! - creating the context: ~65 µs, QuickJS making its intrinsics (half of it the base
//!   objects, a fifth the typed arrays);
//! - the lockdown (`lockdown.rs`): ~140 µs. About half is QuickJS creating the ~560 builtin
//!   methods it otherwise creates on first access: they must exist to be frozen, and any
//!   attempt to redefine a not-yet-created property creates it. The rest is one lookup per
//!   property (~2,000), one flag update per property still writable or configurable, and a
//!   private copy of each object's shape. The same walk in JavaScript took ~3 ms, allocating
//!   a descriptor object per property;
//! - loading and evaluating the prelude: ~50 µs; the override accessors: ~15 µs; the call
//!   itself (module instance, `handle`, reset): ~20 µs.
//!
//! The runtime allocates through `alloc.rs`, which keeps freed small blocks for reuse: with
//! glibc's malloc the same build took ~0.42 ms (~15 % of it in the allocator's slow paths,
//! and more right after a collection had freed a realm). What remains grows with the number
//! of intrinsics; going lower would take dropping some (the typed arrays alone cost ~40 µs,
//! but functions and the tests use them) or changes inside QuickJS.
//!
//! Nothing a build allocates is garbage, so the collector is off while it runs. Afterwards its
//! threshold is the runtime's size with a fresh realm plus 4 MiB, room for the module records
//! of [`REALM_MAX_CALLS`] calls: they are freed by the explicit pass that frees their realm,
//! after an answer, instead of by passes inside calls.
//!
//! # Limits
//!
//! The deadline is enforced by QuickJS's interrupt handler (checked every few thousand
//! bytecode operations, including inside regular expressions), the memory cap by the
//! runtime's allocator limit, and recursion by the runtime's stack limit.
//!
//! QuickJS frees a module record only with its context, so each call leaves about 2 KiB (plus
//! whatever its module's top level allocated) until the realm is replaced. The runtime's limit
//! is therefore the realm's own size plus [`Limits::memory_bytes`] plus 8 MiB of slack, and a
//! call that runs out of memory on a realm that served earlier calls is run once more on a
//! fresh runtime before `MemoryLimit` is reported. Functions have no I/O, so a second run is
//! invisible (its logs are those of the second run).

mod alloc;
mod lockdown;
pub(crate) mod pool;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rquickjs::context::intrinsic;
use rquickjs::loader::{Loader, Resolver};
use rquickjs::promise::PromiseState;
use rquickjs::{
    Array, CatchResultExt, CaughtError, Context, Ctx, Function, Module, Object, Persistent,
    Promise, Runtime, Value, WriteOptions,
};

use crate::logs::LogBuffer;
use crate::{FunctionError, FunctionSource, Language, Limits, Outcome};

const PRELUDE_SOURCE: &str = include_str!("prelude.js");
const PRELUDE_NAME: &str = "switchboard:prelude";

/// Calls served by one realm before it is replaced. Every call leaves a small module record
/// behind in its context (QuickJS frees module records only with their context), which every
/// collection pass walks until then. Replacing a realm costs ~0.4 ms of CPU after an answer
/// (~0.4 µs per call at 1,000). Measured on parseContact with a rebuild after every answer,
/// as the host's threads do: 250, 500 and 1,000 gave the same p99.9 (~80 µs), 2,000 and 5,000
/// a worse one (~110-125 µs) and slower calls (larger heaps to collect).
pub const REALM_MAX_CALLS: u32 = 1_000;
/// Compilations done by one compiler context before it is replaced, for the same reason.
const COMPILER_MAX_COMPILES: u32 = 256;
/// The JavaScript stack limit; engine threads are spawned with a larger native stack.
const MAX_STACK_BYTES: usize = 1 << 20;
/// Memory allowed on top of [`Limits::memory_bytes`] for what served calls leave in a realm
/// (about 2 KiB per call: QuickJS keeps each module record until its context is freed).
const REALM_SLACK_BYTES: usize = 8 << 20;
/// Source bytes one compiler context may hold before it is replaced.
const COMPILER_MAX_BYTES: usize = 4 << 20;
/// QuickJS's initial collection threshold, used until the first realm's size is known.
const INITIAL_GC_THRESHOLD: usize = 256 << 10;
/// Allocation allowed on top of a fresh realm before the collector runs inside a call. Room
/// for [`REALM_MAX_CALLS`] small module records, so that what they leave is collected when
/// the realm is replaced (off the request path) rather than in passes during calls; QuickJS's
/// own rule (1.5 times the size after the last pass) takes over after the first pass.
const GC_HEADROOM_BYTES: usize = 4 << 20;
/// Entries kept by the bytecode cache before old ones are evicted.
const CACHE_CAPACITY: usize = 4_096;

/// Module bytecode written by `Module::write` of the QuickJS linked into this process.
///
/// The constructor is private to this module: bytecode never comes from a client, a file or
/// another build, which is what makes loading it sound.
#[derive(Clone)]
struct Bytecode(Arc<[u8]>);

/// Loads module bytecode into `ctx`.
#[allow(unsafe_code)]
fn load_module<'js>(ctx: &Ctx<'js>, bytecode: &Bytecode) -> rquickjs::Result<Module<'js>> {
    // SAFETY: `Module::load` requires valid bytecode. A `Bytecode` can only be made by
    // `compile_in` below, from the output of `Module::write` of this same QuickJS build in this
    // same process; it is never read from a client, a file or the network. quickjs-ng copies
    // the bytes (its JS_READ_OBJ_ROM_DATA flag is 0), so the module does not borrow them.
    unsafe { Module::load(ctx.clone(), &bytecode.0) }
}

struct Compiled {
    source: String,
    code: Result<Bytecode, String>,
}

/// Compiled module bytecode by [`FunctionSource::key`], shared by the engines of one host.
/// A key whose source text changed is compiled again. Compile errors are cached too.
#[derive(Clone, Default)]
pub struct BytecodeCache {
    inner: Arc<Mutex<HashMap<String, Arc<Compiled>>>>,
}

impl BytecodeCache {
    fn get(&self, f: &FunctionSource) -> Option<Arc<Compiled>> {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&f.key).filter(|c| c.source == f.source).cloned()
    }

    fn insert(&self, key: &str, compiled: Arc<Compiled>) {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CACHE_CAPACITY && !map.contains_key(key) {
            if let Some(old) = map.keys().next().cloned() {
                map.remove(&old);
            }
        }
        map.insert(key.to_owned(), compiled);
    }

    /// Number of cached entries.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The prelude's bytecode, compiled once per process.
static PRELUDE: OnceLock<Bytecode> = OnceLock::new();

/// State shared with the closures QuickJS calls back into.
#[derive(Default)]
struct Shared {
    deadline: Cell<Option<Instant>>,
    logs: RefCell<LogBuffer>,
}

impl Shared {
    fn past_deadline(&self) -> bool {
        self.deadline.get().is_some_and(|d| Instant::now() >= d)
    }
}

/// Refuses every import: functions are single modules with nothing to import.
struct NoModules;

impl Resolver for NoModules {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
    ) -> rquickjs::Result<String> {
        Err(rquickjs::Error::new_resolving_message(
            base,
            name,
            format!("cannot import '{name}': functions cannot import modules (there is no file system, network or process access)"),
        ))
    }
}

impl Loader for NoModules {
    fn load<'js>(&mut self, _ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Module<'js>> {
        Err(rquickjs::Error::new_loading_message(
            name,
            "functions cannot import modules",
        ))
    }
}

/// The prelude functions the host calls, kept alive across `Context::with` scopes.
struct Hooks {
    call: Persistent<Function<'static>>,
    reset: Persistent<Function<'static>>,
    next_timer: Persistent<Function<'static>>,
    run_timers: Persistent<Function<'static>>,
}

/// A locked-down context that serves calls. Field order matters: the persistent values must
/// be dropped before their context.
struct Realm {
    hooks: Hooks,
    calls: u32,
    ctx: Context,
}

/// One QuickJS runtime with its realm and compiler context. Field order matters: contexts
/// drop before the runtime.
struct Js {
    realm: Option<Realm>,
    /// A replaced realm, freed after the answer has gone (see [`JsEngine::warm_up`]).
    retired_realm: Option<Realm>,
    /// The compiler context, with how many modules and source bytes it holds.
    compiler: Option<(Context, u32, usize)>,
    /// The host's log sink, given to every realm's prelude (never to user code). It is made
    /// once per runtime in a small context of its own, which it keeps alive: rquickjs gives
    /// every Rust-closure function of a runtime the `Function.prototype` of the context where
    /// the first one was made, so one made in a realm pinned the runtime's first realm until
    /// the runtime went (~1,000 objects that every collection walked). rquickjs runs it with
    /// the caller's context, so whatever it throws belongs to the calling realm.
    log: Persistent<Function<'static>>,
    /// The collector's threshold once a realm is built: the runtime's size with a fresh realm
    /// plus [`GC_HEADROOM_BYTES`].
    gc_threshold: usize,
    rt: Runtime,
}

/// What the engine must do after a call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Aftermath {
    Keep,
    DiscardRealm,
    DiscardRuntime,
}

/// A JavaScript function engine bound to the current thread: one QuickJS runtime, one
/// locked-down realm, one compiler context, and a handle on the shared bytecode cache.
///
/// This is the synchronous entry point (used by the host's worker threads and by the
/// benchmarks); servers use [`FunctionHost`](crate::FunctionHost).
pub struct JsEngine {
    js: Option<Js>,
    /// A discarded runtime waiting to be freed. Freeing one takes about a millisecond, so it
    /// happens in [`warm_up`](Self::warm_up) (after the answer has gone) or at the next call,
    /// not while the call that discarded it is still answering.
    retired: Option<Js>,
    limits: Limits,
    cache: BytecodeCache,
    shared: Rc<Shared>,
}

impl JsEngine {
    /// An engine with its own bytecode cache. The runtime is created on the first call.
    pub fn new(limits: Limits) -> Self {
        Self::with_cache(limits, BytecodeCache::default())
    }

    /// An engine sharing `cache` with other engines.
    pub fn with_cache(limits: Limits, cache: BytecodeCache) -> Self {
        JsEngine {
            js: None,
            retired: None,
            limits,
            cache,
            shared: Rc::new(Shared::default()),
        }
    }

    /// Creates the runtime and realm now rather than on the first call.
    pub fn warm_up(&mut self) -> Result<(), FunctionError> {
        self.free_retired();
        self.js().map(|_| ())
    }

    /// Replaces the realm as if it had served [`REALM_MAX_CALLS`] calls: frees it now (one
    /// collection pass), and the next call or [`warm_up`](Self::warm_up) builds a fresh one on
    /// the same runtime. The benchmarks use it to time the cold path (new context + prelude +
    /// lockdown + module instance + call) apart from freeing the old realm.
    pub fn retire_realm(&mut self) {
        if let Some(js) = self.js.as_mut() {
            js.retired_realm = js.realm.take();
        }
        self.free_retired();
    }

    /// Frees what earlier calls discarded. A context's objects form cycles, so freeing a
    /// realm takes a collection pass (~0.1 ms); done here, before the next realm is built
    /// (after an answer, in the host's threads), it never lands inside a call.
    fn free_retired(&mut self) {
        self.retired = None;
        if let Some(js) = self.js.as_mut() {
            if js.retired_realm.take().is_some() {
                js.rt.run_gc();
            }
        }
    }

    /// Runs `f.handle({inputs}, {data: {}})` and returns its `response.data`.
    pub fn invoke(
        &mut self,
        f: &FunctionSource,
        inputs: &serde_json::Value,
    ) -> Result<Outcome, FunctionError> {
        self.free_retired();
        let started = Instant::now();
        if f.language != Language::Js {
            return Err(FunctionError::Internal(format!(
                "{} function sent to the JavaScript engine",
                f.language
            )));
        }
        let timeout = f.timeout.min(self.limits.max_timeout);
        let inputs = serde_json::to_string(inputs)
            .map_err(|e| FunctionError::Internal(format!("inputs are not serialisable: {e}")))?;
        let mut retried = false;
        let mut deadline: Option<Instant> = None;
        let result = loop {
            // Building a runtime or realm is the host's business: it is never charged to the
            // call's deadline (the pool's threads build them after answering anyway).
            self.shared.deadline.set(None);
            let building = Instant::now();
            if let Err(e) = self.js() {
                self.retired = self.js.take();
                break Err(e);
            }
            let due = match deadline {
                None => Instant::now() + timeout,
                Some(due) => due + building.elapsed(),
            };
            deadline = Some(due);
            self.shared.deadline.set(Some(due));
            self.shared.logs.borrow_mut().clear();
            let (result, aftermath, realm_was_used) = match self.invoke_inner(f, &inputs, timeout) {
                Ok(triple) => triple,
                Err(e @ FunctionError::Compile { .. }) => (Err(e), Aftermath::Keep, false),
                Err(e) => (Err(e), Aftermath::DiscardRuntime, false),
            };
            match aftermath {
                Aftermath::Keep => {}
                Aftermath::DiscardRealm => {
                    if let Some(js) = self.js.as_mut() {
                        js.retired_realm = js.realm.take();
                    }
                }
                Aftermath::DiscardRuntime => self.retired = self.js.take(),
            }
            // Earlier calls' module records live as long as their realm and count against the
            // runtime's memory limit. A call that runs out of memory on a used realm is run
            // again on a fresh one: functions have no I/O, so running one twice is invisible
            // (its logs are those of the second run).
            let retry = matches!(result, Err(FunctionError::MemoryLimit { .. }))
                && realm_was_used
                && !retried
                && !self.shared.past_deadline();
            if !retry {
                break result;
            }
            retried = true;
        };
        self.shared.deadline.set(None);
        let logs = self.shared.logs.borrow_mut().take();
        match result {
            Ok(value) => Ok(Outcome {
                result: value,
                logs,
                duration: started.elapsed(),
            }),
            Err(e) => Err(with_logs(e, logs)),
        }
    }

    /// One attempt at a call: the result, what to do with the realm afterwards, and whether
    /// the realm had served calls before this one.
    #[allow(clippy::type_complexity)]
    fn invoke_inner(
        &mut self,
        f: &FunctionSource,
        inputs: &str,
        timeout: Duration,
    ) -> Result<(Result<serde_json::Value, FunctionError>, Aftermath, bool), FunctionError> {
        let bytecode = self.bytecode(f)?;
        let shared = self.shared.clone();
        let js = self.js()?;
        let realm = match js.realm.as_mut() {
            Some(realm) => realm,
            None => return Err(FunctionError::Internal("JavaScript realm missing".into())),
        };
        let was_used = realm.calls > 0;
        realm.calls += 1;
        let worn_out = realm.calls >= REALM_MAX_CALLS;
        let (result, mut aftermath) = realm
            .ctx
            .with(|ctx| run_call(&ctx, &realm.hooks, &bytecode, inputs, &shared, timeout));
        if worn_out && aftermath == Aftermath::Keep {
            aftermath = Aftermath::DiscardRealm;
        }
        Ok((result, aftermath, was_used))
    }

    /// The runtime, created (with its realm) when missing.
    fn js(&mut self) -> Result<&mut Js, FunctionError> {
        if self.js.is_none() {
            self.js = Some(new_runtime(&self.limits, &self.shared)?);
        }
        let js = self
            .js
            .as_mut()
            .ok_or_else(|| FunctionError::Internal("runtime missing".into()))?;
        if js.realm.is_none() {
            js.realm = Some(new_realm(js)?);
        }
        Ok(js)
    }

    /// The bytecode of `f`, from the cache or compiled now.
    fn bytecode(&mut self, f: &FunctionSource) -> Result<Bytecode, FunctionError> {
        let compiled = match self.cache.get(f) {
            Some(c) => c,
            None => {
                let js = self.js()?;
                let code = compile(js, &f.key, &f.source)?;
                let compiled = Arc::new(Compiled {
                    source: f.source.clone(),
                    code,
                });
                self.cache.insert(&f.key, compiled.clone());
                compiled
            }
        };
        compiled
            .code
            .clone()
            .map_err(|message| FunctionError::Compile { message })
    }
}

fn with_logs(e: FunctionError, captured: String) -> FunctionError {
    match e {
        FunctionError::Thrown { message, stack, .. } => FunctionError::Thrown {
            message,
            stack,
            logs: captured,
        },
        FunctionError::Timeout { after, .. } => FunctionError::Timeout {
            after,
            logs: captured,
        },
        FunctionError::MemoryLimit { .. } => FunctionError::MemoryLimit { logs: captured },
        other => other,
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> FunctionError {
    FunctionError::Internal(format!("{what}: {e}"))
}

fn new_runtime(limits: &Limits, shared: &Rc<Shared>) -> Result<Js, FunctionError> {
    let rt = Runtime::new_with_alloc(alloc::CachingAllocator::new())
        .map_err(|e| internal("creating a QuickJS runtime", e))?;
    rt.set_max_stack_size(MAX_STACK_BYTES);
    let watch = shared.clone();
    rt.set_interrupt_handler(Some(Box::new(move || watch.past_deadline())));
    rt.set_loader(NoModules, NoModules);
    let sink = shared.clone();
    let log = Context::base(&rt)
        .map_err(|e| internal("creating a QuickJS context", e))?
        .with(|ctx| {
            let log = Function::new(ctx.clone(), move |prefix: String, text: String| {
                sink.logs.borrow_mut().push(&prefix, &text);
            })?;
            Ok::<_, rquickjs::Error>(Persistent::save(&ctx, log))
        })
        .map_err(|e| internal("creating the log sink", e))?;
    let mut js = Js {
        realm: None,
        retired_realm: None,
        compiler: None,
        log,
        gc_threshold: INITIAL_GC_THRESHOLD,
        rt,
    };
    let realm = new_realm(&mut js)?;
    js.realm = Some(realm);
    // The limit covers what a call can allocate on top of the realm and compiler, plus room
    // for what earlier calls leave in the realm until it is replaced.
    let baseline = usize::try_from(js.rt.memory_usage().malloc_size).unwrap_or(0);
    js.gc_threshold = baseline.saturating_add(GC_HEADROOM_BYTES);
    js.rt.set_gc_threshold(js.gc_threshold);
    js.rt.set_memory_limit(
        baseline
            .saturating_add(limits.memory_bytes)
            .saturating_add(REALM_SLACK_BYTES),
    );
    Ok(js)
}

fn prelude(js: &mut Js) -> Result<Bytecode, FunctionError> {
    if let Some(bc) = PRELUDE.get() {
        return Ok(bc.clone());
    }
    let bc = compile(js, PRELUDE_NAME, PRELUDE_SOURCE)?
        .map_err(|e| FunctionError::Internal(format!("the prelude does not compile: {e}")))?;
    Ok(PRELUDE.get_or_init(|| bc).clone())
}

fn new_realm(js: &mut Js) -> Result<Realm, FunctionError> {
    // Nothing a realm build allocates is garbage, so a collection during it (which QuickJS
    // starts whenever allocations cross the threshold) would walk the whole heap for nothing.
    js.rt.set_gc_threshold(usize::MAX);
    let realm = build_realm(js);
    js.rt.set_gc_threshold(js.gc_threshold);
    realm
}

fn build_realm(js: &mut Js) -> Result<Realm, FunctionError> {
    let prelude = prelude(js)?;
    // Everything but Eval (which also powers `Function`) and WeakRef/FinalizationRegistry
    // (whose callbacks would run whenever the collector decides, possibly in a later call).
    let ctx = Context::custom::<(
        intrinsic::Date,
        intrinsic::RegExpCompiler,
        intrinsic::RegExp,
        intrinsic::Json,
        intrinsic::Proxy,
        intrinsic::MapSet,
        intrinsic::TypedArrays,
        intrinsic::Promise,
        intrinsic::BigInt,
        intrinsic::Performance,
    )>(&js.rt)
    .map_err(|e| internal("creating a QuickJS context", e))?;
    let log = js.log.clone();
    let hooks = ctx.with(|ctx| -> Result<Hooks, String> {
        let setup = || -> rquickjs::Result<Hooks> {
            let host = Object::new(ctx.clone())?;
            host.set("log", log.restore(&ctx)?)?;
            ctx.globals().set("__switchboard_host", host)?;
            let (module, promise) = load_module(&ctx, &prelude)?.eval()?;
            promise.finish::<()>()?;
            let ns = module.namespace()?;
            let plan: Array = ns.get::<_, Function>("lockdownPlan")?.call(())?;
            let roots: Vec<Value> = plan.get(0)?;
            for entry in plan.get::<Vec<Array>>(1)? {
                lockdown::enable_overrides(&entry.get(0)?, &entry.get(1)?)?;
            }
            lockdown::lockdown(&ctx, &roots, ctx.globals().as_value())?;
            let hook = |name: &str| -> rquickjs::Result<Persistent<Function<'static>>> {
                Ok(Persistent::save(&ctx, ns.get::<_, Function>(name)?))
            };
            Ok(Hooks {
                call: hook("call")?,
                reset: hook("reset")?,
                next_timer: hook("nextTimer")?,
                run_timers: hook("runTimers")?,
            })
        };
        setup().catch(&ctx).map_err(|e| caught_text(&e))
    });
    let hooks = hooks
        .map_err(|e| FunctionError::Internal(format!("setting up the JavaScript realm: {e}")))?;
    Ok(Realm {
        hooks,
        calls: 0,
        ctx,
    })
}

/// Compiles `source` as a module named `name`. The outer error is the host's; the inner one is
/// the author's (a syntax error).
fn compile(
    js: &mut Js,
    name: &str,
    source: &str,
) -> Result<Result<Bytecode, String>, FunctionError> {
    if source.contains('\0') {
        return Ok(Err("the source contains a NUL character".into()));
    }
    let name = name.replace('\0', "?");
    let (ctx, count, bytes) = match js.compiler.take() {
        Some(c) if c.1 < COMPILER_MAX_COMPILES && c.2 < COMPILER_MAX_BYTES => c,
        _ => (
            Context::full(&js.rt)
                .map_err(|e| internal("creating a QuickJS compiler context", e))?,
            0,
            0,
        ),
    };
    let out = ctx.with(|ctx| compile_in(&ctx, &name, source));
    js.compiler = Some((ctx, count + 1, bytes + source.len()));
    out
}

fn compile_in(
    ctx: &Ctx<'_>,
    name: &str,
    source: &str,
) -> Result<Result<Bytecode, String>, FunctionError> {
    let declared = match Module::declare(ctx.clone(), name, source).catch(ctx) {
        Ok(m) => m,
        Err(e) => {
            let text = caught_text(&e);
            if text.contains("out of memory") {
                return Err(FunctionError::MemoryLimit {
                    logs: String::new(),
                });
            }
            return Ok(Err(text));
        }
    };
    let bytes = declared
        .write(WriteOptions::default())
        .catch(ctx)
        .map_err(|e| internal("writing bytecode", caught_text(&e)))?;
    Ok(Ok(Bytecode(bytes.into())))
}

/// A one-line-plus-stack rendering of a caught error, used for compile and host errors.
fn caught_text(e: &CaughtError<'_>) -> String {
    match e {
        CaughtError::Exception(ex) => {
            let message = ex.message().unwrap_or_default();
            let name: String = ex.get("name").unwrap_or_else(|_| "Error".into());
            let stack = ex.stack().unwrap_or_default();
            let location = stack.lines().next().map(str::trim).unwrap_or("");
            let location = location.strip_prefix("at ").unwrap_or(location);
            if location.is_empty() {
                format!("{name}: {message}")
            } else {
                format!("{name}: {message} ({location})")
            }
        }
        CaughtError::Value(v) => format!("{v:?}"),
        CaughtError::Error(e) => e.to_string(),
    }
}

#[derive(serde::Deserialize)]
struct Failure {
    message: String,
    stack: String,
    oom: bool,
}

type CallResult = (Result<serde_json::Value, FunctionError>, Aftermath);

fn timeout_error(timeout: Duration) -> CallResult {
    (
        Err(FunctionError::Timeout {
            after: timeout,
            logs: String::new(),
        }),
        Aftermath::DiscardRuntime,
    )
}

fn thrown(message: impl Into<String>, stack: impl Into<String>) -> FunctionError {
    FunctionError::Thrown {
        message: message.into(),
        stack: stack.into(),
        logs: String::new(),
    }
}

/// Classifies an error that escaped the prelude's own error handling (uncatchable
/// interrupts, memory exhaustion, module linking).
fn escaped(ctx: &Ctx<'_>, e: rquickjs::Error, shared: &Shared, timeout: Duration) -> CallResult {
    if shared.past_deadline() {
        return timeout_error(timeout);
    }
    let caught = Err::<(), _>(e).catch(ctx);
    let text = match &caught {
        Err(e) => caught_text(e),
        Ok(()) => String::new(),
    };
    let looks_oom = text.contains("out of memory")
        || matches!(&caught, Err(CaughtError::Value(v)) if v.is_null() || v.is_undefined())
        || matches!(
            &caught,
            Err(CaughtError::Error(rquickjs::Error::Allocation))
        );
    if looks_oom {
        return (
            Err(FunctionError::MemoryLimit {
                logs: String::new(),
            }),
            Aftermath::DiscardRuntime,
        );
    }
    (Err(thrown(text, "")), Aftermath::DiscardRuntime)
}

fn run_call(
    ctx: &Ctx<'_>,
    hooks: &Hooks,
    bytecode: &Bytecode,
    inputs: &str,
    shared: &Shared,
    timeout: Duration,
) -> CallResult {
    let restore = |p: &Persistent<Function<'static>>| p.clone().restore(ctx);
    let (call, next_timer, run_timers, reset) = match (
        restore(&hooks.call),
        restore(&hooks.next_timer),
        restore(&hooks.run_timers),
        restore(&hooks.reset),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        _ => return lost("restoring the prelude's hooks"),
    };

    let module = match load_module(ctx, bytecode) {
        Ok(m) => m,
        Err(e) => return escaped(ctx, e, shared, timeout),
    };
    // Evaluation links the module first: an import fails here, synchronously.
    let (module, evaluated) = match module.eval().catch(ctx) {
        Ok(pair) => pair,
        Err(e) => {
            let text = caught_text(&e);
            if text.contains("out of memory") {
                return (
                    Err(FunctionError::MemoryLimit {
                        logs: String::new(),
                    }),
                    Aftermath::DiscardRuntime,
                );
            }
            // Linking failed before any user code ran: the realm is untouched.
            return (
                Err(FunctionError::Compile { message: text }),
                Aftermath::Keep,
            );
        }
    };
    let ns = match module.namespace() {
        Ok(ns) => ns,
        Err(e) => return escaped(ctx, e, shared, timeout),
    };
    let promise: Promise = match call.call((evaluated, ns, inputs)) {
        Ok(p) => p,
        Err(e) => return escaped(ctx, e, shared, timeout),
    };

    // A realm is only kept when its job queue ends up empty: QuickJS keeps jobs in the
    // runtime, not the context, so anything cut short discards the whole runtime.
    let text: String = loop {
        while ctx.execute_pending_job() {
            if shared.past_deadline() {
                return timeout_error(timeout);
            }
        }
        match promise.state() {
            PromiseState::Resolved => match promise.result::<String>() {
                Some(Ok(text)) => break text,
                Some(Err(e)) => return escaped(ctx, e, shared, timeout),
                None => return lost("the call's promise changed state"),
            },
            PromiseState::Rejected => match promise.result::<String>() {
                Some(Err(e)) => return escaped(ctx, e, shared, timeout),
                _ => return lost("the call's promise changed state"),
            },
            PromiseState::Pending => {}
        }
        let wait_ms: f64 = match next_timer.call(()) {
            Ok(ms) => ms,
            Err(e) => return escaped(ctx, e, shared, timeout),
        };
        if wait_ms < 0.0 {
            break NEVER_SETTLES.to_owned();
        }
        let Some(deadline) = shared.deadline.get() else {
            return lost("the call has no deadline");
        };
        let now = Instant::now();
        if now >= deadline {
            return timeout_error(timeout);
        }
        let wait = Duration::from_secs_f64(wait_ms / 1000.0).min(deadline - now);
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        if shared.past_deadline() {
            return timeout_error(timeout);
        }
        match run_timers.call::<_, String>(()) {
            Ok(s) if s.is_empty() => {}
            Ok(s) => break s,
            Err(e) => return escaped(ctx, e, shared, timeout),
        }
    };

    let result = if text == "!M" {
        Err(FunctionError::Compile {
            message: "the module does not export a `handle` function: write `export const handle = async (request, response) => { ... }`".into(),
        })
    } else if text == NEVER_SETTLES {
        Err(thrown(
            "the promise returned by handle never settles: it awaits something that nothing will resolve",
            "",
        ))
    } else if let Some(json) = text.strip_prefix("!E") {
        match serde_json::from_str::<Failure>(json) {
            Ok(f) if f.oom => return memory_error(),
            Ok(f) => Err(thrown(f.message, f.stack)),
            Err(e) => Err(internal("decoding an error report", e)),
        }
    } else {
        serde_json::from_str(&text).map_err(|e| internal("decoding the result", e))
    };

    // Leave nothing behind for the next call: run what is still queued, then reset the realm.
    while ctx.execute_pending_job() {
        if shared.past_deadline() {
            return (result, Aftermath::DiscardRuntime);
        }
    }
    let aftermath = match reset.call::<_, bool>(()) {
        Ok(true) => Aftermath::Keep,
        _ if shared.past_deadline() => Aftermath::DiscardRuntime,
        // The job queue is empty: dropping the context frees it.
        _ => Aftermath::DiscardRealm,
    };
    (result, aftermath)
}

/// Not valid JSON and not a prelude code: marks a promise nothing will ever settle.
const NEVER_SETTLES: &str = "!N";

fn lost(what: &str) -> CallResult {
    (
        Err(FunctionError::Internal(what.to_owned())),
        Aftermath::DiscardRuntime,
    )
}

fn memory_error() -> CallResult {
    (
        Err(FunctionError::MemoryLimit {
            logs: String::new(),
        }),
        Aftermath::DiscardRuntime,
    )
}

#[cfg(test)]
mod tests;
