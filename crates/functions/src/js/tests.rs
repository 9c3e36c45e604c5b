//! Unit tests of the JavaScript engine's internals; the conformance table lives in tests/it.

use super::*;

#[test]
fn prelude_compiles() {
    let mut engine = JsEngine::new(Limits::default());
    engine.warm_up().unwrap();
}
