//! The harness: a real server on a loopback port per test ([`spawn_app`]), request helpers
//! that always read the whole answer, the guide's documents, and [`redact`] for snapshots.

use std::time::Duration;

use api::ApiConfig;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use store::Store;

pub const DATABASE_URL_ENV: &str = "SWITCHBOARD_TEST_DATABASE_URL";

/// The admin user of every spawned app; `createdBy` of what the admin token writes.
pub const ADMIN: &str = "admin@example.com";

/// A request that takes longer than this is a hang, and fails the test instead of stalling it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server with its own database, one org and an admin token with every scope.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub org: String,
    /// The admin's bearer token (user [`ADMIN`], [`api::auth::ALL_SCOPES`]).
    pub token: String,
    pub client: reqwest::Client,
    pub store: Store,
    server: tokio::task::AbortHandle,
    _dir: Option<tempfile::TempDir>,
}

/// What the test macro runs after the body: stops the server and closes the store (which
/// drops a PostgreSQL test schema).
pub struct Cleanup {
    store: Store,
    server: tokio::task::AbortHandle,
}

impl Cleanup {
    pub async fn run(self) {
        self.server.abort();
        self.store.close().await;
    }
}

/// [`spawn_app_with`] and the default config.
#[allow(dead_code)]
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, ApiConfig::default()).await
}

/// Starts the whole router on 127.0.0.1:0 over a fresh store of `backend`, with an org and an
/// admin token. None (after saying so) for PostgreSQL when `SWITCHBOARD_TEST_DATABASE_URL`
/// is not set.
pub async fn spawn_app_with(backend: Backend, config: ApiConfig) -> Option<TestApp> {
    spawn_app_full(backend, config, None).await
}

/// [`spawn_app_with`], serving `/metrics` from `metrics`.
pub async fn spawn_app_full(
    backend: Backend,
    config: ApiConfig,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> Option<TestApp> {
    let (store, dir) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}", dir.path().join("switchboard.db").display());
            let store = Store::connect(&url).await.expect("connect to SQLite");
            (store, Some(dir))
        }
        Backend::Postgres => {
            let Ok(url) = std::env::var(DATABASE_URL_ENV) else {
                eprintln!("skipped: {DATABASE_URL_ENV} not set");
                return None;
            };
            let store = Store::connect_postgres_isolated(&url)
                .await
                .expect("connect to PostgreSQL");
            (store, None)
        }
    };
    let org = api::bootstrap::create_org(&store, "Test Org")
        .await
        .expect("create org");
    let scopes: Vec<String> = api::auth::ALL_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let token = api::bootstrap::issue_token(&store, &org.id, ADMIN, &scopes, None, None, "access")
        .await
        .expect("issue admin token");

    let state = api::AppState::new(store.clone(), catalog::Catalog::builtin(), config, metrics);
    let app = api::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("test server stopped: {e}");
        }
    })
    .abort_handle();

    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("HTTP client");
    Some(TestApp {
        base: format!("http://{addr}"),
        org: org.id,
        token,
        client,
        store,
        server,
        _dir: dir,
    })
}

/// A whole answer: status, headers, the body as text and (when it is JSON) as a value.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    /// `Value::Null` when the body is not JSON.
    pub json: Value,
}

impl Resp {
    /// The JSON body, after checking the status (the panic shows the body).
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        &self.json
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Checks the platform error envelope of DESIGN.md and returns its description.
    #[track_caller]
    pub fn expect_envelope(&self, status: u16) -> String {
        let body = self.expect(status);
        assert_eq!(
            body["error"]["key"],
            Value::String(status.to_string()),
            "envelope key; body: {}",
            self.text
        );
        let tracking = body["trackingId"].as_str().unwrap_or_default();
        assert!(
            !tracking.is_empty(),
            "envelope without trackingId: {}",
            self.text
        );
        assert_eq!(
            Some(tracking),
            self.header("trackingid"),
            "the body's trackingId is the TrackingId header"
        );
        let messages = body["error"]["message"].as_array().expect("message array");
        assert_eq!(messages.len(), 1, "one message: {}", self.text);
        let description = messages[0]["description"].as_str().unwrap_or_default();
        assert!(!description.is_empty(), "empty description: {}", self.text);
        description.to_string()
    }
}

/// Sends and reads the whole answer.
pub async fn send(rb: RequestBuilder) -> Resp {
    let resp = rb.send().await.expect("request sent and answered");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("response body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        text,
        json,
    }
}

impl TestApp {
    pub fn cleanup(&self) -> Cleanup {
        Cleanup {
            store: self.store.clone(),
            server: self.server.clone(),
        }
    }

    /// `/{org}/project/{projectId}/v2/{rest}`
    pub fn v2(&self, rest: &str) -> String {
        format!("/{}/project/{}/v2/{rest}", self.org, api::PROJECT_ID)
    }

    /// `/flow-store/{org}/project/{projectId}/{rest}`
    pub fn legacy(&self, rest: &str) -> String {
        format!(
            "/flow-store/{}/project/{}/{rest}",
            self.org,
            api::PROJECT_ID
        )
    }

