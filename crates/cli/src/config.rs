//! Server settings: defaults < `switchboard.toml` < `SWITCHBOARD_*` environment < flags,
//! resolved once here (raw layers -> one validated [`Settings`]). Unknown keys in the file
//! are an error at start-up, so a typo never silently falls back to a default.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// The file layer; every field optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub catalog: Option<PathBuf>,
    pub log_format: Option<String>,
    pub rate_limit_per_minute: Option<u32>,
    pub body_limit_bytes: Option<usize>,
    pub trace_retention_days: Option<u32>,
}

/// Flags of `serve` (and of the admin commands that open the store).
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ServerFlags {
    /// Address to listen on [default: 127.0.0.1:8080; env SWITCHBOARD_LISTEN]
    #[arg(long)]
    pub listen: Option<String>,
    /// Directory for the embedded database and the first-start credentials
    /// [default: ./switchboard-data; env SWITCHBOARD_DATA_DIR]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: postgres://... for PostgreSQL; default an SQLite file in the data dir
    /// [env SWITCHBOARD_DATABASE_URL]
    #[arg(long)]
    pub database_url: Option<String>,
    /// A directory of catalog JSON files overriding the built-in activity catalog
    /// [env SWITCHBOARD_CATALOG]
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Log format: text or json [env SWITCHBOARD_LOG_FORMAT]
    #[arg(long)]
    pub log_format: Option<String>,
    /// Requests per minute per token before 429; 0 disables [default: 60000;
    /// env SWITCHBOARD_RATE_LIMIT_PER_MINUTE]
    #[arg(long)]
    pub rate_limit_per_minute: Option<u32>,
    /// Largest accepted request body in bytes [default: 10485760; env SWITCHBOARD_BODY_LIMIT_BYTES]
    #[arg(long)]
    pub body_limit_bytes: Option<usize>,
    /// Days to keep execution traces after an execution finishes; 0 keeps them forever
    /// [default: 30; env SWITCHBOARD_TRACE_RETENTION_DAYS]
    #[arg(long)]
    pub trace_retention_days: Option<u32>,
    /// Config file [default: ./switchboard.toml when present; env SWITCHBOARD_CONFIG]
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub listen: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub catalog: Option<PathBuf>,
    pub json_logs: bool,
    pub rate_limit_per_minute: u32,
    pub body_limit_bytes: usize,
    pub trace_retention_days: u32,
}

/// Environment variables this binary reads; any other `SWITCHBOARD_*` is reported.
const KNOWN_ENV: &[&str] = &[
    "SWITCHBOARD_LISTEN",
    "SWITCHBOARD_DATA_DIR",
    "SWITCHBOARD_DATABASE_URL",
    "SWITCHBOARD_CATALOG",
    "SWITCHBOARD_LOG_FORMAT",
    "SWITCHBOARD_RATE_LIMIT_PER_MINUTE",
    "SWITCHBOARD_BODY_LIMIT_BYTES",
    "SWITCHBOARD_CONFIG",
    "SWITCHBOARD_TRACE_RETENTION_DAYS",
    "SWITCHBOARD_URL",
    "SWITCHBOARD_TOKEN",
    "SWITCHBOARD_TEST_DATABASE_URL",
    "SWITCHBOARD_LOG",
];

