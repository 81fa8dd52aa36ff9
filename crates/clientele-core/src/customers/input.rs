//! Customer input as the API takes it, and its validation into a [`CustomerData`]: every bad
//! field named at once.

use serde::Deserialize;
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::cargos::layout::Field;
use crate::cargos::tables::{CargosTables, SharedTables};
use crate::cargos::validate::check_value;
use crate::customers::notes::note_body;
use crate::customers::record::{
    Address, BirthPlace, CustomerData, CustomerKind, DriverLicense, IdDocument, IdDocumentType,
};
use crate::error::{FieldCode, FieldErrors, FieldProblem, Result};
use crate::ids::CustomerId;
use crate::values::{
    CountryCode, Email, LanguageTag, PersonName, PhoneE164, PhoneRegion, code_text, optional_text, parse_date,
    required_text,
};

/// A customer as a client writes it. Every field is optional here; [`Self::validate`] applies
/// the rules. Unknown fields are refused, so a typo never silently drops data.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// `client` (default), `partner` or `staff`. Cannot change after creation.
    pub kind: Option<CustomerKind>,
    /// Required for clients and staff.
    pub first_name: Option<String>,
    /// Required for clients and staff.
    pub last_name: Option<String>,
    /// Required for partners.
    pub company_name: Option<String>,
    /// VAT number.
    pub vat_number: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number, with country prefix or in the tenant's default region.
    pub phone: Option<String>,
    /// A second phone number (home, work), read like `phone`.
    pub secondary_phone: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub birth_date: Option<String>,
    /// Place of birth.
    pub birth_place: Option<BirthPlaceInput>,
    /// Citizenship (ISO 3166-1 alpha-2).
    pub citizenship: Option<String>,
    /// Nine-digit Ca.R.G.O.S. place code of the state of citizenship (search
    /// `/api/v1/cargos/places?kind=state`).
    pub citizenship_code: Option<String>,
    /// Tax code.
    pub tax_code: Option<String>,
    /// Postal address.
    pub address: Option<AddressInput>,
    /// Language for communications (BCP 47).
    pub language: Option<String>,
    /// Driving licence; with a number, `issued_on` and `expires_on` are required.
    pub driver_license: Option<DriverLicenseInput>,
    /// Identity document.
    pub id_document: Option<IdDocumentInput>,
    /// VIP badge (admins only).
    pub vip: Option<bool>,
    /// Partner company (a customer of kind `partner`) this client came through.
    pub partner_id: Option<String>,
    /// The customer's id in another system; unique per tenant.
    pub external_ref: Option<String>,
    /// Notes to start the timeline with (create only; later notes go to `/notes`).
    pub notes: Option<Vec<String>>,
    /// The version being updated (update only; or send `If-Match`).
    pub version: Option<i64>,
}

/// Address as sent by clients.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
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
    pub country: Option<String>,
    /// Nine-digit Ca.R.G.O.S. place code of the residence: its comune, or the state abroad.
    pub place_code: Option<String>,
}

/// Birth place as sent by clients.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BirthPlaceInput {
    /// City.
    pub city: Option<String>,
    /// Country (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    /// Nine-digit Ca.R.G.O.S. place code.
    pub code: Option<String>,
}

/// Driving licence as sent by clients.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DriverLicenseInput {
    /// Licence number.
    pub number: Option<String>,
    /// Issuing country (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    /// Issuing authority or place.
    pub issuing_place: Option<String>,
    /// Nine-digit Ca.R.G.O.S. place code of the comune (or state abroad) that issued it.
    pub issuing_place_code: Option<String>,
    /// Date of issue, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub issued_on: Option<String>,
    /// Date of expiry, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub expires_on: Option<String>,
}

