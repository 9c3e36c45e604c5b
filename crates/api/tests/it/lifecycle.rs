//! The rest of the flow lifecycle (DESIGN.md "Flow lifecycle"): publish with tags, version
//! history, export of numbered versions, lock and unlock between two users, delete, list.

use serde_json::{json, Value};

use crate::util::{basic_flow, basic_flow_named, guide_patch, send, snapshot, ADMIN};

fn tags_by_version(versions: &Value) -> Vec<(i64, Vec<String>)> {
    versions
        .as_array()
        .expect("versions array")
        .iter()
        .map(|v| {
            let tags = v["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect();
            (v["version"].as_i64().unwrap(), tags)
        })
        .collect()
}

api_test!(publish_numbers_versions_and_moves_tags, |app| async move {
    let id = app.import(&basic_flow()).await;
    let path = app.v2(&format!("flows/{id}"));

    let first = app
        .post(
            &format!("{path}:publish"),
            &json!({"comment": "First release.", "tags": ["Live"]}),
        )
        .await;
    let body = first.expect(200).clone();
    assert_eq!(body["publishedVersion"]["version"], 1);
    assert_eq!(body["status"], "Published");
    snapshot!("publish_first", body);

    // Versions are immutable: change the draft, publish again.
    app.patch(&path, &guide_patch()).await.expect(200);
    let second = app
        .post(
            &format!("{path}:publish"),
            &json!({"comment": "Hold message.", "tags": ["Live"]}),
        )
        .await;
    assert_eq!(second.expect(200)["publishedVersion"]["version"], 2);

    let versions = app.get(&format!("{path}/versions")).await;
    let versions = versions.expect(200).clone();
    assert_eq!(
        tags_by_version(&versions),
        [
            (2, vec!["Latest".to_string(), "Live".to_string()]),
            (1, vec![])
        ],
        "Live and Latest moved to the new version"
    );
    assert_eq!(versions[0]["comment"], "Hold message.");
    assert_eq!(versions[1]["createdBy"], ADMIN);
    snapshot!("versions_after_two_publishes", versions);

    // Without a body: no comment, only Latest moves.
    let third =
        crate::util::send(app.request(reqwest::Method::POST, &format!("{path}:publish"))).await;
    assert_eq!(third.expect(200)["publishedVersion"]["version"], 3);
    let versions = app.get(&format!("{path}/versions")).await;
    assert_eq!(
        tags_by_version(versions.expect(200)),
        [
            (3, vec!["Latest".to_string()]),
            (2, vec!["Live".to_string()]),
            (1, vec![])
        ]
    );

    // Export of numbered versions and of latest.
    let v1 = app.get(&format!("{path}:export?version=1")).await;
    let v1 = v1.expect(200).clone();
    assert_eq!(v1["status"], "Published");
    assert_eq!(
        v1["nodes"].as_array().unwrap().len(),
        3,
        "version 1 is the basic flow"
    );
    let latest = app.get(&format!("{path}:export?version=latest")).await;
    let latest = latest.expect(200);
    assert_eq!(latest["version"], 3);
    assert_eq!(latest["nodes"].as_array().unwrap().len(), 4);
    let draft = app.get(&format!("{path}:export?version=draft")).await;
    assert_eq!(
        draft.expect(200)["status"],
        "Published",
        "the flow's status"
    );

    // Stored versions validate.
    for v in ["1", "3", "draft"] {
        let resp = app
            .post(&format!("{path}:validate?versionId={v}"), &json!({}))
            .await;
        assert_eq!(
            *resp.expect(200),
            json!({"valid": true, "errors": []}),
            "version {v}"
        );
    }
    let got = app.get(&path).await;
    let got = got.expect(200);
    assert_eq!(got["status"], "Published");
});

api_test!(
    publish_refuses_unknown_tags_and_bad_bodies,
    |app| async move {
        let id = app.import(&basic_flow()).await;
        let path = app.v2(&format!("flows/{id}:publish"));
        let resp = app.post(&path, &json!({"tags": ["Prod"]})).await;
        let description = resp.expect_envelope(400);
        assert!(description.contains("Prod"), "{description}");
        let resp = app.post(&path, &json!({"tags": "Live"})).await;
        resp.expect_envelope(400);
        let resp = send(
            app.request(reqwest::Method::POST, &path)
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
        resp.expect_envelope(400);
        // Nothing was published.
        let versions = app.get(&app.v2(&format!("flows/{id}/versions"))).await;
        assert_eq!(*versions.expect(200), json!([]));
    }
);

api_test!(lock_keeps_other_users_out, |app| async move {
    let id = app.import(&basic_flow()).await;
    let path = app.v2(&format!("flows/{id}"));
    let bob = app.admin_token_for("bob@example.com").await;
    let as_bob = |m: reqwest::Method, p: &str| app.request_as(&bob, m, p);

    let locked = app.post(&format!("{path}:lock"), &json!({})).await;
    let body = locked.expect(200).clone();
    assert_eq!(body["lockedBy"], ADMIN);
    snapshot!("lock", body);
    assert_eq!(app.get(&path).await.expect(200)["lockedBy"], ADMIN);

    let save = send(as_bob(reqwest::Method::POST, &path).json(&basic_flow())).await;
    assert!(save.expect_envelope(423).contains(ADMIN));
    let patch = send(as_bob(reqwest::Method::PATCH, &path).json(&guide_patch())).await;
    assert!(patch.expect_envelope(423).contains(ADMIN));
    let publish =
        send(as_bob(reqwest::Method::POST, &format!("{path}:publish")).json(&json!({}))).await;
    assert!(publish.expect_envelope(423).contains(ADMIN));
    let lock = send(as_bob(reqwest::Method::POST, &format!("{path}:lock"))).await;
    assert!(lock.expect_envelope(423).contains(ADMIN));
    let unlock = send(as_bob(reqwest::Method::POST, &format!("{path}:unlock"))).await;
    assert!(unlock.expect_envelope(423).contains(ADMIN));
    let delete = send(as_bob(reqwest::Method::DELETE, &path)).await;
    assert!(delete.expect_envelope(423).contains(ADMIN));
    // Import with overwrite is a save too.
    let import = send(
        as_bob(
            reqwest::Method::POST,
            &app.v2("flows:import?overwrite=true&flowType=FLOW"),
        )
        .json(&basic_flow()),
    )
    .await;
    assert!(import.expect_envelope(423).contains(ADMIN));

    // Nothing changed; the holder can still work.
    let got = app.get(&path).await;
    assert_eq!(got.expect(200)["version"], 0);
    app.patch(&path, &guide_patch()).await.expect(200);

    let unlocked = app.post(&format!("{path}:unlock"), &json!({})).await;
    assert!(unlocked.expect(200).get("lockedBy").is_none());
    let save = send(as_bob(reqwest::Method::POST, &path).json(&basic_flow())).await;
    let flow = &save.expect(200)["flow"];
    assert_eq!(flow["lastModifiedBy"], "bob@example.com");
    assert_eq!(flow["createdBy"], ADMIN);
});

api_test!(delete_removes_the_flow_and_its_versions, |app| async move {
    let id = app.import(&basic_flow()).await;
    let path = app.v2(&format!("flows/{id}"));
    app.post(&format!("{path}:publish"), &json!({"tags": ["Live"]}))
        .await
        .expect(200);
    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status.as_u16(), 204);
    assert!(deleted.text.is_empty());
    app.get(&path).await.expect_envelope(404);
    app.get(&format!("{path}/versions"))
        .await
        .expect_envelope(404);
    app.get(&format!("{path}:export?version=1"))
        .await
        .expect_envelope(404);
    app.delete(&path).await.expect_envelope(404);
    // The name is free again.
    app.import(&basic_flow()).await;
});

api_test!(list_flows_pages_and_filters, |app| async move {
    for name in ["Alpha", "Beta", "Gamma"] {
        app.import(&basic_flow_named(name)).await;
    }
    let page = app.get(&app.v2("flows?page=0&size=2")).await;
    let page = page.expect(200).clone();
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alpha", "Beta"]);
    assert_eq!(page["totalRecords"], 3);
    assert_eq!(page["totalPages"], 2);
    snapshot!("list_flows_page_0", page);

    let page = app.get(&app.v2("flows?page=1&size=2")).await;
    assert_eq!(page.expect(200)["data"][0]["name"], "Gamma");
    for past_the_end in [
        "flows?page=5&size=2",
        "flows?page=18446744073709551615&size=100",
    ] {
        let page = app.get(&app.v2(past_the_end)).await;
        assert_eq!(page.expect(200)["data"], json!([]), "{past_the_end}");
    }
    // Sizes are clamped to 1..=100.
    let huge = app.get(&app.v2("flows?size=18446744073709551615")).await;
    assert_eq!(huge.expect(200)["pageSize"], 100);

    let by_name = app.get(&app.v2("flows?name=alp")).await;
    let by_name = by_name.expect(200);
    assert_eq!(by_name["totalRecords"], 1);
    assert_eq!(by_name["data"][0]["name"], "Alpha");
    let flows = app.get(&app.v2("flows?flowType=FLOW")).await;
    assert_eq!(flows.expect(200)["totalRecords"], 3);
    let subflows = app.get(&app.v2("flows?flowType=SUBFLOW")).await;
    assert_eq!(subflows.expect(200)["totalRecords"], 0);
});