impl Settings {
    /// Resolve from the layers. `env` is passed in so tests need not touch the process env.
    pub fn resolve(
        flags: &ServerFlags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let path = flags
            .config
            .clone()
            .or_else(|| env("SWITCHBOARD_CONFIG").map(PathBuf::from));
        let file = match path {
            Some(p) => read_file(&p)?,
            None if Path::new("switchboard.toml").exists() => {
                read_file(Path::new("switchboard.toml"))?
            }
            None => FileConfig::default(),
        };
        fn parse<T: std::str::FromStr>(name: &str, v: Option<String>) -> anyhow::Result<Option<T>>
        where
            T::Err: std::fmt::Display,
        {
            v.map(|s| {
                s.parse::<T>()
                    .map_err(|e| anyhow::anyhow!("{name}={s}: {e}"))
            })
            .transpose()
        }
        let listen = flags
            .listen
            .clone()
            .or_else(|| env("SWITCHBOARD_LISTEN"))
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let data_dir = flags
            .data_dir
            .clone()
            .or_else(|| env("SWITCHBOARD_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("switchboard-data"));
        let database_url = flags
            .database_url
            .clone()
            .or_else(|| env("SWITCHBOARD_DATABASE_URL"))
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("switchboard.db").display()));
        let catalog = flags
            .catalog
            .clone()
            .or_else(|| env("SWITCHBOARD_CATALOG").map(PathBuf::from))
            .or(file.catalog);
        let log_format = flags
            .log_format
            .clone()
            .or_else(|| env("SWITCHBOARD_LOG_FORMAT"))
            .or(file.log_format)
            .unwrap_or_else(|| "text".into());
        let json_logs = match log_format.as_str() {
            "text" => false,
            "json" => true,
            other => bail!("unknown log format '{other}': use text or json"),
        };
        let rate_limit_per_minute = flags
            .rate_limit_per_minute
            .or(parse(
                "SWITCHBOARD_RATE_LIMIT_PER_MINUTE",
                env("SWITCHBOARD_RATE_LIMIT_PER_MINUTE"),
            )?)
            .or(file.rate_limit_per_minute)
            .unwrap_or(60_000);
        let body_limit_bytes = flags
            .body_limit_bytes
            .or(parse(
                "SWITCHBOARD_BODY_LIMIT_BYTES",
                env("SWITCHBOARD_BODY_LIMIT_BYTES"),
            )?)
            .or(file.body_limit_bytes)
            .unwrap_or(api::DEFAULT_BODY_LIMIT);
        let trace_retention_days = flags
            .trace_retention_days
            .or(parse(
                "SWITCHBOARD_TRACE_RETENTION_DAYS",
                env("SWITCHBOARD_TRACE_RETENTION_DAYS"),
            )?)
            .or(file.trace_retention_days)
            .unwrap_or(30);
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            bail!("unsupported database URL '{database_url}': use sqlite://PATH or postgres://...");
        }
        Ok(Settings {
            listen,
            data_dir,
            database_url,
            catalog,
            json_logs,
            rate_limit_per_minute,
            body_limit_bytes,
            trace_retention_days,
        })
    }
}

fn read_file(p: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(p)
        .with_context(|| format!("cannot read config file {}", p.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", p.display()))
}

/// Unknown `SWITCHBOARD_*` variables: likely typos, reported at start-up.
pub fn unknown_env_vars() -> Vec<String> {
    std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("SWITCHBOARD_") && !KNOWN_ENV.contains(&k.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_defaults_file_env_flags() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("s.toml");
        std::fs::write(
            &cfg,
            "listen = \"127.0.0.1:1\"\nrate-limit-per-minute = 5\nlog-format = \"json\"\n",
        )
        .unwrap();
        let env = |k: &str| match k {
            "SWITCHBOARD_RATE_LIMIT_PER_MINUTE" => Some("7".to_string()),
            _ => None,
        };
        let flags = ServerFlags {
            config: Some(cfg.clone()),
            ..Default::default()
        };
        let s = Settings::resolve(&flags, &env).unwrap();
        assert_eq!(s.listen, "127.0.0.1:1");
        assert_eq!(s.rate_limit_per_minute, 7);
        assert!(s.json_logs);
        let flags = ServerFlags {
            config: Some(cfg),
            listen: Some("0.0.0.0:2".into()),
            ..Default::default()
        };
        assert_eq!(Settings::resolve(&flags, &env).unwrap().listen, "0.0.0.0:2");
    }

    #[test]
    fn unknown_keys_in_the_file_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("s.toml");
        std::fs::write(&cfg, "lisen = \"x\"\n").unwrap();
        let flags = ServerFlags {
            config: Some(cfg),
            ..Default::default()
        };
        let err = Settings::resolve(&flags, &|_| None).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
    }
}
