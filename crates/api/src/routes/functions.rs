//! Custom functions under `/v1/{orgId}/functions` (no project segment), as the guide's
//! "Build a custom function" and "Function lifecycle reference" show: create, list, get,
//! update, `:test` (implicitly publishing the latest draft), `:publish` with tags, `:export`
//! and multipart `functions:import`, `:lock`/`:unlock`, delete.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use functions::{FunctionError, FunctionHost, FunctionSource, Language};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use store::FunctionRecord;

use super::flows::{split_action, TAGS};
use crate::auth::{Principal, CONFIG_READ, CONFIG_WRITE};
use crate::error::{envelope, ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::ids;
use crate::AppState;

/// Bounds of `timeoutInSec`.
pub const MIN_TIMEOUT_SECS: i64 = 1;
pub const MAX_TIMEOUT_SECS: i64 = 60;
pub const DEFAULT_TIMEOUT_SECS: i64 = 3;
/// Largest accepted `sourceCode`.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;
const DATA_TYPES: &[&str] = &[
    "boolean", "datetime", "decimal", "integer", "json", "string",
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/{org_id}/functions", get(list).post(create))
        .route("/v1/{org_id}/functions:import", post(import))
        .route(
            "/v1/{org_id}/functions/{fn_ref}",
            get(get_one).put(update).post(post_dispatch).delete(delete),
        )
}

// ---------------------------------------------------------------------------------------
// Shapes

fn metadata(r: &FunctionRecord) -> Value {
    json!({
        "id": r.id,
        "orgId": r.org_id,
        "name": r.name,
        "description": r.description.clone().unwrap_or_default(),
        "language": r.language,
        "selectedRuntime": r.selected_runtime,
        "status": r.status,
        "timeoutInSec": r.timeout_in_sec,
        "inputs": r.inputs,
        "outputs": r.outputs,
        "tagVersionMap": r.tag_version_map,
        "lockedBy": r.locked_by.clone().unwrap_or_default(),
        "createdBy": r.created_by,
        "createdDate": ids::ts(&r.created_date),
        "lastModifiedBy": r.last_modified_by,
        "lastModifiedDate": ids::ts(&r.last_modified_date),
    })
}

fn envelope_fn(r: &FunctionRecord) -> Value {
    json!({"fnCode": r.source_code, "fnMetadata": metadata(r)})
}

// ---------------------------------------------------------------------------------------
// Validation of a create/update body

/// The fields of a create or update body, checked.
struct Definition {
    name: String,
    description: Option<String>,
    language: Language,
    selected_runtime: String,
    timeout_in_sec: i64,
    source_code: String,
    inputs: Value,
    outputs: String,
    extra: Value,
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

fn parse_definition(body: Value) -> ApiResult<Definition> {
    let Value::Object(mut obj) = body else {
        return Err(bad("A function body must be a JSON object."));
    };
    for k in [
        "id",
        "orgId",
        "status",
        "tagVersionMap",
        "lockedBy",
        "createdBy",
        "createdDate",
        "lastModifiedBy",
        "lastModifiedDate",
    ] {
        obj.remove(k);
    }
    let str_field = |obj: &mut Map<String, Value>, k: &str| -> ApiResult<Option<String>> {
        match obj.remove(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(bad(format!("'{k}' must be a string, got {other}."))),
        }
    };
    let name = str_field(&mut obj, "name")?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| bad("'name' is required."))?;
    if name.len() > 128 {
        return Err(bad("'name' must be at most 128 characters."));
    }
    let description = str_field(&mut obj, "description")?;
    let language: Language = str_field(&mut obj, "language")?
        .ok_or_else(|| bad("'language' is required: js or py."))?
        .parse()
        .map_err(|e: String| bad(format!("{e}.")))?;
    let supported = FunctionHost::supported_runtimes(language);
    let selected_runtime = match str_field(&mut obj, "selectedRuntime")? {
        None => supported[0].to_string(),
        Some(r) if supported.contains(&r.as_str()) => r,
        Some(r) => {
            return Err(bad(format!(
            "Unsupported selectedRuntime '{r}' for language '{}' (case-sensitive); supported: {}.",
            language.as_str(),
            supported.join(", ")
        )))
        }
    };
    let timeout_in_sec = match obj.remove("timeoutInSec") {
        None | Some(Value::Null) => DEFAULT_TIMEOUT_SECS,
        Some(v) => v
            .as_i64()
            .filter(|t| (MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(t))
            .ok_or_else(|| {
                bad(format!(
                    "'timeoutInSec' must be an integer from {MIN_TIMEOUT_SECS} to {MAX_TIMEOUT_SECS}, got {v}."
                ))
            })?,
    };
    let source_code = str_field(&mut obj, "sourceCode")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad("'sourceCode' is required (the source as an escaped string)."))?;
    if source_code.len() > MAX_SOURCE_BYTES {
        return Err(bad(format!(
            "'sourceCode' is larger than {MAX_SOURCE_BYTES} bytes."
        )));
    }
    let inputs = obj.remove("inputs").unwrap_or(Value::Array(Vec::new()));
    let Value::Array(items) = &inputs else {
        return Err(bad("'inputs' must be an array of {name, dataType, value}."));
    };
    let mut names = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let name = item
            .get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad(format!("inputs[{i}].name is required.")))?;
        if names.contains(&name) {
            return Err(bad(format!(
                "inputs[{i}]: input '{name}' is declared twice."
            )));
        }
        names.push(name);
        let ty = item
            .get("dataType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !DATA_TYPES.contains(&ty) {
            return Err(bad(format!(
                "inputs[{i}].dataType '{ty}' is not one of {}.",
                DATA_TYPES.join(", ")
            )));
        }
        if let Some(v) = item.get("value").filter(|v| !v.is_null()) {
            let s = v.as_str().ok_or_else(|| {
                bad(format!(
                    "inputs[{i}].value must be a string encoding a {ty} sample."
                ))
            })?;
            parse_sample(ty, s).map_err(|e| {
                bad(format!(
                    "inputs[{i}].value for '{name}' is not a valid {ty}: {e}."
                ))
            })?;
        }
    }
    let outputs = match obj.remove("outputs") {
        None | Some(Value::Null) => "{}".to_string(),
        Some(Value::String(s)) => {
            match serde_json::from_str::<Value>(&s) {
                Ok(Value::Object(_)) => s,
                _ => return Err(bad("'outputs' must be a stringified JSON object mapping each output name to a sample value.")),
            }
        }
        Some(_) => return Err(bad("'outputs' must be a stringified JSON object (a string), not raw JSON.")),
    };
    Ok(Definition {
        name,
        description,
        language,
        selected_runtime,
        timeout_in_sec,
        source_code,
        inputs,
        outputs,
        extra: Value::Object(obj),
    })
}

