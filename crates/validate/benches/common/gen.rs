//! Generated flow documents for benchmarks: a start node, then `n` action nodes cycling
//! through realistic activities (prompts, templates, conditions, branching cases, HTTP,
//! queueing), wired in a line with branches, ending in disconnect-contact. `invalid` nodes
//! get a broken activity name, incoming port or input each.

use serde_json::{json, Value};

pub fn generate(n: usize, invalid: usize) -> Value {
    let mut nodes = vec![
        json!({"id": "n-start", "name": "NewContact", "activityType": "start",
        "properties": {"activityName": "start", "flowType": {"eventSourceName": "WebexContactCenter",
        "eventClassificationName": "VoiceInteractions", "eventSpecificationName": "ContactStartWorkflow"}}}),
    ];
    let mut edges = Vec::new();
    let every = n.checked_div(invalid).map_or(usize::MAX, |e| e.max(1));
    let mut broken = 0;
    for i in 0..n {
        let name = format!("Node_{i}");
        let props = match i % 6 {
            0 => {
                json!({"activityName": "play-message", "prompt": {"promptType": "text", "text": format!("Message {i}"), "textType": "text"}})
            }
            1 => {
                json!({"activityName": "set-variable", "variableName": "counter", "value": "{{ counter ~ 'x' }}"})
            }
            2 => json!({"activityName": "condition", "expression": "{{ counter == 'xx' }}"}),
            3 => json!({"activityName": "case", "expression": "{{ NewContact.ANI }}"}),
            4 => {
                json!({"activityName": "http-request", "method": "GET", "url": "https://crm.example.com/customers/{{ NewContact.ANI }}", "timeoutInSec": 5})
            }
            _ => json!({"activityName": "queue-contact", "queue": "Default Queue", "priority": 5}),
        };
        let mut node = json!({"id": format!("n{i}"), "name": name, "activityType": "action", "properties": props});
        let prev = if i == 0 {
            "NewContact".to_string()
        } else {
            format!("Node_{}", i - 1)
        };
        let port = if i == 0 { "out" } else { "default" };
        let mut edge = json!({"id": format!("e{i}"), "from": prev, "to": name, "condition": port, "properties": {}});
        if i % every == every - 1 && broken < invalid {
            broken += 1;
            // Node-level mistakes (an unknown activity, a port the activity lacks, an input
            // of the wrong type) that leave the graph's shape alone.
            match broken % 3 {
                0 => node["properties"]["activityName"] = json!("no-such-activity"),
                1 => edge["condition"] = json!("onTimeout"),
                _ => {
                    node["properties"] = json!({"activityName": "play-message", "prompt": 42});
                }
            }
        }
        if i % 6 == 3 {
            // A case node also branches straight to the end on one value.
            edges.push(json!({"id": format!("b{i}"), "from": name, "to": "End", "condition": "case", "properties": {"value": "1"}}));
        }
        nodes.push(node);
        edges.push(edge);
    }
    edges.push(json!({"id": "e-end", "from": format!("Node_{}", n.saturating_sub(1)), "to": "End", "condition": "default", "properties": {}}));
    nodes.push(json!({"id": "n-end", "name": "End", "activityType": "end", "properties": {"activityName": "disconnect-contact"}}));
    json!({"name": format!("Generated{n}"), "flowType": "FLOW", "contactType": "telephony",
           "description": "benchmark flow",
           "variables": [{"name": "counter", "type": "STRING", "value": ""}],
           "nodes": nodes, "edges": edges, "preferences": []})
}
