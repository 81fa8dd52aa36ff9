//! Audit entries: who did what to which record, when, from where, and whether it was allowed.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::accounts::auth::Actor;
use crate::events::record::OutboxEvent;
use crate::ids::{AuditId, CustomerId, TenantId};
use crate::time::Timestamp;

/// What happened. The string form is stable: it is stored and filtered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A customer was created.
    CustomerCreated,
    /// A customer's fields changed.
    CustomerUpdated,
    /// A customer was soft-deleted.
    CustomerDeleted,
    /// A soft-deleted customer was restored.
    CustomerRestored,
    /// A note was added to a customer's timeline.
    NoteAdded,
    /// VIP status was set.
    VipSet,
    /// VIP status was cleared.
    VipCleared,
    /// A customer was put on the tenant's (and possibly the global) blacklist.
    BlacklistAdded,
    /// A customer's blacklist entry was lifted.
    BlacklistLifted,
    /// A global-blacklist check matched (the entry is not named in the tenant's log).
    GlobalBlacklistMatched,
    /// A platform admin viewed a global entry and the flagging tenant's customer record.
    GlobalEntryViewed,
    /// An order was created.
    OrderCreated,
    /// An operator asked for an override of a blacklist hit.
    OrderOverrideRequested,
    /// An admin overrode a blacklist hit.
    OrderOverridden,
    /// An order's status or drivers changed.
    OrderUpdated,
    /// A document was uploaded.
    DocumentUploaded,
    /// A customer's document metadata was viewed.
    DocumentsViewed,
    /// A document's file was downloaded.
    DocumentDownloaded,
    /// A document's metadata changed.
    DocumentUpdated,
    /// A document was soft-deleted.
    DocumentDeleted,
    /// The sweep removed objects of the document store that no document pointed at.
    DocumentOrphansRemoved,
    /// The tenant's required documents changed.
    RequiredDocumentsChanged,
    /// Customers were exported as CSV.
    CustomersExported,
    /// Everything held on one person was exported.
    PersonalDataExported,
    /// An import job was started.
    ImportStarted,
    /// An import job finished.
    ImportFinished,
    /// An import was undone.
    ImportUndone,
    /// A webhook endpoint was made.
    WebhookCreated,
    /// A webhook endpoint's settings changed.
    WebhookUpdated,
    /// A webhook endpoint was deleted.
    WebhookDeleted,
    /// A webhook endpoint's signing secret was rotated.
    WebhookSecretRotated,
    /// A webhook delivery was sent again on request.
    WebhookDeliveryReplayed,
    /// The dispatcher disabled an endpoint (410 Gone, or days of failed deliveries).
    EndpointDisabled,
    /// Every token of a user was revoked (by the user, or by an admin).
    TokensRevoked,
    /// Too many failed logins: an account or an address was locked out for a while.
    LoginLockedOut,
    /// A Ca.R.G.O.S. agency was created.
    AgencyCreated,
    /// A Ca.R.G.O.S. agency changed.
    AgencyUpdated,
    /// A Ca.R.G.O.S. agency was deleted.
    AgencyDeleted,
    /// The tenant's Ca.R.G.O.S. settings changed (credentials set or removed, automation).
    CargosSettingsChanged,
    /// An order's record was checked with the police.
    CargosChecked,
    /// An order's contract was sent to the police.
    CargosSent,
    /// An order was refused: a person on it is blacklisted and no override was given.
    OrderRefused,
    /// A user was added to the tenant.
    UserCreated,
    /// A user's role changed, or the user was disabled or enabled.
    UserUpdated,
    /// The tenant's default phone region changed.
    PhoneRegionChanged,
    /// A card form was started for a customer (a Stripe SetupIntent made), or refused.
    PaymentSetup,
    /// A customer's payment methods were listed (or the attempt refused).
    PaymentMethodsViewed,
    /// A payment method was detached from a customer (or the attempt refused).
    PaymentMethodRemoved,
    /// A customer's default payment method was chosen (or the attempt refused).
    PaymentMethodDefaultSet,
    /// A Stripe customer was made for a customer and linked to it.
    StripeCustomerLinked,
    /// A verified Stripe event changed a customer's payment methods (added, removed, updated,
    /// a setup that succeeded or failed, the Stripe customer deleted).
    StripeEventApplied,
    /// The tenant's Stripe settings changed (mode, account, keys set or removed).
    StripeSettingsChanged,
}

