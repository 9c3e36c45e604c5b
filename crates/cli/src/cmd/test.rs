//! `switchboard flow test`: flow test cases kept beside flows, run offline and
//! deterministically, reported like a test runner (and as JUnit XML for CI).
//!
//! A test file (`*.test.yaml`, `*.test.yml` or `*.test.json`) names a flow and lists cases:
//!
//! ```yaml
//! flow: ivr.json                 # relative to this file
//! flows: [shared/lookup.json]    # subflows and go-to targets (optional)
//! cases:
//!   - name: caller presses 1
//!     now: 2026-01-15T10:00:00Z  # the virtual clock's start (default: a fixed instant)
//!     variables: {tries: 0}      # start values of flow variables
//!     startData: {ANI: "+14155550100"}
//!     caller: "digits:1 hangup"
//!     mockHttp: [{url: "https://crm.example.com/*", status: 200, body: {tier: gold}}]
//!     mockFunctions: {parseContact: {result: {areaCode: "415"}}}
//!     faults: [{node: Lookup, code: BOOM}]   # inject a failure at a node
//!     expect:
//!       status: completed        # completed | failed | waiting
//!       path: [NewContact, Menu, Queue]      # main-flow nodes in order (exact)
//!       visits: [ErrorHandler]   # nodes that must appear somewhere in the trace
//!       variables: {choice: "1"} # subset of the final variables
//!       error: BOOM              # the failure's code, for failed tasks
//!       events: [CustomerTagged] # names of emitted events, in order
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use engine::{Command, Fault, Start};
use runtime::{MockFunctions, MockHttp, ScriptedCaller};
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use validate::{Options, Validator};

use super::load_catalog;
use super::run::{simulate, Simulation};

