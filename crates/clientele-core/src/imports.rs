//! Import jobs: a CSV file of customers, validated row by row exactly as the API validates one
//! customer, committed in batches; the failed rows kept with their reasons.
//!
//! A job is durable: its file is kept in the database until it is done, and each batch of rows
//! is committed together with its refused rows, its audit entries and the job's progress, in
//! one transaction that first checks that the worker still holds the job. A crash therefore
//! leaves a batch either wholly done, progress included, or not at all, and a worker that lost
//! its job (its lease ran out and another took over) writes nothing more. Customers a job
//! creates get ids derived from the job and the row, a second line of defence: a batch whose
//! customers are somehow there already is recognised and not created twice.
//!
//! The services here are the steps of a job; the loop that claims jobs, keeps their leases
//! alive, spools their files and reads their lines runs outside the core
//! (`clientele-runtime`).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::App;
use crate::access::Capability;
use crate::audit::{AuditAction, AuditEntry};
use crate::auth::{Actor, Member, Origin, Principal};
use crate::customer::{Customer, CustomerInput};
use crate::customers::{Page, PreparedUpdate, decode_cursor, next_cursor, parse_limit};
use crate::error::{Error, ErrorCode, FieldCode, FieldError, Result};
use crate::ids::{CustomerId, TenantId, UserId};
use crate::import::{Format, Line, Mapping};
use crate::store::{AuditQuery, CustomerWrite, ImportBatch};
use crate::time::Timestamp;
use crate::user::Role;
use crate::values::Email;

/// Rows validated and committed together.
pub const BATCH_ROWS: usize = 500;
/// How long a worker's lease on a job lasts, by default: a worker renews it while it works, and
/// another may take the job over once it runs out.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// Stored file chunk size.
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// A job taken up this many times in a row without making progress is failed: its file keeps
/// failing the server (a bug, or more than the server can take), and retrying it for ever
/// helps nobody. Attempts that saved progress before they were cut short (a restart, a deploy)
/// do not count.
pub const MAX_STALLED_ATTEMPTS: i64 = 5;
/// How many times a batch is checked again after another writer got in its way.
const MAX_CONFLICT_RETRIES: u32 = 5;
/// An upload still `receiving` after this long lost its request (uploads time out after an hour).
const STALE_UPLOAD: Duration = Duration::from_secs(2 * 3600);
/// The default largest import file.
pub const DEFAULT_MAX_IMPORT_BYTES: u64 = 512 * 1024 * 1024;

/// `create`: every valid row becomes a new customer (duplicates are refused); `upsert`: a row
/// matching a customer by `external_ref`, else by email, updates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Create only.
    Create,
    /// Update matches, create the rest.
    Upsert,
}

impl ImportMode {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Upsert => "upsert",
        }
    }

    /// From its stored or sent form.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "create" => Some(Self::Create),
            "upsert" => Some(Self::Upsert),
            _ => None,
        }
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// The file is still arriving.
    Receiving,
    /// Waiting for a worker.
    Queued,
    /// Being imported.
    Running,
    /// Done: every row is counted as created, updated, unchanged or failed.
    Succeeded,
    /// The file could not be read at all (see `failure`); nothing was imported.
    Failed,
}

impl ImportStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Receiving => "receiving",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// From its stored form.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Receiving, Self::Queued, Self::Running, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// An import job and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportJob {
    /// The job's id.
    pub id: Uuid,
    /// The tenant.
    #[serde(skip)]
    pub tenant_id: TenantId,
    /// Where the job is.
    pub status: ImportStatus,
    /// `create` or `upsert`.
    pub mode: ImportMode,
    /// A dry run reports what would happen and writes no customer.
    pub dry_run: bool,
    /// The explicit column mapping sent with the file (header → field).
    #[schema(value_type = Object)]
    pub mapping: Map<String, Value>,
    /// The file's name, as sent.
    pub file_name: Option<String>,
    /// The file's size in bytes.
    pub file_size: i64,
    /// The encoding found (`utf-8`, `utf-16le`, `windows-1252`, ...).
    pub encoding: Option<String>,
    /// The delimiter found.
    pub delimiter: Option<String>,
    /// Columns that map to no field (their values were not imported).
    pub unmapped_columns: Vec<String>,
    /// Data rows read so far.
    pub rows_read: i64,
    /// Customers created (in a dry run: that would be created).
    pub created: i64,
    /// Customers updated (in a dry run: that would be updated).
    pub updated: i64,
    /// Rows that matched a customer and changed nothing.
    pub unchanged: i64,
    /// Rows refused; see `errors.csv`.
    pub failed: i64,
    /// Why the job failed as a whole.
    pub failure: Option<String>,
    /// When the job was created.
    pub created_at: Timestamp,
    /// Who created it (absent for command-line imports).
    pub created_by: Option<Uuid>,
    /// The role it runs with: `admin` or `cli`.
    #[serde(skip)]
    pub actor_role: String,
    /// When a worker first started it.
    pub started_at: Option<Timestamp>,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
    /// Rows before this one are done (the checkpoint).
    #[serde(skip)]
    pub next_row: i64,
    /// What undoing the import did, once it was undone.
    pub undo: Option<ImportUndo>,
    /// How many times a worker has taken the job up (more than once after a crash or restart).
    pub attempts: i64,
    /// How many of the latest attempts in a row made no progress.
    #[serde(skip)]
    pub stalled_attempts: i64,
}

