//! Property tests: random valid flows stay valid, and equal, through serialize/parse and
//! through PATCH round trips.

use proptest::prelude::*;
use serde_json::{json, Value};
use validate::Mode;

use crate::{check, render};

#[derive(Debug, Clone)]
enum Step {
    Play(String),
    Set(String),
    Condition(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z ,.!?]{0,39}".prop_map(Step::Play),
        "[a-z0-9]{0,12}".prop_map(Step::Set),
        any::<u8>().prop_map(Step::Condition),
    ]
}

fn build(steps: &[Step], extra_key: bool) -> Value {
    let mut nodes = vec![json!({
        "id": "n0", "name": "Start", "activityType": "start",
        "properties": {"activityName": "start", "flowType": {
            "eventSourceName": "WebexContactCenter",
            "eventClassificationName": "VoiceInteractions",
            "eventSpecificationName": "ContactStartWorkflow"}}
    })];
    for (i, s) in steps.iter().enumerate() {
        let name = format!("Step_{i}");
        let props = match s {
            Step::Play(text) => json!({"activityName": "play-message",
                "prompt": {"promptType": "text", "text": text, "textType": "text"}}),
            Step::Set(v) => {
                json!({"activityName": "set-variable", "variableName": "counter", "value": v})
            }
            Step::Condition(n) => {
                json!({"activityName": "condition", "expression": format!("{{{{ counter == '{n}' }}}}")})
            }
        };
        let mut node = json!({"id": format!("n{}", i + 1), "name": name, "activityType": "action", "properties": props});
        if extra_key {
            node["uiPosition"] = json!({"x": i * 10, "y": 0.5});
        }
        nodes.push(node);
    }
    nodes.push(json!({"id": "end", "name": "End", "activityType": "end",
                      "properties": {"activityName": "disconnect-contact"}}));
    let edges: Vec<Value> = nodes
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let cond = if i == 0 { "out" } else { "default" };
            json!({"id": format!("e{i}"), "from": w[0]["name"], "to": w[1]["name"], "condition": cond, "properties": {}})
        })
        .collect();
    json!({
        "name": "Generated", "flowType": "FLOW", "contactType": "telephony",
        "description": "generated", "custom": {"kept": true},
        "variables": [{"name": "counter", "type": "STRING", "value": "", "isSecure": false}],
        "nodes": nodes, "edges": edges, "preferences": []
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_flows_are_valid_and_round_trip(steps in prop::collection::vec(step(), 0..12), extra in any::<bool>()) {
        let doc = build(&steps, extra);
        let r = check(&doc, Mode::Strict);
        prop_assert!(r.is_valid(), "{}", render(&r));
        let (parsed, shape) = flow::parse(&doc).unwrap();
        prop_assert!(shape.is_empty());
        prop_assert_eq!(parsed.to_value(), doc.clone());
        let bytes = serde_json::to_vec(&parsed).unwrap();
        let (_, again, _) = flow::parse_slice(&bytes).unwrap();
        prop_assert_eq!(again, parsed);
    }

    #[test]
    fn patch_round_trips_keep_flows_valid(steps in prop::collection::vec(step(), 1..10), pick in any::<prop::sample::Index>()) {
        let doc = build(&steps, false);
        // Upserting what is already there changes nothing.
        let same = flow::FlowPatch {
            upsert_nodes: doc["nodes"].as_array().unwrap().clone(),
            upsert_edges: doc["edges"].as_array().unwrap().clone(),
            ..Default::default()
        };
        prop_assert_eq!(flow::apply_patch(&doc, &same).unwrap(), doc.clone());
        // Removing a node with its edges and adding them back is valid and idempotent.
        let i = 1 + pick.index(steps.len());
        let node = doc["nodes"][i].clone();
        let name = node["name"].as_str().unwrap().to_string();
        let touching: Vec<Value> = doc["edges"].as_array().unwrap().iter()
            .filter(|e| e["from"] == name.as_str() || e["to"] == name.as_str()).cloned().collect();
        let remove = flow::FlowPatch {
            remove_node_names: vec![name.clone()],
            remove_edge_keys: touching.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect(),
            ..Default::default()
        };
        let add = flow::FlowPatch { upsert_nodes: vec![node], upsert_edges: touching, ..Default::default() };
        let removed = flow::apply_patch(&doc, &remove).unwrap();
        let restored = flow::apply_patch(&removed, &add).unwrap();
        let r = check(&restored, Mode::Strict);
        prop_assert!(r.is_valid(), "{}", render(&r));
        prop_assert_eq!(flow::apply_patch(&restored, &add).unwrap(), restored.clone());
        prop_assert_eq!(restored["nodes"].as_array().unwrap().len(), doc["nodes"].as_array().unwrap().len());
    }
}
