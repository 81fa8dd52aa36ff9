//! Blacklist records: reason codes, a customer's entries and badge, the platform's global entries
//! and what is written with them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ids::{BlacklistEntryId, CustomerId, GlobalEntryId, TenantId};
use crate::time::Timestamp;

/// Why a customer is blacklisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Left a balance unpaid (both scopes).
    UnpaidBalance,
    /// Did not return the vehicle (both scopes).
    VehicleNotReturned,
    /// Did not pay for damage (both scopes).
    UnpaidDamage,
    /// Charged back a payment (both scopes).
    Chargeback,
    /// Misconduct (tenant scope only).
    Misconduct,
    /// Any other reason (tenant scope only).
    Other,
}

impl ReasonCode {
    /// Every code.
    pub const ALL: [ReasonCode; 6] = [
        Self::UnpaidBalance,
        Self::VehicleNotReturned,
        Self::UnpaidDamage,
        Self::Chargeback,
        Self::Misconduct,
        Self::Other,
    ];

    /// The code as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnpaidBalance => "unpaid_balance",
            Self::VehicleNotReturned => "vehicle_not_returned",
            Self::UnpaidDamage => "unpaid_damage",
            Self::Chargeback => "chargeback",
            Self::Misconduct => "misconduct",
            Self::Other => "other",
        }
    }

    /// Parses a stored or sent code.
    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == input)
    }

    /// Whether the code is a contractual fact that may go on the global list.
    pub fn allowed_globally(self) -> bool {
        matches!(self, Self::UnpaidBalance | Self::VehicleNotReturned | Self::UnpaidDamage | Self::Chargeback)
    }
}

/// Where an entry applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Only within the flagging tenant.
    Tenant,
    /// Also as an anonymous warning to every tenant of the platform.
    Global,
}

impl Scope {
    /// The scope as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::Global => "global",
        }
    }

    /// Parses a stored scope.
    pub fn parse(input: &str) -> Option<Self> {
        match input {
            "tenant" => Some(Self::Tenant),
            "global" => Some(Self::Global),
            _ => None,
        }
    }
}

/// The blacklist badge shown on every customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BlacklistStatus {
    /// Not blacklisted.
    None,
    /// On this tenant's own blacklist.
    Tenant,
    /// On the global list: flagged globally by this tenant, or matched at the last check.
    Global,
}

/// `{"status": "none" | "tenant" | "global"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct BlacklistBadge {
    /// The status.
    pub status: BlacklistStatus,
}

/// One entry of a tenant's blacklist history: added, and possibly lifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BlacklistEntry {
    /// The entry's id.
    pub id: BlacklistEntryId,
    /// The tenant.
    #[serde(skip)]
    pub tenant_id: TenantId,
    /// The blacklisted customer.
    pub customer_id: CustomerId,
    /// Tenant or global.
    pub scope: Scope,
    /// Why.
    pub reason_code: ReasonCode,
    /// The tenant's own note; never leaves the tenant.
    pub note: Option<String>,
    /// When it was added.
    pub created_at: Timestamp,
    /// Who added it (absent for command-line actors).
    pub created_by: Option<Uuid>,
    /// When it was lifted.
    pub lifted_at: Option<Timestamp>,
    /// Who lifted it (a tenant admin, or a platform admin for global entries).
    pub lifted_by: Option<Uuid>,
    /// Why it was lifted.
    pub lift_note: Option<String>,
    /// The global entry created with it (global scope only).
    #[serde(skip)]
    pub global_entry_id: Option<GlobalEntryId>,
}

impl BlacklistEntry {
    /// Whether the entry is in force.
    pub fn is_active(&self) -> bool {
        self.lifted_at.is_none()
    }
}

/// What kind of value a pseudonym stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PseudonymKind {
    /// First name, last name and birth date.
    Identity,
    /// An identity document number.
    Document,
    /// A driving licence number.
    License,
}

impl PseudonymKind {
    /// The kind as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Document => "document",
            Self::License => "license",
        }
    }
}

/// A keyed pseudonym of one normalised value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pseudonym {
    /// What it stands for.
    pub kind: PseudonymKind,
    /// HMAC-SHA-256 of the normalised value.
    pub hash: [u8; 32],
}

/// A platform-wide entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalEntry {
    /// The entry's id.
    pub id: GlobalEntryId,
    /// Keyed pseudonyms of the person (identity always; documents when known).
    pub pseudonyms: Vec<Pseudonym>,
    /// Why (a contractual code).
    pub reason_code: ReasonCode,
    /// The tenant that flagged the person.
    pub flagging_tenant_id: TenantId,
    /// The flagging tenant's customer record.
    pub flagging_customer_id: CustomerId,
    /// Fingerprint of the key the pseudonyms were made with.
    pub key_id: String,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it stops matching.
    pub expires_at: Timestamp,
    /// When it was lifted.
    pub lifted_at: Option<Timestamp>,
}

/// A global-blacklist entry that matched a customer at a check (kept for platform admins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalMatch {
    /// The entry that matched.
    pub entry_id: GlobalEntryId,
    /// The tenant that ran the check.
    pub tenant_id: TenantId,
    /// The customer checked.
    pub customer_id: CustomerId,
    /// Where: `customer_created`, `customer_updated`, `order_created`, `order_activated`,
    /// `order_updated` (a new second driver), `order_approved`.
    pub context: &'static str,
    /// When.
    pub matched_at: Timestamp,
}

/// A change to a customer's blacklist entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlacklistChange {
    /// A new entry, and for global scope the platform-wide entry made with it.
    Add {
        /// The tenant's entry.
        entry: BlacklistEntry,
        /// The global entry (global scope only).
        global: Option<Box<GlobalEntry>>,
    },
    /// Lifts an entry, and the global entry made with it.
    Lift {
        /// The tenant's entry (absent when only a global entry is lifted).
        entry_id: Option<BlacklistEntryId>,
        /// When.
        at: Timestamp,
        /// By whom.
        by: Option<Uuid>,
        /// Why.
        note: Option<String>,
        /// The global entry to lift with it.
        global_entry_id: Option<GlobalEntryId>,
    },
}
