//! Webhook endpoints, their deliveries and attempts, and the outbox they are fed from.

use async_trait::async_trait;
use clientele_core::audit::entry::AuditEntry;
use clientele_core::events::record::OutboxEvent;
use clientele_core::ids::{EventId, TenantId, WebhookId};
use clientele_core::time::Timestamp;
use clientele_core::webhooks::record::{Attempt, Delivery, DeliveryStatus, OutboxStatus, WebhookEndpoint};
use clientele_core::webhooks::store::{
    AttemptRecord, DueDelivery, EndpointHealth, FinishedAttempt, NextStep, WebhookStore,
};
use clientele_core::{Error, Result};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::SqlStore;
use crate::audit::append_audit;
use crate::db::{Scope, Ts, db_error, in_transaction, with_reader};
use crate::webhooks::records::{EndpointRecord, endpoint_columns};

pub(crate) mod records;

/// Events (and their ended deliveries) removed per statement when purging.
const PURGE_BATCH: i64 = 5_000;

/// Writes an endpoint's subscriptions inside `$tx`, replacing any it had.
macro_rules! write_subscriptions {
    ($tx:ident, $endpoint:expr) => {{
        let endpoint: &WebhookEndpoint = $endpoint;
        sqlx::query("DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND endpoint_id = $2")
            .bind(endpoint.tenant_id.as_uuid())
            .bind(endpoint.id.as_uuid())
            .execute(&mut *$tx)
            .await
            .map_err(db_error)?;
        if !endpoint.events.is_empty() {
            let mut sql = QueryBuilder::new("INSERT INTO webhook_subscriptions (tenant_id, endpoint_id, event_type) ");
            sql.push_values(&endpoint.events, |mut b, event| {
                b.push_bind(endpoint.tenant_id.as_uuid()).push_bind(endpoint.id.as_uuid()).push_bind(event.clone());
            });
            sql.build().execute(&mut *$tx).await.map_err(db_error)?;
        }
    }};
}

fn events_text(endpoint: &WebhookEndpoint) -> String {
    serde_json::to_string(&endpoint.events).unwrap_or_else(|_| "[]".to_owned())
}

#[derive(Debug, sqlx::FromRow)]
struct DueRecord {
    tenant_id: Uuid,
    endpoint_id: Uuid,
    event_id: Uuid,
    attempts: i64,
    event_type: String,
    occurred_at: Ts,
    data: String,
    url: String,
    secret: String,
    previous_secret: Option<String>,
    previous_until: Option<Ts>,
    failing_since: Option<Ts>,
}

#[derive(Debug, sqlx::FromRow)]
struct DeliveryRecord {
    endpoint_id: Uuid,
    event_id: Uuid,
    event_type: String,
    status: String,
    next_attempt_at: Ts,
    created_at: Ts,
    finished_at: Option<Ts>,
}

#[derive(Debug, sqlx::FromRow)]
struct AttemptRow {
    event_id: Uuid,
    attempt: i64,
    at: Ts,
    status_code: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
    response_body: Option<String>,
}

/// Records an attempt inside `$tx`, numbered after the delivery's earlier attempts (replays
/// start a new round of retries, never a new count).
macro_rules! insert_attempt {
    ($tx:ident, $attempt:expr) => {{
        let attempt: &AttemptRecord = $attempt;
        sqlx::query(
            "INSERT INTO webhook_attempts (tenant_id, endpoint_id, event_id, attempt, at, status_code, latency_ms, \
             error, response_body) \
             SELECT $1, $2, $3, COALESCE(MAX(attempt), 0) + 1, $4, $5, $6, $7, $8 FROM webhook_attempts \
             WHERE tenant_id = $1 AND endpoint_id = $2 AND event_id = $3",
        )
        .bind(attempt.tenant_id.as_uuid())
        .bind(attempt.endpoint_id.as_uuid())
        .bind(attempt.event_id.as_uuid())
        .bind(Ts(attempt.at))
        .bind(attempt.status_code)
        .bind(attempt.latency_ms)
        .bind(&attempt.error)
        .bind(&attempt.response_body)
        .execute(&mut *$tx)
        .await
        .map_err(db_error)?;
    }};
}

