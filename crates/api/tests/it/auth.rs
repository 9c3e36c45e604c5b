//! Bearer tokens, scopes, org isolation, tracking ids, the OAuth token endpoint and the
//! per-token rate limit.

use api::ApiConfig;
use reqwest::Method;
use serde_json::json;

use crate::util::{basic_flow, send, snapshot, ADMIN};

api_test!(
    missing_or_bad_token_is_401_in_the_envelope,
    |app| async move {
        let path = app.v2("activities");
        let none = send(app.anonymous(Method::GET, &path)).await;
        none.expect_envelope(401);
        snapshot!("unauthorized_without_token", none.json);

        let bad = send(app.request_as("sb_not-a-real-token", Method::GET, &path)).await;
        bad.expect_envelope(401);
        let basic = send(
            app.anonymous(Method::GET, &path)
                .header("authorization", "Basic dXNlcjpwYXNz"),
        )
        .await;
        basic.expect_envelope(401);
        let empty = send(
            app.anonymous(Method::GET, &path)
                .header("authorization", "Bearer "),
        )
        .await;
        empty.expect_envelope(401);

        // Writes too, before the body is even looked at.
        let import = send(
            app.anonymous(Method::POST, &app.v2("flows:import"))
                .json(&basic_flow()),
        )
        .await;
        import.expect_envelope(401);
    }
);

api_test!(expired_token_is_401, |app| async move {
    let scopes = vec![api::auth::CONFIG_READ.to_string()];
    let token = api::bootstrap::issue_token(
        &app.store,
        &app.org,
        "late@example.com",
        &scopes,
        Some(chrono::Duration::seconds(-1)),
        None,
        "access",
    )
    .await
    .unwrap();
    let resp = send(app.request_as(&token, Method::GET, &app.v2("activities"))).await;
    assert!(resp.expect_envelope(401).contains("expired"));
});

api_test!(tracking_id_is_echoed_or_generated, |app| async move {
    let mine = send(
        app.anonymous(Method::GET, &app.v2("activities"))
            .header("TrackingId", "my-tracking-id-123"),
    )
    .await;
    mine.expect_envelope(401);
    assert_eq!(mine.header("trackingid"), Some("my-tracking-id-123"));
    assert_eq!(mine.json["trackingId"], "my-tracking-id-123");

    // Successful answers carry one too.
    let ok = app.get("/healthz").await;
    ok.expect(200);
    assert!(ok.header("trackingid").is_some_and(|t| !t.is_empty()));
    let ok = send(
        app.request(Method::GET, &app.v2("activities"))
            .header("TrackingId", "abc"),
    )
    .await;
    ok.expect(200);
    assert_eq!(ok.header("trackingid"), Some("abc"));
});