impl AuditAction {
    /// The action as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerCreated => "customer.created",
            Self::CustomerUpdated => "customer.updated",
            Self::CustomerDeleted => "customer.deleted",
            Self::CustomerRestored => "customer.restored",
            Self::NoteAdded => "customer.note_added",
            Self::VipSet => "customer.vip_set",
            Self::VipCleared => "customer.vip_cleared",
            Self::BlacklistAdded => "blacklist.added",
            Self::BlacklistLifted => "blacklist.lifted",
            Self::GlobalBlacklistMatched => "blacklist.global_match",
            Self::GlobalEntryViewed => "blacklist.global_entry_viewed",
            Self::OrderCreated => "order.created",
            Self::OrderOverrideRequested => "order.override_requested",
            Self::OrderOverridden => "order.overridden",
            Self::OrderUpdated => "order.updated",
            Self::DocumentUploaded => "document.uploaded",
            Self::DocumentsViewed => "document.viewed",
            Self::DocumentDownloaded => "document.downloaded",
            Self::DocumentUpdated => "document.updated",
            Self::DocumentDeleted => "document.deleted",
            Self::DocumentOrphansRemoved => "document.orphans_removed",
            Self::RequiredDocumentsChanged => "settings.required_documents_changed",
            Self::CustomersExported => "customers.exported",
            Self::PersonalDataExported => "customer.personal_data_exported",
            Self::ImportStarted => "import.started",
            Self::ImportFinished => "import.finished",
            Self::ImportUndone => "import.undone",
            Self::WebhookCreated => "webhook.created",
            Self::WebhookUpdated => "webhook.updated",
            Self::WebhookDeleted => "webhook.deleted",
            Self::WebhookSecretRotated => "webhook.secret_rotated",
            Self::WebhookDeliveryReplayed => "webhook.delivery_replayed",
            Self::EndpointDisabled => "endpoint.disabled",
            Self::TokensRevoked => "auth.tokens_revoked",
            Self::LoginLockedOut => "auth.login_locked_out",
            Self::AgencyCreated => "cargos.agency_created",
            Self::AgencyUpdated => "cargos.agency_updated",
            Self::AgencyDeleted => "cargos.agency_deleted",
            Self::CargosSettingsChanged => "cargos.settings_changed",
            Self::CargosChecked => "cargos.checked",
            Self::CargosSent => "cargos.sent",
            Self::OrderRefused => "order.refused",
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::PhoneRegionChanged => "settings.phone_region_changed",
            Self::PaymentSetup => "payment_methods.setup",
            Self::PaymentMethodsViewed => "payment_methods.viewed",
            Self::PaymentMethodRemoved => "payment_methods.removed",
            Self::PaymentMethodDefaultSet => "payment_methods.default_set",
            Self::StripeCustomerLinked => "payment_methods.stripe_customer_linked",
            Self::StripeEventApplied => "payment_methods.stripe_event",
            Self::StripeSettingsChanged => "stripe.settings_changed",
        }
    }
}

/// Whether the audited attempt was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action was carried out.
    Allowed,
    /// The action was refused.
    Denied,
}

