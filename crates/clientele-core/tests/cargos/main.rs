//! Ca.R.G.O.S.: golden records built by hand from the specification's layout table, the
//! validation rules one by one, place search, a round-trip property, and agreement with the
//! independent `cargos-api` mapper.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agreement;
mod golden;
mod places;
mod roundtrip;
mod validation;

use clientele_core::cargos::{Agency, CargosContract, Driver, Handover, SecondDriver, Vehicle};
use time::macros::{date, datetime};

/// A valid contract: an Italian resident renting a car in Rome in summer 2026.
pub fn italian_resident() -> CargosContract {
    CargosContract {
        contract_id: "CTR-2026-0001".into(),
        contract_at: datetime!(2026-01-15 09:30:45 UTC),
        payment_type: "0".into(),
        pickup: Handover {
            at: datetime!(2026-07-01 06:00 UTC),
            place_code: "412058091".into(),
            address: "Via Marsala 29".into(),
        },
        dropoff: Handover {
            at: datetime!(2026-07-05 16:45 UTC),
            place_code: "403015146".into(),
            address: "Piazza Duca d'Aosta 1".into(),
        },
        operator_id: "op.rossi".into(),
        agency: Agency {
            id: "AG-001".into(),
            name: "Rent Go Roma".into(),
            place_code: "412058091".into(),
            address: "Via Marsala 29".into(),
            phone: "+39 06 1234567".into(),
        },
        vehicle: Vehicle {
            type_code: "0".into(),
            make: "Fiat".into(),
            model: "Panda 1.2".into(),
            plate: "AB123CD".into(),
            colour: "Bianco".into(),
            gps: Some(true),
            immobiliser: Some(false),
        },
        driver: Driver {
            surname: "Rossi".into(),
            name: "Mario".into(),
            birth_date: Some(date!(1985 - 03 - 12)),
            birth_place_code: "412058091".into(),
            citizenship_code: "100000100".into(),
            residence_place_code: "403015146".into(),
            residence_address: "Via Torino 5, Milano".into(),
            id_document_type: "IDENT".into(),
            id_document_number: "CA12345AB".into(),
            id_document_place_code: "412058091".into(),
            licence_number: "RM1234567X".into(),
            licence_place_code: "412058091".into(),
            contact: "+39 333 1234567".into(),
        },
        second_driver: None,
    }
}

/// A complete second driver, born in Genoa.
pub fn second_driver() -> SecondDriver {
    SecondDriver {
        surname: "Bianchi".into(),
        name: "Anna".into(),
        birth_date: Some(date!(1990 - 05 - 20)),
        birth_place_code: "407010025".into(),
        citizenship_code: "100000100".into(),
        id_document_type: "PATEN".into(),
        id_document_number: "GE5551234Z".into(),
        id_document_place_code: "407010025".into(),
        licence_number: "GE5551234Z".into(),
        licence_place_code: "407010025".into(),
        contact: "3471234567".into(),
    }
}

/// `value` left-aligned in `width` characters, as the specification pads text.
pub fn pad(value: &str, width: usize) -> String {
    assert!(value.chars().count() <= width, "{value:?} does not fit {width}");
    format!("{value:<width$}")
}

/// The characters at 1-based, inclusive positions `from..=to` of `record`.
pub fn at(record: &str, from: usize, to: usize) -> String {
    record.chars().skip(from - 1).take(to + 1 - from).collect()
}
