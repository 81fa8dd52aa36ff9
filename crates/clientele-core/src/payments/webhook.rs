//! Stripe's webhooks: each event verified against the tenant's signing secret (within five
//! minutes of its signature), for the tenant's own Stripe account, then applied once (by event
//! id): what it tells of a customer's payment methods goes to the audit log and, in the same
//! transaction, to the outbox (`customer.payment_method_added`, …), with ids only, never card
//! data. Stripe does not promise order: an event older than one already applied to the same
//! object is kept but publishes nothing.
//!
//! Which tenant: `?tenant=<id>` in the endpoint's URL, or, for Connect events sent without
//! it, the tenant whose connected account the event names.

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::accounts::auth::{Actor, Origin};
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::error::{Error, ErrorCode, Result};
use crate::events::record::{EventType, OutboxEvent};
use crate::ids::TenantId;
use crate::payments::services::WEBHOOK_SECRET_PURPOSE;
use crate::payments::settings::StripeMode;
use crate::payments::signature;
use crate::payments::store::{EventOutcome, StripeEventRecord};
use crate::time::Timestamp;

/// A webhook request as received.
#[derive(Debug, Clone)]
pub struct StripeDelivery<'a> {
    /// `?tenant=` of the URL.
    pub tenant: Option<TenantId>,
    /// The `Stripe-Signature` header.
    pub signature: Option<&'a str>,
    /// The body, exactly as received (the signature is over these bytes).
    pub payload: &'a [u8],
    /// Where it came from.
    pub origin: Origin,
}

/// The answer to Stripe: the event and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StripeEventReceipt {
    /// `evt_…`.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// `processed`, `ignored`, `duplicate` or `superseded`.
    pub outcome: EventOutcome,
}

/// What an event of a handled type says: the object, the Stripe customer, and what to publish.
struct Reading {
    object_id: String,
    stripe_customer: Option<String>,
    publish: EventType,
    data: Map<String, Value>,
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned).or_else(|| value["id"].as_str().map(str::to_owned))
}

/// Reads an event of a type Clientele acts on; `None` for any other type.
fn read(event_type: &str, object: &Value, previous: &Value) -> Option<Reading> {
    let id = object["id"].as_str()?.to_owned();
    let method = |id: Option<String>, kind: &Value| json!({"id": id, "type": kind});
    let (stripe_customer, publish, data) = match event_type {
        "setup_intent.succeeded" => (
            text(&object["customer"]),
            EventType::PaymentMethodSetupSucceeded,
            json!({"setup_intent_id": id, "payment_method": method(text(&object["payment_method"]), &Value::Null)}),
        ),
        "setup_intent.setup_failed" => {
            let error = &object["last_setup_error"];
            (
                text(&object["customer"]),
                EventType::PaymentMethodSetupFailed,
                json!({"setup_intent_id": id, "error": {"code": error["code"], "decline_code": error["decline_code"]}}),
            )
        }
        "payment_method.attached" => (
            text(&object["customer"]),
            EventType::PaymentMethodAdded,
            json!({"payment_method": method(Some(id.clone()), &object["type"])}),
        ),
        "payment_method.detached" => (
            // A detached method has no customer any more: the one it had is in previous_attributes.
            text(&object["customer"]).or_else(|| text(&previous["customer"])),
            EventType::PaymentMethodRemoved,
            json!({"payment_method": method(Some(id.clone()), &object["type"])}),
        ),
        "payment_method.automatically_updated" => (
            text(&object["customer"]),
            EventType::PaymentMethodUpdated,
            json!({"payment_method": method(Some(id.clone()), &object["type"])}),
        ),
        "customer.deleted" => (Some(id.clone()), EventType::PaymentMethodsUnlinked, json!({})),
        _ => return None,
    };
    let Value::Object(data) = data else { return None };
    Some(Reading { object_id: id, stripe_customer, publish, data })
}

fn refused(message: impl Into<String>) -> Error {
    Error::bad_request(ErrorCode::StripeSignatureInvalid, message)
}

