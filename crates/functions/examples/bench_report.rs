//! The custom-function benchmark behind `bench/functions/run.sh`: parseContact through the
//! QuickJS engine (warm, new function version, new realm, new engine) and the host, through
//! CPython workers, and beside the same handler in a fresh `node` process per call and in one
//! warm node process using `vm`, all in one run. Prints a Markdown table (and the raw figures
//! as JSON with `--json`).
//!
//! ```text
//! cargo run --release -p switchboard-functions --example bench_report [-- --quick] [--json]
//! ```

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_functions::{
    resolve_python, FunctionHost, FunctionSource, HostConfig, JsEngine, Language, Limits,
    PythonWorker,
};

const PARSE_CONTACT: &str = "export const handle = async (request, response) => {\n  const phoneDigits = String(request.inputs.contact.phone).replace(/\\D/g, \"\");\n  response.data = { phoneDigits, areaCode: phoneDigits.slice(0, 3) };\n  return response;\n};";
const PARSE_CONTACT_PY: &str = "def handle(request, response):\n    phone_digits = ''.join(c for c in str(request.inputs.contact.phone) if c.isdigit())\n    response.data = {'phoneDigits': phone_digits, 'areaCode': phone_digits[:3]}\n    return response\n";

fn inputs() -> serde_json::Value {
    json!({"contact": {"name": "John Doe", "phone": "(415) 555-0132"}})
}

fn expected() -> serde_json::Value {
    json!({"phoneDigits": "4155550132", "areaCode": "415"})
}

fn js(key: &str) -> FunctionSource {
    FunctionSource {
        key: key.into(),
        language: Language::Js,
        source: PARSE_CONTACT.into(),
        timeout: Duration::from_secs(3),
    }
}

fn py(key: &str) -> FunctionSource {
    FunctionSource {
        key: key.into(),
        language: Language::Py,
        source: PARSE_CONTACT_PY.into(),
        timeout: Duration::from_secs(3),
    }
}

/// p50 and p99 in microseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at =
        |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)].as_secs_f64() * 1e6;
    (at(50), at(99))
}

fn time<F: FnMut()>(n: usize, mut f: F) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

struct Row {
    metric: String,
    value: String,
    goal: String,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let as_json = std::env::args().any(|a| a == "--json");
    let scale = if quick { 10 } else { 1 };
    let bench_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/functions");
    let mut raw = serde_json::Map::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut row = |metric: &str, value: String, goal: &str| {
        rows.push(Row {
            metric: metric.into(),
            value,
            goal: goal.into(),
        });
    };

    // --- QuickJS, in process -------------------------------------------------------------
    let mut engine = JsEngine::new(Limits::default());
    let f = js("parseContact@1");
    let first = engine.invoke(&f, &inputs()).expect("parseContact runs");
    assert_eq!(first.result, expected());
    for _ in 0..2_000 {
        let _ = engine.invoke(&f, &inputs());
    }
    let (warm_p50, warm_p99) = percentiles(time(20_000 / scale, || {
        let _ = engine.invoke(&f, &inputs());
    }));
    raw.insert("js_warm_p50_us".into(), json!(warm_p50));
    raw.insert("js_warm_p99_us".into(), json!(warm_p99));
    row(
        "JS warm call, in process (JsEngine), p50 / p99",
        format!("{warm_p50:.1} µs / {warm_p99:.1} µs"),
        "p50 ≤ 50 µs",
    );

    let mut next = 0u64;
    let (cold_fn_p50, cold_fn_p99) = percentiles(time(1_000 / scale, || {
        next += 1;
        let _ = engine.invoke(&js(&format!("new@{next}")), &inputs());
    }));
    raw.insert("js_cold_function_p50_us".into(), json!(cold_fn_p50));
    row(
        "JS cold function (first call of a new version: compile + new module instance + call), p50 / p99",
        format!("{cold_fn_p50:.1} µs / {cold_fn_p99:.1} µs"),
        "",
    );

    // The issue's cold path: a call that finds no realm (new context + prelude + lockdown +
    // module instance + call, on the engine's runtime, bytecode cached). The replaced realm is
    // freed first, as the host's threads do after answering, and timed apart.
    let (mut cold, mut freeing) = (Vec::new(), Vec::new());
    for _ in 0..2_000 / scale {
        let t = Instant::now();
        engine.retire_realm();
        freeing.push(t.elapsed());
        let t = Instant::now();
        let _ = engine.invoke(&f, &inputs());
        cold.push(t.elapsed());
    }
    let (cold_p50, cold_p99) = percentiles(cold);
    let (free_p50, free_p99) = percentiles(freeing);
    raw.insert("js_cold_realm_p50_us".into(), json!(cold_p50));
    raw.insert("js_cold_realm_p99_us".into(), json!(cold_p99));
    raw.insert("js_free_realm_p50_us".into(), json!(free_p50));
    row(
        "JS cold call (new context + prelude + lockdown + module instance + call; runtime reused), p50 / p99",
        format!("{cold_p50:.0} µs / {cold_p99:.0} µs"),
        "≤ 400 µs",
    );
    row(
        "JS freeing a replaced realm (one collection pass, after the answer), p50 / p99",
        format!("{free_p50:.0} µs / {free_p99:.0} µs"),
        "",
    );

