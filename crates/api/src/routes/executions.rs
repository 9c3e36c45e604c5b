//! Executions (an extension, not in the vendor's API) under `/v1/{orgId}/executions`: start
//! an execution of a published flow version (or the draft), list and get executions with
//! their state, read a trace, and drive a simulated caller (`:digits`, `:hangup`) or
//! `:cancel`. The durable [`runtime::server::Runner`] does the work.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use runtime::server::{Runner, RunnerError, VersionSel};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use store::{ExecutionFilter, ExecutionRecord};

use super::flows::{split_action, MAX_PAGE_SIZE};
use crate::auth::{Principal, CONFIG_READ, CONFIG_WRITE};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Path, Query};
use crate::ids;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/{org_id}/executions", get(list).post(start))
        .route(
            "/v1/{org_id}/executions/{exec_ref}",
            get(get_dispatch).post(post_dispatch),
        )
        .route("/v1/{org_id}/executions/{exec_ref}/trace", get(get_trace))
}

impl From<RunnerError> for ApiError {
    fn from(e: RunnerError) -> Self {
        match e {
            RunnerError::NotFound(m) => ApiError::NotFound(m),
            RunnerError::BadRequest(m) => ApiError::BadRequest(m),
            RunnerError::Conflict(m) => ApiError::Conflict(m),
            RunnerError::Store(e) => e.into(),
            RunnerError::Internal(m) => ApiError::Internal(m),
        }
    }
}

const STATUSES: &[&str] = &["running", "waiting", "completed", "failed", "cancelled"];

fn version_label(v: Option<i64>) -> Value {
    match v {
        Some(n) => json!(n),
        None => json!("draft"),
    }
}

/// The short shape (list items, the answer to a start).
fn summary(r: &ExecutionRecord) -> Value {
    json!({
        "id": r.id,
        "orgId": r.org_id,
        "flowId": r.flow_id,
        "flowVersion": version_label(r.flow_version),
        "status": r.status,
        "error": r.error,
        "createdAt": ids::ts(&r.created_at),
        "updatedAt": ids::ts(&r.updated_at),
        "finishedAt": r.finished_at.as_ref().map(ids::ts),
    })
}

async fn detail(runner: &Runner, r: &ExecutionRecord) -> Value {
    let mut v = summary(r);
    if let Ok(state) = serde_json::from_value::<engine::TaskState>(r.state.clone()) {
        let secure = runner.secure_variables(&r.org_id, state.flow()).await;
        let outcome = match state.status() {
            engine::Status::Completed { outcome } => serde_json::to_value(outcome).ok(),
            _ => None,
        };
        let extra = json!({
            "startedAt": ids::ts(&state.started_at()),
            "steps": state.steps(),
            "waiting": runtime::server::waiting_for(&state),
            "variables": runtime::report::variables(&state, &secure),
            "outcome": outcome,
            "failure": state.error(),
        });
        if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
            obj.extend(extra);
        }
    }
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StartBody {
    flow_id: String,
    #[serde(default)]
    version: Option<Value>,
    #[serde(default)]
    variables: Option<Map<String, Value>>,
    #[serde(default)]
    start_data: Option<Map<String, Value>>,
}

async fn start(
    State(state): State<AppState>,
    p: Principal,
    Path(org): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    p.require(&org, CONFIG_WRITE)?;
    let body: StartBody = serde_json::from_value(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "Invalid execution body: {e}; send {{\"flowId\", \"version\"?: \"latest\"|\"draft\"|N, \"variables\"?: {{}}, \"startData\"?: {{}}}}."
        ))
    })?;
    let version = match &body.version {
        None | Some(Value::Null) => VersionSel::Latest,
        Some(Value::String(s)) => s.parse().map_err(ApiError::BadRequest)?,
        Some(Value::Number(n)) => n
            .as_i64()
            .map(|n| n.to_string())
            .unwrap_or_default()
            .parse()
            .map_err(ApiError::BadRequest)?,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "version must be \"latest\", \"draft\" or a number >= 1, not {other}"
            )))
        }
    };
    let runner = state.runner()?;
    let rec = runner
        .start(
            &org,
            &body.flow_id,
            version,
            body.variables.unwrap_or_default(),
            body.start_data.unwrap_or_default(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(detail(runner, &rec).await)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    page: Option<u64>,
    size: Option<u64>,
    flow_id: Option<String>,
    status: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(org): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    if let Some(s) = &q.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "Unknown status '{s}'; one of {}.",
                STATUSES.join(", ")
            )));
        }
    }
    let size = q.size.unwrap_or(10).clamp(1, MAX_PAGE_SIZE);
    let page = q.page.unwrap_or(0);
    let (items, total) = state
        .inner
        .store
        .list_executions(
            &org,
            &ExecutionFilter {
                flow_id: q.flow_id,
                status: q.status,
                offset: page.saturating_mul(size),
                limit: size,
            },
        )
        .await?;
    Ok(Json(json!({
        "data": items.iter().map(summary).collect::<Vec<_>>(),
        "currentPage": page,
        "pageSize": size,
        "totalRecords": total,
        "totalPages": total.div_ceil(size),
    })))
}

