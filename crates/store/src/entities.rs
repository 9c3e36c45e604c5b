//! Configuration entities: queues, teams, audio files, business hours, entry points, global
//! variables, sites, skills, ... in one generic table keyed by `(org, kind, id)`.
//!
//! Why generic: the choices resolver (constrained activity inputs) and the validator's
//! UNKNOWN_* checks need these now, and the configuration API that will own their official
//! shapes comes later. The body is kept as the JSON the API stores, so adding that API — or a
//! new kind — needs no migration. The `kind` strings belong to the caller; this module gives
//! them no meaning.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sql::{from_json, to_json, write_error, Ts};
use crate::{Store, StoreError};

/// One configuration entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityRecord {
    pub org_id: String,
    /// `queue`, `team`, `audio-file`, `business-hours`, `entry-point`, `global-variable`, ...
    pub kind: String,
    pub id: String,
    pub name: String,
    /// The entity in its API shape.
    pub body: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ENTITY_COLUMNS: &str = "org_id, kind, id, name, body, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct EntityRow {
    org_id: String,
    kind: String,
    id: String,
    name: String,
    body: String,
    created_at: Ts,
    updated_at: Ts,
}

impl TryFrom<EntityRow> for EntityRecord {
    type Error = StoreError;

    fn try_from(row: EntityRow) -> Result<Self, StoreError> {
        Ok(EntityRecord {
            body: from_json(&row.body, "entities.body")?,
            org_id: row.org_id,
            kind: row.kind,
            id: row.id,
            name: row.name,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        })
    }
}

impl Store {
    /// Inserts the entity, or replaces the name, body and `updated_at` of the one with the same
    /// `(org, kind, id)` (its `created_at` is kept). [`StoreError::UnknownOrg`].
    pub async fn upsert_entity(&self, e: &EntityRecord) -> Result<(), StoreError> {
        let body = to_json(&e.body)?;
        let sql = format!(
            "INSERT INTO entities ({ENTITY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (org_id, kind, id) DO UPDATE \
             SET name = excluded.name, body = excluded.body, updated_at = excluded.updated_at"
        );
        writer!(self, |pool| sqlx::query(&sql)
            .bind(&e.org_id)
            .bind(&e.kind)
            .bind(&e.id)
            .bind(&e.name)
            .bind(&body)
            .bind(Ts::new(e.created_at))
            .bind(Ts::new(e.updated_at))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|err| write_error(err, "entities", &e.org_id, &e.id, &e.name))?;
        Ok(())
    }

    /// Every entity of a kind in the org, by name, then id.
    pub async fn list_entities(
        &self,
        org_id: &str,
        kind: &str,
    ) -> Result<Vec<EntityRecord>, StoreError> {
        let sql = format!(
            "SELECT {ENTITY_COLUMNS} FROM entities WHERE org_id = $1 AND kind = $2 \
             ORDER BY name, id"
        );
        let rows = reader!(self, |pool| sqlx::query_as::<_, EntityRow>(&sql)
            .bind(org_id)
            .bind(kind)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(EntityRecord::try_from).collect()
    }

    pub async fn get_entity(
        &self,
        org_id: &str,
        kind: &str,
        id: &str,
    ) -> Result<Option<EntityRecord>, StoreError> {
        let sql = format!(
            "SELECT {ENTITY_COLUMNS} FROM entities WHERE org_id = $1 AND kind = $2 AND id = $3"
        );
        let row = reader!(self, |pool| sqlx::query_as::<_, EntityRow>(&sql)
            .bind(org_id)
            .bind(kind)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(EntityRecord::try_from).transpose()
    }

    /// The entity of a kind with exactly this name (names are not unique for every kind: the
    /// one with the smallest id wins). For resolving names to ids on import.
    pub async fn find_entity_by_name(
        &self,
        org_id: &str,
        kind: &str,
        name: &str,
    ) -> Result<Option<EntityRecord>, StoreError> {
        let sql = format!(
            "SELECT {ENTITY_COLUMNS} FROM entities WHERE org_id = $1 AND kind = $2 AND name = $3 \
             ORDER BY id LIMIT 1"
        );
        let row = reader!(self, |pool| sqlx::query_as::<_, EntityRow>(&sql)
            .bind(org_id)
            .bind(kind)
            .bind(name)
            .fetch_optional(pool)
            .await)?;
        row.map(EntityRecord::try_from).transpose()
    }

    /// Deletes an entity. False if there was none.
    pub async fn delete_entity(
        &self,
        org_id: &str,
        kind: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let deleted = writer!(self, |pool| sqlx::query(
            "DELETE FROM entities WHERE org_id = $1 AND kind = $2 AND id = $3"
        )
        .bind(org_id)
        .bind(kind)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(deleted > 0)
    }
}
