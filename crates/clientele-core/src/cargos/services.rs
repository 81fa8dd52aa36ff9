//! Reporting orders: an order's record with its problems and submissions, checking it with the
//! police, sending it (only after a check of exactly the same record passed, and never twice),
//! the submissions list, and the background step that runs the checks queued when orders become
//! active.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::access::{Capability, Grant};
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::cargos::api::{CargosApi, CargosApiError, CargosSession, RecordAnswer};
use crate::cargos::contract::ContractParts;
use crate::cargos::format::format;
use crate::cargos::layout::MAX_RECORDS_PER_CALL;
use crate::cargos::state::{TOKEN_DEFAULT_LIFE, TOKEN_MARGIN};
use crate::cargos::submissions::{
    Receipt, RecordProblem, Submission, SubmissionAction, SubmissionFailure, SubmissionFilter, SubmissionOrigin,
    SubmissionStatus,
};
use crate::cargos::token::CargosApiKey;
use crate::error::{Error, ErrorCode, Result};
use crate::ids::{AgencyId, OrderId, SubmissionId, TenantId};
use crate::orders::record::{Order, OrderStatus};
use crate::paging::{Page, Paging, next_cursor};
use crate::time::Timestamp;

/// How long a worker holds a queued check before another may take it over.
pub const SUBMISSION_LEASE: Duration = Duration::from_secs(120);

/// One field of a record, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RecordField {
    /// The field's number in the manual (1 to 46).
    pub number: u8,
    /// The Ca.R.G.O.S. column.
    pub column: &'static str,
    /// Our name for it.
    pub field: &'static str,
    /// The value, without its padding (empty for a blank field).
    pub value: String,
}

/// A record as shown: the exact text sent, its hash, and its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RecordView {
    /// The 1505 characters sent.
    pub text: String,
    /// SHA-256 of its UTF-8 bytes, hex.
    pub sha256: String,
    /// The 46 fields.
    pub fields: Vec<RecordField>,
}

/// `GET /orders/{id}/cargos`: the order's record (or its problems), what was checked and sent,
/// and the receipt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderReport {
    /// The order.
    pub order_id: OrderId,
    /// The record as it would be sent now; absent while it has problems.
    pub record: Option<RecordView>,
    /// What stops the record from being sent, each with where to fix it.
    pub problems: Vec<RecordProblem>,
    /// Whether this very record passed a check (so it may be sent).
    pub checked: bool,
    /// The receipt, once the police accepted the contract.
    pub receipt: Option<Receipt>,
    /// Every check and send, newest first.
    pub submissions: Vec<Submission>,
}

/// SHA-256 of a record, hex.
fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn view(text: &str) -> RecordView {
    let fields = crate::cargos::layout::decode(text)
        .unwrap_or_default()
        .into_iter()
        .map(|f| RecordField {
            number: f.spec().number,
            column: f.spec().column,
            field: f.spec().path,
            value: f.value().to_owned(),
        })
        .collect();
    RecordView { text: text.to_owned(), sha256: sha256(text), fields }
}

fn receipt(submissions: &[Submission]) -> Option<Receipt> {
    submissions.iter().find(|s| s.status == SubmissionStatus::Accepted).map(|s| Receipt {
        transaction_id: s.transaction_id.clone().unwrap_or_default(),
        accepted_at: s.finished_at,
        submission_id: s.id,
    })
}

fn passed_check(submissions: &[Submission], sha: &str) -> bool {
    submissions.iter().any(|s| {
        s.action == SubmissionAction::Check
            && s.status == SubmissionStatus::Checked
            && s.record_sha256.as_deref() == Some(sha)
    })
}

/// A failure as a submission keeps it.
fn failure(error: &Error) -> SubmissionFailure {
    SubmissionFailure { code: error.code().as_str().to_owned(), message: error.to_string() }
}

impl App {
    /// An order's record, problems, submissions and receipt (admins and operators).
    pub async fn order_report(&self, actor: &Actor, id: OrderId) -> Result<OrderReport> {
        let grant = actor.require(Capability::ReportCargos)?;
        let order = self.reported_order(&grant, id).await?;
        let record = self.order_record(&order).await?;
        let submissions = self.store().order_submissions(grant.tenant_id, id).await?;
        let (record, problems) = match record {
            Ok(text) => (Some(view(&text)), Vec::new()),
            Err(problems) => (None, problems),
        };
        let checked = record.as_ref().is_some_and(|r| passed_check(&submissions, &r.sha256));
        Ok(OrderReport { order_id: id, record, problems, checked, receipt: receipt(&submissions), submissions })
    }

