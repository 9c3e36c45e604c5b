//! `switchboard flow ...`: offline validation and linting of flow documents.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use validate::{Mode, Options, StaticChoices, Suppressions, Validator};

use super::{load_catalog, Output};

#[derive(clap::Subcommand)]
pub enum FlowCommand {
    /// Check flow documents the way the server's `flows:validate` does (or `:import` with
    /// --strict). Prints errors only; exit 0 when every file is valid, 1 otherwise.
    ///
    /// Example: switchboard flow validate flows/*.json --strict --choices choices.json
    Validate(CheckArgs),
    /// Validate and also report warnings (unreachable nodes, unconnected ports, unused
    /// variables...). Suppress one rule for one node with `"x-switchboard-allow": ["CODE"]`
    /// on the node, or in a config file passed with --config:
    ///
    ///   [[lint.allow]]
    ///   code = "UNREACHABLE_NODE"
    ///   node = "LegacyBranch"
    Lint(LintArgs),
    /// Run a flow offline and print its trace: validated strictly, then executed with a
    /// virtual clock, mocked HTTP and functions, and a scripted caller. Exit 0 when the
    /// task completed (or waits, e.g. queued), 1 when it failed or the flow is invalid.
    ///
    /// Example: switchboard flow run ivr.json --caller "digits:1 hangup" --mock-http http.json
    Run(super::run::RunArgs),
    /// Run flow test cases kept beside flows (`*.test.yaml|yml|json`): start variables,
    /// scripted caller input, mocked HTTP and function responses, injected faults, and
    /// expectations on the path, variables, status, error and emitted events. Offline and
    /// deterministic; `--junit FILE` for CI; exit 1 when a case fails.
    ///
    /// Example: switchboard flow test examples/ --junit target/flow-tests.xml
    Test(super::test::TestArgs),
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Flow documents (JSON).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Apply the rules of `flows:import` (exactly one start node, ...).
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
    /// A JSON file of known values per choices kind, e.g. {"queue": ["Sales"]}; inputs of
    /// those kinds are then checked (UNKNOWN_QUEUE, ...).
    #[arg(long, value_name = "FILE")]
    pub choices: Option<PathBuf>,
    /// A directory of catalog JSON files replacing the built-in activity catalog.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// Exit 1 when there are warnings, not only errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// A TOML file with `[[lint.allow]]` entries ({code, node}).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(cmd: FlowCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        FlowCommand::Validate(args) => check(&args, false, false, &Suppressions::empty()),
        FlowCommand::Lint(args) => {
            let sup = match &args.config {
                Some(p) => load_suppressions(p)?,
                None => Suppressions::empty(),
            };
            check(&args.check, true, args.deny_warnings, &sup)
        }
        FlowCommand::Run(args) => super::run::run(args),
        FlowCommand::Test(args) => super::test::run(args),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LintConfig {
    #[serde(default)]
    lint: Suppressions,
}

fn load_suppressions(path: &Path) -> anyhow::Result<Suppressions> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let cfg: LintConfig =
        toml::from_str(&text).with_context(|| format!("invalid lint config {}", path.display()))?;
    Ok(cfg.lint)
}

fn load_choices(path: &Path) -> anyhow::Result<StaticChoices> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    StaticChoices::from_json(&v).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn check(
    args: &CheckArgs,
    warnings: bool,
    deny_warnings: bool,
    suppressions: &Suppressions,
) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog(args.catalog.as_deref())?;
    let choices = match &args.choices {
        Some(p) => Some(load_choices(p)?),
        None => None,
    };
    let validator = Validator::new(catalog);
    let opts = Options {
        mode: if args.strict {
            Mode::Strict
        } else {
            Mode::Lenient
        },
        resolver: match &choices {
            Some(c) => c,
            None => &validate::NoChoices,
        },
        suppressions,
    };
    let color = std::env::var_os("NO_COLOR").is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut worst = 0u8;
    let mut json_out = Vec::new();
    let (mut n_err, mut n_warn) = (0usize, 0usize);
    for file in &args.files {
        let name = file.display().to_string();
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: cannot read {name}: {e}");
                worst = worst.max(2);
                continue;
            }
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut diags = match validator.validate_bytes(&bytes, &opts) {
            Ok(report) => report.diagnostics,
            Err(flow::ParseError::Syntax {
                line,
                column,
                message,
            }) => {
                // Malformed JSON is unreadable input: report where, and exit 2.
                if args.output == Output::Json {
                    json_out.push(json!({"file": name, "valid": false, "errors": [
                        {"path": "", "code": "INVALID_JSON", "message": format!("{message} at line {line}, column {column}")}
                    ]}));
                } else {
                    eprintln!("{name}:{line}:{column}: error[INVALID_JSON] {message}");
                }
                worst = worst.max(2);
                continue;
            }
            Err(e) => vec![validate::Diagnostic::error(
                "",
                "INVALID_DOCUMENT",
                e.to_string(),
            )],
        };
        if !warnings {
            diags.retain(|d| d.is_error());
        }
        let errors = diags.iter().filter(|d| d.is_error()).count();
        let warns = diags.len() - errors;
        n_err += errors;
        n_warn += warns;
        if errors > 0 || (deny_warnings && warns > 0) {
            worst = worst.max(1);
        }
        match args.output {
            Output::Json => {
                let mut obj = json!({
                    "file": name,
                    "valid": errors == 0,
                    "errors": diags.iter().filter(|d| d.is_error()).map(|d| d.to_api()).collect::<Vec<_>>(),
                });
                if warnings {
                    obj["warnings"] = diags
                        .iter()
                        .filter(|d| !d.is_error())
                        .map(|d| d.to_api())
                        .collect();
                }
                json_out.push(obj);
            }
            Output::Human => {
                print!("{}", crate::render::render(&name, &text, &diags, color));
            }
        }
    }
    match args.output {
        Output::Json => {
            let v = if json_out.len() == 1 {
                json_out.remove(0)
            } else {
                serde_json::Value::Array(json_out)
            };
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Output::Human => {
            let files = args.files.len();
            let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
            if warnings {
                println!(
                    "{}: {}, {}",
                    plural(files, "file"),
                    plural(n_err, "error"),
                    plural(n_warn, "warning")
                );
            } else {
                println!("{}: {}", plural(files, "file"), plural(n_err, "error"));
            }
        }
    }
    Ok(ExitCode::from(worst))
}
