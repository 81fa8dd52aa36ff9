//! Import services: starting a job and receiving its file, following jobs, their refused rows.

use crate::imports::job::NewImport;
use crate::paging::Paging;

use crate::ids::ImportJobId;

use crate::accounts::access::Capability;
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::error::{Error, Result};
use crate::imports::job::{ImportJob, ImportStatus};
use crate::paging::{Page, next_cursor};
use crate::time::Timestamp;

impl App {
    /// The largest import file, in bytes.
    pub fn max_import_bytes(&self) -> u64 {
        self.imports.max_bytes
    }

    /// How many import jobs a server process runs at once.
    pub fn import_workers(&self) -> usize {
        self.imports.workers
    }

    /// Starts an import job (admins): the job is `receiving` until [`App::finish_import_upload`].
    pub async fn begin_import(&self, actor: &Actor, new: NewImport) -> Result<ImportJob> {
        let grant = actor.require(Capability::BulkExport)?;
        let new = new.checked()?;
        let job = ImportJob {
            id: ImportJobId::new(),
            tenant_id: grant.tenant_id,
            status: ImportStatus::Receiving,
            mode: new.mode,
            dry_run: new.dry_run,
            mapping: new.mapping,
            file_name: new.file_name,
            file_size: 0,
            encoding: None,
            delimiter: None,
            unmapped_columns: Vec::new(),
            columns: Vec::new(),
            rows_read: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            failed: 0,
            failure: None,
            created_at: Timestamp::now(),
            created_by: actor.user_uuid(),
            actor_role: actor.role_label().to_owned(),
            started_at: None,
            finished_at: None,
            next_row: 0,
            undo: None,
            attempts: 0,
            stalled_attempts: 0,
        };
        let entry = AuditEntry::new(actor, grant.tenant_id, AuditAction::ImportStarted, "import", job.id, None)
            .with_changes(
                serde_json::json!({"mode": job.mode.as_str(), "dry_run": job.dry_run, "file_name": job.file_name}),
            );
        self.store().insert_import_job(&job, &entry).await?;
        Ok(job)
    }

    /// Stores the next piece of a receiving job's file (pieces of at most [`CHUNK_BYTES`](crate::imports::job::CHUNK_BYTES)).
    pub async fn add_import_chunk(&self, job: &ImportJob, chunk: i64, bytes: &[u8]) -> Result<()> {
        self.store().add_import_chunk(job.tenant_id, job.id, chunk, bytes).await
    }

    /// Queues a job whose file has arrived (`size` bytes), for a worker to run.
    pub async fn finish_import_upload(&self, job: &mut ImportJob, size: i64) -> Result<()> {
        job.file_size = size;
        job.status = ImportStatus::Queued;
        self.store().save_import_job(job, None).await?;
        Ok(())
    }

    /// Abandons a job whose upload failed: the job is marked failed and its file dropped.
    pub async fn abandon_import(&self, job: &mut ImportJob, why: &str) -> Result<()> {
        job.status = ImportStatus::Failed;
        job.failure = Some(why.to_owned());
        job.finished_at = Some(Timestamp::now());
        self.store().end_import_job(job, None, &[]).await?;
        Ok(())
    }

    /// A job of the actor's tenant (admins).
    pub async fn import_job(&self, actor: &Actor, id: ImportJobId) -> Result<ImportJob> {
        let grant = actor.require(Capability::BulkExport)?;
        self.store().get_import_job(grant.tenant_id, id).await?.ok_or(Error::NotFound("import"))
    }

    /// The tenant's jobs, newest first (admins).
    pub async fn import_jobs(&self, actor: &Actor, paging: Paging) -> Result<Page<ImportJob>> {
        let grant = actor.require(Capability::BulkExport)?;
        let (after, limit) = (paging.after, paging.limit);
        let mut items =
            self.store().list_import_jobs(grant.tenant_id, after.map(ImportJobId::from_uuid), limit + 1).await?;
        let next_cursor = next_cursor(&mut items, limit as usize, |j| j.id);
        Ok(Page { items, next_cursor })
    }
}
