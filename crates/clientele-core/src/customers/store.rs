//! What the store keeps of customers and their notes.

use uuid::Uuid;

use crate::accounts::access::CustomerScope;
use crate::audit::entry::AuditEntry;
use crate::blacklist::record::{BlacklistChange, GlobalMatch};
use crate::customers::notes::Note;
use crate::customers::record::{Customer, CustomerKind};
use crate::documents::requirements::DocumentsFilter;
use crate::error::Result;
use crate::ids::{CustomerId, NoteId, TenantId};
use crate::time::Timestamp;
use crate::values::Email;

/// Filters and keyset position for listing customers, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerQuery {
    /// Which customers the caller may see.
    pub scope: CustomerScope,
    /// Only this kind.
    pub kind: Option<CustomerKind>,
    /// Only VIPs (`true`) or only non-VIPs (`false`).
    pub vip: Option<bool>,
    /// Only blacklisted customers (`true`, any badge) or only others (`false`).
    pub blacklisted: Option<bool>,
    /// Only customers whose phone has this status.
    pub phone_status: Option<crate::values::PhoneStatus>,
    /// Only clients of this partner company.
    pub partner_id: Option<CustomerId>,
    /// Created at or after this instant.
    pub created_from: Option<Timestamp>,
    /// Created before this instant.
    pub created_before: Option<Timestamp>,
    /// Only customers holding (or missing) required documents.
    pub documents: Option<DocumentsFilter>,
    /// Include soft-deleted customers.
    pub include_deleted: bool,
    /// Keyset position: only customers with an id below this one.
    pub after: Option<CustomerId>,
    /// At most this many.
    pub limit: u32,
}

impl CustomerQuery {
    /// The filters (not the scope, position or page size) as text, for cursor fingerprints.
    pub fn filters_key(&self) -> String {
        let kind = self.kind.map(CustomerKind::as_str);
        let phone = self.phone_status.map(crate::values::PhoneStatus::as_str);
        let partner = self.partner_id.map(|p| p.to_string());
        let from = self.created_from.map(|t| t.to_fixed_string());
        let before = self.created_before.map(|t| t.to_fixed_string());
        let (vip, blacklisted, deleted) = (self.vip, self.blacklisted, self.include_deleted);
        let documents = self.documents.as_ref().map(|d| d.complete);
        format!("{kind:?}|{vip:?}|{blacklisted:?}|{phone:?}|{partner:?}|{from:?}|{before:?}|{deleted}|{documents:?}")
    }

    /// Everything the scope allows, first page of `limit`.
    pub fn all(scope: CustomerScope, limit: u32) -> Self {
        Self {
            scope,
            kind: None,
            vip: None,
            blacklisted: None,
            phone_status: None,
            partner_id: None,
            created_from: None,
            created_before: None,
            documents: None,
            include_deleted: false,
            after: None,
            limit,
        }
    }
}

/// A note as written, before the author's email is joined in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNote {
    /// The note's id.
    pub id: NoteId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The customer the note is about.
    pub customer_id: CustomerId,
    /// The author (absent for command-line actors).
    pub author_id: Option<Uuid>,
    /// The text.
    pub body: String,
    /// When it was written.
    pub created_at: Timestamp,
}

/// Everything written together with a customer row, in the same transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerWrite {
    /// Notes to append.
    pub notes: Vec<NewNote>,
    /// Audit entries.
    pub audit: Vec<AuditEntry>,
    /// Global-blacklist matches found by the check that preceded the write.
    pub global_matches: Vec<GlobalMatch>,
    /// Blacklist changes, applied in order.
    pub blacklist: Vec<BlacklistChange>,
    /// Whether the write ran the global check: only then does an update change the customer's
    /// `global_match_at` (which matches and lifts elsewhere change without a new version).
    pub global_checked: bool,
}

impl CustomerWrite {
    /// A write whose only side effect is one audit entry.
    pub fn audited(entry: AuditEntry) -> Self {
        Self { audit: vec![entry], ..Self::default() }
    }
}

/// Customers and their notes. Part of [`crate::store::Store`]; see its documentation for what every method
/// keeps to.
#[async_trait::async_trait]
pub trait CustomerStore: Send + Sync {
    /// Stores a new customer with everything in `write`, atomically.
    /// `409 duplicate_external_ref` when the tenant has another customer with its `external_ref`.
    async fn insert_customer(&self, customer: &Customer, write: &CustomerWrite) -> Result<()>;
    /// Stores many new customers of one tenant, each with everything in its write, in one
    /// transaction.
    async fn insert_customers(&self, tenant: TenantId, batch: &[(Customer, CustomerWrite)]) -> Result<()>;
    /// A customer by id, deleted or not.
    async fn get_customer(&self, tenant: TenantId, id: CustomerId) -> Result<Option<Customer>>;
    /// Replaces a customer's stored state with `customer` (whose `version` is the new one) if
    /// the stored version is still `expected_version`, with everything in `write`, atomically.
    /// `409 version_conflict` when the version moved on, `404` when the customer does not exist.
    async fn update_customer(&self, customer: &Customer, expected_version: i64, write: &CustomerWrite) -> Result<()>;
    /// How many customers match `query`'s filters (its position and page size aside).
    async fn count_customers(&self, tenant: TenantId, query: &CustomerQuery) -> Result<u64>;
    /// Customers matching `query`, newest first.
    async fn list_customers(&self, tenant: TenantId, query: &CustomerQuery) -> Result<Vec<Customer>>;
    /// Ids of the tenant's other live customers with this email (only clients of `partner`, when
    /// given).
    async fn customers_with_email(
        &self,
        tenant: TenantId,
        email: &Email,
        except: CustomerId,
        partner: Option<CustomerId>,
    ) -> Result<Vec<CustomerId>>;
    /// The customer holding `external_ref` in the tenant, if any.
    async fn customer_with_external_ref(&self, tenant: TenantId, external_ref: &str) -> Result<Option<CustomerId>>;
    /// Appends a note and its audit entry, atomically.
    async fn insert_note(&self, note: &NewNote, audit: &AuditEntry) -> Result<()>;
    /// A customer's notes, newest first.
    async fn list_notes(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<Note>>;
    /// The tenant's customers with ids from `low` to `high`, in id order, after `after`.
    async fn customers_in_id_range(
        &self,
        tenant: TenantId,
        low: CustomerId,
        high: CustomerId,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<Customer>>;
    /// Refreshes the query planner's statistics on customers (PostgreSQL `ANALYZE`), as after
    /// a bulk write into a tenant the planner still thinks empty; a no-op where not needed.
    async fn refresh_customer_statistics(&self) -> Result<()>;
    /// Which of these customer ids exist in the tenant (deleted or not).
    async fn existing_customers(&self, tenant: TenantId, ids: &[CustomerId]) -> Result<Vec<CustomerId>>;
    /// The tenant's customers holding any of these external refs: (ref, id).
    async fn customers_by_external_refs(&self, tenant: TenantId, refs: &[String]) -> Result<Vec<(String, CustomerId)>>;
    /// The tenant's live customers holding any of these emails: (email, id).
    async fn customers_by_emails(&self, tenant: TenantId, emails: &[String]) -> Result<Vec<(String, CustomerId)>>;
}
