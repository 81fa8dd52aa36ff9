//! An order's Ca.R.G.O.S. fields: the agency making the contract, the operator, and where the
//! car is picked up and returned, with their checks (place codes valid on their day, each with
//! an address, never beside an agency).

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::cargos::layout::Field;
use crate::cargos::places::PlaceCode;
use crate::cargos::tables::CargosTables;
use crate::cargos::validate::check_value;
use crate::error::{FieldCode, FieldErrors, Result};
use crate::ids::AgencyId;
use crate::time::Timestamp;
use crate::values::required_text;

/// What an order holds for its Ca.R.G.O.S. record: the agency making the contract, the
/// operator, and where the car is picked up and returned (an agency, a place code with an
/// address, or, when neither, the contract's agency).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrderCargos {
    /// The agency making the contract (`/api/v1/cargos/agencies`).
    pub agency_id: Option<AgencyId>,
    /// The operator as reported (OPERATORE_ID); absent, the id of the user who made the order.
    pub operator_id: Option<String>,
    /// The agency where the car is picked up.
    pub pickup_agency_id: Option<AgencyId>,
    /// The nine-digit Ca.R.G.O.S. place code of the pick-up, when not at an agency.
    pub pickup_place_code: Option<String>,
    /// The pick-up's street address, with `pickup_place_code`.
    pub pickup_address: Option<String>,
    /// The agency where the car is returned.
    pub return_agency_id: Option<AgencyId>,
    /// The nine-digit Ca.R.G.O.S. place code of the return, when not at an agency.
    pub return_place_code: Option<String>,
    /// The return's street address, with `return_place_code`.
    pub return_address: Option<String>,
}

impl OrderCargos {
    /// Checks the fields as `OrderInput::validate` does, for a change of them: place codes
    /// valid on their day, each with an address, never beside an agency; the operator id.
    pub fn validate(&self, pickup_at: Timestamp, return_at: Timestamp, tables: &CargosTables) -> Result<()> {
        let mut e = FieldErrors::new();
        let shown = Some("-".to_owned());
        let ends = [
            ("pickup", pickup_at, self.pickup_agency_id, &self.pickup_place_code, &self.pickup_address),
            ("return", return_at, self.return_agency_id, &self.return_place_code, &self.return_address),
        ];
        for (end, at, agency, place_code, address) in ends {
            let agency_id = agency.map(|a| a.as_uuid());
            let implied_agency = self.agency_id.is_some();
            HandoverInput { end, at: Some(at), place: &shown, agency_id, implied_agency, place_code, address }
                .validate(&mut e, tables);
        }
        operator(&mut e, self.operator_id.as_deref(), tables);
        e.finish(|| ())
    }
}

/// One end of a rental as sent: the free text shown, and for Ca.R.G.O.S. an agency or a place
/// code with an address.
pub(crate) struct HandoverInput<'a> {
    pub(crate) end: &'static str,
    pub(crate) at: Option<Timestamp>,
    pub(crate) place: &'a Option<String>,
    pub(crate) agency_id: Option<Uuid>,
    /// Whether the order has a contract agency this end falls back to.
    pub(crate) implied_agency: bool,
    pub(crate) place_code: &'a Option<String>,
    pub(crate) address: &'a Option<String>,
}

impl HandoverInput<'_> {
    /// The place as shown (`None`: the services fill it in), the place code and the address.
    pub(crate) fn validate(
        &self,
        e: &mut FieldErrors,
        tables: &CargosTables,
    ) -> (Option<String>, Option<String>, Option<String>) {
        let end = self.end;
        let given =
            |value: &Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let (code, address) = (given(self.place_code), given(self.address));
        let (code_field, address_field) = (format!("{end}_place_code"), format!("{end}_address"));
        if self.agency_id.is_some() {
            for (field, value) in [(&code_field, &code), (&address_field, &address)] {
                if value.is_some() {
                    e.push(
                        field.as_str(),
                        FieldCode::NotAllowed,
                        format!("give either {end}_agency_id or a place code and address"),
                    );
                }
            }
        } else if code.is_some() != address.is_some() {
            let missing = if code.is_none() { &code_field } else { &address_field };
            e.push(missing.as_str(), FieldCode::Required, "a place code and an address go together");
        }
        let (layout_place, layout_address) = match end {
            "pickup" => (Field::PickupPlace, Field::PickupAddress),
            _ => (Field::DropoffPlace, Field::DropoffAddress),
        };
        let code = code.and_then(|code| {
            let checked = match PlaceCode::parse(&code) {
                None => Err(format!("{code:?} is not a place code: use the 9-digit code of a comune or state (search /api/v1/cargos/places)")),
                Some(_) => check_value(layout_place, &code, self.at.map(|at| at.date()), tables).map_err(|p| p.message),
            };
            checked.map_err(|message| e.push(code_field.as_str(), FieldCode::UnknownReference, message)).ok()
        });
        let address = address.and_then(|address| match check_value(layout_address, &address, None, tables) {
            Ok(_) => Some(address),
            Err(problem) => {
                e.push(address_field.as_str(), problem.code, problem.message);
                None
            }
        });
        let free_text = self.place.as_deref().unwrap_or("");
        let place =
            if free_text.trim().is_empty() && (self.agency_id.is_some() || code.is_some() || self.implied_agency) {
                None
            } else {
                e.take(&format!("{end}_place"), required_text(free_text, 200))
            };
        (place, code, address)
    }
}

/// An operator id as Ca.R.G.O.S. takes it.
pub(crate) fn operator(e: &mut FieldErrors, value: Option<&str>, tables: &CargosTables) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    match check_value(Field::OperatorId, value, None, tables) {
        Ok(_) => Some(value.to_owned()),
        Err(problem) => {
            e.push("operator_id", problem.code, problem.message);
            None
        }
    }
}
