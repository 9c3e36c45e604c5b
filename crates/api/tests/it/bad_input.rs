//! Bad input always gets a clear 4xx in the envelope: never a 5xx, a hang or a crash, and
//! nothing stored changes.

use api::ApiConfig;
use reqwest::Method;
use serde_json::json;

use crate::util::{basic_flow, send, snapshot, without_server_fields};

fn raw_post(
    app: &crate::util::TestApp,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    app.request(Method::POST, path)
        .header("content-type", content_type)
        .body(body)
}

api_test!(
    malformed_json_is_400_with_line_and_column,
    |app| async move {
        let body = "{\n  \"name\": \"x\",\n  \"nodes\": [,]\n}";
        let resp = send(raw_post(
            &app,
            &app.v2("flows:validate"),
            "application/json",
            body,
        ))
        .await;
        let description = resp.expect_envelope(400);
        assert!(
            description.contains("line 3") && description.contains("column"),
            "{description}"
        );
        snapshot!("malformed_json", resp.json);

        for body in ["", "   ", "nul", "{\"a\":", "\u{feff}{}", "[1,2"] {
            let resp = send(raw_post(
                &app,
                &app.v2("flows:import"),
                "application/json",
                body,
            ))
            .await;
            resp.expect_envelope(400);
        }
        // Invalid UTF-8.
        let resp = send(raw_post(
            &app,
            &app.v2("flows:validate"),
            "application/json",
            vec![b'"', 0xff, b'"'],
        ))
        .await;
        resp.expect_envelope(400);
        // JSON, but not an object.
        for body in ["[]", "42", "\"flow\"", "null"] {
            let resp = send(raw_post(
                &app,
                &app.v2("flows:validate"),
                "application/json",
                body,
            ))
            .await;
            resp.expect_envelope(400);
            let resp = send(raw_post(
                &app,
                &app.v2("flows:import"),
                "application/json",
                body,
            ))
            .await;
            resp.expect_envelope(400);
        }
    }
);

api_test!(wrong_content_type_is_415, |app| async move {
    let body = serde_json::to_string(&basic_flow()).unwrap();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let resp = send(raw_post(&app, &app.v2("flows:import"), ct, body.clone())).await;
        let description = resp.expect_envelope(415);
        assert!(description.contains("application/json"), "{description}");
    }
    // application/json with parameters is fine.
    let resp = send(raw_post(
        &app,
        &app.v2("flows:validate"),
        "application/json; charset=utf-8",
        body.clone(),
    ))
    .await;
    resp.expect(200);
    let id = app.import(&basic_flow()).await;
    let resp = send(raw_post(
        &app,
        &app.v2(&format!("flows/{id}")),
        "text/plain",
        body.clone(),
    ))
    .await;
    resp.expect_envelope(415);
    let resp = send(
        app.request(Method::PATCH, &app.v2(&format!("flows/{id}")))
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    resp.expect_envelope(415);
});

api_test!(
    body_over_the_limit_is_413,
    config = ApiConfig {
        body_limit_bytes: 4096,
        ..ApiConfig::default()
    },
    |app| async move {
        let mut doc = basic_flow();
        doc["description"] = json!("x".repeat(8192));
        let resp = app.post(&app.v2("flows:import"), &doc).await;
        let description = resp.expect_envelope(413);
        assert!(
            description.contains("4096"),
            "names the limit: {description}"
        );
        let resp = app.post(&app.v2("flows:validate"), &doc).await;
        resp.expect_envelope(413);
        // Under the limit is fine.
        let id = app.import(&basic_flow()).await;
        let path = app.v2(&format!("flows/{id}"));
        app.post(&path, &doc).await.expect_envelope(413);
        app.patch(&path, &json!({"description": "x".repeat(8192)}))
            .await
            .expect_envelope(413);
        app.post(
            &format!("{path}:publish"),
            &json!({"comment": "x".repeat(8192)}),
        )
        .await
        .expect_envelope(413);
        // The token endpoint reads its form with axum's extractor; its rejection gets the
        // envelope too.
        let resp = send(
            app.anonymous(Method::POST, "/v1/access_token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("grant_type={}", "x".repeat(8192))),
        )
        .await;
        resp.expect_envelope(413);
        // The legacy multipart import too.
        let part = reqwest::multipart::Part::bytes(serde_json::to_vec(&doc).unwrap())
            .file_name("flow.json");
        let resp = send(
            app.request(Method::POST, &app.legacy("flows:import"))
                .multipart(reqwest::multipart::Form::new().part("file", part)),
        )
        .await;
        assert!(resp.expect_envelope(413).contains("4096"));
        // A chunked body with no Content-Length is cut off too.
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
             Connection: close\r\n\r\n",
            app.v2("flows:validate"),
            app.token
        );
        let mut raw = head.into_bytes();
        for _ in 0..10 {
            raw.extend_from_slice(b"400\r\n");
            raw.extend_from_slice(&[b' '; 1024]);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"0\r\n\r\n");
        let answer = raw_http(&app, &raw).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        let got = app.get(&path).await;
        assert_eq!(without_server_fields(got.expect(200)), basic_flow());
    }
);

