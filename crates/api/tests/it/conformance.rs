//! Every request and response example of the flow part of the Flow Orchestration guide
//! (seeds/flow-orchestration-guide.txt), against the real server: the documented status and
//! body shape, ids and timestamps aside.

use serde_json::json;

use crate::util::{
    basic_flow, error_handler_flow, guide_patch, snapshot, without_server_fields, ADMIN,
};

// "Step 2 — Validate (dry run)": a valid document.
api_test!(validate_basic_flow_is_valid, |app| async move {
    let resp = app.post(&app.v2("flows:validate"), &basic_flow()).await;
    assert_eq!(*resp.expect(200), json!({"valid": true, "errors": []}));
    // A dry run creates nothing.
    let list = app.get(&app.v2("flows")).await;
    assert_eq!(list.expect(200)["totalRecords"], 0);
});

// "If something is wrong, validation tells you why": the guide's exact body.
api_test!(validate_reports_the_guides_invalid_port, |app| async move {
    let mut doc = basic_flow();
    doc["edges"][1]["condition"] = json!("onTimeout");
    let resp = app.post(&app.v2("flows:validate"), &doc).await;
    assert_eq!(
        *resp.expect(200),
        json!({
            "valid": false,
            "errors": [{
                "path": "/edges/1/condition",
                "code": "INVALID_PORT",
                "message": "Activity 'play-message' does not expose a port named 'onTimeout'."
            }]
        })
    );
});

// "Step 3 — Import the draft": 201 and the guide's `{flow, preflightWarnings, preflightWarningsCount}`.
api_test!(
    import_basic_flow_answers_the_guides_shape,
    |app| async move {
        let resp = app
            .post(
                &app.v2("flows:import?overwrite=false&flowType=FLOW"),
                &basic_flow(),
            )
            .await;
        let body = resp.expect(201).clone();
        let flow = &body["flow"];
        let keys: Vec<&str> = flow
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "orgId",
                "version",
                "flowType",
                "name",
                "description",
                "status",
                "createdBy",
                "createdDate",
                "lastModifiedBy",
                "lastModifiedDate"
            ]
        );
        assert_eq!(flow["orgId"], json!(app.org));
        assert_eq!(flow["version"], 0);
        assert_eq!(flow["status"], "Draft");
        assert_eq!(flow["createdBy"], ADMIN);
        assert_eq!(flow["lastModifiedBy"], ADMIN);
        assert_eq!(body["preflightWarnings"], json!([]));
        assert_eq!(body["preflightWarningsCount"], 0);
        snapshot!("import_basic_flow", body);
    }
);

// "409 Conflict — a flow with the same name already exists and overwrite is false."
api_test!(
    import_same_name_conflicts_unless_overwrite,
    |app| async move {
        let id = app.import(&basic_flow()).await;
        let again = app
            .post(
                &app.v2("flows:import?overwrite=false&flowType=FLOW"),
                &basic_flow(),
            )
            .await;
        let description = again.expect_envelope(409);
        assert!(
            description.contains("SamplePlayMessageFlow"),
            "{description}"
        );
        // Without the parameter, overwrite defaults to false.
        let again = app.post(&app.v2("flows:import"), &basic_flow()).await;
        again.expect_envelope(409);

        let mut changed = basic_flow();
        changed["description"] = json!("Overwritten.");
        let over = app
            .post(
                &app.v2("flows:import?overwrite=true&flowType=FLOW"),
                &changed,
            )
            .await;
        let body = over.expect(201);
        assert_eq!(
            body["flow"]["id"],
            json!(id),
            "overwrite replaces the same flow"
        );
        assert_eq!(body["flow"]["description"], "Overwritten.");
        let stored = app.get(&app.v2(&format!("flows/{id}"))).await;
        assert_eq!(stored.expect(200)["description"], "Overwritten.");
        let list = app.get(&app.v2("flows")).await;
        assert_eq!(list.expect(200)["totalRecords"], 1);
    }
);

// Restrictions 1 and 3: a missing start node passes :validate but :import answers 422.
api_test!(
    missing_start_node_validates_but_does_not_import,
    |app| async move {
        let mut doc = basic_flow();
        doc["nodes"].as_array_mut().unwrap().remove(0);
        doc["edges"].as_array_mut().unwrap().remove(0);
        let validate = app.post(&app.v2("flows:validate"), &doc).await;
        assert_eq!(validate.expect(200)["valid"], true);

        let import = app
            .post(&app.v2("flows:import?overwrite=false&flowType=FLOW"), &doc)
            .await;
        let body = import.expect(422).clone();
        assert_eq!(body["valid"], false);
        let codes: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_str().unwrap())
            .collect();
        assert!(codes.contains(&"MISSING_START_NODE"), "{body}");
        for e in body["errors"].as_array().unwrap() {
            assert!(e["path"].is_string() && e["message"].is_string(), "{e}");
        }
        snapshot!("import_missing_start_node", body);

        // ?strict=true answers exactly what import would.
        let strict = app.post(&app.v2("flows:validate?strict=true"), &doc).await;
        assert_eq!(*strict.expect(200), body);
        // Nothing was stored.
        assert_eq!(
            app.get(&app.v2("flows")).await.expect(200)["totalRecords"],
            0
        );
    }
);

