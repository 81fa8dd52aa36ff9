//! What the store keeps of Stripe, and the part of the storage contract that is its: each
//! tenant's settings (keys sealed), each customer's Stripe customer id, and the events received
//! (by id, so that each is applied once). Never a card, nor anything read from one.

use crate::audit::entry::AuditEntry;
use crate::error::Result;
use crate::ids::{CustomerId, TenantId};
use crate::payments::record::StripeLink;
use crate::payments::settings::PaymentSettings;
use crate::time::Timestamp;

/// What came of a received event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// Applied: its audit entry and outbox event were written.
    Processed,
    /// Of a type, or about a customer, that Clientele does not act on.
    Ignored,
    /// Received before (same event id): nothing done again.
    Duplicate,
    /// Older than an event already applied to the same object (Stripe does not promise
    /// order): kept, but nothing published.
    Superseded,
}

impl EventOutcome {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Ignored => "ignored",
            Self::Duplicate => "duplicate",
            Self::Superseded => "superseded",
        }
    }
}

/// A received event as kept: its id, type, the object it is about and when Stripe made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeEventRecord {
    /// The tenant whose account it came from.
    pub tenant_id: TenantId,
    /// `evt_…`.
    pub event_id: String,
    /// `payment_method.attached`, …
    pub event_type: String,
    /// The id of the object it is about (`pm_…`, `seti_…`, `cus_…`).
    pub object_id: Option<String>,
    /// Stripe's `created` (Unix seconds).
    pub created: i64,
    /// When it arrived.
    pub received_at: Timestamp,
    /// [`EventOutcome::Processed`] or [`EventOutcome::Ignored`], as the services decided.
    pub outcome: EventOutcome,
}

/// Stripe. Part of [`crate::store::Store`]; see its documentation for what every method keeps to.
#[async_trait::async_trait]
pub trait PaymentStore: Send + Sync {
    /// The tenant's settings, if it has any.
    async fn payment_settings(&self, tenant: TenantId) -> Result<Option<PaymentSettings>>;
    /// Saves the tenant's settings with their audit entries; `409 conflict` when another tenant
    /// has the same connected account.
    async fn put_payment_settings(&self, settings: &PaymentSettings, audit: &[AuditEntry]) -> Result<()>;
    /// Removes the tenant's settings (Stripe turned off) with their audit entries.
    async fn delete_payment_settings(&self, tenant: TenantId, audit: &[AuditEntry]) -> Result<()>;
    /// Every tenant's settings holding a sealed key or secret (to re-seal them).
    async fn sealed_payment_settings(&self) -> Result<Vec<PaymentSettings>>;
    /// The tenant whose connected account is `account`.
    async fn tenant_by_stripe_account(&self, account: &str) -> Result<Option<TenantId>>;

    /// The customer's Stripe customer.
    async fn stripe_link(&self, tenant: TenantId, customer: CustomerId) -> Result<Option<StripeLink>>;
    /// The customer whose Stripe customer is `stripe_customer_id`.
    async fn stripe_link_by_stripe_id(&self, tenant: TenantId, stripe_customer_id: &str) -> Result<Option<StripeLink>>;
    /// Keeps `link` with its audit entries, unless the customer has one already: the link kept
    /// (the earlier one wins a race).
    async fn insert_stripe_link(&self, link: &StripeLink, audit: &[AuditEntry]) -> Result<StripeLink>;

    /// Records a received event, once per event id, in one transaction: a second time it is
    /// [`EventOutcome::Duplicate`] and nothing else happens; a processed event older (by
    /// `created`) than one already processed for the same object is
    /// [`EventOutcome::Superseded`] and nothing else happens; otherwise the audit entries (and
    /// their outbox events) are written and, with `unlink`, that customer's Stripe link removed.
    async fn record_stripe_event(
        &self,
        event: &StripeEventRecord,
        audit: &[AuditEntry],
        unlink: Option<CustomerId>,
    ) -> Result<EventOutcome>;
}
