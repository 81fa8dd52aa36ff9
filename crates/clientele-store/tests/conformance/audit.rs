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
    a_keyed_chain_catches_a_suffix_rewritten_without_the_key_and_exported_heads_catch_truncation => keyed_chain;
}

/// Sets entry `seq`'s stored hash and key id (and the recorded head, when it is the last), as
/// someone with write access to the database would.
async fn overwrite(db: &TestDatabase, seq: i64, reason: Option<&str>, hash: &str, key: Option<&str>, last: bool) {
    let text = |v: Option<&str>| v.map_or("NULL".to_owned(), |v| format!("'{v}'"));
    db.execute(&format!(
        "UPDATE audit_log SET reason = {}, hash = '{hash}', chain_key = {} WHERE seq = {seq}",
        text(reason),
        text(key)
    ))
    .await;
    if last {
        db.execute(&format!("UPDATE audit_chain SET seq = {seq}, hash = '{hash}'")).await;
    }
}

async fn keyed_chain(db: TestDatabase) {
    use clientele_core::audit::chain::{CHAIN_START, ChainKey, chain_hash};
    use std::sync::Arc;
    let key = ChainKey::new(b"test-audit-chain-key-of-32-bytes").unwrap();
    let t = tenant(&*db.store(), "T").await;
    // Entries 1-2 written before the chain was keyed; 3-5 after.
    stored(&*db.store(), &t, "Anna", "Rossi").await;
    stored(&*db.store(), &t, "Luca", "Neri").await;
    let options = clientele_store::StoreOptions::default();
    let keyed = clientele_store::SqlStore::connect(db.url(), &options).await.unwrap().with_chain_key(Some(key.clone()));
    let keyed: Arc<dyn clientele_core::store::Store> = Arc::new(keyed);
    for name in ["Maria", "Paolo", "Sara"] {
        stored(&*keyed, &t, name, "Verdi").await;
    }
    let config = || clientele_core::AppConfig { audit_chain_key: Some(key.clone()), ..Default::default() };
    let app = App::new(keyed.clone(), config()).await.unwrap();
    let entries = keyed.audit_chain(t.id, 0, 100).await.unwrap();
    let keys: Vec<Option<&str>> = entries.iter().map(|e| e.chain_key.as_deref()).collect();
    assert_eq!(keys, [None, None, Some(key.id()), Some(key.id()), Some(key.id())]);
    assert_eq!(app.verify_audit().await.unwrap(), Ok(5), "old unkeyed entries and new keyed ones verify");
    let unkeyed_app = App::new(db.store(), clientele_core::AppConfig::default()).await.unwrap();
    assert_eq!(
        unkeyed_app.verify_audit().await.unwrap(),
        Err(ChainBreak::UnknownKey { tenant_id: t.id, seq: 3, key_id: key.id().to_owned() }),
        "keyed entries cannot be checked without the key"
    );
    let heads = app.export_audit_heads().await.unwrap();
    assert_eq!(heads.len(), 1);
    assert_eq!((heads[0].seq, heads[0].hash.as_str()), (5, entries[4].hash.as_deref().unwrap()));
    assert_eq!(app.verify_audit_against(&heads).await.unwrap(), Ok(5));

    db.allow_audit_tampering().await;
    let put_back = || async {
        for entry in &entries {
            let (reason, hash) = (entry.reason.as_deref(), entry.hash.as_deref().unwrap());
            overwrite(&db, entry.seq, reason, hash, entry.chain_key.as_deref(), entry.seq == 5).await;
        }
        assert_eq!(app.verify_audit_against(&heads).await.unwrap(), Ok(5), "put back");
    };
    // Without the key, an attacker edits entry `from` and recomputes the plain SHA-256 chain
    // from there to the end (and the recorded head), naming no key or keeping the key's id.
    let rewrite = |from: i64, keep_key_id: bool| {
        let entries = entries.clone();
        let db = &db;
        async move {
            let mut previous = if from == 1 {
                CHAIN_START
            } else {
                let hex = entries[from as usize - 2].hash.clone().unwrap();
                <[u8; 32]>::try_from(
                    (0..64).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect::<Vec<u8>>(),
                )
                .unwrap()
            };
            for mut entry in entries.into_iter().skip(from as usize - 1) {
                if entry.seq == from {
                    entry.reason = Some("nothing to see".into());
                }
                previous = chain_hash(&previous, entry.seq, &entry, None);
                let id = if keep_key_id { entry.chain_key.clone() } else { None };
                overwrite(
                    db,
                    entry.seq,
                    entry.reason.as_deref(),
                    &previous.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                    id.as_deref(),
                    entry.seq == 5,
                )
                .await;
            }
        }
    };
    rewrite(4, false).await;
    assert_eq!(app.verify_audit().await.unwrap(), Err(ChainBreak::Unkeyed { tenant_id: t.id, seq: 4 }));
    put_back().await;
    rewrite(4, true).await;
    let fourth = entries[3].id;
    assert_eq!(app.verify_audit().await.unwrap(), Err(ChainBreak::Altered { tenant_id: t.id, seq: 4, id: fourth }));
    put_back().await;
    // Rewritten from the first keyed entry or before, the whole suffix unkeyed, the chain reads
    // as one from before keying: the chain alone cannot tell (see README), the exported heads can.
    for from in [1, 2, 3] {
        rewrite(from, false).await;
        assert_eq!(app.verify_audit().await.unwrap(), Ok(5), "from {from}");
        let rewritten = app.verify_audit_against(&heads).await.unwrap();
        assert_eq!(rewritten, Err(ChainBreak::Rewritten { tenant_id: t.id, seq: 5 }), "from {from}");
        put_back().await;
    }

    // Truncated: the last two entries removed and the recorded head moved back. The chain
    // alone cannot tell; the exported heads can.
    db.execute("DELETE FROM audit_log WHERE seq > 3").await;
    db.execute(&format!("UPDATE audit_chain SET seq = 3, hash = '{}'", entries[2].hash.as_deref().unwrap())).await;
    assert_eq!(app.verify_audit().await.unwrap(), Ok(3));
    assert_eq!(
        app.verify_audit_against(&heads).await.unwrap(),
        Err(ChainBreak::Truncated { tenant_id: t.id, seq: 4, exported: 5 })
    );
    // And the whole tenant's log gone.
    db.execute("DELETE FROM audit_log").await;
    db.execute("DELETE FROM audit_chain").await;
    assert_eq!(
        app.verify_audit_against(&heads).await.unwrap(),
        Err(ChainBreak::Truncated { tenant_id: t.id, seq: 1, exported: 5 })
    );
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
