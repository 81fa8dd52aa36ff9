//! PostgreSQL's row-level security, the second wall between tenants (migration 0014): statements
//! that forgot their tenant filter, run as the service runs its statements, read and write the
//! rows of the transaction's tenant alone, or none; every tenant table is held by a policy.

use clientele_store::testing::TestDatabase;
use clientele_store::testing::statements::TENANT_TABLES;

use crate::fixtures::{stored, tenant};

/// Each tenant table has row-level security enabled, forced (its owner is held too) and the
/// `tenant_scope` policy: a table added later without them fails here.
#[tokio::test]
async fn every_tenant_table_is_held_by_the_tenant_policy() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let held = db
        .texts(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relrowsecurity AND c.relforcerowsecurity \
             AND EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = 'public' \
                 AND p.tablename = c.relname AND p.policyname = 'tenant_scope') ORDER BY 1",
        )
        .await;
    let mut expected: Vec<String> = TENANT_TABLES.iter().map(|t| (*t).to_owned()).collect();
    expected.sort();
    assert_eq!(held, expected);
}

/// The suites connect as a superuser, which passes policies by: the service's statements run as
/// `clientele_app`, which does not. And `LIKE` is LEAKPROOF, so that the search keeps its
/// trigram index under the policies.
#[tokio::test]
async fn the_service_runs_as_a_role_the_policies_hold() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let who = db
        .texts_as_service(
            None,
            "SELECT current_user::text || ' ' || (r.rolsuper OR r.rolbypassrls)::text \
                                 FROM pg_roles r WHERE r.rolname = current_user",
        )
        .await
        .unwrap();
    assert_eq!(who, ["clientele_app false"]);
    let leakproof =
        db.texts("SELECT proleakproof::text FROM pg_proc WHERE oid = 'textlike(text, text)'::regprocedure").await;
    assert_eq!(leakproof, ["true"]);
}

/// Statements without their tenant filter: a read sees its own tenant's rows, or none without a
/// tenant; an update changes only its own tenant's rows; an insert or an update that would put a
/// row into another tenant is refused.
#[tokio::test]
async fn a_statement_that_forgot_its_tenant_filter_reaches_only_its_tenant() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let store = db.store();
    let (a, b) = (tenant(&*store, "Alfa Rent").await, tenant(&*store, "Beta Rent").await);
    let ours = stored(&*store, &a, "Anna", "Alfa").await;
    let theirs = stored(&*store, &b, "Bruno", "Beta").await;

    let unfiltered = "SELECT first_name FROM customers ORDER BY first_name";
    assert_eq!(db.texts(unfiltered).await, ["Anna", "Bruno"], "the owner sees both tenants");
    assert_eq!(db.texts_as_service(Some(a.id), unfiltered).await.unwrap(), ["Anna"]);
    assert_eq!(db.texts_as_service(Some(b.id), unfiltered).await.unwrap(), ["Bruno"]);
    assert!(db.texts_as_service(None, unfiltered).await.unwrap().is_empty(), "no tenant, no rows");
    // Every other tenant table, through its notes, audit entries and search rows, alike.
    for table in ["audit_log", "customer_search_prefixes", "search_vocabulary"] {
        let rows = format!("SELECT DISTINCT tenant_id::text FROM {table}");
        let seen = db.texts_as_service(Some(a.id), &rows).await.unwrap();
        assert!(seen.iter().all(|t| *t == a.id.to_string()), "{table}: {seen:?}");
    }

    let renamed = db
        .texts_as_service(Some(a.id), "UPDATE customers SET first_name = 'Changed' RETURNING id::text")
        .await
        .unwrap();
    assert_eq!(renamed, [ours.id.to_string()]);
    assert_eq!(db.texts(unfiltered).await, ["Bruno", "Changed"], "the other tenant's row is untouched");

    let moved = db
        .texts_as_service(
            Some(a.id),
            &format!("UPDATE customers SET tenant_id = '{}' WHERE id = '{}' RETURNING id::text", b.id, ours.id),
        )
        .await;
    assert!(moved.unwrap_err().contains("row-level security"), "a row cannot be moved to another tenant");
    let planted = db
        .texts_as_service(
            Some(a.id),
            &format!(
                "INSERT INTO customer_notes (tenant_id, id, customer_id, body, created_at) \
                 VALUES ('{}', gen_random_uuid(), '{}', 'planted', now()) RETURNING id::text",
                b.id, theirs.id
            ),
        )
        .await;
    assert!(planted.unwrap_err().contains("row-level security"), "a row cannot be written into another tenant");
    let deleted = db.texts_as_service(None, "DELETE FROM customers RETURNING id::text").await.unwrap();
    assert!(deleted.is_empty(), "without a tenant a statement deletes nothing");
}
