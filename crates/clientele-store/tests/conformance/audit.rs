//! The audit log as a hash chain per tenant, and the documents' storage contract.

use clientele_core::App;
use clientele_core::audit::chain::ChainBreak;
use clientele_core::audit::entry::AuditAction;
use clientele_core::audit::store::AuditQuery;
use clientele_core::documents::record::{Document, DocumentFile, DocumentKind, DocumentMeta, SealedFile};
use clientele_core::ids::{CustomerId, DocumentId, ImportJobId, TenantId};
use clientele_core::imports::job::{ImportMode, ImportStatus};
use clientele_core::store::Store;
use clientele_core::time::Timestamp;
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

fn document(tenant: &clientele_core::accounts::tenant::Tenant, customer: CustomerId, kind: DocumentKind) -> Document {
    let now = Timestamp::now();
    Document {
        id: DocumentId::new(),
        tenant_id: tenant.id,
        customer_id: customer,
        meta: DocumentMeta {
            kind,
            number: Some("AB123".into()),
            issuing_country: None,
            issuing_place: Some("Roma".into()),
            issued_on: Some(time::macros::date!(2020 - 01 - 01)),
            expires_on: Some(time::macros::date!(2030 - 01 - 01)),
        },
        file: DocumentFile {
            name: Some("a.pdf".into()),
            content_type: "application/pdf".into(),
            size: 10,
            sha256: "00".repeat(32),
        },
        sealed: SealedFile { object_key: "k".into(), key_id: "old".into(), wrapped_key: vec![1, 2, 3] },
        created_at: now,
        created_by: None,
        updated_at: now,
        version: 1,
        deleted_at: None,
    }
}

conformance! {
    async fn documents_round_trip_are_scoped_and_versioned(store: &dyn Store) {
        let a = tenant(store, "A").await;
        let b = tenant(store, "B").await;
        let customer = stored(store, &a, "Anna", "Rossi").await;
        let passport = document(&a, customer.id, DocumentKind::Passport);
        let entry = |d: &Document| {
            clientele_core::audit::entry::AuditEntry::new(
                &clientele_core::accounts::auth::Actor::command_line(a.id),
                a.id,
                AuditAction::DocumentUploaded,
                "document",
                d.id,
                Some(d.customer_id),
            )
        };
        store.insert_document(&passport, &entry(&passport)).await.unwrap();
        assert_eq!(store.get_document(a.id, passport.id).await.unwrap(), Some(passport.clone()));
        assert_eq!(store.get_document(b.id, passport.id).await.unwrap(), None, "another tenant's document");
        assert_eq!(store.list_documents(a.id, customer.id, false).await.unwrap(), std::slice::from_ref(&passport));
        assert!(store.list_documents(b.id, customer.id, false).await.unwrap().is_empty());
        assert_eq!(
            store.documents_held(a.id, &[customer.id]).await.unwrap(),
            [(customer.id, DocumentKind::Passport, passport.meta.expires_on)]
        );
        assert!(store.documents_held(b.id, &[customer.id]).await.unwrap().is_empty());

        let deleted = Document { deleted_at: Some(Timestamp::now()), version: 2, ..passport.clone() };
        let stale = store.update_document(&deleted, 5, &entry(&passport)).await.unwrap_err();
        assert_eq!(stale.code(), clientele_core::ErrorCode::VersionConflict);
        let elsewhere = Document { tenant_id: b.id, ..deleted.clone() };
        assert_eq!(store.update_document(&elsewhere, 1, &entry(&passport)).await.unwrap_err().code(), clientele_core::ErrorCode::NotFound);
        store.update_document(&deleted, 1, &entry(&passport)).await.unwrap();
        assert!(store.list_documents(a.id, customer.id, false).await.unwrap().is_empty());
        assert_eq!(store.list_documents(a.id, customer.id, true).await.unwrap(), std::slice::from_ref(&deleted));
        assert!(store.documents_held(a.id, &[customer.id]).await.unwrap().is_empty());

        // Key rotation: documents wrapped by other keys, in pages, across tenants.
        let other = stored(store, &b, "Luca", "Neri").await;
        let licence = document(&b, other.id, DocumentKind::DriverLicense);
        store.insert_document(&licence, &clientele_core::audit::entry::AuditEntry { tenant_id: b.id, ..entry(&licence) }).await.unwrap();
        let page = store.documents_to_rewrap("new", None, 1).await.unwrap();
        assert_eq!(page.len(), 1);
        let last = (page[0].tenant_id, page[0].id);
        let rest = store.documents_to_rewrap("new", Some(last), 10).await.unwrap();
        assert_eq!(rest.len(), 1);
        assert_ne!(rest[0].id, page[0].id);
        let sealed = SealedFile { key_id: "new".into(), wrapped_key: vec![9], ..licence.sealed.clone() };
        assert!(store.set_document_key(&licence, "old", &sealed).await.unwrap());
        assert!(!store.set_document_key(&licence, "old", &sealed).await.unwrap(), "only if still under the old key");
        assert_eq!(store.documents_to_rewrap("new", None, 10).await.unwrap().len(), 1);
        assert_eq!(store.get_document(b.id, licence.id).await.unwrap().unwrap().sealed, sealed);
    }
}

conformance! {
    async fn uploads_that_never_completed_are_failed_and_dropped(store: &dyn Store) {
        use clientele_core::imports::job::ImportJob;
        let t = tenant(store, "T").await;
        let now = Timestamp::now();
        let job = |created_at: Timestamp| ImportJob {
            id: ImportJobId::new(),
            tenant_id: t.id,
            status: ImportStatus::Receiving,
            mode: ImportMode::Create,
            dry_run: false,
            mapping: serde_json::Map::new(),
            file_name: None,
            file_size: 0,
            encoding: None,
            delimiter: None,
            unmapped_columns: Vec::new(),
            rows_read: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            failed: 0,
            failure: None,
            created_at,
            created_by: None,
            actor_role: "cli".into(),
            started_at: None,
            finished_at: None,
            next_row: 0,
            undo: None,
            attempts: 0,
            stalled_attempts: 0,
        };
        let entry = |job: &ImportJob| {
            clientele_core::audit::entry::AuditEntry::new(
                &clientele_core::accounts::auth::Actor::command_line(t.id),
                t.id,
                AuditAction::ImportStarted,
                "import",
                job.id,
                None,
            )
        };
        let old = job(now.sub(std::time::Duration::from_secs(3 * 3600)));
        let fresh = job(now);
        for j in [&old, &fresh] {
            store.insert_import_job(j, &entry(j)).await.unwrap();
            store.add_import_chunk(t.id, j.id, 0, b"first_name\n").await.unwrap();
        }
        let abandoned = store.abandon_stale_uploads(now.sub(std::time::Duration::from_secs(2 * 3600)), now).await.unwrap();
        assert_eq!(abandoned, 1);
        let old = store.get_import_job(t.id, old.id).await.unwrap().unwrap();
        assert_eq!((old.status, old.failure.as_deref()), (ImportStatus::Failed, Some("the upload never completed")));
        assert_eq!(store.import_file_chunk(t.id, old.id, 0).await.unwrap(), None);
        assert_eq!(store.get_import_job(t.id, fresh.id).await.unwrap().unwrap().status, ImportStatus::Receiving);
        assert!(store.import_file_chunk(t.id, fresh.id, 0).await.unwrap().is_some());
    }
}
