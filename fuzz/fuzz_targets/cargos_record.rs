//! The Ca.R.G.O.S. formatter, from a valid contract with any of its texts, instants, dates and
//! flags changed to anything.
//!
//! Invariants: never a panic; a record comes back exactly when validation finds no problem, and
//! then it is exactly 1505 characters, decodes into its 46 fields at their widths, every text
//! field within its character set, every place field nine digits or blank, every date-time in
//! the layout's form; a refused contract names at least one problem, each on a field of the
//! layout, and never the formatter's own "report this bug"; formatting is deterministic.
#![no_main]

use arbitrary::Arbitrary;
use clientele_core::cargos::{
    Agency, CargosContract, CargosTables, Driver, FieldKind, Handover, RECORD_CHARS, SecondDriver, Vehicle, decode,
    format, validate,
};
use libfuzzer_sys::fuzz_target;
use time::macros::{date, datetime};
use time::{Date, Duration};

#[derive(Debug, Arbitrary)]
struct Edits {
    /// (which text field, its new text)
    texts: Vec<(u8, String)>,
    /// Minutes added to the contract's, the pick-up's and the return's instants.
    shifts: [i32; 3],
    /// Days added to the driver's and second driver's birth dates; `None` clears it.
    births: [Option<i16>; 2],
    second_driver: bool,
    flags: [Option<bool>; 2],
}

/// A valid contract: an Italian resident renting a car in Rome in summer 2026.
fn contract() -> CargosContract {
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
fn second_driver() -> SecondDriver {
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
        contact: "+39 347 7654321".into(),
    }
}

/// Every text field of the contract.
fn texts(c: &mut CargosContract) -> Vec<&mut String> {
    let mut all = vec![
        &mut c.contract_id,
        &mut c.payment_type,
        &mut c.pickup.place_code,
        &mut c.pickup.address,
        &mut c.dropoff.place_code,
        &mut c.dropoff.address,
        &mut c.operator_id,
        &mut c.agency.id,
        &mut c.agency.name,
        &mut c.agency.place_code,
        &mut c.agency.address,
        &mut c.agency.phone,
        &mut c.vehicle.type_code,
        &mut c.vehicle.make,
        &mut c.vehicle.model,
        &mut c.vehicle.plate,
        &mut c.vehicle.colour,
        &mut c.driver.surname,
        &mut c.driver.name,
        &mut c.driver.birth_place_code,
        &mut c.driver.citizenship_code,
        &mut c.driver.residence_place_code,
        &mut c.driver.residence_address,
        &mut c.driver.id_document_type,
        &mut c.driver.id_document_number,
        &mut c.driver.id_document_place_code,
        &mut c.driver.licence_number,
        &mut c.driver.licence_place_code,
        &mut c.driver.contact,
    ];
    if let Some(s) = c.second_driver.as_mut() {
        all.extend([
            &mut s.surname,
            &mut s.name,
            &mut s.birth_place_code,
            &mut s.citizenship_code,
            &mut s.id_document_type,
            &mut s.id_document_number,
            &mut s.id_document_place_code,
            &mut s.licence_number,
            &mut s.licence_place_code,
            &mut s.contact,
        ]);
    }
    all
}

fn shifted(date: Option<Date>, days: Option<i16>) -> Option<Date> {
    date?.checked_add(Duration::days(i64::from(days?)))
}

fuzz_target!(|edits: Edits| {
    let mut c = contract();
    if edits.second_driver {
        c.second_driver = Some(second_driver());
    }
    for (index, text) in edits.texts {
        let mut fields = texts(&mut c);
        let count = fields.len();
        *fields[usize::from(index) % count] = text;
    }
    let minutes = |m: i32| Duration::minutes(i64::from(m % (60 * 24 * 365 * 200)));
    c.contract_at = c.contract_at.saturating_add(minutes(edits.shifts[0]));
    c.pickup.at = c.pickup.at.saturating_add(minutes(edits.shifts[1]));
    c.dropoff.at = c.dropoff.at.saturating_add(minutes(edits.shifts[2]));
    c.driver.birth_date = shifted(c.driver.birth_date, edits.births[0]);
    if let Some(s) = c.second_driver.as_mut() {
        s.birth_date = shifted(s.birth_date, edits.births[1]);
    }
    (c.vehicle.gps, c.vehicle.immobiliser) = (edits.flags[0], edits.flags[1]);

    let tables = CargosTables::builtin();
    let formatted = format(&c, tables);
    assert_eq!(format(&c, tables), formatted, "formatting is deterministic");
    let problems = validate(&c, tables);
    match formatted {
        Ok(record) => {
            assert!(problems.is_empty(), "a record was made despite {problems:?}");
            let text = record.as_str();
            assert_eq!(text.chars().count(), RECORD_CHARS, "a record is exactly {RECORD_CHARS} characters");
            let fields = decode(text).expect("a record decodes");
            assert_eq!(fields.len(), 46);
            assert_eq!(record.fields(), fields);
            for field in &fields {
                let spec = field.spec();
                assert_eq!(field.raw.chars().count(), spec.width(), "{}", spec.column);
                let value = field.value();
                match spec.kind {
                    FieldKind::Text(charset, _) => assert!(
                        value.chars().all(|ch| charset.allows(ch)),
                        "{} holds a character outside set {}: {value:?}",
                        spec.column,
                        charset.number()
                    ),
                    FieldKind::Place => assert!(
                        value.is_empty() || (value.len() == 9 && value.bytes().all(|b| b.is_ascii_digit())),
                        "{}: {value:?}",
                        spec.column
                    ),
                    FieldKind::DateTime => assert!(
                        value.is_empty() || (value.len() == 16 && value.as_bytes()[2] == b'/'),
                        "{}: {value:?}",
                        spec.column
                    ),
                    FieldKind::Date => assert!(value.is_empty() || value.len() == 10, "{}: {value:?}", spec.column),
                    FieldKind::Flag => assert!(matches!(value, "" | "0" | "1"), "{}: {value:?}", spec.column),
                    FieldKind::Code => {}
                }
            }
        }
        Err(refused) => {
            assert!(!refused.is_empty(), "a refusal names its problems");
            assert_eq!(refused, problems, "format and validate agree");
            for problem in &refused {
                assert!(problem.layout_field().is_some(), "{problem} names a field of the layout");
                assert!(!problem.message.contains("report this bug"), "the formatter's own bug: {problem}");
            }
        }
    }
});