    /// Checks an order's record with the police (`api/Check`). The answer is the submission:
    /// `checked`, or `failed` with the police's reasons per field. A record with problems of
    /// its own is `409 cargos_record_invalid`; credentials refused, a timeout or a failing
    /// service are problems too (and are kept in the submissions).
    pub async fn check_order(&self, actor: &Actor, id: OrderId) -> Result<Submission> {
        let grant = actor.require(Capability::ReportCargos)?;
        let order = self.reported_order(&grant, id).await?;
        let record = self.order_record(&order).await?.map_err(record_invalid)?;
        let mut submission = new_submission(&order, SubmissionAction::Check, SubmissionOrigin::Manual, &record);
        submission.created_by = actor.user_uuid();
        let outcome = self.police(order.tenant_id, SubmissionAction::Check, &record).await;
        let error = self.settle(&order, &mut submission, outcome).await?;
        let audit = self.report_audit(actor, &order, &submission);
        self.store().insert_submission(&submission, &[audit]).await?;
        match error {
            Some(error) => Err(error),
            None => Ok(submission),
        }
    }

    /// Sends an order's contract to the police (`api/Send`), once: only after a check of exactly
    /// this record passed (`409 cargos_not_checked`), never after the police accepted it
    /// (`409 cargos_already_sent`, with the receipt). An accepted send carries the receipt.
    pub async fn send_order(&self, actor: &Actor, id: OrderId) -> Result<Submission> {
        let grant = actor.require(Capability::ReportCargos)?;
        let order = self.reported_order(&grant, id).await?;
        let record = self.order_record(&order).await?.map_err(record_invalid)?;
        let history = self.store().order_submissions(order.tenant_id, order.id).await?;
        if !passed_check(&history, &sha256(&record)) {
            return Err(Error::conflict(
                ErrorCode::CargosNotChecked,
                "this record has not passed a check: check it first (it changed since, or the check failed)",
            ));
        }
        self.send_record(actor, &order, &record, &history, SubmissionOrigin::Manual).await
    }

    /// Sends a checked record: refuses a resend locally, claims the order's one send, calls the
    /// police, and stores their answer.
    async fn send_record(
        &self,
        actor: &Actor,
        order: &Order,
        record: &str,
        history: &[Submission],
        origin: SubmissionOrigin,
    ) -> Result<Submission> {
        if let Some(receipt) = receipt(history) {
            return Err(Error::Conflict {
                code: ErrorCode::CargosAlreadySent,
                message: format!(
                    "the police accepted this contract already (receipt {}): it is never sent twice; corrections \
                     go through the police portal",
                    receipt.transaction_id
                ),
                details: Some(json!({"transaction_id": receipt.transaction_id})),
            });
        }
        // Without usable credentials nothing is claimed: the problem is the tenant's settings.
        let (api, session, cached) = self.cargos_session(order.tenant_id).await?;
        let mut submission = new_submission(order, SubmissionAction::Send, origin, record);
        submission.created_by = actor.user_uuid();
        submission.status = SubmissionStatus::Running;
        // A lease, so that a send left running by a process that died is found and failed.
        submission.lease = Some((Uuid::new_v4(), Timestamp::now().add(SUBMISSION_LEASE)));
        // The claim: a second send of the order, now or later, is refused by the store.
        self.store().insert_submission(&submission, &[]).await?;
        let records = [record.to_owned()];
        let mut outcome = api.send(&session, &records).await;
        if cached && matches!(outcome, Err(CargosApiError::CredentialsRefused(_))) {
            // The cached token may have expired early; a refused call was not processed.
            self.cargos.forget_session(order.tenant_id);
            outcome = match self.cargos_session(order.tenant_id).await {
                Ok((api, session, _)) => api.send(&session, &records).await,
                Err(error) => return self.finish_failed(actor, order, submission, error).await,
            };
        }
        let error = self.settle(order, &mut submission, outcome.map_err(Error::from)).await?;
        let audit = self.report_audit(actor, order, &submission);
        self.store().finish_submission(&submission, &[audit]).await?;
        match error {
            Some(error) => Err(error),
            None => Ok(submission),
        }
    }

