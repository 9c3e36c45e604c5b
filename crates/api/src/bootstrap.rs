//! Organizations, tokens and OAuth clients created outside the HTTP API: the first start of
//! `switchboard serve`, `switchboard token create`, `switchboard client create`.

use chrono::{Duration, Utc};
use serde_json::json;
use store::{ClientRecord, EntityRecord, Org, Store, StoreError, TokenRecord};

use crate::auth;
use crate::ids;

/// Create an organization with a default queue, team, site, audio file, business hours and
/// entry point, so discovery choices resolve before the configuration API exists.
pub async fn create_org(store: &Store, name: &str) -> Result<Org, StoreError> {
    let org = Org {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_string(),
        created_at: ids::now(),
    };
    store.insert_org(&org).await?;
    let now = ids::now();
    let defaults = [
        (
            "queue",
            "Default Queue",
            json!({"queueType": "INBOUND", "channelType": "TELEPHONY", "routingType": "LONGEST_AVAILABLE_AGENT"}),
        ),
        (
            "queue",
            "Default Work Item Queue",
            json!({"queueType": "INBOUND", "channelType": "WORK_ITEM", "routingType": "LONGEST_AVAILABLE_AGENT"}),
        ),
        (
            "team",
            "Default Team",
            json!({"teamType": "AGENT", "teamStatus": "IN_SERVICE"}),
        ),
        ("site", "Default Site", json!({"active": true})),
        (
            "audioFile",
            "welcome.wav",
            json!({"contentType": "audio/wav"}),
        ),
        (
            "businessHours",
            "Default Business Hours",
            json!({"timezone": "America/New_York",
            "workingHours": [{"days": ["MON","TUE","WED","THU","FRI"], "startTime": "08:00", "endTime": "17:00"}]}),
        ),
        (
            "entryPoint",
            "Default Entry Point",
            json!({"entryPointType": "INBOUND", "channelType": "TELEPHONY"}),
        ),
    ];
    for (kind, name, body) in defaults {
        store
            .upsert_entity(&EntityRecord {
                org_id: org.id.clone(),
                kind: kind.to_string(),
                id: uuid::Uuid::new_v4().to_string(),
                name: name.to_string(),
                body,
                created_at: now,
                updated_at: now,
            })
            .await?;
    }
    Ok(org)
}

/// Issue an access token; returns the token (shown once; only its hash is stored).
pub async fn issue_token(
    store: &Store,
    org_id: &str,
    user: &str,
    scopes: &[String],
    ttl: Option<Duration>,
    client_id: Option<&str>,
    kind: &str,
) -> Result<String, StoreError> {
    let prefix = if kind == "refresh" { "sbr_" } else { "sb_" };
    let (token, hash) = auth::new_token(prefix);
    store
        .insert_token(&TokenRecord {
            token_hash: hash,
            org_id: org_id.to_string(),
            user: user.to_string(),
            scopes: scopes.to_vec(),
            kind: kind.to_string(),
            client_id: client_id.map(str::to_string),
            expires_at: ttl.map(|t| Utc::now() + t),
            created_at: ids::now(),
        })
        .await?;
    Ok(token)
}

/// Register an OAuth client; returns (client_id, client_secret).
pub async fn create_client(
    store: &Store,
    org_id: &str,
    name: &str,
    scopes: &[String],
) -> Result<(String, String), StoreError> {
    let client_id = format!("C{}", ids::new_id());
    let (secret, hash) = auth::new_token("sbs_");
    store
        .insert_client(&ClientRecord {
            client_id: client_id.clone(),
            secret_hash: hash,
            org_id: org_id.to_string(),
            name: name.to_string(),
            scopes: scopes.to_vec(),
            created_at: ids::now(),
        })
        .await?;
    Ok((client_id, secret))
}
