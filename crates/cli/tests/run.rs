//! `switchboard flow run` end to end: the guide's basic flow, a flow calling a mocked
//! function (result and error), mocked and refused HTTP, a scripted caller, the JSON shape
//! with secure variables masked, and the exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value as Json};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env("NO_COLOR", "1")
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const NOW: &str = "2026-01-15T09:12:00Z";

fn write(dir: &tempfile::TempDir, name: &str, v: &Json) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_basic_flow_greets_and_disconnects() {
    let (code, out, err) = run(&[
        "flow",
        "run",
        "tests/fixtures/seeds/basic-flow.json",
        "--now",
        NOW,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "SamplePlayMessageFlow (tests/fixtures/seeds/basic-flow.json), started 2026-01-15T09:12:00Z
 +0s  NewContact         start               out -> WelcomeMessage
 +0s  WelcomeMessage     play-message        out -> DisconnectContact  says \"Thank you for calling. Goodbye.\"
 +0s  DisconnectContact  disconnect-contact  (end)
status: completed (disconnected)
variables: (none)
"
    );
}

/// parseContact from the guide: the contact in, phoneDigits and areaCode out; the error
/// port plays an apology. `Token` is secure.
fn function_flow() -> Json {
    json!({
        "name": "ParseCaller", "flowType": "FLOW", "contactType": "telephony",
        "variables": [
            {"name": "Phone", "type": "STRING", "value": "(415) 555-0132"},
            {"name": "Digits", "type": "STRING", "value": ""},
            {"name": "Area", "type": "STRING", "value": ""},
            {"name": "Token", "type": "STRING", "value": "s3cr3t", "isSecure": true}
        ],
        "nodes": [
            {"id": "n0", "name": "NewContact", "activityType": "start", "properties": {
                "activityName": "start", "flowType": {
                    "eventSourceName": "WebexContactCenter",
                    "eventClassificationName": "VoiceInteractions",
                    "eventSpecificationName": "ContactStartWorkflow"}}},
            {"id": "n1", "name": "Parse", "activityType": "action", "properties": {
                "activityName": "function", "functionName": "parseContact",
                "inputMappings": {"contact": {"phone": "{{ Phone }}", "token": "{{ Token }}"}},
                "outputMappings": {"phoneDigits": "Digits", "areaCode": "Area"}}},
            {"id": "n2", "name": "Sorry", "activityType": "action", "properties": {
                "activityName": "play-message",
                "prompt": {"promptType": "text", "text": "Sorry, something went wrong."}}},
            {"id": "n3", "name": "Bye", "activityType": "end", "properties": {
                "activityName": "disconnect-contact"}}
        ],
        "edges": [
            {"id": "e0", "from": "NewContact", "to": "Parse", "condition": "out"},
            {"id": "e1", "from": "Parse", "to": "Bye", "condition": "out"},
            {"id": "e2", "from": "Parse", "to": "Sorry", "condition": "error"},
            {"id": "e3", "from": "Sorry", "to": "Bye", "condition": "out"}
        ]
    })
}

#[test]
fn a_mocked_function_maps_its_result_into_variables() {
    let dir = tempfile::tempdir().unwrap();
    let flow = write(&dir, "flow.json", &function_flow());
    let mocks = write(
        &dir,
        "functions.json",
        &json!({"parseContact": {"result": {"phoneDigits": "4155550132", "areaCode": "415"}}}),
    );
    let (code, out, err) = run(&[
        "flow",
        "run",
        s(&flow),
        "--mock-function",
        s(&mocks),
        "--now",
        NOW,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Parse       function            out -> Bye  Digits := \"4155550132\", Area := \"415\", result={\"phoneDigits\":\"4155550132\",\"areaCode\":\"415\"}"),
        "{out}"
    );
    assert!(out.contains("status: completed (disconnected)"), "{out}");
    assert!(out.contains("  Digits = \"4155550132\"\n"), "{out}");
    assert!(out.contains("  Token  = ******\n"), "{out}");
    assert!(!out.contains("s3cr3t"), "{out}");

    // The same as JSON: {status, variables, trace}, secure values masked everywhere.
    let (code, out, _) = run(&[
        "flow",
        "run",
        s(&flow),
        "--mock-function",
        s(&mocks),
        "--now",
        NOW,
        "--output",
        "json",
    ]);
    assert_eq!(code, 0);
    let v: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], json!("completed"));
    assert_eq!(
        v["variables"],
        json!({"Phone": "(415) 555-0132", "Digits": "4155550132", "Area": "415", "Token": "******"})
    );
    let parse = v["trace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["node"] == "Parse" && r["phase"] == "completed")
        .unwrap();
    assert_eq!(parse["port"], json!("out"));
    assert!(!out.contains("s3cr3t"), "{out}");
}