/// A worker's hold on a job, until it runs out: the worker renews it while it works, and once
/// it has run out another worker may take the job over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLease {
    /// The worker.
    pub worker: Uuid,
    /// Until when.
    pub until: Timestamp,
}

/// What [`App::claim_import`] found.
#[derive(Debug)]
pub enum Claim {
    /// No job is waiting (or the one asked for is another worker's, or has ended).
    Nothing,
    /// A job that made no progress in its last attempts, failed instead of run again.
    GaveUp(ImportJob),
    /// A job to run, leased to the worker.
    Run(ImportJob),
}

/// A claimed job whose header row has been read: what running its lines needs.
#[derive(Debug)]
pub struct ImportRun {
    job: ImportJob,
    worker: Uuid,
    actor: Actor,
    mapping: Mapping,
    seen: Seen,
    /// `next_row` when this attempt began.
    first_row: i64,
}

impl ImportRun {
    /// The job as it stands.
    pub fn job(&self) -> &ImportJob {
        &self.job
    }

    /// The worker running it.
    pub fn worker(&self) -> Uuid {
        self.worker
    }
}

/// What undoing an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportUndo {
    /// When.
    pub at: Timestamp,
    /// Customers the import created, now soft-deleted.
    pub deleted: i64,
    /// Customers the import updated, now back as they were.
    pub restored: i64,
    /// Customers changed since the import (or already deleted), left as they are.
    pub kept: i64,
}

/// One refused row: its cells as they were, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRowError {
    /// The data row's number (1 is the first row after the header).
    pub row: i64,
    /// The row's cells.
    pub cells: Vec<String>,
    /// What was wrong, field by field.
    pub errors: Vec<FieldError>,
}

/// Options of `POST /imports`, as query parameters (or form fields of a multipart upload).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportOptions {
    /// `create` (default) or `upsert`.
    pub mode: Option<String>,
    /// `true`: report what would happen, write nothing.
    #[param(value_type = Option<bool>)]
    pub dry_run: Option<String>,
    /// Explicit column mapping as JSON, header → field (`""` ignores a column), e.g.
    /// `{"Cliente": "external_ref"}`. Other columns are mapped automatically.
    pub mapping: Option<String>,
    /// The file's name, for the job's record.
    pub file_name: Option<String>,
}

/// Query parameters of `GET /imports`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportListParams {
    /// Page size, 1 to 200; default 50.
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A new job's settings, checked.
#[derive(Debug, Clone)]
pub struct NewImport {
    mode: ImportMode,
    dry_run: bool,
    mapping: Map<String, Value>,
    file_name: Option<String>,
}

impl ImportOptions {
    /// Checks the options, naming each bad one.
    pub fn parse(&self) -> Result<NewImport> {
        let mut errors = Vec::new();
        let mode = match self.mode.as_deref() {
            None => ImportMode::Create,
            Some(m) => ImportMode::parse(m).unwrap_or_else(|| {
                errors.push(FieldError::new("mode", FieldCode::Invalid, "must be create or upsert"));
                ImportMode::Create
            }),
        };
        let dry_run = match self.dry_run.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                errors.push(FieldError::new("dry_run", FieldCode::Invalid, "must be true or false"));
                false
            }
        };
        let mapping = match self.mapping.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            None => Map::new(),
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) if map.len() <= 200 => map,
                _ => {
                    errors.push(FieldError::new(
                        "mapping",
                        FieldCode::Invalid,
                        "must be a JSON object of header to field, e.g. {\"Cliente\": \"external_ref\"}",
                    ));
                    Map::new()
                }
            },
        };
        if !mapping.is_empty()
            && let Err(Error::Invalid(bad)) = Mapping::new(Vec::new(), &mapping)
        {
            errors.extend(bad);
        }
        let file_name = self.file_name.as_deref().and_then(crate::document::clean_file_name);
        if errors.is_empty() {
            Ok(NewImport { mode, dry_run, mapping, file_name })
        } else {
            Err(Error::InvalidQuery(errors))
        }
    }
}

