//! A property: every contract that validates formats to exactly 1505 characters, and its record
//! decodes back, field by field, to the input as the documented transliteration sends it.

use std::sync::LazyLock;

use clientele_core::cargos::charset::clean;
use clientele_core::cargos::rome::rome_wall_time;
use clientele_core::cargos::{
    Agency, CargosContract, CargosTables, Driver, Field, FieldKind, Handover, PlaceKind, SecondDriver, Vehicle, decode,
    format,
};
use proptest::prelude::*;
use time::{Date, Duration, OffsetDateTime};

/// Codes to draw from: places valid today, states, and birth places with the last day each was valid.
struct Pools {
    payment: Vec<String>,
    vehicle: Vec<String>,
    document: Vec<String>,
    current: Vec<String>,
    states: Vec<String>,
    births: Vec<(String, Option<Date>)>,
}

static POOLS: LazyLock<Pools> = LazyLock::new(|| {
    let tables = CargosTables::builtin();
    let codes = |table: &clientele_core::cargos::CodeTable| table.entries().iter().map(|e| e.code.clone()).collect();
    let places = tables.places().all();
    Pools {
        payment: codes(tables.payment_types()),
        vehicle: codes(tables.vehicle_types()),
        document: codes(tables.document_types()),
        current: places
            .iter()
            .filter(|p| {
                p.valid_until().is_none() && p.kind() != PlaceKind::Stateless && p.code().to_string() != "100000100"
            })
            .map(|p| p.code().to_string())
            .collect(),
        states: places
            .iter()
            .filter(|p| p.valid_until().is_none() && p.kind() != PlaceKind::Comune)
            .map(|p| p.code().to_string())
            .collect(),
        births: places
            .iter()
            .filter(|p| p.kind() != PlaceKind::Stateless && p.code().to_string() != "100000100")
            .map(|p| (p.code().to_string(), p.valid_until()))
            .collect(),
    }
});

fn pick(pool: &'static [String]) -> impl Strategy<Value = String> {
    (0..pool.len()).prop_map(move |index| pool[index].clone())
}

/// Text for free-text fields of set 1: letters, kept and foreign accents, apostrophes, hyphens.
fn letters(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z][A-Za-zàèìòùäöüßéñçøÀÉ’' -]{{0,{}}}", max - 1)).unwrap()
}

fn address() -> impl Strategy<Value = String> {
    proptest::string::string_regex("Via [A-Za-z0-9][A-Za-z0-9àèéñü'’.,/()° -]{0,140}").unwrap()
}

fn reference(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9][A-Za-z0-9.,' -]{{0,{}}}", max - 1)).unwrap()
}

fn number() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Z0-9]{2}[A-Z0-9 .-]{1,14}[A-Z0-9]{2}").unwrap()
}

fn plate() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Z0-9]{2}[A-Z0-9 .-]{0,11}[A-Z0-9]{2}").unwrap()
}

fn contact() -> impl Strategy<Value = String> {
    proptest::string::string_regex("\\+?[0-9]{3} ?[0-9]{3,12}").unwrap()
}

fn birth() -> impl Strategy<Value = (String, Date)> {
    (0..POOLS.births.len(), 0..30_000i64).prop_map(|(index, days_back)| {
        let (code, until) = &POOLS.births[index];
        let latest = until.unwrap_or(time::macros::date!(2005 - 12 - 31)).min(time::macros::date!(2005 - 12 - 31));
        let date = (latest - Duration::days(days_back)).max(time::macros::date!(1900 - 01 - 01));
        (code.clone(), date)
    })
}

fn instant() -> impl Strategy<Value = OffsetDateTime> {
    // 2006 to 2040: after every generated birth, well inside the EU summer-time rule.
    (1_136_073_600i64..2_208_988_800).prop_map(|s| OffsetDateTime::from_unix_timestamp(s).unwrap())
}

prop_compose! {
    fn second() (
        surname in letters(50), name in letters(30), (birth_place_code, birth) in birth(),
        citizenship_code in pick(&POOLS.states), id_document_type in pick(&POOLS.document),
        id_document_number in number(), id_document_place_code in pick(&POOLS.current),
        licence_number in number(), licence_place_code in pick(&POOLS.current), contact in contact(),
    ) -> SecondDriver {
        SecondDriver {
            surname, name, birth_date: Some(birth), birth_place_code, citizenship_code, id_document_type,
            id_document_number, id_document_place_code, licence_number, licence_place_code, contact,
        }
    }
}

prop_compose! {
    fn driver() (
        surname in letters(50), name in letters(30), (birth_place_code, birth) in birth(),
        citizenship_code in pick(&POOLS.states),
        residence in proptest::option::of((pick(&POOLS.current), address())),
        id_document_type in pick(&POOLS.document), id_document_number in number(),
        id_document_place_code in pick(&POOLS.current), licence_number in number(),
        licence_place_code in pick(&POOLS.current), contact in proptest::option::of(contact()),
    ) -> Driver {
        let (residence_place_code, residence_address) = residence.unwrap_or_default();
        Driver {
            surname, name, birth_date: Some(birth), birth_place_code, citizenship_code, residence_place_code,
            residence_address, id_document_type, id_document_number, id_document_place_code, licence_number,
            licence_place_code, contact: contact.unwrap_or_default(),
        }
    }
}

