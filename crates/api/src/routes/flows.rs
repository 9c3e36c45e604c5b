//! Flows under `/{orgId}/project/{projectId}/v2/`: validate, import, list, get, save draft,
//! patch, validate a stored version, export, publish, versions, lock, unlock, delete.
//!
//! Actions on one flow are spelled `flows/{flowId}:action`; the router matches the whole
//! segment and [`split_action`] picks the handler.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use store::{DraftUpdate, FlowFilter, FlowRecord, FlowVersionRecord, PublishRequest};
use validate::{Mode, Options, Report};

use super::check_project;
use super::discovery::org_choices;
use crate::auth::{Principal, CONFIG_READ, CONFIG_WRITE};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, JsonBytes, Path, Query};
use crate::ids;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/{org_id}/project/{project_id}/v2/flows:validate",
            post(validate_document),
        )
        .route(
            "/{org_id}/project/{project_id}/v2/flows:import",
            post(import),
        )
        .route("/{org_id}/project/{project_id}/v2/flows", get(list))
        .route(
            "/{org_id}/project/{project_id}/v2/flows/{flow_ref}",
            get(get_dispatch)
                .post(post_dispatch)
                .patch(patch)
                .delete(delete),
        )
        .route(
            "/{org_id}/project/{project_id}/v2/flows/{flow_id}/versions",
            get(versions),
        )
}

pub const TAGS: &[&str] = &["Dev", "Test", "Latest", "Live"];

fn json_bytes(body: bytes::Bytes) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// `abc:publish` -> ("abc", Some("publish")).
pub(crate) fn split_action(seg: &str) -> (&str, Option<&str>) {
    match seg.split_once(':') {
        Some((id, action)) => (id, Some(action)),
        None => (seg, None),
    }
}

// ---------------------------------------------------------------------------------------
// Shapes

/// The flow metadata of import, save and patch responses (the guide's `flow` object).
pub(crate) fn flow_meta(r: &FlowRecord) -> Value {
    let mut m = json!({
        "id": r.id,
        "orgId": r.org_id,
        "version": r.version,
        "flowType": r.flow_type,
        "name": r.name,
        "description": r.description,
        "status": r.status,
        "createdBy": r.created_by,
        "createdDate": ids::ts(&r.created_date),
        "lastModifiedBy": r.last_modified_by,
        "lastModifiedDate": ids::ts(&r.last_modified_date),
    });
    if let Some(by) = &r.locked_by {
        m["lockedBy"] = json!(by);
        m["lockedAt"] = json!(r.locked_at.as_ref().map(ids::ts));
    }
    if let Some(v) = r.latest_version {
        m["latestVersion"] = json!(v);
    }
    m
}

