//! The storage contract. One trait, implemented for SQLite and PostgreSQL by `clientele-store`,
//! and proven on both by one conformance suite.
//!
//! Every method on tenant data is scoped to one tenant: it takes the tenant id first, or a record
//! that carries its tenant (a customer, an order, a note), and every statement it runs filters
//! by that tenant. Each method is one unit of work: it runs in its own transaction, and any audit
//! entry it takes is written in that same transaction.

use async_trait::async_trait;
use uuid::Uuid;

use crate::accounts::tenant::Tenant;
use crate::accounts::user::{PlatformAdmin, User};
use crate::audit::entry::AuditEntry;
use crate::audit::store::{AuditHead, AuditQuery};
use crate::blacklist::record::{BlacklistEntry, GlobalEntry, GlobalMatch, GlobalQuery, Pseudonym};
use crate::customers::notes::Note;
use crate::customers::record::Customer;
use crate::customers::store::{CustomerQuery, CustomerWrite, NewNote};
use crate::documents::record::{Document, DocumentKind, SealedFile};
use crate::documents::requirements::RequiredDocuments;
use crate::error::Result;
use crate::ids::{CustomerId, PlatformAdminId, TenantId, UserId};
use crate::imports::job::{ImportJob, ImportLease, ImportRowError};
use crate::imports::store::ImportBatch;
use crate::orders::record::Order;
use crate::search::store::SearchMatch;
use crate::time::Timestamp;
use crate::values::Email;