impl Outcome {
    /// The outcome as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
        }
    }
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// The entry's place in its tenant's log: 1, 2, 3, ... without gaps (0 until written).
    pub seq: i64,
    /// HMAC-SHA-256 (hex; plain SHA-256 for entries from before the chain was keyed) of this
    /// entry and the previous entry's hash: altering or removing an entry breaks the chain from
    /// there on (`clientele audit verify`). Absent until written.
    pub hash: Option<String>,
    /// The id of the key that links this entry into the chain (HMAC-SHA-256), or none for an
    /// entry linked by plain SHA-256 (written before the chain was keyed). Set when written.
    #[serde(skip)]
    pub chain_key: Option<String>,
    /// The entry's id (time-ordered).
    pub id: AuditId,
    /// The tenant whose data was concerned.
    #[serde(skip)]
    pub tenant_id: TenantId,
    /// When it happened.
    pub at: Timestamp,
    /// The acting user or platform admin (absent for command-line actors).
    pub actor_id: Option<Uuid>,
    /// The actor's role: a tenant role, `platform_admin`, `cli`, or `anonymous` (a login).
    pub actor_role: String,
    /// What happened.
    pub action: String,
    /// The kind of object acted on (`customer`, `note`, ...).
    pub object_type: String,
    /// The object acted on.
    pub object_id: Uuid,
    /// The customer the entry concerns.
    pub customer_id: Option<CustomerId>,
    /// Allowed or denied.
    pub outcome: Outcome,
    /// Why (for denials and overrides).
    pub reason: Option<String>,
    /// What changed: `{"field": {"from": old, "to": new}}`.
    pub changes: Option<Value>,
    /// Client IP address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// The event this change publishes, written to the outbox in the change's transaction
    /// (never part of the entry itself, nor of its hash).
    #[serde(skip)]
    pub event: Option<Box<OutboxEvent>>,
}

impl AuditEntry {
    /// An allowed action by `actor` on a customer-related object.
    pub fn new(
        actor: &Actor,
        tenant_id: TenantId,
        action: AuditAction,
        object_type: &str,
        object_id: impl Into<Uuid>,
        customer_id: Option<CustomerId>,
    ) -> Self {
        let origin = actor.origin();
        Self {
            seq: 0,
            hash: None,
            chain_key: None,
            id: AuditId::new(),
            tenant_id,
            at: Timestamp::now(),
            actor_id: actor.user_uuid(),
            actor_role: actor.role_label().to_owned(),
            action: action.as_str().to_owned(),
            object_type: object_type.to_owned(),
            object_id: object_id.into(),
            customer_id,
            outcome: Outcome::Allowed,
            reason: None,
            changes: None,
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.clone(),
            request_id: origin.request_id.clone(),
            event: None,
        }
    }

    /// The same entry, publishing `event` when it is written.
    pub fn with_event(mut self, event: OutboxEvent) -> Self {
        self.event = Some(Box::new(event));
        self
    }

    /// An attempt by someone not signed in (a login), from `origin`.
    pub fn anonymous(
        origin: &crate::accounts::auth::Origin,
        tenant_id: TenantId,
        action: AuditAction,
        object_type: &str,
        object_id: Uuid,
    ) -> Self {
        Self {
            seq: 0,
            hash: None,
            chain_key: None,
            id: AuditId::new(),
            tenant_id,
            at: Timestamp::now(),
            actor_id: None,
            actor_role: "anonymous".to_owned(),
            action: action.as_str().to_owned(),
            object_type: object_type.to_owned(),
            object_id,
            customer_id: None,
            outcome: Outcome::Denied,
            reason: None,
            changes: None,
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.clone(),
            request_id: origin.request_id.clone(),
            event: None,
        }
    }

    /// The same entry with what changed.
    pub fn with_changes(mut self, changes: Value) -> Self {
        self.changes = Some(changes);
        self
    }

    /// The same entry, refused (or stopped) for `reason`.
    pub fn denied(mut self, reason: impl Into<String>) -> Self {
        self.outcome = Outcome::Denied;
        self.reason = Some(reason.into());
        self
    }

    /// The same entry with a reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}
