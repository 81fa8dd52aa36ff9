//! Outbox events: a committed change as the systems around Clientele hear of it (webhook
//! receivers, and later the marketplace). Each is written in the transaction of the change it
//! tells of, so that none is lost and none tells of a change that rolled back.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::auth::Actor;
use crate::ids::{EventId, TenantId};
use crate::time::Timestamp;

/// The shape of the events' payloads; bumped when a payload changes incompatibly.
pub const SCHEMA_VERSION: i64 = 1;

/// What happened. The string form is stable: receivers subscribe to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// A customer was created (by hand, by an import, ...).
    #[serde(rename = "customer.created")]
    CustomerCreated,
    /// A customer's fields changed; `changed_fields` names them.
    #[serde(rename = "customer.updated")]
    CustomerUpdated,
    /// A customer was soft-deleted.
    #[serde(rename = "customer.deleted")]
    CustomerDeleted,
    /// A soft-deleted customer was restored.
    #[serde(rename = "customer.restored")]
    CustomerRestored,
    /// VIP status was set or cleared.
    #[serde(rename = "customer.vip_changed")]
    CustomerVipChanged,
    /// The customer was put on the tenant's blacklist (and maybe the global one).
    #[serde(rename = "customer.blacklisted")]
    CustomerBlacklisted,
    /// The customer's blacklist entry was lifted.
    #[serde(rename = "customer.unblacklisted")]
    CustomerUnblacklisted,
    /// An order was created.
    #[serde(rename = "order.created")]
    OrderCreated,
    /// An order's status changed.
    #[serde(rename = "order.status_changed")]
    OrderStatusChanged,
    /// An import job finished.
    #[serde(rename = "import.completed")]
    ImportCompleted,
    /// A document was uploaded (metadata only).
    #[serde(rename = "document.uploaded")]
    DocumentUploaded,
    /// A payment method was attached to the customer's Stripe customer (Stripe's
    /// `payment_method.attached`): `payment_method: {id, type}`, never card data.
    #[serde(rename = "customer.payment_method_added")]
    PaymentMethodAdded,
    /// A payment method was detached (`payment_method.detached`).
    #[serde(rename = "customer.payment_method_removed")]
    PaymentMethodRemoved,
    /// The card network updated a payment method (`payment_method.automatically_updated`).
    #[serde(rename = "customer.payment_method_updated")]
    PaymentMethodUpdated,
    /// A card form completed its SetupIntent (`setup_intent.succeeded`): `setup_intent_id` and
    /// `payment_method: {id, type}`.
    #[serde(rename = "customer.payment_method_setup_succeeded")]
    PaymentMethodSetupSucceeded,
    /// A SetupIntent failed (`setup_intent.setup_failed`): `error: {code, decline_code}`.
    #[serde(rename = "customer.payment_method_setup_failed")]
    PaymentMethodSetupFailed,
    /// The customer's Stripe customer was deleted in Stripe (`customer.deleted`): its payment
    /// methods are gone, and the next setup makes a new Stripe customer.
    #[serde(rename = "customer.payment_methods_unlinked")]
    PaymentMethodsUnlinked,
    /// A test delivery, sent on request to one endpoint (never stored in the outbox).
    #[serde(rename = "ping")]
    Ping,
}

impl EventType {
    /// Every type an endpoint may subscribe to.
    pub const ALL: [EventType; 17] = [
        Self::CustomerCreated,
        Self::CustomerUpdated,
        Self::CustomerDeleted,
        Self::CustomerRestored,
        Self::CustomerVipChanged,
        Self::CustomerBlacklisted,
        Self::CustomerUnblacklisted,
        Self::OrderCreated,
        Self::OrderStatusChanged,
        Self::ImportCompleted,
        Self::DocumentUploaded,
        Self::PaymentMethodAdded,
        Self::PaymentMethodRemoved,
        Self::PaymentMethodUpdated,
        Self::PaymentMethodSetupSucceeded,
        Self::PaymentMethodSetupFailed,
        Self::PaymentMethodsUnlinked,
    ];

