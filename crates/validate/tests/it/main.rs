//! Validator golden tests: every document under `test_data/ok` is valid in both modes, every
//! document under `test_data/err` produces the code its file name names, and each file's
//! rendered diagnostics (lenient and strict) match `<name>.expect` beside it. A missing
//! expectation is written on first run; `UPDATE_EXPECT=1` rewrites them all.

extern crate switchboard_validate as validate;

mod fixtures;
mod mutations;
mod properties;

use std::path::{Path, PathBuf};

use catalog::{Catalog, ChoicesKind};
use validate::{Mode, Options, Report, StaticChoices, Validator};

pub fn choices() -> StaticChoices {
    let mut c = StaticChoices::new();
    c.insert(ChoicesKind::Queue, "Default Queue")
        .insert(ChoicesKind::AudioFile, "welcome.wav")
        .insert(ChoicesKind::BusinessHours, "Default Business Hours")
        .insert(ChoicesKind::Flow, "Shared Flow");
    c
}

pub fn check(doc: &serde_json::Value, mode: Mode) -> Report {
    let choices = choices();
    let v = Validator::new(Catalog::builtin());
    let opts = Options {
        mode,
        resolver: &choices,
        ..Options::default()
    };
    v.validate_value(doc, &opts).1
}

pub fn render(r: &Report) -> String {
    r.diagnostics
        .iter()
        .map(|d| {
            let sev = if d.is_error() { "error" } else { "warning" };
            format!("{sev} {} {}: {}", d.path, d.code, d.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data")
}

pub fn documents(sub: &str) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(data_dir().join(sub)).expect("test_data dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let doc = serde_json::from_str(&text).expect("fixture is JSON");
        out.push((
            path.file_stem().unwrap().to_string_lossy().into_owned(),
            doc,
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Compare `actual` with the expectation file, writing it when missing or asked to.
pub fn expect_file(path: &Path, actual: &str) {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    match std::fs::read_to_string(path) {
        Ok(expected) if !update => assert_eq!(
            expected.trim_end(),
            actual.trim_end(),
            "{} is stale; run with UPDATE_EXPECT=1 to refresh it",
            path.display()
        ),
        _ => std::fs::write(path, format!("{}\n", actual.trim_end())).expect("write expectation"),
    }
}

/// A node's properties naming `activityName` twice: the last one counts, as for every
/// repeated key (serde_json's reading, so the typed model's and import's).
#[test]
fn a_repeated_activity_name_reads_the_last_one() {
    let doc = |first: &str, last: &str| {
        format!(
            r#"{{"name": "Repeated", "nodes": [
              {{"id": "n1", "name": "Start", "activityType": "start", "properties": {{"activityName": "start",
                "flowType": {{"eventSourceName": "WebexContactCenter", "eventClassificationName": "VoiceInteractions", "eventSpecificationName": "ContactStartWorkflow"}}}}}},
              {{"id": "n2", "name": "End", "activityType": "end", "properties": {{"activityName": "{first}",
                "activityName": "{last}"}}}}],
             "edges": [{{"id": "e1", "from": "Start", "to": "End", "condition": "out"}}]}}"#
        )
    };
    let v = Validator::new(Catalog::builtin());
    let opts = Options::default();
    let codes = |text: String| -> Vec<String> {
        let r = v.validate_bytes(text.as_bytes(), &opts).expect("JSON");
        r.diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code.clone())
            .collect()
    };
    assert_eq!(
        codes(doc("no-such-activity", "disconnect-contact")),
        Vec::<String>::new()
    );
    assert!(codes(doc("disconnect-contact", "no-such-activity"))
        .contains(&"UNKNOWN_ACTIVITY".to_string()));
}
