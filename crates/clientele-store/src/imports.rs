//! Import jobs, their files and their refused rows.

use async_trait::async_trait;
use clientele_core::audit::entry::AuditEntry;
use clientele_core::blacklist::record::BlacklistChange;
use clientele_core::customers::record::Customer;
use clientele_core::customers::store::CustomerWrite;
use clientele_core::error::FieldError;
use clientele_core::ids::ImportJobId;
use clientele_core::ids::{CustomerId, TenantId};
use clientele_core::imports::job::{ImportJob, ImportLease, ImportMode, ImportRowError, ImportStatus, ImportUndo};
use clientele_core::imports::store::{ImportBatch, ImportStore};
use clientele_core::search::terms::SearchDocument;
use clientele_core::time::Timestamp;
use clientele_core::{Error, ErrorCode, Result};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::SqlStore;
use crate::audit::append_audit;
use crate::customers::records::{CustomerRecord, bind_customer, customer_columns, push_customer_values};
use crate::customers::writes::{
    CLEAR_STALE_GLOBAL_BADGES, INSERT_BLACKLIST_ENTRY, INSERT_GLOBAL_ENTRY, INSERT_NOTE, INSERT_PSEUDONYM,
    LIFT_BLACKLIST_ENTRY, ROWS_PER_STATEMENT, UPDATE_CUSTOMER, customer_write_error, existing_ids,
    insert_customer_rows, stale_write, update_customer_row, write_events, write_side_effects,
};
use crate::db::{Scope, Ts, db_error, in_transaction, with_reader};
use crate::search::index_customer;

// What the customer-writing macros name.

macro_rules! import_columns {
    () => {
        "tenant_id, id, status, mode, dry_run, mapping, file_name, file_size, encoding, delimiter, unmapped, \
         rows_read, created, updated, unchanged, failed, next_row, failure, created_at, created_by, actor_role, \
         started_at, finished_at, undo, attempts, stalled_attempts, columns"
    };
}

#[derive(Debug, sqlx::FromRow)]
struct ImportRecord {
    tenant_id: Uuid,
    id: Uuid,
    status: String,
    mode: String,
    dry_run: bool,
    mapping: String,
    file_name: Option<String>,
    file_size: i64,
    encoding: Option<String>,
    delimiter: Option<String>,
    unmapped: String,
    rows_read: i64,
    created: i64,
    updated: i64,
    unchanged: i64,
    failed: i64,
    next_row: i64,
    failure: Option<String>,
    created_at: Ts,
    created_by: Option<Uuid>,
    actor_role: String,
    started_at: Option<Ts>,
    finished_at: Option<Ts>,
    undo: Option<String>,
    attempts: i64,
    stalled_attempts: i64,
    columns: Option<String>,
}

impl TryFrom<ImportRecord> for ImportJob {
    type Error = Error;
    fn try_from(r: ImportRecord) -> Result<Self> {
        let corrupt = |what: &str, value: &str| Error::internal(format!("stored import {what} is unknown: {value}"));
        Ok(ImportJob {
            id: ImportJobId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            status: ImportStatus::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?,
            mode: ImportMode::parse(&r.mode).ok_or_else(|| corrupt("mode", &r.mode))?,
            dry_run: r.dry_run,
            mapping: serde_json::from_str(&r.mapping).unwrap_or_default(),
            file_name: r.file_name,
            file_size: r.file_size,
            encoding: r.encoding,
            delimiter: r.delimiter,
            unmapped_columns: serde_json::from_str(&r.unmapped).unwrap_or_default(),
            columns: r.columns.and_then(|c| serde_json::from_str(&c).ok()).unwrap_or_default(),
            rows_read: r.rows_read,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            failed: r.failed,
            failure: r.failure,
            created_at: r.created_at.0,
            created_by: r.created_by,
            actor_role: r.actor_role,
            started_at: r.started_at.map(|t| t.0),
            finished_at: r.finished_at.map(|t| t.0),
            next_row: r.next_row,
            undo: r.undo.and_then(|u| serde_json::from_str(&u).ok()),
            attempts: r.attempts,
            stalled_attempts: r.stalled_attempts,
        })
    }
}

fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Saves a job's status and progress inside the transaction `$tx`; with a lease, only while its
/// worker holds the job, renewing the lease. Whether the job was saved.
macro_rules! save_job {
    ($tx:ident, $job:expr, $lease:expr) => {{
        let (job, lease): (&ImportJob, Option<&ImportLease>) = ($job, $lease);
        let mut sql = QueryBuilder::new("UPDATE import_jobs SET status = ");
        sql.push_bind(job.status.as_str())
            .push(", file_size = ")
            .push_bind(job.file_size)
            .push(", encoding = ")
            .push_bind(job.encoding.clone())
            .push(", delimiter = ")
            .push_bind(job.delimiter.clone())
            .push(", unmapped = ")
            .push_bind(json_text(&job.unmapped_columns))
            .push(", columns = ")
            .push_bind(json_text(&job.columns))
            .push(", rows_read = ")
            .push_bind(job.rows_read)
            .push(", created = ")
            .push_bind(job.created)
            .push(", updated = ")
            .push_bind(job.updated)
            .push(", unchanged = ")
            .push_bind(job.unchanged)
            .push(", failed = ")
            .push_bind(job.failed)
            .push(", next_row = ")
            .push_bind(job.next_row)
            .push(", failure = ")
            .push_bind(job.failure.clone())
            .push(", finished_at = ")
            .push_bind(job.finished_at.map(Ts))
            .push(", undo = ")
            .push_bind(job.undo.as_ref().map(json_text));
        if let Some(lease) = lease {
            // A lease is only ever lengthened: a heartbeat's renewal made while this write waited
            // for its lock may reach further than the lease the write was given.
            sql.push(", lease_until = CASE WHEN lease_until > ")
                .push_bind(Ts(lease.until))
                .push(" THEN lease_until ELSE ")
                .push_bind(Ts(lease.until))
                .push(" END");
        }
        sql.push(" WHERE tenant_id = ")
            .push_bind(job.tenant_id.as_uuid())
            .push(" AND id = ")
            .push_bind(job.id.as_uuid());
        if let Some(lease) = lease {
            sql.push(" AND status = 'running' AND worker = ").push_bind(lease.worker);
        }
        sql.build().execute(&mut *$tx).await.map_err(db_error)?.rows_affected() == 1
    }};
}

/// Records refused rows inside the transaction `$tx` (a row recorded before is left as it was).
macro_rules! insert_import_errors {
    ($tx:ident, $tenant:expr, $job:expr, $rows:expr) => {{
        let (tenant, job, rows): (TenantId, Uuid, &[ImportRowError]) = ($tenant, $job, $rows);
        for chunk in rows.chunks(500) {
            let mut sql = QueryBuilder::new("INSERT INTO import_errors (tenant_id, job_id, row_no, cells, errors) ");
            sql.push_values(chunk, |mut b, row| {
                b.push_bind(tenant.as_uuid())
                    .push_bind(job)
                    .push_bind(row.row)
                    .push_bind(json_text(&row.cells))
                    .push_bind(json_text(&row.errors));
            });
            sql.push(" ON CONFLICT DO NOTHING");
            sql.build().execute(&mut *$tx).await.map_err(db_error)?;
        }
    }};
}

/// A field problem as stored (its code as text, so that an unknown one still reads).
#[derive(Debug, serde::Deserialize)]
struct StoredProblem {
    field: String,
    code: serde_json::Value,
    message: String,
}

impl StoredProblem {
    fn into_error(self) -> FieldError {
        let code = serde_json::from_value(self.code).unwrap_or(clientele_core::FieldCode::Invalid);
        FieldError::new(self.field, code, self.message)
    }
}

