//! HTTP tests: the real router on `127.0.0.1:0`, a fresh database per test, every test on SQLite
//! and on PostgreSQL (when `CLIENTELE_TEST_POSTGRES_URL` is set; CI always sets it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declares tests `async fn name(app: &TestApp) { ... }`; each becomes a module `name` with the
/// tests `sqlite` and `postgres`.
macro_rules! http_test {
    ($($(#[$meta:meta])* async fn $name:ident($app:ident: &TestApp) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn check($app: &crate::harness::TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                check(&crate::harness::TestApp::sqlite().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(app) = crate::harness::TestApp::postgres().await {
                    check(&app).await;
                }
            }
        }
    )*};
}

mod access;
mod auth;
mod bad_input;
mod blacklist;
mod busy;
mod cargos;
mod connections;
mod console;
mod customers;
mod documents;
mod exports;
mod faults;
mod harness;
mod headers;
mod imports;
mod isolation;
mod isolation_random;
mod observability;
mod openapi;
mod orders;
mod payments;
mod receiver;
mod roles;
mod scale_out;
mod webhooks;

#[test]
fn the_postgresql_half_runs_or_is_reported_skipped() {
    clientele_store::testing::postgres_half_runs_or_is_reported_skipped("http");
}
