//! Flows call custom functions for real: functions stored and published in a SQLite store,
//! resolved by name or id and tag, run on the QuickJS host; failures take the error port.

use functions::{FunctionHost, HostConfig};
use runtime::StoreFunctionRunner;
use serde_json::{json, Value as Json};
use store::{FunctionRecord, Org, Store};

use crate::harness::{flow, node, outputs, path, run, status, var, Setup};

const PARSE_CONTACT: &str = r#"export const handle = async (request, response) => {
  const phoneDigits = String(request.inputs.contact.phone).replace(/\D/g, "");
  response.data = {
    phoneDigits,
    areaCode: phoneDigits.slice(0, 3)
  };
  return response;
};"#;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    org: String,
    runner: StoreFunctionRunner,
}

impl Fixture {
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("switchboard.db").display());
        let store = Store::connect(&url).await.unwrap();
        let org = "8eb7da9a-c81c-4d13-b08b-38fdeb7330d8".to_owned();
        store
            .insert_org(&Org {
                id: org.clone(),
                name: "Default".into(),
                created_at: store::now(),
            })
            .await
            .unwrap();
        let host = FunctionHost::new(HostConfig {
            js_pool_size: 2,
            ..HostConfig::default()
        });
        let runner = StoreFunctionRunner::new(store.clone(), host, org.clone());
        Fixture {
            _dir: dir,
            store,
            org,
            runner,
        }
    }

    fn record(&self, id: &str, name: &str, source: &str, timeout: i64) -> FunctionRecord {
        let at = store::now();
        FunctionRecord {
            id: id.to_owned(),
            org_id: self.org.clone(),
            name: name.to_owned(),
            description: None,
            language: "js".to_owned(),
            selected_runtime: "nodejs22.x".to_owned(),
            timeout_in_sec: timeout,
            source_code: source.to_owned(),
            inputs: json!([{"name": "contact", "dataType": "json", "value": "{}"}]),
            outputs: "{}".to_owned(),
            status: "Draft".to_owned(),
            draft_version: 0,
            tag_version_map: Default::default(),
            locked_by: None,
            created_by: "alice@example.com".to_owned(),
            created_date: at,
            last_modified_by: "alice@example.com".to_owned(),
            last_modified_date: at,
            extra: json!({}),
        }
    }

    /// Creates a function and publishes its first version under `tags`.
    async fn publish(&self, id: &str, name: &str, source: &str, timeout: i64, tags: &[&str]) {
        self.store
            .insert_function(&self.record(id, name, source, timeout))
            .await
            .unwrap();
        self.republish(id, name, source, tags).await;
    }

    /// Replaces the draft's source and publishes it as the next version under `tags`.
    async fn republish(&self, id: &str, name: &str, source: &str, tags: &[&str]) {
        let f = self.record(id, name, source, 3);
        self.store
            .update_function(&self.org, id, "alice@example.com", &f)
            .await
            .unwrap();
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        self.store
            .publish_function(
                &self.org,
                id,
                &tags,
                None,
                "alice@example.com",
                store::now(),
            )
            .await
            .unwrap();
    }

    fn setup(&self) -> Setup<'_> {
        Setup {
            functions: Some(&self.runner),
            ..Setup::default()
        }
    }
}

/// `Fn` calls the function `call` names (name/id/tag properties), maps the contact in and
/// `phoneDigits`/`areaCode` out; `out` goes to `Done`, `error` to `Failed`.
fn calling(call: Json) -> Json {
    let mut props = call;
    props["inputMappings"] = json!({"contact": {"name": "{{ Name }}", "phone": "{{ Phone }}"}});
    props["outputMappings"] = json!({"phoneDigits": "Digits", "areaCode": "Area"});
    flow(
        json!([
            var("Name", "STRING", "John Doe"),
            var("Phone", "STRING", "(415) 555-0132"),
            var("Digits", "STRING", ""),
            var("Area", "STRING", "")
        ]),
        json!([
            node("Fn", "function", props),
            node("Done", "end-flow", json!({})),
            node("Failed", "end-flow", json!({}))
        ]),
        json!([
            ["Start", "Fn", "out"],
            ["Fn", "Done", "out"],
            ["Fn", "Failed", "error"]
        ]),
    )
}

