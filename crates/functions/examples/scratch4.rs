use std::time::{Duration, Instant};
use switchboard_functions::*;
fn src(s: &str) -> FunctionSource { FunctionSource { key: format!("k{}", s.len()), language: Language::Py, source: s.into(), timeout: Duration::from_secs(2) } }
#[tokio::main]
async fn main() {
    let py = resolve_python(None).await;
    println!("{py:?}");
    let py = py.unwrap();
    let t = Instant::now();
    let mut w = PythonWorker::spawn(&py, &Limits::default()).unwrap();
    let cases = [
        "def handle(request, response):\n    digits = ''.join(c for c in request.inputs.contact.phone if c.isdigit())\n    response.data = {'phoneDigits': digits, 'areaCode': digits[:3]}\n    return response\n",
        "def handle(request, response):\n    print('hi', 1)\n    print('no newline', end='')\n    return {'data': request.inputs['contact']['name']}\n",
        "import asyncio\nasync def handle(request, response):\n    await asyncio.sleep(0.01)\n    response.data = 'slept'\n",
        "def handle(req, res):\n    def inner():\n        return 1/0\n    inner()\n",
        "def handle(req, res)\n    pass\n",
        "x = 1\n",
        "def handle(req, res):\n    import os\n    res.data = {'cwd': os.getcwd(), 'env': dict(os.environ), 'fds': sorted(os.listdir('/proc/self/fd'))}\n",
        "def handle(req, res):\n    x = bytearray(1 << 30)\n",
        "def handle(req, res):\n    res.data = 'ünïcødé ☃ 😀'\n",
        "def handle(req, res):\n    res.data = {1, 2}\n",
    ];
    for c in cases {
        let t = Instant::now();
        let r = w.invoke(&src(c), &serde_json::json!({"contact":{"name":"John Doe","phone":"(415) 555-0132"}}), Duration::from_secs(2)).await;
        println!("--- {}\n{:?}  [{:?}] usable={}", &c[..c.len().min(60)], r, t.elapsed(), w.is_usable());
        if !w.is_usable() { w = PythonWorker::spawn(&py, &Limits::default()).unwrap(); }
    }
    let t = Instant::now();
    let r = w.invoke(&FunctionSource { timeout: Duration::from_millis(200), ..src("def handle(q, r):\n    print('before')\n    while True: pass\n") }, &serde_json::json!({}), Duration::from_millis(200)).await;
    println!("loop {:?} {:?} {}", r, t.elapsed(), w.is_usable());
    let f = src(cases[0]);
    let mut w = PythonWorker::spawn(&py, &Limits::default()).unwrap();
    let inputs = serde_json::json!({"contact":{"name":"John Doe","phone":"(415) 555-0132"}});
    let t = Instant::now(); let r = w.invoke(&f, &inputs, Duration::from_secs(2)).await; println!("cold {:?} {:?}", t.elapsed(), r.map(|o| o.result));
    let mut v = vec![];
    for _ in 0..2000 { let t = Instant::now(); w.invoke(&f, &inputs, Duration::from_secs(2)).await.unwrap(); v.push(t.elapsed()); }
    v.sort(); println!("warm p50 {:?} p99 {:?}", v[1000], v[1980]);
    let _ = t;
}
