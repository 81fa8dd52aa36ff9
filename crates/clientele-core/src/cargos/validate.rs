//! Every check a contract must pass before its record may leave, with every problem collected
//! at once, each naming our field, the Ca.R.G.O.S. column and what to do.
//!
//! The checks, field by field (widths, sets and presence come from [`LAYOUT`]):
//! - required fields are filled; the residence place and address come together; a second
//!   driver has every field (its contact included, as the manual's footnote says) or is absent
//!   (a second driver with no field filled at all counts as absent);
//! - text is cleaned as [`crate::cargos::charset`] allows, and must then fit its set;
//! - a value longer than its field is refused, never cut; values shorter than the manual's
//!   minimum ("lunghezza > 3": addresses, agency phone, plate; "> 4": document and licence
//!   numbers) are refused;
//! - codes exist in the tables; place codes are 9 digits and exist, and their kind fits: a
//!   citizenship is a state (or APOLIDE), APOLIDE is nothing else, and a birth or residence in
//!   Italy is given by its comune, not as ITALIA;
//! - places are valid on the day they speak of: the birth place on the birth date, the pick-up
//!   and return places on those days, the agency, citizenship and residence on the contract's
//!   day. Issuing places are only required to exist: the record has no issue date, and a
//!   document issued by a comune since merged away stays valid;
//! - date-times convert to Europe/Rome (1996 or later), the return is not before the pick-up,
//!   and no one is born after the contract (or before 1900).
//!
//! [`LAYOUT`]: crate::cargos::layout::LAYOUT

use time::{Date, OffsetDateTime};

use crate::cargos::charset::{CharsetProblem, clean};
use crate::cargos::layout::{Field, FieldKind, Presence};
use crate::cargos::places::{ITALY, PlaceCode, PlaceKind};
use crate::cargos::record::{CargosContract, CargosProblem, SecondDriver};
use crate::cargos::rome::rome_wall_time;
use crate::cargos::tables::{CargosTables, CodeTable};
use crate::error::FieldCode;

/// Every problem that stops `contract` from being reported; empty when it can be sent.
pub fn validate(contract: &CargosContract, tables: &CargosTables) -> Vec<CargosProblem> {
    match check(contract, tables) {
        Ok(_) => Vec::new(),
        Err(problems) => problems,
    }
}