#[tokio::test]
async fn a_flow_calls_the_guides_parse_contact_by_name() {
    let fx = Fixture::new().await;
    fx.publish("fn-parse", "parseContact", PARSE_CONTACT, 3, &["Live"])
        .await;
    let (r, _) = run(
        &calling(json!({"functionName": "parseContact"})),
        fx.setup(),
    )
    .await;
    let names: Vec<String> = path(&r).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["Start", "Fn", "Done"]);
    assert_eq!(path(&r)[1].1, "out");
    assert_eq!(status(&r), "completed");
    assert_eq!(r.state.variable("Digits"), Some(json!("4155550132")));
    assert_eq!(r.state.variable("Area"), Some(json!("415")));
    assert_eq!(
        outputs(&r, "Fn")["result"],
        json!({"phoneDigits": "4155550132", "areaCode": "415"})
    );
    // The resolved inputs went to the function as request.inputs.
    let call = r
        .commands
        .iter()
        .find_map(|c| match c {
            engine::Command::InvokeFunction(f) => Some(f.inputs.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        call,
        json!({"contact": {"name": "John Doe", "phone": "(415) 555-0132"}})
    );
}

#[tokio::test]
async fn a_flow_calls_a_function_by_id_and_tag() {
    let fx = Fixture::new().await;
    fx.publish("fn-parse", "parseContact", PARSE_CONTACT, 3, &["Live"])
        .await;
    let v2 = r#"export const handle = async (request, response) => {
  response.data = { phoneDigits: "v2", areaCode: request.inputs.contact.name };
  return response;
};"#;
    fx.republish("fn-parse", "parseContact", v2, &["Dev"]).await;

    let (r, _) = run(
        &calling(json!({"functionId": "fn-parse", "tag": "Dev"})),
        fx.setup(),
    )
    .await;
    assert_eq!(status(&r), "completed");
    assert_eq!(r.state.variable("Digits"), Some(json!("v2")));
    assert_eq!(r.state.variable("Area"), Some(json!("John Doe")));

    // Live still points at version 1.
    let (r, _) = run(&calling(json!({"functionId": "fn-parse"})), fx.setup()).await;
    assert_eq!(r.state.variable("Digits"), Some(json!("4155550132")));
}

/// Runs `call` and returns the `Fn` node's error code and message, checking the error
/// port led to `Failed`.
async fn error_of(fx: &Fixture, call: Json) -> (String, String) {
    let (r, _) = run(&calling(call), fx.setup()).await;
    let fn_step = path(&r).into_iter().find(|(n, _)| n == "Fn").unwrap();
    assert_eq!(fn_step.1, "error");
    assert!(
        path(&r).iter().any(|(n, _)| n == "Failed"),
        "{:?}",
        path(&r)
    );
    assert_eq!(status(&r), "completed", "the error port handled it");
    assert_eq!(r.state.variable("Digits"), Some(json!("")));
    let out = outputs(&r, "Fn");
    (
        out["errorCode"].as_str().unwrap_or_default().to_owned(),
        out["errorMessage"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_throwing_function_takes_the_error_port() {
    let fx = Fixture::new().await;
    let src = r#"export const handle = async (request, response) => {
  throw new Error("no contact on file");
};"#;
    fx.publish("fn-boom", "boom", src, 3, &["Live"]).await;
    let (code, message) = error_of(&fx, json!({"functionName": "boom"})).await;
    assert_eq!(code, "FUNCTION_ERROR");
    assert!(message.contains("no contact on file"), "{message}");
}

#[tokio::test]
async fn a_function_that_never_returns_times_out_into_the_error_port() {
    let fx = Fixture::new().await;
    let src = "export const handle = async (request, response) => { while (true) {} };";
    fx.publish("fn-spin", "spin", src, 1, &["Live"]).await;
    let started = std::time::Instant::now();
    let (code, message) = error_of(&fx, json!({"functionName": "spin"})).await;
    assert_eq!(code, "TIMEOUT", "{message}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn a_missing_tag_or_function_takes_the_error_port() {
    let fx = Fixture::new().await;
    fx.publish("fn-dev", "devOnly", PARSE_CONTACT, 3, &["Dev"])
        .await;
    let (code, message) = error_of(&fx, json!({"functionName": "devOnly"})).await;
    assert_eq!(code, "FUNCTION_NOT_FOUND");
    assert!(
        message.contains("no version tagged 'Live'") && message.contains("Dev -> 1"),
        "{message}"
    );

    let (code, message) = error_of(&fx, json!({"functionName": "nope"})).await;
    assert_eq!(code, "FUNCTION_NOT_FOUND");
    assert!(message.contains("no function named 'nope'"), "{message}");

    // A draft never published has no tags at all.
    fx.store
        .insert_function(&fx.record("fn-draft", "draftOnly", PARSE_CONTACT, 3))
        .await
        .unwrap();
    let (code, message) = error_of(&fx, json!({"functionId": "fn-draft"})).await;
    assert_eq!(code, "FUNCTION_NOT_FOUND");
    assert!(message.contains("never been published"), "{message}");
}