/// Parse a sample or test value per its declared data type.
fn parse_sample(ty: &str, s: &str) -> Result<Value, String> {
    match ty {
        "string" => Ok(Value::String(s.to_string())),
        "integer" => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|e| e.to_string()),
        "decimal" => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| "not a finite number".to_string()),
        "boolean" => match s.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("expected true or false".into()),
        },
        "datetime" => chrono::DateTime::parse_from_rfc3339(s.trim())
            .map(|_| Value::String(s.to_string()))
            .map_err(|e| format!("expected RFC 3339 ({e})")),
        _ => serde_json::from_str(s).map_err(|e| e.to_string()),
    }
}

/// A test input checked against its declared type.
fn check_test_value(ty: &str, v: &Value) -> bool {
    match ty {
        "string" => v.is_string(),
        "integer" => {
            v.is_i64() || v.is_u64() || v.as_str().is_some_and(|s| s.trim().parse::<i64>().is_ok())
        }
        "decimal" => v.is_number() || v.as_str().is_some_and(|s| s.trim().parse::<f64>().is_ok()),
        "boolean" => v.is_boolean() || matches!(v.as_str(), Some("true" | "false")),
        "datetime" => v
            .as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        _ => true,
    }
}

fn record_from(def: Definition, id: String, org: &str, user: &str) -> FunctionRecord {
    let now = ids::now();
    FunctionRecord {
        id,
        org_id: org.to_string(),
        name: def.name,
        description: def.description,
        language: def.language.as_str().to_string(),
        selected_runtime: def.selected_runtime,
        timeout_in_sec: def.timeout_in_sec,
        source_code: def.source_code,
        inputs: def.inputs,
        outputs: def.outputs,
        status: "Draft".into(),
        draft_version: 0,
        tag_version_map: BTreeMap::new(),
        locked_by: None,
        created_by: user.to_string(),
        created_date: now,
        last_modified_by: user.to_string(),
        last_modified_date: now,
        extra: def.extra,
    }
}

