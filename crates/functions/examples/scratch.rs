use std::time::{Duration, Instant};
use switchboard_functions::*;
fn src(s: &str) -> FunctionSource { FunctionSource { key: format!("k{}", s.len()), language: Language::Js, source: s.into(), timeout: Duration::from_secs(2) } }
fn main() {
    let mut e = JsEngine::new(Limits::default());
    let cases = [
        "export const handle = async (request, response) => {\n  const phoneDigits = String(request.inputs.contact.phone).replace(/\\D/g, \"\");\n  response.data = { phoneDigits, areaCode: phoneDigits.slice(0, 3) };\n  return response;\n};",
        "export const handle = (req, res) => { console.log('hi', {a:1}, [1,2], null, undefined, 3n); console.warn('w'); console.error(new TypeError('bad')); res.data = 1; }",
        "export const handle = async () => { function inner() { throw new RangeError('boom'); }\n inner(); }",
        "export const handle = async () => { await Promise.reject(new Error('rej')) }",
        "export const handle = async () => { throw 'str' }",
        "export const handle = (",
        "export const x = 1",
        "import fs from 'fs'; export const handle = () => 1",
        "export const handle = async () => { await import('fs') }",
        "export const handle = () => typeof require + typeof process + typeof fetch + typeof std + typeof os + typeof eval + typeof globalThis.Deno",
        "export const handle = () => { return Function('return 1')() }",
        "export const handle = () => { return eval('1') }",
        "export const handle = async () => { await new Promise(r => setTimeout(r, 20)); return {slept: true} }",
        "export const handle = () => { Array.prototype.x = 1 }",
        "export const handle = () => { class E extends Error { constructor(m) { super(m); this.name = 'E'; } } const e = new E('m'); const o = {}; o.toString = () => 'x'; return e.name + String(o) }",
        "export const handle = () => { globalThis.leak = 1; return typeof leak }",
        "export const handle = () => typeof leak",
        "export const handle = () => { const f = () => f(); f() }",
        "export const handle = () => { let s = 'x'; while (true) s += s; }",
        "export const handle = () => { new Array(1e9).fill(1) }",
        "export const handle = () => Object.keys(globalThis).concat(Object.getOwnPropertyNames(globalThis)).join(',')",
        "export const handle = () => new Promise(() => {})",
        "export default function (req) { return { hi: req.inputs.contact.name } }",
        "export function handle(req, res) { res.data = 'ünïcødé ☃ 😀'; return res; }",
    ];
    for c in cases {
        let t = Instant::now();
        let r = e.invoke(&src(c), &serde_json::json!({"contact":{"name":"John Doe","phone":"(415) 555-0132"}}));
        println!("--- {}\n{:?}  [{:?}]", &c[..c.len().min(70)], r, t.elapsed());
    }
    let t = Instant::now();
    let r = e.invoke(&FunctionSource { timeout: Duration::from_millis(100), ..src("export const handle = () => { while(true){} }") }, &serde_json::json!({}));
    println!("loop {:?} {:?}", r, t.elapsed());
    let r = e.invoke(&src(cases[0]), &serde_json::json!({"contact":{"name":"John Doe","phone":"(415) 555-0132"}}));
    println!("{:?}", r.map(|o| o.result));
}
