//! Customers rows as stored, and their conversion to and from domain types.
//!
//! A record has exactly the columns of its table, in the order of its `*_columns!()` list, with
//! types both backends encode the same way (uuid, text, bool, i64, dates, [`Ts`](crate::db::Ts)).

use clientele_core::blacklist::record::Scope;
use clientele_core::customers::notes::{Note, NoteAuthor};
use clientele_core::customers::record::{
    Address, BirthPlace, Customer, CustomerData, CustomerKind, DriverLicense, IdDocument, IdDocumentType,
};
use clientele_core::ids::{CustomerId, NoteId, TenantId};
use clientele_core::values::{CountryCode, Email, LanguageTag, PersonName, PhoneE164, PhoneStatus};
use clientele_core::{Error, Result};
use time::Date;
use uuid::Uuid;

use crate::db::{Ts, corrupt};

/// The 50 columns of `customers`, in the order of [`CustomerRecord`] and of the `$N` placeholders
/// used to write them.
macro_rules! customer_columns {
    () => {
        "tenant_id, id, kind, first_name, last_name, company_name, vat_number, email, phone, phone_status, \
         birth_date, birth_city, birth_country, birth_place_code, citizenship, tax_code, \
         address_line1, address_line2, address_city, address_postal_code, address_region, address_country, \
         language, license_number, license_country, license_issuing_place, license_issued_on, license_expires_on, \
         id_doc_type, id_doc_number, id_doc_country, id_doc_issuing_place, id_doc_expires_on, \
         vip, partner_id, external_ref, created_at, updated_at, created_by, deleted_at, version, \
         vip_changed_at, vip_changed_by, blacklist_scope, global_match_at, secondary_phone, \
         citizenship_code, address_place_code, id_doc_place_code, license_place_code"
    };
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
    pub secondary_phone: Option<String>,
    pub citizenship_code: Option<String>,
    pub address_place_code: Option<String>,
    pub id_doc_place_code: Option<String>,
    pub license_place_code: Option<String>,
}

/// Binds the 50 fields of a [`CustomerRecord`] in column order.
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
            .bind(&$r.secondary_phone)
            .bind(&$r.citizenship_code)
            .bind(&$r.address_place_code)
            .bind(&$r.id_doc_place_code)
            .bind(&$r.license_place_code)
    };
}

/// Pushes the 50 fields of a [`CustomerRecord`] into a `push_values` tuple, in column order.
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
        $b.push_bind(&$r.secondary_phone);
        $b.push_bind(&$r.citizenship_code);
        $b.push_bind(&$r.address_place_code);
        $b.push_bind(&$r.id_doc_place_code);
        $b.push_bind(&$r.license_place_code);
    }};
}

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
            secondary_phone: text(&d.secondary_phone),
            citizenship_code: d.citizenship_code.clone(),
            address_place_code: address.place_code,
            id_doc_place_code: id_doc.and_then(|i| i.issuing_place_code.clone()),
            license_place_code: license.and_then(|l| l.issuing_place_code.clone()),
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
            place_code: r.address_place_code,
        };
        let birth_place =
            BirthPlace { city: r.birth_city, country: country(r.birth_country), code: r.birth_place_code };
        let driver_license = match (r.license_number, r.license_issued_on, r.license_expires_on) {
            (Some(number), Some(issued_on), Some(expires_on)) => Some(DriverLicense {
                number,
                country: country(r.license_country),
                issuing_place: r.license_issuing_place,
                issuing_place_code: r.license_place_code,
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
                issuing_place_code: r.id_doc_place_code,
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
                secondary_phone: r.secondary_phone.map(PhoneE164::from_stored),
                birth_date: r.birth_date,
                birth_place: (birth_place != BirthPlace::default()).then_some(birth_place),
                citizenship: country(r.citizenship),
                citizenship_code: r.citizenship_code,
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

pub(crate) use bind_customer;
pub(crate) use customer_columns;
pub(crate) use push_customer_values;