#[derive(clap::Args)]
pub struct TestArgs {
    /// Test files, or directories searched for `*.test.{yaml,yml,json}`.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Also write a JUnit XML report here (for CI).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Only run cases whose name contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// A directory of catalog JSON files overriding the built-in catalog.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TestFile {
    flow: PathBuf,
    #[serde(default)]
    flows: Vec<PathBuf>,
    #[serde(default)]
    business_hours: Vec<Json>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Case {
    name: String,
    now: Option<DateTime<Utc>>,
    #[serde(default)]
    variables: Map<String, Json>,
    #[serde(default)]
    start_data: Map<String, Json>,
    #[serde(default)]
    caller: String,
    mock_http: Option<Json>,
    mock_functions: Option<Json>,
    #[serde(default)]
    faults: Vec<FaultSpec>,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    node: String,
    #[serde(default = "default_fault_code")]
    code: String,
    #[serde(default)]
    message: String,
}

fn default_fault_code() -> String {
    "INJECTED_FAULT".into()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: Option<String>,
    path: Option<Vec<String>>,
    #[serde(default)]
    visits: Vec<String>,
    variables: Option<Map<String, Json>>,
    error: Option<String>,
    events: Option<Vec<String>>,
}

/// A fixed default instant keeps runs deterministic when a case sets no `now`.
const DEFAULT_NOW: &str = "2026-01-15T09:00:00Z";

struct Outcome {
    file: String,
    case: String,
    failures: Vec<String>,
    seconds: f64,
}

fn find(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                find(&e, out)?;
            } else if is_test_file(&e) {
                out.push(e);
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn is_test_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    [".test.yaml", ".test.yml", ".test.json"]
        .iter()
        .any(|s| name.ends_with(s))
}

fn read_doc(p: &Path) -> anyhow::Result<Json> {
    let text =
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", p.display()))
}

pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog(args.catalog.as_deref())?;
    let validator = Validator::new(catalog);
    let mut files = Vec::new();
    for p in &args.paths {
        find(p, &mut files)?;
    }
    if files.is_empty() {
        eprintln!("error: no test files (*.test.yaml, *.test.yml, *.test.json) found");
        return Ok(ExitCode::from(2));
    }
    let mut outcomes = Vec::new();
    let mut broken = false;
    for file in &files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
        let spec: TestFile = if name.ends_with(".json") {
            serde_json::from_str(&text).map_err(anyhow::Error::from)
        } else {
            serde_yaml::from_str(&text).map_err(anyhow::Error::from)
        }
        .with_context(|| format!("{name} is not a valid test file"))?;
        let dir = file.parent().unwrap_or(Path::new("."));
        let flow_path = dir.join(&spec.flow);
        let doc = read_doc(&flow_path)?;
        let valid = match validator.validate_for_engine(&doc, &Options::default()) {
            Ok(v) => v,
            Err(report) => {
                broken = true;
                for d in report.errors() {
                    eprintln!(
                        "{}: error[{}] {} (at {})",
                        flow_path.display(),
                        d.code,
                        d.message,
                        d.path
                    );
                }
                outcomes.push(Outcome {
                    file: name.clone(),
                    case: "(flow is invalid)".into(),
                    failures: vec!["the flow does not validate".into()],
                    seconds: 0.0,
                });
                continue;
            }
        };
        let mut others = Vec::new();
        for f in &spec.flows {
            let p = dir.join(f);
            others.push((p.display().to_string(), read_doc(&p)?));
        }
        for case in spec.cases {
            if args
                .filter
                .as_ref()
                .is_some_and(|f| !case.name.contains(f.as_str()))
            {
                continue;
            }
            let started = Instant::now();
            let failures = run_case(catalog, &valid, &others, &spec.business_hours, &case)
                .unwrap_or_else(|e| vec![format!("could not run: {e:#}")]);
            let secs = started.elapsed().as_secs_f64();
            println!(
                "test {name} :: {} ... {}",
                case.name,
                if failures.is_empty() { "ok" } else { "FAILED" }
            );
            outcomes.push(Outcome {
                file: name.clone(),
                case: case.name,
                failures,
                seconds: secs,
            });
        }
    }
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.failures.is_empty()).collect();
    if !failed.is_empty() {
        println!("\nfailures:");
        for o in &failed {
            println!("\n---- {} :: {} ----", o.file, o.case);
            for f in &o.failures {
                println!("  {f}");
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        outcomes.len() - failed.len(),
        failed.len()
    );
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&outcomes))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(if failed.is_empty() && !broken {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn run_case(
    catalog: &'static catalog::Catalog,
    valid: &validate::ValidFlow,
    others: &[(String, Json)],
    business_hours: &[Json],
    case: &Case,
) -> anyhow::Result<Vec<String>> {
    let start = Start {
        variables: case.variables.clone().into_iter().collect(),
        outputs: case.start_data.clone(),
        seed: case.seed,
        faults: case
            .faults
            .iter()
            .map(|f| Fault {
                node: f.node.clone(),
                code: f.code.clone(),
                message: f.message.clone(),
            })
            .collect(),
        ..Start::default()
    };
    let sim = Simulation {
        start,
        caller: ScriptedCaller::parse(&case.caller)?,
        functions: match &case.mock_functions {
            Some(m) => MockFunctions::from_json(m)?,
            None => MockFunctions::new(),
        },
        http: match &case.mock_http {
            Some(m) => MockHttp::from_json(m)?,
            None => MockHttp::new(),
        },
        flows: others.to_vec(),
        business_hours: business_hours.to_vec(),
        now: Some(
            case.now
                .unwrap_or_else(|| DEFAULT_NOW.parse().expect("valid constant")),
        ),
        max_call_time: 3600,
    };
    let done = simulate(catalog, valid, sim)?;
    let report = runtime::report::to_json(&done.result, &done.secure);
    let mut failures = Vec::new();
    let e = &case.expect;
    if let Some(want) = &e.status {
        let got = report["status"].as_str().unwrap_or_default();
        if got != want {
            let why = report
                .get("error")
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            failures.push(format!("status: expected {want}, got {got}{why}"));
        }
    }
    let main_path: Vec<&str> = done
        .result
        .trace
        .iter()
        .filter(|t| t.thread == 0 && t.depth == 0 && matches!(t.phase, engine::Phase::Completed))
        .map(|t| &*t.node)
        .collect();
    if let Some(want) = &e.path {
        if main_path != want.iter().map(String::as_str).collect::<Vec<_>>() {
            failures.push(format!(
                "path: expected {}, got {}",
                want.join(" -> "),
                main_path.join(" -> ")
            ));
        }
    }
    for v in &e.visits {
        if !done.result.trace.iter().any(|t| &*t.node == v.as_str()) {
            failures.push(format!("visits: node {v} never ran"));
        }
    }
    if let Some(want) = &e.variables {
        for (k, v) in want {
            match report["variables"].get(k) {
                Some(got) if got == v || got.as_str().is_some_and(|s| Some(s) == v.as_str()) => {}
                Some(got) => failures.push(format!("variable {k}: expected {v}, got {got}")),
                None => failures.push(format!("variable {k}: not a variable of this flow")),
            }
        }
    }
    if let Some(want) = &e.error {
        let got = report["error"]["code"].as_str().unwrap_or_default();
        if got != want {
            failures.push(format!(
                "error: expected {want}, got {}",
                if got.is_empty() { "none" } else { got }
            ));
        }
    }
    if let Some(want) = &e.events {
        let got: Vec<&str> = done
            .result
            .commands
            .iter()
            .filter_map(|c| match c {
                Command::EmitEvent { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        if got != want.iter().map(String::as_str).collect::<Vec<_>>() {
            failures.push(format!("events: expected {want:?}, got {got:?}"));
        }
    }
    Ok(failures)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn junit(outcomes: &[Outcome]) -> String {
    let failures = outcomes.iter().filter(|o| !o.failures.is_empty()).count();
    let total: f64 = outcomes.iter().map(|o| o.seconds).sum();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"switchboard flow test\" tests=\"{}\" failures=\"{failures}\" time=\"{total:.3}\">\n",
        outcomes.len()
    );
    for o in outcomes {
        out.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(&o.file),
            xml_escape(&o.case),
            o.seconds
        ));
        if o.failures.is_empty() {
            out.push_str("/>\n");
        } else {
            out.push_str(&format!(
                ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>\n",
                xml_escape(&o.failures[0]),
                xml_escape(&o.failures.join("\n"))
            ));
        }
    }
    out.push_str("</testsuite>\n");
    out
}
