//! Order services. Creating or activating an order is where a rental is being prepared: the
//! renter and the second driver are checked against the tenant's and the global blacklist, and a
//! hit stops the order unless an admin overrides it (or an operator asks for that).

use crate::paging::Paging;

use crate::ids::OrderId;
use serde_json::json;

use crate::events::payload;
use crate::events::record::{EventType, OutboxEvent};

use crate::accounts::access::{Capability, CustomerScope, Grant};
use crate::accounts::auth::Actor;
use crate::accounts::user::Role;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::blacklist::record::{BlacklistStatus, GlobalMatch};
use crate::blacklist::services::Hit;
use crate::customers::record::Customer;
use crate::error::{Error, ErrorCode, FieldCode, Result};
use crate::ids::{CustomerId, TenantId, UserId};
use crate::orders::record::{
    ApproveOverride, Order, OrderForm, OrderInput, OrderPatch, OrderRead, OrderStatus, OrderView, OrderWarning,
    OrderWarningCode, Override, OverrideRequest, license_warnings, override_reason, reason_field,
};
use crate::paging::{Page, next_cursor};
use crate::time::Timestamp;

/// The blacklist findings for the people of an order.
struct Screening {
    hits: Vec<(CustomerId, Hit)>,
}

impl Screening {
    fn is_hit(&self) -> bool {
        self.hits.iter().any(|(_, hit)| hit.is_hit())
    }

    fn status(&self) -> BlacklistStatus {
        if self.hits.iter().any(|(_, h)| h.is_global()) {
            BlacklistStatus::Global
        } else if self.is_hit() {
            BlacklistStatus::Tenant
        } else {
            BlacklistStatus::None
        }
    }

    fn matches(&self) -> Vec<GlobalMatch> {
        self.hits.iter().flat_map(|(_, hit)| hit.global.iter().cloned()).collect()
    }

    fn warnings(&self, app: &App) -> Vec<OrderWarning> {
        let mut warnings = Vec::new();
        for (customer_id, hit) in &self.hits {
            if hit.is_global() {
                let message = app.global_warning().message;
                warnings.push(OrderWarning {
                    code: OrderWarningCode::GloballyBlacklisted,
                    customer_id: *customer_id,
                    message,
                });
            } else if hit.is_hit() {
                let message = "the customer is on this tenant's blacklist".to_owned();
                warnings.push(OrderWarning { code: OrderWarningCode::Blacklisted, customer_id: *customer_id, message });
            }
        }
        warnings
    }
}

