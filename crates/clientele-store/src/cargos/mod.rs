//! Ca.R.G.O.S.: agencies, settings and submissions per tenant; refreshed tables for everyone.

use async_trait::async_trait;
use clientele_core::Result;
use clientele_core::audit::entry::AuditEntry;
use clientele_core::cargos::agencies::RentalAgency;
use clientele_core::cargos::settings::CargosSettings;
use clientele_core::cargos::store::{CargosStore, StoredTables};
use clientele_core::cargos::submissions::{Submission, SubmissionFailure, SubmissionFilter};
use clientele_core::ids::{AgencyId, OrderId, SubmissionId, TenantId};
use clientele_core::time::Timestamp;
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::SqlStore;
use crate::audit::append_audit;
use crate::cargos::records::{
    AgencyRecord, INSERT_SUBMISSION, SettingsRecord, SubmissionRecord, agency_columns, agency_write_error,
    bind_submission, settings_columns, submission_columns, submission_write_error,
};
use crate::customers::writes::stale_write;
use crate::db::{Scope, Ts, db_error, in_transaction, with_reader};

pub(crate) mod records;

/// The conditions of a check a worker may take: pending, or running with its lease run out ($1 is now).
const CLAIMABLE: &str = "action = 'check' AND (status = 'pending' OR (status = 'running' AND lease_until < $1))";

#[async_trait]
impl CargosStore for SqlStore {
    async fn insert_agency(&self, agency: &RentalAgency, audit: &[AuditEntry]) -> Result<()> {
        let r = AgencyRecord::from(agency);
        in_transaction!(self, agency.tenant_id, |tx| {
            sqlx::query(concat!(
                "INSERT INTO cargos_agencies (",
                agency_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .bind(r.tenant_id)
            .bind(r.id)
            .bind(&r.code)
            .bind(&r.name)
            .bind(&r.place_code)
            .bind(&r.address)
            .bind(&r.phone)
            .bind(r.created_at)
            .bind(r.updated_at)
            .bind(r.deleted_at)
            .bind(r.version)
            .execute(&mut *tx)
            .await
            .map_err(agency_write_error)?;
            append_audit!(self, tx, audit);
        });
        Ok(())
    }

    async fn get_agency(&self, tenant: TenantId, id: AgencyId) -> Result<Option<RentalAgency>> {
        let record = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, AgencyRecord>(concat!(
                "SELECT ",
                agency_columns!(),
                " FROM cargos_agencies WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(conn)
            .await
        });
        Ok(record.map_err(db_error)?.map(RentalAgency::from))
    }

    async fn list_agencies(&self, tenant: TenantId, include_deleted: bool) -> Result<Vec<RentalAgency>> {
        let records = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, AgencyRecord>(concat!(
                "SELECT ",
                agency_columns!(),
                " FROM cargos_agencies WHERE tenant_id = $1 AND ($2 OR deleted_at IS NULL) ORDER BY code, id"
            ))
            .bind(tenant.as_uuid())
            .bind(include_deleted)
            .fetch_all(conn)
            .await
        });
        Ok(records.map_err(db_error)?.into_iter().map(RentalAgency::from).collect())
    }

    async fn update_agency(&self, agency: &RentalAgency, expected_version: i64, audit: &[AuditEntry]) -> Result<()> {
        let r = AgencyRecord::from(agency);
        in_transaction!(self, agency.tenant_id, |tx| {
            let updated = sqlx::query(
                "UPDATE cargos_agencies SET code = $3, name = $4, place_code = $5, address = $6, phone = $7, \
                 updated_at = $8, deleted_at = $9, version = $10 WHERE tenant_id = $1 AND id = $2 AND version = $11",
            )
            .bind(r.tenant_id)
            .bind(r.id)
            .bind(&r.code)
            .bind(&r.name)
            .bind(&r.place_code)
            .bind(&r.address)
            .bind(&r.phone)
            .bind(r.updated_at)
            .bind(r.deleted_at)
            .bind(r.version)
            .bind(expected_version)
            .execute(&mut *tx)
            .await
            .map_err(agency_write_error)?
            .rows_affected();
            if updated != 1 {
                return Err(stale_write!(tx, "cargos_agencies", "agency", r.tenant_id, r.id, expected_version));
            }
            append_audit!(self, tx, audit);
        });
        Ok(())
    }

