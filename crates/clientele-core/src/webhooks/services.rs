//! Webhook services (admins): endpoints made, changed, deleted; their secrets rotated; their
//! deliveries listed and replayed; a test message sent on request.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::accounts::access::{Capability, Grant};
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::documents::vault::SealedSecret;
use crate::error::{Error, ErrorCode, FieldCode, FieldErrors, Result};
use crate::events::record::{EventType, OutboxEvent};
use crate::ids::{EventId, TenantId, WebhookId};
use crate::paging::{Page, Paging, next_cursor};
use crate::time::Timestamp;
use crate::webhooks::record::{
    Delivery, DeliveryStatus, UrlRules, WebhookEndpoint, WebhookInput, check_description, check_events, check_url,
};
use crate::webhooks::signing::SigningSecret;
use crate::webhooks::transport::WebhookTransport;

/// An endpoint with its signing secret, shown this once (when made, and when rotated).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_…`: receivers verify signatures with it. Never shown again.
    pub secret: String,
}

/// The longest overlap a rotation may ask for.
const MAX_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);

impl App {
    /// Makes an endpoint (admins): its URL checked (https, a host that is not private), its
    /// secret made and sealed, shown once.
    pub async fn create_webhook(&self, actor: &Actor, input: &WebhookInput) -> Result<WebhookWithSecret> {
        let grant = actor.require(Capability::ManageIntegrations)?;
        let transport = self.webhook_transport()?;
        let mut errors = FieldErrors::new();
        if input.version.is_some() {
            errors.push("version", FieldCode::NotAllowed, "only when changing an endpoint");
        }
        let url = match input.url.as_deref() {
            Some(url) => self.check_webhook_url(transport, url, &mut errors).await,
            None => {
                errors.push("url", FieldCode::Required, "is required");
                None
            }
        };
        let events = check_events(input.events.as_deref().unwrap_or(&["*".to_owned()]), &mut errors);
        let description = check_description(input.description.as_deref(), &mut errors);
        let (Some(url), true) = (url, errors.is_empty()) else { return Err(errors.into_error()) };
        let id = WebhookId::new();
        let secret = SigningSecret::generate()?;
        let now = Timestamp::now();
        let endpoint = WebhookEndpoint {
            id,
            tenant_id: grant.tenant_id,
            url,
            events,
            description,
            enabled: input.enabled.unwrap_or(true),
            disabled_reason: None,
            failing_since: None,
            previous_secret_until: None,
            created_at: now,
            created_by: actor.user_uuid(),
            updated_at: now,
            version: 1,
            sealed_secret: self.seal_webhook_secret(grant.tenant_id, id, &secret)?,
            sealed_previous_secret: None,
        };
        let audit = webhook_audit(actor, &endpoint, AuditAction::WebhookCreated)
            .with_changes(json!({"url": endpoint.url, "events": endpoint.events, "enabled": endpoint.enabled}));
        self.store().insert_webhook(&endpoint, &audit).await?;
        Ok(WebhookWithSecret { endpoint, secret: secret.reveal() })
    }

    /// The tenant's endpoints, oldest first (admins).
    pub async fn webhooks(&self, actor: &Actor, paging: Paging) -> Result<Page<WebhookEndpoint>> {
        let grant = actor.require(Capability::ManageIntegrations)?;
        let after = paging.after.map(WebhookId::from_uuid);
        let mut items = self.store().list_webhooks(grant.tenant_id, after, paging.limit + 1).await?;
        let next_cursor = next_cursor(&mut items, paging.limit as usize, |w| w.id);
        Ok(Page { items, next_cursor })
    }

    /// One endpoint (admins).
    pub async fn webhook(&self, actor: &Actor, id: WebhookId) -> Result<WebhookEndpoint> {
        let grant = actor.require(Capability::ManageIntegrations)?;
        self.tenant_webhook(&grant, id).await
    }

