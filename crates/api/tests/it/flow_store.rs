//! The legacy `/flow-store/{orgId}/project/{projectId}/flows` endpoints of the vendor's
//! OpenAPI, on the same store as the v2 API.

use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

use crate::util::{basic_flow, basic_flow_named, send, snapshot, without_server_fields, TestApp};

fn flow_file(doc: &Value) -> Form {
    let part = Part::bytes(serde_json::to_vec(doc).unwrap())
        .file_name("flow.json")
        .mime_str("application/json")
        .unwrap();
    Form::new().part("file", part)
}

async fn legacy_import(app: &TestApp, query: &str, doc: &Value) -> crate::util::Resp {
    send(
        app.request(Method::POST, &app.legacy(&format!("flows:import{query}")))
            .multipart(flow_file(doc)),
    )
    .await
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect()
}

api_test!(legacy_multipart_import, |app| async move {
    let resp = legacy_import(&app, "?overwrite=no", &basic_flow()).await;
    let body = resp.expect(201).clone();
    assert_eq!(body["name"], "SamplePlayMessageFlow");
    assert_eq!(body["status"], "Draft");
    assert_eq!(body["tags"], json!([]));
    snapshot!("legacy_import", body);
    let id = body["id"].as_str().unwrap().to_string();

    // The same store as the v2 API.
    let got = app.get(&app.v2(&format!("flows/{id}"))).await;
    assert_eq!(without_server_fields(got.expect(200)), basic_flow());

    // A name clash without overwrite, then with it.
    let again = legacy_import(&app, "?overwrite=no", &basic_flow()).await;
    again.expect_envelope(409);
    let again = legacy_import(&app, "", &basic_flow()).await;
    again.expect_envelope(409);
    let mut changed = basic_flow();
    changed["description"] = json!("Overwritten via flow-store.");
    let over = legacy_import(&app, "?overwrite=yes", &changed).await;
    let over = over.expect(201);
    assert_eq!(over["id"], json!(id));
    assert_eq!(over["description"], "Overwritten via flow-store.");

    // Bad input.
    let bad = legacy_import(&app, "?overwrite=maybe", &basic_flow()).await;
    bad.expect_envelope(400);
    let mut invalid = basic_flow_named("Invalid");
    invalid["edges"][1]["condition"] = json!("onTimeout");
    let bad = legacy_import(&app, "", &invalid).await;
    let description = bad.expect_envelope(400);
    assert!(description.contains("INVALID_PORT"), "{description}");
    let not_json = send(
        app.request(Method::POST, &app.legacy("flows:import"))
            .multipart(
                Form::new().part("file", Part::bytes(b"{nope".to_vec()).file_name("f.json")),
            ),
    )
    .await;
    not_json.expect_envelope(400);
    let no_file = send(
        app.request(Method::POST, &app.legacy("flows:import"))
            .multipart(Form::new().text("other", "x")),
    )
    .await;
    no_file.expect_envelope(400);
    let not_multipart = app.post(&app.legacy("flows:import"), &basic_flow()).await;
    not_multipart.expect_envelope(400);
    // Only the one flow exists.
    let list = app.get(&app.v2("flows")).await;
    assert_eq!(list.expect(200)["totalRecords"], 1);
});

