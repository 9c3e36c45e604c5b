//! http-request nodes against a real HTTP receiver on loopback (axum on port 0): the
//! request as built from templates, the response mapped into variables, the error port on
//! a non-2xx (when configured), a refused connection, a timeout, and the client's own
//! address policy.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{any, get};
use axum::Router;
use engine::{HttpFailure, HttpPolicy, HttpRequest};
use runtime::{HttpClient, HttpConfig, HttpResult, ReqwestHttpClient};
use serde_json::{json, Value as Json};

use crate::harness::{flow, node, outputs, path, run, status, var, Setup};

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Starts the receiver; returns its address and what it has seen.
async fn receiver() -> (SocketAddr, Log) {
    let log: Log = Arc::default();
    let app = Router::new()
        .route(
            "/customers/{id}",
            get(|Path(id): Path<String>| async move {
                axum::Json(json!({"id": id, "tier": "gold", "balance": 12.5}))
            }),
        )
        .route(
            "/to-metadata",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [("location", "http://169.254.169.254/latest/meta-data")],
                )
            }),
        )
        .route(
            "/missing",
            get(|| async { (StatusCode::NOT_FOUND, "no such thing") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/echo",
            any(
                |State(log): State<Log>,
                 method: Method,
                 uri: axum::http::Uri,
                 headers: HeaderMap,
                 body: String| async move {
                    log.lock().unwrap().push(Seen {
                        method: method.to_string(),
                        uri: uri.to_string(),
                        headers: headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                            .collect(),
                        body: body.clone(),
                    });
                    (StatusCode::CREATED, [("x-request-echo", "yes")], body)
                },
            ),
        )
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (addr, log)
}

fn client() -> ReqwestHttpClient {
    ReqwestHttpClient::new(HttpConfig::default()).unwrap()
}

/// `HTTP` with `props`, then `Done` on out and `Failed` on error.
fn calling(props: Json) -> Json {
    flow(
        json!([
            var("Id", "STRING", "C-7"),
            var("Token", "STRING", "s3cr3t"),
            var("Tier", "STRING", ""),
            var("Balance", "DECIMAL", "0")
        ]),
        json!([
            node("HTTP", "http-request", props),
            node("Done", "end-flow", json!({})),
            node("Failed", "end-flow", json!({}))
        ]),
        json!([
            ["Start", "HTTP", "out"],
            ["HTTP", "Done", "out"],
            ["HTTP", "Failed", "error"]
        ]),
    )
}

fn port_of(r: &runtime::RunResult) -> String {
    path(r)
        .into_iter()
        .find(|(n, _)| n == "HTTP")
        .map(|(_, p)| p)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_response_is_mapped_into_variables() {
    let (addr, _) = receiver().await;
    let http = client();
    let doc = calling(json!({
        "url": format!("http://{addr}/customers/{{{{ Id }}}}"),
        "parseSettings": [
            {"outputVariable": "Tier", "pathExpression": "$.tier"},
            {"outputVariable": "Balance", "pathExpression": "$.balance"}
        ]
    }));
    let (r, _) = run(
        &doc,
        Setup {
            http: Some(&http),
            ..Setup::default()
        },
    )
    .await;
    assert_eq!(port_of(&r), "out");
    assert_eq!(status(&r), "completed");
    assert_eq!(r.state.variable("Tier"), Some(json!("gold")));
    assert_eq!(r.state.variable("Balance"), Some(json!(12.5)));
    let out = outputs(&r, "HTTP");
    assert_eq!(out["httpStatusCode"], json!(200));
    assert_eq!(
        serde_json::from_str::<Json>(out["httpResponseBody"].as_str().unwrap()).unwrap(),
        json!({"id": "C-7", "tier": "gold", "balance": 12.5})
    );
    assert_eq!(
        out["httpResponseHeaders"]["content-type"],
        json!("application/json")
    );
}

#[tokio::test]
async fn the_request_carries_method_headers_query_and_body() {
    let (addr, log) = receiver().await;
    let http = client();
    let doc = calling(json!({
        "method": "POST",
        "url": format!("http://{addr}/echo"),
        "queryParameters": {"q": "{{ Id }} x"},
        "headers": {"Authorization": "Bearer {{ Token }}"},
        "body": {"id": "{{ Id }}", "n": 2}
    }));
    let (r, _) = run(
        &doc,
        Setup {
            http: Some(&http),
            ..Setup::default()
        },
    )
    .await;
    assert_eq!(port_of(&r), "out");
    assert_eq!(outputs(&r, "HTTP")["httpStatusCode"], json!(201));
    assert_eq!(
        outputs(&r, "HTTP")["httpResponseHeaders"]["x-request-echo"],
        json!("yes")
    );
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.method, "POST");
    assert_eq!(s.uri, "/echo?q=C-7%20x");
    assert!(s
        .headers
        .contains(&("authorization".into(), "Bearer s3cr3t".into())));
    assert!(s
        .headers
        .contains(&("content-type".into(), "application/json".into())));
    assert_eq!(
        serde_json::from_str::<Json>(&s.body).unwrap(),
        json!({"id": "C-7", "n": 2})
    );
}

#[tokio::test]
async fn a_non_2xx_takes_the_error_port_only_when_configured() {
    let (addr, _) = receiver().await;
    let http = client();
    let url = format!("http://{addr}/missing");
    let setup = || Setup {
        http: Some(&http),
        ..Setup::default()
    };

    let (r, _) = run(&calling(json!({"url": url})), setup()).await;
    assert_eq!(port_of(&r), "out");
    assert_eq!(outputs(&r, "HTTP")["httpStatusCode"], json!(404));

    let (r, _) = run(
        &calling(json!({"url": url, "treatNon2xxAsError": true})),
        setup(),
    )
    .await;
    assert_eq!(port_of(&r), "error");
    assert!(path(&r).iter().any(|(n, _)| n == "Failed"));
    let out = outputs(&r, "HTTP");
    assert_eq!(out["errorCode"], json!("HTTP_STATUS"));
    assert_eq!(out["httpStatusCode"], json!(404));
    assert_eq!(out["httpResponseBody"], json!("no such thing"));
}

#[tokio::test]
async fn a_refused_connection_takes_the_error_port() {
    // A port nobody listens on: bind, note it, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let http = client();
    let (r, _) = run(
        &calling(json!({"url": format!("http://127.0.0.1:{port}/customers/1")})),
        Setup {
            http: Some(&http),
            ..Setup::default()
        },
    )
    .await;
    assert_eq!(port_of(&r), "error");
    let out = outputs(&r, "HTTP");
    assert_eq!(out["errorCode"], json!("CONNECTION_FAILED"));
    assert_eq!(out["httpStatusCode"], json!(0));
}

#[tokio::test]
async fn a_slow_server_times_out_into_the_error_port() {
    let (addr, _) = receiver().await;
    let http = client();
    let started = std::time::Instant::now();
    let (r, _) = run(
        &calling(json!({"url": format!("http://{addr}/slow"), "timeoutInSec": 1})),
        Setup {
            http: Some(&http),
            ..Setup::default()
        },
    )
    .await;
    assert_eq!(port_of(&r), "error");
    assert_eq!(outputs(&r, "HTTP")["errorCode"], json!("TIMEOUT"));
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
}

fn get_request(url: String) -> HttpRequest {
    HttpRequest {
        id: 1,
        method: "GET".into(),
        url,
        headers: Vec::new(),
        body: None,
        timeout_secs: 2,
    }
}

#[tokio::test]
async fn the_client_applies_its_address_policy_to_resolved_names() {
    let (addr, _) = receiver().await;
    let strict = ReqwestHttpClient::new(HttpConfig {
        policy: HttpPolicy {
            deny_private: true,
            allow_loopback: false,
            deny_hosts: Vec::new(),
        },
        ..HttpConfig::default()
    })
    .unwrap();
    let port = addr.port();
    // A literal address is refused before connecting; a name is refused once resolved.
    for url in [
        format!("http://127.0.0.1:{port}/customers/1"),
        format!("http://localhost:{port}/customers/1"),
    ] {
        match strict.send(&get_request(url.clone())).await {
            HttpResult::Failed { reason, message } => {
                assert_eq!(reason, HttpFailure::Denied, "{url}: {message}");
                assert!(message.contains("denied by policy"), "{message}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    // A redirect into a private range is refused too.
    assert!(matches!(
        client()
            .send(&get_request(format!("http://{addr}/to-metadata")))
            .await,
        HttpResult::Failed {
            reason: HttpFailure::Denied,
            ..
        }
    ));
    // The default configuration allows loopback, by name too.
    let HttpResult::Response { status, .. } = client()
        .send(&get_request(format!("http://localhost:{port}/customers/1")))
        .await
    else {
        panic!("loopback is allowed by default")
    };
    assert_eq!(status, 200);
    assert!(matches!(
        client().send(&get_request("not a url".into())).await,
        HttpResult::Failed {
            reason: HttpFailure::InvalidUrl,
            ..
        }
    ));
}

#[tokio::test]
async fn a_denied_address_in_a_flow_is_a_connection_failure() {
    let (addr, _) = receiver().await;
    let strict = ReqwestHttpClient::new(HttpConfig {
        policy: HttpPolicy {
            allow_loopback: false,
            ..HttpPolicy::default()
        },
        ..HttpConfig::default()
    })
    .unwrap();
    let (r, _) = run(
        &calling(json!({"url": format!("http://localhost:{}/customers/1", addr.port())})),
        Setup {
            http: Some(&strict),
            ..Setup::default()
        },
    )
    .await;
    assert_eq!(port_of(&r), "error");
    let out = outputs(&r, "HTTP");
    assert_eq!(out["errorCode"], json!("CONNECTION_FAILED"));
    assert!(
        out["errorMessage"]
            .as_str()
            .unwrap()
            .contains("denied by policy"),
        "{out}"
    );
}