/// A duplicate name answers 400, as the guide says (not 409).
fn map_name_clash(e: store::StoreError) -> ApiError {
    match e {
        store::StoreError::NameConflict { name } => bad(format!(
            "A function named '{name}' already exists in this organization; function names are unique."
        )),
        other => other.into(),
    }
}

async fn load(state: &AppState, org: &str, id: &str) -> ApiResult<FunctionRecord> {
    state
        .inner
        .store
        .get_function(org, id)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "Function '{id}' does not exist in this organization."
            ))
        })
}

// ---------------------------------------------------------------------------------------
// Handlers

async fn create(
    State(state): State<AppState>,
    p: Principal,
    Path(org): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    p.require(&org, CONFIG_WRITE)?;
    let def = parse_definition(body)?;
    let rec = record_from(def, ids::new_id(), &org, &p.user);
    state
        .inner
        .store
        .insert_function(&rec)
        .await
        .map_err(map_name_clash)?;
    Ok((StatusCode::CREATED, Json(envelope_fn(&rec))).into_response())
}

async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(org): Path<String>,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    let all = state.inner.store.list_functions(&org).await?;
    Ok(Json(Value::Array(all.iter().map(metadata).collect())))
}

async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Path((org, fn_ref)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    let (id, action) = split_action(&fn_ref);
    if let Some(a) = action {
        return Err(ApiError::NotFound(format!(
            "There is no GET action ':{a}' on a function."
        )));
    }
    Ok(Json(envelope_fn(&load(&state, &org, id).await?)))
}

async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path((org, fn_ref)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_WRITE)?;
    let (id, action) = split_action(&fn_ref);
    if let Some(a) = action {
        return Err(ApiError::NotFound(format!(
            "There is no PUT action ':{a}' on a function."
        )));
    }
    let current = load(&state, &org, id).await?;
    let def = parse_definition(body)?;
    let mut rec = record_from(def, current.id.clone(), &org, &p.user);
    rec.created_by = current.created_by;
    rec.created_date = current.created_date;
    let rec = state
        .inner
        .store
        .update_function(&org, id, &p.user, &rec)
        .await
        .map_err(map_name_clash)?;
    Ok(Json(envelope_fn(&rec)))
}

