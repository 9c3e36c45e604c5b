//! Executions API: start published and draft flows, poll them to the end, read traces,
//! drive a menu with the simulated caller, masking of secure variables, version pinning.

use std::time::Duration;

use serde_json::{json, Value};

use crate::util::TestApp;

use test_support::{flow, node};

/// Set-variable, condition, wait(`secs`), end; `Secret` is secure.
fn waiting_flow(name: &str, secs: u64, label: &str) -> Value {
    flow(
        name,
        json!([
            {"name": "Tier", "type": "STRING", "value": ""},
            {"name": "Label", "type": "STRING", "value": ""},
            {"name": "Secret", "type": "STRING", "value": "", "isSecure": true}
        ]),
        json!([
            node(
                "SetTier",
                "set-variable",
                json!({"variableName": "Tier", "value": "gold"})
            ),
            node(
                "SetSecret",
                "set-variable",
                json!({"variableName": "Secret", "value": "{{ Secret }}99"})
            ),
            node(
                "IsGold",
                "condition",
                json!({"expression": "{{ Tier == 'gold' }}"})
            ),
            node("Hold", "wait", json!({"duration": secs})),
            node(
                "Mark",
                "set-variable",
                json!({"variableName": "Label", "value": label})
            ),
            node("End", "end-flow", json!({}))
        ]),
        json!([
            ["Start", "SetTier", "out"],
            ["SetTier", "SetSecret", "out"],
            ["SetSecret", "IsGold", "out"],
            ["IsGold", "Hold", "true"],
            ["IsGold", "End", "false"],
            ["Hold", "Mark", "out"],
            ["Mark", "End", "out"]
        ]),
    )
}

async fn publish(app: &TestApp, id: &str) {
    app.post(
        &app.v2(&format!("flows/{id}:publish")),
        &json!({"tags": ["Live"]}),
    )
    .await
    .expect(200);
}

fn execs(app: &TestApp, rest: &str) -> String {
    format!("/v1/{}/executions{rest}", app.org)
}

