//! Codebase hygiene as an ordinary test (rust-analyzer's tidy): the pure cores pull in no
//! I/O stack, every module says what it owns, no `dbg!` is left behind, and ARCHITECTURE.md
//! names every crate.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const PURE: &[&str] = &[
    "switchboard-flow",
    "switchboard-catalog",
    "switchboard-validate",
    "switchboard-engine",
];
const FORBIDDEN: &[&str] = &["tokio", "sqlx", "axum", "reqwest", "hyper"];

#[test]
fn pure_crates_pull_in_no_io_stack() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    // Normal (non-dev, non-build) dependency edges of the resolved graph.
    let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let id = node["id"].as_str().unwrap();
        for dep in node["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            if normal {
                edges
                    .entry(id)
                    .or_default()
                    .push(dep["pkg"].as_str().unwrap());
            }
        }
    }
    let mut checked = 0;
    for (id, name) in &names {
        if !PURE.contains(name) {
            continue;
        }
        checked += 1;
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack = vec![*id];
        while let Some(cur) = stack.pop() {
            if !seen.insert(cur) {
                continue;
            }
            let dep_name = names[cur];
            assert!(
                !FORBIDDEN.contains(&dep_name),
                "{name} depends (transitively) on {dep_name}; the pure cores must do no I/O"
            );
            stack.extend(edges.get(cur).into_iter().flatten());
        }
    }
    assert!(
        checked >= 3,
        "pure crates found in the workspace: {checked}"
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_module_has_docs_and_no_dbg() {
    let mut files = Vec::new();
    for e in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        rust_files(&e.path().join("src"), &mut files);
    }
    assert!(files.len() > 20);
    let mut problems = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default();
        if !first.starts_with("//!") {
            problems.push(format!(
                "{}: module has no //! doc saying what it owns",
                f.display()
            ));
        }
        if text.contains(&format!("{}!(", "dbg")) {
            problems.push(format!("{}: leftover dbg!", f.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn architecture_names_every_crate() {
    let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for e in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        let dir = e.file_name().to_string_lossy().into_owned();
        assert!(
            arch.contains(&format!("crates/{dir}")),
            "ARCHITECTURE.md does not describe crates/{dir}"
        );
    }
}
