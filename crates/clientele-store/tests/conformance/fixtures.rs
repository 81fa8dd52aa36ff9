//! Builders for the records the checks store.

use clientele_core::accounts::auth::Actor;
use clientele_core::accounts::tenant::Tenant;
use clientele_core::audit::entry::{AuditAction, AuditEntry};
use clientele_core::customers::input::{CustomerInput, Rules};
use clientele_core::customers::record::Customer;
use clientele_core::customers::store::CustomerWrite;
use clientele_core::ids::CustomerId;
use clientele_core::store::Store;
use clientele_core::time::Timestamp;
use clientele_core::values::PhoneRegion;

/// A stored tenant in Italy.
pub async fn tenant(store: &dyn Store, name: &str) -> Tenant {
    let tenant = Tenant::parse_new(name, "IT", None).unwrap();
    store.insert_tenant(&tenant).await.unwrap();
    tenant
}

/// An unsaved customer of `tenant` built from API-shaped JSON.
pub fn customer(tenant: &Tenant, json: serde_json::Value) -> Customer {
    let input: CustomerInput = serde_json::from_value(json).unwrap();
    let rules = Rules {
        phone_region: PhoneRegion::parse("IT").unwrap(),
        today: Timestamp::now().date(),
        cargos: Default::default(),
    };
    let data = input.validate(&rules).unwrap();
    let now = Timestamp::now();
    Customer {
        id: CustomerId::new(),
        tenant_id: tenant.id,
        phone_status: None,
        data,
        vip: false,
        vip_changed_at: None,
        vip_changed_by: None,
        blacklist_scope: None,
        global_match_at: None,
        created_at: now,
        updated_at: now,
        created_by: None,
        deleted_at: None,
        version: 1,
    }
}

/// The audit entry for `action` on `customer` by a command-line actor.
pub fn audit(customer: &Customer, action: AuditAction) -> AuditEntry {
    let actor = Actor::command_line(customer.tenant_id);
    AuditEntry::new(&actor, customer.tenant_id, action, "customer", customer.id.as_uuid(), Some(customer.id))
}

/// A write carrying only the audit entry for `action` on `customer`.
pub fn audited(customer: &Customer, action: AuditAction) -> CustomerWrite {
    CustomerWrite::audited(audit(customer, action))
}

/// Stores a customer named `first last` and returns it.
pub async fn stored(store: &dyn Store, tenant: &Tenant, first: &str, last: &str) -> Customer {
    let c = customer(tenant, serde_json::json!({"first_name": first, "last_name": last}));
    store.insert_customer(&c, &audited(&c, AuditAction::CustomerCreated)).await.unwrap();
    c
}