/// Polls until the execution is no longer running or waiting.
async fn finished(app: &TestApp, id: &str) -> Value {
    for _ in 0..200 {
        let body = app
            .get(&execs(app, &format!("/{id}")))
            .await
            .expect(200)
            .clone();
        if !matches!(body["status"].as_str(), Some("running" | "waiting")) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("execution {id} did not finish");
}

/// Polls until the execution waits for caller input.
async fn waits_for_caller(app: &TestApp, id: &str) -> Value {
    for _ in 0..200 {
        let body = app
            .get(&execs(app, &format!("/{id}")))
            .await
            .expect(200)
            .clone();
        if body["waiting"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w["waitingFor"] == "callerInput"))
        {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("execution {id} never waited for the caller");
}

fn completed_nodes(trace: &Value) -> Vec<String> {
    trace["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["phase"] == "completed")
        .map(|r| r["node"].as_str().unwrap().to_owned())
        .collect()
}

api_test!(
    a_published_flow_runs_to_the_end_with_its_trace,
    |app| async move {
        let flow_id = app.import(&waiting_flow("Waiter", 1, "v1")).await;
        // No published version yet: latest is refused, the draft runs.
        let r = app
            .post(&execs(&app, ""), &json!({"flowId": flow_id}))
            .await;
        r.expect_envelope(409);
        publish(&app, &flow_id).await;

        let started = app
        .post(
            &execs(&app, ""),
            &json!({"flowId": flow_id, "version": "latest", "variables": {"Secret": "4242"}, "startData": {"ANI": "+15550100"}}),
        )
        .await;
        let body = started.expect(201).clone();
        assert_eq!(body["flowVersion"], 1);
        assert_eq!(body["status"], "waiting");
        assert_eq!(body["waiting"][0]["node"], "Hold");
        assert_eq!(body["waiting"][0]["waitingFor"], "timer");
        assert_eq!(body["variables"]["Secret"], "******", "{body}");
        let id = body["id"].as_str().unwrap().to_owned();

        let done = finished(&app, &id).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["variables"]["Label"], "v1");
        assert_eq!(done["variables"]["Tier"], "gold");
        assert_eq!(done["variables"]["Secret"], "******");
        assert!(!done.to_string().contains("4242"), "{done}");

        let trace = app
            .get(&execs(&app, &format!("/{id}/trace")))
            .await
            .expect(200)
            .clone();
        assert_eq!(
            completed_nodes(&trace),
            [
                "Start",
                "SetTier",
                "SetSecret",
                "IsGold",
                "Hold",
                "Mark",
                "End"
            ],
            "{trace}"
        );
        assert!(
            !trace.to_string().contains("4242"),
            "secure value leaked: {trace}"
        );
        let seqs: Vec<i64> = trace["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());

        // The list and its filters.
        let list = app
            .get(&execs(&app, &format!("?flowId={flow_id}&status=completed")))
            .await;
        assert_eq!(list.expect(200)["totalRecords"], 1);
        let none = app.get(&execs(&app, "?status=waiting")).await;
        assert_eq!(none.expect(200)["totalRecords"], 0);
        app.get(&execs(&app, "?status=bogus"))
            .await
            .expect_envelope(400);
    }
);

api_test!(draft_executions_and_bad_requests, |app| async move {
    let flow_id = app.import(&waiting_flow("Drafty", 1, "draft")).await;
    let r = app
        .post(
            &execs(&app, ""),
            &json!({"flowId": flow_id, "version": "draft"}),
        )
        .await;
    let body = r.expect(201).clone();
    assert_eq!(body["flowVersion"], "draft");
    let done = finished(&app, body["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["variables"]["Label"], "draft");

    app.post(&execs(&app, ""), &json!({"flowId": "nope"}))
        .await
        .expect_envelope(404);
    app.post(
        &execs(&app, ""),
        &json!({"flowId": flow_id, "version": "v2"}),
    )
    .await
    .expect_envelope(400);
    app.post(&execs(&app, ""), &json!({"flowId": flow_id, "version": 7}))
        .await
        .expect_envelope(404);
    app.post(&execs(&app, ""), &json!({"nope": 1}))
        .await
        .expect_envelope(400);
    app.get(&execs(&app, "/missing")).await.expect_envelope(404);
    app.get(&execs(&app, "/missing/trace"))
        .await
        .expect_envelope(404);
    // Finished: no caller, no cancel.
    let id = body["id"].as_str().unwrap();
    app.post(
        &execs(&app, &format!("/{id}:digits")),
        &json!({"digits": "1"}),
    )
    .await
    .expect_envelope(409);
    app.post(&execs(&app, &format!("/{id}:cancel")), &json!({}))
        .await
        .expect_envelope(409);
});

api_test!(a_menu_is_driven_by_the_simulated_caller, |app| async move {
    let doc = flow(
        "Menu",
        json!([{"name": "Choice", "type": "STRING", "value": ""}]),
        json!([
            node(
                "Ask",
                "menu",
                json!({
                    "prompt": {"promptType": "text", "text": "Press 1 for sales, 2 for support."},
                    "entryTimeout": 30, "maxAttempts": 2
                })
            ),
            node(
                "Sales",
                "set-variable",
                json!({"variableName": "Choice", "value": "sales"})
            ),
            node(
                "Support",
                "set-variable",
                json!({"variableName": "Choice", "value": "support"})
            ),
            node(
                "NoInput",
                "set-variable",
                json!({"variableName": "Choice", "value": "timeout"})
            ),
            node(
                "Invalid",
                "set-variable",
                json!({"variableName": "Choice", "value": "invalid"})
            ),
            node("Bye", "disconnect-contact", json!({}))
        ]),
        json!([
            ["Start", "Ask", "out"],
            ["Ask", "Sales", "digit", {"digit": "1"}],
            ["Ask", "Support", "digit", {"digit": "2"}],
            ["Ask", "NoInput", "onTimeout"],
            ["Ask", "Invalid", "onInvalid"],
            ["Sales", "Bye", "out"],
            ["Support", "Bye", "out"],
            ["NoInput", "Bye", "out"],
            ["Invalid", "Bye", "out"]
        ]),
    );
    let flow_id = app.import(&doc).await;
    publish(&app, &flow_id).await;
    let id = app
        .post(&execs(&app, ""), &json!({"flowId": flow_id}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    waits_for_caller(&app, &id).await;
    app.post(
        &execs(&app, &format!("/{id}:digits")),
        &json!({"digits": "x"}),
    )
    .await
    .expect_envelope(400);
    app.post(
        &execs(&app, &format!("/{id}:digits")),
        &json!({"digits": "2"}),
    )
    .await
    .expect(202);
    let done = finished(&app, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["variables"]["Choice"], "support");

    // A second call hangs up instead.
    let id = app
        .post(&execs(&app, ""), &json!({"flowId": flow_id}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    waits_for_caller(&app, &id).await;
    app.post(&execs(&app, &format!("/{id}:hangup")), &json!({}))
        .await
        .expect(202);
    let done = finished(&app, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["variables"]["Choice"], "");
});

api_test!(
    a_task_finishes_on_the_version_it_started_on,
    |app| async move {
        let flow_id = app.import(&waiting_flow("Pinned", 1, "v1")).await;
        publish(&app, &flow_id).await;
        let id = app
            .post(&execs(&app, ""), &json!({"flowId": flow_id}))
            .await
            .expect(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // While it waits, v2 changes the label.
        let mut v2 = waiting_flow("Pinned", 1, "v2");
        let draft = app
            .get(&app.v2(&format!("flows/{flow_id}")))
            .await
            .expect(200)
            .clone();
        v2["version"] = draft["version"].clone();
        app.post(&app.v2(&format!("flows/{flow_id}")), &v2)
            .await
            .expect(200);
        publish(&app, &flow_id).await;
        let done = finished(&app, &id).await;
        assert_eq!(done["flowVersion"], 1);
        assert_eq!(done["variables"]["Label"], "v1");
        // A new execution takes v2.
        let body = app
            .post(&execs(&app, ""), &json!({"flowId": flow_id}))
            .await
            .expect(201)
            .clone();
        assert_eq!(body["flowVersion"], 2);
        let done = finished(&app, body["id"].as_str().unwrap()).await;
        assert_eq!(done["variables"]["Label"], "v2");
    }
);

api_test!(cancel_stops_a_waiting_execution, |app| async move {
    let flow_id = app.import(&waiting_flow("Cancelled", 3600, "never")).await;
    publish(&app, &flow_id).await;
    let id = app
        .post(&execs(&app, ""), &json!({"flowId": flow_id}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &execs(&app, &format!("/{id}:digits")),
        &json!({"digits": "1"}),
    )
    .await
    .expect_envelope(409);
    app.post(
        &execs(&app, &format!("/{id}:cancel")),
        &json!({"reason": "test"}),
    )
    .await
    .expect(202);
    let done = finished(&app, &id).await;
    assert_eq!(done["status"], "cancelled", "{done}");
});
