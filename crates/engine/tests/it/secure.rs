//! Secure variables never appear in traces (inputs, assigned values, outputs), nor in the
//! error events; they do reach the commands that need them.

use engine::{Command, Event, Start, MASK};
use serde_json::json;

use crate::harness::{fixture, Sim};

#[test]
fn secure_values_are_masked_in_traces() {
    let mut sim = Sim::new(&fixture("ivr.json"));
    sim.env
        .add_business_hours(crate::scenarios::support_hours());
    sim.full_trace = true;
    let mut start = Start::default();
    start.outputs.insert("ANI".into(), json!("+14155550100"));
    start
        .globals
        .insert("ApiKey".into(), json!("global-secret"));
    start.secure_globals.push("ApiKey".into());
    let out = sim.start(start);
    // The request carries the token...
    let Command::HttpRequest(req) = &out.commands[0] else {
        panic!("{:?}", out.commands)
    };
    assert_eq!(
        req.headers[0],
        ("Authorization".into(), "Bearer tok-123".into())
    );
    // ...the trace does not.
    let rec = out
        .trace
        .iter()
        .find(|r| &*r.node == "LookupCaller")
        .unwrap();
    let inputs = rec.inputs_json();
    assert_eq!(inputs["headers"], json!(MASK));
    assert_eq!(inputs["url"], json!("https://crm.example.com/customers"));
    assert_eq!(inputs["queryParameters"], json!({"phone": "+14155550100"}));
    let text = serde_json::to_string(&out.trace).unwrap();
    assert!(!text.contains("tok-123"), "{text}");
    insta::assert_yaml_snapshot!(out.trace);
}

#[test]
fn assigning_a_secure_variable_masks_the_node() {
    let doc = json!({
        "name": "Secrets", "flowType": "FLOW", "contactType": "telephony",
        "variables": [
            {"name": "Token", "type": "STRING", "value": "", "isSecure": true},
            {"name": "Plain", "type": "STRING", "value": ""}
        ],
        "nodes": [
            {"id": "s", "name": "NewContact", "activityType": "start", "properties": {"activityName": "start", "flowType": {
                "eventSourceName": "WebexContactCenter", "eventClassificationName": "VoiceInteractions", "eventSpecificationName": "ContactStartWorkflow"}}},
            {"id": "h", "name": "Login", "activityType": "action", "properties": {"activityName": "http-request", "method": "POST",
                "url": "https://auth.example.com/token", "parseSettings": [{"outputVariable": "Token", "pathExpression": "$.token"}]}},
            {"id": "c", "name": "Copy", "activityType": "action", "properties": {"activityName": "set-variable", "variableName": "Plain", "value": "{{ Token }}"}},
            {"id": "b", "name": "Bad", "activityType": "action", "properties": {"activityName": "set-variable", "variableName": "Token", "value": "{{ Token + 1 }}"}}
        ],
        "edges": [
            {"id": "e1", "from": "NewContact", "to": "Login", "condition": "out", "properties": {}},
            {"id": "e2", "from": "Login", "to": "Copy", "condition": "out", "properties": {}},
            {"id": "e3", "from": "Copy", "to": "Bad", "condition": "out", "properties": {}}
        ]
    });
    let mut sim = Sim::new(&doc);
    sim.full_trace = true;
    sim.start(Start::default());
    let out = sim.send(
        1,
        Event::HttpResponse {
            id: 1,
            status: 200,
            headers: vec![],
            body: r#"{"token": "abc.def.ghi"}"#.into(),
        },
    );
    let login = &out.trace.get(0).unwrap();
    assert_eq!(login.outputs_json(), json!(MASK));
    assert_eq!(login.assigned_json()["Token"], json!(MASK));
    let copy = &out.trace.get(1).unwrap();
    assert_eq!(copy.inputs_json()["value"], json!(MASK));
    // Copying a secret into a plain variable is the author's choice: the value is shown.
    assert_eq!(copy.assigned_json()["Plain"], json!("abc.def.ghi"));
    let bad = &out.trace.get(2).unwrap();
    let error = bad.error.as_ref().unwrap();
    assert!(!error.message.contains("abc.def"), "{}", error.message);
    let text =
        serde_json::to_string(&[&out.trace.get(0).unwrap(), &out.trace.get(2).unwrap()]).unwrap();
    assert!(!text.contains("abc.def.ghi"), "{text}");
    let events = serde_json::to_string(&out.commands).unwrap();
    assert!(!events.contains("abc.def.ghi"), "{events}");
}

#[test]
fn the_masked_checkpoint_hides_secrets_the_real_one_keeps_them() {
    let mut doc = fixture("ivr.json");
    // Keep LookupCaller's outputs (some expression reads them) and map a secret from it.
    doc["variables"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "Session", "type": "STRING", "value": "", "isSecure": true}));
    doc["nodes"][4]["properties"]["parseSettings"]
        .as_array_mut()
        .unwrap()
        .push(json!({"outputVariable": "Session", "pathExpression": "$.session"}));
    doc["nodes"][5]["properties"]["prompt"]["text"] =
        json!("Hello {{ CustomerName }} ({{ LookupCaller.httpStatusCode }})");
    let mut sim = Sim::new(&doc);
    sim.env
        .add_business_hours(crate::scenarios::support_hours());
    let mut start = Start::default();
    start
        .globals
        .insert("ApiKey".into(), json!("global-secret"));
    start.secure_globals.push("ApiKey".into());
    sim.start(start);
    sim.send(
        1,
        Event::HttpResponse {
            id: 1,
            status: 200,
            headers: vec![],
            body: r#"{"name": "Ada", "session": "sess-42"}"#.into(),
        },
    );
    let real = sim.state().to_json().to_string();
    assert!(real.contains("tok-123") && real.contains("sess-42") && real.contains("global-secret"));
    let masked = sim.state().to_json_masked(&sim.env);
    let text = masked.to_string();
    assert!(
        !text.contains("tok-123") && !text.contains("sess-42") && !text.contains("global-secret"),
        "{text}"
    );
    assert_eq!(masked["root"]["vars"]["CrmToken"], json!(MASK));
    assert_eq!(masked["root"]["outputs"]["LookupCaller"], json!(MASK));
    assert_eq!(masked["root"]["vars"]["CustomerName"], json!("Ada"));
}
