//! Custom functions: drafts, published versions, the `tagVersionMap`, edit locks.
//!
//! Shaped like flows (see `flows`): the function row is the draft, `draft_version` counts
//! its updates, publishing copies the draft's code and settings into an immutable
//! `function_versions` row (1, 2, 3, ... per function) and moves tags (Dev, Test, Latest, Live)
//! onto it. A function's `tag_version_map` is read from `function_tags`; it is never written
//! directly, so it can only name versions that exist.
//!
//! Invariants: names are unique per org (`functions_name_unique` →
//! [`StoreError::NameConflict`], which the API answers with 400 as the guide says); a function
//! locked by one user cannot be updated, published or unlocked by another.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sql::{fold, from_json, retries_exhausted, to_json, write_error, Ts, RETRIES};
use crate::{Store, StoreError};

/// A custom function and its draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionRecord {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: Option<String>,
    /// `js` or `py`.
    pub language: String,
    pub selected_runtime: String,
    pub timeout_in_sec: i64,
    pub source_code: String,
    /// The declared inputs (`[{name, dataType, value}]`), as sent.
    pub inputs: serde_json::Value,
    /// A stringified JSON object mapping output names to samples, kept as sent.
    pub outputs: String,
    /// `Draft` or `Published`.
    pub status: String,
    /// Counts draft updates.
    pub draft_version: i64,
    /// Tag -> version number. Read-only here: only publishing moves tags.
    pub tag_version_map: BTreeMap<String, i64>,
    pub locked_by: Option<String>,
    pub created_by: String,
    pub created_date: DateTime<Utc>,
    pub last_modified_by: String,
    pub last_modified_date: DateTime<Utc>,
    /// Any other fields the client sent, kept for the round trip.
    pub extra: serde_json::Value,
}

/// An immutable published version of a function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionVersionRecord {
    pub function_id: String,
    /// 1, 2, 3, ... per function.
    pub version: i64,
    pub source_code: String,
    pub language: String,
    pub selected_runtime: String,
    pub timeout_in_sec: i64,
    pub inputs: serde_json::Value,
    pub outputs: String,
    pub comment: Option<String>,
    pub created_by: String,
    pub created_date: DateTime<Utc>,
}

const FUNCTION_COLUMNS: &str = "org_id, id, name, description, language, selected_runtime, \
     timeout_in_sec, source_code, inputs, outputs, status, draft_version, locked_by, \
     created_by, created_date, last_modified_by, last_modified_date, extra";

#[derive(sqlx::FromRow)]
struct FunctionRow {
    org_id: String,
    id: String,
    name: String,
    description: Option<String>,
    language: String,
    selected_runtime: String,
    timeout_in_sec: i64,
    source_code: String,
    inputs: String,
    outputs: String,
    status: String,
    draft_version: i64,
    locked_by: Option<String>,
    created_by: String,
    created_date: Ts,
    last_modified_by: String,
    last_modified_date: Ts,
    extra: String,
}

impl FunctionRow {
    fn into_record(self, tags: BTreeMap<String, i64>) -> Result<FunctionRecord, StoreError> {
        Ok(FunctionRecord {
            inputs: from_json(&self.inputs, "functions.inputs")?,
            extra: from_json(&self.extra, "functions.extra")?,
            id: self.id,
            org_id: self.org_id,
            name: self.name,
            description: self.description,
            language: self.language,
            selected_runtime: self.selected_runtime,
            timeout_in_sec: self.timeout_in_sec,
            source_code: self.source_code,
            outputs: self.outputs,
            status: self.status,
            draft_version: self.draft_version,
            tag_version_map: tags,
            locked_by: self.locked_by,
            created_by: self.created_by,
            created_date: self.created_date.0,
            last_modified_by: self.last_modified_by,
            last_modified_date: self.last_modified_date.0,
        })
    }
}

const VERSION_COLUMNS: &str = "function_id, version, source_code, language, selected_runtime, \
     timeout_in_sec, inputs, outputs, comment, created_by, created_date";

#[derive(sqlx::FromRow)]
struct VersionRow {
    function_id: String,
    version: i64,
    source_code: String,
    language: String,
    selected_runtime: String,
    timeout_in_sec: i64,
    inputs: String,
    outputs: String,
    comment: Option<String>,
    created_by: String,
    created_date: Ts,
}

impl TryFrom<VersionRow> for FunctionVersionRecord {
    type Error = StoreError;