impl App {
    /// Creates an order. For a blacklisted renter or second driver it is refused with
    /// `409 customer_blacklisted`, unless an admin sends `override: {reason}` (the order is
    /// confirmed and the override recorded) or `request_override: true` is sent (the order waits,
    /// `awaiting_override`, for an admin).
    pub async fn create_order(&self, actor: &Actor, input: &OrderInput) -> Result<OrderView> {
        let grant = actor.require(Capability::ManageOrders)?;
        let sole_agency = self.sole_agency(grant.tenant_id).await?;
        let new = input.validate(&self.cargos_tables(), sole_agency)?;
        if new.override_reason.is_some() {
            actor.require(Capability::OverrideBlacklist)?;
        }
        let customer = self.order_party(grant.tenant_id, new.customer_id, "customer_id").await?;
        let second = match new.second_driver_id {
            Some(id) => Some(self.order_party(grant.tenant_id, id, "second_driver_id").await?),
            None => None,
        };
        if let Some(driver) = new.driver_id {
            self.check_driver(grant.tenant_id, driver).await?;
        }
        self.check_order_agencies(grant.tenant_id, &new.cargos, None).await?;
        let (pickup_place, return_place) = self.order_places_shown(grant.tenant_id, &new).await?;

        let screening = self.screen(grant.tenant_id, &customer, second.as_ref(), "order_created").await?;
        let now = Timestamp::now();
        let order_id = OrderId::new();
        let mut audit = self.match_audits(actor, grant.tenant_id, &screening, "order_created");
        let (status, override_, override_request) = match (screening.is_hit(), &new.override_reason) {
            (false, _) => (OrderStatus::Confirmed, None, None),
            (true, Some(reason)) => {
                let recorded = Override { reason: reason.clone(), by: actor.user_uuid(), at: now };
                (OrderStatus::Confirmed, Some(recorded), None)
            }
            (true, None) if new.request_override => {
                (OrderStatus::AwaitingOverride, None, Some(OverrideRequest { by: actor.user_uuid(), at: now }))
            }
            (true, None) => {
                // Refused, but the check itself is on record, and so is the refusal.
                let mut refused = AuditEntry::new(
                    actor,
                    grant.tenant_id,
                    AuditAction::OrderRefused,
                    "customer",
                    new.customer_id,
                    Some(new.customer_id),
                )
                .with_reason(ErrorCode::CustomerBlacklisted.as_str());
                refused.outcome = crate::audit::entry::Outcome::Denied;
                audit.push(refused);
                self.store().record(&audit, &screening.matches()).await?;
                return Err(self.blacklisted_error(&screening));
            }
        };
        let order = Order {
            id: order_id,
            tenant_id: grant.tenant_id,
            customer_id: new.customer_id,
            second_driver_id: new.second_driver_id,
            driver_id: new.driver_id,
            pickup_at: new.pickup_at,
            pickup_place,
            return_at: new.return_at,
            return_place,
            cargos: new.cargos,
            vehicle: new.vehicle,
            payment_type: new.payment_type,
            status,
            blacklist_at_creation: screening.status(),
            override_,
            override_request,
            created_by: actor.user_uuid(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let created = payload::about_order(actor, EventType::OrderCreated, &order, []);
        audit.insert(
            0,
            self.order_audit(actor, &order, AuditAction::OrderCreated)
                .with_changes(json!({"status": status}))
                .with_event(created),
        );
        if let Some(o) = &order.override_ {
            audit.push(self.order_audit(actor, &order, AuditAction::OrderOverridden).with_reason(o.reason.clone()));
        }
        if order.override_request.is_some() {
            audit.push(self.order_audit(actor, &order, AuditAction::OrderOverrideRequested));
        }
        self.store().insert_order(&order, &audit, &screening.matches()).await?;
        let mut warnings = if screening.is_hit() { screening.warnings(self) } else { Vec::new() };
        warnings.extend(self.license_warnings(&order, &customer, second.as_ref()));
        Ok(OrderView { order, warnings })
    }

    /// An order, for admins and operators, or (what delivering it needs) for the driver it is
    /// assigned to.
    pub async fn order(&self, actor: &Actor, id: OrderId) -> Result<OrderRead> {
        let grant = actor.require(Capability::ReadOrders)?;
        let order = self.visible_order(&grant, id).await?;
        match grant.scope {
            CustomerScope::Driver(_) => Ok(OrderRead::Driver(Box::new(order.into()))),
            _ => Ok(OrderRead::Full(Box::new(self.view_with_warnings(order).await?))),
        }
    }

    /// A customer's orders (as renter or second driver), newest first.
    pub async fn customer_orders(&self, actor: &Actor, id: CustomerId, paging: Paging) -> Result<Page<Order>> {
        let grant = actor.require(Capability::ManageOrders)?;
        self.tenant_customer(grant.tenant_id, id).await?;
        let mut orders = self
            .store()
            .list_customer_orders(grant.tenant_id, id, paging.after.map(OrderId::from_uuid), paging.limit + 1)
            .await?;
        let next_cursor = next_cursor(&mut orders, paging.limit as usize, |o| o.id);
        Ok(Page { items: orders, next_cursor })
    }

    /// An admin approves the override an operator asked for: the order is confirmed. The people
    /// on the order are screened again, so the admin sees every warning the approval covers
    /// (including a second driver added since the request).
    pub async fn approve_override(&self, actor: &Actor, id: OrderId, input: &ApproveOverride) -> Result<OrderView> {
        let grant = actor.require(Capability::OverrideBlacklist)?;
        let reason = reason_field("reason", input.reason.as_deref())?;
        let current = self.visible_order(&grant, id).await?;
        if current.status != OrderStatus::AwaitingOverride {
            return Err(Error::conflict(
                ErrorCode::OrderNotAwaitingOverride,
                format!("the order is {}, not awaiting an override", current.status.as_str()),
            ));
        }
        let renter = self.tenant_customer(grant.tenant_id, current.customer_id).await?;
        let second = match current.second_driver_id {
            Some(s) => Some(self.tenant_customer(grant.tenant_id, s).await?),
            None => None,
        };
        let screening = self.screen(grant.tenant_id, &renter, second.as_ref(), "order_approved").await?;
        let now = Timestamp::now();
        let order = Order {
            status: OrderStatus::Confirmed,
            override_: Some(Override { reason: reason.clone(), by: actor.user_uuid(), at: now }),
            updated_at: now,
            version: current.version + 1,
            ..current.clone()
        };
        let status_changed = status_event(actor, &current, &order);
        let mut audit = vec![
            self.order_audit(actor, &order, AuditAction::OrderOverridden)
                .with_reason(reason)
                .with_changes(json!({"status": {"from": current.status, "to": order.status}}))
                .with_event(status_changed),
        ];
        audit.extend(self.match_audits(actor, grant.tenant_id, &screening, "order_approved"));
        self.store().update_order(&order, current.version, &audit, &screening.matches(), None).await?;
        let mut view = self.view_with_warnings(order).await?;
        view.warnings.splice(0..0, screening.warnings(self));
        Ok(view)
    }

    /// Changes an order's status or drivers. Activating an order checks its people against the
    /// blacklists again: a hit needs an override already recorded, or one given now by an admin.
    pub async fn update_order(
        &self,
        actor: &Actor,
        id: OrderId,
        patch: &OrderPatch,
        expected_version: Option<i64>,
    ) -> Result<OrderView> {
        let grant = actor.require(Capability::ManageOrders)?;
        let current = self.visible_order(&grant, id).await?;
        let expected = match (expected_version, patch.version) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::invalid("version", FieldCode::Invalid, "differs from the If-Match header"));
            }
            (a, b) => a.or(b),
        };
        if let Some(expected) = expected.filter(|v| *v != current.version) {
            return Err(Error::version_conflict("order", expected, current.version));
        }
        let override_reason = patch.override_.as_ref().map(override_reason).transpose()?;
        if override_reason.is_some() {
            actor.require(Capability::OverrideBlacklist)?;
        }
        let mut order = current.clone();
        if let Some(driver) = patch.driver_id {
            if let Some(driver) = driver {
                self.check_driver(grant.tenant_id, UserId::from_uuid(driver)).await?;
            }
            order.driver_id = driver.map(UserId::from_uuid);
        }
        if let Some(second) = patch.second_driver_id {
            let second = second.map(CustomerId::from_uuid);
            if second == Some(order.customer_id) {
                return Err(Error::invalid(
                    "second_driver_id",
                    FieldCode::Invalid,
                    "must be another customer than the renter",
                ));
            }
            if let Some(second) = second {
                self.order_party(grant.tenant_id, second, "second_driver_id").await?;
            }
            order.second_driver_id = second;
        }
        self.apply_cargos_patch(grant.tenant_id, &mut order, patch).await?;
        if let Some(next) = patch.status.filter(|s| *s != current.status) {
            if !current.status.can_become(next) {
                return Err(Error::conflict(
                    ErrorCode::InvalidStatusTransition,
                    format!("an order that is {} cannot become {}", current.status.as_str(), next.as_str()),
                ));
            }
            order.status = next;
        }