/// A whole document with the server's fields first, then what the client sent.
pub(crate) fn flow_document(r: &FlowRecord, doc: &Value, version: i64, status: &str) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(r.id));
    out.insert("orgId".into(), json!(r.org_id));
    out.insert("version".into(), json!(version));
    out.insert("status".into(), json!(status));
    if let Some(obj) = doc.as_object() {
        for (k, v) in obj {
            if !flow::SERVER_FIELDS.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("createdBy".into(), json!(r.created_by));
    out.insert("createdDate".into(), json!(ids::ts(&r.created_date)));
    out.insert("lastModifiedBy".into(), json!(r.last_modified_by));
    out.insert(
        "lastModifiedDate".into(),
        json!(ids::ts(&r.last_modified_date)),
    );
    if let Some(by) = &r.locked_by {
        out.insert("lockedBy".into(), json!(by));
    }
    Value::Object(out)
}

fn version_json(v: &FlowVersionRecord) -> Value {
    json!({
        "flowId": v.flow_id,
        "version": v.number,
        "comment": v.comment,
        "tags": v.tags,
        "createdBy": v.created_by,
        "createdDate": ids::ts(&v.created_date),
    })
}

fn envelope(r: &FlowRecord, report: &Report) -> Value {
    let warnings = report.warnings_api();
    let count = warnings.len();
    json!({
        "flow": flow_meta(r),
        "preflightWarnings": warnings,
        "preflightWarningsCount": count,
    })
}

// ---------------------------------------------------------------------------------------
// Shared steps

/// Remove server-owned keys: they are set by the server and ignored when sent.
pub(crate) fn strip_server_fields(doc: &mut Value) {
    if let Some(obj) = doc.as_object_mut() {
        for k in flow::SERVER_FIELDS {
            obj.shift_remove(*k);
        }
    }
}

pub(crate) async fn check_document(
    state: &AppState,
    org: &str,
    doc: &Value,
    mode: Mode,
) -> ApiResult<Report> {
    if !doc.is_object() {
        return Err(ApiError::BadRequest(
            "A flow document must be a JSON object.".into(),
        ));
    }
    let choices = org_choices(state, org, doc).await?;
    let opts = Options {
        mode,
        resolver: &choices,
        ..Options::default()
    };
    let (_, mut report) = state.inner.validator.validate_value(doc, &opts);
    if mode == Mode::Strict {
        store_rules(doc, &mut report);
    }
    Ok(report)
}

/// What storing needs beyond the validator's rules: a flow is stored and found by its name,
/// so import, save and patch refuse a missing or blank one (the vendor answers "Flow name is
/// empty"). Strict validation runs it too, so a passing `?strict=true` still means a passing
/// import. (Candidate for the validator's strict mode.)
fn store_rules(doc: &Value, report: &mut Report) {
    let blank = match doc.get("name") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false, // a wrong type is the validator's INVALID_FIELD
    };
    if blank {
        report.diagnostics.insert(
            0,
            validate::Diagnostic::error(
                "/name",
                "MISSING_FIELD",
                "A flow needs a non-empty 'name'; names are unique in the project.",
            ),
        );
    }
}

/// Strict validation; a failure is the 422 of the guide.
pub(crate) async fn require_valid(state: &AppState, org: &str, doc: &Value) -> ApiResult<Report> {
    let report = check_document(state, org, doc, Mode::Strict).await?;
    if !report.is_valid() {
        return Err(ApiError::Invalid(report.to_api()));
    }
    Ok(report)
}

fn doc_str(doc: &Value, key: &str) -> Option<String> {
    doc.get(key).and_then(Value::as_str).map(str::to_string)
}

fn parse_flow_type(s: &str) -> ApiResult<&'static str> {
    match s {
        "FLOW" => Ok("FLOW"),
        "SUBFLOW" => Ok("SUBFLOW"),
        other => Err(ApiError::BadRequest(format!(
            "Unknown flowType '{other}'; expected FLOW or SUBFLOW."
        ))),
    }
}

/// Replace a flow's draft with a validated document (save and patch).
async fn write_draft(
    state: &AppState,
    p: &Principal,
    org: &str,
    current: FlowRecord,
    expected_version: Option<i64>,
    doc: Value,
) -> ApiResult<FlowRecord> {
    let rec = state
        .inner
        .store
        .update_draft(
            org,
            &current.id,
            expected_version,
            &DraftUpdate {
                name: doc_str(&doc, "name").unwrap_or(current.name),
                description: doc_str(&doc, "description"),
                flow_type: doc_str(&doc, "flowType").unwrap_or(current.flow_type),
                document: doc,
                actor: p.user.clone(),
                at: ids::now(),
            },
        )
        .await?;
    state.flow_changed(org, &current.id);
    Ok(rec)
}

pub(crate) async fn load_flow(state: &AppState, org: &str, id: &str) -> ApiResult<FlowRecord> {
    state.inner.store.get_flow(org, id).await?.ok_or_else(|| {
        ApiError::NotFound(format!("Flow '{id}' does not exist in this organization."))
    })
}

