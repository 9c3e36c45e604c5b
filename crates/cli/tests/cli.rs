//! The offline commands end to end: exit codes, human output pointing into the source, and
//! the JSON shape, pinned with insta snapshots.

use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env("NO_COLOR", "1")
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const BAD: &str = "crates/validate/test_data/err/invalid-port-guide.json";

#[test]
fn valid_seed_documents_exit_zero() {
    let (code, out, _) = run(&[
        "flow",
        "validate",
        "--strict",
        "tests/fixtures/seeds/basic-flow.json",
        "tests/fixtures/seeds/error-handler-flow.json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim(), "2 files: 0 errors");
}

#[test]
fn human_output_points_into_the_source() {
    let (code, out, _) = run(&["flow", "validate", BAD]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with(&format!("{BAD}:55:20: error[INVALID_PORT]")),
        "{out}"
    );
    insta::assert_snapshot!("human_invalid_port", out);
}

#[test]
fn json_output_is_the_api_shape() {
    let (code, out, _) = run(&["flow", "validate", "--output", "json", BAD]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    insta::assert_json_snapshot!("json_invalid_port", v);
}

#[test]
fn malformed_json_reports_line_and_column_and_exits_two() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("broken.json");
    std::fs::write(&f, "{\n  \"name\": \"x\",\n  \"nodes\": [\n}\n").unwrap();
    let (code, _, err) = run(&["flow", "validate", f.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("broken.json:4:1: error[INVALID_JSON]"),
        "{err}"
    );
    let (code, _, err) = run(&["flow", "validate", "no/such/file.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read no/such/file.json"), "{err}");
}

#[test]
fn lint_denies_warnings_and_honours_suppressions() {
    let doc = "crates/validate/test_data/err/unreachable-node.json";
    let (code, out, _) = run(&["flow", "lint", doc]);
    assert_eq!(code, 0, "warnings alone pass: {out}");
    assert!(out.contains("warning[UNREACHABLE_NODE]"));
    let (code, _, _) = run(&["flow", "lint", "--deny-warnings", doc]);
    assert_eq!(code, 1);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("lint.toml");
    std::fs::write(
        &cfg,
        "[[lint.allow]]\ncode = \"UNREACHABLE_NODE\"\nnode = \"Orphan\"\n",
    )
    .unwrap();
    let (code, out, _) = run(&[
        "flow",
        "lint",
        "--deny-warnings",
        "--config",
        cfg.to_str().unwrap(),
        doc,
    ]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn choices_file_enables_unknown_queue() {
    let dir = tempfile::tempdir().unwrap();
    let choices = dir.path().join("choices.json");
    std::fs::write(&choices, r#"{"queue": ["Default Queue"]}"#).unwrap();
    let doc = "crates/validate/test_data/err/unknown-queue.json";
    let (code, _, _) = run(&["flow", "validate", doc]);
    assert_eq!(
        code, 0,
        "offline, queues are not checked without a choices file"
    );
    let (code, out, _) = run(&[
        "flow",
        "validate",
        "--choices",
        choices.to_str().unwrap(),
        doc,
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("error[UNKNOWN_QUEUE]"), "{out}");
}

#[test]
fn catalog_commands() {
    let (code, out, _) = run(&["catalog", "list", "--group", "end"]);
    assert_eq!(code, 0);
    assert!(out.contains("disconnect-contact"));
    assert!(!out.contains("play-message"));
    let (code, out, _) = run(&["catalog", "show", "queue-contact", "--output", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["activityName"], "queue-contact");
    let (code, _, err) = run(&["catalog", "show", "no-such"]);
    assert_eq!(code, 2);
    assert!(err.contains("catalog list"));
    let (code, _, _) = run(&["catalog", "list", "--group", "bogus"]);
    assert_eq!(code, 2);
}
