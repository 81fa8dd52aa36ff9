//! Delivering the outbox, step by step: leasing due deliveries, sending each (signed), and
//! recording what came of them, many at a time — the next retry with backoff and jitter, the end of a delivery,
//! an endpoint disabled after 410 Gone or days of failures. The loop that calls these steps
//! lives outside the core, in `clientele-runtime`.

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::error::{Error, Result};
use crate::events::record::OutboxEvent;
use crate::ids::{EventId, TenantId, WebhookId};
use crate::time::Timestamp;
use crate::webhooks::record::{OutboxStatus, WebhookEndpoint};
use crate::webhooks::signing::{SigningSecret, signature_header};
use crate::webhooks::store::{AttemptRecord, DueDelivery, EndpointHealth, FinishedAttempt, NextStep};
use crate::webhooks::transport::{WebhookRequest, WebhookResponse};

/// The longest answer body kept with an attempt.
const KEPT_BODY: usize = 1024;

/// What came of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// The receiver answered 2xx.
    Succeeded,
    /// It failed; another attempt is due later.
    WillRetry,
    /// It failed for good (retries spent, 410 Gone).
    Failed,
    /// Another worker holds the delivery now: nothing was recorded.
    LostLease,
}

impl App {
    /// Leases up to `limit` due deliveries to `worker` (see
    /// [`WebhookStore::claim_deliveries`](crate::webhooks::store::WebhookStore::claim_deliveries)).
    pub async fn claim_deliveries(&self, worker: Uuid, limit: u32) -> Result<Vec<DueDelivery>> {
        let now = Timestamp::now();
        self.store().claim_deliveries(worker, now, now.add(self.webhooks.lease()), limit).await
    }

    /// Sends a leased delivery; what came of it, to record with [`App::record_deliveries`].
    pub async fn send_delivery(&self, due: &DueDelivery) -> Result<FinishedAttempt> {
        let transport = self.webhook_transport()?;
        let attempt_no = due.attempts + 1;
        let (response, at) = match self.due_request(due) {
            Ok(request) => {
                let at = Timestamp::now();
                (transport.post(&request).await, at)
            }
            // A secret that no configured key opens: an attempt that failed on our side, retried
            // like any other (the key may be configured again meanwhile).
            Err(error) => {
                tracing::error!(%error, endpoint = %due.endpoint_id, "a webhook could not be signed");
                let failed = WebhookResponse {
                    status: None,
                    latency: Duration::ZERO,
                    error: Some("the endpoint's signing secret could not be opened on our side".into()),
                    body: None,
                };
                (failed, Timestamp::now())
            }
        };
        let attempt = attempt_record(due.tenant_id, due.endpoint_id, due.event_id, attempt_no, at, &response);
        let now = Timestamp::now();
        let gone = response.status == Some(410);
        let failing_since = due.failing_since.unwrap_or(now);
        let health = if response.succeeded() {
            EndpointHealth::Working
        } else if gone {
            EndpointHealth::Disabled("the receiver answered 410 Gone".into())
        } else if now.duration_since(failing_since) >= self.webhooks.disable_after {
            let days = self.webhooks.disable_after.as_secs_f64() / 86_400.0;
            EndpointHealth::Disabled(format!("every delivery failed for {days:.1} days"))
        } else {
            EndpointHealth::FailingSince(failing_since)
        };
        // A delivery to an endpoint this attempt disables ends here; the endpoint's other pending
        // deliveries wait for it to be enabled again.
        let next = if response.succeeded() {
            NextStep::Succeeded
        } else if matches!(health, EndpointHealth::Disabled(_)) || attempt_no > self.webhooks.retries.len() as i64 {
            NextStep::Failed
        } else {
            let wait = jittered(self.webhooks.retries[(attempt_no - 1) as usize]);
            NextStep::RetryAt(now.add(wait))
        };
        self.telemetry.delivery_attempted(match next {
            NextStep::Succeeded => "succeeded",
            NextStep::RetryAt(_) => "retrying",
            NextStep::Failed => "failed",
        });
        let audit = match &health {
            EndpointHealth::Disabled(reason) => {
                // The dispatcher acts for the tenant, as the command line does.
                let actor = Actor::command_line(due.tenant_id);
                vec![
                    AuditEntry::new(
                        &actor,
                        due.tenant_id,
                        AuditAction::EndpointDisabled,
                        "webhook",
                        due.endpoint_id,
                        None,
                    )
                    .with_reason(reason.clone()),
                ]
            }
            _ => Vec::new(),
        };
        Ok(FinishedAttempt { attempt, next, health, audit })
    }

    /// Records what came of sent deliveries, in one transaction; what each came to
    /// ([`Delivered::LostLease`] when another worker holds it by now: nothing of it was written).
    pub async fn record_deliveries(&self, worker: Uuid, finished: &[FinishedAttempt]) -> Result<Vec<Delivered>> {
        let held = self.store().finish_attempts(worker, finished).await?;
        Ok(finished
            .iter()
            .zip(held)
            .map(|(done, held)| match (held, done.next) {
                (false, _) => Delivered::LostLease,
                (true, NextStep::Succeeded) => Delivered::Succeeded,
                (true, NextStep::RetryAt(_)) => Delivered::WillRetry,
                (true, NextStep::Failed) => Delivered::Failed,
            })
            .collect())
    }