/// Import (create or, with overwrite, replace the draft of the flow with the same name).
pub(crate) async fn import_document(
    state: &AppState,
    p: &Principal,
    org: &str,
    mut doc: Value,
    overwrite: bool,
    flow_type: Option<&str>,
) -> ApiResult<(FlowRecord, Report)> {
    if !doc.is_object() {
        return Err(ApiError::BadRequest(
            "A flow document must be a JSON object.".into(),
        ));
    }
    strip_server_fields(&mut doc);
    if let Some(ft) = flow_type {
        let ft = parse_flow_type(ft)?;
        match doc.get("flowType").and_then(Value::as_str) {
            None => {
                doc["flowType"] = json!(ft);
            }
            Some(d) if d == ft => {}
            Some(d) => {
                return Err(ApiError::BadRequest(format!(
                    "The query says flowType={ft} but the document says '{d}'."
                )))
            }
        }
    }
    let report = require_valid(state, org, &doc).await?;
    let name = doc_str(&doc, "name").unwrap_or_default();
    let store = &state.inner.store;
    let now = ids::now();
    let flow_type = doc_str(&doc, "flowType").unwrap_or_else(|| "FLOW".into());
    if let Some(existing) = store.find_flow_by_name(org, &name).await? {
        if !overwrite {
            return Err(ApiError::Conflict(format!(
                "A flow named '{name}' already exists (id {}). Re-import with overwrite=true or choose a new name.",
                existing.id
            )));
        }
        let rec = store
            .update_draft(
                org,
                &existing.id,
                None,
                &DraftUpdate {
                    description: doc_str(&doc, "description"),
                    name,
                    flow_type,
                    document: doc,
                    actor: p.user.clone(),
                    at: now,
                },
            )
            .await?;
        state.flow_changed(org, &existing.id);
        return Ok((rec, report));
    }
    let rec = FlowRecord {
        id: ids::new_id(),
        org_id: org.to_string(),
        description: doc_str(&doc, "description"),
        name,
        flow_type,
        status: "Draft".into(),
        version: 0,
        document: doc,
        created_by: p.user.clone(),
        created_date: now,
        last_modified_by: p.user.clone(),
        last_modified_date: now,
        locked_by: None,
        locked_at: None,
        latest_version: None,
    };
    store.insert_flow(&rec).await?;
    Ok((rec, report))
}

pub(crate) async fn publish_flow(
    state: &AppState,
    p: &Principal,
    org: &str,
    id: &str,
    comment: Option<String>,
    tags: Vec<String>,
) -> ApiResult<(FlowRecord, FlowVersionRecord)> {
    for t in &tags {
        if !TAGS.contains(&t.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "Unknown tag '{t}'; expected any of {}.",
                TAGS.join(", ")
            )));
        }
    }
    let rec = load_flow(state, org, id).await?;
    require_valid(state, org, &rec.document).await?;
    // Latest always follows the newest version.
    let mut tags = tags;
    if !tags.iter().any(|t| t == "Latest") {
        tags.push("Latest".into());
    }
    let v = state
        .inner
        .store
        .publish_flow(
            org,
            id,
            &PublishRequest {
                comment,
                tags,
                actor: p.user.clone(),
                at: ids::now(),
            },
        )
        .await?;
    state.flow_changed(org, id);
    let rec = load_flow(state, org, id).await?;
    Ok((rec, v))
}

/// The document of `version`: `draft`, `latest` (newest published, else the draft) or N.
pub(crate) async fn export_document(
    state: &AppState,
    org: &str,
    id: &str,
    version: Option<&str>,
) -> ApiResult<Value> {
    let (rec, published) = stored_version(state, org, id, version).await?;
    Ok(match published {
        // The draft, exactly as GET flows/{flowId} answers it.
        None => flow_document(&rec, &rec.document, rec.version, &rec.status),
        Some(v) => {
            let mut doc = flow_document(&rec, &v.document, v.number, "Published");
            doc["comment"] = json!(v.comment);
            doc["tags"] = json!(v.tags);
            doc
        }
    })
}

