//! The HTTP API of switchboard: axum routers, one module per resource.
//!
//! API boundary: only this crate knows HTTP types. Handlers translate requests into calls on
//! the store, the validator and the function host, and every failure into the one error table
//! in [`error`]. Paths, bodies and status codes follow the vendor's (Webex Contact Center)
//! public API so clients work by changing only the base URL.

pub mod auth;
pub mod bootstrap;
pub mod error;
pub mod extract;
mod ids;
mod metrics_layer;
pub mod openapi;
mod routes;
pub mod tracking;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;

pub use error::{ApiError, ApiResult};
pub use routes::ENDPOINTS;

/// The project id of the Flow Orchestration API: the same in every org and environment.
pub const PROJECT_ID: &str = "5e5c9ad6d61f870d6d778c1b";

pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// Typed settings; the binary builds them from flags, env and the config file.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Requests per minute per token (0 disables the limit).
    pub rate_limit_per_minute: u32,
    pub body_limit_bytes: usize,
    /// Lifetime of tokens issued by `POST /v1/access_token`.
    pub access_token_ttl_secs: i64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            rate_limit_per_minute: 60_000,
            body_limit_bytes: DEFAULT_BODY_LIMIT,
            access_token_ttl_secs: 12 * 3600,
        }
    }
}

pub(crate) struct Inner {
    pub store: store::Store,
    pub catalog: &'static catalog::Catalog,
    pub validator: validate::Validator<'static>,
    /// Parse buffers for `flows:validate`, reused across requests.
    pub scratch: validate::ScratchPool,
    pub config: ApiConfig,
    pub auth: auth::AuthCache,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Serialized `GET flows/{id}` bodies, on SQLite only (one server process per database
    /// file, so this process sees every write); entries are dropped on every write to the flow.
    pub flow_cache:
        Option<std::sync::Mutex<std::collections::HashMap<(String, String), bytes::Bytes>>>,
    /// Configuration entities per (org, kind) for choices and validation, kept for
    /// [`ENTITY_TTL`]: validation reads them on every request, they change rarely, and the
    /// TTL bounds how stale another server process's change can look.
    pub entities: EntityCache,
    /// Started on first use: most requests never run a function.
    pub functions: std::sync::OnceLock<functions::FunctionHost>,
    /// The durable runner of executions: set by the server, else started on first use.
    pub runner: std::sync::OnceLock<runtime::server::Runner>,
}

type EntityCache = std::sync::Mutex<
    std::collections::HashMap<(String, &'static str), (std::time::Instant, Vec<(String, String)>)>,
>;

/// How long cached configuration entities are trusted.
pub const ENTITY_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

impl AppState {
    pub fn new(
        store: store::Store,
        catalog: &'static catalog::Catalog,
        config: ApiConfig,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                store: store.clone(),
                catalog,
                validator: validate::Validator::new(catalog),
                scratch: validate::ScratchPool::default(),
                config,
                auth: auth::AuthCache::default(),
                metrics,
                functions: std::sync::OnceLock::new(),
                runner: std::sync::OnceLock::new(),
                entities: EntityCache::default(),
                flow_cache: (store.backend() == store::Backend::Sqlite)
                    .then(|| std::sync::Mutex::new(std::collections::HashMap::new())),
            }),
        }
    }

    pub fn store(&self) -> &store::Store {
        &self.inner.store
    }

    pub(crate) fn cached_entities(
        &self,
        key: &(String, &'static str),
    ) -> Option<Vec<(String, String)>> {
        let map = self
            .inner
            .entities
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(at, _)| at.elapsed() < ENTITY_TTL)
            .map(|(_, v)| v.clone())
    }

    pub(crate) fn cache_entities(&self, key: (String, &'static str), list: Vec<(String, String)>) {
        let mut map = self
            .inner
            .entities
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.insert(key, (std::time::Instant::now(), list));
    }

    /// A cached `GET flows/{id}` body.
    pub(crate) fn cached_flow(&self, org: &str, id: &str) -> Option<bytes::Bytes> {
        let cache = self.inner.flow_cache.as_ref()?;
        let map = cache.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(org.to_string(), id.to_string())).cloned()
    }

    pub(crate) fn cache_flow(&self, org: &str, id: &str, body: bytes::Bytes) {
        if let Some(cache) = &self.inner.flow_cache {
            let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= 4096 {
                map.clear();
            }
            map.insert((org.to_string(), id.to_string()), body);
        }
    }

    /// Call after every write to a flow (draft, publish, lock, delete).
    pub(crate) fn flow_changed(&self, org: &str, id: &str) {
        if let Some(cache) = &self.inner.flow_cache {
            let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
            map.remove(&(org.to_string(), id.to_string()));
        }
    }

    /// Use this function host (tests and the server configure pool sizes and limits).
    pub fn with_functions(self, host: functions::FunctionHost) -> Self {
        let _ = self.inner.functions.set(host);
        self
    }

    /// Use this runner of executions (the server creates it and resumes executions first).
    pub fn with_runner(self, runner: runtime::server::Runner) -> Self {
        let _ = self.inner.runner.set(runner);
        self
    }

    /// The runner of executions, created on first use when none was set.
    pub fn runner(&self) -> Result<&runtime::server::Runner, ApiError> {
        if let Some(r) = self.inner.runner.get() {
            return Ok(r);
        }
        let runner = runtime::server::Runner::new(
            self.inner.store.clone(),
            self.inner.catalog,
            self.functions().clone(),
            runtime::server::RunnerConfig::default(),
        )
        .map_err(ApiError::internal)?;
        let _ = self.inner.runner.set(runner);
        self.inner
            .runner
            .get()
            .ok_or_else(|| ApiError::internal("runner not set"))
    }

    pub fn functions(&self) -> &functions::FunctionHost {
        self.inner
            .functions
            .get_or_init(|| functions::FunctionHost::new(functions::HostConfig::default()))
    }
}

/// The whole application router.
///
/// Layers, outermost first: the tracking id (so every answer, a panic's included, carries
/// it), metrics, the envelope for non-JSON error answers, the NUL guard on URLs, panic
/// catching, the body limit.
pub fn router(state: AppState) -> Router {
    let limit = state.inner.config.body_limit_bytes;
    with_layers(routes::router().with_state(state), limit)
}

fn with_layers(router: Router, body_limit: usize) -> Router {
    router
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                axum::response::IntoResponse::into_response(ApiError::internal("handler panicked"))
            },
        ))
        .layer(axum::middleware::from_fn(extract::reject_nul_in_url))
        .layer(axum::middleware::from_fn(extract::envelope_rejections))
        .layer(axum::middleware::from_fn(metrics_layer::middleware))
        .layer(axum::middleware::from_fn(tracking::middleware))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("boom")
    }

    /// Regression: the panic catcher sat outside the tracking layer, so a panic's 500 had
    /// neither a TrackingId header nor a trackingId in its body.
    #[tokio::test]
    async fn a_panic_answers_500_in_the_envelope_with_the_tracking_id() {
        let app = super::with_layers(axum::Router::new().route("/boom", get(boom)), 1024);
        let req = Request::get("/boom")
            .header("TrackingId", "t-123")
            .body(Body::empty())
            .unwrap();
        let resp = app.oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(resp.headers()["trackingid"], "t-123");
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["trackingId"], "t-123");
        assert_eq!(body["error"]["key"], "500");
        assert!(
            !body.to_string().contains("boom"),
            "the cause is not sent: {body}"
        );
    }
}
