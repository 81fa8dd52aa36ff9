//! Stripe: each tenant's settings (keys sealed), each customer's Stripe customer id, and the
//! events received, applied once each and in order per object.

use async_trait::async_trait;
use clientele_core::audit::entry::AuditEntry;
use clientele_core::documents::vault::SealedSecret;
use clientele_core::ids::{CustomerId, TenantId};
use clientele_core::payments::record::StripeLink;
use clientele_core::payments::settings::{PaymentSettings, StripeMode};
use clientele_core::payments::store::{EventOutcome, PaymentStore, StripeEventRecord};
use clientele_core::{Error, ErrorCode, Result};
use uuid::Uuid;

use crate::SqlStore;
use crate::audit::append_audit;
use crate::db::{Scope, Ts, corrupt, db_error, in_transaction, is_unique_violation, with_reader};

/// The columns of `stripe_settings`, in the order of [`SettingsRecord`].
macro_rules! settings_columns {
    () => {
        "tenant_id, mode, connect_account_id, secret_key, publishable_key, webhook_secret, updated_at"
    };
}

#[derive(Debug, sqlx::FromRow)]
struct SettingsRecord {
    tenant_id: Uuid,
    mode: String,
    connect_account_id: Option<String>,
    secret_key: Option<String>,
    publishable_key: Option<String>,
    webhook_secret: Option<String>,
    updated_at: Ts,
}

impl From<&PaymentSettings> for SettingsRecord {
    fn from(s: &PaymentSettings) -> Self {
        Self {
            tenant_id: s.tenant_id.as_uuid(),
            mode: s.mode.as_str().to_owned(),
            connect_account_id: s.connect_account_id.clone(),
            secret_key: s.secret_key.as_ref().map(SealedSecret::to_text),
            publishable_key: s.publishable_key.clone(),
            webhook_secret: s.webhook_secret.as_ref().map(SealedSecret::to_text),
            updated_at: s.updated_at.into(),
        }
    }
}

impl TryFrom<SettingsRecord> for PaymentSettings {
    type Error = Error;
    fn try_from(r: SettingsRecord) -> Result<Self> {
        let sealed = |text: Option<String>, what: &str| -> Result<Option<SealedSecret>> {
            text.map(|t| SealedSecret::from_text(&t).ok_or_else(|| corrupt(what, "(sealed text)"))).transpose()
        };
        Ok(Self {
            tenant_id: TenantId::from_uuid(r.tenant_id),
            mode: StripeMode::parse(&r.mode).ok_or_else(|| corrupt("Stripe mode", &r.mode))?,
            connect_account_id: r.connect_account_id,
            secret_key: sealed(r.secret_key, "Stripe secret key")?,
            publishable_key: r.publishable_key,
            webhook_secret: sealed(r.webhook_secret, "Stripe webhook secret")?,
            updated_at: r.updated_at.0,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct LinkRecord {
    tenant_id: Uuid,
    customer_id: Uuid,
    stripe_customer_id: String,
    created_at: Ts,
}

impl From<LinkRecord> for StripeLink {
    fn from(r: LinkRecord) -> Self {
        Self {
            tenant_id: TenantId::from_uuid(r.tenant_id),
            customer_id: CustomerId::from_uuid(r.customer_id),
            stripe_customer_id: r.stripe_customer_id,
            created_at: r.created_at.0,
        }
    }
}

const LINK_COLUMNS: &str = "tenant_id, customer_id, stripe_customer_id, created_at";

#[async_trait]
impl PaymentStore for SqlStore {
    async fn payment_settings(&self, tenant: TenantId) -> Result<Option<PaymentSettings>> {
        let record = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, SettingsRecord>(concat!(
                "SELECT ",
                settings_columns!(),
                " FROM stripe_settings WHERE tenant_id = $1"
            ))
            .bind(tenant.as_uuid())
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(PaymentSettings::try_from).transpose()
    }

    async fn put_payment_settings(&self, settings: &PaymentSettings, audit: &[AuditEntry]) -> Result<()> {
        let r = SettingsRecord::from(settings);
        in_transaction!(self, settings.tenant_id, |tx| {
            sqlx::query(concat!(
                "INSERT INTO stripe_settings (",
                settings_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id) DO UPDATE SET mode = excluded.mode, \
                 connect_account_id = excluded.connect_account_id, secret_key = excluded.secret_key, \
                 publishable_key = excluded.publishable_key, webhook_secret = excluded.webhook_secret, \
                 updated_at = excluded.updated_at"
            ))
            .bind(r.tenant_id)
            .bind(&r.mode)
            .bind(&r.connect_account_id)
            .bind(&r.secret_key)
            .bind(&r.publishable_key)
            .bind(&r.webhook_secret)
            .bind(r.updated_at)
            .execute(&mut *tx)
            .await
            .map_err(|error| {
                if is_unique_violation(&error, "connect_account_id")
                    || is_unique_violation(&error, "stripe_settings_account")
                {
                    Error::conflict(ErrorCode::Conflict, "another tenant has this connected account")
                } else {
                    db_error(error)
                }
            })?;
            append_audit!(self, tx, audit);
        });
        Ok(())
    }

    async fn delete_payment_settings(&self, tenant: TenantId, audit: &[AuditEntry]) -> Result<()> {
        in_transaction!(self, tenant, |tx| {
            sqlx::query("DELETE FROM stripe_settings WHERE tenant_id = $1")
                .bind(tenant.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            append_audit!(self, tx, audit);
        });
        Ok(())
    }

    async fn sealed_payment_settings(&self) -> Result<Vec<PaymentSettings>> {
        let records = with_reader!(self, Scope::AllTenants, |conn| {
            sqlx::query_as::<_, SettingsRecord>(concat!(
                "/* all tenants */ SELECT ",
                settings_columns!(),
                " FROM stripe_settings WHERE secret_key IS NOT NULL OR webhook_secret IS NOT NULL ORDER BY tenant_id"
            ))
            .fetch_all(conn)
            .await
        });
        records.map_err(db_error)?.into_iter().map(PaymentSettings::try_from).collect()
    }

    async fn tenant_by_stripe_account(&self, account: &str) -> Result<Option<TenantId>> {
        let found = with_reader!(self, Scope::AllTenants, |conn| {
            sqlx::query_scalar::<_, Uuid>(
                "/* all tenants */ SELECT tenant_id FROM stripe_settings WHERE connect_account_id = $1",
            )
            .bind(account)
            .fetch_optional(conn)
            .await
        });
        Ok(found.map_err(db_error)?.map(TenantId::from_uuid))
    }

    async fn stripe_link(&self, tenant: TenantId, customer: CustomerId) -> Result<Option<StripeLink>> {
        let sql = format!("SELECT {LINK_COLUMNS} FROM stripe_customers WHERE tenant_id = $1 AND customer_id = $2");
        let record = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, LinkRecord>(sqlx::AssertSqlSafe(sql))
                .bind(tenant.as_uuid())
                .bind(customer.as_uuid())
                .fetch_optional(conn)
                .await
        });
        Ok(record.map_err(db_error)?.map(StripeLink::from))
    }

    async fn stripe_link_by_stripe_id(&self, tenant: TenantId, stripe_customer_id: &str) -> Result<Option<StripeLink>> {
        let sql =
            format!("SELECT {LINK_COLUMNS} FROM stripe_customers WHERE tenant_id = $1 AND stripe_customer_id = $2");
        let record = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, LinkRecord>(sqlx::AssertSqlSafe(sql))
                .bind(tenant.as_uuid())
                .bind(stripe_customer_id)
                .fetch_optional(conn)
                .await
        });
        Ok(record.map_err(db_error)?.map(StripeLink::from))
    }

