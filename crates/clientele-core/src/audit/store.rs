//! What the store answers audit queries with.

use uuid::Uuid;

use crate::audit::entry::AuditEntry;
use crate::blacklist::record::GlobalMatch;
use crate::error::Result;
use crate::ids::{AuditId, CustomerId, TenantId};
use crate::time::Timestamp;

/// Filters and keyset position for reading the audit log, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries concerning this customer.
    pub customer_id: Option<CustomerId>,
    /// Only entries by this user or platform admin.
    pub actor_id: Option<Uuid>,
    /// Only entries of this action (`document.downloaded`, ...).
    pub action: Option<String>,
    /// Only entries at or after this instant.
    pub from: Option<Timestamp>,
    /// Only entries before this instant.
    pub before: Option<Timestamp>,
    /// Only entries of this request (or import: `import:{id}`).
    pub request_id: Option<String>,
    /// Keyset position: only entries with an id below this one.
    pub after: Option<AuditId>,
    /// At most this many.
    pub limit: u32,
}

/// Where a tenant's audit chain ends, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The number of entries in the chain (0 without a head).
    pub seq: i64,
    /// The last entry's hash, hex (absent without a head).
    pub hash: Option<String>,
    /// Entries without a place in the chain.
    pub unchained: i64,
}

/// The audit log and its chains. Part of [`crate::store::Store`]; see its documentation for what every method
/// keeps to.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// How many of the tenant's entries of `action` were written at or after `since`.
    async fn count_audit_actions(&self, tenant: TenantId, action: &str, since: Timestamp) -> Result<u64>;
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
}