// "Step 4 — Verify": the stored draft is what was imported, plus the server's fields.
api_test!(
    get_flow_round_trips_the_imported_document,
    |app| async move {
        let mut doc = basic_flow();
        // Unknown fields survive the round trip too.
        doc["x-authoring-tool"] = json!({"name": "vim", "line": 42});
        doc["nodes"][1]["properties"]["x-note"] = json!("kept");
        let id = app.import(&doc).await;
        let got = app.get(&app.v2(&format!("flows/{id}"))).await;
        let got = got.expect(200);
        assert_eq!(got["id"], json!(id));
        assert_eq!(got["orgId"], json!(app.org));
        assert_eq!(got["version"], 0);
        assert_eq!(got["status"], "Draft");
        assert_eq!(got["createdBy"], ADMIN);
        assert!(got["createdDate"].is_string() && got["lastModifiedDate"].is_string());
        assert_eq!(without_server_fields(got), doc);
    }
);

// Server fields sent by the client are ignored.
api_test!(server_fields_in_the_body_are_ignored, |app| async move {
    let mut doc = basic_flow();
    doc["id"] = json!("my-own-id");
    doc["version"] = json!(41);
    doc["status"] = json!("Published");
    doc["createdBy"] = json!("mallory@example.com");
    let resp = app
        .post(&app.v2("flows:import?overwrite=false&flowType=FLOW"), &doc)
        .await;
    let flow = &resp.expect(201)["flow"];
    assert_ne!(flow["id"], "my-own-id");
    assert_eq!(flow["version"], 0);
    assert_eq!(flow["status"], "Draft");
    assert_eq!(flow["createdBy"], ADMIN);
    let id = flow["id"].as_str().unwrap();
    let got = app.get(&app.v2(&format!("flows/{id}"))).await;
    assert_eq!(without_server_fields(got.expect(200)), basic_flow());
});

// "You can also re-validate the stored draft with …:validate?versionId=draft, or export it
// for backup with …:export?version=latest."
api_test!(stored_draft_validates_and_exports, |app| async move {
    let id = app.import(&basic_flow()).await;
    let resp = app
        .post(
            &app.v2(&format!("flows/{id}:validate?versionId=draft")),
            &json!({}),
        )
        .await;
    assert_eq!(*resp.expect(200), json!({"valid": true, "errors": []}));
    // Without a body at all.
    let resp = reqwest_post_empty(&app, &app.v2(&format!("flows/{id}:validate"))).await;
    assert_eq!(*resp.expect(200), json!({"valid": true, "errors": []}));

    // Before any publish, latest is the draft.
    let latest = app
        .get(&app.v2(&format!("flows/{id}:export?version=latest")))
        .await;
    let latest = latest.expect(200).clone();
    assert_eq!(without_server_fields(&latest), basic_flow());
    assert_eq!(latest["status"], "Draft");
    let draft = app
        .get(&app.v2(&format!("flows/{id}:export?version=draft")))
        .await;
    assert_eq!(*draft.expect(200), latest);
    let default = app.get(&app.v2(&format!("flows/{id}:export"))).await;
    assert_eq!(*default.expect(200), latest);

    // A version that was never published.
    let missing = app
        .get(&app.v2(&format!("flows/{id}:export?version=1")))
        .await;
    missing.expect_envelope(404);
    let missing = app
        .post(
            &app.v2(&format!("flows/{id}:validate?versionId=1")),
            &json!({}),
        )
        .await;
    missing.expect_envelope(404);
});

async fn reqwest_post_empty(app: &crate::util::TestApp, path: &str) -> crate::util::Resp {
    crate::util::send(app.request(reqwest::Method::POST, path)).await
}

// "Add a global error handler": the second document imports.
api_test!(error_handler_flow_validates_and_imports, |app| async move {
    let doc = error_handler_flow();
    let resp = app.post(&app.v2("flows:validate"), &doc).await;
    assert_eq!(*resp.expect(200), json!({"valid": true, "errors": []}));
    let id = app.import(&doc).await;
    let got = app.get(&app.v2(&format!("flows/{id}"))).await;
    assert_eq!(without_server_fields(got.expect(200)), doc);
});