    async fn insert_stripe_link(&self, link: &StripeLink, audit: &[AuditEntry]) -> Result<StripeLink> {
        let kept = in_transaction!(self, link.tenant_id, |tx| {
            let inserted = sqlx::query(
                "INSERT INTO stripe_customers (tenant_id, customer_id, stripe_customer_id, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, customer_id) DO NOTHING",
            )
            .bind(link.tenant_id.as_uuid())
            .bind(link.customer_id.as_uuid())
            .bind(&link.stripe_customer_id)
            .bind(Ts(link.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
            if inserted == 1 {
                append_audit!(self, tx, audit);
            }
            let sql = format!("SELECT {LINK_COLUMNS} FROM stripe_customers WHERE tenant_id = $1 AND customer_id = $2");
            sqlx::query_as::<_, LinkRecord>(sqlx::AssertSqlSafe(sql))
                .bind(link.tenant_id.as_uuid())
                .bind(link.customer_id.as_uuid())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?
        });
        Ok(StripeLink::from(kept))
    }

    async fn record_stripe_event(
        &self,
        event: &StripeEventRecord,
        audit: &[AuditEntry],
        unlink: Option<CustomerId>,
    ) -> Result<EventOutcome> {
        let outcome = in_transaction!(self, event.tenant_id, |tx| {
            let inserted = sqlx::query(
                "INSERT INTO stripe_events (tenant_id, event_id, event_type, object_id, created, received_at, outcome) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, event_id) DO NOTHING",
            )
            .bind(event.tenant_id.as_uuid())
            .bind(&event.event_id)
            .bind(&event.event_type)
            .bind(&event.object_id)
            .bind(event.created)
            .bind(Ts(event.received_at))
            .bind(event.outcome.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
            if inserted == 0 {
                EventOutcome::Duplicate
            } else if event.outcome != EventOutcome::Processed {
                event.outcome
            } else {
                let newer: Option<i64> = match &event.object_id {
                    Some(object) => sqlx::query_scalar(
                        "SELECT created FROM stripe_events WHERE tenant_id = $1 AND object_id = $2 AND created > $3 \
                         AND outcome = 'processed' LIMIT 1",
                    )
                    .bind(event.tenant_id.as_uuid())
                    .bind(object)
                    .bind(event.created)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_error)?,
                    None => None,
                };
                if newer.is_some() {
                    sqlx::query(
                        "UPDATE stripe_events SET outcome = 'superseded' WHERE tenant_id = $1 AND event_id = $2",
                    )
                    .bind(event.tenant_id.as_uuid())
                    .bind(&event.event_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                    EventOutcome::Superseded
                } else {
                    if let Some(customer) = unlink {
                        sqlx::query("DELETE FROM stripe_customers WHERE tenant_id = $1 AND customer_id = $2")
                            .bind(event.tenant_id.as_uuid())
                            .bind(customer.as_uuid())
                            .execute(&mut *tx)
                            .await
                            .map_err(db_error)?;
                    }
                    append_audit!(self, tx, audit);
                    EventOutcome::Processed
                }
            }
        });
        Ok(outcome)
    }
}
