//! Flows: drafts, published versions, tags and edit locks.
//!
//! A flow row is the draft: the document as the client sent it (server fields stripped by the
//! caller) plus metadata. `version` counts draft saves and is the optimistic-locking token of
//! `expectedVersion`. Publishing copies the draft into an immutable `flow_versions` row numbered
//! 1, 2, 3, ... (a database trigger rejects any UPDATE of those rows) and moves the requested
//! tags onto it; `latest_version` on the flow is always the newest number.
//!
//! Invariants:
//! - Names are unique per org (`flows_name_unique`), reported as [`StoreError::NameConflict`].
//! - The version check, the lock check and the write of a draft save are one statement.
//! - A draft locked by one user cannot be saved, published or unlocked by another.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sql::{
    contains_pattern, fold, from_json, retries_exhausted, to_json, write_error, Arg, Ts, RETRIES,
};
use crate::{Backend, Store, StoreError};

/// A flow and its draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowRecord {
    pub id: String,
    pub org_id: String,
    pub name: String,
    /// `FLOW` or `SUBFLOW`.
    pub flow_type: String,
    pub description: Option<String>,
    /// `Draft` or `Published` (set by the first publish; later saves leave it).
    pub status: String,
    /// Draft document version: 0 on import, +1 on every save.
    pub version: i64,
    /// The draft as sent, without server fields.
    pub document: serde_json::Value,
    pub created_by: String,
    pub created_date: DateTime<Utc>,
    pub last_modified_by: String,
    pub last_modified_date: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub locked_at: Option<DateTime<Utc>>,
    /// The newest published version number.
    pub latest_version: Option<i64>,
}

/// A new draft replacing the current one (see [`Store::update_draft`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftUpdate {
    pub document: serde_json::Value,
    pub name: String,
    pub description: Option<String>,
    pub flow_type: String,
    /// Who saves: becomes `last_modified_by`, and must hold the lock if there is one.
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// Which flows [`Store::list_flows`] returns. Results are ordered by name
/// (case-insensitively, then bytewise), then id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowFilter {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    pub flow_type: Option<String>,
    /// Only these ids (an empty list matches nothing).
    pub ids: Option<Vec<String>>,
    pub offset: u64,
    pub limit: u64,
}

impl Default for FlowFilter {
    /// Every flow, no paging.
    fn default() -> Self {
        FlowFilter {
            name_contains: None,
            flow_type: None,
            ids: None,
            offset: 0,
            limit: u64::MAX,
        }
    }
}

/// What [`Store::publish_flow`] needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishRequest {
    pub comment: Option<String>,
    /// Tags (Dev, Test, Latest, Live, ...) to move onto the new version.
    pub tags: Vec<String>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// An immutable published version of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowVersionRecord {
    pub flow_id: String,
    /// 1, 2, 3, ... per flow.
    pub number: i64,
    pub document: serde_json::Value,
    pub comment: Option<String>,
    /// The tags currently on this version, sorted.
    pub tags: Vec<String>,
    pub created_by: String,
    pub created_date: DateTime<Utc>,
}

const FLOW_COLUMNS: &str = "org_id, id, name, flow_type, description, status, version, document, \
     created_by, created_date, last_modified_by, last_modified_date, locked_by, locked_at, \
     latest_version";

#[derive(sqlx::FromRow)]
struct FlowRow {
    org_id: String,
    id: String,
    name: String,
    flow_type: String,
    description: Option<String>,
    status: String,
    version: i64,
    document: String,
    created_by: String,
    created_date: Ts,
    last_modified_by: String,
    last_modified_date: Ts,
    locked_by: Option<String>,
    locked_at: Option<Ts>,
    latest_version: Option<i64>,
}

impl TryFrom<FlowRow> for FlowRecord {
    type Error = StoreError;

    fn try_from(row: FlowRow) -> Result<Self, StoreError> {
        Ok(FlowRecord {
            document: from_json(&row.document, "flows.document")?,
            id: row.id,
            org_id: row.org_id,
            name: row.name,
            flow_type: row.flow_type,
            description: row.description,
            status: row.status,
            version: row.version,
            created_by: row.created_by,
            created_date: row.created_date.0,
            last_modified_by: row.last_modified_by,
            last_modified_date: row.last_modified_date.0,
            locked_by: row.locked_by,
            locked_at: row.locked_at.map(|t| t.0),
            latest_version: row.latest_version,
        })
    }
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    flow_id: String,
    number: i64,
    document: String,
    comment: Option<String>,
    created_by: String,
    created_date: Ts,
}

