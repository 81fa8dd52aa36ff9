//! Rows as stored, and their conversion to and from domain types.
//!
//! A record has exactly the columns of its table, in the order of its `*_columns!()` list, with
//! types both backends encode the same way (uuid, text, bool, i64, dates, [`Ts`]).

use clientele_core::accounts::tenant::Tenant;
use clientele_core::accounts::user::PasswordHashString;
use clientele_core::accounts::user::PlatformAdmin;
use clientele_core::accounts::user::Role;
use clientele_core::accounts::user::User;
use clientele_core::audit::entry::AuditEntry;
use clientele_core::audit::entry::Outcome;
use clientele_core::blacklist::record::BlacklistEntry;
use clientele_core::blacklist::record::BlacklistStatus;
use clientele_core::blacklist::record::GlobalEntry;
use clientele_core::blacklist::record::ReasonCode;
use clientele_core::blacklist::record::Scope;
use clientele_core::customers::notes::Note;
use clientele_core::customers::notes::NoteAuthor;
use clientele_core::customers::record::Address;
use clientele_core::customers::record::BirthPlace;
use clientele_core::customers::record::Customer;
use clientele_core::customers::record::CustomerData;
use clientele_core::customers::record::CustomerKind;
use clientele_core::customers::record::DriverLicense;
use clientele_core::customers::record::IdDocument;
use clientele_core::customers::record::IdDocumentType;
use clientele_core::documents::requirements::RequiredDocuments;
use clientele_core::ids::AuditId;
use clientele_core::ids::CustomerId;
use clientele_core::ids::NoteId;
use clientele_core::ids::PlatformAdminId;
use clientele_core::ids::TenantId;
use clientele_core::ids::UserId;
use clientele_core::orders::record::Order;
use clientele_core::orders::record::OrderStatus;
use clientele_core::orders::record::Override;
use clientele_core::orders::record::OverrideRequest;
use clientele_core::orders::record::PaymentType;
use clientele_core::orders::record::Vehicle;
use clientele_core::orders::record::VehicleType;
use clientele_core::values::CountryCode;
use clientele_core::values::Email;
use clientele_core::values::LanguageTag;
use clientele_core::values::PersonName;
use clientele_core::values::PhoneE164;
use clientele_core::values::PhoneRegion;
use clientele_core::values::PhoneStatus;
use clientele_core::{Error, Result};
use sqlx::types::Json;
use time::Date;
use uuid::Uuid;

use crate::db::Ts;

fn corrupt(what: &str, value: &str) -> Error {
    Error::internal(format!("stored {what} is not valid: {value:?}"))
}

macro_rules! tenant_columns {
    () => {
        "id, name, country, phone_region, created_at, required_documents"
    };
}

macro_rules! user_columns {
    () => {
        "tenant_id, id, email, password_hash, role, partner_id, disabled, created_at"
    };
}

macro_rules! platform_admin_columns {
    () => {
        "id, email, password_hash, disabled, created_at"
    };
}

/// The 45 columns of `customers`, in the order of [`CustomerRecord`] and of the `$N` placeholders
/// used to write them.
macro_rules! customer_columns {
    () => {
        "tenant_id, id, kind, first_name, last_name, company_name, vat_number, email, phone, phone_status, \
         birth_date, birth_city, birth_country, birth_place_code, citizenship, tax_code, \
         address_line1, address_line2, address_city, address_postal_code, address_region, address_country, \
         language, license_number, license_country, license_issuing_place, license_issued_on, license_expires_on, \
         id_doc_type, id_doc_number, id_doc_country, id_doc_issuing_place, id_doc_expires_on, \
         vip, partner_id, external_ref, created_at, updated_at, created_by, deleted_at, version, \
         vip_changed_at, vip_changed_by, blacklist_scope, global_match_at"
    };
}

macro_rules! audit_columns {
    () => {
        "tenant_id, id, at, actor_id, actor_role, action, object_type, object_id, customer_id, outcome, reason, \
         changes, ip, user_agent, request_id, seq, hash"
    };
}

pub(crate) use {audit_columns, customer_columns, platform_admin_columns, tenant_columns, user_columns};

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TenantRecord {
    pub id: Uuid,
    pub name: String,
    pub country: String,
    pub phone_region: String,
    pub created_at: Ts,
    pub required_documents: String,
}

