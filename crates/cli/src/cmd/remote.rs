//! `switchboard remote ...`: client commands against any server that speaks the public Flow
//! Orchestration API (a switchboard, or the cloud). They use only documented endpoints.
//!
//! Connection: `--server URL --token T --org ORG` (or `SWITCHBOARD_URL`, `SWITCHBOARD_TOKEN`,
//! `SWITCHBOARD_ORG`); when none is given and `./switchboard-data` holds a local server's
//! credentials, those are used.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use super::Output;

const PROJECT: &str = "5e5c9ad6d61f870d6d778c1b";

#[derive(clap::Args, Clone)]
pub struct Conn {
    /// Base URL of the server [env SWITCHBOARD_URL]
    #[arg(long, global = true)]
    server: Option<String>,
    /// Bearer token [env SWITCHBOARD_TOKEN]
    #[arg(long, global = true)]
    token: Option<String>,
    /// Organization id [env SWITCHBOARD_ORG]
    #[arg(long, global = true)]
    org: Option<String>,
    /// Data dir of a local server, used when no server/token/org is given.
    #[arg(long, global = true, default_value = "switchboard-data")]
    data_dir: PathBuf,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t)]
    output: Output,
}

#[derive(clap::Args)]
pub struct RemoteArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    cmd: RemoteCommand,
}

#[derive(clap::Subcommand)]
pub enum RemoteCommand {
    /// POST flows:validate for each file (--strict answers what import would).
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        strict: bool,
    },
    /// Import flow documents as drafts; a directory imports every *.json in it, with a
    /// progress bar and a summary.
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Replace the draft of a flow with the same name.
        #[arg(long)]
        overwrite: bool,
        /// FLOW or SUBFLOW.
        #[arg(long)]
        flow_type: Option<String>,
    },
    /// List flows.
    List {
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        flow_type: Option<String>,
        #[arg(long, default_value_t = 0)]
        page: u64,
        #[arg(long, default_value_t = 100)]
        size: u64,
    },
    /// Print a flow's draft document.
    Get { id: String },
    /// Export a version (latest, draft or a number) to stdout or a file.
    Export {
        id: String,
        /// latest, draft or a version number (`--version` is the program's own).
        #[arg(long = "flow-version", default_value = "latest")]
        flow_version: String,
        #[arg(short = 'o', long)]
        out: Option<PathBuf>,
    },
    /// Apply a PATCH body (upsert_nodes, upsert_edges, remove_node_names, remove_edge_keys).
    Patch {
        id: String,
        file: PathBuf,
        #[arg(long)]
        expected_version: Option<i64>,
    },
    /// Start an execution of a published flow (or `--flow-version draft`), with start
    /// variables from a JSON file; prints its id (an extension of the API).
    Execute {
        flow_id: String,
        #[arg(long = "flow-version", default_value = "latest")]
        flow_version: String,
        /// Start values of flow variables (a JSON object).
        #[arg(long, value_name = "FILE")]
        vars: Option<PathBuf>,
    },
    /// Show an execution: status, what it waits for, variables (secure ones masked).
    Execution { id: String },
    /// Print an execution's trace: one line per activity with its port, timing and error.
    Trace { id: String },
    /// Publish the draft as a new version.
    Publish {
        id: String,
        #[arg(long)]
        comment: Option<String>,
        /// Dev, Test, Latest or Live (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    org: String,
    output: Output,
}