    fn try_from(row: VersionRow) -> Result<Self, StoreError> {
        Ok(FunctionVersionRecord {
            inputs: from_json(&row.inputs, "function_versions.inputs")?,
            function_id: row.function_id,
            version: row.version,
            source_code: row.source_code,
            language: row.language,
            selected_runtime: row.selected_runtime,
            timeout_in_sec: row.timeout_in_sec,
            outputs: row.outputs,
            comment: row.comment,
            created_by: row.created_by,
            created_date: row.created_date.0,
        })
    }
}

const TAGS_SQL: &str =
    "SELECT tag, version FROM function_tags WHERE org_id = $1 AND function_id = $2";

impl Store {
    /// Creates a function. `f.tag_version_map` is ignored (only publishing sets tags).
    /// [`StoreError::NameConflict`], [`StoreError::AlreadyExists`], [`StoreError::UnknownOrg`].
    pub async fn insert_function(&self, f: &FunctionRecord) -> Result<(), StoreError> {
        let inputs = to_json(&f.inputs)?;
        let extra = to_json(&f.extra)?;
        let sql = format!(
            "INSERT INTO functions ({FUNCTION_COLUMNS}, name_folded) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        );
        writer!(self, |pool| sqlx::query(&sql)
            .bind(&f.org_id)
            .bind(&f.id)
            .bind(&f.name)
            .bind(&f.description)
            .bind(&f.language)
            .bind(&f.selected_runtime)
            .bind(f.timeout_in_sec)
            .bind(&f.source_code)
            .bind(&inputs)
            .bind(&f.outputs)
            .bind(&f.status)
            .bind(f.draft_version)
            .bind(&f.locked_by)
            .bind(&f.created_by)
            .bind(Ts::new(f.created_date))
            .bind(&f.last_modified_by)
            .bind(Ts::new(f.last_modified_date))
            .bind(&extra)
            .bind(fold(&f.name))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| write_error(e, "functions", &f.org_id, &f.id, &f.name))?;
        Ok(())
    }

    pub async fn get_function(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<FunctionRecord>, StoreError> {
        let sql = format!("SELECT {FUNCTION_COLUMNS} FROM functions WHERE org_id = $1 AND id = $2");
        self.read_function(&sql, org_id, id).await
    }

    /// The function with exactly this name.
    pub async fn find_function_by_name(
        &self,
        org_id: &str,
        name: &str,
    ) -> Result<Option<FunctionRecord>, StoreError> {
        let sql =
            format!("SELECT {FUNCTION_COLUMNS} FROM functions WHERE org_id = $1 AND name = $2");
        self.read_function(&sql, org_id, name).await
    }

    /// Every function of the org, by name (case-insensitively, then bytewise), then id.
    pub async fn list_functions(&self, org_id: &str) -> Result<Vec<FunctionRecord>, StoreError> {
        let sql = format!(
            "SELECT {FUNCTION_COLUMNS} FROM functions WHERE org_id = $1 \
             ORDER BY name_folded, name, id"
        );
        let rows = reader!(self, |pool| sqlx::query_as::<_, FunctionRow>(&sql)
            .bind(org_id)
            .fetch_all(pool)
            .await)?;
        let tags: Vec<(String, String, i64)> = reader!(self, |pool| sqlx::query_as(
            "SELECT function_id, tag, version FROM function_tags WHERE org_id = $1"
        )
        .bind(org_id)
        .fetch_all(pool)
        .await)?;
        let mut tags_by_function: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for (function_id, tag, version) in tags {
            tags_by_function
                .entry(function_id)
                .or_default()
                .insert(tag, version);
        }
        rows.into_iter()
            .map(|row| {
                let tags = tags_by_function.remove(&row.id).unwrap_or_default();
                row.into_record(tags)
            })
            .collect()
    }

    /// Replaces the draft with `f`'s name, description, language, runtime, timeout, source
    /// code, inputs, outputs and extra fields, sets `last_modified_by` to `actor` and
    /// `last_modified_date` to `f.last_modified_date`, and bumps `draft_version`. Ids,
    /// creation fields, status, lock and tags are kept. [`StoreError::NotFound`],
    /// [`StoreError::Locked`] if someone other than `actor` holds the lock,
    /// [`StoreError::NameConflict`] if another function of the org has the new name.
    pub async fn update_function(
        &self,
        org_id: &str,
        id: &str,
        actor: &str,
        f: &FunctionRecord,
    ) -> Result<FunctionRecord, StoreError> {
        let inputs = to_json(&f.inputs)?;
        let extra = to_json(&f.extra)?;
        let sql = format!(
            "UPDATE functions SET name = $3, name_folded = $4, description = $5, language = $6, \
                 selected_runtime = $7, timeout_in_sec = $8, source_code = $9, inputs = $10, \
                 outputs = $11, extra = $12, last_modified_by = $13, last_modified_date = $14, \
                 draft_version = draft_version + 1 \
             WHERE org_id = $1 AND id = $2 AND (locked_by IS NULL OR locked_by = $13) \
             RETURNING {FUNCTION_COLUMNS}"
        );
        for _ in 0..RETRIES {
            let updated = transaction!(self, |tx| {
                let row = sqlx::query_as::<_, FunctionRow>(&sql)
                    .bind(org_id)
                    .bind(id)
                    .bind(&f.name)
                    .bind(fold(&f.name))
                    .bind(&f.description)
                    .bind(&f.language)
                    .bind(&f.selected_runtime)
                    .bind(f.timeout_in_sec)
                    .bind(&f.source_code)
                    .bind(&inputs)
                    .bind(&f.outputs)
                    .bind(&extra)
                    .bind(actor)
                    .bind(Ts::new(f.last_modified_date))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| write_error(e, "functions", org_id, id, &f.name))?;
                match row {
                    Some(row) => {
                        let tags: Vec<(String, i64)> = sqlx::query_as(TAGS_SQL)
                            .bind(org_id)
                            .bind(id)
                            .fetch_all(&mut *tx)
                            .await?;
                        Some(row.into_record(tags.into_iter().collect())?)
                    }
                    None => None,
                }
            });
            if let Some(record) = updated {
                return Ok(record);
            }
            let Some(current) = self.get_function(org_id, id).await? else {
                return Err(StoreError::NotFound);
            };
            if let Some(by) = current.locked_by.filter(|by| by != actor) {
                return Err(StoreError::Locked { by });
            }
        }
        Err(retries_exhausted("update_function"))
    }

    /// Publishes the current draft, in one transaction: a new immutable version (max + 1,
    /// starting at 1) of its code and settings, each tag in `tags` moved onto it, status
    /// `Published`. Returns the function (with its new `tag_version_map`) and the version.
    /// [`StoreError::Locked`] if someone other than `actor` holds the lock.
    pub async fn publish_function(
        &self,
        org_id: &str,
        id: &str,
        tags: &[String],
        comment: Option<&str>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<(FunctionRecord, FunctionVersionRecord), StoreError> {
        let tags: BTreeSet<&String> = tags.iter().collect();
        let select = format!(
            "SELECT {FUNCTION_COLUMNS} FROM functions WHERE org_id = $1 AND id = $2{}",
            self.for_update()
        );
        let created_date = Ts::new(at);
        let (row, version, tag_map) = transaction!(self, |tx| {
            let row = sqlx::query_as::<_, FunctionRow>(&select)
                .bind(org_id)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(mut row) = row else {
                return Err(StoreError::NotFound);
            };
            if let Some(by) = row.locked_by.as_ref().filter(|by| *by != actor) {
                return Err(StoreError::Locked { by: by.clone() });
            }
            let version: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM function_versions \
                 WHERE org_id = $1 AND function_id = $2",
            )
            .bind(org_id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "INSERT INTO function_versions (org_id, {VERSION_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ))
            .bind(org_id)
            .bind(id)
            .bind(version)
            .bind(&row.source_code)
            .bind(&row.language)
            .bind(&row.selected_runtime)
            .bind(row.timeout_in_sec)
            .bind(&row.inputs)
            .bind(&row.outputs)
            .bind(comment)
            .bind(actor)
            .bind(created_date)
            .execute(&mut *tx)
            .await?;
            for tag in &tags {
                sqlx::query(
                    "INSERT INTO function_tags (org_id, function_id, tag, version) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id, function_id, tag) DO UPDATE SET version = excluded.version",
                )
                .bind(org_id)
                .bind(id)
                .bind(*tag)
                .bind(version)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE functions SET status = 'Published', latest_version = $3 \
                 WHERE org_id = $1 AND id = $2",
            )
            .bind(org_id)
            .bind(id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
            row.status = "Published".to_owned();
            let tag_map: Vec<(String, i64)> = sqlx::query_as(TAGS_SQL)
                .bind(org_id)
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
            (row, version, tag_map)
        });
        let version = FunctionVersionRecord {
            function_id: id.to_owned(),
            version,
            source_code: row.source_code.clone(),
            language: row.language.clone(),
            selected_runtime: row.selected_runtime.clone(),
            timeout_in_sec: row.timeout_in_sec,
            inputs: from_json(&row.inputs, "functions.inputs")?,
            outputs: row.outputs.clone(),
            comment: comment.map(str::to_owned),
            created_by: actor.to_owned(),
            created_date: created_date.0,
        };
        Ok((row.into_record(tag_map.into_iter().collect())?, version))
    }

    pub async fn get_function_version(
        &self,
        org_id: &str,
        id: &str,
        version: i64,
    ) -> Result<Option<FunctionVersionRecord>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM function_versions \
             WHERE org_id = $1 AND function_id = $2 AND version = $3"
        );
        let row = reader!(self, |pool| sqlx::query_as::<_, VersionRow>(&sql)
            .bind(org_id)
            .bind(id)
            .bind(version)
            .fetch_optional(pool)
            .await)?;
        row.map(FunctionVersionRecord::try_from).transpose()
    }

    /// Every published version of a function, newest first (empty for an unknown function).
    pub async fn list_function_versions(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Vec<FunctionVersionRecord>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM function_versions \
             WHERE org_id = $1 AND function_id = $2 ORDER BY version DESC"
        );
        let rows = reader!(self, |pool| sqlx::query_as::<_, VersionRow>(&sql)
            .bind(org_id)
            .bind(id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(FunctionVersionRecord::try_from)
            .collect()
    }

    /// Locks (`lock`) or unlocks the function for `actor`, as [`Store::set_flow_lock`] does
    /// for flows.
    pub async fn set_function_lock(
        &self,
        org_id: &str,
        id: &str,
        actor: &str,
        lock: bool,
        at: DateTime<Utc>,
    ) -> Result<FunctionRecord, StoreError> {
        let set = if lock {
            "locked_by = $3, locked_at = CASE WHEN locked_by = $3 THEN locked_at ELSE $4 END"
        } else {
            "locked_by = NULL, locked_at = NULL"
        };
        let sql = format!(
            "UPDATE functions SET {set} \
             WHERE org_id = $1 AND id = $2 AND (locked_by IS NULL OR locked_by = $3) \
             RETURNING {FUNCTION_COLUMNS}"
        );
        for _ in 0..RETRIES {
            let updated = transaction!(self, |tx| {
                let mut query = sqlx::query_as::<_, FunctionRow>(&sql)
                    .bind(org_id)
                    .bind(id)
                    .bind(actor);
                if lock {
                    query = query.bind(Ts::new(at));
                }
                match query.fetch_optional(&mut *tx).await? {
                    Some(row) => {
                        let tags: Vec<(String, i64)> = sqlx::query_as(TAGS_SQL)
                            .bind(org_id)
                            .bind(id)
                            .fetch_all(&mut *tx)
                            .await?;
                        Some(row.into_record(tags.into_iter().collect())?)
                    }
                    None => None,
                }
            });
            if let Some(record) = updated {
                return Ok(record);
            }
            let Some(current) = self.get_function(org_id, id).await? else {
                return Err(StoreError::NotFound);
            };
            if let Some(by) = current.locked_by.filter(|by| by != actor) {
                return Err(StoreError::Locked { by });
            }
        }
        Err(retries_exhausted("set_function_lock"))
    }

    /// Deletes a function with its versions and tags. False if there was no such function.
    pub async fn delete_function(&self, org_id: &str, id: &str) -> Result<bool, StoreError> {
        let deleted = transaction!(self, |tx| {
            sqlx::query("DELETE FROM function_tags WHERE org_id = $1 AND function_id = $2")
                .bind(org_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM function_versions WHERE org_id = $1 AND function_id = $2")
                .bind(org_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM functions WHERE org_id = $1 AND id = $2")
                .bind(org_id)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }

    /// One function by a `WHERE org_id = $1 AND <key> = $2` query, with its tags.
    async fn read_function(
        &self,
        sql: &str,
        org_id: &str,
        key: &str,
    ) -> Result<Option<FunctionRecord>, StoreError> {
        let row = reader!(self, |pool| sqlx::query_as::<_, FunctionRow>(sql)
            .bind(org_id)
            .bind(key)
            .fetch_optional(pool)
            .await)?;
        let Some(row) = row else { return Ok(None) };
        let tags: Vec<(String, i64)> = reader!(self, |pool| sqlx::query_as(TAGS_SQL)
            .bind(org_id)
            .bind(&row.id)
            .fetch_all(pool)
            .await)?;
        row.into_record(tags.into_iter().collect()).map(Some)
    }
}
