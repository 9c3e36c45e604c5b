//! The golden fixtures and the guide's documented errors.

use validate::Mode;

use crate::{check, data_dir, documents, expect_file, render};

#[test]
fn ok_documents_are_valid_in_both_modes_without_warnings() {
    let docs = documents("ok");
    assert!(docs.len() >= 4);
    for (name, doc) in docs {
        for mode in [Mode::Lenient, Mode::Strict] {
            let r = check(&doc, mode);
            assert!(
                r.diagnostics.is_empty(),
                "{name} ({mode:?}) should be clean:\n{}",
                render(&r)
            );
        }
    }
}

/// File name -> the code it demonstrates, where the name is not the code itself.
fn expected_code(name: &str) -> String {
    match name {
        "invalid-port-guide" => "INVALID_PORT",
        "invalid-input-missing-required" => "INVALID_INPUT",
        "unknown-start-event" => "UNKNOWN_EVENT",
        "missing-fields" => "MISSING_FIELD",
        "invalid-field-type" => "INVALID_FIELD",
        "many-errors-in-document-order" => "UNKNOWN_ACTIVITY",
        "nested-template-pointers" => "UNKNOWN_NODE_OUTPUT",
        other => return other.to_uppercase().replace('-', "_"),
    }
    .to_string()
}

#[test]
fn each_err_document_reports_its_code_and_matches_its_expectation() {
    let docs = documents("err");
    assert!(docs.len() >= 30, "one fixture per code");
    for (name, doc) in docs {
        let lenient = check(&doc, Mode::Lenient);
        let strict = check(&doc, Mode::Strict);
        let code = expected_code(&name);
        assert!(
            strict.diagnostics.iter().any(|d| d.code == code),
            "{name}: expected {code} in\n{}",
            render(&strict)
        );
        let actual = format!(
            "# lenient (flows:validate)\n{}\n# strict (flows:import)\n{}\n",
            render(&lenient),
            render(&strict)
        );
        expect_file(
            &data_dir().join("err").join(format!("{name}.expect")),
            &actual,
        );
    }
}

#[test]
fn guide_error_example_comes_out_exactly() {
    let (_, doc) = documents("err")
        .into_iter()
        .find(|(n, _)| n == "invalid-port-guide")
        .expect("fixture");
    let r = check(&doc, Mode::Lenient);
    assert_eq!(
        r.to_api(),
        serde_json::json!({
            "valid": false,
            "errors": [{
                "path": "/edges/1/condition",
                "code": "INVALID_PORT",
                "message": "Activity 'play-message' does not expose a port named 'onTimeout'."
            }]
        })
    );
}

#[test]
fn missing_start_node_passes_validate_but_fails_import() {
    let (_, doc) = documents("err")
        .into_iter()
        .find(|(n, _)| n == "missing-start-node")
        .expect("fixture");
    assert!(check(&doc, Mode::Lenient).is_valid());
    let strict = check(&doc, Mode::Strict);
    assert!(!strict.is_valid());
    assert_eq!(
        strict.errors().next().map(|d| d.code.as_str()),
        Some("MISSING_START_NODE")
    );
}

#[test]
fn every_problem_is_reported_in_document_order() {
    let (_, doc) = documents("err")
        .into_iter()
        .find(|(n, _)| n == "many-errors-in-document-order")
        .expect("fixture");
    let r = check(&doc, Mode::Strict);
    let codes: Vec<&str> = r.errors().map(|d| d.code.as_str()).collect();
    assert_eq!(
        codes,
        vec![
            "INVALID_VARIABLE_VALUE",
            "UNKNOWN_ACTIVITY",
            "UNKNOWN_NODE",
            "DUPLICATE_EDGE_ID"
        ]
    );
}

#[test]
fn seed_patch_example_merges_into_a_valid_draft() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/seeds");
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(root.join(f)).expect("seed")).expect("json")
    };
    let base = read("basic-flow.json");
    let patch = flow::FlowPatch::from_value(&read("patch.json")).expect("patch parses");
    let merged = flow::apply_patch(&base, &patch).expect("applies");
    for mode in [Mode::Lenient, Mode::Strict] {
        let r = check(&merged, mode);
        assert!(r.is_valid(), "{}", render(&r));
    }
    // Idempotent.
    assert_eq!(flow::apply_patch(&merged, &patch).unwrap(), merged);
    // Removing a node without its edges fails, as the guide says.
    let bad =
        flow::FlowPatch::from_value(&serde_json::json!({"remove_node_names": ["HoldMessage"]}))
            .unwrap();
    let broken = flow::apply_patch(&merged, &bad).unwrap();
    let r = check(&broken, Mode::Strict);
    assert_eq!(
        r.errors().next().map(|d| d.code.as_str()),
        Some("UNKNOWN_NODE")
    );
}

#[test]
fn suppressions_from_config_silence_one_rule_for_one_node() {
    let (_, doc) = documents("err")
        .into_iter()
        .find(|(n, _)| n == "unreachable-node")
        .expect("fixture");
    let choices = crate::choices();
    let v = validate::Validator::new(catalog::Catalog::builtin());
    let run = |s: &validate::Suppressions| {
        let opts = validate::Options {
            mode: Mode::Strict,
            resolver: &choices,
            suppressions: s,
        };
        v.validate_value(&doc, &opts).1
    };
    let none = run(&validate::Suppressions::empty());
    assert!(none.warnings().any(|d| d.code == "UNREACHABLE_NODE"));
    let other: validate::Suppressions = serde_json::from_value(
        serde_json::json!({"allow": [{"code": "UNREACHABLE_NODE", "node": "Menu"}]}),
    )
    .unwrap();
    assert!(run(&other).warnings().any(|d| d.code == "UNREACHABLE_NODE"));
    let this: validate::Suppressions = serde_json::from_value(
        serde_json::json!({"allow": [{"code": "UNREACHABLE_NODE", "node": "Orphan"}]}),
    )
    .unwrap();
    assert!(!run(&this).warnings().any(|d| d.code == "UNREACHABLE_NODE"));
}

