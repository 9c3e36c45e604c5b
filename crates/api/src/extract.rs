//! Extractors that turn bad input into our error envelope instead of axum's plain text:
//! malformed JSON (with line and column), wrong content type (415), oversize bodies (413),
//! JSON nested too deep (serde_json's recursion limit, 400), bad query strings (400), path
//! segments that are not UTF-8 (400).
//!
//! [`envelope_rejections`] is the safety net behind them: any error answer that is not JSON
//! (a rejection of an extractor used directly from axum) is rewrapped in the envelope.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::AppState;

/// A JSON request body as a `serde_json::Value`.
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The bytes of a JSON request body (content type and size checked), for handlers that parse
/// it straight into a typed model.
pub struct JsonBytes(pub Bytes);

impl FromRequest<AppState> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
            let mime = ct.split(';').next().unwrap_or_default().trim();
            if !(mime == "application/json" || mime.ends_with("+json")) {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "Expected 'Content-Type: application/json', got '{mime}'."
                )));
            }
        }
        body_bytes(req, state).await.map(JsonBytes)
    }
}

/// The whole body, within the configured limit (413 in the envelope above it).
pub async fn body_bytes(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            payload_too_large(state)
        } else {
            ApiError::BadRequest(format!("Could not read the request body: {e}"))
        }
    })
}

/// The 413 of this server's body limit (for handlers reading multipart fields themselves).
pub fn payload_too_large(state: &AppState) -> ApiError {
    ApiError::PayloadTooLarge(state.inner.config.body_limit_bytes)
}

pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "The request body is empty; send a JSON document.".into(),
        ));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        // serde_json's message ends with its own " at line L column C"; say it once.
        let full = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        let reason = full.strip_suffix(&position).unwrap_or(&full);
        ApiError::BadRequest(format!(
            "Malformed JSON at line {}, column {}: {reason}.",
            e.line(),
            e.column()
        ))
    })?;
    if let Some(pointer) = find_nul(&value, &mut String::new()) {
        return Err(ApiError::BadRequest(format!(
            "The string at '{pointer}' contains a NUL character (\\u0000), which cannot be stored."
        )));
    }
    Ok(value)
}

/// The JSON Pointer of the first string (or key) containing U+0000: PostgreSQL text cannot
/// hold it, so no body may bring one in.
fn find_nul(v: &Value, at: &mut String) -> Option<String> {
    match v {
        Value::String(s) if s.contains('\0') => Some(at.clone()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = at.len();
            at.push_str(&format!("/{i}"));
            let found = find_nul(item, at);
            at.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            let len = at.len();
            at.push('/');
            at.push_str(&k.replace('~', "~0").replace('/', "~1"));
            let found = if k.contains('\0') {
                Some(at.clone())
            } else {
                find_nul(item, at)
            };
            at.truncate(len);
            found
        }),
        _ => None,
    }
}

/// True when a text contains U+0000 (see [`reject_nul_in_url`]).
pub fn has_nul(s: &str) -> bool {
    s.contains('\0')
}

/// A URL whose path or query decodes to a NUL character answers 400: no id, name or search
/// term can contain one, and PostgreSQL text cannot hold it.
pub async fn reject_nul_in_url(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let nul = |s: &str| s.contains("%00");
    if nul(uri.path()) || uri.query().is_some_and(nul) {
        return ApiError::BadRequest(
            "The URL contains a NUL character (%00), which is not allowed in ids, names or parameters."
                .into(),
        )
        .into_response();
    }
    next.run(req).await
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

/// Path parameters; a segment that does not decode (invalid UTF-8 after percent-decoding)
/// answers 400 in the envelope.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(t)) => Ok(Path(t)),
            Err(e) if e.status().is_server_error() => Err(ApiError::internal(e.body_text())),
            Err(_) => Err(ApiError::BadRequest(format!(
                "The path '{}' has a segment that is not valid percent-encoded UTF-8.",
                parts.uri.path()
            ))),
        }
    }
}

/// Error answers that are not JSON (axum's plain-text rejections) get the envelope, with the
/// same status and headers and their text as the description.
pub async fn envelope_rejections(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) if status.is_client_error() && !b.is_empty() => {
            String::from_utf8_lossy(&b).into_owned()
        }
        _ => status
            .canonical_reason()
            .unwrap_or("The request failed.")
            .to_string(),
    };
    let body = axum::Json(crate::error::envelope(status, &text)).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, body.into_body())
}
