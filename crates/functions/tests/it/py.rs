//! Python: the conformance table, then the isolation and limit tests.
//!
//! Python functions are not sandboxed the way JavaScript ones are (see the crate docs); these
//! tests check what the crate does claim: scrubbed environment, private working directory, no
//! inherited descriptors, fresh module globals, memory and time limits, captured output.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_functions::{
    resolve_python, FunctionError, Language, Limits, Python, PythonWorker,
};

use crate::support::{john_doe, matches, render, source};

const T: Duration = Duration::from_secs(10);

pub const PARSE_CONTACT_PY: &str = "def handle(request, response):\n    phone_digits = ''.join(c for c in str(request.inputs.contact.phone) if c.isdigit())\n    response.data = {'phoneDigits': phone_digits, 'areaCode': phone_digits[:3]}\n    return response\n";

async fn python() -> Python {
    resolve_python(None)
        .await
        .expect("python3 must be installed to run these tests")
}

async fn worker() -> PythonWorker {
    PythonWorker::spawn(&python().await, &Limits::default()).expect("worker starts")
}

/// Runs every row on one worker, replacing it when a row leaves it unusable.
async fn check_table(rows: &[(&str, &str, &str, &str)]) {
    let py = python().await;
    let mut w = PythonWorker::spawn(&py, &Limits::default()).expect("worker starts");
    let mut failures = Vec::new();
    for (name, code, inputs, expected) in rows {
        let inputs: serde_json::Value = serde_json::from_str(inputs).expect("test inputs are JSON");
        let f = source(Language::Py, name, code, T);
        let actual = render(&w.invoke(&f, &inputs, T).await);
        if let Err(e) = matches(name, &actual, expected) {
            failures.push(e);
        }
        if !w.is_usable() {
            w = PythonWorker::spawn(&py, &Limits::default()).expect("worker starts");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn parse_contact_in_python() {
    let mut w = worker().await;
    let f = source(Language::Py, "parseContactPy@1", PARSE_CONTACT_PY, T);
    let out = w.invoke(&f, &john_doe(), T).await.expect("runs");
    assert_eq!(
        out.result,
        json!({"phoneDigits": "4155550132", "areaCode": "415"})
    );
    assert_eq!(out.logs, "");
    // Warm, and without sending the source again.
    let again = w.invoke(&f, &john_doe(), T).await.expect("runs again");
    assert_eq!(again.result, out.result);
    assert!(
        w.version().is_some_and(|v| v.starts_with('3')),
        "{:?}",
        w.version()
    );
}

#[tokio::test]
async fn conformance_handlers() {
    check_table(&[
        ("return the response", "def handle(request, response):\n    response.data = {'n': request.inputs['n'] * 2}\n    return response\n", r#"{"n": 21}"#, r#"ok {"n":42}"#),
        ("return None", "def handle(request, response):\n    response.data = 'set'\n", "{}", r#"ok "set""#),
        ("mutate data in place", "def handle(request, response):\n    response.data['a'] = 1\n    response.data.b = [True, None]\n", "{}", r#"ok {"a":1,"b":[true,null]}"#),
        ("untouched data is {}", "def handle(request, response):\n    pass\n", "{}", "ok {}"),
        ("return a dict with data", "def handle(request, response):\n    return {'data': {'wrapped': True}}\n", "{}", r#"ok {"wrapped":true}"#),
        ("return a plain value", "def handle(request, response):\n    return [1, 2]\n", "{}", "ok [1,2]"),
        ("attribute and item access", "def handle(request, response):\n    c = request.inputs.contact\n    response.data = [c.name, c['phone'], request['inputs']['contact'].get('missing', 'dflt'), hasattr(c, 'nope')]\n", r#"{"contact":{"name":"Ann","phone":"1"}}"#, r#"ok ["Ann","1","dflt",false]"#),
        ("async def", "import asyncio\n\nasync def helper(x):\n    await asyncio.sleep(0.001)\n    return x * 2\n\nasync def handle(request, response):\n    response.data = await asyncio.gather(helper(1), helper(2))\n", "{}", "ok [2,4]"),
        ("async without asyncio", "async def two():\n    return 2\n\nasync def handle(request, response):\n    response.data = await two()\n", "{}", "ok 2"),
        ("helpers and classes", "from dataclasses import dataclass\n\n@dataclass\nclass P:\n    x: int\n\ndef handle(request, response):\n    response.data = P(3).x\n", "{}", "ok 3"),
        ("stdlib", "import re, json, math, datetime\n\ndef handle(request, response):\n    response.data = [re.sub(r'\\D', '', '(415) 555'), json.loads('[1]'), math.floor(2.7), datetime.date(2024, 1, 2).isoformat()]\n", "{}", r#"ok ["415555",[1],2,"2024-01-02"]"#),
    ])
    .await;
}

#[tokio::test]
async fn conformance_json_and_output() {
    let inputs = r#"{"s":"ünïcødé ☃ 😀 \u0000 \"q\" \\ \n","n":[0,-1,1.5,-0.25,123456789.125,9007199254740991],"b":[true,false],"z":null,"o":{"nested":{"deep":[[],{}]}},"e":""}"#;
    let round_trip = format!("ok {inputs}");
    check_table(&[
        ("round trip", "def handle(request, response):\n    return {'data': request.inputs}\n", inputs, round_trip.as_str()),
        ("numbers", "def handle(request, response):\n    response.data = [0.1 + 0.2, 2 ** 53, 7 // 2, 1 / 4, -0.0]\n", "{}", "ok [0.30000000000000004,9007199254740992,3,0.25,-0.0]"),
        ("unicode", "def handle(request, response):\n    s = request.inputs.s\n    response.data = [len(s), s.upper(), ord(s[-1])]\n", r#"{"s":"é😀"}"#, r#"ok [2,"É😀",128512]"#),
        ("print", "import sys\n\ndef handle(request, response):\n    print('hello', 1, {'a': 1})\n    print('two\\nlines')\n    print('to stderr', file=sys.stderr)\n    print('no newline', end='')\n", "{}", "ok {}\nlogs:\nhello 1 {'a': 1}\ntwo\nlines\nto stderr\nno newline"),
        ("stdout fd is not the protocol", "import os\n\ndef handle(request, response):\n    os.write(1, b'{\"id\": 999, \"ok\": true}\\n')\n    response.data = 'intact'\n", "{}", r#"ok "intact""#),
        ("nan is refused", "def handle(request, response):\n    response.data = float('nan')\n", "{}", "thrown: ValueError: Out of range float values are not JSON compliant..."),
        ("set is refused", "def handle(request, response):\n    response.data = {1, 2}\n", "{}", "thrown: TypeError: Object of type set is not JSON serializable..."),
    ])
    .await;
}

#[tokio::test]
async fn conformance_errors() {
    check_table(&[
        ("raise with traceback", "def parse(contact):\n    return contact['phone'].strip()\n\ndef handle(request, response):\n    response.data = parse(request.inputs.get('contact', {}))\n", "{}", "thrown: KeyError: 'phone'\nstack:\nTraceback (most recent call last):\n  File \"function.py\", line 5, in handle\n    response.data = parse(request.inputs.get('contact', {}))\n  File \"function.py\", line 2, in parse\n    return contact['phone'].strip()\nKeyError: 'phone'"),
        ("logs before raising", "def handle(request, response):\n    print('step 1')\n    raise ValueError('step 2')\n", "{}", "thrown: ValueError: step 2\nstack:\nTraceback (most recent call last):\n  File \"function.py\", line 3, in handle\n    raise ValueError('step 2')\nValueError: step 2\nlogs:\nstep 1"),
        ("async raise", "async def handle(request, response):\n    raise RuntimeError('async boom')\n", "{}", "thrown: RuntimeError: async boom..."),
        ("top-level raise", "raise ImportError('at load')\n\ndef handle(request, response):\n    pass\n", "{}", "thrown: ImportError: at load\nstack:\nTraceback (most recent call last):\n  File \"function.py\", line 1, in <module>\n    raise ImportError('at load')\nImportError: at load"),
        ("sys.exit", "import sys\n\ndef handle(request, response):\n    sys.exit(3)\n", "{}", "thrown: SystemExit: 3..."),
        ("recursion", "def f(n):\n    return f(n + 1)\n\ndef handle(request, response):\n    f(0)\n", "{}", "thrown: RecursionError: maximum recursion depth exceeded..."),
        ("syntax error", "def handle(request, response)\n    pass\n", "{}", "compile: SyntaxError: expected ':' (function.py, line 1)"),
        ("indentation error", "def handle(request, response):\nreturn 1\n", "{}", "compile: IndentationError: expected an indented block after function definition on line 1 (function.py, line 2)"),
        ("missing handle", "def handler(request, response):\n    pass\n", "{}", "compile: function.py does not define handle(request, response)"),
        ("handle not callable", "handle = 3\n", "{}", "compile: function.py does not define handle(request, response)"),
        ("nul in source", "def handle(request, response):\n    return '\0'\n", "{}", "compile: the source contains a NUL character"),
        ("still fine after errors", PARSE_CONTACT_PY, r#"{"contact":{"phone":"+1 (650) 555-0100"}}"#, r#"ok {"phoneDigits":"16505550100","areaCode":"165"}"#),
    ])
    .await;
}

#[tokio::test]
async fn environment_is_scrubbed_and_directory_private() {
    let mut w = worker().await;
    let code = "import os, sys\n\ndef handle(request, response):\n    open('scratch.txt', 'w').write('x')\n    response.data = {'env': sorted(os.environ), 'cwd': os.getcwd(), 'files': sorted(os.listdir('.')), 'site': [p for p in sys.path if 'site-packages' in p]}\n";
    let out = w
        .invoke(&source(Language::Py, "env", code, T), &json!({}), T)
        .await
        .expect("runs");
    assert_eq!(
        out.result["env"],
        json!(["HOME", "LANG", "LC_ALL", "PATH", "TMPDIR"])
    );
    assert_eq!(out.result["site"], json!([]));
    let cwd = PathBuf::from(out.result["cwd"].as_str().unwrap_or_default());
    assert_eq!(cwd.canonicalize().ok(), w.dir().canonicalize().ok());
    assert!(
        cwd.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("switchboard-py-")),
        "{cwd:?}"
    );
    assert_ne!(std::env::current_dir().ok(), Some(cwd.clone()));
    assert_eq!(out.result["files"], json!(["scratch.txt"]));
    // A file one call writes is gone before the next call.
    let list = "import os\n\ndef handle(request, response):\n    response.data = sorted(os.listdir('.'))\n";
    let next = w
        .invoke(&source(Language::Py, "ls", list, T), &json!({}), T)
        .await
        .expect("runs");
    assert_eq!(next.result, json!([]));
    // The directory goes with the worker.
    let dir = w.dir().to_path_buf();
    w.kill().await;
    drop(w);
    assert!(!dir.exists(), "{dir:?} survived its worker");
}

#[tokio::test]
async fn no_inherited_descriptors() {
    let mut w = worker().await;
    let code = "import os, stat\n\ndef handle(request, response):\n    kinds = {}\n    for fd in os.listdir('/proc/self/fd'):\n        try:\n            kinds[fd] = os.readlink('/proc/self/fd/' + fd)\n        except OSError:\n            pass\n    response.data = kinds\n";
    let out = w
        .invoke(&source(Language::Py, "fds", code, T), &json!({}), T)
        .await
        .expect("runs");
    let fds = out.result.as_object().cloned().unwrap_or_default();
    assert_eq!(fds.get("0"), Some(&json!("/dev/null")), "{fds:?}");
    assert_eq!(fds.get("1"), Some(&json!("/dev/null")), "{fds:?}");
    for (fd, target) in &fds {
        let target = target.as_str().unwrap_or_default();
        let allowed = target == "/dev/null"
            || target.starts_with("pipe:")
            || target.starts_with("socket:")
            || target.starts_with("anon_inode:")
            || target.starts_with("/proc/");
        assert!(
            allowed,
            "fd {fd} -> {target} leaked into the worker: {fds:?}"
        );
    }
}

#[tokio::test]
async fn module_globals_are_fresh_each_call() {
    let mut w = worker().await;
    let f = source(Language::Py, "counter", "calls = 0\n\ndef handle(request, response):\n    global calls\n    calls += 1\n    response.data = calls\n", T);
    for _ in 0..3 {
        assert_eq!(render(&w.invoke(&f, &json!({}), T).await), "ok 1");
    }
}

#[tokio::test]
async fn state_left_behind_retires_the_worker() {
    let cases = [
        ("thread", "import threading, time\n\ndef handle(request, response):\n    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"),
        ("builtin", "import builtins\n\ndef handle(request, response):\n    builtins.len = lambda x: 0\n"),
        ("environment", "import os\n\ndef handle(request, response):\n    os.environ['LEAK'] = '1'\n"),
    ];
    for (name, code) in cases {
        let mut w = worker().await;
        let out = w
            .invoke(&source(Language::Py, name, code, T), &json!({}), T)
            .await;
        assert!(out.is_ok(), "{name}: {out:?}");
        assert!(!w.is_usable(), "{name}: the worker should be replaced");
    }
}

#[tokio::test]
async fn timeout_kills_the_worker_and_keeps_the_logs() {
    let mut w = worker().await;
    // Warm first so the deadline measures the call, not the interpreter's start.
    w.invoke(
        &source(Language::Py, "warm", "def handle(q, r):\n    pass\n", T),
        &json!({}),
        T,
    )
    .await
    .expect("warm");
    let timeout = Duration::from_millis(300);
    let f = source(
        Language::Py,
        "spin",
        "def handle(request, response):\n    print('spinning')\n    while True:\n        pass\n",
        timeout,
    );
    let started = Instant::now();
    let err = w
        .invoke(&f, &json!({}), timeout)
        .await
        .expect_err("must time out");
    let elapsed = started.elapsed();
    assert_eq!(
        err,
        FunctionError::Timeout {
            after: timeout,
            logs: "spinning".into()
        }
    );
    assert!(
        elapsed >= timeout && elapsed - timeout < Duration::from_millis(300),
        "{elapsed:?}"
    );
    assert!(!w.is_usable());
}

#[tokio::test]
async fn memory_limit() {
    let cases = [
        (
            "bytearray",
            "def handle(request, response):\n    response.data = len(bytearray(1 << 30))\n",
        ),
        (
            "list growth",
            "def handle(request, response):\n    response.data = len([0] * (10 ** 9))\n",
        ),
        (
            "string doubling",
            "def handle(request, response):\n    s = 'x'\n    while True:\n        s += s\n",
        ),
    ];
    for (name, code) in cases {
        let mut w = worker().await;
        let result = w
            .invoke(&source(Language::Py, name, code, T), &json!({}), T)
            .await;
        assert_eq!(render(&result), "memory", "case `{name}`");
        assert!(
            !w.is_usable(),
            "a worker that ran out of memory is replaced"
        );
    }
    // Within the cap is fine: 32 MiB of the default 64 MiB.
    let mut w = worker().await;
    let fits = "def handle(request, response):\n    response.data = len(bytearray(32 << 20))\n";
    assert_eq!(
        render(
            &w.invoke(&source(Language::Py, "fits", fits, T), &json!({}), T)
                .await
        ),
        "ok 33554432"
    );
}

#[tokio::test]
async fn missing_python_is_reported_clearly() {
    let err = resolve_python(Some(std::path::Path::new("/nonexistent/bin/python3")))
        .await
        .expect_err("no such interpreter");
    assert_eq!(err.kind(), "unavailable");
    let text = err.to_string();
    assert!(
        text.contains("Python functions need CPython 3.8 or newer"),
        "{text}"
    );
    assert!(text.contains("/nonexistent/bin/python3"), "{text}");
    assert!(text.contains("was not found"), "{text}");
}

#[tokio::test]
async fn source_is_sent_once_per_key_and_recompiled_when_it_changes() {
    let mut w = worker().await;
    let v1 = source(
        Language::Py,
        "fn@draft",
        "def handle(q, r):\n    r.data = 'v1'\n",
        T,
    );
    let v2 = source(
        Language::Py,
        "fn@draft",
        "def handle(q, r):\n    r.data = 'v2'\n",
        T,
    );
    assert_eq!(render(&w.invoke(&v1, &json!({}), T).await), r#"ok "v1""#);
    assert_eq!(render(&w.invoke(&v1, &json!({}), T).await), r#"ok "v1""#);
    assert_eq!(render(&w.invoke(&v2, &json!({}), T).await), r#"ok "v2""#);
    assert_eq!(render(&w.invoke(&v1, &json!({}), T).await), r#"ok "v1""#);
}

#[tokio::test]
async fn logs_are_capped() {
    let mut w = worker().await;
    let code = "def handle(request, response):\n    print('x' * (3 << 20), end='')\n    for i in range(50000):\n        print('line', i, 'y' * 40)\n    response.data = 'done'\n";
    let out = w
        .invoke(&source(Language::Py, "chatty", code, T), &json!({}), T)
        .await
        .expect("runs");
    assert_eq!(out.result, json!("done"));
    assert!(
        out.logs.len() <= (1 << 20) + 100,
        "{} bytes of logs",
        out.logs.len()
    );
    assert!(
        out.logs.ends_with("[logs truncated at 1024 KiB]"),
        "{}",
        &out.logs[out.logs.len().saturating_sub(100)..]
    );
}