    async fn finish_failed(
        &self,
        actor: &Actor,
        order: &Order,
        mut submission: Submission,
        error: Error,
    ) -> Result<Submission> {
        submission.status = SubmissionStatus::Failed;
        submission.failure = Some(failure(&error));
        submission.finished_at = Some(Timestamp::now());
        let audit = self.report_audit(actor, order, &submission);
        self.store().finish_submission(&submission, &[audit]).await?;
        Err(error)
    }

    /// Puts the police's answer (or why there is none) into `submission`; returns the error to
    /// answer with, if any.
    async fn settle(
        &self,
        order: &Order,
        submission: &mut Submission,
        outcome: Result<Vec<RecordAnswer>>,
    ) -> Result<Option<Error>> {
        submission.finished_at = Some(Timestamp::now());
        let answer = match outcome {
            Ok(mut answers) if answers.len() == 1 => answers.remove(0),
            Ok(answers) => {
                let error = Error::from(CargosApiError::Unexpected(format!("{} answers to one record", answers.len())));
                submission.status = SubmissionStatus::Failed;
                submission.failure = Some(failure(&error));
                return Ok(Some(error));
            }
            Err(error) => {
                submission.status = SubmissionStatus::Failed;
                submission.failure = Some(failure(&error));
                return Ok(Some(error));
            }
        };
        if answer.accepted {
            submission.status = match submission.action {
                SubmissionAction::Check => SubmissionStatus::Checked,
                SubmissionAction::Send => SubmissionStatus::Accepted,
            };
            submission.transaction_id = answer.transaction_id;
            return Ok(None);
        }
        submission.status = SubmissionStatus::Failed;
        let parts = self.load_parts(order).await?;
        let refusal = answer.error.unwrap_or_else(|| crate::cargos::api::PoliceError {
            error: "esito false".into(),
            description: "the police refused the record without saying why".into(),
            code: None,
        });
        submission.errors = vec![parts.parts().refusal(&refusal)];
        Ok(None)
    }

    /// The tenant's submissions, newest first: `status=failed` lists what did not go through.
    pub async fn cargos_submissions(
        &self,
        actor: &Actor,
        filter: &SubmissionFilter,
        paging: Paging,
    ) -> Result<Page<Submission>> {
        let grant = actor.require(Capability::ReportCargos)?;
        let after = paging.after.map(SubmissionId::from_uuid);
        let mut items = self.store().list_submissions(grant.tenant_id, filter, after, paging.limit + 1).await?;
        let next_cursor = next_cursor(&mut items, paging.limit as usize, |s| s.id);
        Ok(Page { items, next_cursor })
    }