impl From<&Tenant> for TenantRecord {
    fn from(t: &Tenant) -> Self {
        Self {
            id: t.id.as_uuid(),
            name: t.name.clone(),
            country: t.country.as_str().to_owned(),
            phone_region: t.phone_region.as_str().to_owned(),
            created_at: t.created_at.into(),
            required_documents: t.required_documents.to_stored(),
        }
    }
}

impl TryFrom<TenantRecord> for Tenant {
    type Error = Error;
    fn try_from(r: TenantRecord) -> Result<Self> {
        Ok(Tenant {
            id: TenantId::from_uuid(r.id),
            country: CountryCode::from_stored(&r.country).ok_or_else(|| corrupt("country", &r.country))?,
            phone_region: PhoneRegion::parse(&r.phone_region).map_err(|_| corrupt("phone region", &r.phone_region))?,
            name: r.name,
            created_at: r.created_at.0,
            required_documents: RequiredDocuments::from_stored(&r.required_documents),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRecord {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub partner_id: Option<Uuid>,
    pub disabled: bool,
    pub created_at: Ts,
}

impl From<&User> for UserRecord {
    fn from(u: &User) -> Self {
        Self {
            tenant_id: u.tenant_id.as_uuid(),
            id: u.id.as_uuid(),
            email: u.email.as_str().to_owned(),
            password_hash: u.password_hash.as_str().to_owned(),
            role: u.role.as_str().to_owned(),
            partner_id: u.partner_id.map(|p| p.as_uuid()),
            disabled: u.disabled,
            created_at: u.created_at.into(),
        }
    }
}

impl TryFrom<UserRecord> for User {
    type Error = Error;
    fn try_from(r: UserRecord) -> Result<Self> {
        Ok(User {
            tenant_id: TenantId::from_uuid(r.tenant_id),
            id: UserId::from_uuid(r.id),
            role: Role::parse(&r.role).map_err(|_| corrupt("role", &r.role))?,
            email: Email::from_stored(r.email),
            partner_id: r.partner_id.map(CustomerId::from_uuid),
            password_hash: PasswordHashString::from_stored(r.password_hash),
            disabled: r.disabled,
            created_at: r.created_at.0,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PlatformAdminRecord {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: Ts,
}

impl From<&PlatformAdmin> for PlatformAdminRecord {
    fn from(a: &PlatformAdmin) -> Self {
        Self {
            id: a.id.as_uuid(),
            email: a.email.as_str().to_owned(),
            password_hash: a.password_hash.as_str().to_owned(),
            disabled: a.disabled,
            created_at: a.created_at.into(),
        }
    }
}

impl TryFrom<PlatformAdminRecord> for PlatformAdmin {
    type Error = Error;
    fn try_from(r: PlatformAdminRecord) -> Result<Self> {
        Ok(PlatformAdmin {
            id: PlatformAdminId::from_uuid(r.id),
            email: Email::from_stored(r.email),
            password_hash: PasswordHashString::from_stored(r.password_hash),
            disabled: r.disabled,
            created_at: r.created_at.0,
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CustomerRecord {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub kind: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub vat_number: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub phone_status: Option<String>,
    pub birth_date: Option<Date>,
    pub birth_city: Option<String>,
    pub birth_country: Option<String>,
    pub birth_place_code: Option<String>,
    pub citizenship: Option<String>,
    pub tax_code: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub address_city: Option<String>,
    pub address_postal_code: Option<String>,
    pub address_region: Option<String>,
    pub address_country: Option<String>,
    pub language: Option<String>,
    pub license_number: Option<String>,
    pub license_country: Option<String>,
    pub license_issuing_place: Option<String>,
    pub license_issued_on: Option<Date>,
    pub license_expires_on: Option<Date>,
    pub id_doc_type: Option<String>,
    pub id_doc_number: Option<String>,
    pub id_doc_country: Option<String>,
    pub id_doc_issuing_place: Option<String>,
    pub id_doc_expires_on: Option<Date>,
    pub vip: bool,
    pub partner_id: Option<Uuid>,
    pub external_ref: Option<String>,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub created_by: Option<Uuid>,
    pub deleted_at: Option<Ts>,
    pub version: i64,
    pub vip_changed_at: Option<Ts>,
    pub vip_changed_by: Option<Uuid>,
    pub blacklist_scope: Option<String>,
    pub global_match_at: Option<Ts>,
}

/// Binds the 45 fields of a [`CustomerRecord`] in column order.
macro_rules! bind_customer {
    ($query:expr, $r:expr) => {
        $query
            .bind($r.tenant_id)
            .bind($r.id)
            .bind(&$r.kind)
            .bind(&$r.first_name)
            .bind(&$r.last_name)
            .bind(&$r.company_name)
            .bind(&$r.vat_number)
            .bind(&$r.email)
            .bind(&$r.phone)
            .bind(&$r.phone_status)
            .bind($r.birth_date)
            .bind(&$r.birth_city)
            .bind(&$r.birth_country)
            .bind(&$r.birth_place_code)
            .bind(&$r.citizenship)
            .bind(&$r.tax_code)
            .bind(&$r.address_line1)
            .bind(&$r.address_line2)
            .bind(&$r.address_city)
            .bind(&$r.address_postal_code)
            .bind(&$r.address_region)
            .bind(&$r.address_country)
            .bind(&$r.language)
            .bind(&$r.license_number)
            .bind(&$r.license_country)
            .bind(&$r.license_issuing_place)
            .bind($r.license_issued_on)
            .bind($r.license_expires_on)
            .bind(&$r.id_doc_type)
            .bind(&$r.id_doc_number)
            .bind(&$r.id_doc_country)
            .bind(&$r.id_doc_issuing_place)
            .bind($r.id_doc_expires_on)
            .bind($r.vip)
            .bind($r.partner_id)
            .bind(&$r.external_ref)
            .bind($r.created_at)
            .bind($r.updated_at)
            .bind($r.created_by)
            .bind($r.deleted_at)
            .bind($r.version)
            .bind($r.vip_changed_at)
            .bind($r.vip_changed_by)
            .bind(&$r.blacklist_scope)
            .bind($r.global_match_at)
    };
}

pub(crate) use bind_customer;

/// Pushes the 45 fields of a [`CustomerRecord`] into a `push_values` tuple, in column order.
macro_rules! push_customer_values {
    ($b:ident, $r:expr) => {{
        $b.push_bind($r.tenant_id);
        $b.push_bind($r.id);
        $b.push_bind(&$r.kind);
        $b.push_bind(&$r.first_name);
        $b.push_bind(&$r.last_name);
        $b.push_bind(&$r.company_name);
        $b.push_bind(&$r.vat_number);
        $b.push_bind(&$r.email);
        $b.push_bind(&$r.phone);
        $b.push_bind(&$r.phone_status);
        $b.push_bind($r.birth_date);
        $b.push_bind(&$r.birth_city);
        $b.push_bind(&$r.birth_country);
        $b.push_bind(&$r.birth_place_code);
        $b.push_bind(&$r.citizenship);
        $b.push_bind(&$r.tax_code);
        $b.push_bind(&$r.address_line1);
        $b.push_bind(&$r.address_line2);
        $b.push_bind(&$r.address_city);
        $b.push_bind(&$r.address_postal_code);
        $b.push_bind(&$r.address_region);
        $b.push_bind(&$r.address_country);
        $b.push_bind(&$r.language);
        $b.push_bind(&$r.license_number);
        $b.push_bind(&$r.license_country);
        $b.push_bind(&$r.license_issuing_place);
        $b.push_bind($r.license_issued_on);
        $b.push_bind($r.license_expires_on);
        $b.push_bind(&$r.id_doc_type);
        $b.push_bind(&$r.id_doc_number);
        $b.push_bind(&$r.id_doc_country);
        $b.push_bind(&$r.id_doc_issuing_place);
        $b.push_bind($r.id_doc_expires_on);
        $b.push_bind($r.vip);
        $b.push_bind($r.partner_id);
        $b.push_bind(&$r.external_ref);
        $b.push_bind($r.created_at);
        $b.push_bind($r.updated_at);
        $b.push_bind($r.created_by);
        $b.push_bind($r.deleted_at);
        $b.push_bind($r.version);
        $b.push_bind($r.vip_changed_at);
        $b.push_bind($r.vip_changed_by);
        $b.push_bind(&$r.blacklist_scope);
        $b.push_bind($r.global_match_at);
    }};
}

pub(crate) use push_customer_values;

fn text<T: ToString>(value: &Option<T>) -> Option<String> {
    value.as_ref().map(ToString::to_string)
}

impl From<&Customer> for CustomerRecord {
    fn from(c: &Customer) -> Self {
        let d = &c.data;
        let address = d.address.clone().unwrap_or_default();
        let birth = d.birth_place.clone().unwrap_or_default();
        let license = d.driver_license.as_ref();
        let id_doc = d.id_document.as_ref();
        Self {
            tenant_id: c.tenant_id.as_uuid(),
            id: c.id.as_uuid(),
            kind: d.kind.as_str().to_owned(),
            first_name: text(&d.first_name),
            last_name: text(&d.last_name),
            company_name: d.company_name.clone(),
            vat_number: d.vat_number.clone(),
            email: text(&d.email),
            phone: text(&d.phone),
            phone_status: c.phone_status.map(|s| s.as_str().to_owned()),
            birth_date: d.birth_date,
            birth_city: birth.city,
            birth_country: text(&birth.country),
            birth_place_code: birth.code,
            citizenship: text(&d.citizenship),
            tax_code: d.tax_code.clone(),
            address_line1: address.line1,
            address_line2: address.line2,
            address_city: address.city,
            address_postal_code: address.postal_code,
            address_region: address.region,
            address_country: text(&address.country),
            language: text(&d.language),
            license_number: license.map(|l| l.number.clone()),
            license_country: license.and_then(|l| text(&l.country)),
            license_issuing_place: license.and_then(|l| l.issuing_place.clone()),
            license_issued_on: license.map(|l| l.issued_on),
            license_expires_on: license.map(|l| l.expires_on),
            id_doc_type: id_doc.map(|i| i.doc_type.as_str().to_owned()),
            id_doc_number: id_doc.map(|i| i.number.clone()),
            id_doc_country: id_doc.and_then(|i| text(&i.issuing_country)),
            id_doc_issuing_place: id_doc.and_then(|i| i.issuing_place.clone()),
            id_doc_expires_on: id_doc.and_then(|i| i.expires_on),
            vip: c.vip,
            partner_id: d.partner_id.map(|p| p.as_uuid()),
            external_ref: d.external_ref.clone(),
            created_at: c.created_at.into(),
            updated_at: c.updated_at.into(),
            created_by: c.created_by,
            deleted_at: c.deleted_at.map(Ts),
            version: c.version,
            vip_changed_at: c.vip_changed_at.map(Ts),
            vip_changed_by: c.vip_changed_by,
            blacklist_scope: c.blacklist_scope.map(|s| s.as_str().to_owned()),
            global_match_at: c.global_match_at.map(Ts),
        }
    }
}

fn country(value: Option<String>) -> Option<CountryCode> {
    value.as_deref().and_then(CountryCode::from_stored)
}

impl TryFrom<CustomerRecord> for Customer {
    type Error = Error;
    fn try_from(r: CustomerRecord) -> Result<Self> {
        let kind = CustomerKind::parse(&r.kind).ok_or_else(|| corrupt("customer kind", &r.kind))?;
        let address = Address {
            line1: r.address_line1,
            line2: r.address_line2,
            city: r.address_city,
            postal_code: r.address_postal_code,
            region: r.address_region,
            country: country(r.address_country),
        };
        let birth_place =
            BirthPlace { city: r.birth_city, country: country(r.birth_country), code: r.birth_place_code };
        let driver_license = match (r.license_number, r.license_issued_on, r.license_expires_on) {
            (Some(number), Some(issued_on), Some(expires_on)) => Some(DriverLicense {
                number,
                country: country(r.license_country),
                issuing_place: r.license_issuing_place,
                issued_on,
                expires_on,
            }),
            _ => None,
        };
        let id_document = match (r.id_doc_type.as_deref().and_then(IdDocumentType::parse), r.id_doc_number) {
            (Some(doc_type), Some(number)) => Some(IdDocument {
                doc_type,
                number,
                issuing_country: country(r.id_doc_country),
                issuing_place: r.id_doc_issuing_place,
                expires_on: r.id_doc_expires_on,
            }),
            _ => None,
        };
        Ok(Customer {
            id: CustomerId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            data: CustomerData {
                kind,
                first_name: r.first_name.map(PersonName::from_stored),
                last_name: r.last_name.map(PersonName::from_stored),
                company_name: r.company_name,
                vat_number: r.vat_number,
                email: r.email.map(Email::from_stored),
                phone: r.phone.map(PhoneE164::from_stored),
                birth_date: r.birth_date,
                birth_place: (birth_place != BirthPlace::default()).then_some(birth_place),
                citizenship: country(r.citizenship),
                tax_code: r.tax_code,
                address: (address != Address::default()).then_some(address),
                language: r.language.map(LanguageTag::from_stored),
                driver_license,
                id_document,
                partner_id: r.partner_id.map(CustomerId::from_uuid),
                external_ref: r.external_ref,
            },
            phone_status: r.phone_status.as_deref().and_then(PhoneStatus::parse),
            vip: r.vip,
            vip_changed_at: r.vip_changed_at.map(|t| t.0),
            vip_changed_by: r.vip_changed_by,
            blacklist_scope: r.blacklist_scope.as_deref().and_then(Scope::parse),
            global_match_at: r.global_match_at.map(|t| t.0),
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
            created_by: r.created_by,
            deleted_at: r.deleted_at.map(|t| t.0),
            version: r.version,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct NoteRecord {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub author_id: Option<Uuid>,
    pub author_email: Option<String>,
    pub body: String,
    pub created_at: Ts,
}

impl From<NoteRecord> for Note {
    fn from(r: NoteRecord) -> Self {
        Note {
            id: NoteId::from_uuid(r.id),
            customer_id: CustomerId::from_uuid(r.customer_id),
            body: r.body,
            author: NoteAuthor { id: r.author_id, email: r.author_email },
            created_at: r.created_at.0,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuditRecord {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub at: Ts,
    pub actor_id: Option<Uuid>,
    pub actor_role: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub outcome: String,
    pub reason: Option<String>,
    pub changes: Option<Json<serde_json::Value>>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub seq: Option<i64>,
    pub hash: Option<String>,
}

impl From<&AuditEntry> for AuditRecord {
    fn from(e: &AuditEntry) -> Self {
        Self {
            tenant_id: e.tenant_id.as_uuid(),
            id: e.id.as_uuid(),
            at: e.at.into(),
            actor_id: e.actor_id,
            actor_role: e.actor_role.clone(),
            action: e.action.clone(),
            object_type: e.object_type.clone(),
            object_id: e.object_id,
            customer_id: e.customer_id.map(|c| c.as_uuid()),
            outcome: e.outcome.as_str().to_owned(),
            reason: e.reason.clone(),
            changes: e.changes.clone().map(Json),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            request_id: e.request_id.clone(),
            seq: Some(e.seq),
            hash: e.hash.clone(),
        }
    }
}

impl TryFrom<AuditRecord> for AuditEntry {
    type Error = Error;
    fn try_from(r: AuditRecord) -> Result<Self> {
        let outcome = match r.outcome.as_str() {
            "allowed" => Outcome::Allowed,
            "denied" => Outcome::Denied,
            other => return Err(corrupt("audit outcome", other)),
        };
        Ok(AuditEntry {
            seq: r.seq.unwrap_or(0),
            hash: r.hash,
            id: AuditId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            at: r.at.0,
            actor_id: r.actor_id,
            actor_role: r.actor_role,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            customer_id: r.customer_id.map(CustomerId::from_uuid),
            outcome,
            reason: r.reason,
            changes: r.changes.map(|j| j.0),
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
        })
    }
}

/// Binds the 15 fields of an [`AuditRecord`] in column order.
macro_rules! blacklist_entry_columns {
    () => {
        "tenant_id, id, customer_id, scope, reason_code, note, created_at, created_by, lifted_at, lifted_by, \
         lift_note, global_entry_id"
    };
}

macro_rules! global_entry_columns {
    () => {
        "id, reason_code, flagging_tenant_id, flagging_customer_id, key_id, created_at, expires_at, lifted_at"
    };
}

/// The 26 columns of `orders`, in the order of [`OrderRecord`].
macro_rules! order_columns {
    () => {
        "tenant_id, id, customer_id, second_driver_id, driver_id, pickup_at, pickup_place, return_at, return_place, \
         vehicle_plate, vehicle_make, vehicle_model, vehicle_type, vehicle_colour, payment_type, status, \
         blacklist_at_creation, override_reason, override_by, override_at, override_requested_by, \
         override_requested_at, created_by, created_at, updated_at, version"
    };
}

pub(crate) use {blacklist_entry_columns, global_entry_columns, order_columns};

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BlacklistEntryRecord {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub customer_id: Uuid,
    pub scope: String,
    pub reason_code: String,
    pub note: Option<String>,
    pub created_at: Ts,
    pub created_by: Option<Uuid>,
    pub lifted_at: Option<Ts>,
    pub lifted_by: Option<Uuid>,
    pub lift_note: Option<String>,
    pub global_entry_id: Option<Uuid>,
}

impl TryFrom<BlacklistEntryRecord> for BlacklistEntry {
    type Error = Error;
    fn try_from(r: BlacklistEntryRecord) -> Result<Self> {
        Ok(BlacklistEntry {
            id: r.id,
            tenant_id: TenantId::from_uuid(r.tenant_id),
            customer_id: CustomerId::from_uuid(r.customer_id),
            scope: Scope::parse(&r.scope).ok_or_else(|| corrupt("blacklist scope", &r.scope))?,
            reason_code: ReasonCode::parse(&r.reason_code).ok_or_else(|| corrupt("reason code", &r.reason_code))?,
            note: r.note,
            created_at: r.created_at.0,
            created_by: r.created_by,
            lifted_at: r.lifted_at.map(|t| t.0),
            lifted_by: r.lifted_by,
            lift_note: r.lift_note,
            global_entry_id: r.global_entry_id,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct GlobalEntryRecord {
    pub id: Uuid,
    pub reason_code: String,
    pub flagging_tenant_id: Uuid,
    pub flagging_customer_id: Uuid,
    pub key_id: String,
    pub created_at: Ts,
    pub expires_at: Ts,
    pub lifted_at: Option<Ts>,
}

impl TryFrom<GlobalEntryRecord> for GlobalEntry {
    type Error = Error;
    fn try_from(r: GlobalEntryRecord) -> Result<Self> {
        Ok(GlobalEntry {
            id: r.id,
            // Pseudonyms are only ever compared in SQL; they are not read back.
            pseudonyms: Vec::new(),
            reason_code: ReasonCode::parse(&r.reason_code).ok_or_else(|| corrupt("reason code", &r.reason_code))?,
            flagging_tenant_id: TenantId::from_uuid(r.flagging_tenant_id),
            flagging_customer_id: CustomerId::from_uuid(r.flagging_customer_id),
            key_id: r.key_id,
            created_at: r.created_at.0,
            expires_at: r.expires_at.0,
            lifted_at: r.lifted_at.map(|t| t.0),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OrderRecord {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub customer_id: Uuid,
    pub second_driver_id: Option<Uuid>,
    pub driver_id: Option<Uuid>,
    pub pickup_at: Ts,
    pub pickup_place: String,
    pub return_at: Ts,
    pub return_place: String,
    pub vehicle_plate: String,
    pub vehicle_make: Option<String>,
    pub vehicle_model: Option<String>,
    pub vehicle_type: String,
    pub vehicle_colour: Option<String>,
    pub payment_type: String,
    pub status: String,
    pub blacklist_at_creation: String,
    pub override_reason: Option<String>,
    pub override_by: Option<Uuid>,
    pub override_at: Option<Ts>,
    pub override_requested_by: Option<Uuid>,
    pub override_requested_at: Option<Ts>,
    pub created_by: Option<Uuid>,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub version: i64,
}

/// Binds the fields of an [`OrderRecord`] in column order.
macro_rules! bind_order {
    ($query:expr, $r:expr) => {
        $query
            .bind($r.tenant_id)
            .bind($r.id)
            .bind($r.customer_id)
            .bind($r.second_driver_id)
            .bind($r.driver_id)
            .bind($r.pickup_at)
            .bind(&$r.pickup_place)
            .bind($r.return_at)
            .bind(&$r.return_place)
            .bind(&$r.vehicle_plate)
            .bind(&$r.vehicle_make)
            .bind(&$r.vehicle_model)
            .bind(&$r.vehicle_type)
            .bind(&$r.vehicle_colour)
            .bind(&$r.payment_type)
            .bind(&$r.status)
            .bind(&$r.blacklist_at_creation)
            .bind(&$r.override_reason)
            .bind($r.override_by)
            .bind($r.override_at)
            .bind($r.override_requested_by)
            .bind($r.override_requested_at)
            .bind($r.created_by)
            .bind($r.created_at)
            .bind($r.updated_at)
            .bind($r.version)
    };
}

pub(crate) use bind_order;

fn blacklist_status_str(status: BlacklistStatus) -> &'static str {
    match status {
        BlacklistStatus::None => "none",
        BlacklistStatus::Tenant => "tenant",
        BlacklistStatus::Global => "global",
    }
}

impl From<&Order> for OrderRecord {
    fn from(o: &Order) -> Self {
        Self {
            tenant_id: o.tenant_id.as_uuid(),
            id: o.id,
            customer_id: o.customer_id.as_uuid(),
            second_driver_id: o.second_driver_id.map(|c| c.as_uuid()),
            driver_id: o.driver_id.map(|d| d.as_uuid()),
            pickup_at: o.pickup_at.into(),
            pickup_place: o.pickup_place.clone(),
            return_at: o.return_at.into(),
            return_place: o.return_place.clone(),
            vehicle_plate: o.vehicle.plate.clone(),
            vehicle_make: o.vehicle.make.clone(),
            vehicle_model: o.vehicle.model.clone(),
            vehicle_type: o.vehicle.vehicle_type.as_str().to_owned(),
            vehicle_colour: o.vehicle.colour.clone(),
            payment_type: o.payment_type.as_str().to_owned(),
            status: o.status.as_str().to_owned(),
            blacklist_at_creation: blacklist_status_str(o.blacklist_at_creation).to_owned(),
            override_reason: o.override_.as_ref().map(|x| x.reason.clone()),
            override_by: o.override_.as_ref().and_then(|x| x.by),
            override_at: o.override_.as_ref().map(|x| Ts(x.at)),
            override_requested_by: o.override_request.as_ref().and_then(|x| x.by),
            override_requested_at: o.override_request.as_ref().map(|x| Ts(x.at)),
            created_by: o.created_by,
            created_at: o.created_at.into(),
            updated_at: o.updated_at.into(),
            version: o.version,
        }
    }
}

impl TryFrom<OrderRecord> for Order {
    type Error = Error;
    fn try_from(r: OrderRecord) -> Result<Self> {
        let blacklist_at_creation = match r.blacklist_at_creation.as_str() {
            "none" => BlacklistStatus::None,
            "tenant" => BlacklistStatus::Tenant,
            "global" => BlacklistStatus::Global,
            other => return Err(corrupt("blacklist status", other)),
        };
        Ok(Order {
            id: r.id,
            tenant_id: TenantId::from_uuid(r.tenant_id),
            customer_id: CustomerId::from_uuid(r.customer_id),
            second_driver_id: r.second_driver_id.map(CustomerId::from_uuid),
            driver_id: r.driver_id.map(UserId::from_uuid),
            pickup_at: r.pickup_at.0,
            pickup_place: r.pickup_place,
            return_at: r.return_at.0,
            return_place: r.return_place,
            vehicle: Vehicle {
                plate: r.vehicle_plate,
                make: r.vehicle_make,
                model: r.vehicle_model,
                vehicle_type: VehicleType::parse(&r.vehicle_type)
                    .ok_or_else(|| corrupt("vehicle type", &r.vehicle_type))?,
                colour: r.vehicle_colour,
            },
            payment_type: PaymentType::parse(&r.payment_type)
                .ok_or_else(|| corrupt("payment type", &r.payment_type))?,
            status: OrderStatus::parse(&r.status).ok_or_else(|| corrupt("order status", &r.status))?,
            blacklist_at_creation,
            override_: match (r.override_reason, r.override_at) {
                (Some(reason), Some(at)) => Some(Override { reason, by: r.override_by, at: at.0 }),
                _ => None,
            },
            override_request: r
                .override_requested_at
                .map(|at| OverrideRequest { by: r.override_requested_by, at: at.0 }),
            created_by: r.created_by,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
            version: r.version,
        })
    }
}

/// Pushes the 15 fields of an [`AuditRecord`] into a `push_values` tuple, in column order.
macro_rules! push_audit_values {
    ($b:ident, $r:expr) => {{
        $b.push_bind($r.tenant_id);
        $b.push_bind($r.id);
        $b.push_bind($r.at);
        $b.push_bind($r.actor_id);
        $b.push_bind(&$r.actor_role);
        $b.push_bind(&$r.action);
        $b.push_bind(&$r.object_type);
        $b.push_bind($r.object_id);
        $b.push_bind($r.customer_id);
        $b.push_bind(&$r.outcome);
        $b.push_bind(&$r.reason);
        $b.push_bind(&$r.changes);
        $b.push_bind(&$r.ip);
        $b.push_bind(&$r.user_agent);
        $b.push_bind(&$r.request_id);
        $b.push_bind($r.seq);
        $b.push_bind(&$r.hash);
    }};
}

pub(crate) use push_audit_values;