    /// Whether this process can send webhooks (it was given a transport).
    pub fn sends_webhooks(&self) -> bool {
        self.webhooks.transport.is_some()
    }

    /// How long a worker's lease on a delivery lasts.
    pub fn webhook_lease(&self) -> Duration {
        self.webhooks.lease()
    }

    /// Deliveries one process sends at once.
    pub fn webhook_concurrency(&self) -> usize {
        self.webhooks.concurrency.clamp(1, 256)
    }

    /// Removes events older than `webhooks.retention` whose deliveries have all ended; how many.
    pub async fn purge_outbox(&self) -> Result<u64> {
        let before = Timestamp::now().sub(self.webhooks.retention);
        self.store().purge_outbox(before).await
    }

    /// How the outbox stands, across tenants (operators of the service).
    pub async fn outbox_status(&self) -> Result<OutboxStatus> {
        self.store().outbox_status(Timestamp::now()).await
    }

    /// Sends `event` to `endpoint` once, now; the attempt as recorded.
    pub(crate) async fn send_once(&self, endpoint: &WebhookEndpoint, event: &OutboxEvent) -> Result<AttemptRecord> {
        let transport = self.webhook_transport()?;
        let mut secrets = vec![self.open_webhook_secret(endpoint.tenant_id, endpoint.id, &endpoint.sealed_secret)?];
        if let (Some(previous), Some(until)) = (&endpoint.sealed_previous_secret, endpoint.previous_secret_until)
            && until > Timestamp::now()
        {
            secrets.push(self.open_webhook_secret(endpoint.tenant_id, endpoint.id, previous)?);
        }
        let body = serde_json::to_vec(&event.body()).map_err(Error::internal)?;
        let request = self.request(&endpoint.url, &secrets, event.id, body);
        let at = Timestamp::now();
        let response = transport.post(&request).await;
        Ok(attempt_record(endpoint.tenant_id, endpoint.id, event.id, 1, at, &response))
    }

    /// The signed request of a leased delivery.
    fn due_request(&self, due: &DueDelivery) -> Result<WebhookRequest> {
        let mut secrets = vec![self.open_webhook_secret(due.tenant_id, due.endpoint_id, &due.sealed_secret)?];
        if let Some((previous, until)) = &due.sealed_previous_secret
            && *until > Timestamp::now()
        {
            secrets.push(self.open_webhook_secret(due.tenant_id, due.endpoint_id, previous)?);
        }
        let data: Value = serde_json::from_str(&due.data).map_err(Error::internal)?;
        let body = serde_json::json!({"type": due.event_type, "timestamp": due.occurred_at, "data": data});
        let body = serde_json::to_vec(&body).map_err(Error::internal)?;
        Ok(self.request(&due.url, &secrets, due.event_id, body))
    }

    /// A message with the Standard Webhooks headers.
    fn request(&self, url: &str, secrets: &[SigningSecret], id: EventId, body: Vec<u8>) -> WebhookRequest {
        let id = id.to_string();
        let timestamp = Timestamp::now().unix_seconds();
        let signature = signature_header(secrets, &id, timestamp, &body);
        WebhookRequest {
            url: url.to_owned(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("user-agent".into(), concat!("Clientele-Webhooks/", env!("CARGO_PKG_VERSION")).into()),
                ("webhook-id".into(), id),
                ("webhook-timestamp".into(), timestamp.to_string()),
                ("webhook-signature".into(), signature),
            ],
            body,
            timeout: self.webhooks.timeout,
        }
    }
}

fn attempt_record(
    tenant_id: TenantId,
    endpoint_id: WebhookId,
    event_id: EventId,
    attempt: i64,
    at: Timestamp,
    response: &WebhookResponse,
) -> AttemptRecord {
    let clip = |text: &str| text.chars().filter(|c| !c.is_control() || *c == '\n').take(KEPT_BODY).collect::<String>();
    AttemptRecord {
        tenant_id,
        endpoint_id,
        event_id,
        attempt,
        at,
        status_code: response.status.map(i64::from),
        latency_ms: i64::try_from(response.latency.as_millis()).unwrap_or(i64::MAX),
        error: response.error.as_deref().map(clip),
        response_body: response.body.as_deref().map(clip),
    }
}

/// `wait`, a fifth more or less at random, so that many failed deliveries do not all come back
/// at once.
fn jittered(wait: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let spread = match getrandom::fill(&mut byte) {
        Ok(()) => f64::from(byte[0]) / 255.0 * 0.4 - 0.2,
        Err(_) => 0.0,
    };
    wait.mul_f64(1.0 + spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..200 {
            let wait = jittered(Duration::from_secs(100));
            assert!((80.0..=120.0).contains(&wait.as_secs_f64()), "{wait:?}");
        }
    }
}
