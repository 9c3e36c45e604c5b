//! Tracking ids: taken from the request's `TrackingId` header or generated, echoed in the
//! response header and in every error body, and attached to the request's log span.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

tokio::task_local! {
    static TRACKING_ID: String;
}

/// The current request's tracking id (empty outside a request).
pub fn current() -> String {
    TRACKING_ID.try_with(|t| t.clone()).unwrap_or_default()
}

pub async fn middleware(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("trackingid")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| format!("switchboard_{}", uuid::Uuid::new_v4()));
    let span = tracing::info_span!("request", tracking_id = %id, method = %req.method(), path = %req.uri().path());
    let mut resp = TRACKING_ID
        .scope(
            id.clone(),
            tracing::Instrument::instrument(next.run(req), span),
        )
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("trackingid", v);
    }
    resp
}
