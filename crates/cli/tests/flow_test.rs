//! `switchboard flow test`: the shipped examples pass, a wrong expectation fails with a
//! readable reason, exit 1 and a JUnit report.

use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn shipped_examples_pass() {
    let (code, out) = run(&["flow", "test", "examples"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("test result: ok. 11 passed; 0 failed"),
        "{out}"
    );
}

#[test]
fn a_wrong_expectation_fails_with_reasons_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::copy(
        root.join("examples/seeds/basic-flow.json"),
        dir.path().join("flow.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("wrong.test.yaml"),
        "flow: flow.json\ncases:\n  - name: expects a failure\n    expect: {status: failed, path: [NewContact]}\n  - name: right\n    expect: {status: completed}\n",
    )
    .unwrap();
    let junit = dir.path().join("junit.xml");
    let (code, out) = run(&[
        "flow",
        "test",
        dir.path().to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("status: expected failed, got completed"),
        "{out}"
    );
    assert!(
        out.contains(
            "path: expected NewContact, got NewContact -> WelcomeMessage -> DisconnectContact"
        ),
        "{out}"
    );
    assert!(out.contains("1 passed; 1 failed"), "{out}");
    let xml = std::fs::read_to_string(junit).unwrap();
    assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
}
