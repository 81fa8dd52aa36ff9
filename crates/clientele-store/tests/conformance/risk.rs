//! Blacklist entries, the global list and orders, at the storage level.

use std::time::Duration;

use clientele_core::ErrorCode;
use clientele_core::accounts::tenant::Tenant;
use clientele_core::accounts::user::{PasswordHashString, Role, User};
use clientele_core::audit::entry::AuditAction;
use clientele_core::blacklist::pseudonyms::PseudonymKey;
use clientele_core::blacklist::record::{
    BlacklistChange, BlacklistEntry, BlacklistStatus, GlobalEntry, GlobalMatch, Pseudonym, PseudonymKind, ReasonCode,
    Scope,
};
use clientele_core::blacklist::store::GlobalQuery;
use clientele_core::customers::record::Customer;
use clientele_core::customers::store::{CustomerQuery, CustomerWrite};
use clientele_core::ids::{BlacklistEntryId, GlobalEntryId, OrderId, UserId};
use clientele_core::orders::record::{Order, OrderStatus, PaymentType, Vehicle, VehicleType};
use clientele_core::store::Store;
use clientele_core::time::Timestamp;
use clientele_core::values::Email;
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::{audited, customer, tenant};

const DAY: Duration = Duration::from_secs(86_400);

fn key() -> PseudonymKey {
    PseudonymKey::new(&[42; 32]).unwrap()
}

pub(crate) async fn person(store: &dyn Store, t: &Tenant, first: &str, last: &str, birth: &str) -> Customer {
    let c = customer(t, json!({"first_name": first, "last_name": last, "birth_date": birth}));
    store.insert_customer(&c, &audited(&c, AuditAction::CustomerCreated)).await.unwrap();
    c
}

fn entry(c: &Customer, scope: Scope, global: Option<Uuid>) -> BlacklistEntry {
    BlacklistEntry {
        id: BlacklistEntryId::new(),
        tenant_id: c.tenant_id,
        customer_id: c.id,
        scope,
        reason_code: ReasonCode::UnpaidDamage,
        note: Some("scratched the car and left".into()),
        created_at: Timestamp::now(),
        created_by: None,
        lifted_at: None,
        lifted_by: None,
        lift_note: None,
        global_entry_id: global.map(GlobalEntryId::from_uuid),
    }
}

fn global_entry(c: &Customer, expires_in: Duration) -> GlobalEntry {
    let now = Timestamp::now();
    GlobalEntry {
        id: GlobalEntryId::new(),
        pseudonyms: key().pseudonyms(&c.data),
        reason_code: ReasonCode::UnpaidDamage,
        flagging_tenant_id: c.tenant_id,
        flagging_customer_id: c.id,
        key_id: key().id(),
        created_at: now,
        expires_at: now.add(expires_in),
        lifted_at: None,
    }
}

/// Blacklists `c` (globally when `global` is given) and returns the stored customer.
async fn flag(store: &dyn Store, c: &Customer, global: Option<GlobalEntry>) -> (Customer, BlacklistEntry) {
    let scope = if global.is_some() { Scope::Global } else { Scope::Tenant };
    let e = entry(c, scope, global.as_ref().map(|g| g.id).map(|id| id.as_uuid()));
    let updated = Customer { blacklist_scope: Some(scope), version: c.version + 1, ..c.clone() };
    let write = CustomerWrite {
        blacklist: vec![BlacklistChange::Add { entry: e.clone(), global: global.map(Box::new) }],
        ..audited(c, AuditAction::BlacklistAdded)
    };
    store.update_customer(&updated, c.version, &write).await.unwrap();
    (updated, e)
}

fn hashes(c: &Customer) -> Vec<[u8; 32]> {
    key().pseudonyms(&c.data).into_iter().map(|p| p.hash).collect()
}