    /// Changes an endpoint (admins): the fields sent, at the version sent (`version` or
    /// `If-Match`). A new URL is checked as a new endpoint's is; enabling clears why it was
    /// disabled.
    pub async fn update_webhook(
        &self,
        actor: &Actor,
        id: WebhookId,
        input: &WebhookInput,
        if_match: Option<i64>,
    ) -> Result<WebhookEndpoint> {
        let grant = actor.require(Capability::ManageIntegrations)?;
        let current = self.tenant_webhook(&grant, id).await?;
        let expected = input.version.or(if_match).unwrap_or(current.version);
        if expected != current.version {
            return Err(Error::version_conflict("webhook", expected, current.version));
        }
        let mut errors = FieldErrors::new();
        let mut endpoint = current.clone();
        if let Some(url) = input.url.as_deref() {
            let transport = self.webhook_transport()?;
            if let Some(url) = self.check_webhook_url(transport, url, &mut errors).await {
                endpoint.url = url;
            }
        }
        if let Some(events) = &input.events {
            endpoint.events = check_events(events, &mut errors);
        }
        if let Some(description) = &input.description {
            endpoint.description = check_description(Some(description), &mut errors);
        }
        if !errors.is_empty() {
            return Err(errors.into_error());
        }
        if let Some(enabled) = input.enabled {
            if enabled && !current.enabled {
                endpoint.disabled_reason = None;
                endpoint.failing_since = None;
            }
            endpoint.enabled = enabled;
        }
        if endpoint == current {
            return Ok(current);
        }
        endpoint.version = current.version + 1;
        endpoint.updated_at = Timestamp::now();
        let audit = webhook_audit(actor, &endpoint, AuditAction::WebhookUpdated).with_changes(json!({
            "url": {"from": current.url, "to": endpoint.url},
            "events": {"from": current.events, "to": endpoint.events},
            "enabled": {"from": current.enabled, "to": endpoint.enabled},
        }));
        self.store().update_webhook(&endpoint, current.version, &[audit]).await?;
        Ok(endpoint)
    }

