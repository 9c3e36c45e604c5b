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

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;

pub use error::{ApiError, ApiResult};
pub use routes::ENDPOINTS;

/// The project id of the Flow Orchestration API: the same in every org and environment.
pub const PROJECT_ID: &str = "5e5c9ad6d61f870d6d778c1b";

pub(crate) static BODY_LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_BODY_LIMIT);
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
        BODY_LIMIT.store(config.body_limit_bytes, std::sync::atomic::Ordering::Relaxed);
        AppState {
            inner: Arc::new(Inner {
                store,
                catalog,
                validator: validate::Validator::new(catalog),
                config,
                auth: auth::AuthCache::default(),
                metrics,
            }),
        }
    }

    pub fn store(&self) -> &store::Store {
        &self.inner.store
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let limit = state.inner.config.body_limit_bytes;
    routes::router()
        .with_state(state)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(metrics_layer::middleware))
        .layer(axum::middleware::from_fn(tracking::middleware))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                axum::response::IntoResponse::into_response(ApiError::internal("handler panicked"))
            },
        ))
}