/// Identity document as sent by clients.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdDocumentInput {
    /// Document type.
    #[serde(rename = "type")]
    pub doc_type: Option<IdDocumentType>,
    /// Document number.
    pub number: Option<String>,
    /// Issuing country (ISO 3166-1 alpha-2).
    pub issuing_country: Option<String>,
    /// Issuing authority or place.
    pub issuing_place: Option<String>,
    /// Nine-digit Ca.R.G.O.S. place code of the comune (or state abroad) that issued it.
    pub issuing_place_code: Option<String>,
    /// Date of expiry, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub expires_on: Option<String>,
}

/// What validation needs to know beyond the input itself.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Region for phone numbers without a country prefix.
    pub phone_region: PhoneRegion,
    /// Today's date, for birth dates and licence issue dates.
    pub today: Date,
    /// The Ca.R.G.O.S. tables that place codes must be found in.
    pub cargos: SharedTables,
}

const SHORT: usize = 100;

const LONG: usize = 200;

impl CustomerInput {
    /// Applies the customer rules (README.md) and returns the validated fields, or every bad field.
    pub fn validate(&self, rules: &Rules) -> Result<CustomerData> {
        let mut e = FieldErrors::new();
        let kind = self.kind.unwrap_or(CustomerKind::Client);
        let text = |e: &mut FieldErrors, field: &str, value: &Option<String>, max: usize| {
            value.as_deref().and_then(|v| e.take(field, optional_text(v, max)).flatten())
        };
        let name = |e: &mut FieldErrors, field: &str, value: &Option<String>, required: bool| match value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            Some(v) => e.take(field, PersonName::parse(v)),
            None if required => {
                e.push(field, FieldCode::Required, "is required");
                None
            }
            None => None,
        };
        let person = kind != CustomerKind::Partner;
        let first_name = name(&mut e, "first_name", &self.first_name, person);
        let last_name = name(&mut e, "last_name", &self.last_name, person);
        let company_name = text(&mut e, "company_name", &self.company_name, LONG);
        if kind == CustomerKind::Partner && company_name.is_none() && !has_text(&self.company_name) {
            e.push("company_name", FieldCode::Required, "is required for partners");
        }
        let vat_number = self.vat_number.as_deref().and_then(|v| e.take("vat_number", code_text(v, 32)).flatten());
        let tax_code = self.tax_code.as_deref().and_then(|v| e.take("tax_code", code_text(v, 32)).flatten());
        let email = non_empty(&self.email).and_then(|v| e.take("email", Email::parse(v)));
        let phone = non_empty(&self.phone).and_then(|v| e.take("phone", PhoneE164::parse(v, rules.phone_region)));
        let secondary_phone = non_empty(&self.secondary_phone)
            .and_then(|v| e.take("secondary_phone", PhoneE164::parse(v, rules.phone_region)));
        let birth_date = non_empty(&self.birth_date).and_then(|v| e.take("birth_date", past_date(v, rules.today)));
        let citizenship = non_empty(&self.citizenship).and_then(|v| e.take("citizenship", CountryCode::parse(v)));
        let tables = &*rules.cargos;
        let citizenship_code = non_empty(&self.citizenship_code)
            .and_then(|v| e.take("citizenship_code", place_code(tables, Field::DriverCitizenship, v, None)));
        let language = non_empty(&self.language).and_then(|v| e.take("language", LanguageTag::parse(v)));
        let external_ref = text(&mut e, "external_ref", &self.external_ref, SHORT);

