//! Builders shared by the test suites of several crates (a dev-dependency only): small flow
//! documents written as data, so tests read as the flow they exercise.

use serde_json::{json, Value};

/// A telephony flow named `name`: a start node `Start` bound to ContactStartWorkflow, then
/// `nodes` (each gets an id and the activityType of its activity's catalog group), wired by
/// `edges` given as `[from, to, condition]` or `[from, to, condition, {properties}]`.
pub fn flow(name: &str, variables: Value, nodes: Value, edges: Value) -> Value {
    let mut all = vec![json!({
        "id": "n-start", "name": "Start", "activityType": "start",
        "properties": {"activityName": "start", "flowType": {
            "eventSourceName": "WebexContactCenter",
            "eventClassificationName": "VoiceInteractions",
            "eventSpecificationName": "ContactStartWorkflow"}}
    })];
    for (i, mut n) in nodes
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let group = n["properties"]["activityName"]
            .as_str()
            .and_then(|a| catalog::Catalog::builtin().activity(a))
            .map(|a| a.group.as_str())
            .unwrap_or("action");
        n["id"] = json!(format!("n-{i}"));
        n["activityType"] = json!(group);
        all.push(n);
    }
    let edges: Vec<Value> = edges
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            json!({"id": format!("e-{i}"), "from": e[0], "to": e[1], "condition": e[2],
                   "properties": e.get(3).cloned().unwrap_or(json!({}))})
        })
        .collect();
    json!({"name": name, "flowType": "FLOW", "contactType": "telephony",
           "variables": variables, "nodes": all, "edges": edges})
}

/// A node `name` running `activity` with `inputs` as its other properties.
pub fn node(name: &str, activity: &str, inputs: Value) -> Value {
    let mut props = inputs;
    props["activityName"] = json!(activity);
    json!({"name": name, "properties": props})
}