        let now = Timestamp::now();
        let mut audit = Vec::new();
        let mut matches = Vec::new();
        // An activation, or a new second driver on an order not yet over, is a rental being
        // prepared: activating screens everyone on the order; a new second driver screens that
        // person, whatever the status (an override recorded before does not cover them).
        let new_second = order.second_driver_id.filter(|s| Some(*s) != current.second_driver_id);
        let activating = order.status == OrderStatus::Active && current.status != OrderStatus::Active;
        let over = matches!(order.status, OrderStatus::Completed | OrderStatus::Cancelled);
        let second_changed = new_second.is_some() && !over;
        if activating || second_changed {
            let second = match order.second_driver_id {
                Some(s) => Some(self.tenant_customer(grant.tenant_id, s).await?),
                None => None,
            };
            let context = if activating { "order_activated" } else { "order_updated" };
            let screening = if activating {
                let renter = self.tenant_customer(grant.tenant_id, order.customer_id).await?;
                self.screen(grant.tenant_id, &renter, second.as_ref(), context).await?
            } else {
                let Some(second) = &second else { unreachable!("a new second driver is set") };
                self.screen(grant.tenant_id, second, None, context).await?
            };
            audit.extend(self.match_audits(actor, grant.tenant_id, &screening, context));
            matches = screening.matches();
            if screening.is_hit() {
                match (&override_reason, &current.override_) {
                    (Some(reason), _) => {
                        order.override_ = Some(Override { reason: reason.clone(), by: actor.user_uuid(), at: now });
                        audit.push(
                            self.order_audit(actor, &order, AuditAction::OrderOverridden).with_reason(reason.clone()),
                        );
                    }
                    (None, Some(_)) if !second_changed => {}
                    (None, _) => {
                        self.store().record(&audit, &matches).await?;
                        return Err(self.blacklisted_error(&screening));
                    }
                }
            }
        }
        if order == current {
            return self.view_with_warnings(current).await;
        }
        order.updated_at = now;
        order.version = current.version + 1;
        let changes = json!({
            "status": {"from": current.status, "to": order.status},
            "driver_id": {"from": current.driver_id, "to": order.driver_id},
            "second_driver_id": {"from": current.second_driver_id, "to": order.second_driver_id},
        });
        let mut changes = changes;
        if order.cargos != current.cargos
            && let Some(map) = changes.as_object_mut()
        {
            map.insert("cargos".into(), json!({"from": current.cargos, "to": order.cargos}));
        }
        let mut entry = self.order_audit(actor, &order, AuditAction::OrderUpdated).with_changes(changes);
        if order.status != current.status {
            entry = entry.with_event(status_event(actor, &current, &order));
        }
        audit.insert(0, entry);
        // The moment the car leaves: the tenant's settings may check (and send) the record, in
        // the background, never holding up or failing the activation itself.
        let queued = if activating { self.submission_on_activation(&order).await? } else { None };
        self.store().update_order(&order, current.version, &audit, &matches, queued.as_ref()).await?;
        self.view_with_warnings(order).await
    }

    /// Everything the order form needs about a customer, in one call: the record with contact
    /// details, licence, identity document and badges; the documents status; licence warnings.
    pub async fn order_form(&self, actor: &Actor, id: CustomerId) -> Result<OrderForm> {
        let grant = actor.require(Capability::ManageOrders)?;
        let customer = self.tenant_customer(grant.tenant_id, id).await?;
        if customer.deleted_at.is_some() {
            return Err(Error::conflict(ErrorCode::CustomerDeleted, "the customer is deleted; restore it first"));
        }
        let today = Timestamp::now().date();
        let warnings = license_warnings(customer.id, customer.data.driver_license.as_ref(), today, Timestamp::now())
            .into_iter()
            .collect();
        let customer = self.view(customer).await?;
        let documents = customer.documents.clone().ok_or_else(|| Error::internal("a view without documents"))?;
        Ok(OrderForm { customer, documents, warnings })
    }

    async fn visible_order(&self, grant: &Grant, id: OrderId) -> Result<Order> {
        let order = self.store().get_order(grant.tenant_id, id).await?.ok_or(Error::NotFound("order"))?;
        match grant.scope {
            CustomerScope::Driver(driver) if order.driver_id != Some(driver) => Err(Error::NotFound("order")),
            CustomerScope::Partner(_) => Err(Error::NotFound("order")),
            _ => Ok(order),
        }
    }

    async fn view_with_warnings(&self, order: Order) -> Result<OrderView> {
        let customer = self.store().get_customer(order.tenant_id, order.customer_id).await?;
        let second = match order.second_driver_id {
            Some(id) => self.store().get_customer(order.tenant_id, id).await?,
            None => None,
        };
        let mut warnings = Vec::new();
        if let Some(customer) = &customer {
            warnings.extend(self.license_warnings(&order, customer, second.as_ref()));
        }
        Ok(OrderView { order, warnings })
    }

    fn license_warnings(&self, order: &Order, customer: &Customer, second: Option<&Customer>) -> Vec<OrderWarning> {
        let today = Timestamp::now().date();
        [Some(customer), second]
            .into_iter()
            .flatten()
            .filter_map(|c| license_warnings(c.id, c.data.driver_license.as_ref(), today, order.return_at))
            .collect()
    }

    /// A customer who may be on an order: of the tenant (`422` on `field` otherwise) and not deleted.
    async fn order_party(&self, tenant: TenantId, id: CustomerId, field: &str) -> Result<Customer> {
        let customer =
            self.store().get_customer(tenant, id).await?.ok_or_else(|| {
                Error::invalid(field, FieldCode::UnknownReference, "must be a customer of this tenant")
            })?;
        if customer.deleted_at.is_some() {
            return Err(Error::conflict(ErrorCode::CustomerDeleted, format!("the customer in {field} is deleted")));
        }
        Ok(customer)
    }

    async fn check_driver(&self, tenant: TenantId, driver: UserId) -> Result<()> {
        let user = self.store().get_user(tenant, driver).await?;
        if user.is_some_and(|u| u.role == Role::Driver && !u.disabled) {
            Ok(())
        } else {
            Err(Error::invalid("driver_id", FieldCode::UnknownReference, "must be an active driver of this tenant"))
        }
    }

    async fn screen(
        &self,
        tenant: TenantId,
        customer: &Customer,
        second: Option<&Customer>,
        context: &'static str,
    ) -> Result<Screening> {
        let mut hits = Vec::new();
        for person in [Some(customer), second].into_iter().flatten() {
            hits.push((person.id, self.check_blacklist(tenant, person, &person.data, context).await?));
        }
        Ok(Screening { hits })
    }

    fn match_audits(&self, actor: &Actor, tenant: TenantId, screening: &Screening, context: &str) -> Vec<AuditEntry> {
        screening
            .hits
            .iter()
            .filter(|(_, hit)| !hit.global.is_empty())
            .map(|(customer, _)| self.match_audit(actor, tenant, *customer, context))
            .collect()
    }

    fn blacklisted_error(&self, screening: &Screening) -> Error {
        Error::Conflict {
            code: ErrorCode::CustomerBlacklisted,
            message: "the customer is blacklisted: an admin must override (send override: {reason}), or ask for \
                      an override with request_override: true"
                .into(),
            details: Some(json!({
                "warnings": screening.warnings(self),
                "data_protection_contact": self.data_protection_contact(),
            })),
        }
    }

    fn order_audit(&self, actor: &Actor, order: &Order, action: AuditAction) -> AuditEntry {
        AuditEntry::new(actor, order.tenant_id, action, "order", order.id, Some(order.customer_id))
    }
}