impl VersionRow {
    fn into_record(self, tags: Vec<String>) -> Result<FlowVersionRecord, StoreError> {
        Ok(FlowVersionRecord {
            document: from_json(&self.document, "flow_versions.document")?,
            flow_id: self.flow_id,
            number: self.number,
            comment: self.comment,
            tags,
            created_by: self.created_by,
            created_date: self.created_date.0,
        })
    }
}

const VERSION_COLUMNS: &str = "flow_id, number, document, comment, created_by, created_date";

impl Store {
    /// Creates a flow. [`StoreError::NameConflict`] if the org has a flow of this name,
    /// [`StoreError::AlreadyExists`] if the id is taken, [`StoreError::UnknownOrg`].
    pub async fn insert_flow(&self, f: &FlowRecord) -> Result<(), StoreError> {
        let document = to_json(&f.document)?;
        let sql = format!(
            "INSERT INTO flows ({FLOW_COLUMNS}, name_folded) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        );
        writer!(self, |pool| sqlx::query(&sql)
            .bind(&f.org_id)
            .bind(&f.id)
            .bind(&f.name)
            .bind(&f.flow_type)
            .bind(&f.description)
            .bind(&f.status)
            .bind(f.version)
            .bind(&document)
            .bind(&f.created_by)
            .bind(Ts::new(f.created_date))
            .bind(&f.last_modified_by)
            .bind(Ts::new(f.last_modified_date))
            .bind(&f.locked_by)
            .bind(Ts::opt(f.locked_at))
            .bind(f.latest_version)
            .bind(fold(&f.name))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| write_error(e, "flows", &f.org_id, &f.id, &f.name))?;
        Ok(())
    }

    pub async fn get_flow(
        &self,
        org_id: &str,
        flow_id: &str,
    ) -> Result<Option<FlowRecord>, StoreError> {
        let sql = format!("SELECT {FLOW_COLUMNS} FROM flows WHERE org_id = $1 AND id = $2");
        let row = reader!(self, |pool| sqlx::query_as::<_, FlowRow>(&sql)
            .bind(org_id)
            .bind(flow_id)
            .fetch_optional(pool)
            .await)?;
        row.map(FlowRecord::try_from).transpose()
    }

    /// The flow with exactly this name (names are case-sensitive).
    pub async fn find_flow_by_name(
        &self,
        org_id: &str,
        name: &str,
    ) -> Result<Option<FlowRecord>, StoreError> {
        let sql = format!("SELECT {FLOW_COLUMNS} FROM flows WHERE org_id = $1 AND name = $2");
        let row = reader!(self, |pool| sqlx::query_as::<_, FlowRow>(&sql)
            .bind(org_id)
            .bind(name)
            .fetch_optional(pool)
            .await)?;
        row.map(FlowRecord::try_from).transpose()
    }

    /// One page of the org's flows matching `filter`, and how many match in all.
    pub async fn list_flows(
        &self,
        org_id: &str,
        filter: &FlowFilter,
    ) -> Result<(Vec<FlowRecord>, u64), StoreError> {
        let mut args = vec![Arg::Text(org_id.to_owned())];
        let mut conditions = String::from("org_id = $1");
        if let Some(needle) = &filter.name_contains {
            args.push(Arg::Text(contains_pattern(needle)));
            conditions += &format!(" AND name_folded LIKE ${} ESCAPE '\\'", args.len());
        }
        if let Some(flow_type) = &filter.flow_type {
            args.push(Arg::Text(flow_type.clone()));
            conditions += &format!(" AND flow_type = ${}", args.len());
        }
        if let Some(ids) = &filter.ids {
            if ids.is_empty() {
                return Ok((Vec::new(), 0));
            }
            let mut placeholders = Vec::with_capacity(ids.len());
            for id in ids {
                args.push(Arg::Text(id.clone()));
                placeholders.push(format!("${}", args.len()));
            }
            conditions += &format!(" AND id IN ({})", placeholders.join(", "));
        }

        let (rows, total) = self
            .page::<FlowRow>(crate::Page {
                table: "flows",
                columns: FLOW_COLUMNS,
                conditions: &conditions,
                order: "name_folded, name, id",
                args,
                limit: filter.limit,
                offset: filter.offset,
            })
            .await?;
        let flows = rows
            .into_iter()
            .map(FlowRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((flows, total))
    }

    /// Replaces the draft and bumps `version` by one, in one conditional statement: under
    /// concurrent saves with the same `expected_version` exactly one wins.
    ///
    /// Fails with [`StoreError::NotFound`]; [`StoreError::Locked`] when someone other than
    /// `update.actor` holds the lock; [`StoreError::VersionConflict`] when `expected_version`
    /// is given and the draft is at another version; [`StoreError::NameConflict`] when another
    /// flow of the org has the new name. The status and the lock are kept.
    pub async fn update_draft(
        &self,
        org_id: &str,
        flow_id: &str,
        expected_version: Option<i64>,
        update: &DraftUpdate,
    ) -> Result<FlowRecord, StoreError> {
        let document = to_json(&update.document)?;
        let sql = format!(
            "UPDATE flows SET document = $3, name = $4, name_folded = $5, description = $6, \
                 flow_type = $7, last_modified_by = $8, last_modified_date = $9, \
                 version = version + 1 \
             WHERE org_id = $1 AND id = $2 \
               AND ($10 IS NULL OR version = $10) \
               AND (locked_by IS NULL OR locked_by = $8) \
             RETURNING {FLOW_COLUMNS}"
        );
        for _ in 0..RETRIES {
            let row = writer!(self, |pool| sqlx::query_as::<_, FlowRow>(&sql)
                .bind(org_id)
                .bind(flow_id)
                .bind(&document)
                .bind(&update.name)
                .bind(fold(&update.name))
                .bind(&update.description)
                .bind(&update.flow_type)
                .bind(&update.actor)
                .bind(Ts::new(update.at))
                .bind(expected_version)
                .fetch_optional(pool)
                .await)
            .map_err(|e| write_error(e, "flows", org_id, flow_id, &update.name))?;
            if let Some(row) = row {
                return FlowRecord::try_from(row);
            }
            // Nothing matched: say why, from the row as it is now.
            let Some(current) = self.get_flow(org_id, flow_id).await? else {
                return Err(StoreError::NotFound);
            };
            if let Some(by) = current.locked_by.filter(|by| *by != update.actor) {
                return Err(StoreError::Locked { by });
            }
            if expected_version.is_some_and(|v| v != current.version) {
                return Err(StoreError::VersionConflict {
                    current: current.version,
                });
            }
            // The obstacle went away in between (an unlock); try again.
        }
        Err(retries_exhausted("update_draft"))
    }

    /// Deletes a flow with its versions and tags. False if there was no such flow.
    pub async fn delete_flow(&self, org_id: &str, flow_id: &str) -> Result<bool, StoreError> {
        let deleted = transaction!(self, |tx| {
            sqlx::query("DELETE FROM flow_tags WHERE org_id = $1 AND flow_id = $2")
                .bind(org_id)
                .bind(flow_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM flow_versions WHERE org_id = $1 AND flow_id = $2")
                .bind(org_id)
                .bind(flow_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM flows WHERE org_id = $1 AND id = $2")
                .bind(org_id)
                .bind(flow_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }

    /// `lock`: makes `actor` the lock holder (keeping the original `locked_at` if they already
    /// were). `!lock`: clears the lock; unlocking an unlocked flow is fine. Either way
    /// [`StoreError::Locked`] if someone else holds it.
    pub async fn set_flow_lock(
        &self,
        org_id: &str,
        flow_id: &str,
        actor: &str,
        lock: bool,
        at: DateTime<Utc>,
    ) -> Result<FlowRecord, StoreError> {
        let set = if lock {
            "locked_by = $3, locked_at = CASE WHEN locked_by = $3 THEN locked_at ELSE $4 END"
        } else {
            "locked_by = NULL, locked_at = NULL"
        };
        let sql = format!(
            "UPDATE flows SET {set} \
             WHERE org_id = $1 AND id = $2 AND (locked_by IS NULL OR locked_by = $3) \
             RETURNING {FLOW_COLUMNS}"
        );
        for _ in 0..RETRIES {
            let row = writer!(self, |pool| {
                let mut query = sqlx::query_as::<_, FlowRow>(&sql)
                    .bind(org_id)
                    .bind(flow_id)
                    .bind(actor);
                if lock {
                    query = query.bind(Ts::new(at));
                }
                query.fetch_optional(pool).await
            })?;
            if let Some(row) = row {
                return FlowRecord::try_from(row);
            }
            let Some(current) = self.get_flow(org_id, flow_id).await? else {
                return Err(StoreError::NotFound);
            };
            if let Some(by) = current.locked_by.filter(|by| by != actor) {
                return Err(StoreError::Locked { by });
            }
        }
        Err(retries_exhausted("set_flow_lock"))
    }

    /// Publishes the current draft, in one transaction: the next version number (max + 1,
    /// starting at 1) gets an immutable copy of the draft document, each tag in `req.tags`
    /// moves to it, and the flow becomes `Published` with `latest_version` set.
    /// [`StoreError::Locked`] if someone other than `req.actor` holds the lock.
    pub async fn publish_flow(
        &self,
        org_id: &str,
        flow_id: &str,
        req: &PublishRequest,
    ) -> Result<FlowVersionRecord, StoreError> {
        let tags: BTreeSet<&String> = req.tags.iter().collect();
        let for_update = self.for_update();
        let select = format!(
            "SELECT document, locked_by FROM flows WHERE org_id = $1 AND id = $2{for_update}"
        );
        let created_date = Ts::new(req.at);
        let (number, document) = transaction!(self, |tx| {
            let row: Option<(String, Option<String>)> = sqlx::query_as(&select)
                .bind(org_id)
                .bind(flow_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((document, locked_by)) = row else {
                return Err(StoreError::NotFound);
            };
            if let Some(by) = locked_by.filter(|by| *by != req.actor) {
                return Err(StoreError::Locked { by });
            }
            let number: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM flow_versions \
                 WHERE org_id = $1 AND flow_id = $2",
            )
            .bind(org_id)
            .bind(flow_id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO flow_versions \
                     (org_id, flow_id, number, document, comment, created_by, created_date) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(org_id)
            .bind(flow_id)
            .bind(number)
            .bind(&document)
            .bind(&req.comment)
            .bind(&req.actor)
            .bind(created_date)
            .execute(&mut *tx)
            .await?;
            for tag in &tags {
                sqlx::query(
                    "INSERT INTO flow_tags (org_id, flow_id, tag, number) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id, flow_id, tag) DO UPDATE SET number = excluded.number",
                )
                .bind(org_id)
                .bind(flow_id)
                .bind(*tag)
                .bind(number)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE flows SET status = 'Published', latest_version = $3 \
                 WHERE org_id = $1 AND id = $2",
            )
            .bind(org_id)
            .bind(flow_id)
            .bind(number)
            .execute(&mut *tx)
            .await?;
            (number, document)
        });
        Ok(FlowVersionRecord {
            flow_id: flow_id.to_owned(),
            number,
            document: from_json(&document, "flows.document")?,
            comment: req.comment.clone(),
            tags: tags.into_iter().cloned().collect(),
            created_by: req.actor.clone(),
            created_date: created_date.0,
        })
    }

    /// Every published version of a flow, newest first (empty for an unknown flow).
    pub async fn list_flow_versions(
        &self,
        org_id: &str,
        flow_id: &str,
    ) -> Result<Vec<FlowVersionRecord>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM flow_versions \
             WHERE org_id = $1 AND flow_id = $2 ORDER BY number DESC"
        );
        let rows = reader!(self, |pool| sqlx::query_as::<_, VersionRow>(&sql)
            .bind(org_id)
            .bind(flow_id)
            .fetch_all(pool)
            .await)?;
        let mut tags_by_number: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for (tag, number) in self.flow_tags(org_id, flow_id).await? {
            tags_by_number.entry(number).or_default().push(tag);
        }
        rows.into_iter()
            .map(|row| {
                let tags = tags_by_number.remove(&row.number).unwrap_or_default();
                row.into_record(tags)
            })
            .collect()
    }

    pub async fn get_flow_version(
        &self,
        org_id: &str,
        flow_id: &str,
        number: i64,
    ) -> Result<Option<FlowVersionRecord>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM flow_versions \
             WHERE org_id = $1 AND flow_id = $2 AND number = $3"
        );
        let row = reader!(self, |pool| sqlx::query_as::<_, VersionRow>(&sql)
            .bind(org_id)
            .bind(flow_id)
            .bind(number)
            .fetch_optional(pool)
            .await)?;
        let Some(row) = row else { return Ok(None) };
        let tags = reader!(self, |pool| sqlx::query_scalar::<_, String>(
            "SELECT tag FROM flow_tags WHERE org_id = $1 AND flow_id = $2 AND number = $3 \
             ORDER BY tag"
        )
        .bind(org_id)
        .bind(flow_id)
        .bind(number)
        .fetch_all(pool)
        .await)?;
        row.into_record(tags).map(Some)
    }

    /// Tag -> version number, for every tag on the flow.
    pub async fn flow_tags(
        &self,
        org_id: &str,
        flow_id: &str,
    ) -> Result<BTreeMap<String, i64>, StoreError> {
        let rows: Vec<(String, i64)> = reader!(self, |pool| sqlx::query_as(
            "SELECT tag, number FROM flow_tags WHERE org_id = $1 AND flow_id = $2"
        )
        .bind(org_id)
        .bind(flow_id)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().collect())
    }

    /// The row-locking suffix for a `SELECT` that a transaction will then update. SQLite
    /// has no row locks; there `BEGIN IMMEDIATE` already holds the whole database.
    pub(crate) fn for_update(&self) -> &'static str {
        match self.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }
}