impl Client {
    fn new(c: &Conn) -> anyhow::Result<Self> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let local = read_local(&c.data_dir);
        let base = c
            .server
            .clone()
            .or_else(|| env("SWITCHBOARD_URL"))
            .or_else(|| local.as_ref().map(|l| l.0.clone()))
            .context("no server: pass --server URL or set SWITCHBOARD_URL")?;
        let token = c
            .token
            .clone()
            .or_else(|| env("SWITCHBOARD_TOKEN"))
            .or_else(|| local.as_ref().map(|l| l.2.clone()))
            .context("no token: pass --token T or set SWITCHBOARD_TOKEN")?;
        let org = c
            .org
            .clone()
            .or_else(|| env("SWITCHBOARD_ORG"))
            .or_else(|| local.as_ref().map(|l| l.1.clone()))
            .context("no organization: pass --org ORG or set SWITCHBOARD_ORG")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            org,
            output: c.output,
        })
    }

    fn url_v1(&self, rest: &str) -> String {
        format!("{}/v1/{}/{rest}", self.base, self.org)
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/{}/project/{PROJECT}/v2/{rest}", self.base, self.org)
    }

    /// Send, and turn an error envelope into a readable error.
    async fn call(&self, rb: reqwest::RequestBuilder) -> anyhow::Result<(u16, Value)> {
        let resp = rb
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, body))
    }
}

fn read_local(dir: &Path) -> Option<(String, String, String)> {
    let creds: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("credentials.json")).ok()?).ok()?;
    let base = std::fs::read_to_string(dir.join("base-url")).ok()?;
    Some((
        base.trim().to_string(),
        creds["orgId"].as_str()?.to_string(),
        creds["token"].as_str()?.to_string(),
    ))
}

fn describe_error(status: u16, body: &Value) -> String {
    if let Some(msgs) = body.pointer("/error/message").and_then(Value::as_array) {
        let d: Vec<&str> = msgs
            .iter()
            .filter_map(|m| m["description"].as_str())
            .collect();
        return format!("HTTP {status}: {}", d.join("; "));
    }
    if let Some(errors) = body.get("errors").and_then(Value::as_array) {
        let d: Vec<String> = errors
            .iter()
            .map(|e| {
                format!(
                    "{} {}: {}",
                    e["path"].as_str().unwrap_or(""),
                    e["code"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                )
            })
            .collect();
        return format!("HTTP {status}: invalid flow:\n  {}", d.join("\n  "));
    }
    format!("HTTP {status}: {body}")
}

fn read_json(p: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", p.display()))
}

pub fn run(args: RemoteArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.conn)?;
    tokio::runtime::Runtime::new()?.block_on(dispatch(&client, args.cmd))
}

fn print(c: &Client, v: &Value, human: impl FnOnce()) -> anyhow::Result<()> {
    match c.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(v)?),
        Output::Human => human(),
    }
    Ok(())
}

/// One response: print it, or the error, and map to an exit code.
fn finish(c: &Client, status: u16, body: &Value, human: impl FnOnce()) -> anyhow::Result<ExitCode> {
    if (200..300).contains(&status) {
        print(c, body, human)?;
        Ok(ExitCode::SUCCESS)
    } else {
        match c.output {
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(&json!({"status": status, "body": body}))?
            ),
            Output::Human => eprintln!("error: {}", describe_error(status, body)),
        }
        Ok(ExitCode::from(1))
    }
}