        let address = self.address.as_ref().and_then(|a| {
            let address = Address {
                line1: text(&mut e, "address.line1", &a.line1, LONG),
                line2: text(&mut e, "address.line2", &a.line2, LONG),
                city: text(&mut e, "address.city", &a.city, SHORT),
                postal_code: text(&mut e, "address.postal_code", &a.postal_code, 20),
                region: text(&mut e, "address.region", &a.region, SHORT),
                country: non_empty(&a.country).and_then(|v| e.take("address.country", CountryCode::parse(v))),
                place_code: non_empty(&a.place_code).and_then(|v| {
                    e.take("address.place_code", place_code(tables, Field::DriverResidencePlace, v, None))
                }),
            };
            (address != Address::default()).then_some(address)
        });
        let birth_place = self.birth_place.as_ref().and_then(|b| {
            let place = BirthPlace {
                city: text(&mut e, "birth_place.city", &b.city, SHORT),
                country: non_empty(&b.country).and_then(|v| e.take("birth_place.country", CountryCode::parse(v))),
                code: non_empty(&b.code).and_then(|v| {
                    e.take("birth_place.code", place_code(tables, Field::DriverBirthPlace, v, birth_date))
                }),
            };
            (place != BirthPlace::default()).then_some(place)
        });
        let driver_license = self.driver_license.as_ref().and_then(|l| license(&mut e, l, rules.today, tables));
        let id_document = self.id_document.as_ref().and_then(|d| id_document(&mut e, d, tables));

        let partner_id = non_empty(&self.partner_id).and_then(|v| match v.parse::<Uuid>() {
            Ok(id) => Some(CustomerId::from_uuid(id)),
            Err(_) => {
                e.push("partner_id", FieldCode::Invalid, "must be a customer id (UUID)");
                None
            }
        });
        if partner_id.is_some() && kind != CustomerKind::Client {
            e.push("partner_id", FieldCode::NotAllowed, "only clients can be linked to a partner");
        }

