//! Tests of the builtin catalog's invariants, of loading, and of the generated reference.
//!
//! They hold the data files to the rules the validator and the engine depend on, so a bad
//! edit to `catalog/*.json` fails here, with its file and pointer, before it reaches them.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::{Catalog, EventBinding, Group, ProblemKind, DEFAULT_PORT};

fn builtin() -> &'static Catalog {
    Catalog::builtin()
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn builtin_parses() {
    let c = builtin();
    assert!(c.activities().len() >= 28, "{:?}", c);
    assert!(c.events().len() >= 10, "{:?}", c);
    assert_eq!(c.activities()[0].activity_name, "start");
}

#[test]
fn every_schema_compiles_as_draft_2020_12() {
    // Compiled with the library's defaults (formats validated), as another tool would.
    for a in builtin().activities() {
        if let Err(e) = jsonschema::draft202012::new(&a.input_schema) {
            panic!("{}: input schema: {e}", a.activity_name);
        }
        for p in &a.output_ports {
            if let Some(b) = &p.branching {
                if let Err(e) = jsonschema::draft202012::new(&b.schema) {
                    panic!("{}: port {}: {e}", a.activity_name, p.name);
                }
            }
        }
        assert_eq!(
            a.input_schema["additionalProperties"],
            json!(true),
            "{}: UI fields must be tolerated",
            a.activity_name
        );
    }
}

#[test]
fn activity_names_are_unique_kebab_case() {
    let mut seen = HashSet::new();
    for a in builtin().activities() {
        assert!(
            crate::load::is_kebab_case(&a.activity_name),
            "{}",
            a.activity_name
        );
        assert!(
            seen.insert(&a.activity_name),
            "duplicate {}",
            a.activity_name
        );
        assert_eq!(
            builtin()
                .activity(&a.activity_name)
                .map(|x| &x.activity_name),
            Some(&a.activity_name)
        );
    }
    assert!(builtin().activity("no-such-activity").is_none());
}

#[test]
fn event_names_are_unique() {
    let mut seen = HashSet::new();
    for e in builtin().events() {
        assert!(seen.insert(&e.name), "duplicate {}", e.name);
        assert_eq!(builtin().event(&e.name).map(|x| &x.name), Some(&e.name));
    }
}

#[test]
fn inputs_match_schema_properties() {
    for a in builtin().activities() {
        let props: Vec<&String> = a.input_schema["properties"]
            .as_object()
            .map(|p| p.keys().collect())
            .unwrap_or_default();
        let names: Vec<&String> = a.inputs.iter().map(|i| &i.name).collect();
        assert_eq!(names, props, "{}", a.activity_name);
        let required: Vec<&str> = a.input_schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for i in &a.inputs {
            assert_eq!(
                i.required,
                required.contains(&i.name.as_str()),
                "{}.{}",
                a.activity_name,
                i.name
            );
        }
    }
}

#[test]
fn ports_follow_the_engine_rule() {
    for a in builtin().activities() {
        match a.group {
            Group::End => assert!(a.output_ports.is_empty(), "{}", a.activity_name),
            _ => {
                let default = a.port(DEFAULT_PORT);
                assert!(default.is_some(), "{} has no default port", a.activity_name);
                assert_eq!(
                    default.map(|p| p.description.as_str()),
                    Some("Fallback: followed when no edge matches the outcome")
                );
                let branching = a.output_ports.iter().any(|p| p.is_branching());
                let two_way =
                    ["condition", "business-hours", "menu"].contains(&a.activity_name.as_str());
                if !branching && !two_way {
                    assert!(
                        a.port("out").is_some(),
                        "{} has no out port",
                        a.activity_name
                    );
                }
            }
        }
        for alias in ["done", "defaultBranch"] {
            assert!(
                a.port(alias).is_none(),
                "{}: aliases are not ports",
                a.activity_name
            );
        }
    }
}

#[test]
fn error_ports_expose_error_code_and_message() {
    for a in builtin().activities() {
        if a.error_ports().next().is_some() {
            for name in ["errorCode", "errorMessage"] {
                assert!(
                    a.output(name).is_some(),
                    "{} lacks output {name}",
                    a.activity_name
                );
            }
        }
    }
}

