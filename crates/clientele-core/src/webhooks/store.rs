//! Webhook endpoints, deliveries and attempts, as the store keeps them. Events reach the outbox
//! (and their deliveries are fanned out to the subscribed endpoints) in the transaction of the
//! change they tell of: the audit entry of that change carries its event.

use uuid::Uuid;

use crate::audit::entry::AuditEntry;
use crate::error::Result;
use crate::events::record::OutboxEvent;
use crate::ids::{EventId, TenantId, WebhookId};
use crate::time::Timestamp;
use crate::webhooks::record::{Delivery, DeliveryStatus, OutboxStatus, WebhookEndpoint};

/// A delivery leased to a worker, with what sending it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The endpoint.
    pub endpoint_id: WebhookId,
    /// The event (and the delivery's id).
    pub event_id: EventId,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The event's type, as sent.
    pub event_type: String,
    /// When the event was committed.
    pub occurred_at: Timestamp,
    /// The event's data, as stored (JSON text).
    pub data: String,
    /// The endpoint's URL.
    pub url: String,
    /// The endpoint's current secret, sealed.
    pub sealed_secret: String,
    /// The previous secret, sealed, and until when it still signs.
    pub sealed_previous_secret: Option<(String, Timestamp)>,
    /// Since when every delivery to the endpoint has failed.
    pub failing_since: Option<Timestamp>,
}

/// One attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The endpoint.
    pub endpoint_id: WebhookId,
    /// The event.
    pub event_id: EventId,
    /// 1, 2, 3, ...
    pub attempt: i64,
    /// When it was made.
    pub at: Timestamp,
    /// The receiver's status, if it answered.
    pub status_code: Option<i64>,
    /// How long it took.
    pub latency_ms: i64,
    /// What went wrong short of an answer.
    pub error: Option<String>,
    /// The start of the answer.
    pub response_body: Option<String>,
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Done: it succeeded.
    Succeeded,
    /// Try again then.
    RetryAt(Timestamp),
    /// Done: it failed for good.
    Failed,
}

/// What an attempt says of its endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointHealth {
    /// It answered 2xx: it is not failing.
    Working,
    /// It failed, and has failed every delivery since then.
    FailingSince(Timestamp),
    /// It is disabled, for this reason.
    Disabled(String),
}

/// An attempt and what follows from it, to record.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedAttempt {
    /// The attempt.
    pub attempt: AttemptRecord,
    /// The delivery's next step.
    pub next: NextStep,
    /// What the attempt says of its endpoint.
    pub health: EndpointHealth,
    /// Audit entries it causes (an endpoint disabled).
    pub audit: Vec<AuditEntry>,
}

/// Webhooks and the outbox. Part of [`crate::store::Store`]; see its documentation for what
/// every method keeps to.
#[async_trait::async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new endpoint and its subscriptions with its audit entry, atomically.
    async fn insert_webhook(&self, endpoint: &WebhookEndpoint, audit: &AuditEntry) -> Result<()>;
    /// An endpoint by id.
    async fn get_webhook(&self, tenant: TenantId, id: WebhookId) -> Result<Option<WebhookEndpoint>>;
    /// A tenant's endpoints, oldest first, after `after`.
    async fn list_webhooks(
        &self,
        tenant: TenantId,
        after: Option<WebhookId>,
        limit: u32,
    ) -> Result<Vec<WebhookEndpoint>>;
    /// Replaces an endpoint (and its subscriptions) if it is still at `expected_version`, with
    /// its audit entries, atomically. `409 version_conflict` when it moved on, `404` when gone.
    async fn update_webhook(
        &self,
        endpoint: &WebhookEndpoint,
        expected_version: i64,
        audit: &[AuditEntry],
    ) -> Result<()>;
    /// Deletes an endpoint with its deliveries and attempts, and audits it; false when there
    /// was none.
    async fn delete_webhook(&self, tenant: TenantId, id: WebhookId, audit: &AuditEntry) -> Result<bool>;
    /// Leases up to `limit` due deliveries to `worker` until `lease_until`: pending ones of
    /// enabled endpoints whose next attempt is due, each the oldest pending delivery of its
    /// endpoint and ordering key (so one customer's events arrive in order, and a failing one
    /// holds back only that customer's later events). Across processes, a delivery is leased to
    /// one worker at a time.
    async fn claim_deliveries(
        &self,
        worker: Uuid,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueDelivery>>;
    /// Records attempts and what follows each (the delivery's next step, its endpoint's health,
    /// audit entries such as a disabling), in one transaction; each only if `worker` still holds
    /// its delivery. Per attempt, in order: whether it was recorded.
    async fn finish_attempts(&self, worker: Uuid, finished: &[FinishedAttempt]) -> Result<Vec<bool>>;
    /// An endpoint's deliveries, newest first, after `after`, with their attempts.
    async fn list_deliveries(
        &self,
        tenant: TenantId,
        endpoint: WebhookId,
        status: Option<DeliveryStatus>,
        after: Option<EventId>,
        limit: u32,
    ) -> Result<Vec<Delivery>>;
    /// Sends a delivery again: pending, due `now`, with its audit entry. False when there is
    /// no such delivery.
    async fn replay_delivery(
        &self,
        tenant: TenantId,
        endpoint: WebhookId,
        event: EventId,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<bool>;
    /// Records a test message sent to one endpoint (its event, delivery and attempt), so that
    /// it shows among the endpoint's deliveries.
    async fn record_ping(&self, event: &OutboxEvent, endpoint: WebhookId, attempt: &AttemptRecord) -> Result<()>;
    /// How the outbox stands, across tenants.
    async fn outbox_status(&self, now: Timestamp) -> Result<OutboxStatus>;
    /// Removes events committed before `before` whose every delivery has ended (with those
    /// deliveries and their attempts); how many events.
    async fn purge_outbox(&self, before: Timestamp) -> Result<u64>;
    /// Every endpoint's sealed secrets: (tenant, endpoint, secret, previous secret).
    async fn sealed_webhook_secrets(&self) -> Result<Vec<(TenantId, WebhookId, String, Option<String>)>>;
    /// Replaces an endpoint's sealed secrets if they are still `old` (a key rotation); false
    /// when they changed meanwhile.
    async fn reseal_webhook_secrets(
        &self,
        tenant: TenantId,
        id: WebhookId,
        old: (&str, Option<&str>),
        new: (&str, Option<&str>),
    ) -> Result<bool>;
}
