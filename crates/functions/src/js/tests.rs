//! Unit tests of the engine's internals; the conformance table lives in tests/it.

use super::*;
use serde_json::json;

fn f(key: &str, code: &str) -> FunctionSource {
    FunctionSource {
        key: key.into(),
        language: Language::Js,
        source: code.into(),
        timeout: Duration::from_secs(5),
    }
}

#[test]
fn prelude_compiles_and_the_realm_builds() {
    let mut engine = JsEngine::new(Limits::default());
    assert!(engine.warm_up().is_ok());
}

#[test]
fn a_worn_out_realm_is_replaced_without_the_caller_noticing() {
    let mut engine = JsEngine::new(Limits::default());
    let counter = f("count", "let n = 0;\nexport const handle = () => { globalThis.seen = (globalThis.seen ?? 0) + 1; return ++n + seen; };");
    for i in 0..(REALM_MAX_CALLS + 10) {
        let out = engine.invoke(&counter, &json!({})).map(|o| o.result);
        assert_eq!(out, Ok(json!(2)), "call {i}");
    }
}

#[test]
fn compile_errors_are_cached_and_keep_the_runtime() {
    let mut engine = JsEngine::new(Limits::default());
    let bad = f("bad", "export const handle = (;");
    assert!(matches!(
        engine.invoke(&bad, &json!({})),
        Err(FunctionError::Compile { .. })
    ));
    assert_eq!(engine.cache.len(), 1);
    assert!(matches!(
        engine.invoke(&bad, &json!({})),
        Err(FunctionError::Compile { .. })
    ));
    assert!(
        engine.js.is_some(),
        "a compile error must not discard the runtime"
    );
}

#[test]
fn wrong_language_is_an_internal_error() {
    let mut engine = JsEngine::new(Limits::default());
    let py = FunctionSource {
        language: Language::Py,
        ..f("py", "def handle(q, r): pass")
    };
    assert_eq!(
        engine.invoke(&py, &json!({})).map_err(|e| e.kind()),
        Err("internal")
    );
}

#[test]
fn replaced_realms_are_freed() {
    // A reference that outlived its realm (a lockdown or override accessor not released, a
    // host function pinning the context it was made in) would keep replaced contexts alive.
    let mut engine = JsEngine::new(Limits::default());
    let add = f("add", "export const handle = (q) => q.inputs.n + 1;");
    let call = |engine: &mut JsEngine| {
        let out = engine.invoke(&add, &json!({"n": 1})).map(|o| o.result);
        assert_eq!(out, Ok(json!(2)));
        let js = engine.js.as_ref().expect("the runtime");
        js.rt.run_gc();
        js.rt.memory_usage().obj_count
    };
    // Both counts: the compiler context, one realm, one call's module.
    let first = call(&mut engine);
    for _ in 0..20 {
        engine.retire_realm();
        call(&mut engine);
    }
    let last = call(&mut engine);
    assert!(
        last <= first + 16,
        "{first} objects live with the first realm, {last} with the 21st"
    );
}
