//! Ca.R.G.O.S. rows as stored, and their conversion to and from domain types.

use clientele_core::cargos::agencies::RentalAgency;
use clientele_core::cargos::settings::{CargosSettings, OnActivation};
use clientele_core::cargos::submissions::{
    RecordProblem, Submission, SubmissionAction, SubmissionFailure, SubmissionOrigin, SubmissionStatus,
};
use clientele_core::documents::vault::SealedSecret;
use clientele_core::ids::{AgencyId, OrderId, SubmissionId, TenantId};
use clientele_core::{Error, ErrorCode, Result};
use uuid::Uuid;

use crate::db::{Ts, corrupt, db_error, is_unique_violation};

/// The columns of `cargos_agencies`, in the order of [`AgencyRecord`].
macro_rules! agency_columns {
    () => {
        "tenant_id, id, code, name, place_code, address, phone, created_at, updated_at, deleted_at, version"
    };
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AgencyRecord {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub place_code: String,
    pub address: String,
    pub phone: String,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub deleted_at: Option<Ts>,
    pub version: i64,
}

impl From<&RentalAgency> for AgencyRecord {
    fn from(a: &RentalAgency) -> Self {
        Self {
            tenant_id: a.tenant_id.as_uuid(),
            id: a.id.as_uuid(),
            code: a.code.clone(),
            name: a.name.clone(),
            place_code: a.place_code.clone(),
            address: a.address.clone(),
            phone: a.phone.clone(),
            created_at: a.created_at.into(),
            updated_at: a.updated_at.into(),
            deleted_at: a.deleted_at.map(Ts),
            version: a.version,
        }
    }
}

impl From<AgencyRecord> for RentalAgency {
    fn from(r: AgencyRecord) -> Self {
        Self {
            id: AgencyId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            code: r.code,
            name: r.name,
            place_code: r.place_code,
            address: r.address,
            phone: r.phone,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
            deleted_at: r.deleted_at.map(|t| t.0),
            version: r.version,
        }
    }
}

pub(crate) fn agency_write_error(error: sqlx::Error) -> Error {
    if is_unique_violation(&error, "code") {
        Error::conflict(ErrorCode::Conflict, "another agency of the tenant has this code")
    } else {
        db_error(error)
    }
}

/// The columns of `cargos_settings`, in the order of [`SettingsRecord`].
macro_rules! settings_columns {
    () => {
        "tenant_id, credentials, credentials_key_id, credentials_set_at, on_activation, updated_at"
    };
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SettingsRecord {
    pub tenant_id: Uuid,
    pub credentials: Option<Vec<u8>>,
    pub credentials_key_id: Option<String>,
    pub credentials_set_at: Option<Ts>,
    pub on_activation: String,
    pub updated_at: Ts,
}

impl From<&CargosSettings> for SettingsRecord {
    fn from(s: &CargosSettings) -> Self {
        Self {
            tenant_id: s.tenant_id.as_uuid(),
            credentials: s.credentials.as_ref().map(|c| c.sealed.clone()),
            credentials_key_id: s.credentials.as_ref().map(|c| c.key_id.clone()),
            credentials_set_at: s.credentials_set_at.map(Ts),
            on_activation: s.on_activation.as_str().to_owned(),
            updated_at: s.updated_at.into(),
        }
    }
}

impl TryFrom<SettingsRecord> for CargosSettings {
    type Error = Error;
    fn try_from(r: SettingsRecord) -> Result<Self> {
        Ok(Self {
            tenant_id: TenantId::from_uuid(r.tenant_id),
            credentials: match (r.credentials, r.credentials_key_id) {
                (Some(sealed), Some(key_id)) => Some(SealedSecret { key_id, sealed }),
                _ => None,
            },
            credentials_set_at: r.credentials_set_at.map(|t| t.0),
            on_activation: OnActivation::parse(&r.on_activation)
                .ok_or_else(|| corrupt("Ca.R.G.O.S. on_activation", &r.on_activation))?,
            updated_at: r.updated_at.0,
        })
    }
}

/// The columns of `cargos_submissions`, in the order of [`SubmissionRecord`].
macro_rules! submission_columns {
    () => {
        "tenant_id, id, order_id, action, status, origin, then_send, record, record_sha256, transaction_id, \
         errors, failure_code, failure, created_by, created_at, finished_at, worker, lease_until, attempts"
    };
}

pub(crate) const INSERT_SUBMISSION: &str = concat!(
    "INSERT INTO cargos_submissions (",
    submission_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
);

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SubmissionRecord {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub order_id: Uuid,
    pub action: String,
    pub status: String,
    pub origin: String,
    pub then_send: bool,
    pub record: Option<String>,
    pub record_sha256: Option<String>,
    pub transaction_id: Option<String>,
    pub errors: String,
    pub failure_code: Option<String>,
    pub failure: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: Ts,
    pub finished_at: Option<Ts>,
    pub worker: Option<Uuid>,
    pub lease_until: Option<Ts>,
    pub attempts: i64,
}

/// Binds the fields of a [`SubmissionRecord`] in column order.
macro_rules! bind_submission {
    ($query:expr, $r:expr) => {
        $query
            .bind($r.tenant_id)
            .bind($r.id)
            .bind($r.order_id)
            .bind(&$r.action)
            .bind(&$r.status)
            .bind(&$r.origin)
            .bind($r.then_send)
            .bind(&$r.record)
            .bind(&$r.record_sha256)
            .bind(&$r.transaction_id)
            .bind(&$r.errors)
            .bind(&$r.failure_code)
            .bind(&$r.failure)
            .bind($r.created_by)
            .bind($r.created_at)
            .bind($r.finished_at)
            .bind($r.worker)
            .bind($r.lease_until)
            .bind($r.attempts)
    };
}

impl TryFrom<&Submission> for SubmissionRecord {
    type Error = Error;
    fn try_from(s: &Submission) -> Result<Self> {
        Ok(Self {
            tenant_id: s.tenant_id.as_uuid(),
            id: s.id.as_uuid(),
            order_id: s.order_id.as_uuid(),
            action: s.action.as_str().to_owned(),
            status: s.status.as_str().to_owned(),
            origin: s.origin.as_str().to_owned(),
            then_send: s.then_send,
            record: s.record.clone(),
            record_sha256: s.record_sha256.clone(),
            transaction_id: s.transaction_id.clone(),
            errors: serde_json::to_string(&s.errors).map_err(Error::internal)?,
            failure_code: s.failure.as_ref().map(|f| f.code.clone()),
            failure: s.failure.as_ref().map(|f| f.message.clone()),
            created_by: s.created_by,
            created_at: s.created_at.into(),
            finished_at: s.finished_at.map(Ts),
            worker: s.lease.map(|(worker, _)| worker),
            lease_until: s.lease.map(|(_, until)| Ts(until)),
            attempts: s.attempts,
        })
    }
}

impl TryFrom<SubmissionRecord> for Submission {
    type Error = Error;
    fn try_from(r: SubmissionRecord) -> Result<Self> {
        let errors: Vec<RecordProblem> =
            serde_json::from_str(&r.errors).map_err(|_| corrupt("submission errors", &r.errors))?;
        Ok(Self {
            id: SubmissionId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            order_id: OrderId::from_uuid(r.order_id),
            action: SubmissionAction::parse(&r.action).ok_or_else(|| corrupt("submission action", &r.action))?,
            status: SubmissionStatus::parse(&r.status).ok_or_else(|| corrupt("submission status", &r.status))?,
            origin: SubmissionOrigin::parse(&r.origin).ok_or_else(|| corrupt("submission origin", &r.origin))?,
            then_send: r.then_send,
            record: r.record,
            record_sha256: r.record_sha256,
            transaction_id: r.transaction_id,
            errors,
            failure: match (r.failure_code, r.failure) {
                (Some(code), Some(message)) => Some(SubmissionFailure { code, message }),
                _ => None,
            },
            created_by: r.created_by,
            created_at: r.created_at.0,
            finished_at: r.finished_at.map(|t| t.0),
            attempts: r.attempts,
            lease: match (r.worker, r.lease_until) {
                (Some(worker), Some(until)) => Some((worker, until.0)),
                _ => None,
            },
        })
    }
}

/// A submission write's error: a second send of an order under way or accepted is
/// `409 cargos_already_sent`.
pub(crate) fn submission_write_error(error: sqlx::Error) -> Error {
    if is_unique_violation(&error, "one_send") || is_unique_violation(&error, "order_id") {
        Error::conflict(
            ErrorCode::CargosAlreadySent,
            "this order's contract is being sent, or was accepted already: it is never sent twice",
        )
    } else {
        db_error(error)
    }
}

pub(crate) use agency_columns;
pub(crate) use bind_submission;
pub(crate) use settings_columns;
pub(crate) use submission_columns;
