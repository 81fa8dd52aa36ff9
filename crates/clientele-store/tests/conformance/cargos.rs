//! Ca.R.G.O.S.: agencies scoped to their tenant with unique live codes; settings; at most one
//! send of an order under way or accepted; queued checks leased to one worker at a time, and
//! fenced; sends abandoned by a dead worker failed, never retried; refreshed tables.

use std::time::Duration;

use clientele_core::ErrorCode;
use clientele_core::cargos::agencies::RentalAgency;
use clientele_core::cargos::settings::{CargosSettings, OnActivation};
use clientele_core::cargos::store::StoredTables;
use clientele_core::cargos::submissions::{
    Submission, SubmissionAction, SubmissionFailure, SubmissionFilter, SubmissionOrigin, SubmissionStatus,
};
use clientele_core::documents::vault::SealedSecret;
use clientele_core::ids::{AgencyId, SubmissionId, TenantId};
use clientele_core::orders::record::{Order, OrderStatus};
use clientele_core::store::Store;
use clientele_core::time::Timestamp;
use uuid::Uuid;

use crate::fixtures::tenant;
use crate::risk::{order, person};

fn agency(tenant: TenantId, code: &str) -> RentalAgency {
    let now = Timestamp::now();
    RentalAgency {
        id: AgencyId::new(),
        tenant_id: tenant,
        code: code.into(),
        name: "Rent and Go Roma".into(),
        place_code: "412058091".into(),
        address: "Via Marsala 29".into(),
        phone: "061234567".into(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
    }
}

fn submission(order: &Order, action: SubmissionAction, status: SubmissionStatus) -> Submission {
    Submission {
        id: SubmissionId::new(),
        tenant_id: order.tenant_id,
        order_id: order.id,
        action,
        status,
        origin: SubmissionOrigin::Manual,
        then_send: false,
        record: Some("the record".into()),
        record_sha256: Some("ab".into()),
        transaction_id: None,
        errors: Vec::new(),
        failure: None,
        created_by: None,
        created_at: Timestamp::now(),
        finished_at: None,
        attempts: 1,
        lease: Some((Uuid::new_v4(), Timestamp::now().add(Duration::from_secs(60)))),
    }
}

async fn stored_order(store: &dyn Store, name: &str) -> Order {
    let t = tenant(store, name).await;
    let renter = person(store, &t, "Mario", "Rossi", "1980-01-01").await;
    let order = order(&renter, None, OrderStatus::Confirmed);
    store.insert_order(&order, &[], &[]).await.unwrap();
    order
}

conformance! {
    async fn agencies_are_scoped_to_their_tenant_with_unique_live_codes(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let other = tenant(store, "Other").await;
        let first = agency(t.id, "RM-01");
        store.insert_agency(&first, &[]).await.unwrap();
        assert_eq!(store.get_agency(t.id, first.id).await.unwrap(), Some(first.clone()));
        assert_eq!(store.get_agency(other.id, first.id).await.unwrap(), None);
        assert!(store.list_agencies(other.id, true).await.unwrap().is_empty());
        store.insert_agency(&agency(other.id, "RM-01"), &[]).await.unwrap();
        let twin = store.insert_agency(&agency(t.id, "RM-01"), &[]).await.unwrap_err();
        assert_eq!(twin.code(), ErrorCode::Conflict);
        let deleted = RentalAgency { deleted_at: Some(Timestamp::now()), version: 2, ..first.clone() };
        store.update_agency(&deleted, 1, &[]).await.unwrap();
        assert_eq!(store.update_agency(&deleted, 1, &[]).await.unwrap_err().code(), ErrorCode::VersionConflict);
        store.insert_agency(&agency(t.id, "RM-01"), &[]).await.unwrap();
        assert_eq!(store.list_agencies(t.id, false).await.unwrap().len(), 1);
        assert_eq!(store.list_agencies(t.id, true).await.unwrap().len(), 2);
    }

    async fn settings_keep_sealed_credentials_per_tenant(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let other = tenant(store, "Other").await;
        assert_eq!(store.cargos_settings(t.id).await.unwrap(), None);
        let settings = CargosSettings {
            credentials: Some(SealedSecret { key_id: "k1".into(), sealed: vec![1, 2, 3] }),
            credentials_set_at: Some(Timestamp::now()),
            on_activation: OnActivation::CheckAndSend,
            ..CargosSettings::unset(t.id)
        };
        store.put_cargos_settings(&settings, &[]).await.unwrap();
        store.put_cargos_settings(&CargosSettings::unset(other.id), &[]).await.unwrap();
        assert_eq!(store.cargos_settings(t.id).await.unwrap(), Some(settings.clone()));
        let with_credentials = store.settings_with_credentials().await.unwrap();
        assert_eq!(with_credentials, vec![settings.clone()]);
        let cleared = CargosSettings { credentials: None, credentials_set_at: None, ..settings };
        store.put_cargos_settings(&cleared, &[]).await.unwrap();
        assert_eq!(store.cargos_settings(t.id).await.unwrap(), Some(cleared));
    }

    async fn an_order_has_at_most_one_send_under_way_or_accepted(store: &dyn Store) {
        let order = stored_order(store, "T").await;
        let first = submission(&order, SubmissionAction::Send, SubmissionStatus::Running);
        store.insert_submission(&first, &[]).await.unwrap();
        let second = submission(&order, SubmissionAction::Send, SubmissionStatus::Running);
        assert_eq!(store.insert_submission(&second, &[]).await.unwrap_err().code(), ErrorCode::CargosAlreadySent);
        // A check beside it is fine.
        store.insert_submission(&submission(&order, SubmissionAction::Check, SubmissionStatus::Checked), &[]).await.unwrap();
        let failed = Submission { status: SubmissionStatus::Failed, finished_at: Some(Timestamp::now()), ..first.clone() };
        assert!(store.finish_submission(&failed, &[]).await.unwrap());
        assert!(!store.finish_submission(&failed, &[]).await.unwrap(), "a finished submission stays finished");
        store.insert_submission(&second, &[]).await.unwrap();
        let accepted = Submission { status: SubmissionStatus::Accepted, transaction_id: Some("2026/RM/1".into()), ..second.clone() };
        assert!(store.finish_submission(&accepted, &[]).await.unwrap());
        let third = submission(&order, SubmissionAction::Send, SubmissionStatus::Running);
        assert_eq!(store.insert_submission(&third, &[]).await.unwrap_err().code(), ErrorCode::CargosAlreadySent);
        let listed = store.order_submissions(order.tenant_id, order.id).await.unwrap();
        assert_eq!(listed.len(), 3);
        let accepted = listed.iter().find(|s| s.status == SubmissionStatus::Accepted).unwrap();
        assert_eq!(accepted.transaction_id.as_deref(), Some("2026/RM/1"));
        let filter = SubmissionFilter { status: Some(SubmissionStatus::Failed), order_id: None };
        let finished = Submission { lease: None, ..failed };
        assert_eq!(store.list_submissions(order.tenant_id, &filter, None, 10).await.unwrap(), vec![finished]);
        let other = tenant(store, "Other").await;
        assert!(store.order_submissions(other.id, order.id).await.unwrap().is_empty());
        assert!(store.list_submissions(other.id, &SubmissionFilter::default(), None, 10).await.unwrap().is_empty());
    }

    async fn queued_checks_are_leased_to_one_worker_at_a_time_and_fenced(store: &dyn Store) {
        let order = stored_order(store, "T").await;
        let queued = Submission {
            status: SubmissionStatus::Pending,
            origin: SubmissionOrigin::Activation,
            record: None,
            record_sha256: None,
            lease: None,
            attempts: 0,
            ..submission(&order, SubmissionAction::Check, SubmissionStatus::Pending)
        };
        let active = Order { status: OrderStatus::Active, version: 2, ..order.clone() };
        store.update_order(&active, 1, &[], &[], Some(&queued)).await.unwrap();
        let (one, two) = (Uuid::new_v4(), Uuid::new_v4());
        let now = Timestamp::now();
        let lease = Duration::from_secs(60);
        let claimed = store.claim_submission(one, now, now.add(lease)).await.unwrap().unwrap();
        assert_eq!((claimed.id, claimed.status, claimed.attempts), (queued.id, SubmissionStatus::Running, 1));
        assert_eq!(store.claim_submission(two, now, now.add(lease)).await.unwrap(), None, "leased to one");
        // The lease runs out (the first worker died): the second takes it over, and the first
        // can no longer write.
        let later = now.add(lease * 2);
        let taken = store.claim_submission(two, later, later.add(lease)).await.unwrap().unwrap();
        assert_eq!(taken.attempts, 2);
        let late = Submission { status: SubmissionStatus::Checked, ..claimed };
        assert!(!store.finish_submission(&late, &[]).await.unwrap());
        let done = Submission { status: SubmissionStatus::Checked, finished_at: Some(later), ..taken };
        assert!(store.finish_submission(&done, &[]).await.unwrap());
        assert_eq!(store.claim_submission(one, later, later.add(lease)).await.unwrap(), None);

        // A send left running by a dead worker is failed, never taken over.
        let sending = submission(&order, SubmissionAction::Send, SubmissionStatus::Running);
        store.insert_submission(&sending, &[]).await.unwrap();
        let far = later.add(lease * 10);
        assert_eq!(store.claim_submission(one, far, far.add(lease)).await.unwrap(), None);
        let unknown = SubmissionFailure { code: "cargos_unavailable".into(), message: "outcome unknown".into() };
        assert_eq!(store.fail_abandoned_sends(now, &unknown).await.unwrap(), 0, "its lease still runs");
        assert_eq!(store.fail_abandoned_sends(far, &unknown).await.unwrap(), 1);
        let listed = store.order_submissions(order.tenant_id, order.id).await.unwrap();
        assert_eq!((listed[0].status, listed[0].failure.as_ref()), (SubmissionStatus::Failed, Some(&unknown)));
    }

    async fn refreshed_tables_replace_each_other_whole(store: &dyn Store) {
        assert_eq!(store.cargos_tables().await.unwrap(), None);
        let first = StoredTables {
            payment_types: "ID#Descrizione\n0#Carta".into(),
            places: "CODICE#DESCRIZIONE#PROVINCIA#DATAFINEVAL\n412058091#ROMA#RM#".into(),
            vehicle_types: "ID#Descrizione\n0#Autovetture".into(),
            document_types: "CODICE#DESCRIZIONE\nPATEN#PATENTE".into(),
            fetched_at: Timestamp::now(),
        };
        store.put_cargos_tables(&first).await.unwrap();
        assert_eq!(store.cargos_tables().await.unwrap(), Some(first.clone()));
        let second = StoredTables { places: format!("{}\n403015146#MILANO#MI#", first.places), fetched_at: Timestamp::now(), ..first };
        store.put_cargos_tables(&second).await.unwrap();
        assert_eq!(store.cargos_tables().await.unwrap(), Some(second));
    }
}
