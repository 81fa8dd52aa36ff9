//! The contract as we hand it to the formatter ([`CargosContract`]), the record it becomes
//! ([`CargosRecord`]), and what can stop it ([`CargosProblem`]).
//!
//! The contract is plain data, filled from an order, its customers and the tenant's agency
//! settings: text fields are `String`s where empty means absent, so that the validator can say
//! exactly which required field is missing instead of the caller failing to build the value.
//! Instants are UTC (any offset is accepted; only the instant matters) and are written in
//! Europe/Rome wall-clock time. Serialized field names are the paths problems name
//! (`driver.birth_place_code`).

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::cargos::layout::{DecodedField, Field, decode};
use crate::error::{FieldCode, FieldError};

/// One rental contract, as reported to Ca.R.G.O.S.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CargosContract {
    /// The contract's id, unique for the agency (CONTRATTO_ID, set 4, ≤ 50).
    pub contract_id: String,
    /// When the contract was made (CONTRATTO_DATA).
    #[serde(with = "time::serde::rfc3339")]
    pub contract_at: OffsetDateTime,
    /// Payment type code of table 0 (CONTRATTO_TIPOP), e.g. `0` credit card.
    pub payment_type: String,
    /// Where and when the vehicle is picked up (CONTRATTO_CHECKOUT_*).
    pub pickup: Handover,
    /// Where and when the vehicle is returned (CONTRATTO_CHECKIN_*).
    pub dropoff: Handover,
    /// The employee who made the contract (OPERATORE_ID, set 4, ≤ 50).
    pub operator_id: String,
    /// The agency, as registered on the police portal.
    pub agency: Agency,
    /// The vehicle.
    pub vehicle: Vehicle,
    /// The driver who signs the contract.
    pub driver: Driver,
    /// A second driver, all of whose fields are then required.
    #[serde(default)]
    pub second_driver: Option<SecondDriver>,
}

/// A pick-up or return: when, in which place, at which address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    /// The instant (written in Europe/Rome time).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// 9-digit place code of table 1.
    pub place_code: String,
    /// Street address (set 2, 4 to 150 characters).
    pub address: String,
}

/// The agency (the rental company's branch) making the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// The agency id registered with the police (AGENZIA_ID, set 4, ≤ 30).
    pub id: String,
    /// The agency's name (set 4, ≤ 70).
    pub name: String,
    /// 9-digit place code of table 1.
    pub place_code: String,
    /// Street address (set 2, 4 to 150 characters).
    pub address: String,
    /// Phone number (digits only once cleaned, 4 to 20).
    pub phone: String,
}

/// The rented vehicle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vehicle {
    /// Vehicle type code of table 2 (`0` car, `1` van, ...).
    pub type_code: String,
    /// Make (set 2, ≤ 50).
    pub make: String,
    /// Model (set 2, ≤ 100).
    pub model: String,
    /// Plate (set 3, 4 to 15).
    pub plate: String,
    /// Colour (set 1, ≤ 50); empty when unknown.
    #[serde(default)]
    pub colour: String,
    /// Whether a GPS tracker is fitted; `None` when unknown.
    #[serde(default)]
    pub gps: Option<bool>,
    /// Whether an engine immobiliser is fitted; `None` when unknown.
    #[serde(default)]
    pub immobiliser: Option<bool>,
}

