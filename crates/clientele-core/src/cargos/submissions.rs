//! Submissions: every check and send of an order's record, kept with the exact record sent, the
//! police's answer for it, and for an accepted send its receipt (`transactionid`).
//!
//! A submission is `pending` when an order's activation queued it, `running` while a worker (or
//! a request) has it, then `checked`, `accepted` or `failed`. A send is `running` from before
//! the call to the police until their answer is stored; the store keeps at most one send per
//! order `running` or `accepted`, so a contract is never sent twice, not even by two requests
//! at once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::FieldCode;
use crate::ids::{OrderId, SubmissionId, TenantId};
use crate::time::Timestamp;

/// Check or send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionAction {
    /// `api/Check`: the police validate the record; nothing is filed.
    Check,
    /// `api/Send`: the contract is filed; an accepted one has a receipt.
    Send,
}

/// Where a submission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionStatus {
    /// Queued by an order's activation, waiting for a worker.
    Pending,
    /// Being checked or sent now.
    Running,
    /// The police found nothing wrong with the record.
    Checked,
    /// The police accepted the contract; `transaction_id` is the receipt.
    Accepted,
    /// Refused by the police (`errors` says why, per field), or not done (`failure` says why).
    Failed,
}

/// What started a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionOrigin {
    /// A person, from the API or the command line.
    Manual,
    /// The order became active and the tenant's settings check (and send) then.
    Activation,
}

macro_rules! stored_enum {
    ($name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $name {
            /// The value as stored and shown.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
            /// Parses a stored value.
            pub fn parse(input: &str) -> Option<Self> {
                match input { $($text => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

stored_enum!(SubmissionAction { Check => "check", Send => "send" });
stored_enum!(SubmissionStatus {
    Pending => "pending", Running => "running", Checked => "checked", Accepted => "accepted", Failed => "failed",
});
stored_enum!(SubmissionOrigin { Manual => "manual", Activation => "activation" });

/// Which record a problem is fixed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FixResource {
    /// The order (`/api/v1/orders/{id}`).
    Order,
    /// A customer: the renter or the second driver (`/api/v1/customers/{id}`).
    Customer,
    /// An agency (`/api/v1/cargos/agencies/{id}`).
    Agency,
}

/// Where to fix a problem: the record and its field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProblemFix {
    /// Which kind of record.
    pub resource: FixResource,
    /// Its id.
    pub id: Uuid,
    /// The field to change, as that resource's API names it (`birth_place.code`).
    pub field: String,
}

/// A problem with an order's record: found here before anything was sent, or by the police.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordProblem {
    /// The record's field (`driver.birth_place_code`), when known.
    pub field: Option<String>,
    /// The Ca.R.G.O.S. column (`CONDUCENTE_CONTRAENTE_NASCITA_LUOGO_COD`), when known.
    pub column: Option<String>,
    /// Stable code.
    pub code: FieldCode,
    /// What is wrong; for the police's refusals, their own words.
    pub message: String,
    /// Where to fix it.
    pub fix: Option<ProblemFix>,
}

/// Why a submission was not done (as opposed to refused): the problem code and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubmissionFailure {
    /// The problem code (`cargos_unavailable`, `cargos_credentials_refused`,
    /// `cargos_not_configured`, `cargos_record_invalid`, ...).
    pub code: String,
    /// What happened.
    pub message: String,
}

/// One check or send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Submission {
    /// The submission's id.
    pub id: SubmissionId,
    /// The tenant.
    #[serde(skip)]
    pub tenant_id: TenantId,
    /// The order reported.
    pub order_id: OrderId,
    /// Check or send.
    pub action: SubmissionAction,
    /// Where it stands.
    pub status: SubmissionStatus,
    /// Who or what started it.
    pub origin: SubmissionOrigin,
    /// For a queued check: send too when the check passes.
    pub then_send: bool,
    /// The exact record checked or sent (1505 characters).
    pub record: Option<String>,
    /// SHA-256 of the record's UTF-8 bytes, hex: a send needs a check of the same.
    pub record_sha256: Option<String>,
    /// The receipt of an accepted send.
    pub transaction_id: Option<String>,
    /// The police's refusal, per field.
    pub errors: Vec<RecordProblem>,
    /// Why it was not done, when it was not.
    pub failure: Option<SubmissionFailure>,
    /// The user who asked (absent for automatic and command-line ones).
    pub created_by: Option<Uuid>,
    /// When it was asked for.
    pub created_at: Timestamp,
    /// When the answer was stored.
    pub finished_at: Option<Timestamp>,
    /// Runs so far (a worker that died mid-check leaves it to another).
    pub attempts: i64,
    /// The worker holding a pending or running one, and until when.
    #[serde(skip)]
    pub lease: Option<(Uuid, Timestamp)>,
}

impl Submission {
    /// Whether it ended (checked, accepted or failed).
    pub fn is_finished(&self) -> bool {
        matches!(self.status, SubmissionStatus::Checked | SubmissionStatus::Accepted | SubmissionStatus::Failed)
    }
}

/// The receipt of an order's accepted send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Receipt {
    /// The police's `transactionid`.
    pub transaction_id: String,
    /// When it was accepted.
    pub accepted_at: Option<Timestamp>,
    /// The submission.
    pub submission_id: SubmissionId,
}

/// The list's filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubmissionFilter {
    /// Only this status.
    pub status: Option<SubmissionStatus>,
    /// Only this order's.
    pub order_id: Option<OrderId>,
}