/// Records what an attempt says of its endpoint inside `$tx`: working (not failing), failing
/// since, or disabled with a reason.
macro_rules! record_health {
    ($tx:ident, $tenant:expr, $endpoint:expr, $health:expr, $at:expr) => {{
        let (tenant, endpoint, health, attempt_at): (Uuid, Uuid, &EndpointHealth, Timestamp) =
            ($tenant, $endpoint, $health, $at);
        match health {
            EndpointHealth::Working => {
                sqlx::query(
                    "UPDATE webhook_endpoints SET failing_since = NULL \
                 WHERE tenant_id = $1 AND id = $2 AND failing_since IS NOT NULL",
                )
                .bind(tenant)
                .bind(endpoint)
                .execute(&mut *$tx)
                .await
                .map_err(db_error)?;
            }
            EndpointHealth::FailingSince(since) => {
                sqlx::query(
                    "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $3) \
                 WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant)
                .bind(endpoint)
                .bind(Ts(*since))
                .execute(&mut *$tx)
                .await
                .map_err(db_error)?;
            }
            EndpointHealth::Disabled(reason) => {
                sqlx::query(
                    "UPDATE webhook_endpoints SET enabled = $3, disabled_reason = $4, \
                 failing_since = COALESCE(failing_since, $5), updated_at = $5, version = version + 1 \
                 WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant)
                .bind(endpoint)
                .bind(false)
                .bind(reason)
                .bind(Ts(attempt_at))
                .execute(&mut *$tx)
                .await
                .map_err(db_error)?;
            }
        }
    }};
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn insert_webhook(&self, endpoint: &WebhookEndpoint, audit: &AuditEntry) -> Result<()> {
        in_transaction!(self, endpoint.tenant_id, |tx| {
            sqlx::query(concat!(
                "INSERT INTO webhook_endpoints (",
                endpoint_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            ))
            .bind(endpoint.tenant_id.as_uuid())
            .bind(endpoint.id.as_uuid())
            .bind(&endpoint.url)
            .bind(events_text(endpoint))
            .bind(&endpoint.description)
            .bind(endpoint.enabled)
            .bind(&endpoint.disabled_reason)
            .bind(&endpoint.sealed_secret)
            .bind(&endpoint.sealed_previous_secret)
            .bind(endpoint.previous_secret_until.map(Ts))
            .bind(endpoint.failing_since.map(Ts))
            .bind(Ts(endpoint.created_at))
            .bind(endpoint.created_by)
            .bind(Ts(endpoint.updated_at))
            .bind(endpoint.version)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            write_subscriptions!(tx, endpoint);
            append_audit!(self, tx, std::slice::from_ref(audit));
        });
        Ok(())
    }

    async fn get_webhook(&self, tenant: TenantId, id: WebhookId) -> Result<Option<WebhookEndpoint>> {
        let record = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, EndpointRecord>(concat!(
                "SELECT ",
                endpoint_columns!(),
                " FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(WebhookEndpoint::try_from).transpose()
    }

    async fn list_webhooks(
        &self,
        tenant: TenantId,
        after: Option<WebhookId>,
        limit: u32,
    ) -> Result<Vec<WebhookEndpoint>> {
        let records = with_reader!(self, tenant, |conn| {
            let mut sql = QueryBuilder::new(concat!(
                "SELECT ",
                endpoint_columns!(),
                " FROM webhook_endpoints WHERE tenant_id = "
            ));
            sql.push_bind(tenant.as_uuid());
            if let Some(after) = after {
                sql.push(" AND id > ").push_bind(after.as_uuid());
            }
            sql.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit.max(1)));
            sql.build_query_as::<EndpointRecord>().fetch_all(conn).await
        });
        records.map_err(db_error)?.into_iter().map(WebhookEndpoint::try_from).collect()
    }

    async fn update_webhook(
        &self,
        endpoint: &WebhookEndpoint,
        expected_version: i64,
        audit: &[AuditEntry],
    ) -> Result<()> {
        in_transaction!(self, endpoint.tenant_id, |tx| {
            let updated = sqlx::query(
                "UPDATE webhook_endpoints SET url = $3, events = $4, description = $5, enabled = $6, \
                 disabled_reason = $7, secret = $8, previous_secret = $9, previous_until = $10, failing_since = $11, \
                 updated_at = $12, version = $13 WHERE tenant_id = $1 AND id = $2 AND version = $14",
            )
            .bind(endpoint.tenant_id.as_uuid())
            .bind(endpoint.id.as_uuid())
            .bind(&endpoint.url)
            .bind(events_text(endpoint))
            .bind(&endpoint.description)
            .bind(endpoint.enabled)
            .bind(&endpoint.disabled_reason)
            .bind(&endpoint.sealed_secret)
            .bind(&endpoint.sealed_previous_secret)
            .bind(endpoint.previous_secret_until.map(Ts))
            .bind(endpoint.failing_since.map(Ts))
            .bind(Ts(endpoint.updated_at))
            .bind(endpoint.version)
            .bind(expected_version)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
            if updated == 0 {
                return Err(crate::customers::writes::stale_write!(
                    tx,
                    "webhook_endpoints",
                    "webhook",
                    endpoint.tenant_id.as_uuid(),
                    endpoint.id.as_uuid(),
                    expected_version
                ));
            }
            write_subscriptions!(tx, endpoint);
            append_audit!(self, tx, audit);
        });
        Ok(())
    }

    async fn delete_webhook(&self, tenant: TenantId, id: WebhookId, audit: &AuditEntry) -> Result<bool> {
        let deleted = in_transaction!(self, tenant, |tx| {
            // Attempts and deliveries first: SQLite's cascades need foreign keys on, and the
            // order is the same either way.
            for table in ["webhook_attempts", "webhook_deliveries", "webhook_subscriptions"] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE tenant_id = $1 AND endpoint_id = $2"
                )))
                .bind(tenant.as_uuid())
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            }
            let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_uuid())
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected();
            if deleted == 0 {
                return Ok(false);
            }
            append_audit!(self, tx, std::slice::from_ref(audit));
            true
        });
        Ok(deleted)
    }

    async fn claim_deliveries(
        &self,
        worker: Uuid,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueDelivery>> {
        // PostgreSQL: rows another process is claiming are skipped, not waited for. SQLite has
        // one writer: the claim is atomic as it is.
        let lock = if self.is_sqlite() { "" } else { " FOR UPDATE OF c SKIP LOCKED" };
        let claim = format!(
            "/* all tenants */ UPDATE webhook_deliveries SET worker = $1, lease_until = $3 \
             WHERE (tenant_id, endpoint_id, event_id) IN ( \
                 SELECT c.tenant_id, c.endpoint_id, c.event_id FROM webhook_deliveries c \
                 JOIN webhook_endpoints e ON e.tenant_id = c.tenant_id AND e.id = c.endpoint_id AND e.enabled \
                 WHERE c.status = 'pending' AND c.next_attempt_at <= $2 AND (c.lease_until IS NULL OR c.lease_until < $2) \
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.tenant_id = c.tenant_id \
                     AND p.endpoint_id = c.endpoint_id AND p.ordering_key = c.ordering_key \
                     AND p.status = 'pending' AND p.event_seq < c.event_seq) \
                 ORDER BY c.next_attempt_at, c.event_seq LIMIT $4{lock}) \
             AND status = 'pending' AND (lease_until IS NULL OR lease_until < $2 OR worker = $1) \
             RETURNING tenant_id, endpoint_id, event_id"
        );
        let due = in_transaction!(self, Scope::AllTenants, |tx| {
            let claimed: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(sqlx::AssertSqlSafe(claim))
                .bind(worker)
                .bind(Ts(now))
                .bind(Ts(lease_until))
                .bind(i64::from(limit.max(1)))
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
            let mut due = Vec::with_capacity(claimed.len());
            for (tenant, endpoint, event) in claimed {
                let record: DueRecord = sqlx::query_as(
                    "SELECT d.tenant_id, d.endpoint_id, d.event_id, d.attempts, ev.event_type, ev.occurred_at, ev.data, \
                     e.url, e.secret, e.previous_secret, e.previous_until, e.failing_since \
                     FROM webhook_deliveries d \
                     JOIN outbox_events ev ON ev.tenant_id = d.tenant_id AND ev.id = d.event_id \
                     JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id \
                     WHERE d.tenant_id = $1 AND d.endpoint_id = $2 AND d.event_id = $3",
                )
                .bind(tenant)
                .bind(endpoint)
                .bind(event)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
                due.push(DueDelivery {
                    tenant_id: TenantId::from_uuid(record.tenant_id),
                    endpoint_id: WebhookId::from_uuid(record.endpoint_id),
                    event_id: EventId::from_uuid(record.event_id),
                    attempts: record.attempts,
                    event_type: record.event_type,
                    occurred_at: record.occurred_at.0,
                    data: record.data,
                    url: record.url,
                    sealed_secret: record.secret,
                    sealed_previous_secret: record.previous_secret.zip(record.previous_until.map(|t| t.0)),
                    failing_since: record.failing_since.map(|t| t.0),
                });
            }
            due
        });
        Ok(due)
    }

    async fn finish_attempts(&self, worker: Uuid, finished: &[FinishedAttempt]) -> Result<Vec<bool>> {
        let recorded = in_transaction!(self, Scope::AllTenants, |tx| {
            let mut recorded = Vec::with_capacity(finished.len());
            for done in finished {
                let FinishedAttempt { attempt, next, health, audit } = done;
                let (status, next_at, ended) = match *next {
                    NextStep::Succeeded => (DeliveryStatus::Succeeded, attempt.at, Some(Ts(attempt.at))),
                    NextStep::RetryAt(at) => (DeliveryStatus::Pending, at, None),
                    NextStep::Failed => (DeliveryStatus::Failed, attempt.at, Some(Ts(attempt.at))),
                };
                let (tenant, endpoint, event) =
                    (attempt.tenant_id.as_uuid(), attempt.endpoint_id.as_uuid(), attempt.event_id.as_uuid());
                // The fence: only while this worker holds the delivery.
                let held = sqlx::query(
                    "UPDATE webhook_deliveries SET status = $5, attempts = attempts + 1, next_attempt_at = $6, \
                     finished_at = $7, worker = NULL, lease_until = NULL \
                     WHERE tenant_id = $1 AND endpoint_id = $2 AND event_id = $3 AND worker = $4 AND status = 'pending'",
                )
                .bind(tenant)
                .bind(endpoint)
                .bind(event)
                .bind(worker)
                .bind(status.as_str())
                .bind(Ts(next_at))
                .bind(ended)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected()
                    == 1;
                recorded.push(held);
                if !held {
                    continue;
                }
                insert_attempt!(tx, attempt);
                record_health!(tx, tenant, endpoint, health, attempt.at);
                append_audit!(self, tx, audit);
            }
            recorded
        });
        Ok(recorded)
    }

    async fn list_deliveries(
        &self,
        tenant: TenantId,
        endpoint: WebhookId,
        status: Option<DeliveryStatus>,
        after: Option<EventId>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let (deliveries, attempts) = with_reader!(self, tenant, |conn| {
            let mut sql = QueryBuilder::new(
                "SELECT d.endpoint_id, d.event_id, ev.event_type, d.status, d.next_attempt_at, d.created_at, d.finished_at \
                 FROM webhook_deliveries d JOIN outbox_events ev ON ev.tenant_id = d.tenant_id AND ev.id = d.event_id \
                 WHERE d.tenant_id = ",
            );
            sql.push_bind(tenant.as_uuid()).push(" AND d.endpoint_id = ").push_bind(endpoint.as_uuid());
            if let Some(status) = status {
                sql.push(" AND d.status = ").push_bind(status.as_str());
            }
            if let Some(after) = after {
                sql.push(" AND d.event_id < ").push_bind(after.as_uuid());
            }
            sql.push(" ORDER BY d.event_id DESC LIMIT ").push_bind(i64::from(limit.max(1)));
            let deliveries = sql.build_query_as::<DeliveryRecord>().fetch_all(&mut *conn).await.map_err(db_error)?;
            let mut attempts: Vec<AttemptRow> = Vec::new();
            if !deliveries.is_empty() {
                let mut sql = QueryBuilder::new(
                    "SELECT event_id, attempt, at, status_code, latency_ms, error, response_body FROM webhook_attempts \
                     WHERE tenant_id = ",
                );
                sql.push_bind(tenant.as_uuid()).push(" AND endpoint_id = ").push_bind(endpoint.as_uuid());
                sql.push(" AND event_id IN (");
                let mut ids = sql.separated(", ");
                for delivery in &deliveries {
                    ids.push_bind(delivery.event_id);
                }
                sql.push(") ORDER BY event_id, attempt");
                attempts = sql.build_query_as::<AttemptRow>().fetch_all(&mut *conn).await.map_err(db_error)?;
            }
            (deliveries, attempts)
        });
        deliveries
            .into_iter()
            .map(|d| {
                let status = DeliveryStatus::parse(&d.status)
                    .ok_or_else(|| Error::internal(format!("stored delivery status is unknown: {}", d.status)))?;
                let history: Vec<Attempt> = attempts
                    .iter()
                    .filter(|a| a.event_id == d.event_id)
                    .map(|a| Attempt {
                        attempt: a.attempt,
                        at: a.at.0,
                        status_code: a.status_code,
                        latency_ms: a.latency_ms,
                        error: a.error.clone(),
                        response_body: a.response_body.clone(),
                    })
                    .collect();
                Ok(Delivery {
                    id: EventId::from_uuid(d.event_id),
                    endpoint_id: WebhookId::from_uuid(d.endpoint_id),
                    event_type: d.event_type,
                    status,
                    attempts: history.len() as i64,
                    next_attempt_at: (status == DeliveryStatus::Pending).then_some(d.next_attempt_at.0),
                    created_at: d.created_at.0,
                    finished_at: d.finished_at.map(|t| t.0),
                    history,
                })
            })
            .collect()
    }

    async fn replay_delivery(
        &self,
        tenant: TenantId,
        endpoint: WebhookId,
        event: EventId,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let replayed = in_transaction!(self, tenant, |tx| {
            // A new round: the retries start over.
            let replayed = sqlx::query(
                "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $4, \
                 finished_at = NULL, worker = NULL, lease_until = NULL \
                 WHERE tenant_id = $1 AND endpoint_id = $2 AND event_id = $3",
            )
            .bind(tenant.as_uuid())
            .bind(endpoint.as_uuid())
            .bind(event.as_uuid())
            .bind(Ts(now))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
            if replayed == 0 {
                return Ok(false);
            }
            append_audit!(self, tx, std::slice::from_ref(audit));
            true
        });
        Ok(replayed)
    }

    async fn record_ping(&self, event: &OutboxEvent, endpoint: WebhookId, attempt: &AttemptRecord) -> Result<()> {
        let succeeded = attempt.status_code.is_some_and(|s| (200..300).contains(&s));
        let status = if succeeded { DeliveryStatus::Succeeded } else { DeliveryStatus::Failed };
        in_transaction!(self, event.tenant_id, |tx| {
            let seq: i64 = sqlx::query_scalar(
                "INSERT INTO outbox_events (tenant_id, id, event_type, schema_version, resource_type, resource_id, \
                 ordering_key, occurred_at, actor_id, actor_role, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq",
            )
            .bind(event.tenant_id.as_uuid())
            .bind(event.id.as_uuid())
            .bind(event.event_type.as_str())
            .bind(event.schema_version)
            .bind(event.resource_type)
            .bind(event.resource_id)
            .bind(event.ordering_key)
            .bind(Ts(event.occurred_at))
            .bind(event.actor.user_id)
            .bind(&event.actor.role)
            .bind(event.data.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
            sqlx::query(
                "INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, event_seq, ordering_key, status, \
                 attempts, next_attempt_at, created_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $8)",
            )
            .bind(event.tenant_id.as_uuid())
            .bind(endpoint.as_uuid())
            .bind(event.id.as_uuid())
            .bind(seq)
            .bind(event.ordering_key)
            .bind(status.as_str())
            .bind(Ts(event.occurred_at))
            .bind(Ts(attempt.at))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            insert_attempt!(tx, attempt);
        });
        Ok(())
    }

    async fn outbox_status(&self, now: Timestamp) -> Result<OutboxStatus> {
        let day_ago = Ts(now.sub(std::time::Duration::from_secs(24 * 3600)));
        let status = with_reader!(self, Scope::AllTenants, |conn| {
            let events: i64 = sqlx::query_scalar("/* all tenants */ SELECT COUNT(*) FROM outbox_events")
                .fetch_one(&mut *conn)
                .await
                .map_err(db_error)?;
            let (pending, oldest): (i64, Option<Ts>) = sqlx::query_as(
                "/* all tenants */ SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries WHERE status = 'pending'",
            )
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
            let failed: i64 = sqlx::query_scalar(
                "/* all tenants */ SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'failed' AND finished_at > $1",
            )
            .bind(day_ago)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
            OutboxStatus { events, pending, oldest_pending_at: oldest.map(|t| t.0), failed_last_day: failed }
        });
        Ok(status)
    }

    async fn purge_outbox(&self, before: Timestamp) -> Result<u64> {
        let mut purged = 0;
        loop {
            let removed = in_transaction!(self, Scope::AllTenants, |tx| {
                // Ended deliveries of old events go first (their attempts with them: the same
                // batch, in the same order), then the old events no delivery waits for.
                let attempts = sqlx::query(
                    "/* all tenants */ DELETE FROM webhook_attempts WHERE (tenant_id, endpoint_id, event_id) IN ( \
                     SELECT tenant_id, endpoint_id, event_id FROM webhook_deliveries \
                     WHERE status <> 'pending' AND created_at < $1 \
                     ORDER BY tenant_id, endpoint_id, event_id LIMIT $2)",
                )
                .bind(Ts(before))
                .bind(PURGE_BATCH)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected();
                let deliveries = sqlx::query(
                    "/* all tenants */ DELETE FROM webhook_deliveries WHERE (tenant_id, endpoint_id, event_id) IN ( \
                     SELECT tenant_id, endpoint_id, event_id FROM webhook_deliveries \
                     WHERE status <> 'pending' AND created_at < $1 \
                     ORDER BY tenant_id, endpoint_id, event_id LIMIT $2)",
                )
                .bind(Ts(before))
                .bind(PURGE_BATCH)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected();
                let events = sqlx::query(
                    "/* all tenants */ DELETE FROM outbox_events WHERE (tenant_id, id) IN ( \
                     SELECT ev.tenant_id, ev.id FROM outbox_events ev WHERE ev.occurred_at < $1 \
                     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
                         WHERE d.tenant_id = ev.tenant_id AND d.event_id = ev.id) \
                     LIMIT $2)",
                )
                .bind(Ts(before))
                .bind(PURGE_BATCH)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected();
                (attempts.max(deliveries), events)
            });
            purged += removed.1;
            // A full batch of anything may have left more behind (events wait for their deliveries).
            if removed.0.max(removed.1) < PURGE_BATCH as u64 {
                return Ok(purged);
            }
        }
    }

    async fn sealed_webhook_secrets(&self) -> Result<Vec<(TenantId, WebhookId, String, Option<String>)>> {
        let rows = with_reader!(self, Scope::AllTenants, |conn| {
            sqlx::query_as::<_, (Uuid, Uuid, String, Option<String>)>(
                "/* all tenants */ SELECT tenant_id, id, secret, previous_secret FROM webhook_endpoints ORDER BY tenant_id, id",
            )
            .fetch_all(conn)
            .await
        });
        Ok(rows
            .map_err(db_error)?
            .into_iter()
            .map(|(t, id, s, p)| (TenantId::from_uuid(t), WebhookId::from_uuid(id), s, p))
            .collect())
    }

    async fn reseal_webhook_secrets(
        &self,
        tenant: TenantId,
        id: WebhookId,
        old: (&str, Option<&str>),
        new: (&str, Option<&str>),
    ) -> Result<bool> {
        let changed = in_transaction!(self, tenant, |tx| {
            sqlx::query(
                "UPDATE webhook_endpoints SET secret = $5, previous_secret = $6 \
                 WHERE tenant_id = $1 AND id = $2 AND secret = $3 AND previous_secret IS NOT DISTINCT FROM $4",
            )
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .bind(old.0)
            .bind(old.1)
            .bind(new.0)
            .bind(new.1)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected()
        });
        Ok(changed == 1)
    }
}
