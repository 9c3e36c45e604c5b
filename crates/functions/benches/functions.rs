//! Criterion benchmarks of parseContact: a warm QuickJS call, the first call of a new function
//! version, a call in a fresh realm (the cold path: new context + prelude + lockdown + module +
//! call, on the engine's runtime), freeing a replaced realm, a brand-new engine, and a warm
//! CPython worker call. The comparison with node and the throughput figures are in
//! `bench/functions/run.sh`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use switchboard_functions::{
    resolve_python, FunctionSource, JsEngine, Language, Limits, PythonWorker,
};

const PARSE_CONTACT: &str = "export const handle = async (request, response) => {\n  const phoneDigits = String(request.inputs.contact.phone).replace(/\\D/g, \"\");\n  response.data = { phoneDigits, areaCode: phoneDigits.slice(0, 3) };\n  return response;\n};";
const PARSE_CONTACT_PY: &str = "def handle(request, response):\n    phone_digits = ''.join(c for c in str(request.inputs.contact.phone) if c.isdigit())\n    response.data = {'phoneDigits': phone_digits, 'areaCode': phone_digits[:3]}\n    return response\n";

fn source(key: String, language: Language, code: &str) -> FunctionSource {
    FunctionSource {
        key,
        language,
        source: code.into(),
        timeout: Duration::from_secs(3),
    }
}

fn js(c: &mut Criterion) {
    let inputs = json!({"contact": {"name": "John Doe", "phone": "(415) 555-0132"}});
    let mut engine = JsEngine::new(Limits::default());
    let f = source("parseContact@1".into(), Language::Js, PARSE_CONTACT);
    c.bench_function("js/warm_call", |b| b.iter(|| engine.invoke(&f, &inputs)));
    let mut n = 0u64;
    c.bench_function("js/cold_function", |b| {
        b.iter(|| {
            n += 1;
            engine.invoke(
                &source(format!("v{n}"), Language::Js, PARSE_CONTACT),
                &inputs,
            )
        })
    });
    // The "cold": a new context with the prelude and lockdown, the module and the call.
    // The old realm is freed (one collection pass) before the clock starts, as the host's
    // threads do after answering; `js/free_realm` times that pass.
    c.bench_function("js/new_realm_and_call", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                engine.retire_realm();
                let t = Instant::now();
                black_box(engine.invoke(&f, &inputs)).ok();
                spent += t.elapsed();
            }
            spent
        })
    });
    c.bench_function("js/free_realm", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                black_box(engine.invoke(&f, &inputs)).ok();
                let t = Instant::now();
                engine.retire_realm();
                spent += t.elapsed();
            }
            spent
        })
    });
    let mut group = c.benchmark_group("js");
    group.sample_size(20);
    group.bench_function("new_engine_and_call", |b| {
        b.iter(|| JsEngine::new(Limits::default()).invoke(&f, &inputs))
    });
    group.finish();
}

fn py(c: &mut Criterion) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(_) => return,
    };
    let Ok(python) = rt.block_on(resolve_python(None)) else {
        eprintln!("python3 not found: skipping the Python benchmarks");
        return;
    };
    let inputs = json!({"contact": {"name": "John Doe", "phone": "(415) 555-0132"}});
    let f = source("parseContactPy@1".into(), Language::Py, PARSE_CONTACT_PY);
    let Ok(mut worker) = rt.block_on(async { PythonWorker::spawn(&python, &Limits::default()) })
    else {
        return;
    };
    c.bench_function("py/warm_call", |b| {
        b.iter(|| rt.block_on(worker.invoke(&f, &inputs, f.timeout)))
    });
}

criterion_group!(benches, js, py);
criterion_main!(benches);
