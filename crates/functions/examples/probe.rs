#![allow(unsafe_code)]
use rquickjs::{Context, Runtime, Module, Object, Function, Value, Promise, CatchResultExt};
use std::time::Instant;

const SRC: &str = "export const handle = async (request, response) => {\n  const phoneDigits = String(request.inputs.contact.phone).replace(/\\D/g, \"\");\n  response.data = { phoneDigits, areaCode: phoneDigits.slice(0, 3) };\n  return response;\n};";

fn time<F: FnMut()>(name: &str, n: usize, mut f: F) {
    for _ in 0..100 { f(); }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n { let t = Instant::now(); f(); v.push(t.elapsed().as_nanos()); }
    v.sort();
    println!("{name}: p50 {:.1}us p99 {:.1}us", v[n/2] as f64/1000.0, v[n*99/100] as f64/1000.0);
}

fn call<'a>(ctx: &rquickjs::Ctx<'a>, m: &Module<'a, rquickjs::module::Evaluated>) -> String {
    let h: Function = m.get("handle").unwrap();
    let req = Object::new(ctx.clone()).unwrap();
    let inputs = ctx.json_parse(r#"{"contact":{"name":"John Doe","phone":"(415) 555-0132"}}"#).unwrap();
    req.set("inputs", inputs).unwrap();
    let resp = Object::new(ctx.clone()).unwrap();
    resp.set("data", Object::new(ctx.clone()).unwrap()).unwrap();
    let p: Value = h.call((req, resp.clone())).unwrap();
    while ctx.execute_pending_job() {}
    let _ = p;
    let d: Value = resp.get("data").unwrap();
    ctx.json_stringify(d).unwrap().unwrap().to_string().unwrap()
}

fn main() {
    time("runtime new", 2000, || { let _ = Runtime::new().unwrap(); });
    let rt = Runtime::new().unwrap();
    rt.set_memory_limit(64<<20);
    time("context full", 2000, || { let _ = Context::full(&rt).unwrap(); });
    use rquickjs::context::intrinsic::*;
    time("context custom", 2000, || { let _ = Context::custom::<(Date, RegExpCompiler, RegExp, Json, MapSet, TypedArrays, Promise, BigInt, WeakRef, Proxy)>(&rt).unwrap(); });
    let ctx = Context::full(&rt).unwrap();
    let bc: Vec<u8> = ctx.with(|ctx| { let m = Module::declare(ctx.clone(), "fn", SRC).unwrap(); m.write(false).unwrap() });
    println!("bytecode len {}", bc.len());
    ctx.with(|ctx| {
        let m = Module::declare(ctx.clone(), "fn", SRC).unwrap();
        let (m, _p) = m.eval().unwrap();
        println!("{}", call(&ctx, &m));
        time("warm call same ctx", 20000, || { call(&ctx, &m); });
    });
    time("declare (compile) only", 5000, || { ctx.with(|ctx| { let _ = Module::declare(ctx.clone(), "fn", SRC).unwrap(); }); });
    time("new ctx + compile + eval + call", 5000, || { let c = Context::full(&rt).unwrap(); c.with(|ctx| { let m = Module::declare(ctx.clone(), "fn", SRC).unwrap(); let (m, _p) = m.eval().unwrap(); call(&ctx, &m); }); });
    time("new ctx + load bc + eval + call", 5000, || { let c = Context::full(&rt).unwrap(); c.with(|ctx| { let m = unsafe { Module::load(ctx.clone(), &bc).unwrap() }; let (m, _p) = m.eval().catch(&ctx).unwrap(); call(&ctx, &m); }); });
    let mut spare = Some(Context::full(&rt).unwrap());
    time("prebuilt ctx + load bc + eval + call (excl ctx create)", 5000, || { let c = spare.take().unwrap(); c.with(|ctx| { let m = unsafe { Module::load(ctx.clone(), &bc).unwrap() }; let (m, _p) = m.eval().catch(&ctx).unwrap(); call(&ctx, &m); }); drop(c); spare = Some(Context::full(&rt).unwrap()); });
    let mut spare = Some(Context::full(&rt).unwrap());
    let mut times = vec![];
    for _ in 0..5000 { let c = spare.take().unwrap(); let t = Instant::now(); c.with(|ctx| { let m = unsafe { Module::load(ctx.clone(), &bc).unwrap() }; let (m, _p) = m.eval().catch(&ctx).unwrap(); call(&ctx, &m); }); times.push(t.elapsed().as_nanos()); drop(c); spare = Some(Context::full(&rt).unwrap()); }
    times.sort(); println!("critical path only: p50 {:.1}us", times[2500] as f64/1000.0);
    let t = Instant::now(); let mut n = 0; while t.elapsed().as_secs_f64() < 1.0 { let c = Context::full(&rt).unwrap(); c.with(|ctx| { let m = unsafe { Module::load(ctx.clone(), &bc).unwrap() }; let (m, _p) = m.eval().catch(&ctx).unwrap(); call(&ctx, &m); }); n+=1; }
    println!("throughput fresh ctx/call, 1 thread: {n}/s");
}