api_test!(legacy_list_pages_and_searches, |app| async move {
    let mut ids = Vec::new();
    for name in ["Alpha", "Beta", "Gamma"] {
        ids.push(app.import(&basic_flow_named(name)).await);
    }
    let all = app.get(&app.legacy("flows")).await;
    assert_eq!(names(all.expect(200)), ["Alpha", "Beta", "Gamma"]);
    let page = app.get(&app.legacy("flows?page=1&size=2")).await;
    assert_eq!(names(page.expect(200)), ["Gamma"]);
    let search = app.get(&app.legacy("flows?partialNameSearch=ET")).await;
    assert_eq!(names(search.expect(200)), ["Beta"]);

    let paged = app
        .get(&app.legacy("flows?page=0&size=2&includePagination=true"))
        .await;
    let paged = paged.expect(200).clone();
    assert_eq!(names(&paged["data"]), ["Alpha", "Beta"]);
    assert_eq!(paged["currentPage"], 0);
    assert_eq!(paged["pageSize"], 2);
    assert_eq!(paged["totalRecords"], 3);
    assert_eq!(paged["totalPages"], 2);
    snapshot!("legacy_list_paginated", paged);

    let by_ids = app
        .get(&app.legacy(&format!("flows?ids={},{}", ids[0], ids[2])))
        .await;
    assert_eq!(names(by_ids.expect(200)), ["Alpha", "Gamma"]);
    let repeated = app
        .get(&app.legacy(&format!("flows?ids={}&ids={}", ids[1], ids[2])))
        .await;
    assert_eq!(names(repeated.expect(200)), ["Beta", "Gamma"]);

    let subflows = app.get(&app.legacy("flows?flowType=SUBFLOW")).await;
    assert_eq!(*subflows.expect(200), json!([]));
    for bad in [
        "flows?flowType=X",
        "flows?page=-1",
        "flows?includePagination=maybe",
        "flows?nope=1",
    ] {
        app.get(&app.legacy(bad)).await.expect_envelope(400);
    }
});

api_test!(legacy_export_and_publish, |app| async move {
    let id = app.import(&basic_flow()).await;
    let export = app.get(&app.legacy(&format!("flows/{id}:export"))).await;
    let export = export.expect(200).clone();
    assert_eq!(export["flowId"], json!(id));
    assert_eq!(export["name"], "SamplePlayMessageFlow");
    let draft = app
        .get(&app.legacy(&format!("flows/{id}:export?version=draft")))
        .await;
    assert_eq!(*draft.expect(200), export);

    let publish = app
        .post(
            &app.legacy(&format!("flows/{id}:publish")),
            &json!({"comment": "Publishing the latest version", "tagIds": ["Live"]}),
        )
        .await;
    let body = publish.expect(200).clone();
    assert_eq!(body["id"], json!(id));
    assert_eq!(body["projectId"], api::PROJECT_ID);
    assert_eq!(body["latestVersion"]["version"], 1);
    assert_eq!(
        body["latestVersion"]["comment"],
        "Publishing the latest version"
    );
    let tags: Vec<&str> = body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["Latest", "Live"]);
    snapshot!("legacy_publish", body);

    let v1 = app
        .get(&app.legacy(&format!("flows/{id}:export?version=1")))
        .await;
    assert_eq!(v1.expect(200)["version"], 1);
    let versions = app.get(&app.v2(&format!("flows/{id}/versions"))).await;
    assert_eq!(versions.expect(200)[0]["tags"], json!(["Latest", "Live"]));

    let listed = app.get(&app.legacy("flows")).await;
    let listed = listed.expect(200);
    assert_eq!(listed[0]["status"], "Published");
    assert_eq!(listed[0]["tags"].as_array().unwrap().len(), 2);

    // Bad input and unknown ids.
    app.post(
        &app.legacy(&format!("flows/{id}:publish")),
        &json!({"tagIds": ["Prod"]}),
    )
    .await
    .expect_envelope(400);
    app.get(&app.legacy("flows/ffffffffffffffffffffffff:export"))
        .await
        .expect_envelope(404);
    app.post(
        &app.legacy("flows/ffffffffffffffffffffffff:publish"),
        &json!({}),
    )
    .await
    .expect_envelope(404);
    app.get(&app.legacy(&format!("flows/{id}:export?version=9")))
        .await
        .expect_envelope(404);
    app.get(&app.legacy(&format!("flows/{id}")))
        .await
        .expect_envelope(404);
    app.post(&app.legacy(&format!("flows/{id}:export")), &json!({}))
        .await
        .expect_envelope(404);
});