    let (cold_engine_p50, _) = percentiles(time(200 / scale, || {
        let mut e = JsEngine::new(Limits::default());
        let _ = e.invoke(&f, &inputs());
    }));
    raw.insert("js_new_engine_p50_us".into(), json!(cold_engine_p50));
    row(
        "JS new engine (runtime + context + lockdown + compile + call + freeing it all), p50",
        format!("{:.2} ms", cold_engine_p50 / 1000.0),
        "(off the request path)",
    );

    // Throughput: two threads, each with its own engine, as the host's pool runs them.
    let run_for = Duration::from_secs(if quick { 1 } else { 3 });
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (count, stop) = (count.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut e = JsEngine::new(Limits::default());
                let f = js("parseContact@1");
                while !stop.load(Ordering::Relaxed) {
                    if e.invoke(&f, &inputs()).is_ok() {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let before = count.load(Ordering::Relaxed);
    std::thread::sleep(run_for);
    let engine_rate = (count.load(Ordering::Relaxed) - before) as f64 / run_for.as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    raw.insert("js_engine_calls_per_s_2_threads".into(), json!(engine_rate));
    row(
        "JS throughput, 2 engine threads",
        format!("{engine_rate:.0} calls/s"),
        "≥ 20,000 calls/s",
    );

    // Timeout precision: how long past the deadline an infinite loop runs.
    let spin = FunctionSource {
        key: "spin".into(),
        language: Language::Js,
        source: "export const handle = () => { while (true) {} };".into(),
        timeout: Duration::from_millis(50),
    };
    let overshoot: Vec<Duration> = (0..20)
        .map(|_| {
            // As the host's threads do after every answer: rebuild what the last call discarded.
            let _ = engine.warm_up();
            let t = Instant::now();
            let _ = engine.invoke(&spin, &json!({}));
            t.elapsed().saturating_sub(spin.timeout)
        })
        .collect();
    let max_overshoot = overshoot.iter().max().copied().unwrap_or_default();
    let (over_p50, _) = percentiles(overshoot);
    raw.insert("js_timeout_overshoot_p50_us".into(), json!(over_p50));
    raw.insert(
        "js_timeout_overshoot_max_us".into(),
        json!(max_overshoot.as_secs_f64() * 1e6),
    );
    row(
        "JS `while(true){}` stopped after its deadline by, p50 / max",
        format!(
            "{:.2} ms / {:.2} ms",
            over_p50 / 1000.0,
            max_overshoot.as_secs_f64() * 1000.0
        ),
        "≤ 10 ms",
    );

    // --- Through the async host -------------------------------------------------------------
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let host = FunctionHost::new(HostConfig {
        js_pool_size: 2,
        py_pool_size: 2,
        ..HostConfig::default()
    });
    let (host_p50, host_p99, host_rate) = rt.block_on(async {
        for _ in 0..1_000 {
            let _ = host.invoke(&f, inputs()).await;
        }
        let mut samples = Vec::new();
        for _ in 0..5_000 / scale {
            let t = Instant::now();
            let _ = host.invoke(&f, inputs()).await;
            samples.push(t.elapsed());
        }
        let (p50, p99) = percentiles(samples);
        let done = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + run_for;
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (host, done) = (host.clone(), done.clone());
                tokio::spawn(async move {
                    let f = js("parseContact@1");
                    while Instant::now() < deadline {
                        if host.invoke(&f, inputs()).await.is_ok() {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
        (
            p50,
            p99,
            done.load(Ordering::Relaxed) as f64 / run_for.as_secs_f64(),
        )
    });
    raw.insert("js_host_p50_us".into(), json!(host_p50));
    raw.insert("js_host_calls_per_s".into(), json!(host_rate));
    row(
        "JS warm call through FunctionHost (async, thread hop), p50 / p99",
        format!("{host_p50:.1} µs / {host_p99:.1} µs"),
        "",
    );
    row(
        "JS throughput through FunctionHost (2 JS threads, 32 callers)",
        format!("{host_rate:.0} calls/s"),
        "≥ 20,000 calls/s",
    );

    // --- CPython workers ------------------------------------------------------------------
    let python = rt.block_on(resolve_python(None));
    match python {
        Ok(python) => {
            let (py_warm, py_warm_p99, py_cold, py_host) = rt.block_on(async {
                let mut w = PythonWorker::spawn(&python, &Limits::default()).expect("worker");
                let f = py("parseContactPy@1");
                let out = w
                    .invoke(&f, &inputs(), f.timeout)
                    .await
                    .expect("python parseContact");
                assert_eq!(out.result, expected());
                for _ in 0..300 {
                    let _ = w.invoke(&f, &inputs(), f.timeout).await;
                }
                let mut warm = Vec::new();
                for _ in 0..3_000 / scale {
                    let t = Instant::now();
                    let _ = w.invoke(&f, &inputs(), f.timeout).await;
                    warm.push(t.elapsed());
                }
                let mut cold = Vec::new();
                for _ in 0..20 {
                    let t = Instant::now();
                    let mut fresh =
                        PythonWorker::spawn(&python, &Limits::default()).expect("worker");
                    let _ = fresh.invoke(&f, &inputs(), f.timeout).await;
                    cold.push(t.elapsed());
                    fresh.kill().await;
                }
                let _ = host.warm_up().await;
                for _ in 0..100 {
                    let _ = host.invoke(&f, inputs()).await;
                }
                let mut via_host = Vec::new();
                for _ in 0..2_000 / scale {
                    let t = Instant::now();
                    let _ = host.invoke(&f, inputs()).await;
                    via_host.push(t.elapsed());
                }
                let (w50, w99) = percentiles(warm);
                (w50, w99, percentiles(cold).0, percentiles(via_host).0)
            });
            raw.insert("py_warm_p50_us".into(), json!(py_warm));
            raw.insert("py_cold_p50_us".into(), json!(py_cold));
            raw.insert("py_host_p50_us".into(), json!(py_host));
            row(
                "Python warm call (one worker), p50 / p99",
                format!("{py_warm:.0} µs / {py_warm_p99:.0} µs"),
                "p50 ≤ 1 ms",
            );
            row(
                "Python warm call through FunctionHost, p50",
                format!("{py_host:.0} µs"),
                "",
            );
            row(
                &format!(
                    "Python cold call (new worker process + call), p50 ({})",
                    python.version
                ),
                format!("{:.1} ms", py_cold / 1000.0),
                "≤ 15 ms",
            );
        }
        Err(e) => row("Python", format!("skipped: {e}"), ""),
    }

    // --- node, for comparison ---------------------------------------------------------------
    let node_fresh: Vec<Duration> = (0..20)
        .filter_map(|_| {
            let t = Instant::now();
            let out = Command::new("node")
                .arg(bench_dir.join("node_once.mjs"))
                .output()
                .ok()?;
            let elapsed = t.elapsed();
            let result: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            (result == expected()).then_some(elapsed)
        })
        .collect();
    if node_fresh.len() == 20 {
        let (fresh_p50, _) = percentiles(node_fresh);
        raw.insert("node_fresh_process_p50_us".into(), json!(fresh_p50));
        row(
            "node, fresh process per call (N=20), p50",
            format!("{:.1} ms", fresh_p50 / 1000.0),
            "",
        );
        row(
            "  ratio: fresh node process / warm QuickJS call",
            format!("{:.0}×", fresh_p50 / warm_p50),
            "≥ 100×",
        );
        row(
            "  ratio: fresh node process / cold QuickJS function",
            format!("{:.0}×", fresh_p50 / cold_fn_p50),
            "",
        );
    } else {
        row(
            "node, fresh process per call",
            "skipped: `node` is not available".into(),
            "",
        );
    }
    let vm = Command::new("node")
        .arg(bench_dir.join("node_vm.mjs"))
        .arg((20_000 / scale).to_string())
        .output()
        .ok()
        .and_then(|out| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok());
    match vm {
        Some(vm) => {
            let p50 = vm["warm_p50_us"].as_f64().unwrap_or(f64::NAN);
            let p99 = vm["warm_p99_us"].as_f64().unwrap_or(f64::NAN);
            let rate = vm["warm_calls_per_s"].as_f64().unwrap_or(f64::NAN);
            let fresh_ctx = vm["new_context_p50_us"].as_f64().unwrap_or(f64::NAN);
            row(
                "node, one warm process, vm.Script per call (1 thread), p50 / p99",
                format!("{p50:.1} µs / {p99:.1} µs"),
                "",
            );
            row(
                "node, one warm process, vm, calls/s (1 thread)",
                format!("{rate:.0} calls/s"),
                "",
            );
            row(
                "node, one warm process, new vm context per call, p50",
                format!("{fresh_ctx:.0} µs"),
                "",
            );
            row(
                "  ratio: warm QuickJS call / warm node vm call",
                format!("{:.1}×", warm_p50 / p50),
                "",
            );
            raw.insert("node_vm".into(), vm);
        }
        None => row("node vm", "skipped: `node` is not available".into(), ""),
    }

    if as_json {
        println!("{}", serde_json::Value::Object(raw));
        return;
    }
    println!("| metric | value | goal |");
    println!("|---|---|---|");
    for r in rows {
        println!("| {} | {} | {} |", r.metric, r.value, r.goal);
    }
}
