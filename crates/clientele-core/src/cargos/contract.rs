//! Filling a [`CargosContract`] from what Clientele holds (an order, its renter and second
//! driver, its agencies), and saying where each problem of the record is fixed.
//!
//! The mapping, field by field:
//! - the contract: the order's id and creation instant, its payment type's code, its operator
//!   (or the id of the user who made it);
//! - pick-up and return: the order's agency for that end, else its place code and address,
//!   else the contract's agency (the car leaves from and comes back to the counter);
//! - the agency: the order's agency (AGENZIA_ID is its `code`);
//! - the vehicle: its type's code (the type is the code), make, model, plate and colour;
//! - each driver: names, birth date and place code, citizenship code, the residence (the
//!   address's place code with its street and city; sent only when the place code is set), the
//!   identity document (passport `PASOR`, identity card `IDENT`; without one, the driving
//!   licence stands in as `PATEN`, which the police accept as an identity document), the
//!   licence, and the phone as contact.

use uuid::Uuid;

use crate::cargos::agencies::RentalAgency;
use crate::cargos::api::PoliceError;
use crate::cargos::layout::Field;
use crate::cargos::record::{Agency, CargosContract, CargosProblem, Driver, Handover, SecondDriver, Vehicle};
use crate::cargos::submissions::{FixResource, ProblemFix, RecordProblem};
use crate::customers::record::{Customer, IdDocumentType};
use crate::error::FieldCode;
use crate::orders::record::Order;

/// What a record is made from.
#[derive(Debug, Clone, Copy)]
pub struct ContractParts<'a> {
    /// The order.
    pub order: &'a Order,
    /// The renter, who signs the contract.
    pub renter: &'a Customer,
    /// The second driver, if any.
    pub second: Option<&'a Customer>,
    /// The agency making the contract.
    pub agency: Option<&'a RentalAgency>,
    /// The agency where the car is picked up, when the order names one.
    pub pickup_agency: Option<&'a RentalAgency>,
    /// The agency where the car is returned, when the order names one.
    pub return_agency: Option<&'a RentalAgency>,
}

/// Where an end of the rental is: which agency, or the order's own place code.
enum End<'a> {
    Agency(&'a RentalAgency),
    Order,
}

