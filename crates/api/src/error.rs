//! The one table of API errors: variant -> HTTP status -> body.
//!
//! Flow validation failures answer the vendor's `{valid, errors}` shape; everything else the
//! platform envelope `{"trackingId", "error": {"key": "<status>", "message": [{"description"}]}}`.
//! Internal causes are logged once and never sent to clients.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::tracking;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Locked(String),
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A flow failed validation: 422 with the validation body as is.
    #[error("validation failed")]
    Invalid(Value),
    #[error("rate limit exceeded; retry after {0} s")]
    TooManyRequests(u64),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Locked(_) => StatusCode::LOCKED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// The platform error envelope.
pub fn envelope(status: StatusCode, description: &str) -> Value {
    json!({
        "trackingId": tracking::current(),
        "error": {
            "key": status.as_u16().to_string(),
            "message": [{"description": description}],
        }
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            ApiError::Invalid(v) => v.clone(),
            ApiError::Internal(cause) => {
                tracing::error!(tracking_id = %tracking::current(), %cause, "internal error");
                envelope(
                    status,
                    "Internal server error; the tracking id identifies it in the server log.",
                )
            }
            other => envelope(status, &other.to_string()),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let ApiError::TooManyRequests(secs) = self {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert("retry-after", v);
            }
        }
        resp
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        use store::StoreError as S;
        match e {
            S::NotFound => ApiError::NotFound("The requested resource does not exist.".into()),
            S::NameConflict { name } => ApiError::Conflict(format!(
                "A resource named '{name}' already exists in this organization."
            )),
            S::VersionConflict { current } => ApiError::Conflict(format!(
                "The draft has moved on: expectedVersion does not match the current version {current}. Fetch the flow and retry."
            )),
            S::Locked { by } => ApiError::Locked(format!(
                "The resource is locked by {by}; ask them to unlock it, or unlock it yourself when they are done."
            )),
            S::AlreadyExists { id } => {
                ApiError::Conflict(format!("A resource with id '{id}' already exists."))
            }
            S::UnknownOrg { org_id } => {
                ApiError::NotFound(format!("Organization '{org_id}' does not exist."))
            }
            other => ApiError::internal(other),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