/// Persistence for everything Clientele keeps. See the module documentation.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<()>;

    /// The platform's token signing key: the stored one, or `generated` after storing it. Every
    /// process sharing the database therefore signs with the same key.
    async fn token_signing_key(&self, generated: &[u8]) -> Result<Vec<u8>>;

    /// Stores a new tenant.
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<()>;
    /// A tenant by id.
    async fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>>;
    /// The oldest tenant with exactly this name.
    async fn find_tenant_by_name(&self, name: &str) -> Result<Option<Tenant>>;
    /// Replaces a tenant's required documents, with its audit entry, atomically.
    async fn set_required_documents(
        &self,
        tenant: TenantId,
        required: &RequiredDocuments,
        audit: &AuditEntry,
    ) -> Result<()>;

    /// Stores a new user; `409 conflict` when the email is taken in the tenant.
    async fn insert_user(&self, user: &User) -> Result<()>;
    /// A user by id.
    async fn get_user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>>;
    /// A user by login email.
    async fn find_user_by_email(&self, tenant: TenantId, email: &Email) -> Result<Option<User>>;
    /// Disables or re-enables a user; false when there is no such user.
    async fn set_user_disabled(&self, tenant: TenantId, id: UserId, disabled: bool) -> Result<bool>;

    /// Stores a new platform admin; `409 conflict` when the email is taken.
    async fn insert_platform_admin(&self, admin: &PlatformAdmin) -> Result<()>;
    /// A platform admin by id.
    async fn get_platform_admin(&self, id: PlatformAdminId) -> Result<Option<PlatformAdmin>>;
    /// A platform admin by login email.
    async fn find_platform_admin_by_email(&self, email: &Email) -> Result<Option<PlatformAdmin>>;

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

    /// Audit entries matching `query`, newest first.
    async fn list_audit(&self, tenant: TenantId, query: &AuditQuery) -> Result<Vec<AuditEntry>>;
    /// Appends audit entries and global matches that accompany no other change (views,
    /// refusals), atomically.
    async fn record(&self, audit: &[AuditEntry], matches: &[GlobalMatch]) -> Result<()>;
    /// Every tenant with an audit log or a chain head: how many entries its chain should hold,
    /// the last hash, and how many entries stand outside the chain.
    async fn audit_heads(&self) -> Result<Vec<AuditHead>>;
    /// A tenant's audit entries in chain order, from `after_seq + 1`, at most `limit`.
    async fn audit_chain(&self, tenant: TenantId, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>>;

    /// Stores a new import job with its audit entry, atomically.
    async fn insert_import_job(&self, job: &ImportJob, audit: &AuditEntry) -> Result<()>;
    /// Stores piece number `chunk` of a job's file.
    async fn add_import_chunk(&self, tenant: TenantId, job: Uuid, chunk: i64, bytes: &[u8]) -> Result<()>;
    /// Piece number `chunk` of a job's file, if there is one.
    async fn import_file_chunk(&self, tenant: TenantId, job: Uuid, chunk: i64) -> Result<Option<Vec<u8>>>;
    /// Saves a job's status and progress; with a lease, only while that worker holds the job,
    /// renewing its lease. False when another worker took it over.
    async fn save_import_job(&self, job: &ImportJob, lease: Option<&ImportLease>) -> Result<bool>;
    /// Renews a worker's lease on a job; false when another worker took it over (or it ended).
    async fn renew_import_lease(&self, tenant: TenantId, job: Uuid, lease: &ImportLease) -> Result<bool>;
    /// Writes one batch of a job and its progress, atomically, if the batch's worker still
    /// holds the job; false (and nothing written) when it does not. `409 version_conflict` or
    /// `409 duplicate_external_ref` (nothing written) when another writer changed a customer or
    /// took an external_ref since the batch was made.
    async fn commit_import_batch(&self, batch: &ImportBatch) -> Result<bool>;
    /// Saves a job that has ended (succeeded or failed) with its audit entries and drops its
    /// file, atomically; with a lease, only while that worker holds the job (false otherwise).
    async fn end_import_job(&self, job: &ImportJob, lease: Option<&ImportLease>, audit: &[AuditEntry]) -> Result<bool>;
    /// A job by id.
    async fn get_import_job(&self, tenant: TenantId, id: Uuid) -> Result<Option<ImportJob>>;
    /// A tenant's jobs, newest first, after `after`.
    async fn list_import_jobs(&self, tenant: TenantId, after: Option<Uuid>, limit: u32) -> Result<Vec<ImportJob>>;
    /// Leases the oldest queued job (or only job `only`), or a running one whose lease ran out,
    /// to `lease.worker`, counting the attempt (and, if the job's progress has not moved since
    /// it was last claimed, the attempt without progress).
    async fn claim_import_job(
        &self,
        lease: &ImportLease,
        now: Timestamp,
        only: Option<(TenantId, Uuid)>,
    ) -> Result<Option<ImportJob>>;
    /// Fails the jobs whose upload began before `before` and never completed (the request
    /// died), dropping what arrived of their files; how many.
    async fn abandon_stale_uploads(&self, before: Timestamp, now: Timestamp) -> Result<u64>;
    /// Records a job file's header row.
    async fn set_import_headers(&self, tenant: TenantId, job: Uuid, headers: &[String]) -> Result<()>;
    /// A job file's header row.
    async fn import_headers(&self, tenant: TenantId, job: Uuid) -> Result<Vec<String>>;
    /// Refused rows after row `after_row`, in row order.
    async fn import_errors(
        &self,
        tenant: TenantId,
        job: Uuid,
        after_row: i64,
        limit: u32,
    ) -> Result<Vec<ImportRowError>>;
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

    /// Stores a new document with its audit entry, atomically.
    async fn insert_document(&self, document: &Document, audit: &AuditEntry) -> Result<()>;
    /// A document by id, deleted or not.
    async fn get_document(&self, tenant: TenantId, id: Uuid) -> Result<Option<Document>>;
    /// A customer's documents, newest first.
    async fn list_documents(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        include_deleted: bool,
    ) -> Result<Vec<Document>>;
    /// Replaces a document's metadata and deletion if still at `expected_version`
    /// (`409 version_conflict` otherwise), with its audit entry, atomically.
    async fn update_document(&self, document: &Document, expected_version: i64, audit: &AuditEntry) -> Result<()>;
    /// The kind and expiry of every live document of these customers.
    async fn documents_held(
        &self,
        tenant: TenantId,
        customers: &[CustomerId],
    ) -> Result<Vec<(CustomerId, DocumentKind, Option<time::Date>)>>;
    /// Documents of any tenant whose file key is wrapped by another key than `key_id`, in
    /// (tenant, id) order after `after`, at most `limit` (master-key rotation).
    async fn documents_to_rewrap(
        &self,
        key_id: &str,
        after: Option<(TenantId, Uuid)>,
        limit: u32,
    ) -> Result<Vec<Document>>;
    /// Replaces a document's wrapped file key, if it is still wrapped by `old_key_id`.
    async fn set_document_key(&self, document: &Document, old_key_id: &str, sealed: &SealedFile) -> Result<bool>;

    /// A customer's blacklist entries, newest first.
    async fn blacklist_history(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<BlacklistEntry>>;
    /// Active, unexpired global entries with any of `hashes` made under `key_id`, except the one
    /// made from `except` (a customer's own flag).
    async fn find_global_matches(
        &self,
        hashes: &[[u8; 32]],
        key_id: &str,
        now: Timestamp,
        except: (TenantId, CustomerId),
    ) -> Result<Vec<Uuid>>;
    /// Global entries, newest first.
    async fn list_global_entries(&self, query: &GlobalQuery) -> Result<Vec<GlobalEntry>>;
    /// One global entry.
    async fn get_global_entry(&self, id: Uuid) -> Result<Option<GlobalEntry>>;
    /// Replaces the pseudonyms of global entries (key rotation), atomically.
    async fn replace_pseudonyms(&self, updates: &[(Uuid, String, Vec<Pseudonym>)]) -> Result<()>;

    /// Stores a new order with its audit entries and global matches, atomically.
    async fn insert_order(&self, order: &Order, audit: &[AuditEntry], matches: &[GlobalMatch]) -> Result<()>;
    /// An order by id.
    async fn get_order(&self, tenant: TenantId, id: Uuid) -> Result<Option<Order>>;
    /// Replaces an order if still at `expected_version` (`409 version_conflict` otherwise).
    async fn update_order(
        &self,
        order: &Order,
        expected_version: i64,
        audit: &[AuditEntry],
        matches: &[GlobalMatch],
    ) -> Result<()>;
    /// A customer's orders (as renter or second driver), newest first.
    async fn list_customer_orders(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Order>>;
    /// The customers matching `terms` at `tier` and the filters of `query`, newest first, after
    /// the search rowid `after`, at most `query.limit`: their search rowids and texts. With
    /// `exclusive`, only those matching no better tier; without, every match at `tier` or better.
    async fn search_matches(
        &self,
        tenant: TenantId,
        terms: &crate::search::terms::SearchTerms,
        tier: crate::search::terms::Tier,
        exclusive: bool,
        query: &CustomerQuery,
        after: Option<i64>,
    ) -> Result<Vec<SearchMatch>>;
    /// The customers with these search rowids, in the order given.
    async fn customers_by_search_rowid(&self, tenant: TenantId, rowids: &[i64]) -> Result<Vec<Customer>>;
    /// Words of the tenant's search vocabulary that have any of `variants` in their deletion
    /// neighbourhood (typo candidates).
    async fn search_vocabulary(&self, tenant: TenantId, variants: &[String]) -> Result<Vec<String>>;
    /// Whether `customer` is the renter or second driver of a confirmed or active order
    /// assigned to `driver`.
    async fn is_assigned_to_driver(&self, tenant: TenantId, driver: UserId, customer: CustomerId) -> Result<bool>;
}