async fn load(state: &AppState, org: &str, id: &str) -> ApiResult<ExecutionRecord> {
    state
        .inner
        .store
        .get_execution(org, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Execution '{id}' does not exist.")))
}

async fn get_dispatch(
    State(state): State<AppState>,
    p: Principal,
    Path((org, exec_ref)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    let (id, action) = split_action(&exec_ref);
    if let Some(a) = action {
        return Err(ApiError::NotFound(format!(
            "There is no GET action ':{a}' on an execution."
        )));
    }
    let rec = load(&state, &org, id).await?;
    Ok(Json(detail(state.runner()?, &rec).await))
}

async fn get_trace(
    State(state): State<AppState>,
    p: Principal,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    let rec = load(&state, &org, &id).await?;
    let rows = state.inner.store.trace_of(&org, &id).await?;
    let records: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let mut v = r.record;
            if let Some(obj) = v.as_object_mut() {
                obj.insert("seq".into(), json!(r.seq));
            }
            v
        })
        .collect();
    Ok(Json(json!({
        "executionId": rec.id,
        "flowId": rec.flow_id,
        "flowVersion": version_label(rec.flow_version),
        "status": rec.status,
        "records": records,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DigitsBody {
    digits: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    #[serde(default)]
    reason: Option<String>,
}

async fn post_dispatch(
    State(state): State<AppState>,
    p: Principal,
    Path((org, exec_ref)): Path<(String, String)>,
    req: axum::extract::Request,
) -> ApiResult<Response> {
    p.require(&org, CONFIG_WRITE)?;
    let (id, action) = split_action(&exec_ref);
    let bytes = crate::extract::body_bytes(req, &state).await?;
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        crate::extract::parse_json(&bytes)?
    };
    let runner = state.runner()?;
    match action {
        Some("digits") => {
            let b: DigitsBody = serde_json::from_value(body).map_err(|e| {
                ApiError::BadRequest(format!("Invalid body: {e}; send {{\"digits\": \"1\"}}."))
            })?;
            if b.digits.is_empty()
                || b.digits.len() > 64
                || !b
                    .digits
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
            {
                return Err(ApiError::BadRequest(
                    "digits must be 1 to 64 of 0-9, * and #.".into(),
                ));
            }
            runner.send_digits(&org, id, b.digits).await?;
        }
        Some("hangup") => runner.hangup(&org, id).await?,
        Some("cancel") => {
            let b: CancelBody = serde_json::from_value(body).map_err(|e| {
                ApiError::BadRequest(format!("Invalid body: {e}; send {{\"reason\"?: \"...\"}}."))
            })?;
            runner
                .cancel(
                    &org,
                    id,
                    b.reason.unwrap_or_else(|| "cancelled via the API".into()),
                )
                .await?;
        }
        Some(other) => {
            return Err(ApiError::NotFound(format!(
                "Unknown action ':{other}'; use :digits, :hangup or :cancel."
            )))
        }
        None => {
            return Err(ApiError::MethodNotAllowed(
                "POST an action: :digits, :hangup or :cancel.".into(),
            ))
        }
    }
    let rec = load(&state, &org, id).await?;
    Ok((StatusCode::ACCEPTED, Json(detail(runner, &rec).await)).into_response())
}
