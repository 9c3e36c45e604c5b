//! The store's integration tests: one binary, every test run on SQLite (a temporary file) and
//! on PostgreSQL (a private schema), through [`store_test!`] — ripgrep's `rgtest!` idea.
//!
//! PostgreSQL runs when `SWITCHBOARD_TEST_DATABASE_URL` is set (CI sets it); otherwise each
//! PostgreSQL variant prints "skipped: SWITCHBOARD_TEST_DATABASE_URL not set" and passes.
//! Select a backend with `cargo test -p switchboard-store -- sqlite` (or `postgres`).

// The crate under test, under the short name the rest of the workspace uses.
extern crate switchboard_store as store;

/// `store_test!(name, |store| async move { ... })` defines module `name` with two tests,
/// `sqlite` and `postgres`, each handing a fresh, migrated, empty [`Store`] to the body.
macro_rules! store_test {
    ($name:ident, |$store:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let (_dir, $store) = $crate::util::sqlite_store().await;
                let cleanup = $store.clone();
                $body.await;
                cleanup.close().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some($store) = $crate::util::postgres_store().await else {
                    return;
                };
                let cleanup = $store.clone();
                $body.await;
                cleanup.close().await;
            }
        }
    };
}

mod auth;
mod connect;
mod entities;
mod executions;
mod flows;
mod functions;
mod util;