pub(crate) fn order(c: &Customer, driver: Option<UserId>, status: OrderStatus) -> Order {
    let now = Timestamp::now();
    Order {
        id: OrderId::new(),
        tenant_id: c.tenant_id,
        customer_id: c.id,
        second_driver_id: None,
        driver_id: driver,
        pickup_at: now.add(DAY),
        pickup_place: "Roma Termini".into(),
        return_at: now.add(DAY * 3),
        return_place: "Roma Fiumicino".into(),
        cargos: Default::default(),
        vehicle: Vehicle {
            plate: "AB123CD".into(),
            make: Some("Fiat".into()),
            model: Some("Panda".into()),
            vehicle_type: VehicleType::Car,
            colour: None,
            type_code: Some("0".into()),
        },
        payment_type: PaymentType::CreditCard,
        status,
        blacklist_at_creation: BlacklistStatus::None,
        override_: None,
        override_request: None,
        created_by: None,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

pub(crate) async fn driver(store: &dyn Store, t: &Tenant) -> UserId {
    let user = User {
        tenant_id: t.id,
        id: UserId::new(),
        email: Email::parse(&format!("driver-{}@example.com", Uuid::now_v7().simple())).unwrap(),
        role: Role::Driver,
        partner_id: None,
        password_hash: PasswordHashString::from_stored("x".into()),
        disabled: false,
        token_generation: 0,
        created_at: Timestamp::now(),
    };
    store.insert_user(&user).await.unwrap();
    user.id
}

conformance! {
    async fn blacklist_entries_are_added_lifted_and_kept_as_history(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let c = person(store, &t, "Mario", "Rossi", "1980-01-01").await;
        let (flagged, e) = flag(store, &c, None).await;
        assert_eq!(store.get_customer(t.id, c.id).await.unwrap().unwrap().blacklist_scope, Some(Scope::Tenant));
        let lifted_at = Timestamp::now();
        let lift = CustomerWrite {
            blacklist: vec![BlacklistChange::Lift {
                entry_id: Some(e.id),
                at: lifted_at,
                by: None,
                note: Some("paid".into()),
                global_entry_id: None,
            }],
            ..audited(&c, AuditAction::BlacklistLifted)
        };
        let cleared = Customer { blacklist_scope: None, version: flagged.version + 1, ..flagged.clone() };
        store.update_customer(&cleared, flagged.version, &lift).await.unwrap();
        // Lifting twice is refused and changes nothing.
        let again = Customer { version: cleared.version + 1, ..cleared.clone() };
        let err = store.update_customer(&again, cleared.version, &lift).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotBlacklisted);
        assert_eq!(store.get_customer(t.id, c.id).await.unwrap(), Some(cleared));
        let history = store.blacklist_history(t.id, c.id).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].lifted_at, Some(lifted_at));
        assert_eq!(history[0].lift_note.as_deref(), Some("paid"));
        assert_eq!(history[0].note, e.note);
        let other = tenant(store, "Other").await;
        assert!(store.blacklist_history(other.id, c.id).await.unwrap().is_empty());
    }

    async fn a_customer_has_at_most_one_active_entry(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let c = person(store, &t, "Mario", "Rossi", "1980-01-01").await;
        let (flagged, _) = flag(store, &c, None).await;
        let second = CustomerWrite {
            blacklist: vec![BlacklistChange::Add { entry: entry(&flagged, Scope::Tenant, None), global: None }],
            ..audited(&flagged, AuditAction::BlacklistAdded)
        };
        let next = Customer { version: flagged.version + 1, ..flagged.clone() };
        assert!(store.update_customer(&next, flagged.version, &second).await.is_err());
        assert_eq!(store.blacklist_history(t.id, c.id).await.unwrap().len(), 1, "nothing half-written");
    }

    async fn global_entries_match_other_records_of_the_person_but_not_their_own(store: &dyn Store) {
        let a = tenant(store, "A").await;
        let b = tenant(store, "B").await;
        let flagged = person(store, &a, "Nicolò", "De Rossi", "1980-02-29").await;
        let global = global_entry(&flagged, DAY * 30);
        let id = global.id;
        flag(store, &flagged, Some(global)).await;
        let same_person = person(store, &b, "NICOLO", "de-rossi", "1980-02-29").await;
        let stranger = person(store, &b, "Nicolò", "De Rossi", "1980-03-01").await;
        let now = Timestamp::now();
        let key_id = key().id();
        let found = |c: &Customer| {
            let (hashes, key_id, except) = (hashes(c), key_id.clone(), (c.tenant_id, c.id));
            async move { store.find_global_matches(&hashes, &key_id, now, except).await }
        };
        assert_eq!(found(&same_person).await.unwrap(), vec![id]);
        assert!(found(&stranger).await.unwrap().is_empty());
        assert!(found(&flagged).await.unwrap().is_empty(), "a person's own flag is not a match");
        // A duplicate record in the flagging tenant matches.
        let duplicate = person(store, &a, "Nicolo", "De Rossi", "1980-02-29").await;
        assert_eq!(found(&duplicate).await.unwrap(), vec![id]);
        // Pseudonyms under another key never match.
        assert!(store.find_global_matches(&hashes(&same_person), "another-key", now, (b.id, same_person.id)).await.unwrap().is_empty());
        assert!(store.find_global_matches(&[], &key().id(), now, (b.id, same_person.id)).await.unwrap().is_empty());
    }

    async fn expired_and_lifted_global_entries_stop_matching(store: &dyn Store) {
        let a = tenant(store, "A").await;
        let b = tenant(store, "B").await;
        let short = person(store, &a, "Anna", "Bianchi", "1990-05-05").await;
        let global = global_entry(&short, DAY);
        flag(store, &short, Some(global)).await;
        let probe = person(store, &b, "Anna", "Bianchi", "1990-05-05").await;
        let later = Timestamp::now().add(DAY * 2);
        assert!(store.find_global_matches(&hashes(&probe), &key().id(), later, (b.id, probe.id)).await.unwrap().is_empty());
        assert_eq!(store.find_global_matches(&hashes(&probe), &key().id(), Timestamp::now(), (b.id, probe.id)).await.unwrap().len(), 1);
    }

    async fn lifting_a_global_entry_clears_the_badges_it_caused_unless_another_entry_matched(store: &dyn Store) {
        let a = tenant(store, "A").await;
        let b = tenant(store, "B").await;
        let c = tenant(store, "C").await;
        let by_a = person(store, &a, "Luca", "Verdi", "1975-07-07").await;
        let by_c = person(store, &c, "Luca", "Verdi", "1975-07-07").await;
        let entry_a = global_entry(&by_a, DAY * 30);
        let (entry_a_id, flagged_a) = (entry_a.id, flag(store, &by_a, Some(entry_a)).await);
        let entry_c = global_entry(&by_c, DAY * 30);
        let entry_c_id = entry_c.id;
        flag(store, &by_c, Some(entry_c)).await;

        // Tenant B's record matched both entries at its last check.
        let mut matched = customer(&b, json!({"first_name": "Luca", "last_name": "Verdi", "birth_date": "1975-07-07"}));
        let now = Timestamp::now();
        matched.global_match_at = Some(now);
        let found = |entry_id| GlobalMatch { entry_id, tenant_id: b.id, customer_id: matched.id, context: "customer_created", matched_at: now };
        let write = CustomerWrite { global_matches: vec![found(entry_a_id), found(entry_c_id)], ..audited(&matched, AuditAction::CustomerCreated) };
        store.insert_customer(&matched, &write).await.unwrap();

        let lift = |customer: &Customer, entry: &BlacklistEntry, global: Uuid| {
            let cleared = Customer { blacklist_scope: None, version: customer.version + 1, ..customer.clone() };
            let write = CustomerWrite {
                blacklist: vec![BlacklistChange::Lift { entry_id: Some(entry.id), at: Timestamp::now(), by: None, note: None, global_entry_id: Some(GlobalEntryId::from_uuid(global)) }],
                ..audited(customer, AuditAction::BlacklistLifted)
            };
            (cleared, write)
        };
        let (cleared, write) = lift(&flagged_a.0, &flagged_a.1, entry_a_id.as_uuid());
        store.update_customer(&cleared, flagged_a.0.version, &write).await.unwrap();
        assert!(store.get_customer(b.id, matched.id).await.unwrap().unwrap().global_match_at.is_some(), "C's entry still matches");
        let c_current = store.get_customer(c.id, by_c.id).await.unwrap().unwrap();
        let c_entry = store.blacklist_history(c.id, by_c.id).await.unwrap().remove(0);
        let (cleared, write) = lift(&c_current, &c_entry, entry_c_id.as_uuid());
        store.update_customer(&cleared, c_current.version, &write).await.unwrap();
        assert_eq!(store.get_customer(b.id, matched.id).await.unwrap().unwrap().global_match_at, None);
        let listed = store.list_global_entries(&GlobalQuery { include_lifted: true, after: None, limit: 10 }).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|e| e.lifted_at.is_some()));
        assert!(store.list_global_entries(&GlobalQuery { limit: 10, ..GlobalQuery::default() }).await.unwrap().is_empty());
    }

    async fn rekeying_replaces_pseudonyms_and_the_key_id(store: &dyn Store) {
        let a = tenant(store, "A").await;
        let b = tenant(store, "B").await;
        let flagged = person(store, &a, "Eva", "Nováková", "1985-12-24").await;
        let global = global_entry(&flagged, DAY * 30);
        let id = global.id;
        flag(store, &flagged, Some(global)).await;
        let probe = person(store, &b, "Eva", "Novakova", "1985-12-24").await;
        let new_key = PseudonymKey::new(&[7; 32]).unwrap();
        store.replace_pseudonyms(&[(id, new_key.id(), new_key.pseudonyms(&flagged.data))]).await.unwrap();
        let now = Timestamp::now();
        assert!(store.find_global_matches(&hashes(&probe), &key().id(), now, (b.id, probe.id)).await.unwrap().is_empty());
        let new_hashes: Vec<[u8; 32]> = new_key.pseudonyms(&probe.data).into_iter().map(|p| p.hash).collect();
        assert_eq!(store.find_global_matches(&new_hashes, &new_key.id(), now, (b.id, probe.id)).await.unwrap(), vec![id]);
        assert_eq!(store.get_global_entry(id).await.unwrap().unwrap().key_id, new_key.id());
        let bogus = Pseudonym { kind: PseudonymKind::Identity, hash: [0; 32] };
        assert!(store.replace_pseudonyms(&[(GlobalEntryId::new(), new_key.id(), vec![bogus])]).await.is_err());
    }

    async fn the_blacklisted_filter_follows_both_badges(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let clean = person(store, &t, "Clean", "Person", "1980-01-01").await;
        let flagged = person(store, &t, "Flagged", "Person", "1980-01-01").await;
        flag(store, &flagged, None).await;
        let mut matched = customer(&t, json!({"first_name": "Matched", "last_name": "Person"}));
        matched.global_match_at = Some(Timestamp::now());
        store.insert_customer(&matched, &audited(&matched, AuditAction::CustomerCreated)).await.unwrap();
        let ids = |blacklisted| async move {
            let query = CustomerQuery { blacklisted: Some(blacklisted), ..CustomerQuery::all(clientele_core::accounts::access::CustomerScope::All, 10) };
            store.list_customers(t.id, &query).await.unwrap().into_iter().map(|c| c.id).collect::<Vec<_>>()
        };
        assert_eq!(ids(true).await, vec![matched.id, flagged.id]);
        assert_eq!(ids(false).await, vec![clean.id]);
    }

}
