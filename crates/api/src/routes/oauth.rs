//! `POST /v1/access_token`: the OAuth2 token endpoint for service clients
//! (`client_credentials`) and refresh (`refresh_token`), form-encoded, answering the Webex
//! token response shape.

use axum::extract::State;
use axum::http::header;
use axum::Json;
use chrono::Duration;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::hash_token;
use crate::bootstrap::issue_token;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
}

/// Refresh tokens live 90 days, as Webex's do.
const REFRESH_TTL_DAYS: i64 = 90;

pub async fn access_token(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: bytes::Bytes,
) -> ApiResult<Json<Value>> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::UnsupportedMediaType(
            "The token endpoint takes 'application/x-www-form-urlencoded' bodies.".into(),
        ));
    }
    let form: TokenForm = serde_urlencoded::from_bytes(&body)
        .map_err(|e| ApiError::BadRequest(format!("Malformed form body: {e}")))?;
    let fields = [
        &form.grant_type,
        &form.client_id,
        &form.client_secret,
        &form.refresh_token,
        &form.scope,
    ];
    if fields
        .iter()
        .any(|f| f.as_deref().is_some_and(crate::extract::has_nul))
    {
        return Err(ApiError::BadRequest(
            "The form contains a NUL character (%00), which is not allowed.".into(),
        ));
    }
    let store = &state.inner.store;
    let client_id = form
        .client_id
        .ok_or_else(|| ApiError::BadRequest("client_id is required.".into()))?;
    let secret = form
        .client_secret
        .ok_or_else(|| ApiError::BadRequest("client_secret is required.".into()))?;
    let client = store
        .find_client(&client_id)
        .await?
        .filter(|c| c.secret_hash == hash_token(&secret))
        .ok_or_else(|| {
            ApiError::Unauthorized("Unknown client_id or wrong client_secret.".into())
        })?;
    let (org, user, scopes) = match form.grant_type.as_deref() {
        Some("client_credentials") => {
            let scopes = match form.scope {
                Some(s) => {
                    let want: Vec<String> = s.split_whitespace().map(str::to_string).collect();
                    if let Some(bad) = want.iter().find(|w| !client.scopes.contains(w)) {
                        return Err(ApiError::BadRequest(format!(
                            "Scope '{bad}' is not granted to this client."
                        )));
                    }
                    want
                }
                None => client.scopes.clone(),
            };
            (
                client.org_id.clone(),
                format!("{}@clients", client.client_id),
                scopes,
            )
        }
        Some("refresh_token") => {
            let rt = form
                .refresh_token
                .ok_or_else(|| ApiError::BadRequest("refresh_token is required.".into()))?;
            let rec = store
                .find_token(&hash_token(&rt))
                .await?
                .filter(|t| {
                    t.kind == "refresh" && t.client_id.as_deref() == Some(client.client_id.as_str())
                })
                .filter(|t| t.expires_at.is_none_or(|e| e > chrono::Utc::now()))
                .ok_or_else(|| {
                    ApiError::Unauthorized("The refresh token is invalid or expired.".into())
                })?;
            (rec.org_id, rec.user, rec.scopes)
        }
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "Unsupported grant_type '{other}'; use client_credentials or refresh_token."
            )))
        }
        None => return Err(ApiError::BadRequest("grant_type is required.".into())),
    };
    let ttl = state.inner.config.access_token_ttl_secs;
    let access = issue_token(
        store,
        &org,
        &user,
        &scopes,
        Some(Duration::seconds(ttl)),
        Some(&client.client_id),
        "access",
    )
    .await?;
    let refresh = issue_token(
        store,
        &org,
        &user,
        &scopes,
        Some(Duration::days(REFRESH_TTL_DAYS)),
        Some(&client.client_id),
        "refresh",
    )
    .await?;
    Ok(Json(json!({
        "access_token": access,
        "expires_in": ttl,
        "refresh_token": refresh,
        "refresh_token_expires_in": REFRESH_TTL_DAYS * 86400,
        "token_type": "Bearer",
        "scope": scopes.join(" "),
    })))
}
