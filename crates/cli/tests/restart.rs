//! Durability end to end: executions waiting on a timer survive SIGKILL of the server; after
//! a restart every one of them finishes exactly once. SQLite always; PostgreSQL when
//! SWITCHBOARD_TEST_DATABASE_URL is set (a fresh database per run).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Server {
    child: Child,
    base: String,
    org: String,
    token: String,
}

fn start(data: &Path, database_url: Option<&str>) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.env("NO_COLOR", "1")
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data);
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(data.with_extension("log"))
                .unwrap(),
        ))
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut base, mut org, mut token) = (String::new(), String::new(), String::new());
    while let Some(Ok(line)) = lines.next() {
        if let Some(u) = line.split("listening on ").nth(1) {
            base = u.trim().to_string();
        } else if let Some(o) = line.trim().strip_prefix("org id:") {
            org = o.trim().to_string();
        } else if let Some(t) = line.trim().strip_prefix("token:") {
            token = t.trim().to_string();
        } else if line.trim().starts_with("try:") {
            break;
        }
    }
    assert!(!base.is_empty() && !org.is_empty(), "no banner");
    Server {
        child,
        base,
        org,
        token,
    }
}

/// One API call through curl: (status, JSON body).
fn call(s: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut c = Command::new("curl");
    c.args(["-s", "-X", method, "-w", "\n%{http_code}", "-H"])
        .arg(format!("Authorization: Bearer {}", s.token))
        .args(["-H", "Content-Type: application/json"]);
    if let Some(b) = body {
        c.args(["--data-binary", &b.to_string()]);
    }
    let out = c
        .arg(format!("{}{path}", s.base))
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

fn flow_doc() -> Value {
    let node = |id: &str, name: &str, activity: &str, mut props: Value| {
        props["activityName"] = json!(activity);
        let group = catalog::Catalog::builtin()
            .activity(activity)
            .map(|a| a.group.as_str().to_owned())
            .unwrap_or_default();
        json!({"id": id, "name": name, "activityType": group, "properties": props})
    };
    json!({
        "name": "Durable", "flowType": "FLOW", "contactType": "telephony",
        "variables": [{"name": "Done", "type": "STRING", "value": ""}],
        "nodes": [
            node("n0", "Start", "start", json!({"flowType": {
                "eventSourceName": "WebexContactCenter",
                "eventClassificationName": "VoiceInteractions",
                "eventSpecificationName": "ContactStartWorkflow"}})),
            node("n1", "Hold", "wait", json!({"duration": 2})),
            node("n2", "Mark", "set-variable", json!({"variableName": "Done", "value": "yes"})),
            node("n3", "End", "end-flow", json!({}))
        ],
        "edges": [
            {"id": "e0", "from": "Start", "to": "Hold", "condition": "out", "properties": {}},
            {"id": "e1", "from": "Hold", "to": "Mark", "condition": "out", "properties": {}},
            {"id": "e2", "from": "Mark", "to": "End", "condition": "out", "properties": {}}
        ]
    })
}

fn kill9(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn scenario(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = start(&data, database_url);
    let v2 = format!("/{}/project/5e5c9ad6d61f870d6d778c1b/v2", s.org);
    let (code, body) = call(
        &s,
        "POST",
        &format!("{v2}/flows:import?overwrite=false&flowType=FLOW"),
        Some(&flow_doc()),
    );
    assert_eq!(code, 201, "{body}");
    let flow_id = body["flow"]["id"].as_str().unwrap().to_owned();
    let (code, body) = call(
        &s,
        "POST",
        &format!("{v2}/flows/{flow_id}:publish"),
        Some(&json!({"tags": ["Live"]})),
    );
    assert_eq!(code, 200, "{body}");
    let execs = format!("/v1/{}/executions", s.org);
    let ids: Vec<String> = (0..5)
        .map(|_| {
            let (code, body) = call(&s, "POST", &execs, Some(&json!({"flowId": flow_id})));
            assert_eq!(code, 201, "{body}");
            assert_eq!(body["status"], "waiting");
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();

    // Crash while every execution waits, then restart on the same data.
    kill9(&mut s.child);
    let s = start(&data, database_url);
    let deadline = Instant::now() + Duration::from_secs(20);
    for id in &ids {
        loop {
            let (code, body) = call(&s, "GET", &format!("{execs}/{id}"), None);
            assert_eq!(code, 200, "{body}");
            if body["status"] == "completed" {
                assert_eq!(body["variables"]["Done"], "yes");
                break;
            }
            assert_eq!(body["status"], "waiting", "{body}");
            assert!(Instant::now() < deadline, "{id} did not finish: {body}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let (code, trace) = call(&s, "GET", &format!("{execs}/{id}/trace"), None);
        assert_eq!(code, 200);
        let ends = trace["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["node"] == "End" && r["phase"] == "completed")
            .count();
        assert_eq!(ends, 1, "finished exactly once: {trace}");
        let marks = trace["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["node"] == "Mark")
            .count();
        assert_eq!(marks, 1, "{trace}");
    }
    let mut s = s;
    kill9(&mut s.child);
}

#[test]
fn waiting_executions_survive_a_crash_on_sqlite() {
    scenario(None);
}

#[test]
fn waiting_executions_survive_a_crash_on_postgres() {
    let Ok(url) = std::env::var("SWITCHBOARD_TEST_DATABASE_URL") else {
        eprintln!("skipped: SWITCHBOARD_TEST_DATABASE_URL not set");
        return;
    };
    // A fresh database for this run.
    let name = format!("sb_restart_{}", std::process::id());
    let status = Command::new("psql")
        .args([url.as_str(), "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("psql runs");
    assert!(status.success(), "cannot create database {name}");
    let fresh = match url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("cannot derive a database url from {url}"),
    };
    scenario(Some(&fresh));
    let _ = Command::new("psql")
        .args([
            url.as_str(),
            "-c",
            &format!("DROP DATABASE {name} WITH (FORCE)"),
        ])
        .status();
}
