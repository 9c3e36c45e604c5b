//! `switchboard flow run`: one execution of a flow document, offline. Validates it strictly
//! (errors printed as `flow validate` prints them), runs it with the runtime's driver on a
//! virtual clock, with mocked HTTP and functions, a scripted caller and the local routing
//! stand-in, and prints the trace, the final status and the variables.
//!
//! Exit status: 0 when the task completed (or is left waiting, e.g. queued for an agent),
//! 1 when it failed or the document is invalid, 2 for unreadable input or bad options.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use engine::{Engine, EngineConfig, HttpPolicy, Program, Start, StaticEnv, Status};
use runtime::{
    HttpClient, HttpConfig, LocalRouter, MockFunctions, MockHttp, Performers, ReqwestHttpClient,
    RunOptions, ScriptedCaller, Stop, VirtualClock,
};
use serde_json::{json, Value as Json};
use validate::{Options, Validator};

use super::{load_catalog, Output};

#[derive(clap::Args)]
pub struct RunArgs {
    /// The flow document (JSON).
    pub file: PathBuf,
    /// Start values of flow variables: a JSON object of variable name -> value.
    #[arg(long, value_name = "FILE")]
    pub vars: Option<PathBuf>,
    /// The trigger's data, read as the start node's outputs (`{{NewContact.ANI}}`): a JSON
    /// object, e.g. {"ANI": "+14155550100"}.
    #[arg(long, value_name = "FILE")]
    pub start_data: Option<PathBuf>,
    /// What the caller does, in order: `digits:1,2` (one entry per prompt), `silence`,
    /// `hangup` (at the next prompt, or once the flow waits on nothing else), `hangup:SECS`
    /// (that far into the call).
    #[arg(long, value_name = "SCRIPT")]
    pub caller: Option<String>,
    /// Canned HTTP responses: a JSON list of {method?, url (exact, or a prefix ending in
    /// *), status?, headers?, body?, failure?}; the first match answers.
    #[arg(long, value_name = "FILE")]
    pub mock_http: Option<PathBuf>,
    /// Canned function results: a JSON object of function name (or id) -> {"result": ...}
    /// or {"error": {"kind": "thrown|timeout|memory|notFound", "message": "..."}}.
    #[arg(long, value_name = "FILE")]
    pub mock_function: Option<PathBuf>,
    /// Another flow this one calls (a subflow, a go-to target), by its name or id;
    /// repeat for several. Validated and compiled like the main flow.
    #[arg(long = "flow", value_name = "FILE")]
    pub flows: Vec<PathBuf>,
    /// Business-hours schedules the flow refers to: a JSON schedule or list of schedules
    /// ({name, timezone, workingHours: [{name, days, startTime, endTime}], holidays?,
    /// overrides?}).
    #[arg(long, value_name = "FILE")]
    pub business_hours: Option<PathBuf>,
    /// Send HTTP requests no mock matches to the network (private addresses stay denied;
    /// loopback is allowed). Without it they fail like a refused connection.
    #[arg(long)]
    pub allow_network: bool,
    /// When the call starts (RFC 3339, e.g. 2026-01-15T09:12:00Z); default: now. Business
    /// hours and `{{ now() }}` see this time, and timers advance it.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
    /// Stop firing timers this many seconds into the call (a caller held in a music loop
    /// is left waiting there).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub max_call_time: u32,
    /// Random seed (percent-allocation): the same seed takes the same branches.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output format: the trace as text, or {status, variables, trace} as JSON.
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
    /// A directory of catalog JSON files replacing the built-in activity catalog.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
}

/// Trace lines printed as text before a long trace (a loop) is shortened.
const TRACE_LINES: usize = 400;

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("expected an RFC 3339 time such as 2026-01-15T09:12:00Z: {e}"))
}

fn read_json(path: &Path, what: &str) -> anyhow::Result<Json> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{what} file {} is not valid JSON", path.display()))
}

fn read_object(path: &Path, what: &str) -> anyhow::Result<serde_json::Map<String, Json>> {
    match read_json(path, what)? {
        Json::Object(m) => Ok(m),
        _ => anyhow::bail!("{what} file {} must hold a JSON object", path.display()),
    }
}

/// Everything one offline execution needs besides the flow itself.
pub(crate) struct Simulation {
    pub start: Start,
    pub caller: ScriptedCaller,
    pub functions: MockFunctions,
    pub http: MockHttp,
    /// Other flows (subflows, go-to targets), as JSON documents with where they came from.
    pub flows: Vec<(String, Json)>,
    pub business_hours: Vec<Json>,
    pub now: Option<DateTime<Utc>>,
    pub max_call_time: u32,
}

/// The result of [`simulate`].
pub(crate) struct Simulated {
    pub result: runtime::RunResult,
    pub program: Arc<Program>,
    pub secure: Vec<String>,
    pub started: DateTime<Utc>,
}

