//! Organizations and credentials: orgs, bearer tokens and OAuth clients.
//!
//! Tokens and client secrets are stored only as hashes, computed by the caller: a copy of the
//! database never yields a usable credential. Every other row in the store belongs to an org
//! (a foreign key, so inserting for an unknown org is [`StoreError::UnknownOrg`]), and deleting
//! an org would cascade to everything it owns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sql::{from_json, to_json, write_error, Ts};
use crate::{Store, StoreError};

/// A tenant. Every resource belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A bearer token, by the hash of its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub token_hash: String,
    pub org_id: String,
    /// The user identity requests made with this token act as (createdBy, lastModifiedBy).
    pub user: String,
    pub scopes: Vec<String>,
    /// `access` or `refresh`.
    pub kind: String,
    /// The OAuth client the token was issued to, if any.
    pub client_id: Option<String>,
    /// None: never expires. Checked by the caller; [`Store::delete_expired_tokens`] sweeps.
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// An OAuth client (service app) for the client-credentials grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    pub client_id: String,
    pub secret_hash: String,
    pub org_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: String,
    name: String,
    created_at: Ts,
}

impl From<OrgRow> for Org {
    fn from(row: OrgRow) -> Self {
        Org {
            id: row.id,
            name: row.name,
            created_at: row.created_at.0,
        }
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    token_hash: String,
    org_id: String,
    user_name: String,
    scopes: String,
    kind: String,
    client_id: Option<String>,
    expires_at: Option<Ts>,
    created_at: Ts,
}

impl TryFrom<TokenRow> for TokenRecord {
    type Error = StoreError;

    fn try_from(row: TokenRow) -> Result<Self, StoreError> {
        Ok(TokenRecord {
            scopes: from_json(&row.scopes, "tokens.scopes")?,
            token_hash: row.token_hash,
            org_id: row.org_id,
            user: row.user_name,
            kind: row.kind,
            client_id: row.client_id,
            expires_at: row.expires_at.map(|t| t.0),
            created_at: row.created_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    secret_hash: String,
    org_id: String,
    name: String,
    scopes: String,
    created_at: Ts,
}

impl TryFrom<ClientRow> for ClientRecord {
    type Error = StoreError;

    fn try_from(row: ClientRow) -> Result<Self, StoreError> {
        Ok(ClientRecord {
            scopes: from_json(&row.scopes, "clients.scopes")?,
            client_id: row.client_id,
            secret_hash: row.secret_hash,
            org_id: row.org_id,
            name: row.name,
            created_at: row.created_at.0,
        })
    }
}

const TOKEN_COLUMNS: &str =
    "token_hash, org_id, user_name, scopes, kind, client_id, expires_at, created_at";
const CLIENT_COLUMNS: &str = "client_id, secret_hash, org_id, name, scopes, created_at";

impl Store {
    /// Creates an org. [`StoreError::AlreadyExists`] if the id is taken.
    pub async fn insert_org(&self, org: &Org) -> Result<(), StoreError> {
        writer!(self, |pool| sqlx::query(
            "INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)"
        )
        .bind(&org.id)
        .bind(&org.name)
        .bind(Ts::new(org.created_at))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| write_error(e, "orgs", &org.id, &org.id, &org.name))?;
        Ok(())
    }

    pub async fn get_org(&self, id: &str) -> Result<Option<Org>, StoreError> {
        let row = reader!(self, |pool| sqlx::query_as::<_, OrgRow>(
            "SELECT id, name, created_at FROM orgs WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(Org::from))
    }

    /// Every org, oldest first.
    pub async fn list_orgs(&self) -> Result<Vec<Org>, StoreError> {
        let rows = reader!(self, |pool| sqlx::query_as::<_, OrgRow>(
            "SELECT id, name, created_at FROM orgs ORDER BY created_at, id"
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(Org::from).collect())
    }

    /// Stores a token (by hash). [`StoreError::UnknownOrg`] if its org does not exist.
    pub async fn insert_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        let scopes = to_json(&t.scopes)?;
        let sql =
            format!("INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        writer!(self, |pool| sqlx::query(&sql)
            .bind(&t.token_hash)
            .bind(&t.org_id)
            .bind(&t.user)
            .bind(&scopes)
            .bind(&t.kind)
            .bind(&t.client_id)
            .bind(Ts::opt(t.expires_at))
            .bind(Ts::new(t.created_at))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| write_error(e, "tokens", &t.org_id, "token", ""))?;
        Ok(())
    }

    /// The token with this hash, expired or not (the caller checks `expires_at`).
    pub async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_hash = $1");
        let row = reader!(self, |pool| sqlx::query_as::<_, TokenRow>(&sql)
            .bind(token_hash)
            .fetch_optional(pool)
            .await)?;
        row.map(TokenRecord::try_from).transpose()
    }

    /// Revokes a token. Deleting one that does not exist is not an error.
    pub async fn delete_token(&self, token_hash: &str) -> Result<(), StoreError> {
        writer!(self, |pool| sqlx::query(
            "DELETE FROM tokens WHERE token_hash = $1"
        )
        .bind(token_hash)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Deletes tokens that expired before `now`; returns how many.
    pub async fn delete_expired_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = writer!(self, |pool| sqlx::query(
            "DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at < $1"
        )
        .bind(Ts::new(now))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done)
    }

    /// Registers an OAuth client. [`StoreError::AlreadyExists`] if the client id is taken.
    pub async fn insert_client(&self, c: &ClientRecord) -> Result<(), StoreError> {
        let scopes = to_json(&c.scopes)?;
        let sql = format!("INSERT INTO clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
        writer!(self, |pool| sqlx::query(&sql)
            .bind(&c.client_id)
            .bind(&c.secret_hash)
            .bind(&c.org_id)
            .bind(&c.name)
            .bind(&scopes)
            .bind(Ts::new(c.created_at))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| write_error(e, "clients", &c.org_id, &c.client_id, &c.name))?;
        Ok(())
    }

    pub async fn find_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
        let row = reader!(self, |pool| sqlx::query_as::<_, ClientRow>(&sql)
            .bind(client_id)
            .fetch_optional(pool)
            .await)?;
        row.map(ClientRecord::try_from).transpose()
    }
}
