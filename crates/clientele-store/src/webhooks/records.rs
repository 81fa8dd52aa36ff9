//! Webhook rows as stored, and the writing of outbox events inside a change's transaction.

use clientele_core::ids::{TenantId, WebhookId};
use clientele_core::webhooks::record::WebhookEndpoint;
use clientele_core::{Error, Result};
use uuid::Uuid;

use crate::db::Ts;

/// The columns of `webhook_endpoints`, in the order of [`EndpointRecord`].
macro_rules! endpoint_columns {
    () => {
        "tenant_id, id, url, events, description, enabled, disabled_reason, secret, previous_secret, previous_until, \
         failing_since, created_at, created_by, updated_at, version"
    };
}
pub(crate) use endpoint_columns;

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EndpointRecord {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub url: String,
    pub events: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<Ts>,
    pub failing_since: Option<Ts>,
    pub created_at: Ts,
    pub created_by: Option<Uuid>,
    pub updated_at: Ts,
    pub version: i64,
}

impl TryFrom<EndpointRecord> for WebhookEndpoint {
    type Error = Error;
    fn try_from(r: EndpointRecord) -> Result<Self> {
        Ok(WebhookEndpoint {
            id: WebhookId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            url: r.url,
            events: serde_json::from_str(&r.events)
                .map_err(|e| Error::internal(format!("stored webhook events: {e}")))?,
            description: r.description,
            enabled: r.enabled,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since.map(|t| t.0),
            previous_secret_until: r.previous_until.map(|t| t.0),
            created_at: r.created_at.0,
            created_by: r.created_by,
            updated_at: r.updated_at.0,
            version: r.version,
            sealed_secret: r.secret,
            sealed_previous_secret: r.previous_secret,
        })
    }
}

/// Rows of events per multi-row statement (11 values each).
pub(crate) const EVENT_ROWS_PER_STATEMENT: usize = 500;

/// Writes the events that `$entries` (audit entries) carry into the outbox inside the
/// transaction `$tx`, and fans each out to a pending delivery per enabled endpoint of its
/// tenant that subscribes to its type: so a change, its audit entry, its event and the promise
/// to deliver it commit together, or not at all.
macro_rules! write_outbox {
    ($tx:ident, $entries:expr) => {{
        let entries: &[clientele_core::audit::entry::AuditEntry] = $entries;
        let events: Vec<&clientele_core::events::record::OutboxEvent> =
            entries.iter().filter_map(|e| e.event.as_deref()).collect();
        for chunk in events.chunks($crate::webhooks::records::EVENT_ROWS_PER_STATEMENT) {
            let mut sql = sqlx::QueryBuilder::new(
                "INSERT INTO outbox_events (tenant_id, id, event_type, schema_version, resource_type, resource_id, \
                 ordering_key, occurred_at, actor_id, actor_role, data) ",
            );
            sql.push_values(chunk, |mut b, event| {
                b.push_bind(event.tenant_id.as_uuid())
                    .push_bind(event.id.as_uuid())
                    .push_bind(event.event_type.as_str())
                    .push_bind(event.schema_version)
                    .push_bind(event.resource_type)
                    .push_bind(event.resource_id)
                    .push_bind(event.ordering_key)
                    .push_bind($crate::db::Ts(event.occurred_at))
                    .push_bind(event.actor.user_id)
                    .push_bind(event.actor.role.clone())
                    .push_bind(event.data.to_string());
            });
            sql.build().execute(&mut *$tx).await.map_err($crate::db::db_error)?;
            let mut tenants: Vec<clientele_core::ids::TenantId> = chunk.iter().map(|e| e.tenant_id).collect();
            tenants.sort();
            tenants.dedup();
            let now = $crate::db::Ts(clientele_core::time::Timestamp::now());
            for tenant in tenants {
                let mut fan = sqlx::QueryBuilder::new(
                    "INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, event_seq, ordering_key, status, \
                     attempts, next_attempt_at, created_at) \
                     SELECT ev.tenant_id, s.endpoint_id, ev.id, ev.seq, ev.ordering_key, 'pending', 0, ",
                );
                fan.push_bind(now)
                    .push(", ")
                    .push_bind(now)
                    .push(
                        " FROM outbox_events ev \
                         JOIN webhook_subscriptions s ON s.tenant_id = ev.tenant_id \
                             AND (s.event_type = ev.event_type OR s.event_type = '*') \
                         JOIN webhook_endpoints e ON e.tenant_id = s.tenant_id AND e.id = s.endpoint_id AND e.enabled \
                         WHERE ev.tenant_id = ",
                    )
                    .push_bind(tenant.as_uuid())
                    .push(" AND ev.id IN (");
                let mut ids = fan.separated(", ");
                for event in chunk.iter().filter(|e| e.tenant_id == tenant) {
                    ids.push_bind(event.id.as_uuid());
                }
                fan.push(")");
                fan.build().execute(&mut *$tx).await.map_err($crate::db::db_error)?;
            }
        }
    }};
}
pub(crate) use write_outbox;
