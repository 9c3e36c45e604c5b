//! JavaScript: the conformance table, then the escape, isolation and limit tests.

use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_functions::{FunctionError, JsEngine, Language, Limits};

use crate::support::{john_doe, matches, render, source, PARSE_CONTACT};

const T: Duration = Duration::from_secs(5);

fn engine() -> JsEngine {
    JsEngine::new(Limits::default())
}

/// Runs every `(name, source, inputs, expected)` row on one engine, in order.
fn check_table(rows: &[(&str, &str, &str, &str)]) {
    let mut engine = engine();
    let mut failures = Vec::new();
    for (name, code, inputs, expected) in rows {
        let inputs: serde_json::Value = serde_json::from_str(inputs).expect("test inputs are JSON");
        let f = source(Language::Js, name, code, T);
        let actual = render(&engine.invoke(&f, &inputs));
        if let Err(e) = matches(name, &actual, expected) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn run(code: &str, inputs: serde_json::Value) -> String {
    render(&engine().invoke(&source(Language::Js, "f@1", code, T), &inputs))
}

#[test]
fn guide_parse_contact_runs_unchanged() {
    let mut engine = engine();
    let f = source(
        Language::Js,
        "parseContact@1",
        PARSE_CONTACT,
        Duration::from_secs(3),
    );
    let out = engine.invoke(&f, &john_doe()).expect("parseContact runs");
    assert_eq!(
        out.result,
        json!({"phoneDigits": "4155550132", "areaCode": "415"})
    );
    assert_eq!(out.logs, "");
    // Warm: the same answer from the cached bytecode.
    let again = engine
        .invoke(&f, &john_doe())
        .expect("parseContact runs again");
    assert_eq!(again.result, out.result);
}

#[test]
fn conformance_handlers() {
    check_table(&[
        ("sync handler", "export const handle = (req, res) => { res.data = { n: req.inputs.n * 2 }; return res; };", r#"{"n": 21}"#, r#"ok {"n":42}"#),
        ("export function", "export function handle(request, response) { response.data = 'fn'; return response; }", "{}", r#"ok "fn""#),
        ("export default function", "export default function (request) { return { data: request.inputs.x }; }", r#"{"x": [1]}"#, "ok [1]"),
        ("export default object", "export default { handle(req, res) { res.data = this.tag; }, tag: 'obj' };", "{}", r#"ok "obj""#),
        ("export by name", "const h = (q, r) => { r.data = 1; }; export { h as handle };", "{}", "ok 1"),
        ("no return keeps response.data", "export const handle = (req, res) => { res.data.a = 1; res.data.b = [true, null]; };", "{}", r#"ok {"a":1,"b":[true,null]}"#),
        ("untouched response.data is {}", "export const handle = () => {};", "{}", "ok {}"),
        ("returning a plain value", "export const handle = () => 'plain';", "{}", r#"ok "plain""#),
        ("returning {data}", "export const handle = () => ({ data: { wrapped: true } });", "{}", r#"ok {"wrapped":true}"#),
        ("undefined data is null", "export const handle = (q, r) => { r.data = undefined; return r; };", "{}", "ok null"),
        ("async chain", "const wait = (v) => new Promise((r) => r(v));\nexport const handle = async (req, res) => { const [a, b] = await Promise.all([wait(1), wait(2)]); res.data = a + b + await wait(3); return res; };", "{}", "ok 6"),
        ("timers", "export const handle = async (q, r) => { const order = []; setTimeout(() => order.push('b'), 20); setTimeout(() => order.push('a'), 5); await new Promise((ok) => setTimeout(ok, 30)); r.data = order; };", "{}", r#"ok ["a","b"]"#),
        ("interval and clear", "export const handle = async (q, r) => { let n = 0; const id = setInterval(() => { n++; if (n === 3) clearInterval(id); }, 1); await new Promise((ok) => setTimeout(ok, 30)); r.data = n; };", "{}", "ok 3"),
        ("queueMicrotask", "export const handle = async (q, r) => { r.data = []; queueMicrotask(() => r.data.push(2)); r.data.push(1); await null; };", "{}", "ok [1,2]"),
        ("top-level await", "const v = await Promise.resolve(7);\nexport const handle = () => v;", "{}", "ok 7"),
        ("language features", "class A { #x = 1; get x() { return this.#x; } }\nexport const handle = (q) => { const { a = 2, ...rest } = q.inputs; return { data: [new A().x, a, rest, q.inputs?.missing?.deep ?? 'dflt', [1, [2, [3]]].flat(Infinity), Object.fromEntries(new Map([['k', 'v']])), [...new Set([1, 1, 2])], (10n ** 20n).toString(), /(?<y>\\d{4})/.exec('in 2024').groups.y, new Date(0).toISOString(), JSON.parse('[1]'), Math.max(1, 3)] }; };", r#"{"b": 1}"#, r#"ok [1,2,{"b":1},"dflt",[1,2,3],{"k":"v"},[1,2],"100000000000000000000","2024","1970-01-01T00:00:00.000Z",[1],3]"#),
    ]);
}

#[test]
fn conformance_json_round_trip() {
    let inputs = r#"{"s":"ünïcødé ☃ 😀 \u0000 \"q\" \\ \n","n":[0,-1,1.5,-0.25,123456789.125,9007199254740991],"b":[true,false],"z":null,"o":{"nested":{"deep":[[],{}]}},"e":""}"#;
    let expected = r#"ok {"s":"ünïcødé ☃ 😀 \u0000 \"q\" \\ \n","n":[0,-1,1.5,-0.25,123456789.125,9007199254740991],"b":[true,false],"z":null,"o":{"nested":{"deep":[[],{}]}},"e":""}"#;
    check_table(&[
        ("round trip", "export const handle = (req) => req.inputs;", inputs, expected),
        ("unicode ops", "export const handle = (req) => { const s = req.inputs.s; return [s.length, [...s].length, s.toUpperCase(), s.normalize('NFD').length, '😀'.codePointAt(0)]; };", r#"{"s":"é😀"}"#, r#"ok [3,2,"É😀",4,128512]"#),
        ("numbers", "export const handle = () => [0.1 + 0.2, 2 ** 53, -0, 1 / 3, NaN, Infinity, 1e308 * 10, Number.MAX_SAFE_INTEGER + 2];", "{}", "ok [0.30000000000000004,9007199254740992,0,0.3333333333333333,null,null,null,9007199254740992]"),
        ("json stringify of dates and toJSON", "export const handle = () => ({ data: { d: new Date(86400000), t: { toJSON: () => 'custom' } } });", "{}", r#"ok {"d":"1970-01-02T00:00:00.000Z","t":"custom"}"#),
    ]);
}

#[test]
fn conformance_console() {
    check_table(&[
        ("console levels", "export const handle = () => { console.log('a', 1, true, null, undefined); console.info('i'); console.debug('d'); console.warn('careful'); console.error('bad'); };", "{}", "ok {}\nlogs:\na 1 true null undefined\ni\nd\nWARN: careful\nERROR: bad"),
        ("console values", "export const handle = () => { const c = { n: 1 }; c.self = c; console.log({ a: [1, 'x'], f() {} }, [1, 2], 3n, Symbol('s'), c, new Map([[1, 2]]), () => 1); };", "{}", "ok {}\nlogs:\n{\"a\":[1,\"x\"],\"f\":\"[Function: f]\"} [1,2] 3n Symbol(s) {\"n\":1,\"self\":\"[Circular]\"} {\"[Map]\":[[1,2]]} [Function: (anonymous)]"),
        ("console format", "export const handle = () => { console.log('%s is %d years and %i%%', 'Ann', 41.5, 41.5, 'extra'); console.log('%o', { a: 1 }); };", "{}", "ok {}\nlogs:\nAnn is 41.5 years and 41% extra\n{\"a\":1}"),
        ("console error object", "export const handle = () => { console.error(new TypeError('nope')); };", "{}", "ok {}\nlogs:\nERROR: TypeError: nope\n    at handle (console error object:1:48)"),
        ("logs before a throw", "export const handle = () => { console.log('step 1'); throw new Error('step 2'); };", "{}", "thrown: Error: step 2\nstack:\n    at handle (logs before a throw:1:63)\nlogs:\nstep 1"),
    ]);
}

#[test]
fn conformance_errors() {
    check_table(&[
        ("thrown error with stack", "function parse(s) {\n  return s.phone.trim();\n}\nexport const handle = (req) => parse(req.inputs.contact);", "{}", "thrown: TypeError: cannot read property 'phone' of undefined\nstack:\n    at parse (thrown error with stack:1:1)\n    at handle (thrown error with stack:4:38)"),
        ("custom error class", "class ValidationError extends Error { constructor(m) { super(m); this.name = 'ValidationError'; } }\nexport const handle = async () => { throw new ValidationError('phone missing'); };", "{}", "thrown: ValidationError: phone missing\nstack:\n    at ValidationError (custom error class:1:55)\n    at handle (custom error class:2:47)"),
        ("rejected promise", "export const handle = () => Promise.reject(new RangeError('out of range'));", "{}", "thrown: RangeError: out of range\nstack:\n    at handle (rejected promise:1:47)"),
        ("awaited rejection", "const fail = async () => { await null; throw new Error('later'); };\nexport const handle = async () => { await fail(); };", "{}", "thrown: Error: later\nstack:\n    at fail (awaited rejection:1:49)..."),
        ("thrown string", "export const handle = () => { throw 'plain string'; };", "{}", "thrown: Uncaught plain string"),
        ("thrown object", "export const handle = () => { throw { code: 42 }; };", "{}", r#"thrown: Uncaught {"code":42}"#),
        ("top-level throw", "throw new Error('at load');\nexport const handle = () => 1;", "{}", "thrown: Error: at load\nstack:\n    at <anonymous> (top-level throw:1:10)"),
        ("timer callback throws", "export const handle = async () => { setTimeout(() => { throw new Error('in timer'); }, 1); await new Promise((r) => setTimeout(r, 50)); };", "{}", "thrown: Error: in timer..."),
        ("unserialisable result", "export const handle = () => ({ data: 1n });", "{}", "thrown: TypeError: ..."),
        ("never settles", "export const handle = () => new Promise(() => {});", "{}", "thrown: the promise returned by handle never settles: it awaits something that nothing will resolve"),
        ("stack overflow", "const f = (n) => f(n + 1) + 1;\nexport const handle = () => f(0);", "{}", "thrown: RangeError: Maximum call stack size exceeded..."),
        ("syntax error", "export const handle = (req, res) => {\n  return res.data = ;\n};", "{}", "compile: SyntaxError: unexpected token in expression: ';' (syntax error:2:22)"),
        ("missing handle", "export const parse = () => 1;", "{}", "compile: the module does not export a `handle` function: write `export const handle = async (request, response) => { ... }`"),
        ("handle not a function", "export const handle = 42;", "{}", "compile: the module does not export a `handle` function..."),
        ("script, not module", "function handle(req, res) { res.data = 1; }", "{}", "compile: the module does not export a `handle` function..."),
        ("nul in source", "export const handle = () => '\0';", "{}", "compile: the source contains a NUL character"),
        ("still fine after errors", PARSE_CONTACT, r#"{"contact":{"phone":"+1 (650) 555-0100"}}"#, r#"ok {"phoneDigits":"16505550100","areaCode":"165"}"#),
    ]);
}

#[test]
fn no_host_access() {
    let probe = "export const handle = () => ['require', 'process', 'fetch', 'std', 'os', 'Deno', 'Bun', 'XMLHttpRequest', 'WebSocket', 'module', 'exports', '__switchboard_host', 'scriptArgs', 'print', 'setImmediate'].filter((n) => typeof globalThis[n] !== 'undefined');";
    assert_eq!(run(probe, json!({})), "ok []");
    check_table(&[
        ("import fs", "import fs from 'fs';\nexport const handle = () => fs.readFileSync('/etc/passwd', 'utf8');", "{}", "compile: ReferenceError: Error resolving module 'fs' from 'import fs': cannot import 'fs': functions cannot import modules (there is no file system, network or process access)"),
        ("import std", "import * as std from 'std';\nexport const handle = () => std.getenv('HOME');", "{}", "compile: ReferenceError: Error resolving module 'std'..."),
        ("import os", "import * as os from 'os';\nexport const handle = () => os.exec(['ls']);", "{}", "compile: ReferenceError: Error resolving module 'os'..."),
        ("import the prelude", "import { reset } from 'switchboard:prelude';\nexport const handle = () => reset();", "{}", "compile: ReferenceError: Error resolving module 'switchboard:prelude'..."),
        ("dynamic import", "export const handle = async () => (await import('node:fs')).readFileSync('/etc/passwd');", "{}", "thrown: ReferenceError: Error resolving module 'node:fs'..."),
        ("require", "export const handle = () => require('fs');", "{}", "thrown: ReferenceError: require is not defined..."),
        ("fetch", "export const handle = async () => fetch('http://127.0.0.1/');", "{}", "thrown: ReferenceError: fetch is not defined..."),
        ("process.env", "export const handle = () => process.env.HOME;", "{}", "thrown: ReferenceError: process is not defined..."),
        ("eval", "export const handle = () => eval('1 + 1');", "{}", "thrown: TypeError: eval is not supported..."),
        ("indirect eval", "export const handle = () => (0, globalThis.eval)('var leaked = 1');", "{}", "thrown: TypeError: eval is not supported..."),
        ("Function constructor", "export const handle = () => new Function('return this')();", "{}", "thrown: TypeError: eval is not supported..."),
        ("constructor of a function", "export const handle = () => (() => {}).constructor('return globalThis')();", "{}", "thrown: TypeError: eval is not supported..."),
        ("async function constructor", "export const handle = () => (async () => {}).constructor('return 1')();", "{}", "thrown: TypeError: eval is not supported..."),
        ("Atomics.wait cannot block", "export const handle = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1e9);", "{}", "thrown: TypeError: ..."),
    ]);
}

#[test]
fn no_state_between_calls() {
    check_table(&[
        ("sets a global", "export const handle = () => { globalThis.shared = 'secret'; return typeof shared; };", "{}", r#"ok "string""#),
        ("reads the global", "export const handle = () => [typeof shared, Object.keys(globalThis).includes('shared')];", "{}", r#"ok ["undefined",false]"#),
        ("module state is per call", "let calls = 0;\nexport const handle = () => ++calls;", "{}", "ok 1"),
        ("module state is per call", "let calls = 0;\nexport const handle = () => ++calls;", "{}", "ok 1"),
        ("pollute Object.prototype", "export const handle = () => { ({}).__proto__.polluted = 1; };", "{}", "thrown: TypeError: object is not extensible..."),
        ("pollute Array.prototype", "export const handle = () => { Array.prototype.map = () => 'evil'; };", "{}", "thrown: TypeError: 'map' is read-only..."),
        ("replace Math.random", "export const handle = () => { Math.random = () => 4; };", "{}", "thrown: TypeError: ..."),
        ("replace JSON.stringify", "export const handle = () => { JSON.stringify = () => '{}'; };", "{}", "thrown: TypeError: ..."),
        ("replace console.log", "export const handle = () => { console.log = () => {}; };", "{}", "thrown: TypeError: ..."),
        ("add to a builtin function", "export const handle = () => { Array.prototype.map.stash = 'x'; };", "{}", "thrown: TypeError: object is not extensible..."),
        ("hidden intrinsic", "export const handle = () => { Object.getPrototypeOf(async function () {}).stash = 1; };", "{}", "thrown: TypeError: object is not extensible..."),
        ("iterator prototype", "export const handle = () => { Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())).stash = 1; };", "{}", "thrown: TypeError: object is not extensible..."),
        ("delete a standard global", "export const handle = () => { delete globalThis.JSON; };", "{}", "thrown: TypeError: ..."),
        ("builtins intact", "export const handle = () => [[1, 2].map((x) => x * 2), Math.random() < 1, JSON.stringify({ a: 1 }), typeof console.log, typeof Object.prototype.polluted];", "{}", r#"ok [[2,4],true,"{\"a\":1}","function","undefined"]"#),
        ("own overrides still work", "class E extends Error { constructor(m) { super(m); this.name = 'E'; } }\nexport const handle = () => { const o = { toString() { return 'o'; } }; const p = {}; p.toString = () => 'p'; p.constructor = 'c'; return [new E('m').name, `${o}${p}`, p.constructor, String(new E('x'))]; };", "{}", r#"ok ["E","op","c","E: x"]"#),
        ("pending timers are cancelled", "export const handle = () => { setTimeout(() => { globalThis.late = 1; }, 0); return 'done'; };", "{}", r#"ok "done""#),
        ("no late timer", "export const handle = async () => { await new Promise((r) => setTimeout(r, 10)); return typeof late; };", "{}", r#"ok "undefined""#),
        ("non-configurable global", "export const handle = () => { Object.defineProperty(globalThis, 'sticky', { value: 1 }); return sticky; };", "{}", "ok 1"),
        ("is gone with its realm", "export const handle = () => typeof sticky;", "{}", r#"ok "undefined""#),
        ("freeze the global object", "export const handle = () => { Object.preventExtensions(globalThis); return Object.isExtensible(globalThis); };", "{}", "ok false"),
        ("globals work again", "export const handle = () => { globalThis.x = 1; return x; };", "{}", "ok 1"),
    ]);
}

#[test]
fn every_reachable_intrinsic_is_frozen() {
    // The lockdown's walk, redone from user code: every object reachable from the global
    // object and the syntax-only intrinsics must be frozen, and the global object's own
    // properties read-only and non-configurable.
    let walk = r#"
export const handle = () => {
  const roots = [
    globalThis,
    Object.getPrototypeOf(function* () {}),
    Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf(async function* () {}),
    // A generator's instances inherit from its own `prototype`, and that from the intrinsic.
    Object.getPrototypeOf(Object.getPrototypeOf((function* () {})())),
    Object.getPrototypeOf(Object.getPrototypeOf((async function* () {})())),
    Object.getPrototypeOf([][Symbol.iterator]()),
    Object.getPrototypeOf(new Map()[Symbol.iterator]()),
    Object.getPrototypeOf(new Set()[Symbol.iterator]()),
    Object.getPrototypeOf(''[Symbol.iterator]()),
    Object.getPrototypeOf(/a/[Symbol.matchAll]('')),
    Object.getPrototypeOf([].values().map((x) => x)),
    Object.getPrototypeOf(Iterator.from({ next: () => ({ done: true }) })),
    Object.getPrototypeOf(new Promise(() => {})),
    Object.getPrototypeOf(class {}),
  ];
  const seen = new Set();
  const open = [];
  const pending = roots.map((o, i) => [o, `root${i}`]);
  while (pending.length) {
    const [obj, path] = pending.pop();
    if ((typeof obj !== 'object' && typeof obj !== 'function') || obj === null || seen.has(obj)) continue;
    seen.add(obj);
    if (obj !== globalThis && !Object.isFrozen(obj)) open.push(path);
    pending.push([Object.getPrototypeOf(obj), `${path}.__proto__`]);
    for (const key of Reflect.ownKeys(obj)) {
      const d = Object.getOwnPropertyDescriptor(obj, key);
      if (obj === globalThis && (d.configurable || d.writable)) open.push(`global ${String(key)}`);
      const at = `${path}.${String(key)}`;
      if ('value' in d) pending.push([d.value, at]);
      else pending.push([d.get, `${at}<get>`], [d.set, `${at}<set>`]);
    }
  }
  return [seen.size > 500, open];
};"#;
    assert_eq!(run(walk, json!({})), "ok [true,[]]");
    check_table(&[
        ("override accessors", "class P extends Uint8Array {}\nexport const handle = () => { const a = []; a.push = 1; const e = new RangeError('r'); e.name = 'Custom'; const t = new P(1); t.toString = () => 't'; const o = Object.create(null); const d = Object.getOwnPropertyDescriptor(Object.prototype, 'toString'); d.set.call(o, 2); return [a.push, e.name, String(t), o.toString, d.get.call(1) === Object.prototype.toString, Object.keys(a), [1, 2].concat([3])]; };", "{}", r#"ok [1,"Custom","t",2,true,["push"],[1,2,3]]"#),
        ("override on the holder", "export const handle = () => { Object.prototype.toString = () => 'x'; };", "{}", "thrown: TypeError: Cannot assign to read only property 'toString' of a frozen intrinsic..."),
        ("override through the accessor", "export const handle = () => { Object.getOwnPropertyDescriptor(Array.prototype, 'push').set.call(Array.prototype, 1); };", "{}", "thrown: TypeError: Cannot assign to read only property 'push' of a frozen intrinsic..."),
        ("override on another intrinsic", "export const handle = () => { Math.toString = () => 'm'; };", "{}", "thrown: TypeError: object is not extensible..."),
        ("builtins still intact", "export const handle = () => [Object.prototype.toString.call([]), [].push.name, Math.toString(), typeof Uint8Array.prototype.toString];", "{}", r#"ok ["[object Array]","push","[object Math]","function"]"#),
    ]);
}

#[test]
fn timeout_interrupts_an_infinite_loop_promptly() {
    let mut engine = engine();
    let timeout = Duration::from_millis(100);
    let f = source(
        Language::Js,
        "loop@1",
        "export const handle = () => { console.log('spinning'); while (true) {} };",
        timeout,
    );
    let started = Instant::now();
    let err = engine
        .invoke(&f, &json!({}))
        .expect_err("the loop must be stopped");
    let elapsed = started.elapsed();
    assert_eq!(
        err,
        FunctionError::Timeout {
            after: timeout,
            logs: "spinning".into()
        }
    );
    assert!(elapsed >= timeout, "stopped early: {elapsed:?}");
    // The interrupt fires within a few ms of the deadline; the bound is loose for noisy CI.
    assert!(
        elapsed - timeout < Duration::from_millis(200),
        "overshoot {:?}",
        elapsed - timeout
    );
    // The engine carries on.
    let ok = engine.invoke(&source(Language::Js, "pc@1", PARSE_CONTACT, T), &john_doe());
    assert_eq!(
        render(&ok),
        r#"ok {"phoneDigits":"4155550132","areaCode":"415"}"#
    );
}

#[test]
fn timeout_covers_every_way_of_never_finishing() {
    let short = Duration::from_millis(80);
    let cases = [
        ("sleeping timer", "export const handle = async () => { await new Promise((r) => setTimeout(r, 60000)); };"),
        ("microtask storm", "export const handle = async () => { const spin = () => Promise.resolve().then(spin); spin(); await new Promise(() => {}); };"),
        ("catastrophic regex", "export const handle = () => /^(a+)+$/.test('a'.repeat(40) + 'b');"),
        ("busy interval", "export const handle = async () => { setInterval(() => {}, 0); await new Promise(() => setTimeout(() => {}, 60000)); };"),
        ("loop after returning", "export const handle = () => { Promise.resolve().then(() => { for (;;) {} }); return 1; };"),
        ("top-level loop", "for (;;) {}\nexport const handle = () => 1;"),
    ];
    let mut engine = engine();
    for (name, code) in cases {
        let started = Instant::now();
        let result = engine.invoke(&source(Language::Js, name, code, short), &json!({}));
        let elapsed = started.elapsed();
        assert_eq!(render(&result), "timeout", "case `{name}`");
        assert!(
            elapsed < short + Duration::from_millis(300),
            "case `{name}` took {elapsed:?}"
        );
    }
    assert_eq!(
        render(&engine.invoke(
            &source(
                Language::Js,
                "after",
                "export const handle = () => 'alive';",
                T
            ),
            &json!({})
        )),
        r#"ok "alive""#
    );
}

#[test]
fn timeout_is_clamped_to_the_limit() {
    let limits = Limits {
        max_timeout: Duration::from_millis(50),
        ..Limits::default()
    };
    let mut engine = JsEngine::new(limits);
    let f = source(
        Language::Js,
        "loop",
        "export const handle = () => { for (;;) {} };",
        Duration::from_secs(3600),
    );
    let err = engine.invoke(&f, &json!({})).expect_err("clamped");
    assert_eq!(err.kind(), "timeout");
    assert_eq!(
        err,
        FunctionError::Timeout {
            after: Duration::from_millis(50),
            logs: String::new()
        }
    );
}

#[test]
fn memory_cap_fails_cleanly_and_the_engine_recovers() {
    let cases = [
        ("huge array", "export const handle = () => { new Array(1e9).fill(1); };"),
        ("string doubling", "export const handle = () => { let s = 'x'; for (;;) s += s; };"),
        ("object growth", "export const handle = () => { const all = []; for (;;) all.push({ i: all.length, pad: 'x'.repeat(64) }); };"),
        ("typed array", "export const handle = () => new Uint8Array(1024 * 1024 * 1024).length;"),
    ];
    let mut engine = engine();
    for (name, code) in cases {
        let result = engine.invoke(
            &source(Language::Js, name, code, Duration::from_secs(20)),
            &json!({}),
        );
        assert!(
            matches!(
                result,
                Err(FunctionError::MemoryLimit { .. }) | Err(FunctionError::Thrown { .. })
            ),
            "case `{name}`: {result:?}"
        );
        if name != "typed array" {
            assert_eq!(render(&result), "memory", "case `{name}`");
        }
        let ok = engine.invoke(&source(Language::Js, "pc", PARSE_CONTACT, T), &john_doe());
        assert!(ok.is_ok(), "after `{name}`: {ok:?}");
    }
}

#[test]
fn memory_limit_is_configurable() {
    let small = Limits {
        memory_bytes: 4 << 20,
        ..Limits::default()
    };
    let mut engine = JsEngine::new(small);
    // 16 MiB of doubles does not fit in 4 MiB (plus the realm's slack of 8 MiB).
    let f = source(
        Language::Js,
        "alloc",
        "export const handle = () => new Float64Array(4 * 1024 * 1024).length;",
        T,
    );
    assert_eq!(render(&engine.invoke(&f, &json!({}))), "memory");
    let fits = source(
        Language::Js,
        "fits",
        "export const handle = () => new Float64Array(256 * 1024).length;",
        T,
    );
    assert_eq!(render(&engine.invoke(&fits, &json!({}))), "ok 262144");
}

#[test]
fn module_level_allocations_do_not_accumulate_into_a_failure() {
    // Regression: each call's module record lives until its realm is replaced, so a module
    // with a large top-level table used to hit the memory limit after a few dozen calls.
    let mut engine = engine();
    let f = source(
        Language::Js,
        "table",
        "const table = new Array(400000).fill(7);\nexport const handle = () => table.length;",
        T,
    );
    for i in 0..60 {
        let result = engine.invoke(&f, &json!({}));
        assert_eq!(render(&result), "ok 400000", "call {i}");
    }
}

#[test]
fn logs_are_capped() {
    let out = run("export const handle = () => { for (let i = 0; i < 100000; i++) console.log('line ' + i + ' ' + 'x'.repeat(40)); };", json!({}));
    assert!(out.len() < (1 << 20) + 1000, "{} bytes of logs", out.len());
    assert!(
        out.ends_with("[logs truncated at 1024 KiB]"),
        "{}",
        &out[out.len() - 200..]
    );
}

#[test]
fn bytecode_is_cached_per_key_and_source() {
    let mut engine = engine();
    let v1 = source(
        Language::Js,
        "fn@draft",
        "export const handle = () => 'v1';",
        T,
    );
    let v2 = source(
        Language::Js,
        "fn@draft",
        "export const handle = () => 'v2';",
        T,
    );
    assert_eq!(render(&engine.invoke(&v1, &json!({}))), r#"ok "v1""#);
    // Same key, new source (a draft edited in place): compiled again, not served stale.
    assert_eq!(render(&engine.invoke(&v2, &json!({}))), r#"ok "v2""#);
    assert_eq!(render(&engine.invoke(&v1, &json!({}))), r#"ok "v1""#);
}

#[test]
fn jobs_of_a_timed_out_call_do_not_run_in_the_next_one() {
    // Regression: QuickJS keeps pending jobs in the runtime, not the context, so discarding
    // only the realm after a timeout let a microtask storm run on in the next call's time.
    let mut engine = engine();
    let storm = "export const handle = async () => { const spin = () => Promise.resolve().then(spin); spin(); await new Promise(() => {}); };";
    let result = engine.invoke(
        &source(Language::Js, "storm", storm, Duration::from_millis(50)),
        &json!({}),
    );
    assert_eq!(render(&result), "timeout");
    let started = Instant::now();
    let next = engine.invoke(
        &source(
            Language::Js,
            "next",
            "export const handle = () => 'next';",
            Duration::from_secs(2),
        ),
        &json!({}),
    );
    assert_eq!(render(&next), r#"ok "next""#);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the next call took {:?}",
        started.elapsed()
    );
}

#[test]
fn errors_expose_their_kind_and_logs() {
    let mut engine = engine();
    let f = source(
        Language::Js,
        "k",
        "export const handle = () => { console.warn('w'); throw new Error('e'); };",
        T,
    );
    let err = engine.invoke(&f, &json!({})).expect_err("throws");
    assert_eq!(err.kind(), "thrown");
    assert!(err.is_user_error());
    assert_eq!(err.logs(), "WARN: w");
    assert_eq!(err.to_string(), "Error: e");
}
