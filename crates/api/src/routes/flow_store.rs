//! The legacy `/flow-store/{orgId}/project/{projectId}/flows` endpoints of the vendor's
//! OpenAPI, on the same store as the v2 API: list, multipart import, export, publish.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use store::{FlowFilter, FlowRecord};

use super::check_project;
use super::flows::{
    export_document, flow_meta, import_document, publish_flow, split_action, MAX_PAGE_SIZE,
};
use crate::auth::{Principal, CONFIG_READ, CONFIG_WRITE};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/flow-store/{org_id}/project/{project_id}/flows", get(list))
        .route(
            "/flow-store/{org_id}/project/{project_id}/flows:import",
            post(import),
        )
        .route(
            "/flow-store/{org_id}/project/{project_id}/flows/{flow_ref}",
            get(export).post(publish),
        )
}

async fn basic_dto(state: &AppState, r: &FlowRecord) -> ApiResult<Value> {
    let mut m = flow_meta(r);
    let tags = state.inner.store.flow_tags(&r.org_id, &r.id).await?;
    m["lockedBy"] = json!(r.locked_by);
    m["lockedAt"] = json!(r.locked_at.as_ref().map(crate::ids::ts));
    m["tags"] = Value::Array(
        tags.iter()
            .map(|(tag, n)| {
                json!({"id": tag, "displayName": tag, "default": tag == "Latest",
                       "flowVersionId": version_id(&r.id, *n), "versionNumber": n})
            })
            .collect(),
    );
    Ok(m)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    flow_type: Option<String>,
    page: Option<u64>,
    size: Option<u64>,
    partial_name_search: Option<String>,
    include_pagination: Option<bool>,
}

/// The list query, with `ids` taken apart: the vendor's `ids` is an array, sent either
/// repeated (`ids=a&ids=b`) or comma-separated (`ids=a,b`); both are accepted.
fn parse_list_query(raw: Option<&str>) -> ApiResult<(ListQuery, Option<Vec<String>>)> {
    let bad =
        |e: &dyn std::fmt::Display| ApiError::BadRequest(format!("Invalid query parameters: {e}"));
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or_default()).map_err(|e| bad(&e))?;
    let mut ids: Option<Vec<String>> = None;
    let mut rest = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        if k == "ids" {
            let list = ids.get_or_insert_with(Vec::new);
            list.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        } else {
            rest.push((k, v));
        }
    }
    let rest = serde_urlencoded::to_string(&rest).map_err(|e| bad(&e))?;
    let q: ListQuery = serde_urlencoded::from_str(&rest).map_err(|e| bad(&e))?;
    Ok((q, ids.filter(|l| !l.is_empty())))
}

