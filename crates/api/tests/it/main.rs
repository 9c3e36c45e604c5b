//! The API's integration tests: one binary, real HTTP on a loopback port, every test run on
//! SQLite (a temporary file) and on PostgreSQL (a private schema) through [`api_test!`] —
//! ripgrep's `rgtest!` idea.
//!
//! PostgreSQL runs when `SWITCHBOARD_TEST_DATABASE_URL` is set (CI sets it); otherwise each
//! PostgreSQL variant prints "skipped: SWITCHBOARD_TEST_DATABASE_URL not set" and passes.
//! Select a backend with `cargo test -p switchboard-api -- sqlite` (or `postgres`).
//!
//! Response bodies are pinned with insta snapshots after [`util::redact`] has replaced
//! server-assigned ids, timestamps, tracking ids and tokens; both backends compare against
//! the same snapshot, so a backend that answers differently fails. Refresh snapshots with
//! `INSTA_UPDATE=always cargo test -p switchboard-api` and review the diff.

// The crate under test, under the short name the rest of the workspace uses.
extern crate switchboard_api as api;

/// `api_test!(name, |app| async move { ... })` defines module `name` with two tests,
/// `sqlite` and `postgres`, each handing a freshly spawned server ([`util::TestApp`]) to the
/// body. `api_test!(name, config = ApiConfig { .. }, |app| ...)` spawns it with that config.
macro_rules! api_test {
    ($name:ident, |$app:ident| $body:expr) => {
        api_test!($name, config = ::api::ApiConfig::default(), |$app| $body);
    };
    ($name:ident, config = $config:expr, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = $crate::util::spawn_app_with($crate::util::Backend::Sqlite, $config)
                    .await
                    .expect("SQLite always runs");
                let cleanup = $app.cleanup();
                $body.await;
                cleanup.run().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) =
                    $crate::util::spawn_app_with($crate::util::Backend::Postgres, $config).await
                else {
                    return;
                };
                let cleanup = $app.cleanup();
                $body.await;
                cleanup.run().await;
            }
        }
    };
}

mod auth;
mod bad_input;
mod cache;
mod conformance;
mod discovery;
mod executions;
mod flow_store;
mod functions;
mod lifecycle;
mod openapi;
mod operations;
mod storage;
mod util;
