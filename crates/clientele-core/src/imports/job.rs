//! Import jobs as they are kept: mode, status, progress, the worker's lease, refused rows, and the
//! options a job is started with.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, FieldCode, FieldError, Result};
use crate::ids::{CustomerId, ImportJobId, TenantId};
use crate::imports::mapping::{ColumnTarget, Mapping};
use crate::time::Timestamp;

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

/// The default largest import file.
pub const DEFAULT_MAX_IMPORT_BYTES: u64 = 512 * 1024 * 1024;

/// `create`: every valid row becomes a new customer (duplicates are refused); `upsert`: a row
/// matching a customer by `external_ref`, else by email, updates it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Create only.
    #[default]
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
    pub id: ImportJobId,
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
    /// Columns whose header names no field (their values were not imported).
    pub unmapped_columns: Vec<String>,
    /// Every column of the file and where its values went: a field, `notes`, or `ignored`.
    pub columns: Vec<ColumnTarget>,
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

/// What [`App::claim_import`](crate::App::claim_import) found.
#[derive(Debug)]
pub enum Claim {
    /// No job is waiting (or the one asked for is another worker's, or has ended).
    Nothing,
    /// A job that made no progress in its last attempts, failed instead of run again.
    GaveUp(ImportJob),
    /// A job to run, leased to the worker.
    Run(ImportJob),
}

/// How one batch of a running job ended ([`App::import_lines`](crate::App::import_lines)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchEnd {
    /// The batch was committed (or had nothing new): read on.
    Committed,
    /// The job's creator may no longer import (removed, disabled, or no longer an admin): the
    /// job failed with the reason, and nothing of the batch was written.
    Stopped,
    /// Another worker took the job over: nothing of the batch was written, and this worker
    /// must stop.
    TakenOver,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportRowError {
    /// The data row's number (1 is the first row after the header).
    pub row: i64,
    /// The row's cells, in the order of the job's `columns`.
    pub cells: Vec<String>,
    /// Everything that was wrong with it, field by field.
    pub errors: Vec<FieldError>,
}

/// A new job's settings: what the server's query parameters or form fields and the command
/// line's flags parse into ([`NewImport::parse`]), checked again by [`App::begin_import`](crate::App::begin_import).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewImport {
    /// `create` (the default) or `upsert`.
    pub mode: ImportMode,
    /// Report what would happen, write nothing.
    pub dry_run: bool,
    /// Explicit column mapping, header → field (`""` ignores a column); other columns are mapped
    /// automatically.
    pub mapping: Map<String, Value>,
    /// The file's name, for the job's record.
    pub file_name: Option<String>,
}

impl NewImport {
    /// Parses the settings' text (`mode`, `dry_run`, `mapping` as JSON, `file_name`), naming
    /// each bad one at once (`400 invalid_query`).
    pub fn parse(
        mode: Option<&str>,
        dry_run: Option<&str>,
        mapping: Option<&str>,
        file_name: Option<&str>,
    ) -> Result<Self> {
        let mut errors = Vec::new();
        let mode = match mode {
            None => ImportMode::Create,
            Some(m) => ImportMode::parse(m).unwrap_or_else(|| {
                errors.push(FieldError::new("mode", FieldCode::Invalid, "must be create or upsert"));
                ImportMode::Create
            }),
        };
        let dry_run = match dry_run {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                errors.push(FieldError::new("dry_run", FieldCode::Invalid, "must be true or false"));
                false
            }
        };
        let mapping = match mapping.map(str::trim).filter(|m| !m.is_empty()) {
            None => Map::new(),
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => map,
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
        let parsed = Self { mode, dry_run, mapping, file_name: file_name.map(str::to_owned) };
        match parsed.checked() {
            Ok(checked) if errors.is_empty() => Ok(checked),
            Ok(_) => Err(Error::InvalidQuery(errors)),
            Err(Error::InvalidQuery(more)) => {
                errors.extend(more);
                Err(Error::InvalidQuery(errors))
            }
            Err(other) => Err(other),
        }
    }

    /// The settings checked: at most 200 mapping entries, each naming a customer field; the file
    /// name made safe to show.
    pub fn checked(mut self) -> Result<Self> {
        let mut errors = Vec::new();
        if self.mapping.len() > 200 {
            errors.push(FieldError::new("mapping", FieldCode::TooLong, "may map at most 200 columns"));
        } else if !self.mapping.is_empty()
            && let Err(Error::Invalid(bad)) = Mapping::new(Vec::new(), &self.mapping)
        {
            errors.extend(bad);
        }
        self.file_name = self.file_name.as_deref().and_then(crate::documents::record::clean_file_name);
        if errors.is_empty() { Ok(self) } else { Err(Error::InvalidQuery(errors)) }
    }
}

/// The id of the customer created from `row` of `job`: a UUIDv7 sharing the job's timestamp and
/// random bits, with the row number in its last 32 bits. A resumed job finds the customers it
/// already created by these ids.
pub fn customer_id_for_row(job: ImportJobId, row: i64) -> CustomerId {
    let mut bytes = *job.as_uuid().as_bytes();
    bytes[12..16].copy_from_slice(&u32::try_from(row).unwrap_or(u32::MAX).to_be_bytes());
    CustomerId::from_uuid(Uuid::from_bytes(bytes))
}

/// The row of `job` that created customer `id`, if this job created it.
pub(crate) fn row_of(job: ImportJobId, id: CustomerId) -> Option<i64> {
    let bytes = id.as_uuid().into_bytes();
    (bytes[..12] == job.as_uuid().as_bytes()[..12])
        .then(|| i64::from(u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ids_are_v7_distinct_and_recognisable() {
        let job = ImportJobId::new();
        let a = customer_id_for_row(job, 1).as_uuid();
        let b = customer_id_for_row(job, 2).as_uuid();
        assert_ne!(a, b);
        assert_eq!(a.get_version_num(), 7);
        assert_eq!(a.as_bytes()[..12], job.as_uuid().as_bytes()[..12]);
        assert_eq!(customer_id_for_row(job, 1).as_uuid(), a, "the same row gives the same id");
        assert!(a < b, "rows keep their order");
    }

    #[test]
    fn options_are_checked() {
        let ok = NewImport::parse(Some("upsert"), Some("true"), None, None);
        assert!(ok.is_ok_and(|n| n.mode == ImportMode::Upsert && n.dry_run));
        let bad = NewImport::parse(Some("merge"), Some("yes"), Some("{\"A\": \"password\"}"), None);
        let Err(Error::InvalidQuery(errors)) = bad else { panic!("bad options were accepted") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["mode", "dry_run", "mapping.A"]);
        let typed =
            NewImport { mapping: serde_json::from_str(r#"{"A": "password"}"#).unwrap(), ..NewImport::default() };
        assert!(typed.checked().is_err(), "typed settings are checked too");
    }
}