/// The id of the customer created from `row` of `job`: a UUIDv7 sharing the job's timestamp and
/// random bits, with the row number in its last 32 bits. A resumed job finds the customers it
/// already created by these ids.
pub fn customer_id_for_row(job: Uuid, row: i64) -> CustomerId {
    let mut bytes = *job.as_bytes();
    bytes[12..16].copy_from_slice(&u32::try_from(row).unwrap_or(u32::MAX).to_be_bytes());
    CustomerId::from_uuid(Uuid::from_bytes(bytes))
}

/// The row of `job` that created customer `id`, if this job created it.
fn row_of(job: Uuid, id: CustomerId) -> Option<i64> {
    let bytes = id.as_uuid().into_bytes();
    (bytes[..12] == job.as_bytes()[..12])
        .then(|| i64::from(u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]])))
}

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
    pub async fn begin_import(&self, actor: &Actor, options: &ImportOptions) -> Result<ImportJob> {
        let grant = actor.require(Capability::BulkExport)?;
        let new = options.parse()?;
        let job = ImportJob {
            id: Uuid::now_v7(),
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

    /// Stores the next piece of a receiving job's file (pieces of at most [`CHUNK_BYTES`]).
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
    pub async fn import_job(&self, actor: &Actor, id: Uuid) -> Result<ImportJob> {
        let grant = actor.require(Capability::BulkExport)?;
        self.store().get_import_job(grant.tenant_id, id).await?.ok_or(Error::NotFound("import"))
    }

    /// The tenant's jobs, newest first (admins).
    pub async fn import_jobs(&self, actor: &Actor, params: &ImportListParams) -> Result<Page<ImportJob>> {
        let grant = actor.require(Capability::BulkExport)?;
        let mut errors = crate::error::FieldErrors::new();
        let limit = parse_limit(&mut errors, params.limit.as_deref());
        if !errors.is_empty() {
            return Err(Error::InvalidQuery(errors.into_vec()));
        }
        let after = params.cursor.as_deref().map(decode_cursor).transpose()?;
        let mut items = self.store().list_import_jobs(grant.tenant_id, after, limit + 1).await?;
        let next_cursor = next_cursor(&mut items, limit as usize, |j| j.id);
        Ok(Page { items, next_cursor })
    }

    /// The failed rows of a job as CSV: `import_row`, `import_field`, `import_code` and
    /// `import_message` (a line per problem), then the row's own cells as they were. Fixed and
    /// uploaded again, it imports as the original would have: the explaining columns are ignored.
    pub async fn import_errors_csv(&self, actor: &Actor, id: Uuid) -> Result<Vec<u8>> {
        let job = self.import_job(actor, id).await?;
        let headers = self.store().import_headers(job.tenant_id, job.id).await?;
        let mut out = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
        let csv_error = |e: csv::Error| Error::internal(format!("writing CSV: {e}"));
        let mut header: Vec<String> = crate::import::ERROR_COLUMNS.map(String::from).to_vec();
        header.extend(headers.iter().cloned());
        out.write_record(&header).map_err(csv_error)?;
        let mut after = 0;
        loop {
            let page = self.store().import_errors(job.tenant_id, job.id, after, 1_000).await?;
            for failed in &page {
                for problem in &failed.errors {
                    let mut record = vec![
                        failed.row.to_string(),
                        problem.field.clone(),
                        serde_json::to_value(problem.code)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        problem.message.clone(),
                    ];
                    record.extend(failed.cells.iter().cloned());
                    let record: Vec<String> = record.into_iter().map(crate::export::neutralise).collect();
                    out.write_record(&record).map_err(csv_error)?;
                }
            }
            match page.last() {
                Some(last) if page.len() == 1_000 => after = last.row,
                _ => break,
            }
        }
        out.into_inner().map_err(|e| Error::internal(format!("writing CSV: {e}")))
    }

    /// Undoes a finished import (admins): the customers it created are soft-deleted and the
    /// fields it updated restored, each only if nobody changed it since; every change is audited
    /// like any other, and the undo itself too.
    pub async fn undo_import(&self, actor: &Actor, id: Uuid) -> Result<ImportJob> {
        let mut job = self.import_job(actor, id).await?;
        let tenant = job.tenant_id;
        if job.status != ImportStatus::Succeeded || job.dry_run || job.undo.is_some() {
            return Err(Error::conflict(
                ErrorCode::ImportNotUndoable,
                "only a finished import that was not a dry run, and not undone yet, can be undone",
            ));
        }
        let mut undo = ImportUndo { at: Timestamp::now(), deleted: 0, restored: 0, kept: 0 };
        // Created: the ids derived from the job's rows.
        let (low, high) = (customer_id_for_row(job.id, 0), customer_id_for_row(job.id, i64::from(u32::MAX)));
        let mut after = None;
        loop {
            let page = self.store().customers_in_id_range(tenant, low, high, after, 500).await?;
            after = page.last().map(|c| c.id);
            for customer in &page {
                if customer.deleted_at.is_some() || customer.version != 1 {
                    undo.kept += 1;
                    continue;
                }
                match self.delete_customer(actor, customer.id, Some(1)).await {
                    Ok(()) => undo.deleted += 1,
                    Err(Error::Conflict { code: ErrorCode::VersionConflict, .. }) => undo.kept += 1,
                    Err(other) => return Err(other),
                }
            }
            if page.len() < 500 {
                break;
            }
        }
        // Updated: each update's audit entry says what it changed, from what.
        let mut query = AuditQuery {
            action: Some(AuditAction::CustomerUpdated.as_str().to_owned()),
            request_id: Some(format!("import:{}", job.id)),
            limit: 500,
            ..AuditQuery::default()
        };
        loop {
            let page = self.store().list_audit(tenant, &query).await?;
            query.after = page.last().map(|e| e.id);
            for entry in &page {
                let (Some(customer), Some(changes)) = (entry.customer_id, entry.changes.as_ref()) else { continue };
                match self.restore_fields(actor, tenant, customer, changes).await? {
                    true => undo.restored += 1,
                    false => undo.kept += 1,
                }
            }
            if page.len() < 500 {
                break;
            }
        }
        job.undo = Some(undo.clone());
        self.store().save_import_job(&job, None).await?;
        let entry = AuditEntry::new(actor, tenant, AuditAction::ImportUndone, "import", job.id, None)
            .with_changes(serde_json::to_value(&undo).map_err(Error::internal)?);
        self.store().record(&[entry], &[]).await?;
        Ok(job)
    }

    /// Puts back the `from` values of an update's `changes` if the customer still holds its
    /// `to` values; false when it changed since (or is gone).
    async fn restore_fields(&self, actor: &Actor, tenant: TenantId, id: CustomerId, changes: &Value) -> Result<bool> {
        let Some(current) = self.store().get_customer(tenant, id).await? else { return Ok(false) };
        if current.deleted_at.is_some() {
            return Ok(false);
        }
        let now = serde_json::to_value(&current.data).map_err(Error::internal)?;
        let Value::Object(changes) = changes else { return Ok(false) };
        let mut patch = Map::new();
        for (path, change) in changes {
            let at = path.split('.').try_fold(&now, |value, key| value.get(key));
            if at.unwrap_or(&Value::Null) != change.get("to").unwrap_or(&Value::Null) {
                return Ok(false);
            }
            let mut target = &mut patch;
            let mut keys = path.split('.').peekable();
            while let Some(key) = keys.next() {
                if keys.peek().is_none() {
                    target.insert(key.to_owned(), change.get("from").cloned().unwrap_or(Value::Null));
                } else {
                    let inner = target.entry(key.to_owned()).or_insert_with(|| Value::Object(Map::new()));
                    let Value::Object(inner) = inner else { return Ok(false) };
                    target = inner;
                }
            }
        }
        match self.update_customer(actor, id, Value::Object(patch), Some(current.version)).await {
            Ok(_) => Ok(true),
            Err(Error::Conflict { code: ErrorCode::VersionConflict, .. } | Error::Invalid(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// How long a worker's lease on a job lasts before it must be renewed.
    pub fn import_lease_duration(&self) -> Duration {
        self.imports.lease
    }

    /// `worker`'s lease on a job, from now.
    pub fn import_lease(&self, worker: Uuid) -> ImportLease {
        ImportLease { worker, until: Timestamp::now().add(self.imports.lease) }
    }

    /// Claims the oldest waiting job (or only job `only`) for `worker`: a queued one, or a
    /// running one whose worker stopped renewing its lease. Uploads that died long ago (their
    /// request is past any deadline) are marked failed on the way. A job that made no progress
    /// in its last [`MAX_STALLED_ATTEMPTS`] attempts is failed instead of run again.
    pub async fn claim_import(&self, worker: Uuid, only: Option<(TenantId, Uuid)>) -> Result<Claim> {
        let now = Timestamp::now();
        if only.is_none() {
            self.store().abandon_stale_uploads(now.sub(STALE_UPLOAD), now).await?;
        }
        let Some(mut job) = self.store().claim_import_job(&self.import_lease(worker), now, only).await? else {
            return Ok(Claim::Nothing);
        };
        if job.stalled_attempts >= MAX_STALLED_ATTEMPTS {
            let why = format!(
                "gave up after {} attempts in a row that made no progress (the server's log says why)",
                job.stalled_attempts
            );
            self.fail_import_job(&mut job, worker, &why).await?;
            return Ok(Claim::GaveUp(job));
        }
        Ok(Claim::Run(job))
    }

    /// Piece number `piece` of a job's stored file (pieces of at most [`CHUNK_BYTES`]), if any.
    pub async fn import_file_piece(&self, job: &ImportJob, piece: i64) -> Result<Option<Vec<u8>>> {
        self.store().import_file_chunk(job.tenant_id, job.id, piece).await
    }

    /// Renews `worker`'s lease on a job; false when another worker took the job over.
    pub async fn renew_import_lease(&self, job: &ImportJob, worker: Uuid) -> Result<bool> {
        self.store().renew_import_lease(job.tenant_id, job.id, &self.import_lease(worker)).await
    }

    /// Begins running a claimed job whose file's header row has been read ([`LineReader`]):
    /// checks the mapping and records what was found. `None` when the job failed instead (the
    /// reason is in it) or another worker took it over.
    pub async fn start_import_run(
        &self,
        mut job: ImportJob,
        worker: Uuid,
        format: Format,
        headers: Vec<String>,
    ) -> Result<Option<ImportRun>> {
        job.encoding = Some(format.encoding.to_owned());
        job.delimiter = Some(match format.delimiter {
            b'\t' => "tab".to_owned(),
            other => char::from(other).to_string(),
        });
        let mapping = match Mapping::new(headers.clone(), &job.mapping) {
            Ok(mapping) => mapping,
            Err(e) => {
                self.fail_import_job(&mut job, worker, &e.to_string()).await?;
                return Ok(None);
            }
        };
        if !mapping.maps_anything() {
            let why = format!(
                "no column maps to a customer field (headers: {}); send an explicit mapping",
                headers.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
            );
            self.fail_import_job(&mut job, worker, &why).await?;
            return Ok(None);
        }
        job.unmapped_columns = mapping.unmapped();
        if !self.store().save_import_job(&job, Some(&self.import_lease(worker))).await? {
            return Ok(None);
        }
        self.store().set_import_headers(job.tenant_id, job.id, &headers).await?;
        let actor = self.import_actor(&job);
        let first_row = job.next_row;
        Ok(Some(ImportRun { job, worker, actor, mapping, seen: Seen::default(), first_row }))
    }

    /// Validates one batch of a running job's lines (of at most [`BATCH_ROWS`]; lines done
    /// before a restart are skipped) and commits it with the job's progress, in one
    /// transaction that first checks the job is still this worker's. False when another
    /// worker took the job over: nothing of the batch was written, and this worker must stop.
    pub async fn import_lines(&self, run: &mut ImportRun, lines: Vec<Line>) -> Result<bool> {
        let mut fresh = Vec::with_capacity(lines.len());
        for line in lines {
            if line.row > run.job.next_row {
                fresh.push(line);
            } else if run.job.dry_run && line.problem.is_none() {
                // Done before a restart. A dry run remembers it, for duplicates later in the file
                // (a real run finds those among the customers it created).
                run.seen.remember(&run.mapping, &line.cells, line.row);
            }
        }
        if fresh.is_empty() {
            return Ok(true);
        }
        let before = run.job.next_row - run.first_row;
        let mut conflicts = 0;
        loop {
            let batch = self.plan_batch(run, &fresh).await?;
            match self.store().commit_import_batch(&batch).await {
                Ok(true) => {
                    run.job = batch.job;
                    break;
                }
                Ok(false) => return Ok(false),
                // Another writer changed a customer of the batch, or took one of its
                // external_refs, since the batch was checked: check it again, against what is
                // there now (the row that collides is then refused on its own).
                Err(Error::Conflict { code: ErrorCode::VersionConflict | ErrorCode::DuplicateExternalRef, .. })
                    if conflicts < MAX_CONFLICT_RETRIES =>
                {
                    conflicts += 1;
                }
                Err(other) => return Err(other),
            }
        }
        // A tenant that grows by thousands of customers at once outgrows the planner's picture
        // of it: without fresh statistics, PostgreSQL would plan the batch lookups as if the
        // tenant were still small, and scan it for every batch.
        let after = run.job.next_row - run.first_row;
        if !run.job.dry_run && [2_000, 20_000, 200_000].iter().any(|mark| before < *mark && after >= *mark) {
            self.store().refresh_customer_statistics().await?;
        }
        Ok(true)
    }

    /// Ends a run whose every line was imported: the job succeeds, its file is dropped, and
    /// the import's summary is audited, in one write. False when another worker took it over.
    pub async fn finish_import_run(&self, run: ImportRun) -> Result<bool> {
        let ImportRun { mut job, worker, actor, .. } = run;
        job.status = ImportStatus::Succeeded;
        job.finished_at = Some(Timestamp::now());
        let entry = AuditEntry::new(&actor, job.tenant_id, AuditAction::ImportFinished, "import", job.id, None)
            .with_changes(serde_json::json!({
                "rows": job.rows_read, "created": job.created, "updated": job.updated,
                "unchanged": job.unchanged, "failed": job.failed, "dry_run": job.dry_run,
            }));
        self.store().end_import_job(&job, Some(&self.import_lease(worker)), &[entry]).await
    }

    /// Fails a claimed job as a whole (its file cannot be read, say): nothing more of it is
    /// imported, and its file is dropped. False when another worker took it over.
    pub async fn fail_import_job(&self, job: &mut ImportJob, worker: Uuid, why: &str) -> Result<bool> {
        job.status = ImportStatus::Failed;
        job.failure = Some(why.chars().filter(|c| !c.is_control()).take(500).collect());
        job.finished_at = Some(Timestamp::now());
        self.store().end_import_job(job, Some(&self.import_lease(worker)), &[]).await
    }

    /// The actor a job runs as: its creator, with the rights of a tenant admin.
    fn import_actor(&self, job: &ImportJob) -> Actor {
        let origin = Origin { ip: None, user_agent: None, request_id: Some(format!("import:{}", job.id)) };
        let principal = match (job.actor_role.as_str(), job.created_by) {
            ("cli", _) | (_, None) => Principal::CommandLine(job.tenant_id),
            (_, Some(user)) => Principal::Member(Member {
                tenant_id: job.tenant_id,
                user_id: UserId::from_uuid(user),
                role: Role::Admin,
                partner_id: None,
            }),
        };
        Actor::new(principal, origin)
    }

    /// Validates one batch of rows against the tenant as it is now and builds everything the
    /// batch writes, with the job's progress after it; writes nothing.
    async fn plan_batch(&self, run: &mut ImportRun, lines: &[Line]) -> Result<ImportBatch> {
        let mut job = run.job.clone();
        let tenant = job.tenant_id;
        let actor = &run.actor;
        // A real run finds duplicates of earlier batches among the customers it created, so it
        // remembers one batch only: memory does not grow with the file. A dry run, which creates
        // nothing (and so never meets a conflict that would make it plan a batch again),
        // remembers every row.
        let mut batch_seen = Seen::default();
        let seen = if job.dry_run { &mut run.seen } else { &mut batch_seen };
        let last_row = lines.last().map_or(job.next_row, |line| line.row);
        let mut failures: Vec<ImportRowError> = Vec::new();
        let mut candidates: Vec<Candidate> = Vec::new();
        for Line { row, cells, problem } in lines.iter().cloned() {
            job.rows_read += 1;
            if let Some(problem) = problem {
                failures.push(ImportRowError { row, cells, errors: vec![problem] });
                continue;
            }
            let parsed = run.mapping.row(&cells).and_then(|value| {
                // An upsert applies the row's own fields as a merge patch: keep them.
                let patch = (job.mode == ImportMode::Upsert).then(|| value.clone());
                crate::json::from_value::<CustomerInput>(value).map(|input| (input, patch)).map_err(|e| match e {
                    Error::Invalid(errors) => errors,
                    other => vec![FieldError::new("row", FieldCode::Invalid, other.to_string())],
                })
            });
            match parsed {
                Ok((input, patch)) => candidates.push(Candidate { row, cells, input, patch }),
                Err(errors) => failures.push(ImportRowError { row, cells, errors }),
            }
        }
        // Matches against the tenant's customers, by external_ref and email.
        let refs: Vec<String> = candidates.iter().filter_map(|c| key(&c.input.external_ref)).collect();
        let emails: Vec<String> = candidates
            .iter()
            .filter_map(|c| c.input.email.as_deref().and_then(|e| Email::parse(e).ok()))
            .map(|e| e.as_str().to_owned())
            .collect();
        let by_ref: HashMap<String, CustomerId> =
            self.store().customers_by_external_refs(tenant, &refs).await?.into_iter().collect();
        let mut by_email: HashMap<String, Vec<CustomerId>> = HashMap::new();
        for (email, id) in self.store().customers_by_emails(tenant, &emails).await? {
            by_email.entry(email).or_default().push(id);
        }
        let mut creates: Vec<(i64, Vec<String>, CustomerInput)> = Vec::new();
        let mut updates: Vec<(i64, Vec<String>, CustomerId, Value)> = Vec::new();
        for Candidate { row, cells, input, patch } in candidates {
            if let Some(problem) = seen.duplicate(&input, row) {
                failures.push(ImportRowError { row, cells, errors: vec![problem] });
                continue;
            }
            let email = input.email.as_deref().and_then(|e| Email::parse(e).ok()).map(|e| e.as_str().to_owned());
            if job.mode == ImportMode::Upsert && email.is_none() && key(&input.external_ref).is_none() {
                // Without a key it could never be matched: each run of the file would add it again.
                let problem = FieldError::new(
                    "external_ref",
                    FieldCode::Required,
                    "an upsert needs an external_ref or an email to match the row to a customer",
                );
                failures.push(ImportRowError { row, cells, errors: vec![problem] });
                continue;
            }
            let by_ref = key(&input.external_ref).and_then(|r| by_ref.get(&r).copied());
            let by_mail = email.as_ref().and_then(|e| by_email.get(e)).cloned().unwrap_or_default();
            // A customer this job created before a restart is matched, not duplicated.
            let own = customer_id_for_row(job.id, row);
            let matched = by_ref.or_else(|| (by_mail.len() == 1).then(|| by_mail[0])).filter(|id| *id != own);
            if let Some(earlier) = matched.and_then(|id| row_of(job.id, id)).filter(|earlier| *earlier < row) {
                let field = if by_ref.is_some() { "external_ref" } else { "email" };
                let problem = FieldError::new(
                    field,
                    FieldCode::Invalid,
                    format!("row {earlier} of this file has the same {field}"),
                );
                failures.push(ImportRowError { row, cells, errors: vec![problem] });
                continue;
            }
            match (job.mode, matched) {
                (ImportMode::Upsert, Some(id)) => updates.push((row, cells, id, patch.unwrap_or_default())),
                (ImportMode::Upsert, None) if by_mail.len() > 1 && by_ref.is_none() => {
                    let problem = FieldError::new(
                        "email",
                        FieldCode::Invalid,
                        format!("{} customers have this email: add external_ref to say which", by_mail.len()),
                    );
                    failures.push(ImportRowError { row, cells, errors: vec![problem] });
                }
                (ImportMode::Create, Some(id)) => {
                    let field = if by_ref.is_some() { "external_ref" } else { "email" };
                    let problem = FieldError::new(
                        field,
                        FieldCode::Invalid,
                        format!("customer {id} already has this {field} (import with mode=upsert to update it)"),
                    );
                    failures.push(ImportRowError { row, cells, errors: vec![problem] });
                }
                _ => creates.push((row, cells, input)),
            }
        }
        // Creations: ids derived from the rows; those already there were made before a restart.
        let ids: Vec<CustomerId> = creates.iter().map(|(row, _, _)| customer_id_for_row(job.id, *row)).collect();
        let existing: HashSet<CustomerId> = self.store().existing_customers(tenant, &ids).await?.into_iter().collect();
        let mut fresh = Vec::new();
        let mut fresh_rows = Vec::new();
        for ((row, cells, input), id) in creates.into_iter().zip(ids) {
            if existing.contains(&id) {
                job.created += 1;
            } else {
                fresh.push((id, input));
                fresh_rows.push((row, cells));
            }
        }
        let new_customers = self.prepare_new_customers(actor, fresh).await?;
        job.created += new_customers.prepared.len() as i64;
        for (index, error) in new_customers.rejected {
            let (row, cells) = fresh_rows[index].clone();
            failures.push(ImportRowError { row, cells, errors: row_errors(error) });
        }
        let mut batch = ImportBatch {
            job,
            lease: self.import_lease(run.worker),
            created: if run.job.dry_run { Vec::new() } else { new_customers.prepared },
            updated: Vec::new(),
            recorded: CustomerWrite::default(),
            errors: Vec::new(),
            hold_open: self.imports.crash_test_pause,
        };
        if batch.job.dry_run {
            batch.job.updated += updates.len() as i64;
        } else {
            // A customer that two rows update is changed by the second from what the first made.
            let mut planned: HashMap<CustomerId, Customer> = HashMap::new();
            for (row, cells, id, patch) in updates {
                match self.plan_update(actor, id, patch, planned.get(&id).cloned()).await {
                    Ok(PreparedUpdate::Changed { updated, expected_version, write, .. }) => {
                        batch.job.updated += 1;
                        planned.insert(id, updated.clone());
                        batch.updated.push((updated, expected_version, write));
                    }
                    Ok(PreparedUpdate::Unchanged { write, .. }) => {
                        batch.job.unchanged += 1;
                        batch.recorded.audit.extend(write.audit);
                        batch.recorded.global_matches.extend(write.global_matches);
                    }
                    Err(error) => failures.push(ImportRowError { row, cells, errors: row_errors(error) }),
                }
            }
        }
        batch.job.failed += failures.len() as i64;
        failures.sort_by_key(|f| f.row);
        batch.errors = failures;
        batch.job.next_row = last_row;
        batch.job.status = ImportStatus::Running;
        Ok(batch)
    }

    /// Plans applying a row's fields to an existing customer (or to `planned`, what an earlier
    /// row of the batch makes of it) as a merge patch. Not VIP, kind or notes: those are
    /// decisions, not data. (A row has no nulls: empty cells are left out, so the fields the
    /// file leaves empty are kept.)
    async fn plan_update(
        &self,
        actor: &Actor,
        id: CustomerId,
        mut patch: Value,
        planned: Option<Customer>,
    ) -> Result<PreparedUpdate> {
        let grant = actor.require(Capability::UpdateCustomer)?;
        let current = match planned {
            Some(planned) => planned,
            None => self.store().get_customer(grant.tenant_id, id).await?.ok_or(Error::NotFound("customer"))?,
        };
        if current.deleted_at.is_some() {
            return Err(Error::conflict(
                ErrorCode::CustomerDeleted,
                format!("customer {id} is deleted; restore it first"),
            ));
        }
        if let Value::Object(fields) = &mut patch {
            for decision in ["vip", "kind", "notes"] {
                fields.remove(decision);
            }
        }
        self.prepare_update(actor, &grant, current, patch, None).await
    }
}

fn key(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// An error as the field problems of a row.
fn row_errors(error: Error) -> Vec<FieldError> {
    match error {
        Error::Invalid(errors) | Error::InvalidQuery(errors) => errors,
        Error::Conflict { code: ErrorCode::DuplicateExternalRef, message, .. } => {
            vec![FieldError::new("external_ref", FieldCode::Invalid, message)]
        }
        other => vec![FieldError::new("row", FieldCode::Invalid, other.to_string())],
    }
}

/// A row that parsed: its cells, the API input they make, and (upserts) its fields as a patch.
#[derive(Debug)]
struct Candidate {
    row: i64,
    cells: Vec<String>,
    input: CustomerInput,
    patch: Option<Value>,
}

/// The emails and external refs met so far in the file, with their rows.
#[derive(Debug, Default)]
struct Seen {
    emails: HashMap<String, i64>,
    refs: HashMap<String, i64>,
}

impl Seen {
    /// Notes a row done before a restart.
    fn remember(&mut self, mapping: &Mapping, cells: &[String], row: i64) {
        if let Ok(value) = mapping.row(cells)
            && let Ok(input) = serde_json::from_value::<CustomerInput>(value)
        {
            let _ = self.duplicate(&input, row);
        }
    }

    /// The problem if `input` repeats an earlier row's email or external_ref; otherwise notes it.
    fn duplicate(&mut self, input: &CustomerInput, row: i64) -> Option<FieldError> {
        if let Some(external_ref) = key(&input.external_ref) {
            if let Some(first) = self.refs.get(&external_ref) {
                return Some(FieldError::new(
                    "external_ref",
                    FieldCode::Invalid,
                    format!("row {first} of this file has the same external_ref"),
                ));
            }
            self.refs.insert(external_ref, row);
        }
        if let Some(email) = input.email.as_deref().and_then(|e| Email::parse(e).ok()) {
            let email = email.as_str().to_owned();
            if let Some(first) = self.emails.get(&email) {
                return Some(FieldError::new(
                    "email",
                    FieldCode::Invalid,
                    format!("row {first} of this file has the same email"),
                ));
            }
            self.emails.insert(email, row);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ids_are_v7_distinct_and_recognisable() {
        let job = Uuid::now_v7();
        let a = customer_id_for_row(job, 1).as_uuid();
        let b = customer_id_for_row(job, 2).as_uuid();
        assert_ne!(a, b);
        assert_eq!(a.get_version_num(), 7);
        assert_eq!(a.as_bytes()[..12], job.as_bytes()[..12]);
        assert_eq!(customer_id_for_row(job, 1).as_uuid(), a, "the same row gives the same id");
        assert!(a < b, "rows keep their order");
    }

    #[test]
    fn options_are_checked() {
        let ok = ImportOptions { mode: Some("upsert".into()), dry_run: Some("true".into()), ..Default::default() };
        assert!(ok.parse().is_ok_and(|n| n.mode == ImportMode::Upsert && n.dry_run));
        let bad = ImportOptions {
            mode: Some("merge".into()),
            dry_run: Some("yes".into()),
            mapping: Some("{\"A\": \"password\"}".into()),
            ..Default::default()
        };
        let Err(Error::InvalidQuery(errors)) = bad.parse() else { panic!("bad options were accepted") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["mode", "dry_run", "mapping.A"]);
    }
}