/// `order.status_changed`, from `before`'s status to `after`'s.
fn status_event(actor: &Actor, before: &Order, after: &Order) -> OutboxEvent {
    let change = json!({"from": before.status, "to": after.status});
    payload::about_order(actor, EventType::OrderStatusChanged, after, [("status_change", change)])
}

/// An order a driver delivers, with what they need of the people on it.
#[derive(Debug, Clone)]
pub struct AssignedOrder {
    /// The order, as drivers see it.
    pub order: crate::orders::record::DriverOrder,
    /// The renter's contact fields.
    pub customer: Option<crate::customers::view::CustomerContact>,
    /// The second driver's contact fields.
    pub second_driver: Option<crate::customers::view::CustomerContact>,
}

/// An order waiting for an admin, with its renter's name.
#[derive(Debug, Clone)]
pub struct WaitingOrder {
    /// The order.
    pub order: Order,
    /// The renter's name as shown.
    pub customer_name: String,
}

impl App {
    /// Orders waiting for an admin's override, newest first (admins).
    pub async fn orders_awaiting_override(&self, actor: &Actor, limit: u32) -> Result<Vec<WaitingOrder>> {
        let grant = actor.require(Capability::OverrideBlacklist)?;
        let query = crate::orders::store::OrderQuery {
            statuses: vec![OrderStatus::AwaitingOverride],
            limit: limit.clamp(1, 200),
            ..Default::default()
        };
        let orders = self.store().list_orders(grant.tenant_id, &query).await?;
        let mut waiting = Vec::with_capacity(orders.len());
        for order in orders {
            let customer = self.store().get_customer(grant.tenant_id, order.customer_id).await?;
            let customer_name = customer.map(|c| c.display_name()).unwrap_or_default();
            waiting.push(WaitingOrder { order, customer_name });
        }
        Ok(waiting)
    }

    /// The confirmed and active orders assigned to the acting driver, with the contact fields
    /// of the people on them; nothing else.
    pub async fn assigned_orders(&self, actor: &Actor) -> Result<Vec<AssignedOrder>> {
        let grant = actor.require(Capability::ReadOrders)?;
        let CustomerScope::Driver(driver) = grant.scope else {
            return Err(Error::Forbidden("only drivers have assigned orders".into()));
        };
        let query = crate::orders::store::OrderQuery {
            statuses: vec![OrderStatus::Confirmed, OrderStatus::Active],
            driver: Some(driver),
            limit: 200,
            ..Default::default()
        };
        let orders = self.store().list_orders(grant.tenant_id, &query).await?;
        let mut assigned = Vec::with_capacity(orders.len());
        for order in orders {
            let contact = |c: Option<Customer>| c.map(crate::customers::view::CustomerContact::from);
            let customer = contact(self.store().get_customer(grant.tenant_id, order.customer_id).await?);
            let second_driver = match order.second_driver_id {
                Some(id) => contact(self.store().get_customer(grant.tenant_id, id).await?),
                None => None,
            };
            assigned.push(AssignedOrder { order: order.into(), customer, second_driver });
        }
        Ok(assigned)
    }
}
