//! A tenant's rental agencies: the offices it registered on the police portal, each known to the
//! police by its agency id (AGENZIA_ID). An order names the agency that makes the contract, and
//! may name the agencies where the car is picked up and returned; the record takes the agency's
//! name, place, address and phone from here, so nobody types them per order.

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::cargos::layout::Field;
use crate::cargos::places::{Place, PlaceCode, PlaceKind};
use crate::cargos::tables::CargosTables;
use crate::cargos::validate::check_value;
use crate::error::{FieldCode, FieldErrors, Result};
use crate::ids::{AgencyId, TenantId};
use crate::time::Timestamp;

/// A stored agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RentalAgency {
    /// Our id of the agency.
    pub id: AgencyId,
    /// The tenant.
    #[serde(skip)]
    pub tenant_id: TenantId,
    /// The agency id registered with the police (AGENZIA_ID), unique in the tenant.
    pub code: String,
    /// The agency's name, as registered.
    pub name: String,
    /// The nine-digit Ca.R.G.O.S. place code of the comune the agency is in.
    pub place_code: String,
    /// Street address.
    pub address: String,
    /// Phone number (sent as digits only).
    pub phone: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it was deleted (its orders keep it).
    pub deleted_at: Option<Timestamp>,
    /// Incremented on every change; send it back (`version` or `If-Match`) to change it.
    pub version: i64,
}

/// A place of the Ca.R.G.O.S. table as shown: its code, name, province and validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PlaceView {
    /// The nine-digit code to store.
    pub code: String,
    /// The name as the table writes it (`FORLI'`).
    pub name: String,
    /// The province of a comune (historical codes: `FO` for Forlì); absent for states.
    pub province: Option<String>,
    /// `comune`, `state` or `stateless` (APOLIDE, a citizenship only).
    pub kind: PlaceKindView,
    /// `CASTRO (BG)`, `FRANCIA`: how to tell homonyms apart.
    pub label: String,
    /// First day of validity, when the table says.
    pub valid_from: Option<Date>,
    /// Last day of validity; absent while still valid.
    pub valid_until: Option<Date>,
}

/// What a place is, as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKindView {
    /// An Italian comune.
    Comune,
    /// A state (foreign, or ITALIA).
    State,
    /// APOLIDE: a citizenship only.
    Stateless,
}

impl From<PlaceKind> for PlaceKindView {
    fn from(kind: PlaceKind) -> Self {
        match kind {
            PlaceKind::Comune => Self::Comune,
            PlaceKind::State => Self::State,
            PlaceKind::Stateless => Self::Stateless,
        }
    }
}

impl From<&Place> for PlaceView {
    fn from(place: &Place) -> Self {
        Self {
            code: place.code().to_string(),
            name: place.name().to_owned(),
            province: place.province().map(str::to_owned),
            kind: place.kind().into(),
            label: place.label(),
            valid_from: place.valid_from(),
            valid_until: place.valid_until(),
        }
    }
}

/// An agency as shown: the record and its place.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgencyView {
    /// The agency.
    #[serde(flatten)]
    pub agency: RentalAgency,
    /// Its place, from the tables.
    pub place: Option<PlaceView>,
}

impl AgencyView {
    /// The agency with its place looked up in `tables`.
    pub fn new(agency: RentalAgency, tables: &CargosTables) -> Self {
        let place =
            PlaceCode::parse(&agency.place_code).and_then(|code| tables.places().get(code)).map(PlaceView::from);
        Self { agency, place }
    }
}

/// `POST /cargos/agencies` (every field required) and `PATCH /cargos/agencies/{id}` (the fields
/// that change).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyInput {
    /// The agency id registered with the police (AGENZIA_ID: letters, digits, `-`, `.`; ≤ 30).
    pub code: Option<String>,
    /// The name (≤ 70).
    pub name: Option<String>,
    /// The nine-digit place code of the agency's comune (search `/api/v1/cargos/places`).
    pub place_code: Option<String>,
    /// Street address (4 to 150 characters).
    pub address: Option<String>,
    /// Phone number (4 to 20 digits once spaces and signs are dropped).
    pub phone: Option<String>,
    /// The version being changed (`PATCH` only; or send `If-Match`).
    pub version: Option<i64>,
}

/// The checked fields of an agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyFields {
    /// AGENZIA_ID.
    pub code: String,
    /// Name.
    pub name: String,
    /// Place code.
    pub place_code: String,
    /// Address.
    pub address: String,
    /// Phone.
    pub phone: String,
}

impl AgencyInput {
    /// The agency's fields: this input's, else `current`'s; each checked as the record checks
    /// it, so that an agency that saves is one every record can carry. Every bad field is named.
    pub fn validate(&self, current: Option<&RentalAgency>, tables: &CargosTables, today: Date) -> Result<AgencyFields> {
        let mut e = FieldErrors::new();
        let mut field = |name: &str, input: &Option<String>, kept: Option<&String>, layout: Field| {
            let value = input.as_deref().or(kept.map(String::as_str)).map(str::trim).unwrap_or_default();
            if value.is_empty() {
                e.push(name, FieldCode::Required, "is required");
                return None;
            }
            let on = (layout == Field::AgencyPlace).then_some(today);
            match check_value(layout, value, on, tables) {
                Ok(_) => Some(value.to_owned()),
                Err(problem) => {
                    e.push(name, problem.code, problem.message);
                    None
                }
            }
        };
        let code = field("code", &self.code, current.map(|a| &a.code), Field::AgencyId);
        let name = field("name", &self.name, current.map(|a| &a.name), Field::AgencyName);
        let place_code = field("place_code", &self.place_code, current.map(|a| &a.place_code), Field::AgencyPlace);
        let address = field("address", &self.address, current.map(|a| &a.address), Field::AgencyAddress);
        let phone = field("phone", &self.phone, current.map(|a| &a.phone), Field::AgencyPhone);
        let place = place_code.as_deref().and_then(PlaceCode::parse).and_then(|c| tables.places().get(c));
        if let Some(place) = place.filter(|p| p.kind() != PlaceKind::Comune) {
            e.push(
                "place_code",
                FieldCode::UnknownReference,
                format!("{} is not a comune: give the comune the agency is in", place.label()),
            );
        }
        let (Some(code), Some(name), Some(place_code), Some(address), Some(phone)) =
            (code, name, place_code, address, phone)
        else {
            return Err(e.into_error());
        };
        e.finish(|| AgencyFields { code, name, place_code, address, phone })
    }
}
