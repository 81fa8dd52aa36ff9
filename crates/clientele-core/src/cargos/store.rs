//! What the store keeps of Ca.R.G.O.S., and the part of the storage contract that is its:
//! agencies, settings and submissions per tenant; refreshed tables for everyone.

use uuid::Uuid;

use crate::audit::entry::AuditEntry;
use crate::cargos::agencies::RentalAgency;
use crate::cargos::settings::CargosSettings;
use crate::cargos::submissions::{Submission, SubmissionFailure, SubmissionFilter};
use crate::error::Result;
use crate::ids::{AgencyId, OrderId, SubmissionId, TenantId};
use crate::time::Timestamp;

/// The four tables' texts as downloaded from the police's `Tabella` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTables {
    /// Table 0, TIPO_PAGAMENTO.
    pub payment_types: String,
    /// Table 1, LUOGHI.
    pub places: String,
    /// Table 2, TIPO_VEICOLO.
    pub vehicle_types: String,
    /// Table 3, TIPO_DOCUMENTO.
    pub document_types: String,
    /// When they were downloaded.
    pub fetched_at: Timestamp,
}

/// Ca.R.G.O.S. Part of [`crate::store::Store`]; see its documentation for what every method
/// keeps to.
#[async_trait::async_trait]
pub trait CargosStore: Send + Sync {
    /// Stores a new agency with its audit entries; `409 conflict` when the tenant has a live
    /// agency with the same code.
    async fn insert_agency(&self, agency: &RentalAgency, audit: &[AuditEntry]) -> Result<()>;
    /// An agency by id, deleted or not.
    async fn get_agency(&self, tenant: TenantId, id: AgencyId) -> Result<Option<RentalAgency>>;
    /// The tenant's agencies by code, without the deleted ones unless asked.
    async fn list_agencies(&self, tenant: TenantId, include_deleted: bool) -> Result<Vec<RentalAgency>>;
    /// Replaces an agency if still at `expected_version` (`409 version_conflict` otherwise).
    async fn update_agency(&self, agency: &RentalAgency, expected_version: i64, audit: &[AuditEntry]) -> Result<()>;

    /// The tenant's settings, if it saved any.
    async fn cargos_settings(&self, tenant: TenantId) -> Result<Option<CargosSettings>>;
    /// Saves the tenant's settings with their audit entries.
    async fn put_cargos_settings(&self, settings: &CargosSettings, audit: &[AuditEntry]) -> Result<()>;
    /// Every tenant's settings that hold credentials (to re-seal them under a new master key).
    async fn settings_with_credentials(&self) -> Result<Vec<CargosSettings>>;

    /// Stores a new submission with its audit entries. A send `running` or `accepted` while the
    /// order already has one is refused with `409 cargos_already_sent`.
    async fn insert_submission(&self, submission: &Submission, audit: &[AuditEntry]) -> Result<()>;
    /// Stores the outcome of a pending or running submission (its status, record, answer and
    /// lease) with its audit entries. False when it was no longer pending or running.
    async fn finish_submission(&self, submission: &Submission, audit: &[AuditEntry]) -> Result<bool>;
    /// An order's submissions, newest first.
    async fn order_submissions(&self, tenant: TenantId, order: OrderId) -> Result<Vec<Submission>>;
    /// The tenant's submissions matching `filter`, newest first, after `after`.
    async fn list_submissions(
        &self,
        tenant: TenantId,
        filter: &SubmissionFilter,
        after: Option<SubmissionId>,
        limit: u32,
    ) -> Result<Vec<Submission>>;
    /// Leases the oldest queued check, of any tenant, to `worker` until `until`: a pending one,
    /// or a running one whose lease ran out (its worker died). Running sends are never taken
    /// over: see [`Self::fail_abandoned_sends`].
    async fn claim_submission(&self, worker: Uuid, now: Timestamp, until: Timestamp) -> Result<Option<Submission>>;
    /// Marks failed, with `failure`, every running send whose lease ran out before `now`: its
    /// worker died between the call and the answer, so whether the police have it is unknown,
    /// and it is never sent again by itself. Returns how many.
    async fn fail_abandoned_sends(&self, now: Timestamp, failure: &SubmissionFailure) -> Result<u64>;

    /// The refreshed tables, if any were downloaded.
    async fn cargos_tables(&self) -> Result<Option<StoredTables>>;
    /// Replaces the refreshed tables, all four at once.
    async fn put_cargos_tables(&self, tables: &StoredTables) -> Result<()>;
}
