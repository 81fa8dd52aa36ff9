//! Blacklists: a tenant's own list, and the platform-wide list built to the Italian
//! data-protection authority's conditions for a shared renters' list.
//!
//! A tenant entry is an ordinary record of the tenant: reason code, free-text note, who and when.
//! A global entry holds no readable identity and no free text: only keyed pseudonyms
//! (HMAC-SHA-256 under a key that lives in configuration, never in the database) of the person's
//! normalised identity and document numbers, the contractual reason code, the flagging tenant and
//! customer, and its creation and expiry dates. Without the key the pseudonyms cannot be tested
//! against guesses, which is what makes plain hashes of names and birth dates reversible.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customer::CustomerData;
use crate::error::{Error, Result};
use crate::ids::{CustomerId, TenantId};
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
    pub id: Uuid,
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
    pub global_entry_id: Option<Uuid>,
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
    pub id: Uuid,
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

/// The key that makes pseudonyms. `Debug` does not print it.
#[derive(Clone)]
pub struct PseudonymKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PseudonymKey").field("id", &self.id()).finish_non_exhaustive()
    }
}

impl PseudonymKey {
    /// Shortest key accepted, in bytes.
    pub const MIN_BYTES: usize = 32;

    /// A key from configuration.
    pub fn new(key: &[u8]) -> Result<Self> {
        if key.len() < Self::MIN_BYTES {
            return Err(Error::internal(format!("the blacklist key must be at least {} bytes", Self::MIN_BYTES)));
        }
        Ok(Self { key: key.to_vec() })
    }

    fn mac(&self, domain: &str, value: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A short public fingerprint of the key (not the key, and not usable to make pseudonyms), kept
    /// with each entry so that entries made under another key are recognised.
    pub fn id(&self) -> String {
        let digest = self.mac("clientele/key-id/v1", "");
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The pseudonyms of what is known of a person: the identity (with first name, last name and
    /// birth date) and the document and licence numbers.
    pub fn pseudonyms(&self, data: &CustomerData) -> Vec<Pseudonym> {
        let mut out = Vec::new();
        if let Some(identity) = normalized_identity(data) {
            out.push(Pseudonym { kind: PseudonymKind::Identity, hash: self.mac("clientele/identity/v1", &identity) });
        }
        let documents = [
            (PseudonymKind::Document, data.id_document.as_ref().map(|d| d.number.as_str())),
            (PseudonymKind::License, data.driver_license.as_ref().map(|l| l.number.as_str())),
        ];
        for (kind, number) in documents {
            if let Some(number) = number.map(normalized_number).filter(|n| n.len() >= 4) {
                // One domain for every document kind: a passport number noted as a licence still matches.
                out.push(Pseudonym { kind, hash: self.mac("clientele/document/v1", &number) });
            }
        }
        out
    }
}

/// `first|last|YYYY-MM-DD`, case- and accent-folded, without whitespace or punctuation.
pub fn normalized_identity(data: &CustomerData) -> Option<String> {
    let first = compact(data.first_name.as_ref()?.as_str());
    let last = compact(data.last_name.as_ref()?.as_str());
    let birth = data.birth_date?;
    if first.is_empty() || last.is_empty() {
        return None;
    }
    Some(format!("{first}|{last}|{birth}"))
}

fn compact(name: &str) -> String {
    crate::search::fold(name).chars().filter(char::is_ascii_alphanumeric).collect()
}

/// A document number: upper-case letters and digits only.
pub fn normalized_number(number: &str) -> String {
    number.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{CustomerInput, Rules};
    use crate::values::PhoneRegion;

    fn data(json: serde_json::Value) -> CustomerData {
        let rules =
            Rules { phone_region: PhoneRegion::parse("IT").unwrap(), today: time::macros::date!(2026 - 11 - 24) };
        serde_json::from_value::<CustomerInput>(json).unwrap().validate(&rules).unwrap()
    }

    fn key(byte: u8) -> PseudonymKey {
        PseudonymKey::new(&[byte; 32]).unwrap()
    }

    #[test]
    fn identities_match_across_case_accents_spaces_and_punctuation() {
        let a = data(serde_json::json!({"first_name": "Nicolò", "last_name": "De Rossi", "birth_date": "1980-02-29"}));
        let b = data(serde_json::json!({"first_name": "NICOLO", "last_name": "de-rossi", "birth_date": "1980-02-29"}));
        let c = data(serde_json::json!({"first_name": "Nicola", "last_name": "De Rossi", "birth_date": "1980-02-29"}));
        assert_eq!(normalized_identity(&a).unwrap(), "nicolo|derossi|1980-02-29");
        assert_eq!(key(1).pseudonyms(&a)[0], key(1).pseudonyms(&b)[0]);
        assert_ne!(key(1).pseudonyms(&a)[0], key(1).pseudonyms(&c)[0]);
    }

    #[test]
    fn pseudonyms_depend_on_the_key_and_identity_needs_a_birth_date() {
        let a = data(serde_json::json!({"first_name": "Ana", "last_name": "Žáková", "birth_date": "1990-01-01",
            "id_document": {"type": "passport", "number": "ya 123 456"}}));
        let with_one = key(1).pseudonyms(&a);
        assert_eq!(with_one.len(), 2);
        assert_ne!(with_one, key(2).pseudonyms(&a));
        assert_ne!(key(1).id(), key(2).id());
        let no_birth = data(serde_json::json!({"first_name": "Ana", "last_name": "Žáková",
            "id_document": {"type": "passport", "number": "YA123456"}}));
        let only_document = key(1).pseudonyms(&no_birth);
        assert_eq!(only_document.len(), 1);
        assert_eq!(only_document[0].kind, PseudonymKind::Document);
        assert_eq!(only_document[0].hash, with_one[1].hash, "the document matches without the identity");
    }

    #[test]
    fn only_contractual_codes_go_global() {
        let global: Vec<_> = ReasonCode::ALL.into_iter().filter(|c| c.allowed_globally()).collect();
        assert_eq!(
            global,
            [
                ReasonCode::UnpaidBalance,
                ReasonCode::VehicleNotReturned,
                ReasonCode::UnpaidDamage,
                ReasonCode::Chargeback
            ]
        );
    }
}
