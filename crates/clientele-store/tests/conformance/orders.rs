//! Orders: versioned changes, scoped to their tenant, listed by renter or second driver; the
//! database's own guard against a confirmed order for a blacklisted customer; drivers' reach.

use clientele_core::audit::entry::AuditAction;
use clientele_core::customers::store::CustomerQuery;
use clientele_core::ids::CustomerId;
use clientele_core::orders::record::{Order, OrderStatus};
use clientele_core::store::Store;
use clientele_core::{Error, ErrorCode};

use crate::fixtures::{audit, tenant};
use crate::risk::{driver, order, person};
use clientele_core::blacklist::record::BlacklistStatus;

conformance! {
    async fn orders_update_by_version_and_list_by_renter_or_second_driver(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let renter = person(store, &t, "Mario", "Rossi", "1980-01-01").await;
        let second = person(store, &t, "Anna", "Rossi", "1982-01-01").await;
        let mut first = order(&renter, None, OrderStatus::Confirmed);
        first.second_driver_id = Some(second.id);
        let entry = audit(&renter, AuditAction::OrderCreated);
        store.insert_order(&first, std::slice::from_ref(&entry), &[]).await.unwrap();
        assert_eq!(store.get_order(t.id, first.id).await.unwrap(), Some(first.clone()));
        let other_tenant = tenant(store, "Other").await;
        assert_eq!(store.get_order(other_tenant.id, first.id).await.unwrap(), None);

        let active = Order { status: OrderStatus::Active, version: 2, ..first.clone() };
        store.update_order(&active, 1, &[], &[], None).await.unwrap();
        let stale = Order { status: OrderStatus::Cancelled, version: 2, ..first.clone() };
        assert_eq!(store.update_order(&stale, 1, &[], &[], None).await.unwrap_err().code(), ErrorCode::VersionConflict);
        assert_eq!(store.get_order(t.id, first.id).await.unwrap(), Some(active.clone()));

        let later = order(&renter, None, OrderStatus::Confirmed);
        store.insert_order(&later, &[], &[]).await.unwrap();
        let ids = |c: CustomerId| async move {
            store.list_customer_orders(t.id, c, None, 10).await.unwrap().into_iter().map(|o| o.id).collect::<Vec<_>>()
        };
        assert_eq!(ids(renter.id).await, vec![later.id, first.id]);
        assert_eq!(ids(second.id).await, vec![first.id]);
        let page = store.list_customer_orders(t.id, renter.id, Some(later.id), 10).await.unwrap();
        assert_eq!(page.len(), 1);
    }

    async fn the_database_refuses_an_order_that_found_a_blacklisted_customer_without_override(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let renter = person(store, &t, "Mario", "Rossi", "1980-01-01").await;
        let unsafe_order = Order { blacklist_at_creation: BlacklistStatus::Tenant, ..order(&renter, None, OrderStatus::Confirmed) };
        let err = store.insert_order(&unsafe_order, &[], &[]).await.unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
        let waiting = Order { status: OrderStatus::AwaitingOverride, ..unsafe_order.clone() };
        store.insert_order(&waiting, &[], &[]).await.unwrap();
    }

    async fn drivers_reach_only_customers_of_their_live_orders(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let dan = driver(store, &t).await;
        let eve = driver(store, &t).await;
        let mine = person(store, &t, "Mine", "Customer", "1980-01-01").await;
        let second = person(store, &t, "Second", "Driver", "1980-01-01").await;
        let theirs = person(store, &t, "Their", "Customer", "1980-01-01").await;
        let done = person(store, &t, "Done", "Customer", "1980-01-01").await;
        let mut live = order(&mine, Some(dan), OrderStatus::Confirmed);
        live.second_driver_id = Some(second.id);
        store.insert_order(&live, &[], &[]).await.unwrap();
        store.insert_order(&order(&theirs, Some(eve), OrderStatus::Active), &[], &[]).await.unwrap();
        store.insert_order(&order(&done, Some(dan), OrderStatus::Completed), &[], &[]).await.unwrap();
        for (customer, expected) in [(&mine, true), (&second, true), (&theirs, false), (&done, false)] {
            assert_eq!(store.is_assigned_to_driver(t.id, dan, customer.id).await.unwrap(), expected, "{}", customer.display_name());
        }
        let scope = clientele_core::accounts::access::CustomerScope::Driver(dan);
        let listed: Vec<CustomerId> = store.list_customers(t.id, &CustomerQuery::all(scope, 10)).await.unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(listed, vec![second.id, mine.id]);
    }
}
