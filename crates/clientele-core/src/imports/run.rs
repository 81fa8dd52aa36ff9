//! Running an import job, step by step: claiming it, starting it from its header, each batch of
//! lines validated against the tenant as it is and committed whole with the job's progress,
//! and its end. The worker that calls these steps (leases, heartbeats, the file) lives outside
//! the core, in `clientele-runtime`.

use crate::customers::patch::CustomerPatch;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::ids::ImportJobId;
use serde_json::Value;
use uuid::Uuid;

use crate::accounts::access::Capability;
use crate::accounts::auth::{Actor, Member, Origin, Principal};
use crate::accounts::user::Role;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::customers::input::CustomerInput;
use crate::customers::record::Customer;
use crate::customers::services::PreparedUpdate;
use crate::customers::store::CustomerWrite;
use crate::error::{Error, ErrorCode, FieldCode, FieldError, Result};
use crate::ids::{CustomerId, TenantId, UserId};
use crate::imports::job::{
    BatchEnd, Claim, ImportJob, ImportLease, ImportMode, ImportRowError, ImportStatus, MAX_STALLED_ATTEMPTS,
    customer_id_for_row, row_of,
};
use crate::imports::mapping::Mapping;
use crate::imports::reader::{Format, Line};
use crate::imports::store::ImportBatch;
use crate::time::Timestamp;
use crate::values::Email;

/// How many times a batch is checked again after another writer got in its way.
const MAX_CONFLICT_RETRIES: u32 = 5;

/// An upload still `receiving` after this long lost its request (uploads time out after an hour).
const STALE_UPLOAD: Duration = Duration::from_secs(2 * 3600);

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

impl App {
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
    pub async fn claim_import(&self, worker: Uuid, only: Option<(TenantId, ImportJobId)>) -> Result<Claim> {
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

    /// Piece number `piece` of a job's stored file (pieces of at most [`CHUNK_BYTES`](crate::imports::job::CHUNK_BYTES)), if any.
    pub async fn import_file_piece(&self, job: &ImportJob, piece: i64) -> Result<Option<Vec<u8>>> {
        self.store().import_file_chunk(job.tenant_id, job.id, piece).await
    }

    /// Renews `worker`'s lease on a job; false when another worker took the job over.
    pub async fn renew_import_lease(&self, job: &ImportJob, worker: Uuid) -> Result<bool> {
        self.store().renew_import_lease(job.tenant_id, job.id, &self.import_lease(worker)).await
    }

    /// Begins running a claimed job whose file's header row has been read ([`LineReader`](crate::imports::reader::LineReader)):
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
        job.columns = mapping.columns();
        if !self.store().save_import_job(&job, Some(&self.import_lease(worker))).await? {
            return Ok(None);
        }
        self.store().set_import_headers(job.tenant_id, job.id, &headers).await?;
        let actor = self.import_actor(&job);
        let first_row = job.next_row;
        Ok(Some(ImportRun { job, worker, actor, mapping, seen: Seen::default(), first_row }))
    }