        if !e.is_empty() {
            return Err(e.into_error());
        }
        Ok(CustomerData {
            kind,
            first_name,
            last_name,
            company_name,
            vat_number,
            email,
            phone,
            secondary_phone,
            birth_date,
            birth_place,
            citizenship,
            citizenship_code,
            tax_code,
            address,
            language,
            driver_license,
            id_document,
            partner_id,
            external_ref,
        })
    }

    /// The most notes a new customer may start with.
    pub const MAX_NOTES: usize = 20;

    /// The notes to start the timeline with, validated (`notes.0`, `notes.1`, ...).
    pub fn validate_notes(&self) -> Result<Vec<String>> {
        let mut e = FieldErrors::new();
        if self.notes.as_ref().is_some_and(|n| n.len() > Self::MAX_NOTES) {
            e.push("notes", FieldCode::OutOfRange, format!("at most {} notes at creation", Self::MAX_NOTES));
            return Err(e.into_error());
        }
        let notes: Vec<String> = (self.notes.iter().flatten().enumerate())
            .filter_map(|(i, body)| e.take(&format!("notes.{i}"), note_body(body)))
            .collect();
        if e.is_empty() { Ok(notes) } else { Err(e.into_error()) }
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn has_text(value: &Option<String>) -> bool {
    non_empty(value).is_some()
}

fn required_code(input: Option<&str>, max: usize) -> Result<String, FieldProblem> {
    code_text(input.unwrap_or_default(), max)?.ok_or_else(|| FieldProblem::new(FieldCode::Required, "is required"))
}

fn past_date(input: &str, today: Date) -> Result<Date, FieldProblem> {
    let date = parse_date(input)?;
    let earliest = time::macros::date!(1900 - 01 - 01);
    if date > today || date < earliest {
        return Err(FieldProblem::new(FieldCode::OutOfRange, "must be between 1900-01-01 and today"));
    }
    Ok(date)
}

/// A Ca.R.G.O.S. place code that exists in the tables and fits what the record's `field` takes
/// (a citizenship is a state; a birth or residence in Italy is given by its comune), valid on
/// `on` when given.
fn place_code(tables: &CargosTables, field: Field, input: &str, on: Option<Date>) -> Result<String, FieldProblem> {
    let code = input.trim();
    if !(code.len() == 9 && code.bytes().all(|b| b.is_ascii_digit())) {
        return Err(FieldProblem::new(
            FieldCode::Invalid,
            "must be a nine-digit Ca.R.G.O.S. place code (search /api/v1/cargos/places)",
        ));
    }
    check_value(field, code, on, tables).map_err(|problem| FieldProblem::new(problem.code, problem.message))
}

fn license(
    e: &mut FieldErrors,
    input: &DriverLicenseInput,
    today: Date,
    tables: &CargosTables,
) -> Option<DriverLicense> {
    let given = [
        &input.number,
        &input.country,
        &input.issuing_place,
        &input.issuing_place_code,
        &input.issued_on,
        &input.expires_on,
    ];
    if given.iter().all(|v| !has_text(v)) {
        return None;
    }
    let number = e.take("driver_license.number", required_code(non_empty(&input.number), 32));
    let country = non_empty(&input.country).and_then(|v| e.take("driver_license.country", CountryCode::parse(v)));
    let issuing_place =
        non_empty(&input.issuing_place).and_then(|v| e.take("driver_license.issuing_place", required_text(v, SHORT)));
    let issuing_place_code = non_empty(&input.issuing_place_code).and_then(|v| {
        e.take("driver_license.issuing_place_code", place_code(tables, Field::DriverLicencePlace, v, None))
    });
    let mut date = |field: &str, value: &Option<String>| match non_empty(value) {
        Some(v) => e.take(field, parse_date(v)),
        None => {
            e.push(field, FieldCode::Required, "is required when a licence number is given");
            None
        }
    };
    let issued_on = date("driver_license.issued_on", &input.issued_on);
    let expires_on = date("driver_license.expires_on", &input.expires_on);
    if let Some(issued) = issued_on {
        if issued > today {
            e.push("driver_license.issued_on", FieldCode::OutOfRange, "cannot be in the future");
        }
        if expires_on.is_some_and(|expires| expires <= issued) {
            e.push("driver_license.expires_on", FieldCode::OutOfRange, "must be after issued_on");
        }
    }
    Some(DriverLicense {
        number: number?,
        country,
        issuing_place,
        issuing_place_code,
        issued_on: issued_on?,
        expires_on: expires_on?,
    })
}

fn id_document(e: &mut FieldErrors, input: &IdDocumentInput, tables: &CargosTables) -> Option<IdDocument> {
    let given =
        [&input.number, &input.issuing_country, &input.issuing_place, &input.issuing_place_code, &input.expires_on];
    if input.doc_type.is_none() && given.iter().all(|v| !has_text(v)) {
        return None;
    }
    let doc_type = input.doc_type.or_else(|| {
        e.push("id_document.type", FieldCode::Required, "is required: passport, id_card, residence_permit or other");
        None
    });
    let number = e.take("id_document.number", required_code(non_empty(&input.number), 32));
    let issuing_country =
        non_empty(&input.issuing_country).and_then(|v| e.take("id_document.issuing_country", CountryCode::parse(v)));
    let issuing_place =
        non_empty(&input.issuing_place).and_then(|v| e.take("id_document.issuing_place", required_text(v, SHORT)));
    let issuing_place_code = non_empty(&input.issuing_place_code).and_then(|v| {
        e.take("id_document.issuing_place_code", place_code(tables, Field::DriverDocumentPlace, v, None))
    });
    let expires_on = non_empty(&input.expires_on).and_then(|v| e.take("id_document.expires_on", parse_date(v)));
    Some(IdDocument {
        doc_type: doc_type?,
        number: number?,
        issuing_country,
        issuing_place,
        issuing_place_code,
        expires_on,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            phone_region: PhoneRegion::parse("IT").unwrap(),
            today: time::macros::date!(2026 - 11 - 24),
            cargos: SharedTables::default(),
        }
    }

    fn input(json: serde_json::Value) -> CustomerInput {
        serde_json::from_value(json).unwrap()
    }

    fn fields(err: crate::Error) -> Vec<(String, FieldCode)> {
        match err {
            crate::Error::Invalid(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_full_client_validates_and_normalises() {
        let data = input(serde_json::json!({
            "first_name": " Nicolò ", "last_name": "Rossi", "email": "N.Rossi@Example.com",
            "phone": "333 123 4567", "birth_date": "1980-05-01", "citizenship": "it",
            "tax_code": "rss nnc 80e01 h501x", "language": "it-it",
            "address": {"line1": "Via Roma 1", "city": "Roma", "country": "IT"},
            "driver_license": {"number": "u1 234567x", "issued_on": "2015-01-01", "expires_on": "2030-01-01"},
            "id_document": {"type": "id_card", "number": "ca12345ab"}
        }))
        .validate(&rules())
        .unwrap();
        assert_eq!(data.kind, CustomerKind::Client);
        assert_eq!(data.first_name.unwrap().as_str(), "Nicolò");
        assert_eq!(data.email.unwrap().as_str(), "n.rossi@example.com");
        assert_eq!(data.phone.unwrap().as_str(), "+393331234567");
        assert_eq!(data.tax_code.as_deref(), Some("RSSNNC80E01H501X"));
        assert_eq!(data.language.unwrap().as_str(), "it-IT");
        assert_eq!(data.driver_license.unwrap().number, "U1234567X");
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let err = input(serde_json::json!({
            "phone": "+39 123", "email": "nope", "birth_date": "2030-01-01",
            "driver_license": {"number": "X1"}, "address": {"country": "ITA"}
        }))
        .validate(&rules())
        .unwrap_err();
        assert_eq!(
            fields(err),
            vec![
                ("first_name".into(), FieldCode::Required),
                ("last_name".into(), FieldCode::Required),
                ("email".into(), FieldCode::InvalidEmail),
                ("phone".into(), FieldCode::InvalidPhone),
                ("birth_date".into(), FieldCode::OutOfRange),
                ("address.country".into(), FieldCode::InvalidCountry),
                ("driver_license.issued_on".into(), FieldCode::Required),
                ("driver_license.expires_on".into(), FieldCode::Required),
            ]
        );
    }

    #[test]
    fn partners_need_a_company_name_and_not_personal_names() {
        let err = input(serde_json::json!({"kind": "partner"})).validate(&rules()).unwrap_err();
        assert_eq!(fields(err), vec![("company_name".into(), FieldCode::Required)]);
        let ok = input(serde_json::json!({"kind": "partner", "company_name": "Viaggi Srl"})).validate(&rules());
        assert!(ok.is_ok());
    }

    #[test]
    fn licence_expiry_must_follow_issue() {
        let err = input(serde_json::json!({
            "first_name": "A", "last_name": "B",
            "driver_license": {"number": "X1", "issued_on": "2020-01-01", "expires_on": "2019-01-01"}
        }))
        .validate(&rules())
        .unwrap_err();
        assert_eq!(fields(err), vec![("driver_license.expires_on".into(), FieldCode::OutOfRange)]);
    }

    #[test]
    fn only_clients_link_to_partners() {
        let err = input(serde_json::json!({
            "kind": "staff", "first_name": "A", "last_name": "B", "partner_id": Uuid::now_v7()
        }))
        .validate(&rules())
        .unwrap_err();
        assert_eq!(fields(err), vec![("partner_id".into(), FieldCode::NotAllowed)]);
    }

    #[test]
    fn empty_nested_objects_are_absent() {
        let data = input(serde_json::json!({
            "first_name": "A", "last_name": "B", "address": {"city": "  "}, "driver_license": {}
        }))
        .validate(&rules())
        .unwrap();
        assert_eq!(data.address, None);
        assert_eq!(data.driver_license, None);
    }

    #[test]
    fn notes_are_validated_each_by_index() {
        let err = input(serde_json::json!({"notes": ["fine", " ", "x".repeat(10_001)]})).validate_notes().unwrap_err();
        assert_eq!(fields(err), vec![("notes.1".into(), FieldCode::Required), ("notes.2".into(), FieldCode::TooLong)]);
    }
}
