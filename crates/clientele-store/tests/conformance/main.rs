//! The conformance suite: every check is written once against `&dyn Store` and runs on SQLite and
//! on PostgreSQL (when `CLIENTELE_TEST_POSTGRES_URL` is set; CI always sets it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declares checks `async fn name(store: &dyn Store) { ... }`; each becomes a module `name` with
/// the tests `sqlite` and `postgres`, each on a fresh database.
macro_rules! conformance {
    ($($(#[$meta:meta])* async fn $name:ident($store:ident: &dyn Store) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn check($store: &dyn Store) $body

            #[tokio::test]
            async fn sqlite() {
                let db = clientele_store::testing::TestDatabase::sqlite().await;
                check(&*db.store()).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(db) = clientele_store::testing::TestDatabase::postgres().await {
                    check(&*db.store()).await;
                }
            }
        }
    )*};
}

/// Like `conformance!`, for checks that go through the services: `async fn name(app: &App)`.
macro_rules! app_conformance {
    ($($(#[$meta:meta])* async fn $name:ident($app:ident: &App) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn check($app: &clientele_core::App) $body

            async fn run(db: clientele_store::testing::TestDatabase) {
                let app = clientele_core::App::new(db.store(), clientele_core::AppConfig::default()).await.unwrap();
                check(&app).await;
            }

            #[tokio::test]
            async fn sqlite() {
                run(clientele_store::testing::TestDatabase::sqlite().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(db) = clientele_store::testing::TestDatabase::postgres().await {
                    run(db).await;
                }
            }
        }
    )*};
}

mod accounts;
mod audit;
mod cargos;
mod customers;
mod documents;
mod fixtures;
mod imports;
mod invariant;
mod orders;
mod risk;
mod row_security;
mod search;

#[test]
fn the_postgresql_half_runs_or_is_reported_skipped() {
    clientele_store::testing::postgres_half_runs_or_is_reported_skipped("conformance");
}

/// The tables the statement check (`testing::statements`) treats as distributed by tenant are
/// every table with a `tenant_id` column but the undistributed ones: a new table cannot escape it.
#[tokio::test]
async fn the_tables_checked_for_tenant_scoped_statements_are_every_table_with_a_tenant_id() {
    use clientele_store::testing::statements::{TENANT_TABLES, UNDISTRIBUTED};
    let Some(db) = clientele_store::testing::TestDatabase::postgres().await else { return };
    let mut found = db
        .texts(
            "SELECT table_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1",
        )
        .await;
    found.retain(|t| !UNDISTRIBUTED.contains(&t.as_str()));
    let mut listed: Vec<String> = TENANT_TABLES.iter().map(|t| (*t).to_owned()).collect();
    listed.sort();
    assert_eq!(found, listed);
}