impl<'a> ContractParts<'a> {
    fn end(&self, pickup: bool) -> End<'a> {
        let (own, code) = if pickup {
            (self.pickup_agency, &self.order.cargos.pickup_place_code)
        } else {
            (self.return_agency, &self.order.cargos.return_place_code)
        };
        match (own, code, self.agency) {
            (Some(agency), _, _) => End::Agency(agency),
            (None, None, Some(agency)) => End::Agency(agency),
            _ => End::Order,
        }
    }

    fn handover(&self, pickup: bool) -> Handover {
        let order = self.order;
        let at = if pickup { order.pickup_at } else { order.return_at }.as_datetime();
        match self.end(pickup) {
            End::Agency(agency) => {
                Handover { at, place_code: agency.place_code.clone(), address: agency.address.clone() }
            }
            End::Order => {
                let (code, address) = if pickup {
                    (&order.cargos.pickup_place_code, &order.cargos.pickup_address)
                } else {
                    (&order.cargos.return_place_code, &order.cargos.return_address)
                };
                Handover { at, place_code: text(code), address: text(address) }
            }
        }
    }

    /// The contract to format.
    pub fn contract(&self) -> CargosContract {
        let order = self.order;
        let agency = self.agency.map_or_else(
            || Agency {
                id: String::new(),
                name: String::new(),
                place_code: String::new(),
                address: String::new(),
                phone: String::new(),
            },
            |a| Agency {
                id: a.code.clone(),
                name: a.name.clone(),
                place_code: a.place_code.clone(),
                address: a.address.clone(),
                phone: a.phone.clone(),
            },
        );
        let operator_id = order
            .cargos
            .operator_id
            .clone()
            .or_else(|| order.created_by.map(|user| user.to_string()))
            .unwrap_or_default();
        CargosContract {
            contract_id: order.id.to_string(),
            contract_at: order.created_at.as_datetime(),
            payment_type: order.payment_type.cargos_code().to_owned(),
            pickup: self.handover(true),
            dropoff: self.handover(false),
            operator_id,
            agency,
            vehicle: Vehicle {
                type_code: order.vehicle.vehicle_type.cargos_code().to_owned(),
                make: text(&order.vehicle.make),
                model: text(&order.vehicle.model),
                plate: order.vehicle.plate.clone(),
                colour: text(&order.vehicle.colour),
                gps: None,
                immobiliser: None,
            },
            driver: driver(self.renter),
            second_driver: self.second.map(second_driver),
        }
    }

    /// A problem found before sending, with where to fix it.
    pub fn problem(&self, problem: &CargosProblem) -> RecordProblem {
        RecordProblem {
            field: Some(problem.field.to_owned()),
            column: Some(problem.column.to_owned()),
            code: problem.code,
            message: problem.message.clone(),
            fix: problem.layout_field().and_then(|field| self.fix(field)),
        }
    }

    /// The police's refusal of the record, on the field it names when it names one.
    pub fn refusal(&self, error: &PoliceError) -> RecordProblem {
        let field = Field::from_server_error(&error.description);
        RecordProblem {
            field: field.map(|f| f.spec().path.to_owned()),
            column: field.map(|f| f.spec().column.to_owned()),
            code: FieldCode::Invalid,
            message: error.to_string(),
            fix: field.and_then(|f| self.fix(f)),
        }
    }

    /// Where the value of `field` comes from.
    pub fn fix(&self, field: Field) -> Option<ProblemFix> {
        use Field::*;
        let order = |name: &str| Some(fix(FixResource::Order, self.order.id.as_uuid(), name));
        let agency_or = |agency: Option<&RentalAgency>, name: &str, otherwise: &str| match agency {
            Some(agency) => Some(fix(FixResource::Agency, agency.id.as_uuid(), name)),
            None => order(otherwise),
        };
        let end = |pickup: bool, name: &str| {
            let prefix = if pickup { "pickup" } else { "return" };
            match self.end(pickup) {
                End::Agency(agency) => Some(fix(FixResource::Agency, agency.id.as_uuid(), name)),
                End::Order => {
                    order(&format!("{prefix}_{}", if name == "place_code" { "place_code" } else { "address" }))
                }
            }
        };
        let customer =
            |who: Option<&Customer>, name: &str| who.map(|c| fix(FixResource::Customer, c.id.as_uuid(), name));
        let renter = Some(self.renter);
        let has_document = |who: Option<&Customer>| who.is_some_and(|c| c.data.id_document.is_some());
        match field {
            ContractId | ContractAt => None,
            PaymentType => order("payment_type"),
            PickupAt => order("pickup_at"),
            DropoffAt => order("return_at"),
            PickupPlace => end(true, "place_code"),
            PickupAddress => end(true, "address"),
            DropoffPlace => end(false, "place_code"),
            DropoffAddress => end(false, "address"),
            OperatorId => order("operator_id"),
            AgencyId => agency_or(self.agency, "code", "agency_id"),
            AgencyName => agency_or(self.agency, "name", "agency_id"),
            AgencyPlace => agency_or(self.agency, "place_code", "agency_id"),
            AgencyAddress => agency_or(self.agency, "address", "agency_id"),
            AgencyPhone => agency_or(self.agency, "phone", "agency_id"),
            VehicleType => order("vehicle.type"),
            VehicleMake => order("vehicle.make"),
            VehicleModel => order("vehicle.model"),
            VehiclePlate => order("vehicle.plate"),
            VehicleColour => order("vehicle.colour"),
            VehicleGps | VehicleImmobiliser => None,
            DriverSurname => customer(renter, "last_name"),
            DriverName => customer(renter, "first_name"),
            DriverBirthDate => customer(renter, "birth_date"),
            DriverBirthPlace => customer(renter, "birth_place.code"),
            DriverCitizenship => customer(renter, "citizenship_code"),
            DriverResidencePlace => customer(renter, "address.place_code"),
            DriverResidenceAddress => customer(renter, "address.line1"),
            DriverDocumentType if has_document(renter) => customer(renter, "id_document.type"),
            DriverDocumentNumber if has_document(renter) => customer(renter, "id_document.number"),
            DriverDocumentPlace if has_document(renter) => customer(renter, "id_document.issuing_place_code"),
            DriverDocumentType | DriverDocumentNumber => customer(renter, "id_document"),
            DriverDocumentPlace => customer(renter, "driver_license.issuing_place_code"),
            DriverLicenceNumber => customer(renter, "driver_license.number"),
            DriverLicencePlace => customer(renter, "driver_license.issuing_place_code"),
            DriverContact => customer(renter, "phone"),
            SecondSurname => customer(self.second, "last_name"),
            SecondName => customer(self.second, "first_name"),
            SecondBirthDate => customer(self.second, "birth_date"),
            SecondBirthPlace => customer(self.second, "birth_place.code"),
            SecondCitizenship => customer(self.second, "citizenship_code"),
            SecondDocumentType if has_document(self.second) => customer(self.second, "id_document.type"),
            SecondDocumentNumber if has_document(self.second) => customer(self.second, "id_document.number"),
            SecondDocumentPlace if has_document(self.second) => customer(self.second, "id_document.issuing_place_code"),
            SecondDocumentType | SecondDocumentNumber => customer(self.second, "id_document"),
            SecondDocumentPlace => customer(self.second, "driver_license.issuing_place_code"),
            SecondLicenceNumber => customer(self.second, "driver_license.number"),
            SecondLicencePlace => customer(self.second, "driver_license.issuing_place_code"),
            SecondContact => customer(self.second, "phone"),
        }
    }
}

