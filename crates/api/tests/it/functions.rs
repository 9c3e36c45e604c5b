//! Custom functions: the guide's whole walkthrough (create, test, publish Live, list, get,
//! update, export, import under a new name, lock, unlock), validation 400s, and failures of
//! user code answered as 4xx that say what happened.

use reqwest::Method;
use serde_json::{json, Value};

use crate::util::{send, TestApp};

fn parse_contact() -> Value {
    json!({
        "name": "parseContact",
        "description": "Parses a contact record: strips the phone to digits and extracts the area code.",
        "language": "js",
        "selectedRuntime": "nodejs22.x",
        "timeoutInSec": 3,
        "sourceCode": "export const handle = async (request, response) => {\n  const phoneDigits = String(request.inputs.contact.phone).replace(/\\D/g, \"\");\n  response.data = { phoneDigits, areaCode: phoneDigits.slice(0, 3) };\n  return response;\n};",
        "inputs": [{"name": "contact", "dataType": "json", "value": "{\"name\":\"John Doe\",\"phone\":\"(415) 555-0132\"}"}],
        "outputs": "{\"phoneDigits\":\"4155550132\",\"areaCode\":\"415\"}"
    })
}

fn fns(app: &TestApp, rest: &str) -> String {
    format!("/v1/{}/functions{rest}", app.org)
}

api_test!(guide_walkthrough, |app| async move {
    // Step 1: create.
    let created = app.post(&fns(&app, ""), &parse_contact()).await;
    let body = created.expect(201).clone();
    assert_eq!(body["fnCode"], parse_contact()["sourceCode"]);
    let meta = &body["fnMetadata"];
    for (k, v) in [
        ("name", "parseContact"),
        ("language", "js"),
        ("selectedRuntime", "nodejs22.x"),
        ("status", "Draft"),
        ("lockedBy", ""),
    ] {
        assert_eq!(meta[k], v, "{k}");
    }
    assert_eq!(meta["timeoutInSec"], 3);
    assert_eq!(meta["tagVersionMap"], json!({}));
    assert_eq!(meta["orgId"], app.org.as_str());
    let id = meta["id"].as_str().unwrap().to_string();

    // A duplicate name answers 400.
    app.post(&fns(&app, ""), &parse_contact())
        .await
        .expect_envelope(400);

    // Step 2: test (implicitly publishes the draft).
    let tested = app
        .post(
            &fns(&app, &format!("/{id}:test")),
            &json!({"inputs": {"contact": {"name": "John Doe", "phone": "(415) 555-0132"}}}),
        )
        .await;
    let t = tested.expect(200);
    assert_eq!(
        t["result"],
        json!({"phoneDigits": "4155550132", "areaCode": "415"})
    );
    assert_eq!(t["logs"], "");
    assert!(t["durationMs"].is_u64());

    // Step 3: publish under Live.
    let published = app
        .post(
            &fns(&app, &format!("/{id}:publish")),
            &json!({"tags": ["Live"], "comment": "Initial release."}),
        )
        .await;
    let p = published.expect(200).clone();
    let live = p["fnMetadata"]["tagVersionMap"]["Live"]
        .as_i64()
        .expect("Live tag set");
    assert_eq!(p["fnMetadata"]["status"], "Published");

    // List and get.
    let list = app.get(&fns(&app, "")).await;
    assert!(list
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == id.as_str()));
    app.get(&fns(&app, &format!("/{id}"))).await.expect(200);

    // Update the draft; a new publish moves Live.
    let mut changed = parse_contact();
    changed["sourceCode"] = json!("export const handle = async (req, res) => { console.log('v2'); res.data = {v: 2}; return res; };");
    changed["inputs"] = json!([]);
    app.request(Method::PUT, &fns(&app, &format!("/{id}")))
        .json(&changed)
        .send()
        .await
        .unwrap();
    let t = app
        .post(&fns(&app, &format!("/{id}:test")), &json!({"inputs": {}}))
        .await;
    assert_eq!(t.expect(200)["result"], json!({"v": 2}));
    assert_eq!(t.json["logs"], "v2");
    let p2 = app
        .post(
            &fns(&app, &format!("/{id}:publish")),
            &json!({"tags": ["Live"]}),
        )
        .await;
    assert!(
        p2.expect(200)["fnMetadata"]["tagVersionMap"]["Live"]
            .as_i64()
            .unwrap()
            > live
    );

    // Export, then import the file under a new name.
    let exported = app
        .post(&fns(&app, &format!("/{id}:export")), &json!({}))
        .await;
    let e = exported.expect(200).clone();
    assert_eq!(e["fileName"], "parseContact.json");
    assert_eq!(e["contentType"], "application/json");
    use base64::Engine as _;
    let file = base64::engine::general_purpose::STANDARD
        .decode(e["content"].as_str().unwrap())
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(file).file_name("parseContact.json"),
        )
        .text("name", "parseContactCopy");
    let imported = send(
        app.request(Method::POST, &fns(&app, ":import"))
            .multipart(form),
    )
    .await;
    assert_eq!(
        imported.expect(201)["fnMetadata"]["name"],
        "parseContactCopy"
    );

    // Lock as the admin; another user can neither update nor publish; unlock.
    let lock = app
        .post(&fns(&app, &format!("/{id}:lock")), &json!({}))
        .await;
    assert_eq!(lock.expect(200)["status"], "LOCKED");
    let other = app.admin_token_for("other@example.com").await;
    let denied = send(
        app.request_as(&other, Method::PUT, &fns(&app, &format!("/{id}")))
            .json(&changed),
    )
    .await;
    let msg = denied.expect_envelope(423);
    assert!(msg.contains(crate::util::ADMIN), "{msg}");
    let denied = send(
        app.request_as(&other, Method::POST, &fns(&app, &format!("/{id}:publish")))
            .json(&json!({"tags": ["Dev"]})),
    )
    .await;
    denied.expect_envelope(423);
    let unlock = app
        .post(&fns(&app, &format!("/{id}:unlock")), &json!({}))
        .await;
    assert_eq!(unlock.expect(200)["status"], "UNLOCKED");
    send(
        app.request_as(&other, Method::PUT, &fns(&app, &format!("/{id}")))
            .json(&changed),
    )
    .await
    .expect(200);

    // Delete.
    let gone = app.delete(&fns(&app, &format!("/{id}"))).await;
    assert_eq!(gone.status.as_u16(), 204);
    app.get(&fns(&app, &format!("/{id}")))
        .await
        .expect_envelope(404);
});

