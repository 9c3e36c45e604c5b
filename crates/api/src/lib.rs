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
    pub config: ApiConfig,
    pub auth: auth::AuthCache,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Started on first use: most requests never run a function.
    pub functions: std::sync::OnceLock<functions::FunctionHost>,
}

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
                store,
                catalog,
                validator: validate::Validator::new(catalog),
                config,
                auth: auth::AuthCache::default(),
                metrics,
                functions: std::sync::OnceLock::new(),
            }),
        }
    }

    pub fn store(&self) -> &store::Store {
        &self.inner.store
    }

    /// Use this function host (tests and the server configure pool sizes and limits).
    pub fn with_functions(self, host: functions::FunctionHost) -> Self {
        let _ = self.inner.functions.set(host);
        self
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
