//! Discovery under `/{orgId}/project/{projectId}/v2/`: activities, one activity, input
//! choices in each mode, event specifications.
//!
//! Bodies here come from the catalog data, which grows; tests check what the guide relies on
//! rather than snapshotting the whole catalog.

use serde_json::Value;

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|a| a[key].as_str().expect("string").to_string())
        .collect()
}

fn choice_names(body: &Value) -> Vec<String> {
    names(&body["choices"], "name")
}

api_test!(list_activities_with_filters, |app| async move {
    let all = app.get(&app.v2("activities")).await;
    let all = all.expect(200).clone();
    let all_names = names(&all, "activityName");
    for needed in [
        "start",
        "play-message",
        "disconnect-contact",
        "queue-contact",
        "http-request",
    ] {
        assert!(all_names.iter().any(|n| n == needed), "{needed} listed");
    }
    for a in all.as_array().unwrap() {
        assert!(
            ["start", "action", "event", "end"].contains(&a["group"].as_str().unwrap()),
            "{a}"
        );
        assert!(a["outputPorts"].is_array() && a["inputs"].is_array(), "{a}");
    }

    let starts = app.get(&app.v2("activities?group=start")).await;
    let starts = starts.expect(200).clone();
    assert!(!starts.as_array().unwrap().is_empty());
    assert!(starts
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["group"] == "start"));
    assert!(names(&starts, "activityName").contains(&"start".to_string()));

    let ends = app.get(&app.v2("activities?group=end")).await;
    assert!(names(ends.expect(200), "activityName").contains(&"disconnect-contact".to_string()));

    let work = app.get(&app.v2("activities?contactType=workItem")).await;
    let work = work.expect(200).clone();
    assert!(!work.as_array().unwrap().is_empty());
    assert!(work.as_array().unwrap().len() < all.as_array().unwrap().len());
    for a in work.as_array().unwrap() {
        let types = a["contactTypes"].as_array();
        assert!(
            types.is_none_or(|t| t.is_empty() || t.iter().any(|c| c == "workItem")),
            "{a}"
        );
    }
    assert!(!names(&work, "activityName").contains(&"play-message".to_string()));

    let both = app
        .get(&app.v2("activities?group=action&contactType=telephony"))
        .await;
    assert!(names(both.expect(200), "activityName").contains(&"play-message".to_string()));

    let bad = app.get(&app.v2("activities?group=middle")).await;
    bad.expect_envelope(400);
});

api_test!(describe_play_message, |app| async move {
    let resp = app.get(&app.v2("activities/play-message")).await;
    let a = resp.expect(200);
    assert_eq!(a["activityName"], "play-message");
    assert_eq!(a["group"], "action");
    let ports = names(&a["outputPorts"], "name");
    assert!(ports.contains(&"out".to_string()) && ports.contains(&"default".to_string()));
    assert!(a["inputSchema"].is_object());
    let prompt = a["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "prompt")
        .expect("prompt input");
    assert_eq!(
        prompt["choicesEndpoint"],
        format!(
            "/{}/project/{}/v2/activities/play-message/inputs/prompt/choices",
            app.org,
            api::PROJECT_ID
        )
    );

    let missing = app.get(&app.v2("activities/no-such-activity")).await;
    missing.expect_envelope(404);
});

api_test!(choices_in_every_mode, |app| async move {
    let base = app.v2("activities/queue-contact/inputs/queue/choices");
    let list = app.get(&format!("{base}?mode=list")).await;
    let list = list.expect(200).clone();
    assert_eq!(list["mode"], "list");
    let mut queues = choice_names(&list);
    queues.sort();
    assert_eq!(queues, ["Default Queue", "Default Work Item Queue"]);
    // list is the default mode.
    let default = app.get(&base).await;
    assert_eq!(*default.expect(200), list);

    let search = app.get(&format!("{base}?mode=search&query=work")).await;
    assert_eq!(
        choice_names(search.expect(200)),
        ["Default Work Item Queue"]
    );
    let none = app.get(&format!("{base}?mode=search&query=zzz")).await;
    assert_eq!(choice_names(none.expect(200)), Vec::<String>::new());

    let valid = app
        .get(&format!("{base}?mode=validate&value=Default%20Queue"))
        .await;
    let valid = valid.expect(200);
    assert_eq!(valid["valid"], true);
    assert_eq!(valid["choice"]["name"], "Default Queue");
    let id = valid["choice"]["id"].as_str().unwrap().to_string();
    let by_id = app.get(&format!("{base}?mode=validate&value={id}")).await;
    assert_eq!(by_id.expect(200)["valid"], true);
    let invalid = app.get(&format!("{base}?mode=validate&value=Nope")).await;
    assert_eq!(invalid.expect(200)["valid"], false);
    let no_value = app.get(&format!("{base}?mode=validate")).await;
    no_value.expect_envelope(400);

    let dynamic = app.get(&format!("{base}?mode=dynamic")).await;
    let mut dynamic_names = choice_names(dynamic.expect(200));
    dynamic_names.sort();
    assert_eq!(dynamic_names, queues);
    let bad_parents = app
        .get(&format!(
            "{base}?mode=dynamic&parent_inputs=%7B%22nope%22%3A1%7D"
        ))
        .await;
    bad_parents.expect_envelope(400);
    let not_json = app
        .get(&format!("{base}?mode=dynamic&parent_inputs=%7B"))
        .await;
    not_json.expect_envelope(400);

    let bad_mode = app.get(&format!("{base}?mode=everything")).await;
    bad_mode.expect_envelope(400);

    // An input with allowedValues exposes them.
    let methods = app
        .get(&app.v2("activities/http-request/inputs/method/choices?mode=list"))
        .await;
    assert!(choice_names(methods.expect(200)).contains(&"POST".to_string()));
});

api_test!(
    choices_for_an_input_without_choices_is_400,
    |app| async move {
        let resp = app
            .get(&app.v2("activities/http-request/inputs/url/choices?mode=list"))
            .await;
        let description = resp.expect_envelope(400);
        assert!(description.contains("url"), "{description}");
        let no_input = app
            .get(&app.v2("activities/http-request/inputs/nope/choices"))
            .await;
        no_input.expect_envelope(404);
        let no_activity = app.get(&app.v2("activities/nope/inputs/url/choices")).await;
        no_activity.expect_envelope(404);
    }
);

api_test!(
    event_specifications_include_global_error,
    |app| async move {
        let resp = app.get(&app.v2("event-specifications")).await;
        let events = names(resp.expect(200), "name");
        for e in ["GlobalErrorHandling", "ContactStartWorkflow"] {
            assert!(events.iter().any(|n| n == e), "{e} in {events:?}");
        }
    }
);

api_test!(another_project_id_is_404, |app| async move {
    for rest in [
        "activities",
        "activities/play-message",
        "event-specifications",
        "flows",
    ] {
        let path = format!("/{}/project/000000000000000000000000/v2/{rest}", app.org);
        let resp = app.get(&path).await;
        let description = resp.expect_envelope(404);
        assert!(description.contains(api::PROJECT_ID), "{description}");
    }
    let path = format!(
        "/{}/project/000000000000000000000000/v2/flows:validate",
        app.org
    );
    app.post(&path, &crate::util::basic_flow())
        .await
        .expect_envelope(404);
});