    /// Deletes an endpoint with its deliveries (admins).
    pub async fn delete_webhook(&self, actor: &Actor, id: WebhookId) -> Result<()> {
        let grant = actor.require(Capability::ManageIntegrations)?;
        let endpoint = self.tenant_webhook(&grant, id).await?;
        let audit =
            webhook_audit(actor, &endpoint, AuditAction::WebhookDeleted).with_changes(json!({"url": endpoint.url}));
        if self.store().delete_webhook(grant.tenant_id, id, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("webhook"))
        }
    }

    /// Gives an endpoint a new signing secret, shown once (admins). The previous one still signs
    /// for `overlap` (default: `webhooks.secret_overlap`; at most 7 days; zero ends it at once),
    /// so receivers can switch without missing a message.
    pub async fn rotate_webhook_secret(
        &self,
        actor: &Actor,
        id: WebhookId,
        overlap: Option<Duration>,
    ) -> Result<WebhookWithSecret> {
        let grant = actor.require(Capability::ManageIntegrations)?;
        let current = self.tenant_webhook(&grant, id).await?;
        let overlap = overlap.unwrap_or(self.webhooks.secret_overlap);
        if overlap > MAX_OVERLAP {
            return Err(Error::invalid("overlap_seconds", FieldCode::OutOfRange, "must be at most 7 days"));
        }
        let secret = SigningSecret::generate()?;
        let now = Timestamp::now();
        let mut endpoint = current.clone();
        endpoint.sealed_secret = self.seal_webhook_secret(grant.tenant_id, id, &secret)?;
        (endpoint.sealed_previous_secret, endpoint.previous_secret_until) = if overlap.is_zero() {
            (None, None)
        } else {
            (Some(current.sealed_secret.clone()), Some(now.add(overlap)))
        };
        endpoint.version = current.version + 1;
        endpoint.updated_at = now;
        let audit = webhook_audit(actor, &endpoint, AuditAction::WebhookSecretRotated)
            .with_changes(json!({"previous_secret_until": endpoint.previous_secret_until}));
        self.store().update_webhook(&endpoint, current.version, &[audit]).await?;
        Ok(WebhookWithSecret { endpoint, secret: secret.reveal() })
    }

    /// An endpoint's deliveries with their attempts, newest first (admins).
    pub async fn webhook_deliveries(
        &self,
        actor: &Actor,
        id: WebhookId,
        status: Option<DeliveryStatus>,
        paging: Paging,
    ) -> Result<Page<Delivery>> {
        let grant = actor.require(Capability::ManageIntegrations)?;
        self.tenant_webhook(&grant, id).await?;
        let after = paging.after.map(EventId::from_uuid);
        let mut items = self.store().list_deliveries(grant.tenant_id, id, status, after, paging.limit + 1).await?;
        let next_cursor = next_cursor(&mut items, paging.limit as usize, |d| d.id);
        Ok(Page { items, next_cursor })
    }

    /// Sends a delivery again, now (admins): a failed one, or a succeeded one the receiver lost.
    pub async fn replay_delivery(&self, actor: &Actor, id: WebhookId, delivery: EventId) -> Result<()> {
        let grant = actor.require(Capability::ManageIntegrations)?;
        let endpoint = self.tenant_webhook(&grant, id).await?;
        let audit = webhook_audit(actor, &endpoint, AuditAction::WebhookDeliveryReplayed)
            .with_changes(json!({"delivery": delivery}));
        if self.store().replay_delivery(grant.tenant_id, id, delivery, Timestamp::now(), &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("delivery"))
        }
    }

    /// Sends a `ping` to an endpoint now and says how it went (admins); the attempt shows among
    /// its deliveries. Sent whether or not the endpoint is enabled.
    pub async fn test_webhook(&self, actor: &Actor, id: WebhookId) -> Result<Delivery> {
        let grant = actor.require(Capability::ManageIntegrations)?;
        let endpoint = self.tenant_webhook(&grant, id).await?;
        let ping = OutboxEvent::new(
            actor,
            grant.tenant_id,
            EventType::Ping,
            ("webhook", id.as_uuid()),
            id.as_uuid(),
            [("webhook_id".to_owned(), json!(id))].into_iter().collect(),
        );
        let attempt = self.send_once(&endpoint, &ping).await?;
        self.store().record_ping(&ping, id, &attempt).await?;
        let status = if attempt.status_code.is_some_and(|s| (200..300).contains(&s)) {
            DeliveryStatus::Succeeded
        } else {
            DeliveryStatus::Failed
        };
        Ok(Delivery {
            id: ping.id,
            endpoint_id: id,
            event_type: EventType::Ping.as_str().to_owned(),
            status,
            attempts: 1,
            next_attempt_at: None,
            created_at: ping.occurred_at,
            finished_at: Some(attempt.at),
            history: vec![crate::webhooks::record::Attempt {
                attempt: 1,
                at: attempt.at,
                status_code: attempt.status_code,
                latency_ms: attempt.latency_ms,
                error: attempt.error.clone(),
                response_body: attempt.response_body.clone(),
            }],
        })
    }

    /// The endpoint `id` of the grant's tenant.
    async fn tenant_webhook(&self, grant: &Grant, id: WebhookId) -> Result<WebhookEndpoint> {
        self.store().get_webhook(grant.tenant_id, id).await?.ok_or(Error::NotFound("webhook"))
    }

    /// The transport, or `503 webhooks_unavailable`.
    pub(crate) fn webhook_transport(&self) -> Result<&dyn WebhookTransport> {
        self.webhooks.transport.as_deref().ok_or_else(|| {
            Error::server(ErrorCode::WebhooksUnavailable, "this process cannot send webhooks (no outbound transport)")
        })
    }

    /// A URL checked for form and host, naming what is wrong as `url`.
    async fn check_webhook_url(
        &self,
        transport: &dyn WebhookTransport,
        url: &str,
        errors: &mut FieldErrors,
    ) -> Option<String> {
        let rules = UrlRules { allow_http: self.webhooks.allow_http };
        match check_url(url, rules) {
            Ok(parsed) => match transport.check_host(&parsed).await {
                Ok(()) => Some(parsed.to_string()),
                Err(why) => {
                    errors.push("url", FieldCode::Invalid, why);
                    None
                }
            },
            Err(why) => {
                errors.push("url", FieldCode::Invalid, why);
                None
            }
        }
    }

    /// A signing secret sealed for its endpoint, as stored.
    fn seal_webhook_secret(&self, tenant: TenantId, id: WebhookId, secret: &SigningSecret) -> Result<String> {
        let vault = self.documents.vault.as_ref().ok_or_else(|| {
            Error::server(
                ErrorCode::WebhooksUnavailable,
                "webhook secrets are sealed with documents.master_key, which this server lacks",
            )
        })?;
        Ok(vault.seal_secret(tenant, &secret_purpose(id), secret.reveal().as_bytes())?.to_text())
    }

    /// An endpoint's stored secret, opened.
    pub(crate) fn open_webhook_secret(&self, tenant: TenantId, id: WebhookId, sealed: &str) -> Result<SigningSecret> {
        let vault = self.documents.vault.as_ref().ok_or_else(|| {
            Error::server(ErrorCode::WebhooksUnavailable, "webhook secrets need documents.master_key to be opened")
        })?;
        let sealed = SealedSecret::from_text(sealed)
            .ok_or_else(|| Error::internal(format!("the stored secret of webhook {id} is not a sealed secret")))?;
        let text = vault.open_secret(tenant, &secret_purpose(id), &sealed)?;
        SigningSecret::parse(&String::from_utf8_lossy(&text))
    }

    /// Seals every endpoint's secrets again with the current master key (after a rotation, the
    /// old key still among the previous ones); how many endpoints.
    pub async fn reseal_webhook_secrets(&self) -> Result<u64> {
        let Some(vault) = self.documents.vault.as_ref() else { return Ok(0) };
        let reseal = |tenant: TenantId, id: WebhookId, text: &str| -> Result<Option<String>> {
            let sealed = SealedSecret::from_text(text)
                .ok_or_else(|| Error::internal(format!("the stored secret of webhook {id} is not a sealed secret")))?;
            if sealed.key_id == vault.current_key_id() {
                return Ok(None);
            }
            let plain = vault.open_secret(tenant, &secret_purpose(id), &sealed)?;
            Ok(Some(vault.seal_secret(tenant, &secret_purpose(id), &plain)?.to_text()))
        };
        let mut done = 0;
        for (tenant, id, secret, previous) in self.store().sealed_webhook_secrets().await? {
            let new_secret = reseal(tenant, id, &secret)?;
            let new_previous = match &previous {
                Some(p) => reseal(tenant, id, p)?,
                None => None,
            };
            if new_secret.is_none() && new_previous.is_none() {
                continue;
            }
            let new = (new_secret.as_deref().unwrap_or(&secret), new_previous.as_deref().or(previous.as_deref()));
            if self.store().reseal_webhook_secrets(tenant, id, (&secret, previous.as_deref()), new).await? {
                done += 1;
            }
        }
        Ok(done)
    }
}

/// What an endpoint's sealed secrets are bound to (with its tenant).
fn secret_purpose(id: WebhookId) -> String {
    format!("webhook:{id}")
}

fn webhook_audit(actor: &Actor, endpoint: &WebhookEndpoint, action: AuditAction) -> AuditEntry {
    AuditEntry::new(actor, endpoint.tenant_id, action, "webhook", endpoint.id, None)
}