#[test]
fn bytes_and_value_paths_report_the_same_diagnostics_in_the_same_order() {
    let choices = crate::choices();
    let v = validate::Validator::new(catalog::Catalog::builtin());
    for sub in ["ok", "err"] {
        for (name, doc) in documents(sub) {
            for mode in [Mode::Lenient, Mode::Strict] {
                let opts = validate::Options {
                    mode,
                    resolver: &choices,
                    ..Default::default()
                };
                let bytes = serde_json::to_vec_pretty(&doc).unwrap();
                let (_, from_bytes) = v.validate_slice(&bytes, &opts).unwrap();
                let (_, from_value) = v.validate_value(&doc, &opts);
                assert_eq!(
                    render(&from_bytes),
                    render(&from_value),
                    "{name} ({mode:?})"
                );
            }
        }
    }
}

/// The per-node rules run as the nodes are read, before the edges and wherever the variables
/// are: the report must not depend on where the document puts its members.
#[test]
fn member_order_does_not_change_the_report() {
    let choices = crate::choices();
    let v = validate::Validator::new(catalog::Catalog::builtin());
    let text = |doc: &serde_json::Value, keys: &[&String]| {
        let members: Vec<String> = keys
            .iter()
            .map(|k| format!("{}:{}", serde_json::to_string(k).unwrap(), doc[k.as_str()]))
            .collect();
        format!("{{{}}}", members.join(","))
    };
    let sorted = |r: &validate::Report| {
        let mut lines: Vec<String> = render(r).lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    let mut checked = 0;
    for sub in ["ok", "err"] {
        for (name, doc) in documents(sub) {
            let Some(obj) = doc.as_object() else { continue };
            let forward: Vec<&String> = obj.keys().collect();
            let backward: Vec<&String> = obj.keys().rev().collect();
            let opts = validate::Options {
                mode: Mode::Strict,
                resolver: &choices,
                ..Default::default()
            };
            let a = v
                .validate_bytes(text(&doc, &forward).as_bytes(), &opts)
                .unwrap();
            let b = v
                .validate_bytes(text(&doc, &backward).as_bytes(), &opts)
                .unwrap();
            assert_eq!(sorted(&a), sorted(&b), "{name}");
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} documents");
}

/// A repeated `nodes` member: the last one is the document's nodes (as the typed model reads
/// it), and only its nodes are checked.
#[test]
fn a_repeated_nodes_member_checks_the_last_one_only() {
    let v = validate::Validator::new(catalog::Catalog::builtin());
    let node = |name: &str, prompt: &str| {
        format!(
            r#"{{"id":"{name}","name":"{name}","activityType":"action","properties":{{"activityName":"play-message","prompt":{prompt}}}}}"#
        )
    };
    let (bad, good) = (
        "42",
        r#"{"promptType":"text","text":"Hi","textType":"text"}"#,
    );
    let invalid_inputs = |first: &str, last: &str| {
        let doc = format!(
            r#"{{"name":"f","nodes":[{}],"edges":[],"nodes":[{}]}}"#,
            node("A", first),
            node("B", last)
        );
        let report = v
            .validate_bytes(doc.as_bytes(), &validate::Options::default())
            .unwrap();
        report
            .diagnostics
            .iter()
            .filter(|d| d.code == "INVALID_INPUT")
            .count()
    };
    assert_eq!(invalid_inputs(bad, good), 0);
    assert!(invalid_inputs(good, bad) > 0);
}

/// Depth is checked in two places (the parse, and the view for node and edge elements): at
/// every position, a document is refused exactly when serde_json refuses it.
#[test]
fn nesting_depth_is_refused_exactly_where_serde_json_refuses_it() {
    fn node(x: &str) -> String {
        format!(
            r#"{{"id":"n","name":"Start","activityType":"start","properties":{{"activityName":"start","x":{x}}}}}"#
        )
    }
    type Place = (&'static str, fn(&str) -> String);
    let places: [Place; 7] = [
        ("other member", |x| format!(r#"{{"name":"f","extra":{x}}}"#)),
        ("node property", |x| {
            format!(r#"{{"name":"f","nodes":[{}]}}"#, node(x))
        }),
        ("second node", |x| {
            format!(r#"{{"name":"f","nodes":[{},{}]}}"#, node("1"), node(x))
        }),
        ("edge property", |x| {
            format!(
                r#"{{"name":"f","edges":[{{"id":"e","from":"a","to":"b","properties":{{"x":{x}}}}}]}}"#
            )
        }),
        ("event node", |x| {
            format!(r#"{{"name":"f","eventFlows":{{"nodes":[{}]}}}}"#, node(x))
        }),
        ("eventFlows member", |x| {
            format!(r#"{{"name":"f","eventFlows":{{"extra":{x}}}}}"#)
        }),
        ("nodes not a list", |x| {
            format!(r#"{{"name":"f","nodes":{{"x":{x}}}}}"#)
        }),
    ];
    let v = validate::Validator::new(catalog::Catalog::builtin());
    let opts = validate::Options::default();
    let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    for (place, doc) in places {
        for n in 115..=135 {
            let text = doc(&deep(n));
            let serde_ok = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            let ours = v.validate_bytes(text.as_bytes(), &opts);
            assert_eq!(ours.is_ok(), serde_ok, "{place}, depth {n}: {ours:?}");
            if let Err(e) = ours {
                assert!(
                    e.to_string().contains("recursion"),
                    "{place}, depth {n}: {e}"
                );
            }
        }
    }
}
