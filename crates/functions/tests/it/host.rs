//! The async host: both languages behind one `invoke`, concurrency, and failures that stay
//! with the call that caused them.

use std::time::Duration;

use serde_json::json;
use switchboard_functions::{FunctionError, FunctionHost, HostConfig, Language, Limits};

use crate::py::PARSE_CONTACT_PY;
use crate::support::{john_doe, render, source, PARSE_CONTACT};

const T: Duration = Duration::from_secs(10);

fn host() -> FunctionHost {
    FunctionHost::new(HostConfig {
        js_pool_size: 2,
        py_pool_size: 2,
        ..HostConfig::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parse_contact_in_both_languages() {
    let host = host();
    let expected = json!({"phoneDigits": "4155550132", "areaCode": "415"});
    let js = host
        .invoke(
            &source(Language::Js, "pc-js@1", PARSE_CONTACT, T),
            john_doe(),
        )
        .await
        .expect("js");
    assert_eq!(js.result, expected);
    let py = host
        .invoke(
            &source(Language::Py, "pc-py@1", PARSE_CONTACT_PY, T),
            john_doe(),
        )
        .await
        .expect("py");
    assert_eq!(py.result, expected);
    assert!(js.duration > Duration::ZERO && py.duration > Duration::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_get_their_own_answers() {
    let host = host();
    let js = source(Language::Js, "echo-js@1", "export const handle = async (req, res) => { await new Promise((r) => setTimeout(r, 1)); res.data = req.inputs.i * 10; };", T);
    let py = source(
        Language::Py,
        "echo-py@1",
        "def handle(req, res):\n    res.data = req.inputs.i * 10\n",
        T,
    );
    let mut tasks = Vec::new();
    for i in 0..64 {
        let host = host.clone();
        let f = if i % 4 == 0 { py.clone() } else { js.clone() };
        tasks.push(tokio::spawn(async move {
            (i, host.invoke(&f, json!({ "i": i })).await)
        }));
    }
    for task in tasks {
        let (i, result) = task.await.expect("task completes");
        assert_eq!(result.map(|o| o.result), Ok(json!(i * 10)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_call_does_not_disturb_the_others() {
    let host = host();
    let spin_js = source(
        Language::Js,
        "spin-js",
        "export const handle = () => { for (;;) {} };",
        Duration::from_millis(200),
    );
    let spin_py = source(
        Language::Py,
        "spin-py",
        "def handle(q, r):\n    while True:\n        pass\n",
        Duration::from_millis(300),
    );
    let quick = source(
        Language::Js,
        "quick",
        "export const handle = () => 'quick';",
        T,
    );
    let (a, b, c) = tokio::join!(
        host.invoke(&spin_js, json!({})),
        host.invoke(&spin_py, json!({})),
        host.invoke(&quick, json!({}))
    );
    assert_eq!(render(&a), "timeout");
    assert_eq!(render(&b), "timeout");
    assert_eq!(render(&c), r#"ok "quick""#);
    // Both pools still serve after their runaway call.
    let js_after = host
        .invoke(&source(Language::Js, "pc", PARSE_CONTACT, T), john_doe())
        .await;
    assert!(js_after.is_ok(), "{js_after:?}");
    let py_after = host
        .invoke(
            &source(Language::Py, "pc-py", PARSE_CONTACT_PY, T),
            john_doe(),
        )
        .await;
    assert!(py_after.is_ok(), "{py_after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_errors_are_reported_and_survived() {
    let host = host();
    let js = host
        .invoke(
            &source(
                Language::Js,
                "big-js",
                "export const handle = () => { new Array(1e9).fill(1); };",
                T,
            ),
            json!({}),
        )
        .await;
    assert_eq!(render(&js), "memory");
    let py = host
        .invoke(
            &source(
                Language::Py,
                "big-py",
                "def handle(q, r):\n    bytearray(1 << 30)\n",
                T,
            ),
            json!({}),
        )
        .await;
    assert_eq!(render(&py), "memory");
    assert!(host
        .invoke(&source(Language::Js, "pc", PARSE_CONTACT, T), john_doe())
        .await
        .is_ok());
    assert!(host
        .invoke(
            &source(Language::Py, "pc-py", PARSE_CONTACT_PY, T),
            john_doe()
        )
        .await
        .is_ok());
}

#[tokio::test]
async fn python_missing_is_unavailable_not_internal() {
    let host = FunctionHost::new(HostConfig {
        python: Some("/nonexistent/python3".into()),
        ..HostConfig::default()
    });
    let err = host
        .invoke(&source(Language::Py, "p", PARSE_CONTACT_PY, T), john_doe())
        .await
        .expect_err("no python");
    assert!(
        matches!(err, FunctionError::RuntimeUnavailable { .. }),
        "{err:?}"
    );
    assert!(!err.is_user_error());
    assert!(host.warm_up().await.is_err());
    // JavaScript does not care.
    assert!(host
        .invoke(&source(Language::Js, "pc", PARSE_CONTACT, T), john_doe())
        .await
        .is_ok());
}

#[tokio::test]
async fn warm_up_starts_python_workers() {
    let host = host();
    host.warm_up().await.expect("python3 is installed");
    let out = host
        .invoke(
            &source(Language::Py, "pc-py", PARSE_CONTACT_PY, T),
            john_doe(),
        )
        .await
        .expect("runs");
    assert_eq!(out.result["areaCode"], json!("415"));
}

#[tokio::test]
async fn limits_apply_through_the_host() {
    let host = FunctionHost::new(HostConfig {
        js_pool_size: 1,
        py_pool_size: 1,
        limits: Limits {
            max_timeout: Duration::from_millis(100),
            ..Limits::default()
        },
        python: None,
    });
    let err = host
        .invoke(
            &source(
                Language::Js,
                "spin",
                "export const handle = () => { for (;;) {} };",
                Duration::from_secs(60),
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        err,
        Err(FunctionError::Timeout {
            after: Duration::from_millis(100),
            logs: String::new()
        })
    );
}
