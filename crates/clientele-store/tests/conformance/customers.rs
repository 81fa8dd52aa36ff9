//! Customers, notes and their audit entries.

use clientele_core::accounts::access::CustomerScope;
use clientele_core::audit::entry::AuditAction;
use clientele_core::audit::store::AuditQuery;
use clientele_core::customers::record::CustomerKind;
use clientele_core::customers::store::{CustomerQuery, CustomerWrite, NewNote};
use clientele_core::ids::{CustomerId, NoteId};
use clientele_core::store::Store;
use clientele_core::time::Timestamp;
use clientele_core::values::{Email, PhoneStatus};
use clientele_core::{Error, ErrorCode};
use serde_json::json;

use crate::fixtures::{audit, audited, customer, stored, tenant};

fn all(limit: u32) -> CustomerQuery {
    CustomerQuery::all(CustomerScope::All, limit)
}

fn names(customers: &[clientele_core::customers::record::Customer]) -> Vec<String> {
    customers.iter().map(|c| c.display_name()).collect()
}

conformance! {
    async fn a_customer_with_every_field_reads_back_exactly(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let partner = customer(&t, json!({"kind": "partner", "company_name": "Viaggi Srl"}));
        store.insert_customer(&partner, &audited(&partner, AuditAction::CustomerCreated)).await.unwrap();
        let mut c = customer(&t, json!({
            "first_name": "Nicolò", "last_name": "Žáková", "company_name": "ACME", "vat_number": "IT01234567890",
            "email": "n@example.com", "phone": "+393331234567", "birth_date": "1980-02-29",
            "birth_place": {"city": "Roma", "country": "IT", "code": "412058091"},
            "citizenship": "IT", "tax_code": "ZKVNCL80B29H501X",
            "address": {"line1": "Via Roma 1", "line2": "int. 2", "city": "Roma", "postal_code": "00100",
                        "region": "RM", "country": "IT"},
            "language": "it-IT",
            "driver_license": {"number": "U1234567X", "country": "IT", "issuing_place": "MCTC Roma",
                               "issued_on": "2015-01-01", "expires_on": "2030-01-01"},
            "id_document": {"type": "id_card", "number": "CA12345AB", "issuing_country": "IT",
                            "issuing_place": "Comune di Roma", "expires_on": "2031-05-05"},
            "partner_id": partner.id, "external_ref": "LEGACY-1"
        }));
        c.phone_status = Some(PhoneStatus::Valid);
        c.vip = true;
        c.created_by = Some(uuid::Uuid::now_v7());
        store.insert_customer(&c, &audited(&c, AuditAction::CustomerCreated)).await.unwrap();
        assert_eq!(store.get_customer(t.id, c.id).await.unwrap(), Some(c));
    }

    async fn a_customer_of_another_tenant_is_invisible_by_id_and_by_list(store: &dyn Store) {
        let a = tenant(store, "A").await;
        let b = tenant(store, "B").await;
        let mario = stored(store, &a, "Mario", "Rossi").await;
        assert_eq!(store.get_customer(b.id, mario.id).await.unwrap(), None);
        assert!(store.list_customers(b.id, &all(50)).await.unwrap().is_empty());
        assert_eq!(store.list_customers(a.id, &all(50)).await.unwrap().len(), 1);
        // An update addressed to the wrong tenant finds nothing to change.
        let mut hijack = mario.clone();
        hijack.tenant_id = b.id;
        hijack.version = 2;
        let err = store.update_customer(&hijack, 1, &audited(&hijack, AuditAction::CustomerUpdated)).await.unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
        assert_eq!(store.get_customer(a.id, mario.id).await.unwrap(), Some(mario));
    }

    async fn updates_apply_only_to_the_version_they_were_based_on(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let c = stored(store, &t, "Mario", "Rossi").await;
        let mut v2 = c.clone();
        v2.data.external_ref = Some("X-2".into());
        v2.version = 2;
        v2.updated_at = Timestamp::now();
        store.update_customer(&v2, 1, &audited(&v2, AuditAction::CustomerUpdated)).await.unwrap();
        assert_eq!(store.get_customer(t.id, c.id).await.unwrap(), Some(v2.clone()));

        let mut stale = c.clone();
        stale.data.external_ref = Some("stale".into());
        stale.version = 2;
        let err = store.update_customer(&stale, 1, &audited(&stale, AuditAction::CustomerUpdated)).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::VersionConflict);
        assert_eq!(store.get_customer(t.id, c.id).await.unwrap(), Some(v2));

        let mut ghost = c.clone();
        ghost.id = CustomerId::new();
        let err = store.update_customer(&ghost, 1, &audited(&ghost, AuditAction::CustomerUpdated)).await.unwrap_err();
        assert!(matches!(err, Error::NotFound(_)));
    }

    async fn every_change_writes_its_audit_entry_and_a_refused_change_writes_none(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let c = stored(store, &t, "Mario", "Rossi").await;
        let mut v2 = c.clone();
        v2.version = 2;
        v2.deleted_at = Some(Timestamp::now());
        let entry = audit(&v2, AuditAction::CustomerDeleted).with_changes(json!({"deleted": true}));
        store.update_customer(&v2, 1, &CustomerWrite::audited(entry.clone())).await.unwrap();
        let stale = audit(&v2, AuditAction::CustomerRestored);
        assert!(store.update_customer(&v2, 1, &CustomerWrite::audited(stale)).await.is_err());

        let query = AuditQuery { customer_id: Some(c.id), limit: 10, ..AuditQuery::default() };
        let entries = store.list_audit(t.id, &query).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["customer.deleted", "customer.created"]);
        // As written, plus its place in the tenant's chain: the second entry, after the creation.
        assert_eq!((entries[0].seq, entries[1].seq), (2, 1));
        let hash = clientele_core::audit::chain::chain_hash(
            &hex_hash(entries[1].hash.as_deref().unwrap()),
            2,
            &entry,
            None,
        );
        assert_eq!(entries[0].hash.as_deref(), Some(hex(&hash).as_str()));
        assert_eq!(clientele_core::audit::entry::AuditEntry { seq: 0, hash: None, ..entries[0].clone() }, entry);
        let other = tenant(store, "Other").await;
        assert!(store.list_audit(other.id, &query).await.unwrap().is_empty());
    }

    async fn external_refs_are_unique_within_a_tenant_only(store: &dyn Store) {
        let a = tenant(store, "A").await;
        let b = tenant(store, "B").await;
        let first = customer(&a, json!({"first_name": "A", "last_name": "A", "external_ref": "R-1"}));
        store.insert_customer(&first, &audited(&first, AuditAction::CustomerCreated)).await.unwrap();
        let same_ref = customer(&a, json!({"first_name": "B", "last_name": "B", "external_ref": "R-1"}));
        let err = store
            .insert_customer(&same_ref, &audited(&same_ref, AuditAction::CustomerCreated))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::DuplicateExternalRef);
        assert_eq!(store.get_customer(a.id, same_ref.id).await.unwrap(), None, "nothing half-written");
        let elsewhere = customer(&b, json!({"first_name": "C", "last_name": "C", "external_ref": "R-1"}));
        store.insert_customer(&elsewhere, &audited(&elsewhere, AuditAction::CustomerCreated)).await.unwrap();
        assert_eq!(store.customer_with_external_ref(a.id, "R-1").await.unwrap(), Some(first.id));
        assert_eq!(store.customer_with_external_ref(b.id, "R-1").await.unwrap(), Some(elsewhere.id));
        assert_eq!(store.customer_with_external_ref(a.id, "R-2").await.unwrap(), None);
    }

    async fn a_batch_is_written_whole_or_not_at_all(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let make = |n: u32, r: &str| {
            let c = customer(&t, json!({"first_name": format!("N{n}"), "last_name": "X", "external_ref": r}));
            let w = audited(&c, AuditAction::CustomerCreated);
            (c, w)
        };
        store.insert_customers(t.id, &[make(1, "a"), make(2, "b")]).await.unwrap();
        let err = store.insert_customers(t.id, &[make(3, "c"), make(4, "a")]).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::DuplicateExternalRef);
        assert_eq!(store.list_customers(t.id, &all(50)).await.unwrap().len(), 2);
    }

    async fn duplicate_emails_are_found_among_live_customers_of_the_tenant(store: &dyn Store) {
        let a = tenant(store, "A").await;
        let b = tenant(store, "B").await;
        let email = json!("same@example.com");
        let mk = |t: &clientele_core::accounts::tenant::Tenant| {
            customer(t, json!({"first_name": "S", "last_name": "S", "email": email}))
        };
        let (one, two, deleted, foreign) = (mk(&a), mk(&a), mk(&a), mk(&b));
        for c in [&one, &two, &deleted, &foreign] {
            store.insert_customer(c, &audited(c, AuditAction::CustomerCreated)).await.unwrap();
        }
        let mut gone = deleted.clone();
        gone.deleted_at = Some(Timestamp::now());
        gone.version = 2;
        store.update_customer(&gone, 1, &audited(&gone, AuditAction::CustomerDeleted)).await.unwrap();
        let found = store.customers_with_email(a.id, &Email::parse("same@example.com").unwrap(), one.id, None).await.unwrap();
        assert_eq!(found, vec![two.id]);
    }

    async fn lists_page_through_every_customer_once_newest_first(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let mut ids = Vec::new();
        for i in 0..23 {
            ids.push(stored(store, &t, &format!("N{i:02}"), "X").await.id);
        }
        ids.reverse();
        let mut seen = Vec::new();
        let mut query = all(5);
        loop {
            let page = store.list_customers(t.id, &query).await.unwrap();
            seen.extend(page.iter().map(|c| c.id));
            match page.last() {
                Some(last) if page.len() == 5 => query.after = Some(last.id),
                _ => break,
            }
        }
        assert_eq!(seen, ids);
    }

    async fn list_filters_combine(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let partner = customer(&t, json!({"kind": "partner", "company_name": "Agency"}));
        store.insert_customer(&partner, &audited(&partner, AuditAction::CustomerCreated)).await.unwrap();
        let mut vip = customer(&t, json!({"first_name": "Vip", "last_name": "Client", "partner_id": partner.id}));
        vip.vip = true;
        store.insert_customer(&vip, &audited(&vip, AuditAction::CustomerCreated)).await.unwrap();
        let staff = customer(&t, json!({"kind": "staff", "first_name": "Dan", "last_name": "Driver"}));
        store.insert_customer(&staff, &audited(&staff, AuditAction::CustomerCreated)).await.unwrap();
        let mut deleted = stored(store, &t, "Del", "Eted").await;
        deleted.deleted_at = Some(Timestamp::now());
        deleted.version = 2;
        store.update_customer(&deleted, 1, &audited(&deleted, AuditAction::CustomerDeleted)).await.unwrap();

        let list = |query: CustomerQuery| async move { names(&store.list_customers(t.id, &query).await.unwrap()) };
        assert_eq!(list(all(50)).await, ["Dan Driver", "Vip Client", "Agency"]);
        assert_eq!(list(CustomerQuery { include_deleted: true, ..all(50) }).await.len(), 4);
        assert_eq!(list(CustomerQuery { kind: Some(CustomerKind::Staff), ..all(50) }).await, ["Dan Driver"]);
        assert_eq!(list(CustomerQuery { vip: Some(true), ..all(50) }).await, ["Vip Client"]);
        assert_eq!(list(CustomerQuery { vip: Some(false), ..all(50) }).await, ["Dan Driver", "Agency"]);
        assert_eq!(list(CustomerQuery { partner_id: Some(partner.id), ..all(50) }).await, ["Vip Client"]);
        assert_eq!(list(CustomerQuery::all(CustomerScope::Partner(partner.id), 50)).await, ["Vip Client"]);
        assert!(list(CustomerQuery::all(CustomerScope::Driver(clientele_core::ids::UserId::new()), 50)).await.is_empty());
        let future = Timestamp::now().add(std::time::Duration::from_secs(60));
        assert!(list(CustomerQuery { created_from: Some(future), ..all(50) }).await.is_empty());
        assert_eq!(list(CustomerQuery { created_before: Some(future), ..all(50) }).await.len(), 3);
        assert_eq!(list(CustomerQuery { created_before: Some(vip.created_at), ..all(50) }).await, ["Agency"]);
        assert_eq!(list(all(2)).await.len(), 2);
    }

    async fn notes_are_listed_newest_first_with_their_author(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let other = tenant(store, "Other").await;
        let c = stored(store, &t, "Mario", "Rossi").await;
        let note = |body: &str| NewNote {
            id: NoteId::new(),
            tenant_id: t.id,
            customer_id: c.id,
            author_id: None,
            body: body.into(),
            created_at: Timestamp::now(),
        };
        let (first, second) = (note("first"), note("second"));
        for n in [&first, &second] {
            let entry = clientele_core::audit::entry::AuditEntry::new(
                &clientele_core::accounts::auth::Actor::command_line(t.id),
                t.id,
                AuditAction::NoteAdded,
                "note",
                n.id.as_uuid(),
                Some(c.id),
            );
            store.insert_note(n, &entry).await.unwrap();
        }
        let notes = store.list_notes(t.id, c.id).await.unwrap();
        let bodies: Vec<&str> = notes.iter().map(|n| n.body.as_str()).collect();
        assert_eq!(bodies, ["second", "first"]);
        assert_eq!(notes[1].created_at, first.created_at);
        assert_eq!(notes[1].author.id, None);
        assert!(store.list_notes(other.id, c.id).await.unwrap().is_empty());
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_hash(text: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..64).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect();
    bytes.try_into().unwrap()
}