/// The flow and, unless `version` names the draft, the published version it names:
/// `draft`, `latest` (newest published, else the draft; the default) or N.
async fn stored_version(
    state: &AppState,
    org: &str,
    id: &str,
    version: Option<&str>,
) -> ApiResult<(FlowRecord, Option<FlowVersionRecord>)> {
    let rec = load_flow(state, org, id).await?;
    let number = match version.unwrap_or("latest") {
        "draft" => None,
        "latest" => rec.latest_version,
        n => Some(parse_version_number(n)?),
    };
    let Some(n) = number else {
        return Ok((rec, None));
    };
    let v = state
        .inner
        .store
        .get_flow_version(org, id, n)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Flow '{id}' has no published version {n}.")))?;
    Ok((rec, Some(v)))
}

/// A published version number: 1, 2, 3, ...
fn parse_version_number(n: &str) -> ApiResult<i64> {
    n.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "Unknown version '{n}'; expected draft, latest or a published version number (1, 2, ...)."
        ))
    })
}

// ---------------------------------------------------------------------------------------
// Handlers

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateQuery {
    strict: Option<bool>,
}

async fn validate_document(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project)): Path<(String, String)>,
    Query(q): Query<ValidateQuery>,
    JsonBytes(bytes): JsonBytes,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_WRITE)?;
    check_project(&project)?;
    let mode = if q.strict.unwrap_or(false) {
        Mode::Strict
    } else {
        Mode::Lenient
    };
    // The hot path: bytes parsed once for validation, no owned model built. Input the tree
    // path would refuse (a NUL character, say) takes that path for its error.
    if memchr::memmem::find(&bytes, b"\\u0000").is_some() {
        let mut doc = crate::extract::parse_json(&bytes)?;
        strip_server_fields(&mut doc);
        let report = check_document(&state, &org, &doc, mode).await?;
        return Ok(Json(report.to_api()));
    }
    let mut scratch = state.inner.scratch.take();
    let report = validate_bytes(&state, &org, &bytes, &mut scratch, mode).await;
    state.inner.scratch.give(scratch);
    Ok(Json(report?.to_api()))
}

/// The error for bytes the validator refused as JSON: the shared parser words it (line and
/// column).
fn syntax_error(bytes: &[u8]) -> ApiError {
    match crate::extract::parse_json(bytes) {
        Err(e) => e,
        Ok(_) => ApiError::BadRequest("Malformed JSON.".into()),
    }
}

