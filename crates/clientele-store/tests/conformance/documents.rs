//! Documents: metadata scoped to its tenant, versioned changes, soft deletes, what customers hold,
//! key rotation; the tenant's required documents.

use crate::fixtures::{stored, tenant};
use clientele_core::audit::entry::AuditAction;
use clientele_core::audit::store::AuditQuery;
use clientele_core::documents::record::{Document, DocumentFile, DocumentKind, DocumentMeta, SealedFile};
use clientele_core::ids::{CustomerId, DocumentId};
use clientele_core::store::Store;
use clientele_core::time::Timestamp;

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

    async fn required_documents_are_kept_per_tenant_with_their_audit_entry(store: &dyn Store) {
        use clientele_core::documents::requirements::RequiredDocuments;
        let a = tenant(store, "A").await;
        let b = tenant(store, "B").await;
        let wanted = RequiredDocuments::parse(&["driver_license".to_owned()]).unwrap();
        let entry = clientele_core::audit::entry::AuditEntry::new(
            &clientele_core::accounts::auth::Actor::command_line(a.id),
            a.id,
            AuditAction::RequiredDocumentsChanged,
            "tenant",
            a.id,
            None,
        );
        store.set_required_documents(a.id, &wanted, &entry).await.unwrap();
        assert_eq!(store.get_tenant(a.id).await.unwrap().unwrap().required_documents, wanted);
        assert_eq!(store.get_tenant(b.id).await.unwrap().unwrap().required_documents, RequiredDocuments::default());
        let logged = store.list_audit(a.id, &AuditQuery { limit: 10, ..AuditQuery::default() }).await.unwrap();
        assert_eq!(logged.iter().filter(|e| e.action == AuditAction::RequiredDocumentsChanged.as_str()).count(), 1);
    }
}