prop_compose! {
    fn contract() (
        contract_id in reference(50), contract_at in instant(), payment_type in pick(&POOLS.payment),
        pickup_after in 0..2_592_000i64, rental in 0..5_184_000i64,
        places in (pick(&POOLS.current), pick(&POOLS.current), pick(&POOLS.current)),
        addresses in (address(), address(), address()), operator_id in reference(50),
        agency in (reference(30), reference(70), "\\+?[0-9]{2} ?[0-9]{4,15}"),
        vehicle in (pick(&POOLS.vehicle), reference(50), reference(100), plate()),
        colour in proptest::option::of(letters(50)), flags in (any::<Option<bool>>(), any::<Option<bool>>()),
        driver in driver(), second_driver in proptest::option::of(second()),
    ) -> CargosContract {
        let pickup_at = contract_at + Duration::seconds(pickup_after);
        CargosContract {
            contract_id, contract_at, payment_type,
            pickup: Handover { at: pickup_at, place_code: places.0, address: addresses.0 },
            dropoff: Handover { at: pickup_at + Duration::seconds(rental), place_code: places.1, address: addresses.1 },
            operator_id,
            agency: Agency { id: agency.0, name: agency.1, place_code: places.2, address: addresses.2, phone: agency.2 },
            vehicle: Vehicle {
                type_code: vehicle.0, make: vehicle.1, model: vehicle.2, plate: vehicle.3,
                colour: colour.unwrap_or_default(), gps: flags.0, immobiliser: flags.1,
            },
            driver, second_driver,
        }
    }
}

/// What each field should read back as: the input, cleaned as documented, dates in Rome time.
fn expected(contract: &CargosContract) -> Vec<String> {
    let rome = |at: OffsetDateTime| {
        let local = rome_wall_time(at).unwrap();
        format!(
            "{:02}/{:02}/{} {:02}:{:02}",
            local.day(),
            u8::from(local.month()),
            local.year(),
            local.hour(),
            local.minute()
        )
    };
    let day = |date: Option<Date>| date.map(|d| format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()));
    let flag = |value: Option<bool>| value.map_or("", |yes| if yes { "1" } else { "0" }).to_owned();
    let (c, d) = (contract, &contract.driver);
    let mut raw: Vec<String> = vec![
        c.contract_id.clone(),
        rome(c.contract_at),
        c.payment_type.clone(),
        rome(c.pickup.at),
        c.pickup.place_code.clone(),
        c.pickup.address.clone(),
        rome(c.dropoff.at),
        c.dropoff.place_code.clone(),
        c.dropoff.address.clone(),
        c.operator_id.clone(),
        c.agency.id.clone(),
        c.agency.name.clone(),
        c.agency.place_code.clone(),
        c.agency.address.clone(),
        c.agency.phone.clone(),
        c.vehicle.type_code.clone(),
        c.vehicle.make.clone(),
        c.vehicle.model.clone(),
        c.vehicle.plate.clone(),
        c.vehicle.colour.clone(),
        flag(c.vehicle.gps),
        flag(c.vehicle.immobiliser),
        d.surname.clone(),
        d.name.clone(),
        day(d.birth_date).unwrap(),
        d.birth_place_code.clone(),
        d.citizenship_code.clone(),
        d.residence_place_code.clone(),
        d.residence_address.clone(),
        d.id_document_type.clone(),
        d.id_document_number.clone(),
        d.id_document_place_code.clone(),
        d.licence_number.clone(),
        d.licence_place_code.clone(),
        d.contact.clone(),
    ];
    match &c.second_driver {
        None => raw.extend(std::iter::repeat_n(String::new(), 11)),
        Some(s) => raw.extend([
            s.surname.clone(),
            s.name.clone(),
            day(s.birth_date).unwrap(),
            s.birth_place_code.clone(),
            s.citizenship_code.clone(),
            s.id_document_type.clone(),
            s.id_document_number.clone(),
            s.id_document_place_code.clone(),
            s.licence_number.clone(),
            s.licence_place_code.clone(),
            s.contact.clone(),
        ]),
    }
    Field::ALL
        .iter()
        .zip(raw)
        .map(|(field, value)| match field.spec().kind {
            FieldKind::Text(charset, cleaning) => clean(&value, charset, cleaning).unwrap(),
            _ => value,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_formatted_record_is_1505_characters_and_decodes_back_to_its_input(contract in contract()) {
        let record = match format(&contract, CargosTables::builtin()) {
            Ok(record) => record,
            Err(problems) => return Err(TestCaseError::fail(format!("a valid contract was refused: {problems:#?}"))),
        };
        prop_assert_eq!(record.as_str().chars().count(), 1505);
        let fields = decode(record.as_str()).unwrap();
        for (decoded, want) in fields.iter().zip(expected(&contract)) {
            let spec = decoded.spec();
            prop_assert_eq!(decoded.raw.chars().count(), spec.width());
            prop_assert_eq!(decoded.value(), want.as_str(), "{}", spec.column);
            let padded = if spec.kind == FieldKind::Place { format!("{want:>w$}", w = spec.width()) } else { format!("{want:<w$}", w = spec.width()) };
            prop_assert_eq!(&decoded.raw, &padded, "{} is padded as the specification says", spec.column);
        }
    }
}
