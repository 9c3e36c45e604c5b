//! `switchboard token create` and `switchboard client create`: credentials issued straight
//! into the server's database (run them beside the server, with the same data dir or URL).

use std::process::ExitCode;

use anyhow::Context;

use crate::config::{ServerFlags, Settings};

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Issue a bearer token for an org, a user and scopes. The token is printed once.
    ///
    /// Example: switchboard token create --user ci@example.com --scopes cjp:config_read --ttl 3600
    Create {
        /// Organization id [default: the org created on first start]
        #[arg(long)]
        org: Option<String>,
        /// The user identity recorded as createdBy / lastModifiedBy.
        #[arg(long)]
        user: String,
        /// Comma-separated scopes, e.g. cjp:config_read,cjp:config_write
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// Lifetime in seconds (default: no expiry).
        #[arg(long)]
        ttl: Option<i64>,
        #[command(flatten)]
        server: ServerFlags,
    },
}

#[derive(clap::Subcommand)]
pub enum ClientCommand {
    /// Register an OAuth client for `POST /v1/access_token` (client_credentials).
    Create {
        #[arg(long)]
        org: Option<String>,
        /// A name for the client.
        #[arg(long)]
        name: String,
        /// Comma-separated scopes the client may request.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        #[command(flatten)]
        server: ServerFlags,
    },
}

async fn org_or_default(
    store: &store::Store,
    settings: &Settings,
    org: Option<String>,
) -> anyhow::Result<String> {
    let id = match org {
        Some(o) => o,
        None => {
            super::serve::ensure_credentials(store, &settings.data_dir)
                .await?
                .0
                .org_id
        }
    };
    store
        .get_org(&id)
        .await?
        .with_context(|| format!("organization {id} does not exist in this database"))?;
    Ok(id)
}

pub fn token(cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    let TokenCommand::Create {
        org,
        user,
        scopes,
        ttl,
        server,
    } = cmd;
    let settings = Settings::resolve(&server, &|k| std::env::var(k).ok())?;
    tokio::runtime::Runtime::new()?.block_on(async {
        let store = super::serve::open_store(&settings).await?;
        let org = org_or_default(&store, &settings, org).await?;
        let token = api::bootstrap::issue_token(
            &store,
            &org,
            &user,
            &scopes,
            ttl.map(chrono::Duration::seconds),
            None,
            "access",
        )
        .await?;
        println!("{token}");
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn client(cmd: ClientCommand) -> anyhow::Result<ExitCode> {
    let ClientCommand::Create {
        org,
        name,
        scopes,
        server,
    } = cmd;
    let settings = Settings::resolve(&server, &|k| std::env::var(k).ok())?;
    tokio::runtime::Runtime::new()?.block_on(async {
        let store = super::serve::open_store(&settings).await?;
        let org = org_or_default(&store, &settings, org).await?;
        let (id, secret) = api::bootstrap::create_client(&store, &org, &name, &scopes).await?;
        println!("client_id:     {id}\nclient_secret: {secret}\norg id:        {org}");
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}