    /// One step of the background runner: marks sends abandoned by a dead worker as failed, then
    /// takes the oldest queued check (of any tenant), runs it, and sends when the tenant's
    /// settings say so. False when nothing was queued.
    pub async fn run_queued_submission(&self, worker: Uuid) -> Result<bool> {
        let now = Timestamp::now();
        let abandoned = SubmissionFailure {
            code: ErrorCode::CargosUnavailable.as_str().to_owned(),
            message: "the server stopped while sending: whether the police received the contract is unknown; look \
                      it up on the police portal before sending again"
                .to_owned(),
        };
        self.store().fail_abandoned_sends(now, &abandoned).await?;
        let Some(mut submission) = self.store().claim_submission(worker, now, now.add(SUBMISSION_LEASE)).await? else {
            return Ok(false);
        };
        let actor = Actor::command_line(submission.tenant_id);
        let Some(order) = self.store().get_order(submission.tenant_id, submission.order_id).await? else {
            submission.status = SubmissionStatus::Failed;
            submission.failure = Some(failure(&Error::NotFound("order")));
            submission.finished_at = Some(Timestamp::now());
            self.store().finish_submission(&submission, &[]).await?;
            return Ok(true);
        };
        let record = match self.order_record(&order).await? {
            Ok(record) => record,
            Err(problems) => {
                submission.status = SubmissionStatus::Failed;
                submission.failure = Some(failure(&record_invalid(problems.clone())));
                submission.errors = problems;
                submission.finished_at = Some(Timestamp::now());
                self.store().finish_submission(&submission, &[]).await?;
                return Ok(true);
            }
        };
        submission.record_sha256 = Some(sha256(&record));
        submission.record = Some(record.clone());
        let outcome = self.police(order.tenant_id, SubmissionAction::Check, &record).await;
        let error = self.settle(&order, &mut submission, outcome).await?;
        let audit = self.report_audit(&actor, &order, &submission);
        if !self.store().finish_submission(&submission, &[audit]).await? {
            return Ok(true);
        }
        if let Some(error) = error {
            tracing::warn!(order = %order.id, %error, "Ca.R.G.O.S. check on activation failed");
        } else if submission.then_send && submission.status == SubmissionStatus::Checked {
            let history = self.store().order_submissions(order.tenant_id, order.id).await?;
            match self.send_record(&actor, &order, &record, &history, SubmissionOrigin::Activation).await {
                Ok(_) => {}
                // Already sent by hand meanwhile: nothing to do.
                Err(error) if error.code() == ErrorCode::CargosAlreadySent => {}
                Err(error) => tracing::warn!(order = %order.id, %error, "Ca.R.G.O.S. send on activation failed"),
            }
        }
        Ok(true)
    }

    /// An order that may be reported: the tenant's, and one that happens (confirmed, active or
    /// completed).
    async fn reported_order(&self, grant: &Grant, id: OrderId) -> Result<Order> {
        let order = self.store().get_order(grant.tenant_id, id).await?.ok_or(Error::NotFound("order"))?;
        if matches!(order.status, OrderStatus::AwaitingOverride | OrderStatus::Cancelled) {
            return Err(Error::conflict(
                ErrorCode::Conflict,
                format!(
                    "the order is {}: only confirmed, active and completed orders are reported",
                    order.status.as_str()
                ),
            ));
        }
        Ok(order)
    }

    /// The order's record as it would be sent now, or every problem that stops it.
    pub(crate) async fn order_record(&self, order: &Order) -> Result<Result<String, Vec<RecordProblem>>> {
        let loaded = self.load_parts(order).await?;
        let parts = loaded.parts();
        let tables = self.cargos_tables();
        Ok(match format(&parts.contract(), &tables) {
            Ok(record) => Ok(record.into_string()),
            Err(problems) => Err(problems.iter().map(|p| parts.problem(p)).collect()),
        })
    }

    async fn load_parts(&self, order: &Order) -> Result<LoadedParts> {
        let tenant = order.tenant_id;
        let renter = self.store().get_customer(tenant, order.customer_id).await?.ok_or(Error::NotFound("customer"))?;
        let second = match order.second_driver_id {
            Some(id) => self.store().get_customer(tenant, id).await?,
            None => None,
        };
        let agency = |id: Option<AgencyId>| async move {
            match id {
                Some(id) => self.store().get_agency(tenant, id).await,
                None => Ok(None),
            }
        };
        Ok(LoadedParts {
            order: order.clone(),
            renter,
            second,
            agency: agency(order.cargos.agency_id).await?,
            pickup_agency: agency(order.cargos.pickup_agency_id).await?,
            return_agency: agency(order.cargos.return_agency_id).await?,
        })
    }

    /// Calls the police with one record, with a fresh session once if a cached token was refused.
    async fn police(&self, tenant: TenantId, action: SubmissionAction, record: &str) -> Result<Vec<RecordAnswer>> {
        let records = [record.to_owned()];
        debug_assert!(records.len() <= MAX_RECORDS_PER_CALL);
        let (api, session, cached) = self.cargos_session(tenant).await?;
        let call = |api: Arc<dyn CargosApi>, session: CargosSession| {
            let records = records.clone();
            async move {
                match action {
                    SubmissionAction::Check => api.check(&session, &records).await,
                    SubmissionAction::Send => api.send(&session, &records).await,
                }
            }
        };
        match call(api, session).await {
            Err(CargosApiError::CredentialsRefused(_)) if cached => {
                self.cargos.forget_session(tenant);
                let (api, session, _) = self.cargos_session(tenant).await?;
                call(api, session).await.map_err(Error::from)
            }
            other => other.map_err(Error::from),
        }
    }