/// The 46 values, cleaned and checked, in record order (empty for a blank field); or every
/// problem found.
pub(crate) fn check(contract: &CargosContract, tables: &CargosTables) -> Result<Vec<String>, Vec<CargosProblem>> {
    let mut c = Checker { tables, values: vec![String::new(); Field::ALL.len()], problems: Vec::new() };
    let contract_day = c.date_time(Field::ContractAt, contract.contract_at);
    c.text(Field::ContractId, &contract.contract_id, true);
    c.code(Field::PaymentType, &contract.payment_type, tables.payment_types(), "TIPO PAGAMENTO (table 0)", true);

    let pickup_day = c.date_time(Field::PickupAt, contract.pickup.at);
    c.place(Field::PickupPlace, &contract.pickup.place_code, true, pickup_day.map(|d| (d, "the pick-up")), Fit::Any);
    c.text(Field::PickupAddress, &contract.pickup.address, true);
    let dropoff_day = c.date_time(Field::DropoffAt, contract.dropoff.at);
    c.place(Field::DropoffPlace, &contract.dropoff.place_code, true, dropoff_day.map(|d| (d, "the return")), Fit::Any);
    c.text(Field::DropoffAddress, &contract.dropoff.address, true);
    if contract.dropoff.at < contract.pickup.at {
        c.problem(Field::DropoffAt, FieldCode::OutOfRange, "the return is before the pick-up: check both date-times");
    }

    let on_contract_day = contract_day.map(|d| (d, "the contract's day"));
    c.text(Field::OperatorId, &contract.operator_id, true);
    let agency = &contract.agency;
    c.text(Field::AgencyId, &agency.id, true);
    c.text(Field::AgencyName, &agency.name, true);
    c.place(Field::AgencyPlace, &agency.place_code, true, on_contract_day, Fit::Any);
    c.text(Field::AgencyAddress, &agency.address, true);
    c.text(Field::AgencyPhone, &agency.phone, true);

    let vehicle = &contract.vehicle;
    c.code(Field::VehicleType, &vehicle.type_code, tables.vehicle_types(), "TIPO VEICOLO (table 2)", true);
    c.text(Field::VehicleMake, &vehicle.make, true);
    c.text(Field::VehicleModel, &vehicle.model, true);
    c.text(Field::VehiclePlate, &vehicle.plate, true);
    c.text(Field::VehicleColour, &vehicle.colour, false);
    c.flag(Field::VehicleGps, vehicle.gps);
    c.flag(Field::VehicleImmobiliser, vehicle.immobiliser);

    let driver = &contract.driver;
    c.text(Field::DriverSurname, &driver.surname, true);
    c.text(Field::DriverName, &driver.name, true);
    let birth = c.birth_date(Field::DriverBirthDate, driver.birth_date, contract_day, true);
    c.place(
        Field::DriverBirthPlace,
        &driver.birth_place_code,
        true,
        birth.map(|d| (d, "the birth date")),
        Fit::NotItaly,
    );
    c.place(Field::DriverCitizenship, &driver.citizenship_code, true, on_contract_day, Fit::Citizenship);
    let (residence_place, residence_address) = (driver.residence_place_code.trim(), driver.residence_address.trim());
    if residence_place.is_empty() != residence_address.is_empty() {
        let (missing, other) = if residence_place.is_empty() {
            (Field::DriverResidencePlace, "address")
        } else {
            (Field::DriverResidenceAddress, "place")
        };
        let message = format!("the residence is sent as a pair: give this too, or clear the residence {other}");
        c.problem(missing, FieldCode::Required, message);
    }
    c.place(Field::DriverResidencePlace, residence_place, false, on_contract_day, Fit::NotItaly);
    c.text(Field::DriverResidenceAddress, residence_address, false);
    c.code(
        Field::DriverDocumentType,
        &driver.id_document_type,
        tables.document_types(),
        "TIPO DOCUMENTO (table 3)",
        true,
    );
    c.text(Field::DriverDocumentNumber, &driver.id_document_number, true);
    c.place(Field::DriverDocumentPlace, &driver.id_document_place_code, true, None, Fit::Any);
    c.text(Field::DriverLicenceNumber, &driver.licence_number, true);
    c.place(Field::DriverLicencePlace, &driver.licence_place_code, true, None, Fit::Any);
    c.text(Field::DriverContact, &driver.contact, false);

    if let Some(second) = contract.second_driver.as_ref().filter(|second| !second.is_blank()) {
        c.second_driver(second, contract_day);
    }
    if c.problems.is_empty() { Ok(c.values) } else { Err(c.problems) }
}

/// One value checked as the record would check it in `field` (a text or a place code), for the
/// forms that collect it long before a record is made: the cleaned value, or the problem.
/// `on`, for a place, is the day it must be valid (a birth date); without it the place need
/// only exist. An empty value is always fine here: whether a field is required is the
/// record's business.
pub fn check_value(field: Field, raw: &str, on: Option<Date>, tables: &CargosTables) -> Result<String, CargosProblem> {
    let mut c = Checker { tables, values: vec![String::new(); Field::ALL.len()], problems: Vec::new() };
    match field.spec().kind {
        FieldKind::Place => {
            let fit = match field {
                Field::DriverBirthPlace | Field::SecondBirthPlace | Field::DriverResidencePlace => Fit::NotItaly,
                Field::DriverCitizenship | Field::SecondCitizenship => Fit::Citizenship,
                _ => Fit::Any,
            };
            c.place(field, raw, false, on.map(|day| (day, "that date")), fit);
        }
        FieldKind::Text(..) => c.text(field, raw, false),
        _ => c.set(field, raw.trim().to_owned()),
    }
    match c.problems.pop() {
        Some(problem) => Err(problem),
        None => Ok(std::mem::take(&mut c.values[field as usize])),
    }
}

