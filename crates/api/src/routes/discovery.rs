//! Discovery under `/{orgId}/project/{projectId}/v2/`: activities, one activity, input
//! choices (list, search, validate, dynamic) and event specifications, from the catalog and
//! this org's configuration.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use catalog::{ActivityDef, ChoicesKind};
use serde::Deserialize;
use serde_json::{json, Value};
use validate::StaticChoices;

use super::check_project;
use crate::auth::{Principal, CONFIG_READ};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/{org_id}/project/{project_id}/v2/activities",
            get(list_activities),
        )
        .route(
            "/{org_id}/project/{project_id}/v2/activities/{activity}",
            get(describe_activity),
        )
        .route(
            "/{org_id}/project/{project_id}/v2/activities/{activity}/inputs/{input}/choices",
            get(choices),
        )
        .route(
            "/{org_id}/project/{project_id}/v2/event-specifications",
            get(event_specifications),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    group: Option<String>,
    contact_type: Option<String>,
}

/// An activity as discovery serves it: the catalog entry plus, for inputs that expose
/// choices, the endpoint that resolves them.
fn activity_json(org: &str, a: &ActivityDef) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
    if let Some(inputs) = v.get_mut("inputs").and_then(Value::as_array_mut) {
        for (input, def) in inputs.iter_mut().zip(&a.inputs) {
            if def.choices.is_some() || def.allowed_values.is_some() {
                input["choicesEndpoint"] = json!(format!(
                    "/{org}/project/{}/v2/activities/{}/inputs/{}/choices",
                    crate::PROJECT_ID,
                    a.activity_name,
                    def.name
                ));
            }
        }
    }
    v
}

async fn list_activities(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    check_project(&project)?;
    if let Some(g) = &q.group {
        if catalog::Group::parse(g).is_none() {
            return Err(ApiError::BadRequest(format!(
                "Unknown group '{g}'; expected start, action, event or end."
            )));
        }
    }
    let items: Vec<Value> = state
        .inner
        .catalog
        .activities()
        .iter()
        .filter(|a| q.group.as_ref().is_none_or(|g| a.group.as_str() == g))
        .filter(|a| q.contact_type.as_ref().is_none_or(|c| a.supports(c)))
        .map(|a| activity_json(&org, a))
        .collect();
    Ok(Json(Value::Array(items)))
}

async fn describe_activity(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project, activity)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    check_project(&project)?;
    let a = state.inner.catalog.activity(&activity).ok_or_else(|| {
        ApiError::NotFound(format!(
            "Activity '{activity}' is not in this project's activity definitions."
        ))
    })?;
    Ok(Json(activity_json(&org, a)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChoicesQuery {
    mode: Option<String>,
    query: Option<String>,
    value: Option<String>,
    parent_inputs: Option<String>,
}

async fn choices(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project, activity, input)): Path<(String, String, String, String)>,
    Query(q): Query<ChoicesQuery>,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    check_project(&project)?;
    let a = state.inner.catalog.activity(&activity).ok_or_else(|| {
        ApiError::NotFound(format!(
            "Activity '{activity}' is not in this project's activity definitions."
        ))
    })?;
    let def = a.input(&input).ok_or_else(|| {
        ApiError::NotFound(format!(
            "Activity '{activity}' has no input named '{input}'."
        ))
    })?;
    let mode = q.mode.as_deref().unwrap_or("list");
    if !matches!(mode, "list" | "search" | "validate" | "dynamic") {
        return Err(ApiError::BadRequest(format!(
            "Unknown mode '{mode}'; expected list, search, validate or dynamic."
        )));
    }
    // (id, name) pairs of the choice set.
    let all: Vec<(String, String)> = match (def.choices, &def.allowed_values) {
        (Some(kind), _) => org_entities(&state, &org, kind).await?,
        (None, Some(values)) => values
            .iter()
            .map(|v| {
                let s = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                (s.clone(), s)
            })
            .collect(),
        (None, None) => {
            return Err(ApiError::BadRequest(format!(
                "Input '{input}' of activity '{activity}' does not expose choices (it has neither allowedValues nor a choices endpoint)."
            )))
        }
    };
    let item = |(id, name): &(String, String)| json!({"id": id, "name": name});
    let body = match mode {
        "list" => json!({"mode": "list", "choices": all.iter().map(item).collect::<Vec<_>>()}),
        "search" => {
            let needle = q.query.unwrap_or_default().to_lowercase();
            let hits: Vec<Value> = all
                .iter()
                .filter(|(id, name)| {
                    name.to_lowercase().contains(&needle) || id.to_lowercase().contains(&needle)
                })
                .map(item)
                .collect();
            json!({"mode": "search", "choices": hits})
        }
        "validate" => {
            let value = q.value.ok_or_else(|| {
                ApiError::BadRequest("mode=validate needs a 'value' query parameter.".into())
            })?;
            let hit = all.iter().find(|(id, name)| *id == value || *name == value);
            json!({"mode": "validate", "value": value, "valid": hit.is_some(), "choice": hit.map(item)})
        }
        _ => {
            // Cascading choices: entities whose body matches every parent input given.
            let parents: serde_json::Map<String, Value> = match &q.parent_inputs {
                Some(s) => serde_json::from_str(s).map_err(|e| {
                    ApiError::BadRequest(format!("parent_inputs must be a JSON object: {e}"))
                })?,
                None => Default::default(),
            };
            for k in parents.keys() {
                if !def.parent_inputs.contains(k) {
                    return Err(ApiError::BadRequest(format!(
                        "Input '{input}' does not depend on '{k}'; its parent inputs are [{}].",
                        def.parent_inputs.join(", ")
                    )));
                }
            }
            let mut hits = Vec::new();
            if let Some(kind) = def.choices {
                for e in state.inner.store.list_entities(&org, kind.as_str()).await? {
                    if parents
                        .iter()
                        .all(|(k, v)| e.body.get(k).is_none_or(|b| b == v))
                    {
                        hits.push(json!({"id": e.id, "name": e.name}));
                    }
                }
            } else {
                hits = all.iter().map(item).collect();
            }
            json!({"mode": "dynamic", "choices": hits})
        }
    };
    Ok(Json(body))
}

