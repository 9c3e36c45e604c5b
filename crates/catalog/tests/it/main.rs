//! The catalog against the flow-orchestration guide: every node of the guide's three JSON
//! documents (tests/fixtures/seeds) must satisfy its activity's input schema, and every edge
//! must fire on a port its source activity exposes. These documents are the contract; if
//! the catalog rejects them, the catalog is wrong.

use std::path::PathBuf;

use serde_json::Value;
use switchboard_catalog::{Catalog, EventBinding, Group};

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/seeds")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Checks one node and returns its (name, activityName).
fn check_node(catalog: &Catalog, doc: &str, node: &Value) -> (String, String) {
    let name = node["name"].as_str().unwrap_or_default().to_owned();
    let props = &node["properties"];
    let activity_name = props["activityName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let def = catalog
        .activity(&activity_name)
        .unwrap_or_else(|| panic!("{doc}: node {name}: unknown activity {activity_name:?}"));
    assert_eq!(
        Group::parse(node["activityType"].as_str().unwrap_or_default()),
        Some(def.group),
        "{doc}: node {name}: activityType must be the activity's group"
    );
    let violations = catalog.check_input(&activity_name, props).unwrap();
    assert!(violations.is_empty(), "{doc}: node {name}: {violations:?}");
    match def.group {
        Group::Start => {
            let flow_type = &props["flowType"];
            let spec = catalog
                .event(
                    flow_type["eventSpecificationName"]
                        .as_str()
                        .unwrap_or_default(),
                )
                .unwrap_or_else(|| panic!("{doc}: node {name}: unknown start event"));
            assert_eq!(spec.binding, EventBinding::Start);
            assert!(spec.binds(
                flow_type["eventSourceName"].as_str().unwrap_or_default(),
                flow_type["eventClassificationName"]
                    .as_str()
                    .unwrap_or_default()
            ));
        }
        Group::Event => {
            let spec = catalog
                .event(props["eventSpecificationName"].as_str().unwrap_or_default())
                .unwrap_or_else(|| panic!("{doc}: node {name}: unknown event"));
            assert_eq!(spec.binding, EventBinding::Event);
            assert!(spec.binds(
                props["eventSourceName"].as_str().unwrap_or_default(),
                props["eventClassificationName"]
                    .as_str()
                    .unwrap_or_default()
            ));
        }
        _ => {}
    }
    (name, activity_name)
}

fn check_edges(catalog: &Catalog, doc: &str, nodes: &[(String, String)], edges: &[Value]) {
    for edge in edges {
        let id = edge["id"].as_str().unwrap_or_default();
        let from = edge["from"].as_str().unwrap_or_default();
        let (_, activity_name) = nodes
            .iter()
            .find(|(n, _)| n == from)
            .unwrap_or_else(|| panic!("{doc}: edge {id}: unknown source {from}"));
        let condition = match edge["condition"].as_str().unwrap_or_default() {
            "done" => "out",
            "defaultBranch" => "default",
            other => other,
        };
        let def = catalog.activity(activity_name).unwrap();
        let port = def.port(condition).unwrap_or_else(|| {
            panic!("{doc}: edge {id}: {activity_name} has no port {condition:?}")
        });
        if port.is_branching() {
            let v = catalog
                .check_branch(activity_name, condition, &edge["properties"])
                .unwrap();
            assert!(v.is_empty(), "{doc}: edge {id}: {v:?}");
        }
    }
}

fn check_flow(catalog: &Catalog, doc: &str) -> Vec<(String, String)> {
    let flow = fixture(doc);
    let main: Vec<_> = array(&flow, "nodes")
        .iter()
        .map(|n| check_node(catalog, doc, n))
        .collect();
    check_edges(catalog, doc, &main, array(&flow, "edges"));
    let events = &flow["eventFlows"];
    let event_nodes: Vec<_> = array(events, "nodes")
        .iter()
        .map(|n| check_node(catalog, doc, n))
        .collect();
    check_edges(catalog, doc, &event_nodes, array(events, "edges"));
    let contact_type = flow["contactType"].as_str().unwrap_or_default();
    for (_, a) in main.iter().chain(&event_nodes) {
        assert!(
            catalog.activity(a).unwrap().supports(contact_type),
            "{doc}: {a} is not offered for {contact_type}"
        );
    }
    main
}

#[test]
fn basic_flow_satisfies_the_catalog() {
    check_flow(Catalog::builtin(), "basic-flow.json");
}

#[test]
fn error_handler_flow_satisfies_the_catalog() {
    check_flow(Catalog::builtin(), "error-handler-flow.json");
}

#[test]
fn patch_satisfies_the_catalog() {
    let catalog = Catalog::builtin();
    // The patch's edges reference nodes of the basic flow it is applied to.
    let mut nodes = check_flow(catalog, "basic-flow.json");
    let patch = fixture("patch.json");
    for node in array(&patch, "upsert_nodes") {
        nodes.push(check_node(catalog, "patch.json", node));
    }
    check_edges(catalog, "patch.json", &nodes, array(&patch, "upsert_edges"));
}

#[test]
fn play_message_has_both_out_and_default() {
    // The guide's basic flow leaves play-message on `default`, its PATCH example on `out`.
    let def = Catalog::builtin().activity("play-message").unwrap();
    assert!(def.port("out").is_some() && def.port("default").is_some());
    assert!(
        def.port("onTimeout").is_none(),
        "the guide's INVALID_PORT example"
    );
}
