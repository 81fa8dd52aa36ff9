//! What an import batch writes, as one unit.

use crate::audit::entry::AuditEntry;
use crate::customers::record::Customer;
use crate::customers::store::CustomerWrite;
use crate::error::Result;
use crate::ids::{ImportJobId, TenantId};
use crate::imports::job::{ImportJob, ImportLease, ImportRowError, ImportUndo};
use crate::time::Timestamp;

/// One batch of an import job: everything it writes, committed in one transaction that first
/// checks that the job is still this worker's (and renews its lease), so that a worker that lost
/// its job writes nothing, and a crash leaves either the whole batch with its progress or none
/// of it.
#[derive(Debug, Clone)]
pub struct ImportBatch {
    /// The job as it stands after the batch: its counts, `rows_read` and `next_row`.
    pub job: ImportJob,
    /// The worker's lease, renewed by the write.
    pub lease: ImportLease,
    /// New customers (ids derived from their rows), each with what is written with it. One
    /// whose id is already taken was created by an earlier run of this very batch: it is left
    /// as it is.
    pub created: Vec<(Customer, CustomerWrite)>,
    /// Changed customers, each written only if still at its expected version (the second
    /// field), in order: a customer changed by two rows appears twice, the second made from
    /// the first.
    pub updated: Vec<(Customer, i64, CustomerWrite)>,
    /// Audit entries and global matches of rows that changed nothing.
    pub recorded: CustomerWrite,
    /// The batch's refused rows.
    pub errors: Vec<ImportRowError>,
    /// Crash tests only: how long to hold the transaction open between its writes (zero
    /// otherwise), so that a test can kill a server in the middle of one.
    pub hold_open: std::time::Duration,
}

/// Import jobs, their files, batches and refused rows. Part of [`crate::store::Store`]; see its documentation for what every method
/// keeps to.
#[async_trait::async_trait]
pub trait ImportStore: Send + Sync {
    /// Stores a new import job with its audit entry, atomically.
    async fn insert_import_job(&self, job: &ImportJob, audit: &AuditEntry) -> Result<()>;
    /// Stores piece number `chunk` of a job's file.
    async fn add_import_chunk(&self, tenant: TenantId, job: ImportJobId, chunk: i64, bytes: &[u8]) -> Result<()>;
    /// Piece number `chunk` of a job's file, if there is one.
    async fn import_file_chunk(&self, tenant: TenantId, job: ImportJobId, chunk: i64) -> Result<Option<Vec<u8>>>;
    /// Saves a job's status and progress; with a lease, only while that worker holds the job,
    /// renewing its lease. False when another worker took it over.
    async fn save_import_job(&self, job: &ImportJob, lease: Option<&ImportLease>) -> Result<bool>;
    /// Marks a finished, real (not dry-run) job as being undone with `undo`, if nobody did yet:
    /// true for the one caller that gets it, however many ask at once.
    async fn claim_import_undo(&self, tenant: TenantId, job: ImportJobId, undo: &ImportUndo) -> Result<bool>;
    /// Renews a worker's lease on a job; false when another worker took it over (or it ended).
    async fn renew_import_lease(&self, tenant: TenantId, job: ImportJobId, lease: &ImportLease) -> Result<bool>;
    /// Writes one batch of a job and its progress, atomically, if the batch's worker still
    /// holds the job; false (and nothing written) when it does not. `409 version_conflict` or
    /// `409 duplicate_external_ref` (nothing written) when another writer changed a customer or
    /// took an external_ref since the batch was made.
    async fn commit_import_batch(&self, batch: &ImportBatch) -> Result<bool>;
    /// Saves a job that has ended (succeeded or failed) with its audit entries and drops its
    /// file, atomically; with a lease, only while that worker holds the job (false otherwise).
    async fn end_import_job(&self, job: &ImportJob, lease: Option<&ImportLease>, audit: &[AuditEntry]) -> Result<bool>;
    /// A job by id.
    async fn get_import_job(&self, tenant: TenantId, id: ImportJobId) -> Result<Option<ImportJob>>;
    /// A tenant's jobs, newest first, after `after`.
    async fn list_import_jobs(
        &self,
        tenant: TenantId,
        after: Option<ImportJobId>,
        limit: u32,
    ) -> Result<Vec<ImportJob>>;
    /// Leases the oldest queued job (or only job `only`), or a running one whose lease ran out,
    /// to `lease.worker`, counting the attempt (and, if the job's progress has not moved since
    /// it was last claimed, the attempt without progress).
    async fn claim_import_job(
        &self,
        lease: &ImportLease,
        now: Timestamp,
        only: Option<(TenantId, ImportJobId)>,
    ) -> Result<Option<ImportJob>>;
    /// Fails the jobs whose upload began before `before` and never completed (the request
    /// died), dropping what arrived of their files; how many.
    async fn abandon_stale_uploads(&self, before: Timestamp, now: Timestamp) -> Result<u64>;
    /// Records a job file's header row.
    async fn set_import_headers(&self, tenant: TenantId, job: ImportJobId, headers: &[String]) -> Result<()>;
    /// A job file's header row.
    async fn import_headers(&self, tenant: TenantId, job: ImportJobId) -> Result<Vec<String>>;
    /// Refused rows after row `after_row`, in row order.
    async fn import_errors(
        &self,
        tenant: TenantId,
        job: ImportJobId,
        after_row: i64,
        limit: u32,
    ) -> Result<Vec<ImportRowError>>;
}