#[async_trait]
impl ImportStore for SqlStore {
    async fn insert_import_job(&self, job: &ImportJob, audit: &AuditEntry) -> Result<()> {
        in_transaction!(self, job.tenant_id, |tx| {
            sqlx::query(concat!(
                "INSERT INTO import_jobs (",
                import_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
                 $20, $21, $22, $23, $24, $25, $26, $27)"
            ))
            .bind(job.tenant_id.as_uuid())
            .bind(job.id.as_uuid())
            .bind(job.status.as_str())
            .bind(job.mode.as_str())
            .bind(job.dry_run)
            .bind(json_text(&job.mapping))
            .bind(&job.file_name)
            .bind(job.file_size)
            .bind(&job.encoding)
            .bind(&job.delimiter)
            .bind(json_text(&job.unmapped_columns))
            .bind(job.rows_read)
            .bind(job.created)
            .bind(job.updated)
            .bind(job.unchanged)
            .bind(job.failed)
            .bind(job.next_row)
            .bind(&job.failure)
            .bind(Ts(job.created_at))
            .bind(job.created_by)
            .bind(&job.actor_role)
            .bind(job.started_at.map(Ts))
            .bind(job.finished_at.map(Ts))
            .bind(job.undo.as_ref().map(json_text))
            .bind(job.attempts)
            .bind(job.stalled_attempts)
            .bind(json_text(&job.columns))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            append_audit!(self, tx, std::slice::from_ref(audit));
        });
        Ok(())
    }

    async fn add_import_chunk(&self, tenant: TenantId, job: ImportJobId, chunk: i64, bytes: &[u8]) -> Result<()> {
        in_transaction!(self, tenant, |tx| {
            sqlx::query("INSERT INTO import_files (tenant_id, job_id, chunk, bytes) VALUES ($1, $2, $3, $4)")
                .bind(tenant.as_uuid())
                .bind(job.as_uuid())
                .bind(chunk)
                .bind(bytes)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        });
        Ok(())
    }

    async fn import_file_chunk(&self, tenant: TenantId, job: ImportJobId, chunk: i64) -> Result<Option<Vec<u8>>> {
        let piece = with_reader!(self, tenant, |conn| {
            sqlx::query_scalar::<_, Vec<u8>>(
                "SELECT bytes FROM import_files WHERE tenant_id = $1 AND job_id = $2 AND chunk = $3",
            )
            .bind(tenant.as_uuid())
            .bind(job.as_uuid())
            .bind(chunk)
            .fetch_optional(conn)
            .await
        });
        piece.map_err(db_error)
    }

    async fn save_import_job(&self, job: &ImportJob, lease: Option<&ImportLease>) -> Result<bool> {
        let saved = in_transaction!(self, job.tenant_id, |tx| save_job!(tx, job, lease));
        Ok(saved)
    }

    async fn claim_import_undo(&self, tenant: TenantId, job: ImportJobId, undo: &ImportUndo) -> Result<bool> {
        let claimed = in_transaction!(self, tenant, |tx| {
            sqlx::query(
                "UPDATE import_jobs SET undo = $3 \
                 WHERE tenant_id = $1 AND id = $2 AND undo IS NULL AND status = 'succeeded' AND dry_run = $4",
            )
            .bind(tenant.as_uuid())
            .bind(job.as_uuid())
            .bind(json_text(undo))
            .bind(false)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected()
        });
        Ok(claimed == 1)
    }

    async fn renew_import_lease(&self, tenant: TenantId, job: ImportJobId, lease: &ImportLease) -> Result<bool> {
        let renewed = in_transaction!(self, tenant, |tx| {
            sqlx::query(
                "UPDATE import_jobs SET lease_until = CASE WHEN lease_until > $4 THEN lease_until ELSE $4 END \
                 WHERE tenant_id = $1 AND id = $2 AND worker = $3 \
                 AND status = 'running'",
            )
            .bind(tenant.as_uuid())
            .bind(job.as_uuid())
            .bind(lease.worker)
            .bind(Ts(lease.until))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected()
        });
        Ok(renewed == 1)
    }

    async fn commit_import_batch(&self, batch: &ImportBatch) -> Result<bool> {
        let job = &batch.job;
        let tenant = job.tenant_id;
        let sqlite = self.is_sqlite();
        in_transaction!(self, tenant, |tx| {
            // First the fence: the job's progress, saved only while this worker holds it. On
            // PostgreSQL this also locks the job's row until the commit, so no other worker can
            // claim the job in the middle of the batch.
            if !save_job!(tx, job, Some(&batch.lease)) {
                return Ok(false);
            }
            // A customer already there was created by an earlier run of this very batch (its id
            // is derived from the job and the row): it is left as it is.
            let ids: Vec<CustomerId> = batch.created.iter().map(|(c, _)| c.id).collect();
            let existing: std::collections::HashSet<Uuid> = existing_ids!(&mut *tx, tenant, &ids).into_iter().collect();
            let created: Vec<(&Customer, &CustomerWrite)> = batch
                .created
                .iter()
                .filter(|(c, _)| !existing.contains(&c.id.as_uuid()))
                .map(|(c, w)| (c, w))
                .collect();
            let mut audit: Vec<AuditEntry> = created.iter().flat_map(|(_, w)| w.audit.iter().cloned()).collect();
            if !created.is_empty() {
                insert_customer_rows!(self, tx, sqlite, tenant, &created);
            }
            if !batch.hold_open.is_zero() {
                tokio::time::sleep(batch.hold_open).await;
            }
            // Customers in id order, so that two batches changing the same customers lock them
            // in the same order; a customer changed twice keeps its two changes in order.
            let mut updated: Vec<&(Customer, i64, CustomerWrite)> = batch.updated.iter().collect();
            updated.sort_by_key(|(c, expected, _)| (c.id, *expected));
            for (customer, expected, write) in updated {
                update_customer_row!(self, tx, sqlite, customer, *expected, write);
                audit.extend(write.audit.iter().cloned());
            }
            write_events!(self, tx, &[], &batch.recorded.global_matches);
            audit.extend(batch.recorded.audit.iter().cloned());
            insert_import_errors!(tx, tenant, job.id.as_uuid(), &batch.errors);
            // Last, the audit entries: the tenant's chain head is the lock every writer of the
            // tenant takes, held for as short a time as can be.
            append_audit!(self, tx, &audit);
        });
        Ok(true)
    }

    async fn end_import_job(&self, job: &ImportJob, lease: Option<&ImportLease>, audit: &[AuditEntry]) -> Result<bool> {
        in_transaction!(self, job.tenant_id, |tx| {
            if !save_job!(tx, job, lease) {
                return Ok(false);
            }
            sqlx::query("DELETE FROM import_files WHERE tenant_id = $1 AND job_id = $2")
                .bind(job.tenant_id.as_uuid())
                .bind(job.id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            append_audit!(self, tx, audit);
        });
        Ok(true)
    }

    async fn get_import_job(&self, tenant: TenantId, id: ImportJobId) -> Result<Option<ImportJob>> {
        let record = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, ImportRecord>(concat!(
                "SELECT ",
                import_columns!(),
                " FROM import_jobs WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(ImportJob::try_from).transpose()
    }

    async fn list_import_jobs(
        &self,
        tenant: TenantId,
        after: Option<ImportJobId>,
        limit: u32,
    ) -> Result<Vec<ImportJob>> {
        let records = with_reader!(self, tenant, |conn| {
            let mut sql =
                QueryBuilder::new(concat!("SELECT ", import_columns!(), " FROM import_jobs WHERE tenant_id = "));
            sql.push_bind(tenant.as_uuid());
            if let Some(after) = after {
                sql.push(" AND id < ").push_bind(after.as_uuid());
            }
            sql.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit.max(1)));
            sql.build_query_as::<ImportRecord>().fetch_all(conn).await
        });
        records.map_err(db_error)?.into_iter().map(ImportJob::try_from).collect()
    }

    async fn claim_import_job(
        &self,
        lease: &ImportLease,
        now: Timestamp,
        only: Option<(TenantId, ImportJobId)>,
    ) -> Result<Option<ImportJob>> {
        // The conditions stand in the outer WHERE too: when two workers race for a job on
        // PostgreSQL, the second one re-checks them on the row the first one changed, and skips it.
        let (tenant, id) = only.map_or((None, None), |(t, j)| (Some(t.as_uuid()), Some(j)));
        let claimed = in_transaction!(self, only.map_or(Scope::AllTenants, |(t, _)| Scope::Tenant(t)), |tx| {
            sqlx::query_as::<_, ImportRecord>(concat!(
                "/* all tenants */ UPDATE import_jobs SET status = 'running', worker = $1, lease_until = $3, \
                 started_at = COALESCE(started_at, $2), attempts = attempts + 1, \
                 stalled_attempts = CASE WHEN claimed_row = next_row THEN stalled_attempts + 1 ELSE 0 END, \
                 claimed_row = next_row \
                 WHERE status IN ('queued', 'running') AND (lease_until IS NULL OR lease_until < $2) \
                 AND (tenant_id, id) = (SELECT tenant_id, id FROM import_jobs \
                     WHERE status IN ('queued', 'running') AND (lease_until IS NULL OR lease_until < $2) \
                     AND ($4 IS NULL OR (tenant_id = $4 AND id = $5)) \
                     ORDER BY created_at LIMIT 1) \
                 RETURNING ",
                import_columns!()
            ))
            .bind(lease.worker)
            .bind(Ts(now))
            .bind(Ts(lease.until))
            .bind(tenant)
            .bind(id.map(|id| id.as_uuid()))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?
        });
        claimed.map(ImportJob::try_from).transpose()
    }

    async fn abandon_stale_uploads(&self, before: Timestamp, now: Timestamp) -> Result<u64> {
        let abandoned = in_transaction!(self, Scope::AllTenants, |tx| {
            sqlx::query(
                "/* all tenants */ DELETE FROM import_files WHERE (tenant_id, job_id) IN \
                 (SELECT tenant_id, id FROM import_jobs WHERE status = 'receiving' AND created_at < $1)",
            )
            .bind(Ts(before))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            sqlx::query(
                "/* all tenants */ UPDATE import_jobs SET status = 'failed', failure = 'the upload never completed', finished_at = $2 \
                 WHERE status = 'receiving' AND created_at < $1",
            )
            .bind(Ts(before))
            .bind(Ts(now))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected()
        });
        Ok(abandoned)
    }

    async fn set_import_headers(&self, tenant: TenantId, job: ImportJobId, headers: &[String]) -> Result<()> {
        in_transaction!(self, tenant, |tx| {
            sqlx::query("UPDATE import_jobs SET headers = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_uuid())
                .bind(job.as_uuid())
                .bind(json_text(&headers))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        });
        Ok(())
    }

    async fn import_headers(&self, tenant: TenantId, job: ImportJobId) -> Result<Vec<String>> {
        let headers = with_reader!(self, tenant, |conn| {
            sqlx::query_scalar::<_, Option<String>>("SELECT headers FROM import_jobs WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_uuid())
                .bind(job.as_uuid())
                .fetch_optional(conn)
                .await
        });
        Ok(headers.map_err(db_error)?.flatten().and_then(|h| serde_json::from_str(&h).ok()).unwrap_or_default())
    }

    async fn import_errors(
        &self,
        tenant: TenantId,
        job: ImportJobId,
        after_row: i64,
        limit: u32,
    ) -> Result<Vec<ImportRowError>> {
        let rows = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, (i64, String, String)>(
                "SELECT row_no, cells, errors FROM import_errors WHERE tenant_id = $1 AND job_id = $2 AND row_no > $3 \
                 ORDER BY row_no LIMIT $4",
            )
            .bind(tenant.as_uuid())
            .bind(job.as_uuid())
            .bind(after_row)
            .bind(i64::from(limit.max(1)))
            .fetch_all(conn)
            .await
        });
        Ok(rows
            .map_err(db_error)?
            .into_iter()
            .map(|(row, cells, errors)| ImportRowError {
                row,
                cells: serde_json::from_str(&cells).unwrap_or_default(),
                errors: serde_json::from_str::<Vec<StoredProblem>>(&errors)
                    .unwrap_or_default()
                    .into_iter()
                    .map(StoredProblem::into_error)
                    .collect(),
            })
            .collect())
    }
}