async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project)): Path<(String, String)>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    check_project(&project)?;
    let (q, ids) = parse_list_query(raw.as_deref())?;
    let flow_type = match q.flow_type.as_deref() {
        None | Some("FLOW") => "FLOW",
        Some("SUBFLOW") => "SUBFLOW",
        Some(o) => {
            return Err(ApiError::BadRequest(format!(
                "Unknown flowType '{o}'; expected FLOW or SUBFLOW."
            )))
        }
    };
    let size = q.size.unwrap_or(10).clamp(1, MAX_PAGE_SIZE);
    let page = q.page.unwrap_or(0);
    let (items, total) = state
        .inner
        .store
        .list_flows(
            &org,
            &FlowFilter {
                name_contains: q.partial_name_search,
                flow_type: Some(flow_type.into()),
                ids,
                offset: page.saturating_mul(size),
                limit: size,
            },
        )
        .await?;
    let mut data = Vec::with_capacity(items.len());
    for r in &items {
        data.push(basic_dto(&state, r).await?);
    }
    if q.include_pagination.unwrap_or(false) {
        Ok(Json(json!({
            "data": data, "currentPage": page, "totalRecords": total,
            "pageSize": size, "totalPages": total.div_ceil(size)
        })))
    } else {
        Ok(Json(Value::Array(data)))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ImportQuery {
    overwrite: Option<String>,
    flow_type: Option<String>,
}

async fn import(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project)): Path<(String, String)>,
    Query(q): Query<ImportQuery>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    p.require(&org, CONFIG_WRITE)?;
    check_project(&project)?;
    let overwrite = match q.overwrite.as_deref() {
        None | Some("no") | Some("false") => false,
        Some("yes") | Some("true") => true,
        Some(o) => {
            return Err(ApiError::BadRequest(format!(
                "Unknown overwrite '{o}'; expected yes or no."
            )))
        }
    };
    let mut multipart = multipart.map_err(|e| {
        ApiError::BadRequest(format!(
            "Expected a multipart/form-data body with a 'file' part: {e}"
        ))
    })?;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            crate::extract::payload_too_large(&state)
        } else {
            ApiError::BadRequest(format!("Malformed multipart body: {}", e.body_text()))
        }
    })? {
        if field.name() == Some("file") {
            let bytes = field.bytes().await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    crate::extract::payload_too_large(&state)
                } else {
                    ApiError::BadRequest(format!("Could not read the 'file' part: {e}"))
                }
            })?;
            file = Some(bytes);
        }
    }
    let bytes =
        file.ok_or_else(|| ApiError::BadRequest("The multipart body has no 'file' part.".into()))?;
    let doc = crate::extract::parse_json(&bytes)?;
    // The legacy endpoint answers 400 (not 422) for a document that fails validation.
    let (rec, _) =
        match import_document(&state, &p, &org, doc, overwrite, q.flow_type.as_deref()).await {
            Err(ApiError::Invalid(body)) => {
                let msgs: Vec<String> = body["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        format!(
                            "{} {}: {}",
                            e["code"].as_str().unwrap_or(""),
                            e["path"].as_str().unwrap_or(""),
                            e["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                return Err(ApiError::BadRequest(format!(
                    "The flow is invalid: {}",
                    msgs.join("; ")
                )));
            }
            other => other?,
        };
    Ok((StatusCode::CREATED, Json(basic_dto(&state, &rec).await?)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    version: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project, flow_ref)): Path<(String, String, String)>,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    check_project(&project)?;
    match split_action(&flow_ref) {
        (id, Some("export")) => {
            let mut doc = export_document(&state, &org, id, q.version.as_deref()).await?;
            doc["flowId"] = json!(id);
            Ok(Json(doc))
        }
        _ => Err(ApiError::NotFound("Use flows/{flowId}:export.".into())),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PublishBody {
    comment: Option<String>,
    tag_ids: Option<Vec<String>>,
}

async fn publish(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project, flow_ref)): Path<(String, String, String)>,
    req: axum::extract::Request,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_WRITE)?;
    check_project(&project)?;
    let (id, Some("publish")) = split_action(&flow_ref) else {
        return Err(ApiError::NotFound("Use flows/{flowId}:publish.".into()));
    };
    let bytes = crate::extract::body_bytes(req, &state).await?;
    let body: PublishBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        PublishBody::default()
    } else {
        serde_json::from_value(crate::extract::parse_json(&bytes)?)
            .map_err(|e| ApiError::BadRequest(format!("Invalid publish body: {e}")))?
    };
    let (rec, v) = publish_flow(
        &state,
        &p,
        &org,
        id,
        body.comment,
        body.tag_ids.unwrap_or_default(),
    )
    .await?;
    let versions = state.inner.store.list_flow_versions(&org, id).await?;
    let mut res = basic_dto(&state, &rec).await?;
    res["projectId"] = json!(crate::PROJECT_ID);
    // FlowRes: draftVersion and latestVersion are FlowVersionRes objects.
    res["draftVersion"] = json!({
        "id": format!("{}-draft", rec.id),
        "flowId": rec.id,
        "orgId": rec.org_id,
        "name": rec.name,
        "description": rec.description,
        "flowType": rec.flow_type,
        "version": rec.version,
        "createdBy": rec.created_by,
        "createdDate": crate::ids::ts(&rec.created_date),
        "lastModifiedBy": rec.last_modified_by,
        "lastModifiedDate": crate::ids::ts(&rec.last_modified_date),
    });
    res["latestVersion"] = json!({
        "id": version_id(&rec.id, v.number),
        "flowId": rec.id,
        "orgId": rec.org_id,
        "name": rec.name,
        "description": rec.description,
        "flowType": rec.flow_type,
        "version": v.number,
        "comment": v.comment,
        "createdBy": v.created_by,
        "createdDate": crate::ids::ts(&v.created_date),
        "lastModifiedBy": v.created_by,
        "lastModifiedDate": crate::ids::ts(&v.created_date),
    });
    res["flowVersions"] = json!(versions
        .iter()
        .map(|v| version_id(&rec.id, v.number))
        .collect::<Vec<_>>());
    res["validating"] = json!(false);
    Ok(Json(res))
}

/// The id of a published version object, as tags' `flowVersionId` name it.
fn version_id(flow_id: &str, number: i64) -> String {
    format!("{flow_id}-v{number}")
}
