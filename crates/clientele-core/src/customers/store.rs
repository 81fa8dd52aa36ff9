//! What the store keeps of customers and their notes.

use uuid::Uuid;

use crate::accounts::access::CustomerScope;
use crate::audit::entry::AuditEntry;
use crate::blacklist::record::{BlacklistChange, GlobalMatch};
use crate::customers::record::CustomerKind;
use crate::documents::requirements::DocumentsFilter;
use crate::ids::{CustomerId, NoteId, TenantId};
use crate::time::Timestamp;

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