    /// A request with the admin token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_as(&self.token, method, path)
    }

    /// A request with another token.
    pub fn request_as(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.anonymous(method, path).bearer_auth(token)
    }

    /// A request without an Authorization header.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    pub async fn get(&self, path: &str) -> Resp {
        send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        send(self.request(Method::PATCH, path).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        send(self.request(Method::DELETE, path)).await
    }

    /// Imports `doc` (overwrite=false, flowType=FLOW) and returns the new flow id.
    pub async fn import(&self, doc: &Value) -> String {
        let resp = self
            .post(&self.v2("flows:import?overwrite=false&flowType=FLOW"), doc)
            .await;
        let body = resp.expect(201);
        body["flow"]["id"].as_str().expect("flow.id").to_string()
    }

    /// A token of this org for `user` with `scopes`.
    pub async fn token_for(&self, user: &str, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        api::bootstrap::issue_token(&self.store, &self.org, user, &scopes, None, None, "access")
            .await
            .expect("issue token")
    }

    /// A token of this org for `user` with every scope.
    pub async fn admin_token_for(&self, user: &str) -> String {
        self.token_for(user, api::auth::ALL_SCOPES).await
    }
}

// ---------------------------------------------------------------------------------------
// The guide's documents (tests/fixtures/seeds, copied verbatim from the guide).

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// "Build a basic flow", Step 1.
pub fn basic_flow() -> Value {
    fixture(include_str!(
        "../../../../tests/fixtures/seeds/basic-flow.json"
    ))
}

/// "Add a global error handler", Step 1.
pub fn error_handler_flow() -> Value {
    fixture(include_str!(
        "../../../../tests/fixtures/seeds/error-handler-flow.json"
    ))
}

/// "Patch a flow draft": the PATCH body.
pub fn guide_patch() -> Value {
    fixture(include_str!("../../../../tests/fixtures/seeds/patch.json"))
}

/// The basic flow under another name (flow names are unique per org).
pub fn basic_flow_named(name: &str) -> Value {
    let mut doc = basic_flow();
    doc["name"] = Value::String(name.to_string());
    doc
}

/// The keys the server adds to a stored document.
pub const SERVER_FIELDS: &[&str] = &[
    "id",
    "orgId",
    "version",
    "status",
    "createdBy",
    "createdDate",
    "lastModifiedBy",
    "lastModifiedDate",
    "lockedBy",
];

/// A stored document without the server's fields: what the client sent.
pub fn without_server_fields(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(obj) = doc.as_object_mut() {
        for k in SERVER_FIELDS {
            obj.shift_remove(*k);
        }
    }
    doc
}

// ---------------------------------------------------------------------------------------
// Snapshots

/// `snapshot!("name", value)`: an insta JSON snapshot of `value` after [`redact`]. The name
/// is explicit so that the SQLite and PostgreSQL variants share one snapshot.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::assert_json_snapshot!($name, $crate::util::redact(&$value))
    };
}
pub(crate) use snapshot;

/// Replaces what differs between runs by its kind, wherever it occurs (a whole value or
/// inside a message): RFC 3339 timestamps, UUIDs (org ids), 24-hex ids (flows), tracking ids,
/// tokens. Client data such as node ids (`node-start`) and the project id are left alone.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(redact_str(s)),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k == "trackingId" {
                        Value::String("[tracking-id]".into())
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn redact_str(s: &str) -> String {
    if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
        return "[timestamp]".into();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let boundary_before = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if boundary_before {
            if let Some((len, label)) = match_at(&b[i..]) {
                let boundary_after = b.get(i + len).is_none_or(|c| !c.is_ascii_alphanumeric());
                if boundary_after {
                    out.push_str(label);
                    i += len;
                    continue;
                }
            }
        }
        let ch = s[i..].chars().next().expect("inside the string");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
}

fn hex_run(b: &[u8], n: usize) -> bool {
    b.len() >= n && b[..n].iter().all(|c| is_hex(*c))
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() >= 36
        && b[..36].iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => is_hex(*c),
        })
}

/// The length and label of a redactable token at the start of `b`.
fn match_at(b: &[u8]) -> Option<(usize, &'static str)> {
    const TRACKING: &[u8] = b"switchboard_";
    if b.starts_with(TRACKING) && is_uuid(&b[TRACKING.len()..]) {
        return Some((TRACKING.len() + 36, "[tracking-id]"));
    }
    for prefix in [&b"sb_"[..], b"sbr_", b"sbs_"] {
        if b.starts_with(prefix) && hex_run(&b[prefix.len()..], 64) {
            return Some((prefix.len() + 64, "[token]"));
        }
    }
    if is_uuid(b) {
        return Some((36, "[uuid]"));
    }
    // The project id is the same everywhere; keep it.
    if hex_run(b, 24) && !b.starts_with(api::PROJECT_ID.as_bytes()) {
        return Some((24, "[id]"));
    }
    None
}

#[test]
fn redact_replaces_ids_timestamps_and_tokens_only() {
    let v = serde_json::json!({
        "id": "661c7bc712eaf357de7e4aeb",
        "orgId": "8eb7da9a-c81c-4d13-b08b-38fdeb7330d8",
        "createdDate": "2026-01-15T09:12:00.000Z",
        "message": "A flow named 'X' already exists (id 661c7bc712eaf357de7e4aeb).",
        "nodes": [{"id": "node-start"}],
        "version": 0,
        "trackingId": "whatever",
        "token": format!("sb_{}", "ab".repeat(32)),
    });
    assert_eq!(
        redact(&v),
        serde_json::json!({
            "id": "[id]",
            "orgId": "[uuid]",
            "createdDate": "[timestamp]",
            "message": "A flow named 'X' already exists (id [id]).",
            "nodes": [{"id": "node-start"}],
            "version": 0,
            "trackingId": "[tracking-id]",
            "token": "[token]",
        })
    );
}
