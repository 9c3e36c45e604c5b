//! Extractors that turn bad input into our error envelope instead of axum's plain text:
//! malformed JSON (with line and column), wrong content type (415), oversize bodies (413),
//! JSON nested too deep (serde_json's recursion limit, 400), bad query strings (400).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// A JSON request body as a `serde_json::Value`.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
            let mime = ct.split(';').next().unwrap_or_default().trim();
            if !(mime == "application/json" || mime.ends_with("+json")) {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "Expected 'Content-Type: application/json', got '{mime}'."
                )));
            }
        }
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

pub async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(crate::BODY_LIMIT.load(std::sync::atomic::Ordering::Relaxed))
        } else {
            ApiError::BadRequest(format!("Could not read the request body: {e}"))
        }
    })
}

pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "The request body is empty; send a JSON document.".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "Malformed JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })
}

/// A typed query string; unknown or malformed parameters answer 400 in the envelope.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or_default();
        serde_urlencoded_from_str(q).map(Query)
    }
}

fn serde_urlencoded_from_str<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| ApiError::BadRequest("Malformed query string.".into()))?,
    )
    .map(|axum::extract::Query(t)| t)
    .map_err(|e| ApiError::BadRequest(format!("Invalid query parameters: {}", e.body_text())))
}
