//! Customers as readers see them: the record with its badges and documents status, the contact
//! fields drivers get, and the warnings of a write.

use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::access::CustomerScope;
use crate::blacklist::record::BlacklistBadge;
use crate::customers::notes::Note;
use crate::customers::record::{Address, Customer};
use crate::documents::requirements::DocumentsStatus;
use crate::ids::CustomerId;
use crate::paging::Page;
use crate::values::{Email, LanguageTag, PersonName, PhoneE164};

/// A customer as the API shows it: the record plus its badges.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerView {
    /// The record.
    #[serde(flatten)]
    pub customer: Customer,
    /// Blacklist badge.
    pub blacklist: BlacklistBadge,
    /// True when the customer is soft-deleted.
    pub deleted: bool,
    /// Whether the customer holds every document the tenant requires (absent for partner users,
    /// who see no documents).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documents: Option<DocumentsStatus>,
}

impl CustomerView {
    /// The view of `customer`, whose documents status is `documents`.
    pub fn new(customer: Customer, documents: DocumentsStatus) -> Self {
        Self {
            deleted: customer.deleted_at.is_some(),
            blacklist: BlacklistBadge { status: customer.blacklist_status() },
            documents: Some(documents),
            customer,
        }
    }
}

/// What a driver may see of a customer on an order assigned to them: contact fields only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerContact {
    /// The customer's id.
    pub id: CustomerId,
    /// First name.
    pub first_name: Option<PersonName>,
    /// Last name.
    pub last_name: Option<PersonName>,
    /// Company name (partners).
    pub company_name: Option<String>,
    /// Phone in E.164 form.
    pub phone: Option<PhoneE164>,
    /// A second phone, in E.164 form.
    pub secondary_phone: Option<PhoneE164>,
    /// Email.
    pub email: Option<Email>,
    /// Postal address.
    pub address: Option<Address>,
    /// Language for communications.
    pub language: Option<LanguageTag>,
}

impl From<Customer> for CustomerContact {
    fn from(c: Customer) -> Self {
        let d = c.data;
        Self {
            id: c.id,
            first_name: d.first_name,
            last_name: d.last_name,
            company_name: d.company_name,
            phone: d.phone,
            secondary_phone: d.secondary_phone,
            email: d.email,
            address: d.address,
            language: d.language,
        }
    }
}

/// The answer to a create or update: the record and any warnings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SavedCustomer {
    /// The record as stored.
    #[serde(flatten)]
    pub view: CustomerView,
    /// Things the operator should know; never a reason the save failed.
    pub warnings: Vec<Warning>,
}

/// The answer to `GET /customers/{id}`: the record and its notes, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerDetail {
    /// The record.
    #[serde(flatten)]
    pub view: CustomerView,
    /// The notes timeline, newest first.
    pub notes: Vec<Note>,
}

/// Stable warning codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    /// Other customers of the tenant have the same email.
    DuplicateEmail,
    /// The person matches the global blacklist: not recommended. Nothing more is revealed.
    GloballyBlacklisted,
}

/// A warning on a successful write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Warning {
    /// Stable code.
    pub code: WarningCode,
    /// Human-readable explanation.
    pub message: String,
    /// The other customers concerned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub customer_ids: Vec<CustomerId>,
}

/// A customer as the reader may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // a response value, built once and serialized at once
pub enum CustomerRead {
    /// Admins, operators and partners: the record, badges and notes.
    Full(CustomerDetail),
    /// Drivers: contact fields only.
    Contact(CustomerContact),
}

/// A page of customers as the reader may see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CustomerPage {
    /// Admins, operators and partners.
    Full(Page<CustomerView>),
    /// Drivers: contact fields only.
    Contacts(Page<CustomerContact>),
}

/// A view as the grant may see it: partner users see no documents, not even their status.
pub(crate) fn scoped(mut view: CustomerView, scope: CustomerScope) -> CustomerView {
    if let CustomerScope::Partner(_) = scope {
        view.documents = None;
    }
    view
}