api_test!(validation_answers_clear_400s, |app| async move {
    let cases = [
        (json!({"language": "ts"}), "unknown language"),
        (
            json!({"selectedRuntime": "NodeJS22.x"}),
            "nodejs22.x, nodejs20.x, nodejs18.x",
        ),
        (
            json!({"language": "py", "selectedRuntime": "nodejs22.x"}),
            "python3.13",
        ),
        (
            json!({"inputs": [{"name": "n", "dataType": "float", "value": "1"}]}),
            "dataType",
        ),
        (
            json!({"inputs": [{"name": "n", "dataType": "integer", "value": "one"}]}),
            "not a valid integer",
        ),
        (
            json!({"inputs": [{"name": "n", "dataType": "json", "value": "{bad"}]}),
            "not a valid json",
        ),
        (json!({"outputs": "[1]"}), "stringified JSON object"),
        (json!({"outputs": {"a": 1}}), "stringified"),
        (json!({"timeoutInSec": 0}), "timeoutInSec"),
        (json!({"timeoutInSec": 600}), "timeoutInSec"),
        (json!({"sourceCode": ""}), "sourceCode"),
        (json!({"name": ""}), "name"),
    ];
    for (patch, needle) in cases {
        let mut body = parse_contact();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let msg = app.post(&fns(&app, ""), &body).await.expect_envelope(400);
        assert!(msg.contains(needle), "{patch}: {msg}");
    }
    // Defaults: selectedRuntime follows the language.
    let mut py = parse_contact();
    py["name"] = json!("pyDefault");
    py["language"] = json!("py");
    py.as_object_mut().unwrap().remove("selectedRuntime");
    let r = app.post(&fns(&app, ""), &py).await;
    assert_eq!(r.expect(201)["fnMetadata"]["selectedRuntime"], "python3.13");

    // Test inputs are checked against the declared inputs.
    let id = app.post(&fns(&app, ""), &parse_contact()).await.expect(201)["fnMetadata"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let msg = app
        .post(
            &fns(&app, &format!("/{id}:test")),
            &json!({"inputs": {"contakt": {}}}),
        )
        .await
        .expect_envelope(400);
    assert!(msg.contains("contakt"), "{msg}");
    let msg = app
        .post(&fns(&app, &format!("/{id}:test")), &json!({"inputs": {}}))
        .await
        .expect_envelope(400);
    assert!(msg.contains("missing"), "{msg}");
    let msg = app
        .post(
            &fns(&app, &format!("/{id}:publish")),
            &json!({"tags": ["Prod"]}),
        )
        .await
        .expect_envelope(400);
    assert!(msg.contains("Live"), "{msg}");
});

api_test!(user_code_failures_are_4xx_that_say_so, |app| async move {
    let mut body = parse_contact();
    body["name"] = json!("thrower");
    body["inputs"] = json!([]);
    body["sourceCode"] = json!(
        "export const handle = async () => { console.log('before'); throw new Error('boom'); };"
    );
    let id = app.post(&fns(&app, ""), &body).await.expect(201)["fnMetadata"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post(&fns(&app, &format!("/{id}:test")), &json!({"inputs": {}}))
        .await;
    let msg = r.expect_envelope(422);
    assert!(msg.contains("boom"), "{msg}");
    assert_eq!(r.json["failure"]["kind"], "thrown");
    assert_eq!(r.json["failure"]["logs"], "before");
    assert!(r.json["failure"]["stack"].is_string());

    body["name"] = json!("spinner");
    body["timeoutInSec"] = json!(1);
    body["sourceCode"] = json!("export const handle = async () => { while (true) {} };");
    let id = app.post(&fns(&app, ""), &body).await.expect(201)["fnMetadata"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post(&fns(&app, &format!("/{id}:test")), &json!({"inputs": {}}))
        .await;
    r.expect_envelope(422);
    assert_eq!(r.json["failure"]["kind"], "timeout");
    // The server is still fine.
    app.get("/healthz").await.expect(200);
});