/// Writes `request` on a fresh connection and reads the whole answer (the request should
/// say `Connection: close`).
pub async fn raw_http(app: &crate::util::TestApp, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // The server may answer (and close) before it has read everything.
    let _ = conn.write_all(request).await;
    let mut out = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(15),
        conn.read_to_end(&mut out),
    )
    .await
    .expect("the server answers without hanging")
    .ok();
    String::from_utf8_lossy(&out).into_owned()
}

api_test!(deeply_nested_json_is_400, |app| async move {
    let depth = 10_000;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let resp = send(raw_post(
        &app,
        &app.v2("flows:validate"),
        "application/json",
        body,
    ))
    .await;
    let description = resp.expect_envelope(400);
    assert!(description.contains("recursion"), "{description}");
    let nested = format!(
        "{{\"name\":\"deep\",\"nodes\":[{{\"properties\":{}{}}}]}}",
        "{\"a\":".repeat(depth),
        "}".repeat(depth)
    );
    let resp = send(raw_post(
        &app,
        &app.v2("flows:import"),
        "application/json",
        nested,
    ))
    .await;
    resp.expect_envelope(400);
    // Deep but within the parser's limit: validation answers, no crash.
    let mut doc = basic_flow();
    let mut deep = json!("leaf");
    for _ in 0..100 {
        deep = json!({"a": deep});
    }
    doc["nodes"][1]["properties"]["x-deep"] = deep;
    let resp = app.post(&app.v2("flows:validate"), &doc).await;
    assert_eq!(resp.expect(200)["valid"], true);
    let id = app.import(&doc).await;
    let got = app.get(&app.v2(&format!("flows/{id}"))).await;
    assert_eq!(without_server_fields(got.expect(200)), doc);
});

api_test!(unknown_or_bad_query_parameters_are_400, |app| async move {
    let id = app.import(&basic_flow()).await;
    let flow = format!("flows/{id}");
    let posts = [
        "flows:import?overwrite=maybe",
        "flows:import?flowType=X",
        "flows:import?overwrite=false&frobnicate=1",
        "flows:validate?strict=perhaps",
        "flows:validate?unknown=1",
    ];
    for rest in posts {
        let resp = app.post(&app.v2(rest), &basic_flow()).await;
        let description = resp.expect_envelope(400);
        assert!(!description.is_empty(), "{rest}");
    }
    let gets = [
        "flows?page=-1".to_string(),
        "flows?size=abc".to_string(),
        "flows?flowType=X".to_string(),
        "flows?sort=name".to_string(),
        "activities?frobnicate=1".to_string(),
        format!("{flow}?frobnicate=1"),
        format!("{flow}:export?version=newest"),
        format!("{flow}:export?version=-1"),
        format!("{flow}:export?version=1.5"),
        format!("{flow}:export?versionId=1"),
    ];
    for rest in &gets {
        let resp = app.get(&app.v2(rest)).await;
        resp.expect_envelope(400);
    }
    let resp = app
        .post(
            &app.v2(&format!("{flow}?expectedVersion=zero")),
            &basic_flow(),
        )
        .await;
    resp.expect_envelope(400);
    let resp = app
        .post(
            &app.v2(&format!("{flow}:validate?versionId=nope")),
            &json!({}),
        )
        .await;
    resp.expect_envelope(400);
    let resp = app
        .patch(&app.v2(&format!("{flow}?expectedVersion=")), &json!({}))
        .await;
    resp.expect_envelope(400);
    snapshot!(
        "bad_query_overwrite",
        app.post(&app.v2("flows:import?overwrite=maybe"), &basic_flow())
            .await
            .json
    );
    // Nothing changed.
    let got = app.get(&app.v2(&flow)).await;
    assert_eq!(got.expect(200)["version"], 0);
});

api_test!(bad_patch_bodies_are_400, |app| async move {
    let id = app.import(&basic_flow()).await;
    let path = app.v2(&format!("flows/{id}"));
    for body in [
        json!({"upsert_nodes": "HoldMessage"}),
        json!({"upsert_nodes": [{"id": "x"}]}),
        json!({"remove_node_names": [1]}),
        json!([]),
    ] {
        let resp = app.patch(&path, &body).await;
        assert!(
            resp.status.is_client_error(),
            "{body}: {} {}",
            resp.status,
            resp.text
        );
    }
    let got = app.get(&path).await;
    assert_eq!(got.expect(200)["version"], 0);
});