/// Run a strictly valid flow once, offline, with mocks and a virtual clock.
pub(crate) fn simulate(
    catalog: &'static catalog::Catalog,
    valid: &validate::ValidFlow,
    sim: Simulation,
) -> anyhow::Result<Simulated> {
    let validator = Validator::new(catalog);
    let secure = runtime::report::secure_variables(valid.flow());
    let program =
        Arc::new(Program::compile(valid, catalog).map_err(|e| anyhow::anyhow!("cannot run: {e}"))?);
    let router = LocalRouter::new();
    // Mocks may answer for any address; the real client (with --allow-network) applies
    // its own address policy.
    let engine = Engine::new(EngineConfig {
        http: HttpPolicy::permissive(),
        ..EngineConfig::default()
    });
    let mut env = StaticEnv::new();
    env.add_program(program.clone());
    for (origin, doc) in &sim.flows {
        let other = validator
            .validate_for_engine(doc, &Options::default())
            .map_err(|report| {
                let errors: Vec<String> = report
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| format!("{} {}: {}", d.path, d.code, d.message))
                    .collect();
                anyhow::anyhow!("{origin} is not a valid flow:\n  {}", errors.join("\n  "))
            })?;
        let other =
            Program::compile(&other, catalog).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        env.add_program(Arc::new(other));
    }
    for item in sim.business_hours {
        let bh: engine::BusinessHours =
            serde_json::from_value(item).context("invalid business hours")?;
        env.add_business_hours(bh);
    }
    let started = sim.now.unwrap_or_else(|| {
        let now = Utc::now();
        now - chrono::Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos()))
    });
    let clock = VirtualClock::new(started);
    let options = RunOptions {
        horizon: Some(chrono::Duration::seconds(i64::from(sim.max_call_time))),
        ..RunOptions::default()
    };
    let performers = Performers {
        functions: &sim.functions,
        http: &sim.http,
        media: &sim.caller,
        router: &router,
        checkpoint: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = rt.block_on(runtime::run_with(
        &engine, &env, &program, sim.start, performers, &clock, &options,
    ))?;
    Ok(Simulated {
        result,
        program,
        secure,
        started,
    })
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog(args.catalog.as_deref())?;
    let name = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {name}"))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let doc: Json = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            eprintln!(
                "{name}:{}:{}: error[INVALID_JSON] {e}",
                e.line(),
                e.column()
            );
            return Ok(ExitCode::from(2));
        }
    };
    let validator = Validator::new(catalog);
    let valid = match validator.validate_for_engine(&doc, &Options::default()) {
        Ok(v) => v,
        Err(report) => {
            let errors: Vec<_> = report
                .diagnostics
                .into_iter()
                .filter(|d| d.is_error())
                .collect();
            match args.output {
                Output::Json => {
                    let body = json!({
                        "file": name,
                        "valid": false,
                        "errors": errors.iter().map(|d| d.to_api()).collect::<Vec<_>>(),
                    });
                    println!("{}", serde_json::to_string_pretty(&body)?);
                }
                Output::Human => {
                    let color = std::env::var_os("NO_COLOR").is_none()
                        && std::io::IsTerminal::is_terminal(&std::io::stdout());
                    print!("{}", crate::render::render(&name, &text, &errors, color));
                    println!("{name}: not run: {} error(s)", errors.len());
                }
            }
            return Ok(ExitCode::from(1));
        }
    };
    let mut start = Start {
        seed: args.seed,
        ..Start::default()
    };
    if let Some(p) = &args.vars {
        start.variables = read_object(p, "--vars")?.into_iter().collect();
    }
    if let Some(p) = &args.start_data {
        start.outputs = read_object(p, "--start-data")?;
    }
    let caller = ScriptedCaller::parse(args.caller.as_deref().unwrap_or(""))?;
    let functions = match &args.mock_function {
        Some(p) => MockFunctions::from_json(&read_json(p, "--mock-function")?)
            .with_context(|| format!("in {}", p.display()))?,
        None => MockFunctions::new(),
    };
    let mut http = match &args.mock_http {
        Some(p) => MockHttp::from_json(&read_json(p, "--mock-http")?)
            .with_context(|| format!("in {}", p.display()))?,
        None => MockHttp::new(),
    };
    if args.allow_network {
        let client: Arc<dyn HttpClient> = Arc::new(ReqwestHttpClient::new(HttpConfig::default())?);
        http = http.with_fallback(client);
    }
    let mut flows = Vec::new();
    for path in &args.flows {
        flows.push((path.display().to_string(), read_json(path, "--flow")?));
    }
    let mut business_hours = Vec::new();
    if let Some(path) = &args.business_hours {
        match read_json(path, "--business-hours")? {
            Json::Array(items) => business_hours.extend(items),
            one => business_hours.push(one),
        }
    }
    let sim = Simulation {
        start,
        caller,
        functions,
        http,
        flows,
        business_hours,
        now: args.now,
        max_call_time: args.max_call_time,
    };
    let Simulated {
        result,
        program,
        secure,
        started,
    } = match simulate(catalog, &valid, sim) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };

    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&runtime::report::to_json(&result, &secure))?
        ),
        Output::Human => {
            println!(
                "{} ({}), started {}",
                program.name(),
                name,
                started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            print!(
                "{}",
                runtime::report::render_limited(&result, &secure, TRACE_LINES)
            );
        }
    }
    let failed = matches!(result.state.status(), Status::Failed { .. })
        || matches!(result.stop, Stop::StepLimit { .. });
    Ok(ExitCode::from(u8::from(failed)))
}