async fn dispatch(c: &Client, cmd: RemoteCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RemoteCommand::Validate { files, strict } => {
            let mut worst = 0u8;
            let mut all = Vec::new();
            for f in files {
                let doc = read_json(&f)?;
                let (status, body) = c
                    .call(
                        c.http
                            .post(c.url(&format!("flows:validate?strict={strict}")))
                            .json(&doc),
                    )
                    .await?;
                if status != 200 {
                    eprintln!("{}: error: {}", f.display(), describe_error(status, &body));
                    worst = worst.max(1);
                    continue;
                }
                let valid = body["valid"].as_bool().unwrap_or(false);
                if !valid {
                    worst = worst.max(1);
                }
                if c.output == Output::Human {
                    if valid {
                        println!("{}: valid", f.display());
                    } else {
                        for e in body["errors"].as_array().into_iter().flatten() {
                            println!(
                                "{}: error[{}] {} (at {})",
                                f.display(),
                                e["code"].as_str().unwrap_or(""),
                                e["message"].as_str().unwrap_or(""),
                                e["path"].as_str().unwrap_or("")
                            );
                        }
                    }
                }
                all.push(json!({"file": f.display().to_string(), "valid": valid, "errors": body["errors"]}));
            }
            if c.output == Output::Json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            }
            Ok(ExitCode::from(worst))
        }
        RemoteCommand::Import {
            paths,
            overwrite,
            flow_type,
        } => {
            let mut files = Vec::new();
            for p in paths {
                if p.is_dir() {
                    let mut found: Vec<PathBuf> = std::fs::read_dir(&p)
                        .with_context(|| format!("cannot read {}", p.display()))?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| f.extension().is_some_and(|x| x == "json"))
                        .collect();
                    found.sort();
                    files.extend(found);
                } else {
                    files.push(p);
                }
            }
            if files.is_empty() {
                bail!("no flow documents (*.json) to import");
            }
            let bar = indicatif::ProgressBar::new(files.len() as u64);
            if c.output == Output::Human && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                bar.set_style(indicatif::ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} {msg}",
                )?);
            } else {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let mut query = format!("flows:import?overwrite={overwrite}");
            if let Some(ft) = &flow_type {
                query.push_str(&format!("&flowType={ft}"));
            }
            let mut results = Vec::new();
            let (mut ok, mut failed) = (0, 0);
            for f in &files {
                bar.set_message(f.display().to_string());
                let outcome = match read_json(f) {
                    Err(e) => {
                        json!({"file": f.display().to_string(), "ok": false, "error": format!("{e:#}")})
                    }
                    Ok(doc) => {
                        let (status, body) = c.call(c.http.post(c.url(&query)).json(&doc)).await?;
                        if status == 201 {
                            json!({"file": f.display().to_string(), "ok": true, "id": body["flow"]["id"], "name": body["flow"]["name"], "version": body["flow"]["version"], "warnings": body["preflightWarningsCount"]})
                        } else {
                            json!({"file": f.display().to_string(), "ok": false, "status": status, "error": describe_error(status, &body)})
                        }
                    }
                };
                if outcome["ok"] == true {
                    ok += 1
                } else {
                    failed += 1
                }
                results.push(outcome);
                bar.inc(1);
            }
            bar.finish_and_clear();
            match c.output {
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"imported": ok, "failed": failed, "results": results})
                    )?
                ),
                Output::Human => {
                    for r in &results {
                        if r["ok"] == true {
                            println!(
                                "imported {} -> {} ({}, {} warnings)",
                                r["file"].as_str().unwrap_or(""),
                                r["id"].as_str().unwrap_or(""),
                                r["name"].as_str().unwrap_or(""),
                                r["warnings"]
                            );
                        } else {
                            println!(
                                "FAILED   {}: {}",
                                r["file"].as_str().unwrap_or(""),
                                r["error"].as_str().unwrap_or("")
                            );
                        }
                    }
                    println!("{ok} imported, {failed} failed");
                }
            }
            Ok(if failed > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        RemoteCommand::List {
            name,
            flow_type,
            page,
            size,
        } => {
            let mut q = vec![("page", page.to_string()), ("size", size.to_string())];
            if let Some(n) = name {
                q.push(("name", n));
            }
            if let Some(t) = flow_type {
                q.push(("flowType", t));
            }
            let (status, body) = c.call(c.http.get(c.url("flows")).query(&q)).await?;
            finish(c, status, &body, || {
                for f in body["data"].as_array().into_iter().flatten() {
                    println!(
                        "{}  {:<9} {:<10} v{:<4} {}",
                        f["id"].as_str().unwrap_or(""),
                        f["status"].as_str().unwrap_or(""),
                        f["flowType"].as_str().unwrap_or(""),
                        f["version"],
                        f["name"].as_str().unwrap_or("")
                    );
                }
                println!(
                    "{} of {} flows",
                    body["data"].as_array().map_or(0, Vec::len),
                    body["totalRecords"]
                );
            })
        }
        RemoteCommand::Get { id } => {
            let (status, body) = c.call(c.http.get(c.url(&format!("flows/{id}")))).await?;
            finish(c, status, &body, || {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&body).unwrap_or_default()
                )
            })
        }
        RemoteCommand::Export {
            id,
            flow_version,
            out,
        } => {
            let (status, body) = c
                .call(
                    c.http
                        .get(c.url(&format!("flows/{id}:export")))
                        .query(&[("version", flow_version)]),
                )
                .await?;
            if let (Some(path), true) = (&out, (200..300).contains(&status)) {
                std::fs::write(path, serde_json::to_string_pretty(&body)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!("exported {id} to {}", path.display());
                return Ok(ExitCode::SUCCESS);
            }
            finish(c, status, &body, || {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&body).unwrap_or_default()
                )
            })
        }
        RemoteCommand::Patch {
            id,
            file,
            expected_version,
        } => {
            let patch = read_json(&file)?;
            let mut rb = c.http.patch(c.url(&format!("flows/{id}"))).json(&patch);
            if let Some(v) = expected_version {
                rb = rb.query(&[("expectedVersion", v)]);
            }
            let (status, body) = c.call(rb).await?;
            finish(c, status, &body, || {
                println!("patched {id}: now version {}", body["flow"]["version"])
            })
        }
        RemoteCommand::Execute {
            flow_id,
            flow_version,
            vars,
        } => {
            let variables = match &vars {
                Some(p) => read_json(p)?,
                None => json!({}),
            };
            let version: Value = flow_version
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(flow_version));
            let body = json!({"flowId": flow_id, "version": version, "variables": variables});
            let (status, body) = c
                .call(c.http.post(c.url_v1("executions")).json(&body))
                .await?;
            finish(c, status, &body, || {
                println!(
                    "{} {} (flow {} version {})",
                    body["id"].as_str().unwrap_or(""),
                    body["status"].as_str().unwrap_or(""),
                    body["flowId"].as_str().unwrap_or(""),
                    body["flowVersion"]
                );
            })
        }
        RemoteCommand::Execution { id } => {
            let (status, body) = c
                .call(c.http.get(c.url_v1(&format!("executions/{id}"))))
                .await?;
            finish(c, status, &body, || {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&body).unwrap_or_default()
                )
            })
        }
        RemoteCommand::Trace { id } => {
            let (status, body) = c
                .call(c.http.get(c.url_v1(&format!("executions/{id}/trace"))))
                .await?;
            finish(c, status, &body, || {
                println!(
                    "execution {id}: {} (flow {} version {})",
                    body["status"].as_str().unwrap_or(""),
                    body["flowId"].as_str().unwrap_or(""),
                    body["flowVersion"]
                );
                for r in body["records"].as_array().into_iter().flatten() {
                    let port = r["port"]
                        .as_str()
                        .map(|p| format!(" -> {p}"))
                        .unwrap_or_default();
                    let next = r["next"]
                        .as_str()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default();
                    let err = r["error"]
                        .get("code")
                        .and_then(Value::as_str)
                        .map(|c| {
                            format!("  !! {c}: {}", r["error"]["message"].as_str().unwrap_or(""))
                        })
                        .unwrap_or_default();
                    println!(
                        "{:>4}  {}  {:<20} {:<18} {:>5} ms{port}{next}{err}",
                        r["seq"],
                        r["startedAt"].as_str().unwrap_or(""),
                        r["node"].as_str().unwrap_or(""),
                        r["activity"].as_str().unwrap_or(""),
                        r["durationMs"]
                    );
                }
            })
        }
        RemoteCommand::Publish { id, comment, tags } => {
            let (status, body) = c
                .call(
                    c.http
                        .post(c.url(&format!("flows/{id}:publish")))
                        .json(&json!({"comment": comment, "tags": tags})),
                )
                .await?;
            finish(c, status, &body, || {
                println!(
                    "published {id} as version {}",
                    body["publishedVersion"]["version"]
                )
            })
        }
    }
}