api_test!(another_orgs_path_is_403, |app| async move {
    let other = api::bootstrap::create_org(&app.store, "Other Org")
        .await
        .unwrap();
    let other_path = format!("/{}/project/{}/v2/activities", other.id, api::PROJECT_ID);
    let resp = app.get(&other_path).await;
    resp.expect_envelope(403);
    snapshot!("forbidden_other_org", resp.json);

    // A flow of the other org is not reachable through either path.
    let scopes: Vec<String> = api::auth::ALL_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let other_token = api::bootstrap::issue_token(
        &app.store,
        &other.id,
        "eve@example.com",
        &scopes,
        None,
        None,
        "access",
    )
    .await
    .unwrap();
    let import = send(
        app.request_as(
            &other_token,
            Method::POST,
            &format!("/{}/project/{}/v2/flows:import", other.id, api::PROJECT_ID),
        )
        .json(&basic_flow()),
    )
    .await;
    let other_flow = import.expect(201)["flow"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let via_own_org = app.get(&app.v2(&format!("flows/{other_flow}"))).await;
    via_own_org.expect_envelope(404);
    let via_other_org = app
        .get(&format!(
            "/{}/project/{}/v2/flows/{other_flow}",
            other.id,
            api::PROJECT_ID
        ))
        .await;
    via_other_org.expect_envelope(403);
    let save = app
        .post(&app.v2(&format!("flows/{other_flow}")), &basic_flow())
        .await;
    save.expect_envelope(404);
    let delete = app.delete(&app.v2(&format!("flows/{other_flow}"))).await;
    delete.expect_envelope(404);
    // ... and it is still there for its owner.
    let owner = send(app.request_as(
        &other_token,
        Method::GET,
        &format!(
            "/{}/project/{}/v2/flows/{other_flow}",
            other.id,
            api::PROJECT_ID
        ),
    ))
    .await;
    owner.expect(200);
});

api_test!(scopes_are_enforced, |app| async move {
    let reader = app
        .token_for("reader@example.com", &[api::auth::CONFIG_READ])
        .await;
    let id = app.import(&basic_flow()).await;

    let list = send(app.request_as(&reader, Method::GET, &app.v2("activities"))).await;
    list.expect(200);
    let get = send(app.request_as(&reader, Method::GET, &app.v2(&format!("flows/{id}")))).await;
    get.expect(200);

    let import = send(
        app.request_as(
            &reader,
            Method::POST,
            &app.v2("flows:import?overwrite=true"),
        )
        .json(&basic_flow()),
    )
    .await;
    let description = import.expect_envelope(403);
    assert!(description.contains("cjp:config_write"), "{description}");
    for (method, rest) in [
        (Method::POST, "flows:validate".to_string()),
        (Method::POST, format!("flows/{id}")),
        (Method::PATCH, format!("flows/{id}")),
        (Method::POST, format!("flows/{id}:publish")),
        (Method::POST, format!("flows/{id}:lock")),
        (Method::DELETE, format!("flows/{id}")),
    ] {
        let resp = send(
            app.request_as(&reader, method.clone(), &app.v2(&rest))
                .json(&basic_flow()),
        )
        .await;
        resp.expect_envelope(403);
    }

    let writer = app
        .token_for("writer@example.com", &[api::auth::CONFIG_WRITE])
        .await;
    let read = send(app.request_as(&writer, Method::GET, &app.v2("flows"))).await;
    read.expect_envelope(403);

    // cjp:config implies both.
    let config = app.token_for("config@example.com", &["cjp:config"]).await;
    let read = send(app.request_as(&config, Method::GET, &app.v2("flows"))).await;
    read.expect(200);
});

api_test!(
    created_and_modified_by_come_from_the_token,
    |app| async move {
        let carol = app.admin_token_for("carol@example.com").await;
        let import = send(
            app.request_as(&carol, Method::POST, &app.v2("flows:import"))
                .json(&basic_flow()),
        )
        .await;
        let flow = import.expect(201)["flow"].clone();
        assert_eq!(flow["createdBy"], "carol@example.com");
        assert_eq!(flow["lastModifiedBy"], "carol@example.com");
        let id = flow["id"].as_str().unwrap();
        let saved = app
            .post(&app.v2(&format!("flows/{id}")), &basic_flow())
            .await;
        let flow = &saved.expect(200)["flow"];
        assert_eq!(flow["createdBy"], "carol@example.com");
        assert_eq!(flow["lastModifiedBy"], ADMIN);
    }
);

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

api_test!(access_token_endpoint, |app| async move {
    let scopes = vec![
        api::auth::CONFIG_READ.to_string(),
        api::auth::CONFIG_WRITE.to_string(),
    ];
    let (client_id, secret) = api::bootstrap::create_client(&app.store, &app.org, "CI", &scopes)
        .await
        .unwrap();
    let token_request = |body: String| {
        app.anonymous(Method::POST, "/v1/access_token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };

    let resp = send(token_request(form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &client_id),
        ("client_secret", &secret),
    ])))
    .await;
    let body = resp.expect(200).clone();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "cjp:config_read cjp:config_write");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    assert!(body["refresh_token_expires_in"].as_i64().unwrap() > 0);
    snapshot!("access_token_client_credentials", body);

    // The issued token works, for its client's identity.
    let access = body["access_token"].as_str().unwrap();
    let import = send(
        app.request_as(access, Method::POST, &app.v2("flows:import"))
            .json(&basic_flow()),
    )
    .await;
    let created_by = import.expect(201)["flow"]["createdBy"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(created_by.contains(&client_id), "{created_by}");

    // refresh_token grant.
    let refresh = body["refresh_token"].as_str().unwrap();
    let resp = send(token_request(form(&[
        ("grant_type", "refresh_token"),
        ("client_id", &client_id),
        ("client_secret", &secret),
        ("refresh_token", refresh),
    ])))
    .await;
    let refreshed = resp.expect(200).clone();
    let access2 = refreshed["access_token"].as_str().unwrap();
    assert_ne!(access2, access);
    let list = send(app.request_as(access2, Method::GET, &app.v2("flows"))).await;
    list.expect(200);
    // A refresh token is not an access token.
    let misuse = send(app.request_as(refresh, Method::GET, &app.v2("flows"))).await;
    misuse.expect_envelope(401);

    // A narrower scope.
    let resp = send(token_request(form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &client_id),
        ("client_secret", &secret),
        ("scope", "cjp:config_read"),
    ])))
    .await;
    let narrow = resp.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let write = send(
        app.request_as(&narrow, Method::POST, &app.v2("flows:validate"))
            .json(&basic_flow()),
    )
    .await;
    write.expect_envelope(403);

    // Refusals.
    let cases = [
        (
            form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", "wrong"),
            ]),
            401,
        ),
        (
            form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "Cnobody"),
                ("client_secret", &secret),
            ]),
            401,
        ),
        (
            form(&[
                ("grant_type", "refresh_token"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("refresh_token", "sbr_bogus"),
            ]),
            401,
        ),
        (
            form(&[
                ("grant_type", "password"),
                ("client_id", &client_id),
                ("client_secret", &secret),
            ]),
            400,
        ),
        (
            form(&[("client_id", &client_id), ("client_secret", &secret)]),
            400,
        ),
        (
            form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("scope", "cjp:task_write"),
            ]),
            400,
        ),
        ("%%%".to_string(), 400),
    ];
    for (body, status) in cases {
        let resp = send(token_request(body.clone())).await;
        assert_eq!(resp.status.as_u16(), status, "{body}: {}", resp.text);
        resp.expect_envelope(status);
    }
    let json_body = send(
        app.anonymous(Method::POST, "/v1/access_token")
            .json(&json!({"grant_type": "client_credentials"})),
    )
    .await;
    json_body.expect_envelope(415);
});

api_test!(
    rate_limit_answers_429_with_retry_after,
    config = ApiConfig {
        rate_limit_per_minute: 3,
        ..ApiConfig::default()
    },
    |app| async move {
        let path = app.v2("event-specifications");
        for _ in 0..3 {
            app.get(&path).await.expect(200);
        }
        let limited = app.get(&path).await;
        limited.expect_envelope(429);
        let retry: u64 = limited
            .header("retry-after")
            .expect("Retry-After header")
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&retry), "{retry}");
        // The limit is per token: another token still gets through.
        let other = app.admin_token_for("other@example.com").await;
        let resp = send(app.request_as(&other, Method::GET, &path)).await;
        resp.expect(200);
        // Unauthenticated operations endpoints are not limited.
        app.get("/healthz").await.expect(200);
    }
);