/// `flows:validate` of bytes that do not take the JSON tree path.
async fn validate_bytes(
    state: &AppState,
    org: &str,
    bytes: &[u8],
    scratch: &mut validate::Scratch,
    mode: Mode,
) -> ApiResult<Report> {
    let doc = match validate::Document::parse(bytes, scratch) {
        Ok(d) => d,
        Err(flow::ParseError::NotAnObject { .. }) => {
            return Err(ApiError::BadRequest(
                "A flow document must be a JSON object.".into(),
            ))
        }
        Err(_) => return Err(syntax_error(bytes)),
    };
    let kinds = doc.choice_kinds(state.inner.catalog);
    let choices = super::discovery::org_choices_for_kinds(state, org, kinds).await?;
    let opts = Options {
        mode,
        resolver: &choices,
        ..Options::default()
    };
    // Err: nested too deep inside a node or edge.
    let mut report = state
        .inner
        .validator
        .check(&doc, &opts)
        .map_err(|_| syntax_error(bytes))?;
    // Server-owned fields are ignored when sent, so nothing about them is reported.
    report.diagnostics.retain(|d| {
        let top = d
            .path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        d.path.is_empty() || !flow::SERVER_FIELDS.contains(&top)
    });
    if mode == Mode::Strict {
        let blank = doc.name().is_none_or(|n| n.trim().is_empty());
        if blank && !report.diagnostics.iter().any(|d| d.path == "/name") {
            store_rules(&json!({}), &mut report);
        }
    }
    Ok(report)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ImportQuery {
    overwrite: Option<bool>,
    flow_type: Option<String>,
}

async fn import(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project)): Path<(String, String)>,
    Query(q): Query<ImportQuery>,
    JsonBody(doc): JsonBody,
) -> ApiResult<Response> {
    p.require(&org, CONFIG_WRITE)?;
    check_project(&project)?;
    let (rec, report) = import_document(
        &state,
        &p,
        &org,
        doc,
        q.overwrite.unwrap_or(false),
        q.flow_type.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(envelope(&rec, &report))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    page: Option<u64>,
    size: Option<u64>,
    name: Option<String>,
    flow_type: Option<String>,
}

pub(crate) const MAX_PAGE_SIZE: u64 = 100;

async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    check_project(&project)?;
    let flow_type = q.flow_type.as_deref().map(parse_flow_type).transpose()?;
    let size = q.size.unwrap_or(10).clamp(1, MAX_PAGE_SIZE);
    let page = q.page.unwrap_or(0);
    let (items, total) = state
        .inner
        .store
        .list_flows(
            &org,
            &FlowFilter {
                name_contains: q.name,
                flow_type: flow_type.map(str::to_string),
                ids: None,
                offset: page.saturating_mul(size),
                limit: size,
            },
        )
        .await?;
    Ok(Json(json!({
        "data": items.iter().map(flow_meta).collect::<Vec<_>>(),
        "currentPage": page,
        "pageSize": size,
        "totalRecords": total,
        "totalPages": total.div_ceil(size),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GetQuery {
    version: Option<String>,
}

async fn get_dispatch(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project, flow_ref)): Path<(String, String, String)>,
    Query(q): Query<GetQuery>,
) -> ApiResult<Response> {
    p.require(&org, CONFIG_READ)?;
    check_project(&project)?;
    match split_action(&flow_ref) {
        (id, None) => {
            if q.version.is_some() {
                return Err(ApiError::BadRequest(
                    "Use flows/{flowId}:export?version=... to read a published version.".into(),
                ));
            }
            if let Some(body) = state.cached_flow(&org, id) {
                return Ok(json_bytes(body));
            }
            let rec = load_flow(&state, &org, id).await?;
            let doc = flow_document(&rec, &rec.document, rec.version, &rec.status);
            let body = bytes::Bytes::from(serde_json::to_vec(&doc).map_err(ApiError::internal)?);
            state.cache_flow(&org, id, body.clone());
            Ok(json_bytes(body))
        }
        (id, Some("export")) => Ok(Json(
            export_document(&state, &org, id, q.version.as_deref()).await?,
        )
        .into_response()),
        (_, Some(action)) => Err(unknown_action("GET", action)),
    }
}

fn unknown_action(method: &str, action: &str) -> ApiError {
    ApiError::NotFound(format!(
        "There is no {method} action ':{action}' on a flow."
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PostQuery {
    expected_version: Option<i64>,
    version_id: Option<String>,
    strict: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PublishBody {
    comment: Option<String>,
    tags: Option<Vec<String>>,
    tag_ids: Option<Vec<String>>,
}

async fn post_dispatch(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project, flow_ref)): Path<(String, String, String)>,
    Query(q): Query<PostQuery>,
    req: axum::extract::Request,
) -> ApiResult<Response> {
    p.require(&org, CONFIG_WRITE)?;
    check_project(&project)?;
    let (id, action) = split_action(&flow_ref);
    let store = &state.inner.store;
    match action {
        None => {
            let JsonBody(mut doc) =
                <JsonBody as axum::extract::FromRequest<AppState>>::from_request(req, &state)
                    .await?;
            strip_server_fields(&mut doc);
            let current = load_flow(&state, &org, id).await?;
            let report = require_valid(&state, &org, &doc).await?;
            let rec = write_draft(&state, &p, &org, current, q.expected_version, doc).await?;
            Ok(Json(envelope(&rec, &report)).into_response())
        }
        Some("validate") => {
            // The stored document itself, as it was sent (no server fields, no publish notes).
            let version = q.version_id.as_deref().or(Some("draft"));
            let doc = match stored_version(&state, &org, id, version).await? {
                (rec, None) => rec.document,
                (_, Some(v)) => v.document,
            };
            let mode = if q.strict.unwrap_or(false) {
                Mode::Strict
            } else {
                Mode::Lenient
            };
            let report = check_document(&state, &org, &doc, mode).await?;
            Ok(Json(report.to_api()).into_response())
        }
        Some("publish") => {
            let bytes = crate::extract::body_bytes(req, &state).await?;
            let body: PublishBody = if bytes.iter().all(u8::is_ascii_whitespace) {
                PublishBody::default()
            } else {
                serde_json::from_value(crate::extract::parse_json(&bytes)?)
                    .map_err(|e| ApiError::BadRequest(format!("Invalid publish body: {e}")))?
            };
            let tags = body.tags.or(body.tag_ids).unwrap_or_default();
            let (rec, v) = publish_flow(&state, &p, &org, id, body.comment, tags).await?;
            let mut meta = flow_meta(&rec);
            meta["publishedVersion"] = version_json(&v);
            meta["tags"] = json!(state.inner.store.flow_tags(&org, id).await?);
            Ok(Json(meta).into_response())
        }
        Some(action @ ("lock" | "unlock")) => {
            load_flow(&state, &org, id).await?;
            let rec = store
                .set_flow_lock(&org, id, &p.user, action == "lock", ids::now())
                .await?;
            state.flow_changed(&org, id);
            Ok(Json(flow_meta(&rec)).into_response())
        }
        Some(action) => Err(unknown_action("POST", action)),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PatchQuery {
    expected_version: Option<i64>,
}

async fn patch(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project, flow_ref)): Path<(String, String, String)>,
    Query(q): Query<PatchQuery>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_WRITE)?;
    check_project(&project)?;
    let (id, action) = split_action(&flow_ref);
    if let Some(a) = action {
        return Err(unknown_action("PATCH", a));
    }
    let patch = flow::FlowPatch::from_value(&body)
        .map_err(|e| ApiError::BadRequest(format!("{} (at {})", e.message, e.pointer)))?;
    let current = load_flow(&state, &org, id).await?;
    let merged = flow::apply_patch(&current.document, &patch)
        .map_err(|e| ApiError::BadRequest(format!("{} (at {})", e.message, e.pointer)))?;
    let report = require_valid(&state, &org, &merged).await?;
    if merged == current.document && q.expected_version.is_none_or(|v| v == current.version) {
        // Idempotent: the same patch twice changes nothing the second time.
        return Ok(Json(envelope(&current, &report)));
    }
    let rec = write_draft(&state, &p, &org, current, q.expected_version, merged).await?;
    Ok(Json(envelope(&rec, &report)))
}

async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project, flow_ref)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    p.require(&org, CONFIG_WRITE)?;
    check_project(&project)?;
    let (id, action) = split_action(&flow_ref);
    if let Some(a) = action {
        return Err(unknown_action("DELETE", a));
    }
    let rec = load_flow(&state, &org, id).await?;
    if let Some(by) = rec.locked_by.filter(|by| *by != p.user) {
        return Err(ApiError::Locked(format!(
            "Flow '{id}' is locked by {by}; it cannot be deleted until it is unlocked."
        )));
    }
    state.inner.store.delete_flow(&org, id).await?;
    state.flow_changed(&org, id);
    Ok(StatusCode::NO_CONTENT)
}

async fn versions(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project, id)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    check_project(&project)?;
    load_flow(&state, &org, &id).await?;
    let list = state.inner.store.list_flow_versions(&org, &id).await?;
    Ok(Json(Value::Array(list.iter().map(version_json).collect())))
}
