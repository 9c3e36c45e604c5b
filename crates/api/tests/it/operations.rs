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
