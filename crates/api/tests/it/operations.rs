//! Operations endpoints: liveness, readiness, metrics.

api_test!(healthz_and_readyz, |app| async move {
    let health = app.get("/healthz").await;
    assert_eq!(*health.expect(200), serde_json::json!({"status": "ok"}));
    let ready = app.get("/readyz").await;
    assert_eq!(*ready.expect(200), serde_json::json!({"status": "ready"}));
    // No token needed.
    let anonymous = crate::util::send(app.anonymous(reqwest::Method::GET, "/readyz")).await;
    anonymous.expect(200);
    let metrics = crate::util::send(app.anonymous(reqwest::Method::GET, "/metrics")).await;
    assert_eq!(metrics.status.as_u16(), 200);
    assert!(metrics
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain")));
});

/// Regression: the metrics middleware was applied twice (as a route layer and as a router
/// layer), so every request was counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_each_request_once() {
    // The only test that installs the process-wide recorder; only it sends HEAD requests.
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("install the metrics recorder");
    let app = crate::util::spawn_app_full(
        crate::util::Backend::Sqlite,
        api::ApiConfig::default(),
        Some(handle),
    )
    .await
    .expect("SQLite always runs");
    let cleanup = app.cleanup();
    for _ in 0..3 {
        let resp = crate::util::send(app.anonymous(reqwest::Method::HEAD, "/healthz")).await;
        assert_eq!(resp.status.as_u16(), 200);
    }
    let metrics = crate::util::send(app.anonymous(reqwest::Method::GET, "/metrics")).await;
    assert_eq!(metrics.status.as_u16(), 200);
    let line = metrics
        .text
        .lines()
        .find(|l| {
            l.starts_with("switchboard_http_requests_total{")
                && l.contains(r#"method="HEAD""#)
                && l.contains(r#"route="/healthz""#)
        })
        .unwrap_or_else(|| panic!("no HEAD /healthz counter in:\n{}", metrics.text));
    assert!(line.ends_with(" 3"), "{line}");
    // Store latency is exported too (the server's start-up and the auth lookups read it).
    let flows = crate::util::send(app.request(reqwest::Method::GET, &app.v2("flows"))).await;
    assert_eq!(flows.status.as_u16(), 200);
    let metrics = crate::util::send(app.anonymous(reqwest::Method::GET, "/metrics")).await;
    assert!(
        metrics
            .text
            .lines()
            .any(|l| l.starts_with("switchboard_store_duration_seconds")
                && l.contains(r#"backend="sqlite""#)
                && l.contains(r#"kind="read""#)),
        "no store latency in:\n{}",
        metrics.text
    );
    cleanup.run().await;
}
