//! Webhook endpoints, what they subscribe to, and each event's delivery to them with its
//! attempts, as the API shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{FieldCode, FieldErrors};
use crate::events::record::EventType;
use crate::ids::{EventId, TenantId, WebhookId};
use crate::time::Timestamp;
use crate::values::optional_text;

/// A tenant's webhook endpoint. Its signing secrets never show: the current one is returned
/// once, when it is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct WebhookEndpoint {
    /// The endpoint's id.
    pub id: WebhookId,
    /// The tenant.
    #[serde(skip)]
    pub tenant_id: TenantId,
    /// Where events are POSTed.
    pub url: String,
    /// The event types sent to it, or `["*"]` for all.
    pub events: Vec<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Whether events are sent to it.
    pub enabled: bool,
    /// Why it was disabled, when the system disabled it (410 Gone, days of failures).
    pub disabled_reason: Option<String>,
    /// Since when every delivery to it has failed (absent while it works).
    pub failing_since: Option<Timestamp>,
    /// Until when the previous signing secret still signs (a rotation's overlap).
    pub previous_secret_until: Option<Timestamp>,
    /// When it was made.
    pub created_at: Timestamp,
    /// Who made it.
    pub created_by: Option<Uuid>,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Incremented on every change.
    pub version: i64,
    /// The signing secrets, sealed: current, then the previous one while it still signs.
    #[serde(skip)]
    pub sealed_secret: String,
    /// The previous secret, sealed, during a rotation's overlap.
    #[serde(skip)]
    pub sealed_previous_secret: Option<String>,
}

impl WebhookEndpoint {
    /// Whether the endpoint wants events of `event_type`.
    pub fn wants(&self, event_type: EventType) -> bool {
        self.events.iter().any(|e| e == "*" || e == event_type.as_str())
    }
}

/// A new endpoint, or changes to one, as a client writes them.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// `https://…` (plain `http` only where configuration allows it).
    pub url: Option<String>,
    /// Event types, or `["*"]` for all (the default).
    pub events: Option<Vec<String>>,
    /// What it is for.
    pub description: Option<String>,
    /// Whether events are sent (default true). Enabling clears the reason it was disabled.
    pub enabled: Option<bool>,
    /// The version being changed (changes only; or send `If-Match`).
    pub version: Option<i64>,
}

/// The longest URL accepted.
const MAX_URL: usize = 2_000;

/// What an endpoint URL must be.
#[derive(Debug, Clone, Copy)]
pub struct UrlRules {
    /// Plain `http` allowed (tests, private networks).
    pub allow_http: bool,
}

/// A URL checked for form: absolute, `https` (or `http` where allowed), a host, no user info.
/// Whether its host may be called is the transport's question ([`crate::webhooks::transport`]).
pub fn check_url(text: &str, rules: UrlRules) -> std::result::Result<url::Url, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is required".into());
    }
    if text.chars().count() > MAX_URL {
        return Err(format!("must be at most {MAX_URL} characters"));
    }
    let url = url::Url::parse(text).map_err(|e| format!("must be an absolute URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if rules.allow_http => {}
        "http" => return Err("must use https".into()),
        other => return Err(format!("must be an https URL, not {other}")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    Ok(url)
}

/// The event types an endpoint subscribes to, checked: known types or `*`, deduplicated.
pub fn check_events(events: &[String], errors: &mut FieldErrors) -> Vec<String> {
    if events.is_empty() {
        errors.push("events", FieldCode::Required, "name at least one event type, or \"*\" for all");
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let event = event.trim();
        if event == "*" || EventType::ALL.iter().any(|t| t.as_str() == event) {
            if !out.iter().any(|e| e == event) {
                out.push(event.to_owned());
            }
        } else {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            errors.push(
                format!("events.{i}"),
                FieldCode::Invalid,
                format!("must be \"*\" or one of: {}", known.join(", ")),
            );
        }
    }
    if out.iter().any(|e| e == "*") {
        out = vec!["*".to_owned()];
    }
    out
}

/// A description, checked.
pub fn check_description(text: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
    text.and_then(|t| errors.take("description", optional_text(t, 500)).flatten())
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or its next retry.
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// Every attempt failed (or the endpoint is gone): see the attempts.
    Failed,
}

impl DeliveryStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// From its stored form.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed].into_iter().find(|s| s.as_str() == text)
    }
}

/// One event's delivery to one endpoint, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Delivery {
    /// The delivery's id: its event's id (`webhook-id`), unique per endpoint.
    pub id: EventId,
    /// The endpoint.
    pub endpoint_id: WebhookId,
    /// The event's type.
    pub event_type: String,
    /// Where it is.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<Timestamp>,
    /// When the event was committed.
    pub created_at: Timestamp,
    /// When it succeeded or finally failed.
    pub finished_at: Option<Timestamp>,
    /// Every attempt, oldest first.
    pub history: Vec<Attempt>,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Attempt {
    /// 1, 2, 3, ...
    pub attempt: i64,
    /// When it was made.
    pub at: Timestamp,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i64>,
    /// How long it took, in milliseconds.
    pub latency_ms: i64,
    /// What went wrong, if anything (timeout, connection refused, a redirect, ...).
    pub error: Option<String>,
    /// The start of the receiver's answer (at most 1 KiB).
    pub response_body: Option<String>,
}

/// The outbox as an operator watches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OutboxStatus {
    /// Events kept (delivered or not), across tenants.
    pub events: i64,
    /// Deliveries waiting for an attempt.
    pub pending: i64,
    /// When the oldest pending delivery's event was committed.
    pub oldest_pending_at: Option<Timestamp>,
    /// Deliveries that failed for good in the last 24 hours.
    pub failed_last_day: i64,
}