    async fn cargos_settings(&self, tenant: TenantId) -> Result<Option<CargosSettings>> {
        let record = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, SettingsRecord>(concat!(
                "SELECT ",
                settings_columns!(),
                " FROM cargos_settings WHERE tenant_id = $1"
            ))
            .bind(tenant.as_uuid())
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(CargosSettings::try_from).transpose()
    }

    async fn put_cargos_settings(&self, settings: &CargosSettings, audit: &[AuditEntry]) -> Result<()> {
        let r = SettingsRecord::from(settings);
        in_transaction!(self, settings.tenant_id, |tx| {
            sqlx::query(concat!(
                "INSERT INTO cargos_settings (",
                settings_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id) DO UPDATE SET \
                 credentials = excluded.credentials, credentials_key_id = excluded.credentials_key_id, \
                 credentials_set_at = excluded.credentials_set_at, on_activation = excluded.on_activation, \
                 updated_at = excluded.updated_at"
            ))
            .bind(r.tenant_id)
            .bind(&r.credentials)
            .bind(&r.credentials_key_id)
            .bind(r.credentials_set_at)
            .bind(&r.on_activation)
            .bind(r.updated_at)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            append_audit!(self, tx, audit);
        });
        Ok(())
    }

    async fn settings_with_credentials(&self) -> Result<Vec<CargosSettings>> {
        let records = with_reader!(self, Scope::AllTenants, |conn| {
            sqlx::query_as::<_, SettingsRecord>(concat!(
                "/* all tenants */ SELECT ",
                settings_columns!(),
                " FROM cargos_settings WHERE credentials IS NOT NULL ORDER BY tenant_id"
            ))
            .fetch_all(conn)
            .await
        });
        records.map_err(db_error)?.into_iter().map(CargosSettings::try_from).collect()
    }

    async fn insert_submission(&self, submission: &Submission, audit: &[AuditEntry]) -> Result<()> {
        let r = SubmissionRecord::try_from(submission)?;
        in_transaction!(self, submission.tenant_id, |tx| {
            bind_submission!(sqlx::query(INSERT_SUBMISSION), r)
                .execute(&mut *tx)
                .await
                .map_err(submission_write_error)?;
            append_audit!(self, tx, audit);
        });
        Ok(())
    }

    async fn finish_submission(&self, submission: &Submission, audit: &[AuditEntry]) -> Result<bool> {
        let r = SubmissionRecord::try_from(submission)?;
        let finished = in_transaction!(self, submission.tenant_id, |tx| {
            // Fenced by the lease: a worker that lost its claim to another writes nothing.
            let updated = sqlx::query(
                "UPDATE cargos_submissions SET status = $3, record = $4, record_sha256 = $5, transaction_id = $6, \
                 errors = $7, failure_code = $8, failure = $9, finished_at = $10, attempts = $11, worker = NULL, \
                 lease_until = NULL WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'running') \
                 AND ($12 IS NULL OR worker = $12)",
            )
            .bind(r.tenant_id)
            .bind(r.id)
            .bind(&r.status)
            .bind(&r.record)
            .bind(&r.record_sha256)
            .bind(&r.transaction_id)
            .bind(&r.errors)
            .bind(&r.failure_code)
            .bind(&r.failure)
            .bind(r.finished_at)
            .bind(r.attempts)
            .bind(r.worker)
            .execute(&mut *tx)
            .await
            .map_err(submission_write_error)?
            .rows_affected();
            if updated == 1 {
                append_audit!(self, tx, audit);
            }
            updated == 1
        });
        Ok(finished)
    }

    async fn order_submissions(&self, tenant: TenantId, order: OrderId) -> Result<Vec<Submission>> {
        let records = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, SubmissionRecord>(concat!(
                "SELECT ",
                submission_columns!(),
                " FROM cargos_submissions WHERE tenant_id = $1 AND order_id = $2 ORDER BY id DESC"
            ))
            .bind(tenant.as_uuid())
            .bind(order.as_uuid())
            .fetch_all(conn)
            .await
        });
        records.map_err(db_error)?.into_iter().map(Submission::try_from).collect()
    }

    async fn list_submissions(
        &self,
        tenant: TenantId,
        filter: &SubmissionFilter,
        after: Option<SubmissionId>,
        limit: u32,
    ) -> Result<Vec<Submission>> {
        let records = with_reader!(self, tenant, |conn| {
            let mut sql = QueryBuilder::new(concat!(
                "SELECT ",
                submission_columns!(),
                " FROM cargos_submissions WHERE tenant_id = "
            ));
            sql.push_bind(tenant.as_uuid());
            if let Some(status) = filter.status {
                sql.push(" AND status = ").push_bind(status.as_str());
            }
            if let Some(order) = filter.order_id {
                sql.push(" AND order_id = ").push_bind(order.as_uuid());
            }
            if let Some(after) = after {
                sql.push(" AND id < ").push_bind(after.as_uuid());
            }
            sql.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit.max(1)));
            sql.build_query_as::<SubmissionRecord>().fetch_all(conn).await
        });
        records.map_err(db_error)?.into_iter().map(Submission::try_from).collect()
    }

    async fn claim_submission(&self, worker: Uuid, now: Timestamp, until: Timestamp) -> Result<Option<Submission>> {
        // The conditions stand in the outer WHERE too: when two workers race for a check on
        // PostgreSQL, the second re-checks them on the row the first changed, and skips it.
        let sql = format!(
            "/* all tenants */ UPDATE cargos_submissions SET status = 'running', worker = $2, lease_until = $3, attempts = attempts + 1 \
             WHERE {CLAIMABLE} AND (tenant_id, id) = (SELECT tenant_id, id FROM cargos_submissions \
             WHERE {CLAIMABLE} ORDER BY created_at LIMIT 1) RETURNING {}",
            submission_columns!()
        );
        let claimed = in_transaction!(self, Scope::AllTenants, |tx| {
            sqlx::query_as::<_, SubmissionRecord>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(Ts(now))
                .bind(worker)
                .bind(Ts(until))
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?
        });
        claimed.map(Submission::try_from).transpose()
    }

    async fn fail_abandoned_sends(&self, now: Timestamp, failure: &SubmissionFailure) -> Result<u64> {
        let failed = in_transaction!(self, Scope::AllTenants, |tx| {
            sqlx::query(
                "/* all tenants */ UPDATE cargos_submissions SET status = 'failed', failure_code = $2, failure = $3, finished_at = $1, \
                 worker = NULL, lease_until = NULL WHERE action = 'send' AND status = 'running' AND lease_until < $1",
            )
            .bind(Ts(now))
            .bind(&failure.code)
            .bind(&failure.message)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected()
        });
        Ok(failed)
    }

    async fn cargos_tables(&self) -> Result<Option<StoredTables>> {
        let rows = with_reader!(self, Scope::Platform, |conn| {
            sqlx::query_as::<_, (String, String, Ts)>("SELECT name, content, fetched_at FROM cargos_tables")
                .fetch_all(conn)
                .await
        });
        let rows = rows.map_err(db_error)?;
        let text = |name: &str| rows.iter().find(|(n, _, _)| n == name).map(|(_, content, _)| content.clone());
        let (Some(payment_types), Some(places), Some(vehicle_types), Some(document_types)) =
            (text("payment_types"), text("places"), text("vehicle_types"), text("document_types"))
        else {
            return Ok(None);
        };
        let fetched_at = rows.iter().map(|(_, _, at)| at.0).min().unwrap_or_else(Timestamp::now);
        Ok(Some(StoredTables { payment_types, places, vehicle_types, document_types, fetched_at }))
    }

    async fn put_cargos_tables(&self, tables: &StoredTables) -> Result<()> {
        let rows = [
            ("payment_types", &tables.payment_types),
            ("places", &tables.places),
            ("vehicle_types", &tables.vehicle_types),
            ("document_types", &tables.document_types),
        ];
        in_transaction!(self, Scope::Platform, |tx| {
            for (name, content) in rows {
                sqlx::query(
                    "INSERT INTO cargos_tables (name, content, fetched_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET content = excluded.content, fetched_at = excluded.fetched_at",
                )
                .bind(name)
                .bind(content)
                .bind(Ts(tables.fetched_at))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            }
        });
        Ok(())
    }
}