async fn event_specifications(
    State(state): State<AppState>,
    p: Principal,
    Path((org, project)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    p.require(&org, CONFIG_READ)?;
    check_project(&project)?;
    Ok(Json(
        serde_json::to_value(state.inner.catalog.events()).unwrap_or_default(),
    ))
}

/// (id, name) pairs of one choices kind in this org.
pub(crate) async fn org_entities(
    state: &AppState,
    org: &str,
    kind: ChoicesKind,
) -> ApiResult<Vec<(String, String)>> {
    let store = &state.inner.store;
    Ok(match kind {
        ChoicesKind::Flow => {
            let filter = store::FlowFilter {
                name_contains: None,
                flow_type: None,
                ids: None,
                offset: 0,
                limit: 10_000,
            };
            store
                .list_flows(org, &filter)
                .await?
                .0
                .into_iter()
                .map(|f| (f.id, f.name))
                .collect()
        }
        ChoicesKind::Function => store
            .list_functions(org)
            .await?
            .into_iter()
            .map(|f| (f.id, f.name))
            .collect(),
        other => {
            let key = (org.to_string(), other.as_str());
            if let Some(hit) = state.cached_entities(&key) {
                return Ok(hit);
            }
            let list: Vec<(String, String)> = store
                .list_entities(org, other.as_str())
                .await?
                .into_iter()
                .map(|e| (e.id, e.name))
                .collect();
            state.cache_entities(key, list.clone());
            list
        }
    })
}

/// Prefetch the org's values for the choices kinds a document uses, so the pure validator
/// can check them (ids and names both count).
pub(crate) async fn org_choices(
    state: &AppState,
    org: &str,
    doc: &Value,
) -> ApiResult<StaticChoices> {
    let mut kinds: Vec<ChoicesKind> = Vec::new();
    let cat = state.inner.catalog;
    for list in [doc.get("nodes"), doc.pointer("/eventFlows/nodes")] {
        for n in list.and_then(Value::as_array).into_iter().flatten() {
            let Some(a) = n
                .pointer("/properties/activityName")
                .and_then(Value::as_str)
                .and_then(|a| cat.activity(a))
            else {
                continue;
            };
            for i in &a.inputs {
                if let Some(k) = i.choices {
                    if n.get("properties").and_then(|p| p.get(&i.name)).is_some()
                        && !kinds.contains(&k)
                    {
                        kinds.push(k);
                    }
                }
            }
        }
    }
    org_choices_for_kinds(state, org, kinds).await
}

/// The org's entities of each kind, as a resolver for the validator.
pub(crate) async fn org_choices_for_kinds(
    state: &AppState,
    org: &str,
    kinds: Vec<ChoicesKind>,
) -> ApiResult<StaticChoices> {
    let mut out = StaticChoices::new();
    for k in kinds {
        out.declare(k);
        for (id, name) in org_entities(state, org, k).await? {
            out.insert(k, id);
            out.insert(k, name);
        }
    }
    Ok(out)
}
