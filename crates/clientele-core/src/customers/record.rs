//! The customer record: kinds, the written fields, and the stored customer with its badges.

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::blacklist::record::{BlacklistStatus, Scope};
use crate::ids::{CustomerId, TenantId};
use crate::time::Timestamp;
use crate::values::{CountryCode, Email, LanguageTag, PersonName, PhoneE164, PhoneStatus};

/// What kind of customer a record is. One create endpoint and one form serve all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    /// An individual renter.
    Client,
    /// A company or agency with clients of its own.
    Partner,
    /// A driver or courier.
    Staff,
}

impl CustomerKind {
    /// The kind as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Partner => "partner",
            Self::Staff => "staff",
        }
    }

    /// Parses a stored or queried kind.
    pub fn parse(input: &str) -> Option<Self> {
        match input {
            "client" => Some(Self::Client),
            "partner" => Some(Self::Partner),
            "staff" => Some(Self::Staff),
            _ => None,
        }
    }
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Address {
    /// Street and number.
    pub line1: Option<String>,
    /// Apartment, floor, c/o.
    pub line2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Region, state or province.
    pub region: Option<String>,
    /// Country (ISO 3166-1 alpha-2).
    pub country: Option<CountryCode>,
    /// The nine-digit Ca.R.G.O.S. place code of the residence: its comune, or the state abroad.
    pub place_code: Option<String>,
}

/// Where a person was born.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct BirthPlace {
    /// City.
    pub city: Option<String>,
    /// Country (ISO 3166-1 alpha-2).
    pub country: Option<CountryCode>,
    /// The nine-digit Ca.R.G.O.S. place code, when known.
    pub code: Option<String>,
}

/// A driving licence. Number, issue and expiry dates always go together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DriverLicense {
    /// Licence number.
    pub number: String,
    /// Issuing country (ISO 3166-1 alpha-2).
    pub country: Option<CountryCode>,
    /// Issuing authority or place.
    pub issuing_place: Option<String>,
    /// The nine-digit Ca.R.G.O.S. place code of the comune (or state abroad) that issued it.
    pub issuing_place_code: Option<String>,
    /// Date of issue.
    pub issued_on: Date,
    /// Date of expiry.
    pub expires_on: Date,
}

/// Kinds of identity document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdDocumentType {
    /// Passport.
    Passport,
    /// National identity card.
    IdCard,
    /// Residence permit.
    ResidencePermit,
    /// Any other identity document.
    Other,
}

impl IdDocumentType {
    /// The type as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passport => "passport",
            Self::IdCard => "id_card",
            Self::ResidencePermit => "residence_permit",
            Self::Other => "other",
        }
    }

    /// Parses a stored type.
    pub fn parse(input: &str) -> Option<Self> {
        match input {
            "passport" => Some(Self::Passport),
            "id_card" => Some(Self::IdCard),
            "residence_permit" => Some(Self::ResidencePermit),
            "other" => Some(Self::Other),
            _ => None,
        }
    }
}

/// An identity document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IdDocument {
    /// Document type.
    #[serde(rename = "type")]
    pub doc_type: IdDocumentType,
    /// Document number.
    pub number: String,
    /// Issuing country (ISO 3166-1 alpha-2).
    pub issuing_country: Option<CountryCode>,
    /// Issuing authority or place.
    pub issuing_place: Option<String>,
    /// The nine-digit Ca.R.G.O.S. place code of the comune (or state abroad) that issued it.
    pub issuing_place_code: Option<String>,
    /// Date of expiry.
    pub expires_on: Option<Date>,
}

/// The validated fields of a customer that clients write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CustomerData {
    /// Client, partner or staff.
    pub kind: CustomerKind,
    /// Required for clients and staff.
    pub first_name: Option<PersonName>,
    /// Required for clients and staff.
    pub last_name: Option<PersonName>,
    /// Required for partners.
    pub company_name: Option<String>,
    /// VAT number.
    pub vat_number: Option<String>,
    /// Email, lower-cased.
    pub email: Option<Email>,
    /// Phone in E.164 form.
    pub phone: Option<PhoneE164>,
    /// A second phone (home, work), in E.164 form.
    pub secondary_phone: Option<PhoneE164>,
    /// Date of birth.
    pub birth_date: Option<Date>,
    /// Place of birth.
    pub birth_place: Option<BirthPlace>,
    /// Citizenship (ISO 3166-1 alpha-2).
    pub citizenship: Option<CountryCode>,
    /// The nine-digit Ca.R.G.O.S. place code of the state of citizenship (APOLIDE 100000999 for
    /// a stateless person).
    pub citizenship_code: Option<String>,
    /// Tax code (e.g. Italian codice fiscale), upper case.
    pub tax_code: Option<String>,
    /// Postal address.
    pub address: Option<Address>,
    /// Language for communications (BCP 47).
    pub language: Option<LanguageTag>,
    /// Driving licence.
    pub driver_license: Option<DriverLicense>,
    /// Identity document.
    pub id_document: Option<IdDocument>,
    /// The partner company this client came through.
    pub partner_id: Option<CustomerId>,
    /// The customer's id in another system (legacy software, marketplace); unique per tenant.
    pub external_ref: Option<String>,
}

/// A stored customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Customer {
    /// The customer's id.
    pub id: CustomerId,
    /// The tenant the customer belongs to (never shown: the caller's own tenant).
    #[serde(skip)]
    pub tenant_id: TenantId,
    /// The fields clients write.
    #[serde(flatten)]
    pub data: CustomerData,
    /// How far the phone number was checked; absent without a phone.
    pub phone_status: Option<PhoneStatus>,
    /// VIP badge; only admins change it.
    pub vip: bool,
    /// When VIP status was last set or cleared.
    pub vip_changed_at: Option<Timestamp>,
    /// Who last set or cleared VIP status.
    pub vip_changed_by: Option<Uuid>,
    /// The scope of this tenant's active blacklist entry on the customer, if any.
    #[serde(skip)]
    pub blacklist_scope: Option<Scope>,
    /// When the last global-blacklist check matched; cleared by a check that does not match.
    #[serde(skip)]
    pub global_match_at: Option<Timestamp>,
    /// When the customer was created.
    pub created_at: Timestamp,
    /// When the customer last changed.
    pub updated_at: Timestamp,
    /// The user who created the customer (absent for imports run from the command line).
    pub created_by: Option<Uuid>,
    /// When the customer was soft-deleted.
    pub deleted_at: Option<Timestamp>,
    /// Incremented on every change; send it back (`version` or `If-Match`) to update.
    pub version: i64,
}

impl Customer {
    /// The blacklist badge: `global` when this tenant flagged the customer globally or the last
    /// check matched the global list, `tenant` when only this tenant's list has them.
    pub fn blacklist_status(&self) -> BlacklistStatus {
        match (self.blacklist_scope, self.global_match_at) {
            (Some(Scope::Global), _) | (_, Some(_)) => BlacklistStatus::Global,
            (Some(Scope::Tenant), None) => BlacklistStatus::Tenant,
            (None, None) => BlacklistStatus::None,
        }
    }

    /// The name shown in lists: "First Last", or the company name for partners.
    pub fn display_name(&self) -> String {
        let data = &self.data;
        match (&data.first_name, &data.last_name, &data.company_name) {
            (_, _, Some(company)) if data.kind == CustomerKind::Partner => company.clone(),
            (Some(first), Some(last), _) => format!("{first} {last}"),
            (Some(name), None, _) | (None, Some(name), _) => name.to_string(),
            (None, None, company) => company.clone().unwrap_or_default(),
        }
    }
}