#[test]
fn templated_inputs_accept_expressions() {
    let c = builtin();
    for a in c.activities() {
        for i in a.inputs.iter().filter(|i| i.templated) {
            let schema = a
                .input_property_schema(&i.name)
                .cloned()
                .unwrap_or(Value::Null);
            let accepts_strings = match &schema["type"] {
                Value::String(t) => t == "string",
                Value::Array(ts) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            if !accepts_strings {
                continue;
            }
            for expr in ["{{ Var }}", "a {{ Var.field }} b"] {
                let v = jsonschema::draft202012::new(&schema).unwrap();
                assert!(
                    v.is_valid(&json!(expr)),
                    "{}.{} rejects {expr:?}",
                    a.activity_name,
                    i.name
                );
            }
        }
    }
}

#[test]
fn choices_inputs_are_strings() {
    for a in builtin().activities() {
        for i in a.inputs.iter().filter(|i| i.choices.is_some()) {
            let schema = a.input_property_schema(&i.name).unwrap();
            let member = match &i.choices_field {
                None => schema.clone(),
                Some(field) => {
                    let resolved = match schema.get("$ref").and_then(Value::as_str) {
                        Some(r) => {
                            let ptr = r.trim_start_matches('#');
                            a.input_schema.pointer(ptr).cloned().unwrap()
                        }
                        None => schema.get("items").cloned().unwrap_or(schema.clone()),
                    };
                    resolved["properties"][field].clone()
                }
            };
            assert_eq!(
                member["type"],
                json!("string"),
                "{}.{}",
                a.activity_name,
                i.name
            );
        }
    }
}

#[test]
fn the_design_activity_set_is_covered() {
    let work_item = [
        "wait",
        "bre-request",
        "condition",
        "go-to",
        "http-request",
        "case",
        "parse",
        "end-flow",
        "percent-allocation",
        "set-variable",
        "business-hours",
        "screen-pop",
        "set-contact-priority",
        "escalate-cdg",
        "get-queue-info",
        "advanced-queue-info",
        "queue-contact",
        "queue-to-agent",
    ];
    let telephony = [
        "play-message",
        "play-music",
        "menu",
        "collect-digits",
        "disconnect-contact",
        "blind-transfer",
    ];
    let c = builtin();
    for name in work_item {
        let a = c.activity(name).unwrap_or_else(|| panic!("missing {name}"));
        assert!(
            a.supports("workItem"),
            "{name} must be offered for work items"
        );
    }
    for name in telephony {
        let a = c.activity(name).unwrap_or_else(|| panic!("missing {name}"));
        assert_eq!(a.contact_types, vec!["telephony"], "{name}");
    }
    for name in ["start", "event", "function", "subflow"] {
        assert!(c.activity(name).is_some(), "missing {name}");
    }
    assert_eq!(c.activity("start").map(|a| a.group), Some(Group::Start));
    assert_eq!(c.activity("event").map(|a| a.group), Some(Group::Event));
    assert_eq!(
        c.activity("queue-contact")
            .and_then(|a| a.input("queue"))
            .map(|i| (i.required, i.choices)),
        Some((true, Some(crate::ChoicesKind::Queue)))
    );
}

#[test]
fn events_cover_the_guides() {
    let c = builtin();
    let voice = c.event("ContactStartWorkflow").unwrap();
    assert_eq!(voice.binding, EventBinding::Start);
    assert!(voice.binds("WebexContactCenter", "VoiceInteractions"));
    for o in ["ANI", "DNIS", "InteractionId", "EntryPointId"] {
        assert!(voice.output(o).is_some(), "ContactStartWorkflow lacks {o}");
    }
    let error = c.event("GlobalErrorHandling").unwrap();
    assert_eq!(error.binding, EventBinding::Event);
    assert!(error.binds("WebexContactCenter", "VoiceInteractions"));
    assert!(error.binds("WebexContactCenter", "WorkItemInteractions"));
    assert!(!error.binds("Elsewhere", "VoiceInteractions"));
    let wi = c.event("WorkItemStartWorkflow").unwrap();
    assert!(wi.supports("workItem") && wi.binding == EventBinding::Start);
    for ct in crate::CONTACT_TYPES {
        assert!(
            c.events_with_binding(EventBinding::Start)
                .any(|e| e.supports(ct)),
            "no start event for {ct}"
        );
    }
}

#[test]
fn snapshot_of_activities_and_ports() {
    let mut out = String::new();
    for a in builtin().activities() {
        let ports: Vec<String> = a
            .output_ports
            .iter()
            .map(|p| {
                let mut s = p.name.clone();
                if let Some(b) = &p.branching {
                    let _ = write!(s, "[{}]", b.property);
                }
                if p.error {
                    s.push('!');
                }
                s
            })
            .collect();
        let line = format!("{:<22} {:<6} {}", a.activity_name, a.group, ports.join(" "));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out.push('\n');
    for e in builtin().events() {
        let _ = writeln!(
            out,
            "{:<28} {:<5} {}",
            e.name, e.binding, e.event_classification_name
        );
    }
    insta::assert_snapshot!("activities_and_ports", out);
}

#[test]
fn serialized_catalog_loads_back_the_same() {
    let text = serde_json::to_string_pretty(builtin()).unwrap();
    let again = Catalog::from_sources([("all.json", text)]).unwrap();
    assert_eq!(again.activities(), builtin().activities());
    assert_eq!(again.events(), builtin().events());
}

#[test]
fn from_sources_reports_every_problem_of_every_file() {
    let broken_json = "{ \"activities\": [ ";
    let broken_defs = json!({
        "activities": [
            {
                "activityName": "Play_Thing",
                "group": "middle",
                "displayName": "x", "description": "x", "contactTypes": [],
                "inputs": [], "inputSchema": {"type": "object"}, "outputPorts": [], "outputs": []
            },
            {
                "activityName": "no-default",
                "group": "action",
                "displayName": "x", "description": "x", "contactTypes": ["fax"],
                "inputs": [{"name": "a", "displayName": "A", "description": "", "required": true}],
                "inputSchema": {"type": "object", "properties": {"b": {"type": "strin"}}},
                "outputPorts": [{"name": "out", "description": "x"}],
                "outputs": [{"name": "o", "type": "TEXT", "description": ""}]
            },
            {
                "activityName": "dup",
                "group": "end",
                "displayName": "x", "description": "x", "contactTypes": [],
                "inputs": [], "inputSchema": {"type": "object"}, "outputPorts": [], "outputs": []
            },
            {
                "activityName": "dup",
                "group": "end",
                "displayName": "x", "description": "x", "contactTypes": [],
                "inputs": [], "inputSchema": {"type": "object"}, "outputPorts": [], "outputs": []
            }
        ],
        "events": [{"name": "E"}],
        "extra": 1
    })
    .to_string();
    let err = Catalog::from_sources([("a.json", broken_json), ("b.json", broken_defs.as_str())])
        .unwrap_err();
    let kinds: Vec<(String, String, ProblemKind)> = err
        .problems()
        .iter()
        .map(|p| (p.file.clone(), p.pointer.clone(), p.kind))
        .collect();
    let expect = [
        ("a.json", "", ProblemKind::BadJson),
        ("b.json", "/extra", ProblemKind::BadShape),
        ("b.json", "/activities/0", ProblemKind::BadShape),
        (
            "b.json",
            "/activities/1/contactTypes/0",
            ProblemKind::UnknownContactType,
        ),
        (
            "b.json",
            "/activities/1/inputs",
            ProblemKind::InputsMismatch,
        ),
        (
            "b.json",
            "/activities/1/inputs/0/required",
            ProblemKind::InputsMismatch,
        ),
        ("b.json", "/activities/1/outputPorts", ProblemKind::BadPorts),
        (
            "b.json",
            "/activities/1/outputs/0/type",
            ProblemKind::UnknownOutputType,
        ),
        (
            "b.json",
            "/activities/1/inputSchema",
            ProblemKind::InvalidSchema,
        ),
        (
            "b.json",
            "/activities/3/activityName",
            ProblemKind::DuplicateActivity,
        ),
        ("b.json", "/events/0", ProblemKind::BadShape),
    ];
    let expect: Vec<(String, String, ProblemKind)> = expect
        .iter()
        .map(|(f, p, k)| (f.to_string(), p.to_string(), *k))
        .collect();
    assert_eq!(kinds, expect, "{err}");
    let text = err.to_string();
    assert!(text.starts_with("invalid catalog (11 problems):"), "{text}");
    assert!(text.contains("a.json: not valid JSON"), "{text}");
    assert!(text.contains("unknown variant `middle`"), "{text}");
    assert!(
        text.contains("activity \"dup\" is already defined in b.json at /activities/2"),
        "{text}"
    );
}

#[test]
fn duplicates_across_files_name_the_first_file() {
    let one = json!({"events": [builtin().event("GlobalErrorHandling").unwrap()]}).to_string();
    let err = Catalog::builtin_with_overrides([("extra.json", one)]).unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    assert_eq!(err.problems()[0].kind, ProblemKind::DuplicateEvent);
    assert!(
        err.to_string().contains("already defined in events.json"),
        "{err}"
    );
}

#[test]
fn overrides_replace_a_builtin_file_by_name() {
    let mut wait = builtin().activity("wait").unwrap().clone();
    wait.display_name = "Pause".to_owned();
    let file = json!({"activities": [wait]}).to_string();
    // flow-control.json replaced by a file holding only `wait`.
    let c = Catalog::builtin_with_overrides([("flow-control.json", file)]).unwrap();
    assert_eq!(c.activity("wait").unwrap().display_name, "Pause");
    assert!(c.activity("condition").is_none());
    assert!(c.activity("play-message").is_some());
}

#[test]
fn check_input_reports_violations_with_pointers() {
    let c = builtin();
    let ok = json!({"activityName": "queue-contact", "queue": "Sales", "uiX": 12});
    assert_eq!(c.check_input("queue-contact", &ok), Some(vec![]));
    let missing = json!({"activityName": "queue-contact"});
    let v = c.check_input("queue-contact", &missing).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].pointer, "");
    assert!(
        v[0].message.contains("\"queue\" is a required property"),
        "{:?}",
        v
    );
    let bad = json!({"prompt": {"promptType": "video"}});
    let v = c.check_input("play-message", &bad).unwrap();
    assert!(
        v.iter().any(|x| x.pointer == "/prompt/promptType"),
        "{:?}",
        v
    );
    let bounds = json!({"url": "{{Base}}/x", "timeoutInSec": 600});
    let v = c.check_input("http-request", &bounds).unwrap();
    assert_eq!(v.len(), 1, "{:?}", v);
    assert_eq!(v[0].pointer, "/timeoutInSec");
    let either = json!({"tag": "Live"});
    assert_eq!(c.check_input("function", &either).map(|v| v.len()), Some(1));
    assert_eq!(c.check_input("nope", &json!({})), None);
}

