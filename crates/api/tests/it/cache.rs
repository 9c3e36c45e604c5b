//! `GET flows/{id}` bodies are cached on SQLite; every write to the flow must drop the entry.
//! Regression guard: a GET after each kind of write shows that write.

use serde_json::json;

use crate::util::basic_flow;

api_test!(every_write_is_visible_to_the_next_get, |app| async move {
    let id = app.import(&basic_flow()).await;
    let path = app.v2(&format!("flows/{id}"));
    assert_eq!(app.get(&path).await.expect(200)["version"], 0);
    assert_eq!(
        app.get(&path).await.expect(200)["version"],
        0,
        "a cached read"
    );

    let mut doc = basic_flow();
    doc["description"] = json!("saved");
    app.post(&format!("{path}?expectedVersion=0"), &doc)
        .await
        .expect(200);
    let got = app.get(&path).await.expect(200).clone();
    assert_eq!(
        (got["version"].as_i64(), got["description"].as_str()),
        (Some(1), Some("saved"))
    );

    app.patch(&path, &json!({"description": "patched"}))
        .await
        .expect(200);
    assert_eq!(app.get(&path).await.expect(200)["description"], "patched");

    app.post(&format!("{path}:lock"), &json!({}))
        .await
        .expect(200);
    assert!(app.get(&path).await.expect(200)["lockedBy"].is_string());
    app.post(&format!("{path}:unlock"), &json!({}))
        .await
        .expect(200);
    assert!(app.get(&path).await.expect(200).get("lockedBy").is_none());

    app.post(&format!("{path}:publish"), &json!({"tags": ["Live"]}))
        .await
        .expect(200);
    assert_eq!(app.get(&path).await.expect(200)["status"], "Published");

    let mut over = basic_flow();
    over["description"] = json!("overwritten");
    let r = app
        .post(&app.v2("flows:import?overwrite=true"), &over)
        .await;
    r.expect(201);
    assert_eq!(
        app.get(&path).await.expect(200)["description"],
        "overwritten"
    );

    assert_eq!(app.delete(&path).await.status.as_u16(), 204);
    app.get(&path).await.expect_envelope(404);
});
