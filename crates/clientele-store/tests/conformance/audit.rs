//! The audit log as a hash chain per tenant, and the documents' storage contract.

use clientele_core::App;
use clientele_core::audit::chain::ChainBreak;
use clientele_core::audit::entry::AuditAction;
use clientele_core::audit::store::AuditQuery;
use clientele_core::ids::TenantId;
use clientele_store::testing::TestDatabase;

use crate::fixtures::{audit, audited, stored, tenant};

/// Runs `check` on SQLite and, when configured, on PostgreSQL, with the raw database at hand.
macro_rules! with_database {
    ($($name:ident => $check:ident;)*) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$check(clientele_store::testing::TestDatabase::sqlite().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(db) = clientele_store::testing::TestDatabase::postgres().await {
                    super::$check(db).await;
                }
            }
        }
    )*};
}

with_database! {
    the_chain_numbers_entries_and_names_the_first_altered_or_missing_one => chain_detects_tampering;
}

async fn chain_detects_tampering(db: TestDatabase) {
    let store = db.store();
    let app = App::new(db.store(), clientele_core::AppConfig::default()).await.unwrap();
    let busy = tenant(&*store, "Busy").await;
    let quiet = tenant(&*store, "Quiet").await;
    // Single writes, a batch, and refusals recorded on their own: one chain per tenant.
    let first = stored(&*store, &busy, "Anna", "Rossi").await;
    stored(&*store, &quiet, "Luca", "Neri").await;
    let batch: Vec<_> = (0..3)
        .map(|i| {
            let c =
                crate::fixtures::customer(&busy, serde_json::json!({"first_name": format!("C{i}"), "last_name": "X"}));
            let write = audited(&c, AuditAction::CustomerCreated);
            (c, write)
        })
        .collect();
    store.insert_customers(busy.id, &batch).await.unwrap();
    store.record(&[audit(&first, AuditAction::DocumentsViewed)], &[]).await.unwrap();

    let entries = store.audit_chain(busy.id, 0, 100).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert_eq!(store.audit_chain(quiet.id, 0, 100).await.unwrap().len(), 1);
    assert_eq!(store.audit_chain(busy.id, 3, 100).await.unwrap()[0].seq, 4, "pages by seq");
    let mut heads: Vec<(TenantId, i64, i64)> =
        store.audit_heads().await.unwrap().into_iter().map(|h| (h.tenant_id, h.seq, h.unchained)).collect();
    heads.sort_by_key(|(_, seq, _)| *seq);
    assert_eq!(heads, [(quiet.id, 1, 0), (busy.id, 5, 0)]);
    assert_eq!(app.verify_audit().await.unwrap(), Ok(6));
    // The database itself refuses to change or remove a chained entry.
    for statement in ["UPDATE audit_log SET reason = 'x' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 1"] {
        let refused = db.try_execute(statement).await.unwrap_err();
        assert!(refused.contains("append-only"), "{statement}: {refused}");
    }
    db.allow_audit_tampering().await;
    // Entries written before the log was a chain are chained, in id order, when the store opens.
    db.execute("UPDATE audit_log SET seq = NULL, hash = NULL").await;
    db.execute("DELETE FROM audit_chain").await;
    db.execute("DELETE FROM platform_settings WHERE key = 'audit_log_chained'").await;
    db.sql_store().migrate().await.unwrap();
    assert_eq!(store.audit_chain(busy.id, 0, 100).await.unwrap(), entries, "the same numbers and hashes");
    assert_eq!(app.verify_audit().await.unwrap(), Ok(6));
    // The listed entries carry their place in the chain too.
    let listed = store.list_audit(busy.id, &AuditQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(listed.len(), 5);
    assert!(listed.iter().all(|e| e.seq > 0 && e.hash.as_ref().is_some_and(|h| h.len() == 64)));

    // That happens once: an entry slipped in outside the chain later stays outside, and is named.
    db.execute("UPDATE audit_log SET seq = NULL, hash = NULL WHERE seq = 5").await;
    db.sql_store().migrate().await.unwrap();
    let unchained = app.verify_audit().await.unwrap();
    assert_eq!(unchained, Err(ChainBreak::Unchained { tenant_id: busy.id, count: 1 }));
    let fifth = entries[4].hash.clone().unwrap();
    db.execute(&format!("UPDATE audit_log SET seq = 5, hash = '{fifth}' WHERE seq IS NULL")).await;
    assert_eq!(app.verify_audit().await.unwrap(), Ok(6));

    // Someone with database access edits entry 3 (only the busy tenant has one).
    db.execute("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 3").await;
    let third = entries[2].id;
    assert_eq!(app.verify_audit().await.unwrap(), Err(ChainBreak::Altered { tenant_id: busy.id, seq: 3, id: third }));
    db.execute("UPDATE audit_log SET reason = NULL WHERE seq = 3").await;
    assert_eq!(app.verify_audit().await.unwrap(), Ok(6), "put back as it was, the chain holds again");
    // A forged hash is caught as well.
    let original = entries[2].hash.clone().unwrap();
    let forged = format!("{}{}", if original.starts_with('0') { "1" } else { "0" }, &original[1..]);
    db.execute(&format!("UPDATE audit_log SET hash = '{forged}' WHERE seq = 3")).await;
    assert_eq!(app.verify_audit().await.unwrap(), Err(ChainBreak::Altered { tenant_id: busy.id, seq: 3, id: third }));
    db.execute(&format!("UPDATE audit_log SET hash = '{original}' WHERE seq = 3")).await;
    // The head altered: its hash, then the row itself gone.
    db.execute("UPDATE audit_chain SET hash = '00' WHERE seq = 5").await;
    assert_eq!(app.verify_audit().await.unwrap(), Err(ChainBreak::HeadMismatch { tenant_id: busy.id, seq: 5 }));
    db.execute("DELETE FROM audit_chain WHERE seq = 5").await;
    assert_eq!(app.verify_audit().await.unwrap(), Err(ChainBreak::HeadMismatch { tenant_id: busy.id, seq: 5 }));
    // Entries removed: the last one, then one in the middle (the first break is named).
    db.execute(
        "INSERT INTO audit_chain (tenant_id, seq, hash) SELECT tenant_id, seq, hash FROM audit_log WHERE seq = 5",
    )
    .await;
    assert_eq!(app.verify_audit().await.unwrap(), Ok(6));
    db.execute("DELETE FROM audit_log WHERE seq = 5").await;
    assert_eq!(app.verify_audit().await.unwrap(), Err(ChainBreak::Missing { tenant_id: busy.id, seq: 5 }));
    db.execute("DELETE FROM audit_log WHERE seq = 2").await;
    assert_eq!(app.verify_audit().await.unwrap(), Err(ChainBreak::Missing { tenant_id: busy.id, seq: 2 }));
}
