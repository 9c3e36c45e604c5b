//! Bearer tokens: random, stored hashed, bound to an org, a user and scopes. Every handler
//! takes a [`Principal`] and calls [`Principal::require`] with the path's org and the scope
//! the operation needs. A per-token token bucket answers 429 with Retry-After.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

pub const CONFIG_READ: &str = "cjp:config_read";
pub const CONFIG_WRITE: &str = "cjp:config_write";

/// Every scope an admin token carries.
pub const ALL_SCOPES: &[&str] = &[
    "cjp:config",
    CONFIG_READ,
    CONFIG_WRITE,
    "cjp:user",
    "cjp:task_read",
    "cjp:task_write",
    "spark:people_read",
];

/// A fresh random token (shown once) and the hash that is stored.
pub fn new_token(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = format!("{prefix}{}", hex::encode(bytes));
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The caller, as proven by its bearer token.
#[derive(Clone, Debug)]
pub struct Principal {
    pub org_id: String,
    pub user: String,
    pub scopes: Vec<String>,
}

impl Principal {
    /// The path's org must be the token's org, and the token must carry `scope`.
    pub fn require(&self, org_id: &str, scope: &str) -> Result<(), ApiError> {
        if org_id != self.org_id {
            return Err(ApiError::Forbidden(format!(
                "Access denied: the token belongs to organization {}, not {org_id}.",
                self.org_id
            )));
        }
        // cjp:config implies both config scopes, as in the vendor's docs.
        let ok = self.scopes.iter().any(|s| {
            s == scope || (s == "cjp:config" && (scope == CONFIG_READ || scope == CONFIG_WRITE))
        });
        if !ok {
            return Err(ApiError::Forbidden(format!(
                "Access denied: this operation needs the scope {scope}."
            )));
        }
        Ok(())
    }
}

/// Token lookups are cached briefly so a hot GET does not pay a store round trip; a
/// deleted token stops working within [`CACHE_TTL`].
const CACHE_TTL: Duration = Duration::from_secs(10);

/// A looked-up token: who it is, when it expires, when it was looked up.
type CachedToken = (Principal, Option<chrono::DateTime<chrono::Utc>>, Instant);

#[derive(Default)]
pub struct AuthCache {
    tokens: Mutex<HashMap<String, CachedToken>>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl AuthCache {
    /// Take one request from the token's bucket; `Err(seconds)` when empty.
    fn take(&self, key: &str, per_minute: u32) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        let cap = f64::from(per_minute);
        let rate = cap / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: cap,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(cap);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::Unauthorized("Missing 'Authorization: Bearer <token>' header.".into())
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("The Authorization header must be 'Bearer <token>'.".into())
            })?;
        let hash = hash_token(token);
        let cache = &state.inner.auth;
        let cached = {
            let map = cache.tokens.lock().unwrap_or_else(|p| p.into_inner());
            map.get(&hash)
                .filter(|(_, _, at)| at.elapsed() < CACHE_TTL)
                .map(|(p, exp, _)| (p.clone(), *exp))
        };
        let (principal, expires) = match cached {
            Some(c) => c,
            None => {
                let rec = state
                    .inner
                    .store
                    .find_token(&hash)
                    .await?
                    .filter(|t| t.kind == "access")
                    .ok_or_else(|| {
                        ApiError::Unauthorized(
                            "The access token is invalid or has been revoked.".into(),
                        )
                    })?;
                let p = Principal {
                    org_id: rec.org_id,
                    user: rec.user,
                    scopes: rec.scopes,
                };
                cache
                    .tokens
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(hash.clone(), (p.clone(), rec.expires_at, Instant::now()));
                (p, rec.expires_at)
            }
        };
        if expires.is_some_and(|e| e <= chrono::Utc::now()) {
            return Err(ApiError::Unauthorized(
                "The access token has expired; request a new one.".into(),
            ));
        }
        cache
            .take(&hash, state.inner.config.rate_limit_per_minute)
            .map_err(ApiError::TooManyRequests)?;
        Ok(principal)
    }
}