#[test]
fn a_failing_or_missing_function_takes_the_error_port() {
    let dir = tempfile::tempdir().unwrap();
    let flow = write(&dir, "flow.json", &function_flow());
    let mocks = write(
        &dir,
        "functions.json",
        &json!({"parseContact": {"error": {"kind": "timeout", "message": "took too long"}}}),
    );
    let (code, out, _) = run(&[
        "flow",
        "run",
        s(&flow),
        "--mock-function",
        s(&mocks),
        "--now",
        NOW,
    ]);
    assert_eq!(code, 0, "the error port handled it: {out}");
    assert!(
        out.contains("error -> Sorry  !! TIMEOUT: Node 'Parse': function 'parseContact' (Live): took too long"),
        "{out}"
    );

    let (code, out, _) = run(&["flow", "run", s(&flow), "--now", NOW]);
    assert_eq!(code, 0);
    assert!(
        out.contains("function 'parseContact' (Live): no mock for function parseContact"),
        "{out}"
    );
}

fn http_flow(with_error_port: bool) -> Json {
    let mut edges = vec![
        json!({"id": "e0", "from": "NewContact", "to": "Lookup", "condition": "out"}),
        json!({"id": "e1", "from": "Lookup", "to": "Ask", "condition": "out"}),
        json!({"id": "e2", "from": "Ask", "to": "Bye", "condition": "digit", "properties": {"digit": "1"}}),
    ];
    if with_error_port {
        edges.push(json!({"id": "e3", "from": "Lookup", "to": "Bye", "condition": "error"}));
    }
    json!({
        "name": "Lookup", "flowType": "FLOW", "contactType": "telephony",
        "variables": [{"name": "Tier", "type": "STRING", "value": "unknown"}],
        "nodes": [
            {"id": "n0", "name": "NewContact", "activityType": "start", "properties": {
                "activityName": "start", "flowType": {
                    "eventSourceName": "WebexContactCenter",
                    "eventClassificationName": "VoiceInteractions",
                    "eventSpecificationName": "ContactStartWorkflow"}}},
            {"id": "n1", "name": "Lookup", "activityType": "action", "properties": {
                "activityName": "http-request",
                "url": "https://crm.example.com/customers/{{ NewContact.ANI }}",
                "parseSettings": [{"outputVariable": "Tier", "pathExpression": "$.tier"}]}},
            {"id": "n2", "name": "Ask", "activityType": "action", "properties": {
                "activityName": "menu", "maxAttempts": 1,
                "prompt": {"promptType": "text", "text": "Hello {{ Tier }} customer, press 1."}}},
            {"id": "n3", "name": "Bye", "activityType": "end", "properties": {
                "activityName": "disconnect-contact"}}
        ],
        "edges": edges
    })
}

#[test]
fn mocked_http_and_a_scripted_caller_drive_the_flow() {
    let dir = tempfile::tempdir().unwrap();
    let flow = write(&dir, "flow.json", &http_flow(false));
    let http = write(
        &dir,
        "http.json",
        &json!([{"method": "GET", "url": "https://crm.example.com/customers/*", "body": {"tier": "gold"}}]),
    );
    let start = write(&dir, "start.json", &json!({"ANI": "+14155550100"}));
    let (code, out, err) = run(&[
        "flow",
        "run",
        s(&flow),
        "--mock-http",
        s(&http),
        "--start-data",
        s(&start),
        "--caller",
        "digits:1",
        "--now",
        NOW,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Tier := \"gold\", httpStatusCode=200"),
        "{out}"
    );
    assert!(
        out.contains(" Ask         menu                digit -> Bye  digit=\"1\"\n"),
        "{out}"
    );
    assert!(out.contains("  Tier = \"gold\""), "{out}");
}

#[test]
fn without_a_mock_http_is_refused_and_an_unhandled_error_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let flow = write(&dir, "flow.json", &http_flow(false));
    let (code, out, _) = run(&["flow", "run", s(&flow), "--now", NOW]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("status: failed: CONNECTION_FAILED at Lookup (http-request)"),
        "{out}"
    );
    assert!(
        out.contains("no mock for GET https://crm.example.com/customers/"),
        "{out}"
    );

    let flow = write(&dir, "handled.json", &http_flow(true));
    let (code, out, _) = run(&["flow", "run", s(&flow), "--now", NOW]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Lookup      http-request        error -> Bye"),
        "{out}"
    );
}

#[test]
fn an_invalid_flow_is_reported_like_validate_and_not_run() {
    let bad = "crates/validate/test_data/err/invalid-port-guide.json";
    let (code, out, _) = run(&["flow", "run", bad]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with(&format!("{bad}:55:20: error[INVALID_PORT]")),
        "{out}"
    );
    assert!(out.contains("not run"), "{out}");

    let (code, out, _) = run(&["flow", "run", bad, "--output", "json"]);
    assert_eq!(code, 1);
    let v: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], json!(false));
    assert_eq!(v["errors"][0]["code"], json!("INVALID_PORT"));
}

#[test]
fn bad_options_exit_two() {
    let basic = "tests/fixtures/seeds/basic-flow.json";
    let (code, _, err) = run(&["flow", "run", basic, "--caller", "press:1"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown item 'press:1'"), "{err}");
    let (code, _, err) = run(&["flow", "run", basic, "--now", "yesterday"]);
    assert_eq!(code, 2);
    assert!(err.contains("RFC 3339"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let mocks = write(&dir, "m.json", &json!({"f": {"oops": 1}}));
    let (code, _, err) = run(&["flow", "run", basic, "--mock-function", s(&mocks)]);
    assert_eq!(code, 2);
    assert!(err.contains("function mocks must be an object"), "{err}");
}
