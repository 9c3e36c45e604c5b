//! The route table. [`ENDPOINTS`] lists every (method, path) served; the OpenAPI document is
//! generated from it and a test checks that each entry is routed and documented.

mod discovery;
mod executions;
mod flow_store;
mod flows;
mod functions;
mod health;
mod oauth;

use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::AppState;

/// One documented endpoint.
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// Scope required; `None` for unauthenticated endpoints.
    pub scope: Option<&'static str>,
    pub tag: &'static str,
}

macro_rules! ep {
    ($m:literal, $p:literal, $scope:expr, $tag:literal, $s:literal) => {
        Endpoint {
            method: $m,
            path: $p,
            summary: $s,
            scope: $scope,
            tag: $tag,
        }
    };
}

const R: Option<&str> = Some(crate::auth::CONFIG_READ);
const W: Option<&str> = Some(crate::auth::CONFIG_WRITE);
const V2: &str = "/{orgId}/project/{projectId}/v2";

/// Every endpoint served, in the order the OpenAPI document lists them.
pub const ENDPOINTS: &[Endpoint] = &[
    ep!("get", "/healthz", None, "operations", "Liveness: the process is up."),
    ep!("get", "/readyz", None, "operations", "Readiness: the store answers."),
    ep!("get", "/metrics", None, "operations", "Prometheus metrics."),
    ep!("get", "/openapi.json", None, "operations", "This OpenAPI document."),
    ep!("post", "/v1/access_token", None, "auth", "OAuth2 token endpoint (client_credentials, refresh_token)."),
    ep!("get", "/{orgId}/project/{projectId}/v2/activities", R, "discovery", "listActivityDefinitions: activities with group, inputs schema and output ports."),
    ep!("get", "/{orgId}/project/{projectId}/v2/activities/{activityName}", R, "discovery", "describeActivity."),
    ep!("get", "/{orgId}/project/{projectId}/v2/activities/{activityName}/inputs/{inputName}/choices", R, "discovery", "getActivityInputChoices (mode=list|search|validate|dynamic)."),
    ep!("get", "/{orgId}/project/{projectId}/v2/event-specifications", R, "discovery", "listEventSpecifications."),
    ep!("post", "/{orgId}/project/{projectId}/v2/flows:validate", W, "flows", "Validate a flow document (dry run); ?strict=true answers exactly what import would."),
    ep!("post", "/{orgId}/project/{projectId}/v2/flows:import", W, "flows", "Import a flow document as a draft (201; 409 name clash; 422 invalid)."),
    ep!("get", "/{orgId}/project/{projectId}/v2/flows", R, "flows", "List flows (page, size, name, flowType)."),
    ep!("get", "/{orgId}/project/{projectId}/v2/flows/{flowId}", R, "flows", "Get a flow's draft document."),
    ep!("post", "/{orgId}/project/{projectId}/v2/flows/{flowId}", W, "flows", "Save the draft (?expectedVersion=N for optimistic locking)."),
    ep!("patch", "/{orgId}/project/{projectId}/v2/flows/{flowId}", W, "flows", "Patch the draft (upsert_nodes, upsert_edges, remove_node_names, remove_edge_keys, overrides)."),
    ep!("delete", "/{orgId}/project/{projectId}/v2/flows/{flowId}", W, "flows", "Delete a flow and its versions."),
    ep!("post", "/{orgId}/project/{projectId}/v2/flows/{flowId}:validate", W, "flows", "Validate a stored version (?versionId=draft|N)."),
    ep!("get", "/{orgId}/project/{projectId}/v2/flows/{flowId}:export", R, "flows", "Export a version (?version=latest|draft|N)."),
    ep!("post", "/{orgId}/project/{projectId}/v2/flows/{flowId}:publish", W, "flows", "Publish the draft as an immutable numbered version, with tags."),
    ep!("post", "/{orgId}/project/{projectId}/v2/flows/{flowId}:lock", W, "flows", "Lock the draft for the caller."),
    ep!("post", "/{orgId}/project/{projectId}/v2/flows/{flowId}:unlock", W, "flows", "Unlock the draft."),
    ep!("get", "/{orgId}/project/{projectId}/v2/flows/{flowId}/versions", R, "flows", "Version history, newest first."),
    ep!("get", "/flow-store/{orgId}/project/{projectId}/flows", R, "flow-store", "findFlowsUsingGET (legacy)."),
    ep!("post", "/flow-store/{orgId}/project/{projectId}/flows:import", W, "flow-store", "importFlowVersionUsingPOST (legacy multipart)."),
    ep!("get", "/flow-store/{orgId}/project/{projectId}/flows/{flowId}:export", R, "flow-store", "exportFlowVersionUsingGET (legacy)."),
    ep!("post", "/flow-store/{orgId}/project/{projectId}/flows/{flowId}:publish", W, "flow-store", "publishFlowVersionUsingPOST (legacy)."),
    ep!("post", "/v1/{orgId}/functions", W, "functions", "Create a custom function (201 {fnCode, fnMetadata}; duplicate name 400)."),
    ep!("get", "/v1/{orgId}/functions", R, "functions", "List custom functions."),
    ep!("get", "/v1/{orgId}/functions/{id}", R, "functions", "Get a function: {fnCode, fnMetadata}."),
    ep!("put", "/v1/{orgId}/functions/{id}", W, "functions", "Update the draft (same body as create)."),
    ep!("delete", "/v1/{orgId}/functions/{id}", W, "functions", "Delete a function."),
    ep!("post", "/v1/{orgId}/functions/{id}:test", W, "functions", "Run the latest draft with {inputs} -> {result, logs, durationMs} (publishes it implicitly)."),
    ep!("post", "/v1/{orgId}/functions/{id}:publish", W, "functions", "Publish under tags Dev/Test/Latest/Live ({tags, comment})."),
    ep!("post", "/v1/{orgId}/functions/{id}:export", R, "functions", "Export as a file: {fileName, contentType, content (base64)}."),
    ep!("post", "/v1/{orgId}/functions/{id}:lock", W, "functions", "Lock the draft for the caller; returns a status."),
    ep!("post", "/v1/{orgId}/functions/{id}:unlock", W, "functions", "Unlock the draft; returns a status."),
    ep!("post", "/v1/{orgId}/functions:import", W, "functions", "Import an exported function file (multipart 'file', optional 'name')."),
    ep!("post", "/v1/{orgId}/executions", W, "executions", "Start an execution (extension): {flowId, version?: latest|draft|N, variables?, startData?} -> 201 with its state (404 unknown flow, 400 bad version, 409 no published version)."),
    ep!("get", "/v1/{orgId}/executions", R, "executions", "List executions, newest first (page, size, flowId, status)."),
    ep!("get", "/v1/{orgId}/executions/{id}", R, "executions", "Get an execution with its state: status, what it waits for, variables (secure ones masked), outcome, error."),
    ep!("get", "/v1/{orgId}/executions/{id}/trace", R, "executions", "The execution's trace in order: node, activity, inputs (secure values masked), outputs, port, timing, error."),
    ep!("post", "/v1/{orgId}/executions/{id}:digits", W, "executions", "Simulated caller: send {digits} to an execution waiting for caller input (409 otherwise)."),
    ep!("post", "/v1/{orgId}/executions/{id}:hangup", W, "executions", "Simulated caller: hang up (409 when not waiting for caller input)."),
    ep!("post", "/v1/{orgId}/executions/{id}:cancel", W, "executions", "Cancel an unfinished execution ({reason?}; 409 when finished)."),
];

pub fn router() -> Router<AppState> {
    let _ = V2;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(health::openapi))
        .route("/v1/access_token", post(oauth::access_token))
        .merge(discovery::router())
        .merge(flows::router())
        .merge(flow_store::router())
        .merge(functions::router())
        .merge(executions::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("No such endpoint; see /openapi.json for the API.".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("This endpoint does not support that method.".into())
}

/// The project segment must be the one project id; any other answers 404.
pub(crate) fn check_project(project_id: &str) -> Result<(), ApiError> {
    if project_id == crate::PROJECT_ID {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "Project '{project_id}' does not exist; the project id is {}.",
            crate::PROJECT_ID
        )))
    }
}