async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Path((org, fn_ref)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    p.require(&org, CONFIG_WRITE)?;
    let (id, action) = split_action(&fn_ref);
    if let Some(a) = action {
        return Err(ApiError::NotFound(format!(
            "There is no DELETE action ':{a}' on a function."
        )));
    }
    let rec = load(&state, &org, id).await?;
    if let Some(by) = rec.locked_by.filter(|b| *b != p.user) {
        return Err(ApiError::Locked(format!(
            "Function '{id}' is locked by {by}; it cannot be deleted until it is unlocked."
        )));
    }
    state.inner.store.delete_function(&org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    #[serde(default)]
    tags: Vec<String>,
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestBody {
    #[serde(default)]
    inputs: Map<String, Value>,
}

async fn post_dispatch(
    State(state): State<AppState>,
    p: Principal,
    Path((org, fn_ref)): Path<(String, String)>,
    req: axum::extract::Request,
) -> ApiResult<Response> {
    let (id, action) = split_action(&fn_ref);
    let action = action.unwrap_or_default();
    let scope = if action == "export" {
        CONFIG_READ
    } else {
        CONFIG_WRITE
    };
    p.require(&org, scope)?;
    let body = || async {
        let bytes = crate::extract::body_bytes(req, &state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            Ok::<Value, ApiError>(json!({}))
        } else {
            crate::extract::parse_json(&bytes)
        }
    };
    match action {
        "test" => {
            let body: TestBody = serde_json::from_value(body().await?).map_err(|e| {
                bad(format!(
                    "Invalid test body: {e}; send {{\"inputs\": {{...}}}}."
                ))
            })?;
            let rec = load(&state, &org, id).await?;
            check_test_inputs(&rec, &body.inputs)?;
            let version = latest_published_draft(&state, &org, &rec, &p.user).await?;
            run_test(&state, &rec, version, body.inputs).await
        }
        "publish" => {
            let body: PublishBody = serde_json::from_value(body().await?)
                .map_err(|e| bad(format!("Invalid publish body: {e}")))?;
            for t in &body.tags {
                if !TAGS.contains(&t.as_str()) {
                    return Err(bad(format!(
                        "Unknown tag '{t}'; expected any of {}.",
                        TAGS.join(", ")
                    )));
                }
            }
            load(&state, &org, id).await?;
            let (rec, _) = state
                .inner
                .store
                .publish_function(
                    &org,
                    id,
                    &body.tags,
                    body.comment.as_deref(),
                    &p.user,
                    ids::now(),
                )
                .await?;
            Ok(Json(envelope_fn(&rec)).into_response())
        }
        "export" => {
            let rec = load(&state, &org, id).await?;
            let file = json!({
                "name": rec.name, "description": rec.description, "language": rec.language,
                "selectedRuntime": rec.selected_runtime, "timeoutInSec": rec.timeout_in_sec,
                "sourceCode": rec.source_code, "inputs": rec.inputs, "outputs": rec.outputs,
            });
            let bytes = serde_json::to_vec_pretty(&file).map_err(ApiError::internal)?;
            Ok(Json(json!({
                "fileName": format!("{}.json", rec.name),
                "contentType": "application/json",
                "content": base64::engine::general_purpose::STANDARD.encode(bytes),
            }))
            .into_response())
        }
        "lock" | "unlock" => {
            load(&state, &org, id).await?;
            let rec = state
                .inner
                .store
                .set_function_lock(&org, id, &p.user, action == "lock", ids::now())
                .await?;
            Ok(Json(json!({
                "status": if rec.locked_by.is_some() { "LOCKED" } else { "UNLOCKED" },
                "lockedBy": rec.locked_by.unwrap_or_default(),
                "id": rec.id,
            }))
            .into_response())
        }
        "" => Err(ApiError::MethodNotAllowed(
            "POST on a function needs an action such as :test or :publish; update with PUT.".into(),
        )),
        other => Err(ApiError::NotFound(format!(
            "There is no POST action ':{other}' on a function."
        ))),
    }
}

fn check_test_inputs(rec: &FunctionRecord, inputs: &Map<String, Value>) -> ApiResult<()> {
    let declared: Vec<(&str, &str)> = rec
        .inputs
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| Some((i.get("name")?.as_str()?, i.get("dataType")?.as_str()?)))
        .collect();
    for (k, v) in inputs {
        match declared.iter().find(|(n, _)| n == k) {
            None => {
                let names: Vec<&str> = declared.iter().map(|(n, _)| *n).collect();
                return Err(bad(format!(
                    "Test input '{k}' is not a declared input of this function (declared: {}).",
                    names.join(", ")
                )));
            }
            Some((_, ty)) if !check_test_value(ty, v) => {
                return Err(bad(format!("Test input '{k}' must be a {ty}, got {v}.")));
            }
            _ => {}
        }
    }
    if let Some((missing, _)) = declared.iter().find(|(n, _)| !inputs.contains_key(*n)) {
        return Err(bad(format!(
            "Test input '{missing}' is declared but missing from 'inputs'."
        )));
    }
    Ok(())
}

/// `:test` runs the latest draft: publish it (without tags) unless the newest version
/// already holds exactly this draft.
async fn latest_published_draft(
    state: &AppState,
    org: &str,
    rec: &FunctionRecord,
    user: &str,
) -> ApiResult<i64> {
    let store = &state.inner.store;
    let versions = store.list_function_versions(org, &rec.id).await?;
    if let Some(v) = versions.iter().max_by_key(|v| v.version) {
        if v.source_code == rec.source_code
            && v.language == rec.language
            && v.timeout_in_sec == rec.timeout_in_sec
            && v.inputs == rec.inputs
        {
            return Ok(v.version);
        }
    }
    let (_, v) = store
        .publish_function(
            org,
            &rec.id,
            &[],
            Some("Published implicitly by :test"),
            user,
            ids::now(),
        )
        .await?;
    Ok(v.version)
}

async fn run_test(
    state: &AppState,
    rec: &FunctionRecord,
    version: i64,
    inputs: Map<String, Value>,
) -> ApiResult<Response> {
    let language: Language = rec.language.parse().map_err(ApiError::internal)?;
    let src = FunctionSource {
        key: format!("{}@{version}", rec.id),
        language,
        source: rec.source_code.clone(),
        timeout: Duration::from_secs(rec.timeout_in_sec.max(1) as u64),
    };
    match state.functions().invoke(&src, Value::Object(inputs)).await {
        Ok(out) => Ok(Json(json!({
            "result": out.result,
            "logs": out.logs,
            "durationMs": out.duration.as_millis() as u64,
        }))
        .into_response()),
        Err(FunctionError::Internal(e)) => Err(ApiError::internal(e)),
        Err(e) => {
            // The function failed, not the server: a 4xx that says how.
            let status = match e {
                FunctionError::RuntimeUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let mut body = envelope(status, &format!("The function failed ({}): {e}", e.kind()));
            let (message, stack, logs) = match &e {
                FunctionError::Thrown {
                    message,
                    stack,
                    logs,
                } => (message.clone(), stack.clone(), logs.clone()),
                FunctionError::Timeout { logs, .. } | FunctionError::MemoryLimit { logs } => {
                    (e.to_string(), String::new(), logs.clone())
                }
                other => (other.to_string(), String::new(), String::new()),
            };
            body["failure"] =
                json!({"kind": e.kind(), "message": message, "stack": stack, "logs": logs});
            Ok((status, Json(body)).into_response())
        }
    }
}

async fn import(
    State(state): State<AppState>,
    p: Principal,
    Path(org): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    p.require(&org, CONFIG_WRITE)?;
    let mut multipart = multipart.map_err(|e| {
        bad(format!(
            "Expected a multipart/form-data body with a 'file' part: {e}"
        ))
    })?;
    let (mut file, mut name) = (None, None);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| bad(format!("Malformed multipart body: {e}")))?
    {
        match field.name() {
            Some("file") => {
                file = Some(
                    field
                        .bytes()
                        .await
                        .map_err(|e| bad(format!("Could not read the 'file' part: {e}")))?,
                )
            }
            Some("name") => {
                name = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| bad(format!("Could not read the 'name' part: {e}")))?,
                )
            }
            _ => {}
        }
    }
    let bytes = file
        .ok_or_else(|| bad("The multipart body has no 'file' part (the file :export produced)."))?;
    // Accept the exported file itself, or its base64 `content` wrapped as :export returns it.
    let mut doc = crate::extract::parse_json(&bytes)?;
    if let Some(content) = doc.get("content").and_then(Value::as_str) {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|e| bad(format!("'content' is not base64: {e}")))?;
        doc = crate::extract::parse_json(&raw)?;
    }
    if let Some(n) = name.filter(|n| !n.trim().is_empty()) {
        doc["name"] = json!(n);
    }
    let def = parse_definition(doc)?;
    let rec = record_from(def, ids::new_id(), &org, &p.user);
    state
        .inner
        .store
        .insert_function(&rec)
        .await
        .map_err(map_name_clash)?;
    Ok((StatusCode::CREATED, Json(envelope_fn(&rec))).into_response())
}