    /// Validates one batch of a running job's lines (of at most [`BATCH_ROWS`](crate::imports::job::BATCH_ROWS); lines done
    /// before a restart are skipped) and commits it with the job's progress, in one
    /// transaction that first checks the job is still this worker's.
    ///
    /// A job runs with its creator's rights, so before each batch the creator is read again:
    /// one who was removed, disabled or is no longer an admin stops the job, failed with the
    /// reason and audited, before anything more of it is written ([`BatchEnd::Stopped`]).
    /// [`BatchEnd::TakenOver`] when another worker took the job over: nothing of the batch
    /// was written, and this worker must stop.
    pub async fn import_lines(&self, run: &mut ImportRun, lines: Vec<Line>) -> Result<BatchEnd> {
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
            return Ok(BatchEnd::Committed);
        }
        if let Some(why) = self.import_creator_refused(&run.job).await? {
            return self.stop_import_run(run, &why).await;
        }
        let before = run.job.next_row - run.first_row;
        let mut conflicts = 0;
        loop {
            let batch = self.plan_batch(run, &fresh).await?;
            match self.store().commit_import_batch(&batch).await {
                Ok(true) => {
                    run.job = batch.job;
                    self.telemetry.import_rows_processed(fresh.len() as u64);
                    break;
                }
                Ok(false) => return Ok(BatchEnd::TakenOver),
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
        Ok(BatchEnd::Committed)
    }

    /// Why the creator of `job` may no longer run it, if so: the job acts with the rights of a
    /// tenant admin in the creator's name, which only a present, enabled admin may lend it.
    /// (Revoking the creator's tokens does not stop it: a job is not a token, and disabling
    /// the user, which stops it, also revokes them.) Jobs of the command line have no creator
    /// to check.
    async fn import_creator_refused(&self, job: &ImportJob) -> Result<Option<String>> {
        let Principal::Member(member) = *self.import_actor(job).principal() else { return Ok(None) };
        let why = match self.store().get_user(job.tenant_id, member.user_id).await? {
            None => format!("stopped: the user who started the import ({}) no longer exists", member.user_id),
            Some(user) if user.disabled => {
                format!("stopped: the user who started the import ({}) was disabled", user.email.as_str())
            }
            Some(user) if !Capability::BulkExport.allows(user.role) => format!(
                "stopped: the user who started the import ({}) is now {} and may no longer import",
                user.email.as_str(),
                user.role.as_str()
            ),
            Some(_) => return Ok(None),
        };
        Ok(Some(why))
    }

    /// Fails a running job because its creator may no longer import: what earlier batches
    /// committed stays (the job can be undone), nothing more is written, and the stop is
    /// audited with its reason in the same write that ends the job.
    async fn stop_import_run(&self, run: &mut ImportRun, why: &str) -> Result<BatchEnd> {
        let job = &mut run.job;
        job.status = ImportStatus::Failed;
        job.failure = Some(why.to_owned());
        job.finished_at = Some(Timestamp::now());
        let entry = AuditEntry::new(&run.actor, job.tenant_id, AuditAction::ImportFinished, "import", job.id, None)
            .with_changes(serde_json::json!({
                "status": "failed", "rows": job.rows_read, "created": job.created, "updated": job.updated,
                "unchanged": job.unchanged, "failed": job.failed, "dry_run": job.dry_run,
            }))
            .denied(why);
        tracing::warn!(job = %job.id, tenant = %job.tenant_id, reason = why, "import job stopped");
        Ok(if self.store().end_import_job(job, Some(&self.import_lease(run.worker)), &[entry]).await? {
            BatchEnd::Stopped
        } else {
            BatchEnd::TakenOver
        })
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
        // A dry run changed nothing: nobody outside hears of it.
        let entry =
            if job.dry_run { entry } else { entry.with_event(crate::events::payload::import_completed(&actor, &job)) };
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
        let rules = self.customer_rules(tenant).await?;
        let mut failures: Vec<ImportRowError> = Vec::new();
        let mut candidates: Vec<Candidate> = Vec::new();
        for Line { row, cells, problem } in lines.iter().cloned() {
            job.rows_read += 1;
            if let Some(problem) = problem {
                failures.push(ImportRowError { row, cells, errors: vec![problem] });
                continue;
            }
            let (value, mut errors) = run.mapping.row(&cells);
            // An upsert applies the row's own fields as a merge patch: keep them.
            let patch = (job.mode == ImportMode::Upsert).then(|| value.clone());
            match crate::json::from_value::<CustomerInput>(value) {
                Ok(input) if errors.is_empty() => candidates.push(Candidate { row, cells, input, patch }),
                Ok(input) => {
                    // Name everything else wrong with the row too, so one fix of the file
                    // mends it.
                    if let Err(Error::Invalid(more)) = input.validate(&rules) {
                        let named: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
                        errors.extend(more.into_iter().filter(|m| !named.contains(&m.field)));
                    }
                    failures.push(ImportRowError { row, cells, errors });
                }
                Err(e) => {
                    errors.extend(row_errors(e));
                    failures.push(ImportRowError { row, cells, errors });
                }
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
        let (mut updated, mut recorded) = (Vec::new(), CustomerWrite::default());
        if job.dry_run {
            job.updated += updates.len() as i64;
        } else {
            // A customer that two rows update is changed by the second from what the first made.
            let mut planned: HashMap<CustomerId, Customer> = HashMap::new();
            for (row, cells, id, patch) in updates {
                match self.plan_update(actor, id, patch, planned.get(&id).cloned()).await {
                    Ok(PreparedUpdate::Changed { updated: customer, expected_version, write, .. }) => {
                        job.updated += 1;
                        planned.insert(id, customer.clone());
                        updated.push((customer, expected_version, write));
                    }
                    Ok(PreparedUpdate::Unchanged { write, .. }) => {
                        job.unchanged += 1;
                        recorded.audit.extend(write.audit);
                        recorded.global_matches.extend(write.global_matches);
                    }
                    Err(error) => failures.push(ImportRowError { row, cells, errors: row_errors(error) }),
                }
            }
        }
        job.failed += failures.len() as i64;
        failures.sort_by_key(|f| f.row);
        job.next_row = last_row;
        job.status = ImportStatus::Running;
        Ok(ImportBatch {
            created: if job.dry_run { Vec::new() } else { new_customers.prepared },
            job,
            // The lease from now, not from when planning began: planning a large batch takes a while.
            lease: self.import_lease(run.worker),
            updated,
            recorded,
            errors: failures,
            hold_open: self.imports.crash_test_pause,
        })
    }

    /// Plans applying a row's fields to an existing customer (or to `planned`, what an earlier
    /// row of the batch makes of it) as a merge patch. Not VIP, kind or notes: those are
    /// decisions, not data. (A row has no nulls: empty cells are left out, so the fields the
    /// file leaves empty are kept.)
    async fn plan_update(
        &self,
        actor: &Actor,
        id: CustomerId,
        patch: Value,
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
        let Value::Object(fields) = patch else { return Err(Error::internal("an import row is a JSON object")) };
        self.prepare_update(actor, &grant, current, CustomerPatch::of_data(fields), None).await
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
        if let (value, errors) = mapping.row(cells)
            && errors.is_empty()
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