    /// The police API and the tenant's session: the cached one while its token is good, else a
    /// new token, encrypted with the tenant's API key. The flag says whether it was cached.
    pub(crate) async fn cargos_session(&self, tenant: TenantId) -> Result<(Arc<dyn CargosApi>, CargosSession, bool)> {
        let api = self.cargos.api.clone().ok_or_else(|| {
            Error::server(ErrorCode::CargosUnavailable, "this server has no Ca.R.G.O.S. client configured")
        })?;
        let credentials = self.cargos_credentials(tenant).await?;
        let mut hasher = Sha256::new();
        for part in [&credentials.username, &credentials.password, &credentials.api_key] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let fingerprint: [u8; 32] = hasher.finalize().into();
        let now = Timestamp::now();
        if let Some(session) = self.cargos.session(tenant, &fingerprint, now) {
            return Ok((api, session, true));
        }
        let key = CargosApiKey::parse(&credentials.api_key).map_err(|e| {
            Error::conflict(ErrorCode::CargosCredentialsRefused, format!("the stored API key cannot be used: {e}"))
        })?;
        let token = api.token(&credentials).await?;
        let session = CargosSession {
            bearer: key.encrypt_token(&token.access_token),
            organization: credentials.username.clone(),
        };
        let until = token.expires_at.map_or(now.add(TOKEN_DEFAULT_LIFE), |expires| expires.sub(TOKEN_MARGIN));
        if until > now {
            self.cargos.keep_session(tenant, fingerprint, session.clone(), until);
        }
        Ok((api, session, false))
    }

    fn report_audit(&self, actor: &Actor, order: &Order, submission: &Submission) -> AuditEntry {
        let action = match submission.action {
            SubmissionAction::Check => AuditAction::CargosChecked,
            SubmissionAction::Send => AuditAction::CargosSent,
        };
        let mut entry = AuditEntry::new(actor, order.tenant_id, action, "order", order.id, Some(order.customer_id))
            .with_changes(json!({
                "submission_id": submission.id,
                "status": submission.status,
                "transaction_id": submission.transaction_id,
            }));
        if submission.origin == SubmissionOrigin::Activation {
            // The background runner acts for nobody in particular.
            entry.actor_role = "system".to_owned();
        }
        entry
    }
}

/// A new submission of `record` for `order`.
fn new_submission(order: &Order, action: SubmissionAction, origin: SubmissionOrigin, record: &str) -> Submission {
    Submission {
        id: SubmissionId::new(),
        tenant_id: order.tenant_id,
        order_id: order.id,
        action,
        status: SubmissionStatus::Running,
        origin,
        then_send: false,
        record: Some(record.to_owned()),
        record_sha256: Some(sha256(record)),
        transaction_id: None,
        errors: Vec::new(),
        failure: None,
        created_by: None,
        created_at: Timestamp::now(),
        finished_at: None,
        attempts: 1,
        lease: None,
    }
}

/// `409 cargos_record_invalid`, listing the problems.
fn record_invalid(problems: Vec<RecordProblem>) -> Error {
    let fields: Vec<&str> = problems.iter().filter_map(|p| p.field.as_deref()).collect();
    Error::Conflict {
        code: ErrorCode::CargosRecordInvalid,
        message: format!("the record cannot be sent as it is; fix: {}", fields.join(", ")),
        details: Some(json!({"problems": problems})),
    }
}

/// What a record is made of, owned.
struct LoadedParts {
    order: Order,
    renter: crate::customers::record::Customer,
    second: Option<crate::customers::record::Customer>,
    agency: Option<crate::cargos::agencies::RentalAgency>,
    pickup_agency: Option<crate::cargos::agencies::RentalAgency>,
    return_agency: Option<crate::cargos::agencies::RentalAgency>,
}

impl LoadedParts {
    fn parts(&self) -> ContractParts<'_> {
        ContractParts {
            order: &self.order,
            renter: &self.renter,
            second: self.second.as_ref(),
            agency: self.agency.as_ref(),
            pickup_agency: self.pickup_agency.as_ref(),
            return_agency: self.return_agency.as_ref(),
        }
    }
}