// "a problem inside eventFlows surfaces in errors[] with a path such as
// /eventFlows/nodes/0/properties/eventSpecificationName (unknown event)".
api_test!(
    unknown_event_in_event_flow_points_into_event_flows,
    |app| async move {
        let mut doc = error_handler_flow();
        doc["eventFlows"]["nodes"][0]["properties"]["eventSpecificationName"] =
            json!("NoSuchEvent");
        let resp = app.post(&app.v2("flows:validate"), &doc).await;
        let body = resp.expect(200).clone();
        assert_eq!(body["valid"], false);
        let err = &body["errors"][0];
        assert_eq!(
            err["path"],
            "/eventFlows/nodes/0/properties/eventSpecificationName"
        );
        assert_eq!(err["code"], "UNKNOWN_EVENT");
        let import = app
            .post(&app.v2("flows:import?overwrite=false&flowType=FLOW"), &doc)
            .await;
        assert_eq!(import.expect(422)["errors"][0], *err);

        // ... or /eventFlows/nodes/1/properties/activityName (unknown activity).
        let mut doc = error_handler_flow();
        doc["eventFlows"]["nodes"][1]["properties"]["activityName"] = json!("no-such-activity");
        let resp = app.post(&app.v2("flows:validate"), &doc).await;
        let body = resp.expect(200);
        assert_eq!(
            body["errors"][0]["path"],
            "/eventFlows/nodes/1/properties/activityName"
        );
        assert_eq!(body["errors"][0]["code"], "UNKNOWN_ACTIVITY");
    }
);

// "Save a flow draft": expectedVersion is optimistic locking; omitted, no check.
api_test!(save_draft_with_expected_version, |app| async move {
    let id = app.import(&basic_flow()).await;
    let mut doc = basic_flow();
    doc["description"] = json!("Saved once.");
    let saved = app
        .post(&app.v2(&format!("flows/{id}?expectedVersion=0")), &doc)
        .await;
    let body = saved.expect(200).clone();
    assert_eq!(body["flow"]["version"], 1);
    assert_eq!(body["flow"]["description"], "Saved once.");
    assert_eq!(body["preflightWarnings"], json!([]));
    assert_eq!(body["preflightWarningsCount"], 0);
    snapshot!("save_draft", body);

    doc["description"] = json!("Stale.");
    let stale = app
        .post(&app.v2(&format!("flows/{id}?expectedVersion=0")), &doc)
        .await;
    let description = stale.expect_envelope(409);
    assert!(
        description.contains('1'),
        "names the current version: {description}"
    );
    let got = app.get(&app.v2(&format!("flows/{id}"))).await;
    assert_eq!(
        got.expect(200)["description"],
        "Saved once.",
        "a stale save changes nothing"
    );

    let unchecked = app.post(&app.v2(&format!("flows/{id}")), &doc).await;
    assert_eq!(unchecked.expect(200)["flow"]["version"], 2);

    // An invalid draft is refused with the validation body, and the draft stays.
    let mut broken = basic_flow();
    broken["edges"][1]["condition"] = json!("onTimeout");
    let refused = app.post(&app.v2(&format!("flows/{id}")), &broken).await;
    assert_eq!(refused.expect(422)["errors"][0]["code"], "INVALID_PORT");
    let got = app.get(&app.v2(&format!("flows/{id}"))).await;
    assert_eq!(got.expect(200)["version"], 2);
});

// "Patch a flow draft": the guide's body merges, re-validates, and is idempotent.
api_test!(patch_with_the_guides_body_is_idempotent, |app| async move {
    let id = app.import(&basic_flow()).await;
    let path = app.v2(&format!("flows/{id}"));
    let first = app.patch(&path, &guide_patch()).await;
    let body = first.expect(200).clone();
    assert_eq!(body["flow"]["version"], 1);
    snapshot!("patch_guide_body", body);

    let after_first = app.get(&path).await.expect(200).clone();
    let names: Vec<&str> = after_first["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "NewContact",
            "WelcomeMessage",
            "DisconnectContact",
            "HoldMessage"
        ]
    );
    assert_eq!(after_first["edges"][2]["id"], "edge-3");

    let second = app.patch(&path, &guide_patch()).await;
    assert_eq!(
        second.expect(200)["flow"]["version"],
        1,
        "the same patch again changes nothing"
    );
    let after_second = app.get(&path).await;
    assert_eq!(*after_second.expect(200), after_first);

    // Top-level overrides.
    let renamed = app
        .patch(
            &path,
            &json!({"name": "Renamed", "description": "Patched."}),
        )
        .await;
    let flow = &renamed.expect(200)["flow"];
    assert_eq!(flow["name"], "Renamed");
    assert_eq!(flow["description"], "Patched.");
    assert_eq!(flow["version"], 2);
});