impl App {
    /// Verifies and applies one Stripe event. Refusals are `400 stripe_signature_invalid`
    /// (Stripe shows them and retries); an event applied before answers `duplicate`.
    pub async fn receive_stripe_event(&self, delivery: StripeDelivery<'_>) -> Result<StripeEventReceipt> {
        let json: Value = serde_json::from_slice(delivery.payload)
            .map_err(|_| Error::bad_request(ErrorCode::MalformedJson, "the body is not a Stripe event (JSON)"))?;
        let account = json["account"].as_str();
        let tenant = match (delivery.tenant, account) {
            (Some(tenant), _) => tenant,
            (None, Some(account)) => self
                .store()
                .tenant_by_stripe_account(account)
                .await?
                .ok_or_else(|| refused("no tenant has this connected account"))?,
            (None, None) => return Err(refused("name the tenant in the endpoint's URL: ?tenant=<tenant id>")),
        };
        let unknown = || refused("this tenant has no Stripe webhook signing secret");
        let settings = self.store().payment_settings(tenant).await?.ok_or_else(unknown)?;
        let sealed = settings.webhook_secret.as_ref().ok_or_else(unknown)?;
        let secret = self.stripe_vault()?.open_secret(tenant, WEBHOOK_SECRET_PURPOSE, sealed)?;
        let secret = String::from_utf8(secret).map_err(|_| Error::internal("a sealed webhook secret is not text"))?;
        let header = delivery.signature.ok_or_else(|| refused("no Stripe-Signature header"))?;
        signature::verify(header, delivery.payload, &secret, Timestamp::now().unix_seconds())
            .map_err(|e| refused(e.to_string()))?;
        let expected = match settings.mode {
            StripeMode::Connect => settings.connect_account_id.as_deref(),
            StripeMode::OwnKey => None,
        };
        if account != expected {
            return Err(refused("the event is for another Stripe account than this tenant's"));
        }
        let (Some(event_id), Some(event_type), Some(created)) =
            (json["id"].as_str(), json["type"].as_str(), json["created"].as_i64())
        else {
            return Err(Error::bad_request(ErrorCode::MalformedJson, "the event has no id, type or created"));
        };
        let receipt =
            |outcome| StripeEventReceipt { event_id: event_id.to_owned(), event_type: event_type.to_owned(), outcome };
        let mut record = StripeEventRecord {
            tenant_id: tenant,
            event_id: event_id.chars().take(255).collect(),
            event_type: event_type.chars().take(100).collect(),
            object_id: None,
            created,
            received_at: Timestamp::now(),
            outcome: EventOutcome::Ignored,
        };
        let reading = read(event_type, &json["data"]["object"], &json["data"]["previous_attributes"]);
        let Some(reading) = reading else {
            let outcome = self.store().record_stripe_event(&record, &[], None).await?;
            return Ok(receipt(outcome));
        };
        record.object_id = Some(reading.object_id.chars().take(255).collect());
        let link = match &reading.stripe_customer {
            Some(id) => self.store().stripe_link_by_stripe_id(tenant, id).await?,
            None => None,
        };
        let Some(link) = link else {
            // Not one of this tenant's customers (made elsewhere in the account): kept, not acted on.
            let outcome = self.store().record_stripe_event(&record, &[], None).await?;
            return Ok(receipt(outcome));
        };
        let customer = link.customer_id;
        let actor = Actor::integration(tenant, "stripe", delivery.origin.clone());
        let mut data = reading.data;
        data.insert("customer_id".into(), json!(customer));
        data.insert("stripe_event_id".into(), json!(event_id));
        let event = OutboxEvent::new(
            &actor,
            tenant,
            reading.publish,
            ("customer", customer.as_uuid()),
            customer.as_uuid(),
            data,
        );
        let entry =
            AuditEntry::new(&actor, tenant, AuditAction::StripeEventApplied, "customer", customer, Some(customer))
                .with_reason(format!("Stripe {event_type} ({event_id})"))
                .with_changes(json!({"stripe_event": event_id, "type": event_type, "object": reading.object_id}))
                .with_event(event);
        record.outcome = EventOutcome::Processed;
        let unlink = (event_type == "customer.deleted").then_some(customer);
        let outcome = self.store().record_stripe_event(&record, &[entry], unlink).await?;
        self.payments.forget_list(tenant, customer);
        Ok(receipt(outcome))
    }
}