#[test]
fn check_branch_checks_the_edge_value() {
    let c = builtin();
    assert_eq!(
        c.check_branch("menu", "digit", &json!({"digit": "5"})),
        Some(vec![])
    );
    let v = c
        .check_branch("menu", "digit", &json!({"digit": "x"}))
        .unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].pointer, "/digit");
    let v = c
        .check_branch("percent-allocation", "allocation", &json!({}))
        .unwrap();
    assert_eq!(v.len(), 1);
    assert!(v[0].message.contains("properties.percentage"), "{:?}", v);
    assert_eq!(
        c.check_branch(
            "percent-allocation",
            "allocation",
            &json!({"percentage": 101})
        )
        .map(|v| v.len()),
        Some(1)
    );
    assert_eq!(
        c.check_branch("case", "case", &json!({"value": 3})),
        Some(vec![])
    );
    assert_eq!(c.check_branch("menu", "onTimeout", &json!({})), None);
}

#[test]
fn docs_reference_is_current() {
    let path = workspace_root().join("docs/catalog.md");
    let rendered = builtin().reference_markdown();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "docs/catalog.md is stale: run `UPDATE_EXPECT=1 cargo test -p switchboard-catalog`"
    );
}

#[test]
fn tidy_module_docs_and_dependency_edges() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(crate_dir.join("src")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with("//!"),
                "{} lacks a //! module doc",
                path.display()
            );
        }
    }
    // The catalog is a pure core: no async runtime, database, HTTP server or client.
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    for forbidden in ["tokio", "sqlx", "axum", "reqwest"] {
        assert!(
            !manifest
                .lines()
                .any(|l| l.trim_start().starts_with(forbidden)),
            "switchboard-catalog must not depend on {forbidden}"
        );
    }
}