// Restriction 5: removing a node without its edges fails validation, and the draft stays.
api_test!(patch_that_breaks_the_draft_is_refused, |app| async move {
    let id = app.import(&basic_flow()).await;
    let path = app.v2(&format!("flows/{id}"));
    app.patch(&path, &guide_patch()).await.expect(200);
    let before = app.get(&path).await.expect(200).clone();

    let bad = json!({"remove_node_names": ["HoldMessage"]});
    let resp = app.patch(&path, &bad).await;
    let body = resp.expect(422).clone();
    assert_eq!(body["valid"], false);
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"].as_str().unwrap_or("").starts_with("/edges/2")),
        "the error points at the dangling edge: {body}"
    );
    snapshot!("patch_dangling_edge", body);
    assert_eq!(*app.get(&path).await.expect(200), before);

    // Removing the edge in the same patch is fine.
    let good = json!({"remove_node_names": ["HoldMessage"], "remove_edge_keys": ["edge-3"]});
    let resp = app.patch(&path, &good).await;
    assert_eq!(resp.expect(200)["flow"]["version"], 2);
    let after = app.get(&path).await;
    assert_eq!(without_server_fields(after.expect(200)), basic_flow());
});

// Patch with expectedVersion is checked like a save.
api_test!(
    patch_with_stale_expected_version_conflicts,
    |app| async move {
        let id = app.import(&basic_flow()).await;
        let path = app.v2(&format!("flows/{id}"));
        app.patch(&format!("{path}?expectedVersion=0"), &guide_patch())
            .await
            .expect(200);
        let stale = app
            .patch(
                &format!("{path}?expectedVersion=0"),
                &json!({"description": "stale"}),
            )
            .await;
        stale.expect_envelope(409);
        let got = app.get(&path).await;
        assert_eq!(got.expect(200)["description"], basic_flow()["description"]);
    }
);

// Regression: a document without a name was imported as a flow named "" (and a second one
// then clashed with it); a PATCH to `"name": null` left the stored document nameless.
api_test!(a_flow_needs_a_name, |app| async move {
    let mut nameless = Vec::new();
    let mut doc = basic_flow();
    doc.as_object_mut().unwrap().shift_remove("name");
    nameless.push(doc);
    for name in [json!(null), json!(""), json!("   ")] {
        let mut doc = basic_flow();
        doc["name"] = name;
        nameless.push(doc);
    }
    for doc in &nameless {
        let import = app
            .post(&app.v2("flows:import?overwrite=false&flowType=FLOW"), doc)
            .await;
        let body = import.expect(422).clone();
        assert_eq!(body["errors"][0]["path"], "/name", "{body}");
        assert_eq!(body["errors"][0]["code"], "MISSING_FIELD", "{body}");
        let strict = app.post(&app.v2("flows:validate?strict=true"), doc).await;
        assert_eq!(*strict.expect(200), body);
    }
    let wrong_type = {
        let mut doc = basic_flow();
        doc["name"] = json!(42);
        doc
    };
    let import = app.post(&app.v2("flows:import"), &wrong_type).await;
    assert_eq!(import.expect(422)["errors"][0]["path"], "/name");
    assert_eq!(
        app.get(&app.v2("flows")).await.expect(200)["totalRecords"],
        0
    );

    let id = app.import(&basic_flow()).await;
    let path = app.v2(&format!("flows/{id}"));
    let patch = app.patch(&path, &json!({"name": null})).await;
    assert_eq!(patch.expect(422)["errors"][0]["path"], "/name");
    app.post(&path, &nameless[0]).await.expect(422);
    let got = app.get(&path).await;
    assert_eq!(without_server_fields(got.expect(200)), basic_flow());
});

api_test!(renaming_onto_a_taken_name_conflicts, |app| async move {
    app.import(&basic_flow()).await;
    let other = app.import(&crate::util::basic_flow_named("Other")).await;
    let path = app.v2(&format!("flows/{other}"));
    let save = app.post(&path, &basic_flow()).await;
    assert!(save.expect_envelope(409).contains("SamplePlayMessageFlow"));
    let patch = app
        .patch(&path, &json!({"name": "SamplePlayMessageFlow"}))
        .await;
    patch.expect_envelope(409);
    let got = app.get(&path).await;
    let got = got.expect(200);
    assert_eq!(got["name"], "Other");
    assert_eq!(got["version"], 0);
});