/// The driver who signs the contract (CONDUCENTE_CONTRAENTE_*).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Driver {
    /// Surname (set 1, ≤ 50).
    pub surname: String,
    /// Given name (set 1, ≤ 30).
    pub name: String,
    /// Birth date.
    pub birth_date: Option<Date>,
    /// Place code of the comune of birth, valid on the birth date, or of the state for a birth
    /// abroad.
    pub birth_place_code: String,
    /// Place code of the state of citizenship (APOLIDE 100000999 for a stateless person).
    pub citizenship_code: String,
    /// Place code of the residence (comune, or state abroad); given with the address or not at all.
    #[serde(default)]
    pub residence_place_code: String,
    /// Residence address (set 2, ≤ 150); given with the place or not at all.
    #[serde(default)]
    pub residence_address: String,
    /// Identity document type code of table 3 (`IDENT`, `PASOR`, `PATEN`, ...).
    pub id_document_type: String,
    /// Identity document number (set 3, 5 to 20).
    pub id_document_number: String,
    /// Place code of the comune or state that issued the identity document.
    pub id_document_place_code: String,
    /// Driving licence number (set 3, 5 to 20).
    pub licence_number: String,
    /// Place code of the comune or state that issued the licence.
    pub licence_place_code: String,
    /// A phone number (set 6, ≤ 20; no e-mail addresses); empty when none.
    #[serde(default)]
    pub contact: String,
}

/// A second driver (CONDUCENTE2_*): every field is required, the contact included, and there is
/// no residence.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecondDriver {
    /// Surname (set 1, ≤ 50).
    pub surname: String,
    /// Given name (set 1, ≤ 30).
    pub name: String,
    /// Birth date.
    pub birth_date: Option<Date>,
    /// Place code of the comune of birth, valid on the birth date, or of the state abroad.
    pub birth_place_code: String,
    /// Place code of the state of citizenship.
    pub citizenship_code: String,
    /// Identity document type code of table 3.
    pub id_document_type: String,
    /// Identity document number (set 3, ≤ 20).
    pub id_document_number: String,
    /// Place code of the comune or state that issued the identity document.
    pub id_document_place_code: String,
    /// Driving licence number (set 3, 5 to 20).
    pub licence_number: String,
    /// Place code of the comune or state that issued the licence.
    pub licence_place_code: String,
    /// A phone number (set 6, ≤ 20).
    pub contact: String,
}

impl SecondDriver {
    /// Whether no field is filled at all (such a second driver is treated as absent).
    pub fn is_blank(&self) -> bool {
        let texts = [
            &self.surname,
            &self.name,
            &self.birth_place_code,
            &self.citizenship_code,
            &self.id_document_type,
            &self.id_document_number,
            &self.id_document_place_code,
            &self.licence_number,
            &self.licence_place_code,
            &self.contact,
        ];
        self.birth_date.is_none() && texts.iter().all(|text| text.trim().is_empty())
    }
}

/// A record that passed every check: exactly 1505 characters, every field in its set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CargosRecord(String);

impl CargosRecord {
    /// Wraps text the formatter assembled (always 1505 characters).
    pub(crate) fn assembled(text: String) -> Self {
        Self(text)
    }

    /// The record as sent (one JSON string of the request's array).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The record as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The record cut into its 46 fields, to show an operator what is sent.
    pub fn fields(&self) -> Vec<DecodedField> {
        // The record was assembled to the layout's length, so it always decodes.
        decode(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for CargosRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a contract cannot be reported as it is: our field, the Ca.R.G.O.S. column, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CargosProblem {
    /// Our field's path, e.g. `driver.birth_place_code`.
    pub field: &'static str,
    /// The Ca.R.G.O.S. column, e.g. `CONDUCENTE_CONTRAENTE_NASCITA_LUOGO_COD`.
    pub column: &'static str,
    /// Stable code of the problem.
    pub code: FieldCode,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl CargosProblem {
    /// A problem with `field`.
    pub fn new(field: Field, code: FieldCode, message: impl Into<String>) -> Self {
        let spec = field.spec();
        Self { field: spec.path, column: spec.column, code, message: message.into() }
    }

    /// The field the problem is about.
    pub fn layout_field(&self) -> Option<Field> {
        Field::from_column(self.column)
    }
}

impl fmt::Display for CargosProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.field, self.column, self.message)
    }
}

impl From<CargosProblem> for FieldError {
    /// A field error at our path, the message naming the Ca.R.G.O.S. column.
    fn from(problem: CargosProblem) -> Self {
        FieldError::new(problem.field, problem.code, format!("{} (Ca.R.G.O.S. {})", problem.message, problem.column))
    }
}