    /// The type as sent and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerCreated => "customer.created",
            Self::CustomerUpdated => "customer.updated",
            Self::CustomerDeleted => "customer.deleted",
            Self::CustomerRestored => "customer.restored",
            Self::CustomerVipChanged => "customer.vip_changed",
            Self::CustomerBlacklisted => "customer.blacklisted",
            Self::CustomerUnblacklisted => "customer.unblacklisted",
            Self::OrderCreated => "order.created",
            Self::OrderStatusChanged => "order.status_changed",
            Self::ImportCompleted => "import.completed",
            Self::DocumentUploaded => "document.uploaded",
            Self::PaymentMethodAdded => "customer.payment_method_added",
            Self::PaymentMethodRemoved => "customer.payment_method_removed",
            Self::PaymentMethodUpdated => "customer.payment_method_updated",
            Self::PaymentMethodSetupSucceeded => "customer.payment_method_setup_succeeded",
            Self::PaymentMethodSetupFailed => "customer.payment_method_setup_failed",
            Self::PaymentMethodsUnlinked => "customer.payment_methods_unlinked",
            Self::Ping => "ping",
        }
    }

    /// From its stored or sent form.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().chain([Self::Ping]).find(|t| t.as_str() == text)
    }
}

/// Who made the change: a user (by id and role), or the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventActor {
    /// The user or platform admin (absent for command-line actors).
    pub user_id: Option<Uuid>,
    /// A tenant role, `platform_admin` or `cli`.
    pub role: String,
}

impl From<&Actor> for EventActor {
    fn from(actor: &Actor) -> Self {
        Self { user_id: actor.user_uuid(), role: actor.role_label().to_owned() }
    }
}

/// One event, as the outbox keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// UUIDv7: the same on every delivery and retry (`webhook-id`).
    pub id: EventId,
    /// The tenant whose data changed.
    pub tenant_id: TenantId,
    /// What happened.
    pub event_type: EventType,
    /// The payload's shape ([`SCHEMA_VERSION`]).
    pub schema_version: i64,
    /// `customer`, `order`, `import` or `document`.
    pub resource_type: &'static str,
    /// The resource's id.
    pub resource_id: Uuid,
    /// Events with the same key are delivered in the order they were committed: the customer
    /// an event is about (for orders and documents too), or the import.
    pub ordering_key: Uuid,
    /// When the change was made.
    pub occurred_at: Timestamp,
    /// Who made it.
    pub actor: EventActor,
    /// The event's `data`, as receivers get it.
    pub data: Value,
}

impl OutboxEvent {
    /// An event of `event_type` about `resource`, by `actor`, with `fields` (the resource's
    /// outside view under its `resource_type` name, and anything the type adds) as its data.
    pub fn new(
        actor: &Actor,
        tenant_id: TenantId,
        event_type: EventType,
        (resource_type, resource_id): (&'static str, Uuid),
        ordering_key: Uuid,
        fields: Map<String, Value>,
    ) -> Self {
        let id = EventId::new();
        let actor = EventActor::from(actor);
        let mut data = Map::new();
        data.insert("event_id".into(), Value::String(id.to_string()));
        data.insert("schema_version".into(), Value::from(SCHEMA_VERSION));
        data.insert("actor".into(), serde_json::to_value(&actor).unwrap_or(Value::Null));
        data.extend(fields);
        Self {
            id,
            tenant_id,
            event_type,
            schema_version: SCHEMA_VERSION,
            resource_type,
            resource_id,
            ordering_key,
            occurred_at: Timestamp::now(),
            actor,
            data: Value::Object(data),
        }
    }

    /// The JSON body a receiver gets: `{type, timestamp, data}` (Standard Webhooks).
    pub fn body(&self) -> Value {
        serde_json::json!({
            "type": self.event_type.as_str(),
            "timestamp": self.occurred_at,
            "data": self.data,
        })
    }
}