fn fix(resource: FixResource, id: Uuid, field: &str) -> ProblemFix {
    ProblemFix { resource, id, field: field.to_owned() }
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// The identity document as the record takes it: type code, number, issuing place; the
/// licence stands in when there is no identity document.
fn document(customer: &Customer) -> (String, String, String) {
    let data = &customer.data;
    match (&data.id_document, &data.driver_license) {
        (Some(document), _) => {
            let code = match document.doc_type {
                IdDocumentType::Passport => "PASOR",
                IdDocumentType::IdCard => "IDENT",
                // Not in TIPO DOCUMENTO: the validator names it, and the fix points at the type.
                other => other.as_str(),
            };
            (code.to_owned(), document.number.clone(), text(&document.issuing_place_code))
        }
        (None, Some(licence)) => ("PATEN".to_owned(), licence.number.clone(), text(&licence.issuing_place_code)),
        (None, None) => (String::new(), String::new(), String::new()),
    }
}

/// The residence: the address's place code and its street with the city, or nothing without a
/// place code (the pair is optional, and sent whole or not at all).
fn residence(customer: &Customer) -> (String, String) {
    let Some(address) = &customer.data.address else { return (String::new(), String::new()) };
    let Some(code) = address.place_code.clone() else { return (String::new(), String::new()) };
    let street: Vec<&str> = [&address.line1, &address.line2].into_iter().flatten().map(String::as_str).collect();
    let street = street.join(" ");
    let text = match (&address.city, street.trim().is_empty()) {
        (_, true) => String::new(),
        (Some(city), false) => format!("{street}, {city}"),
        (None, false) => street,
    };
    (code, text)
}

fn driver(customer: &Customer) -> Driver {
    let data = &customer.data;
    let (id_document_type, id_document_number, id_document_place_code) = document(customer);
    let (residence_place_code, residence_address) = residence(customer);
    let licence = data.driver_license.as_ref();
    Driver {
        surname: data.last_name.as_ref().map(ToString::to_string).unwrap_or_default(),
        name: data.first_name.as_ref().map(ToString::to_string).unwrap_or_default(),
        birth_date: data.birth_date,
        birth_place_code: data.birth_place.as_ref().and_then(|b| b.code.clone()).unwrap_or_default(),
        citizenship_code: text(&data.citizenship_code),
        residence_place_code,
        residence_address,
        id_document_type,
        id_document_number,
        id_document_place_code,
        licence_number: licence.map(|l| l.number.clone()).unwrap_or_default(),
        licence_place_code: licence.and_then(|l| l.issuing_place_code.clone()).unwrap_or_default(),
        contact: data.phone.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default(),
    }
}

fn second_driver(customer: &Customer) -> SecondDriver {
    let first = driver(customer);
    SecondDriver {
        surname: first.surname,
        name: first.name,
        birth_date: first.birth_date,
        birth_place_code: first.birth_place_code,
        citizenship_code: first.citizenship_code,
        id_document_type: first.id_document_type,
        id_document_number: first.id_document_number,
        id_document_place_code: first.id_document_place_code,
        licence_number: first.licence_number,
        licence_place_code: first.licence_place_code,
        contact: first.contact,
    }
}