/// Which places fit a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// A comune or a state.
    Any,
    /// A comune or a foreign state: a place in Italy is given by its comune.
    NotItaly,
    /// A state, or APOLIDE.
    Citizenship,
}

struct Checker<'t> {
    tables: &'t CargosTables,
    values: Vec<String>,
    problems: Vec<CargosProblem>,
}

impl Checker<'_> {
    fn problem(&mut self, field: Field, code: FieldCode, message: impl Into<String>) {
        self.problems.push(CargosProblem::new(field, code, message));
    }

    fn set(&mut self, field: Field, value: String) {
        self.values[field as usize] = value;
    }

    fn required(&mut self, field: Field) {
        let message = match field.spec().presence {
            Presence::SecondDriver => {
                "a second driver needs every field, this one included: fill it in or remove the second driver"
            }
            _ => "is required by Ca.R.G.O.S.: fill it in",
        };
        self.problem(field, FieldCode::Required, message);
    }

    fn text(&mut self, field: Field, raw: &str, required: bool) {
        let spec = field.spec();
        let FieldKind::Text(charset, cleaning) = spec.kind else { return };
        let value = match clean(raw, charset, cleaning) {
            Ok(value) => value,
            Err(problem) => {
                let message = match problem {
                    CharsetProblem::Disallowed(chars) => format!(
                        "contains {} that Ca.R.G.O.S. does not accept here: use only {}",
                        quoted(&chars),
                        charset.describe()
                    ),
                    CharsetProblem::NonLatin(chars) => format!(
                        "contains letters of another script ({}): write it in Latin letters as on the document",
                        quoted(&chars)
                    ),
                    CharsetProblem::EmailAddress => {
                        "an e-mail address cannot be sent (no '@' allowed): give a phone number or leave it empty"
                            .into()
                    }
                };
                return self.problem(field, FieldCode::Invalid, message);
            }
        };
        let chars = value.chars().count();
        if chars == 0 {
            if required {
                self.required(field);
            }
        } else if chars > spec.width() {
            let message = format!(
                "is {chars} characters long as sent, and Ca.R.G.O.S. holds {}: shorten it (it is never cut for you)",
                spec.width()
            );
            self.problem(field, FieldCode::TooLong, message);
        } else if chars < spec.min_chars {
            let message = format!("is {chars} characters long as sent; Ca.R.G.O.S. needs at least {}", spec.min_chars);
            self.problem(field, FieldCode::TooShort, message);
        } else {
            self.set(field, value);
        }
    }

    fn code(&mut self, field: Field, raw: &str, table: &CodeTable, name: &str, required: bool) {
        let code = raw.trim();
        if code.is_empty() {
            if required {
                self.required(field);
            }
        } else if table.get(code).is_some() {
            self.set(field, code.to_owned());
        } else {
            let known: Vec<String> = table.entries().iter().map(|e| format!("{} {}", e.code, e.description)).collect();
            let message = format!("{code:?} is not a code of {name}: use one of {}", known.join(", "));
            self.problem(field, FieldCode::UnknownReference, message);
        }
    }

    /// Checks a place code; `on` is the day it must be valid and what that day is.
    fn place(&mut self, field: Field, raw: &str, required: bool, on: Option<(Date, &str)>, fit: Fit) {
        let text = raw.trim();
        if text.is_empty() {
            if required {
                self.required(field);
            }
            return;
        }
        let Some(code) = PlaceCode::parse(text) else {
            let message =
                format!("{text:?} is not a place code: use the 9-digit code of a comune or state (search the places)");
            return self.problem(field, FieldCode::Invalid, message);
        };
        let Some(place) = self.tables.places().get(code) else {
            let message =
                format!("{code} is not in the Ca.R.G.O.S. places table (LUOGHI): search the places and pick one");
            return self.problem(field, FieldCode::UnknownReference, message);
        };
        let label = format!("{} {}", code, place.label());
        let misfit = match (fit, place.kind()) {
            (Fit::Citizenship, PlaceKind::Comune) => {
                Some(format!("{label} is a comune; a citizenship is a state (APOLIDE for a stateless person)"))
            }
            (Fit::Any | Fit::NotItaly, PlaceKind::Stateless) => {
                Some(format!("{label} is only a citizenship: give the comune, or the state abroad"))
            }
            (Fit::NotItaly, PlaceKind::State) if code == ITALY => {
                Some(format!("{label} is the whole country: for a place in Italy give its comune"))
            }
            _ => None,
        };
        if let Some(message) = misfit {
            return self.problem(field, FieldCode::UnknownReference, message);
        }
        if let Some((day, what)) = on.filter(|(day, _)| !place.is_valid_on(*day)) {
            let when = match (place.valid_from(), place.valid_until()) {
                (Some(from), _) if day < from => format!("only exists from {}", dmy(from)),
                (_, Some(until)) => format!("ceased to exist on {}", dmy(until)),
                _ => "is not valid then".to_owned(),
            };
            let message = format!("{label} {when}, and {what} is {}: pick the place as it was on that day", dmy(day));
            return self.problem(field, FieldCode::UnknownReference, message);
        }
        self.set(field, code.to_string());
    }

    /// Writes a date-time in Rome time; its Rome calendar day, when it has one.
    fn date_time(&mut self, field: Field, at: OffsetDateTime) -> Option<Date> {
        let Some(local) = rome_wall_time(at) else {
            self.problem(field, FieldCode::OutOfRange, "must be in 1996 or later (and a real date)");
            return None;
        };
        self.set(field, format!("{} {:02}:{:02}", dmy(local.date()), local.hour(), local.minute()));
        Some(local.date())
    }

    fn birth_date(
        &mut self,
        field: Field,
        date: Option<Date>,
        contract_day: Option<Date>,
        required: bool,
    ) -> Option<Date> {
        let Some(date) = date else {
            if required {
                self.required(field);
            }
            return None;
        };
        if date.year() < 1900 || contract_day.is_some_and(|day| date > day) {
            self.problem(field, FieldCode::OutOfRange, "must be a birth date after 1900 and not after the contract");
            return None;
        }
        self.set(field, dmy(date));
        Some(date)
    }

    fn flag(&mut self, field: Field, value: Option<bool>) {
        // Unknown is written as a space, as an absent optional field is.
        let text = match value {
            Some(true) => "1",
            Some(false) => "0",
            None => "",
        };
        self.set(field, text.to_owned());
    }

    fn second_driver(&mut self, second: &SecondDriver, contract_day: Option<Date>) {
        let on_contract_day = contract_day.map(|d| (d, "the contract's day"));
        self.text(Field::SecondSurname, &second.surname, true);
        self.text(Field::SecondName, &second.name, true);
        let birth = self.birth_date(Field::SecondBirthDate, second.birth_date, contract_day, true);
        let on_birth = birth.map(|d| (d, "the birth date"));
        self.place(Field::SecondBirthPlace, &second.birth_place_code, true, on_birth, Fit::NotItaly);
        self.place(Field::SecondCitizenship, &second.citizenship_code, true, on_contract_day, Fit::Citizenship);
        let documents = self.tables.document_types();
        self.code(Field::SecondDocumentType, &second.id_document_type, documents, "TIPO DOCUMENTO (table 3)", true);
        self.text(Field::SecondDocumentNumber, &second.id_document_number, true);
        self.place(Field::SecondDocumentPlace, &second.id_document_place_code, true, None, Fit::Any);
        self.text(Field::SecondLicenceNumber, &second.licence_number, true);
        self.place(Field::SecondLicencePlace, &second.licence_place_code, true, None, Fit::Any);
        self.text(Field::SecondContact, &second.contact, true);
    }
}

/// `dd/mm/YYYY`, the record's date form.
pub(crate) fn dmy(date: Date) -> String {
    format!("{:02}/{:02}/{:04}", date.day(), u8::from(date.month()), date.year())
}

fn quoted(chars: &[char]) -> String {
    chars.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ")
}
