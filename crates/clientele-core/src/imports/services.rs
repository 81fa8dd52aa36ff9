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

/// How a file kept for review will be read: its format as found, and where each column goes
/// (by the same mapping the import itself uses).
#[derive(Debug, Clone)]
pub struct ImportPreview {
    /// The encoding found (`utf-8`, `windows-1252`, ...).
    pub encoding: String,
    /// The delimiter found (`,`, `;`, tab).
    pub delimiter: String,
    /// Every column and its target: a field, `notes`, or `ignored`.
    pub columns: Vec<crate::imports::mapping::ColumnTarget>,
    /// The file's size in bytes.
    pub size: i64,
}

/// A job started from a file kept for review.
#[derive(Debug, Clone)]
pub struct StartedImport {
    /// The new job, queued.
    pub job: ImportJob,
    /// The file's line breaks: a little more than its rows (a header, quoted line breaks), for
    /// a progress estimate while the job runs.
    pub lines: u64,
}

impl App {
    /// How a file kept for review (a job still `receiving`: uploaded, not started) will be read
    /// with the `explicit` mapping over the automatic one (admins). The mapping is the import's
    /// own, so what is shown is what will happen.
    pub async fn import_preview(
        &self,
        actor: &Actor,
        id: ImportJobId,
        explicit: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<ImportPreview> {
        let draft = self.import_draft(actor, id).await?;
        let first = self.store().import_file_chunk(draft.tenant_id, id, 0).await?.unwrap_or_default();
        let unreadable = |why: String| Error::invalid("file", crate::error::FieldCode::Invalid, why);
        let format = crate::imports::reader::sniff(&first[..first.len().min(64 * 1024)]).map_err(unreadable)?;
        let reader =
            crate::imports::reader::LineReader::open(std::io::Cursor::new(first), format).map_err(unreadable)?;
        let mapping = crate::imports::mapping::Mapping::new(reader.headers().to_vec(), explicit)?;
        let mut size = 0;
        let mut chunk = 0;
        while let Some(bytes) = self.store().import_file_chunk(draft.tenant_id, id, chunk).await? {
            size += bytes.len() as i64;
            chunk += 1;
        }
        let delimiter = match format.delimiter {
            b'\t' => "tab".to_owned(),
            other => (other as char).to_string(),
        };
        Ok(ImportPreview { encoding: format.encoding.to_owned(), delimiter, columns: mapping.columns(), size })
    }

    /// Starts a job with `new`'s settings on a copy of a file kept for review (admins), which
    /// stays for another run (a dry run first, then the import) until it is discarded or, after
    /// two hours, dropped.
    pub async fn start_import_from(&self, actor: &Actor, draft: ImportJobId, new: NewImport) -> Result<StartedImport> {
        let source = self.import_draft(actor, draft).await?;
        let mut job = self.begin_import(actor, NewImport { file_name: source.file_name.clone(), ..new }).await?;
        let (mut size, mut lines, mut chunk) = (0_i64, 0_u64, 0_i64);
        while let Some(bytes) = self.store().import_file_chunk(source.tenant_id, draft, chunk).await? {
            self.add_import_chunk(&job, chunk, &bytes).await?;
            size += bytes.len() as i64;
            lines += bytes.iter().filter(|b| **b == b'\n').count() as u64;
            chunk += 1;
        }
        self.finish_import_upload(&mut job, size).await?;
        Ok(StartedImport { job, lines })
    }

    /// Discards a file kept for review (admins).
    pub async fn discard_import_draft(&self, actor: &Actor, draft: ImportJobId) -> Result<()> {
        let mut source = self.import_draft(actor, draft).await?;
        self.abandon_import(&mut source, "the file kept for review was discarded").await
    }

    async fn import_draft(&self, actor: &Actor, id: ImportJobId) -> Result<ImportJob> {
        let job = self.import_job(actor, id).await?;
        if job.status != ImportStatus::Receiving {
            return Err(Error::conflict(
                crate::error::ErrorCode::Conflict,
                "this file is no longer kept for review: upload it again",
            ));
        }
        Ok(job)
    }
}