api_test!(ids_that_do_not_exist_are_404, |app| async move {
    let missing = "ffffffffffffffffffffffff";
    let flow = format!("flows/{missing}");
    for (method, rest) in [
        (Method::GET, flow.clone()),
        (Method::GET, format!("{flow}:export")),
        (Method::GET, format!("{flow}/versions")),
        (Method::POST, flow.clone()),
        (Method::PATCH, flow.clone()),
        (Method::DELETE, flow.clone()),
        (Method::POST, format!("{flow}:validate")),
        (Method::POST, format!("{flow}:publish")),
        (Method::POST, format!("{flow}:lock")),
        (Method::POST, format!("{flow}:unlock")),
    ] {
        let body = if method == Method::PATCH {
            crate::util::guide_patch()
        } else {
            basic_flow()
        };
        let resp = send(app.request(method.clone(), &app.v2(&rest)).json(&body)).await;
        resp.expect_envelope(404);
    }
    // An org that does not exist is not the token's: 403.
    let resp = app
        .get(&format!(
            "/00000000-0000-0000-0000-000000000000/project/{}/v2/flows",
            api::PROJECT_ID
        ))
        .await;
    resp.expect_envelope(403);
    snapshot!("flow_not_found", app.get(&app.v2(&flow)).await.json);
});

api_test!(unknown_endpoints_actions_and_methods, |app| async move {
    let id = app.import(&basic_flow()).await;
    let resp = app
        .post(&app.v2(&format!("flows/{id}:frobnicate")), &json!({}))
        .await;
    let description = resp.expect_envelope(404);
    assert!(description.contains("frobnicate"), "{description}");
    app.get(&app.v2(&format!("flows/{id}:publish")))
        .await
        .expect_envelope(404);
    app.patch(&app.v2(&format!("flows/{id}:lock")), &json!({}))
        .await
        .expect_envelope(404);
    app.delete(&app.v2(&format!("flows/{id}:lock")))
        .await
        .expect_envelope(404);
    app.post(&app.v2("flows:frobnicate"), &json!({}))
        .await
        .expect_envelope(404);
    let resp = app.get("/no/such/endpoint").await;
    resp.expect_envelope(404);
    snapshot!("no_such_endpoint", resp.json);

    let resp = send(
        app.request(Method::PUT, &app.v2(&format!("flows/{id}")))
            .json(&basic_flow()),
    )
    .await;
    resp.expect_envelope(405);
    snapshot!("method_not_allowed", resp.json);
    send(app.request(Method::DELETE, &app.v2("flows")))
        .await
        .expect_envelope(405);
    send(app.request(Method::GET, &app.v2("flows:import")))
        .await
        .expect_envelope(405);
    send(app.request(Method::POST, "/healthz"))
        .await
        .expect_envelope(405);
    send(app.request(Method::GET, "/v1/access_token"))
        .await
        .expect_envelope(405);
});

api_test!(odd_paths_are_4xx, |app| async move {
    let paths = [
        app.v2("flows/%FF%FE"),
        app.v2("flows/%00"),
        app.v2(&format!("flows/{}", "a".repeat(5000))),
        app.v2("flows/:export"),
        app.v2("flows/a:b:c"),
        app.v2("activities/%2e%2e"),
    ];
    for path in &paths {
        let resp = app.get(path).await;
        assert!(
            resp.status.is_client_error(),
            "{path}: {} {}",
            resp.status,
            resp.text
        );
        resp.expect_envelope(resp.status.as_u16());
    }
});

// Regression: a NUL character reached PostgreSQL, which cannot store it in text, and the
// request answered 500.
api_test!(nul_characters_are_400_on_every_backend, |app| async move {
    let id = app.import(&basic_flow()).await;
    for path in [
        app.v2("flows/%00"),
        app.v2("flows?name=a%00b"),
        app.legacy("flows?partialNameSearch=%00"),
        app.v2(&format!("flows/{id}:export?version=%00")),
        app.v2("activities/queue-contact/inputs/queue/choices?mode=search&query=%00"),
    ] {
        let resp = app.get(&path).await;
        let description = resp.expect_envelope(400);
        assert!(description.contains("NUL"), "{path}: {description}");
    }
    let mut doc = basic_flow();
    doc["name"] = json!("Sample\u{0}Flow");
    let resp = app.post(&app.v2("flows:import"), &doc).await;
    let description = resp.expect_envelope(400);
    assert!(
        description.contains("/name"),
        "points at the string: {description}"
    );
    let mut doc = basic_flow();
    doc["description"] = json!("\u{0}");
    app.post(&app.v2(&format!("flows/{id}")), &doc)
        .await
        .expect_envelope(400);
    app.patch(
        &app.v2(&format!("flows/{id}")),
        &json!({"description": "\u{0}"}),
    )
    .await
    .expect_envelope(400);
    let resp = send(
        app.anonymous(Method::POST, "/v1/access_token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&client_id=%00&client_secret=x"),
    )
    .await;
    resp.expect_envelope(400);
    // Nothing changed.
    let got = app.get(&app.v2(&format!("flows/{id}"))).await;
    assert_eq!(without_server_fields(got.expect(200)), basic_flow());
});
