//! `switchboard serve`: resolve settings, open the store, create the default organization
//! and admin token on first start, and serve the API until SIGINT/SIGTERM.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::config::{ServerFlags, Settings};

/// Options of `switchboard serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub flags: ServerFlags,
}

/// What the first start writes to the data dir (and later starts reuse).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    pub org_id: String,
    pub token: String,
    pub user: String,
}

pub const CREDENTIALS_FILE: &str = "credentials.json";
pub const ADMIN_USER: &str = "admin@switchboard.local";

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::resolve(&args.flags, &|k| std::env::var(k).ok())?;
    init_logging(settings.json_logs);
    for k in crate::config::unknown_env_vars() {
        tracing::warn!(variable = %k, "unknown SWITCHBOARD_* environment variable ignored");
    }
    let rt = runtime().context("cannot start the async runtime")?;
    rt.block_on(serve(settings))?;
    Ok(ExitCode::SUCCESS)
}

/// The async runtime. On one core (a container's quota, `taskset`) a single-threaded
/// scheduler: requests are then served in arrival order, where the work-stealing scheduler's
/// LIFO slot lets the last-woken connection jump the queue and stretches the latency tail.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Runtime::new()
    }
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("SWITCHBOARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Open the store for the settings (creating the data dir for SQLite).
pub async fn open_store(settings: &Settings) -> anyhow::Result<store::Store> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data dir {}", settings.data_dir.display()))?;
    store::Store::connect(&settings.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                redact(&settings.database_url)
            )
        })
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

/// Reuse the credentials in the data dir when their token is still known to this database;
/// otherwise create the default organization and an admin token, and write them.
pub async fn ensure_credentials(
    store: &store::Store,
    data_dir: &Path,
) -> anyhow::Result<(Credentials, bool)> {
    let path = data_dir.join(CREDENTIALS_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(c) = serde_json::from_str::<Credentials>(&text) {
            let hash = api::auth::hash_token(&c.token);
            if store
                .find_token(&hash)
                .await?
                .is_some_and(|t| t.org_id == c.org_id)
            {
                return Ok((c, false));
            }
        }
    }
    let org = api::bootstrap::create_org(store, "Default Organization").await?;
    let scopes: Vec<String> = api::auth::ALL_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let token =
        api::bootstrap::issue_token(store, &org.id, ADMIN_USER, &scopes, None, None, "access")
            .await?;
    let c = Credentials {
        org_id: org.id,
        token,
        user: ADMIN_USER.into(),
    };
    write_private(&path, &serde_json::to_string_pretty(&c)?)?;
    Ok((c, true))
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let catalog = super::load_catalog(settings.catalog.as_deref())?;
    let store = open_store(&settings).await?;
    let (creds, created) = ensure_credentials(&store, &settings.data_dir).await?;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let config = api::ApiConfig {
        rate_limit_per_minute: settings.rate_limit_per_minute,
        body_limit_bytes: settings.body_limit_bytes,
        ..api::ApiConfig::default()
    };
    let state = api::AppState::new(store.clone(), catalog, config, metrics);
    // The durable runner: continue every unfinished execution, then keep leases alive.
    let runner = runtime::server::Runner::new(
        store.clone(),
        catalog,
        state.functions().clone(),
        runtime::server::RunnerConfig {
            trace_retention: (settings.trace_retention_days > 0)
                .then(|| chrono::Duration::days(i64::from(settings.trace_retention_days))),
            ..runtime::server::RunnerConfig::default()
        },
    )?;
    let resumed = runner.resume_all().await?;
    let _maintenance = runner.spawn_maintenance();
    let state = state.with_runner(runner);
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    std::fs::write(settings.data_dir.join("base-url"), &base).ok();
    println!(
        "switchboard {} listening on {base}",
        env!("CARGO_PKG_VERSION")
    );
    println!("  org id:   {}", creds.org_id);
    println!("  token:    {}", creds.token);
    println!(
        "  {} {}",
        if created {
            "created and saved to"
        } else {
            "reusing"
        },
        settings.data_dir.join(CREDENTIALS_FILE).display()
    );
    println!("  database: {}", redact(&settings.database_url));
    println!("  resumed:  {resumed} unfinished execution(s)");
    println!(
        "  try:      curl -H \"Authorization: Bearer {}\" {base}/{}/project/{}/v2/activities",
        creds.token,
        creds.org_id,
        api::PROJECT_ID
    );
    tracing::info!(%addr, org_id = %creds.org_id, "serving");
    // Responses go out as soon as they are written: without TCP_NODELAY, a small response
    // can wait for the ACK of the previous one (Nagle), which is how request/response
    // latency gets 40 ms spikes.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server error")?;
    store.close().await;
    tracing::info!("shut down cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
