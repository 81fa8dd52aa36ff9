//! Each validation rule, with a case that passes only while the rule is there.

use clientele_core::cargos::{CargosContract, CargosProblem, CargosTables, SecondDriver, format, validate};
use clientele_core::{FieldCode, FieldError};
use time::macros::{date, datetime};

use super::{italian_resident, second_driver};

fn problems(contract: &CargosContract) -> Vec<CargosProblem> {
    let problems = validate(contract, CargosTables::builtin());
    assert_eq!(format(contract, CargosTables::builtin()).err().unwrap_or_default(), problems);
    problems
}

/// Asserts that `contract` has exactly these problems (field path, column, code), in any order.
#[track_caller]
fn assert_problems(contract: &CargosContract, expected: &[(&str, &str, FieldCode)]) {
    let found = problems(contract);
    let mut got: Vec<(&str, &str, FieldCode)> = found.iter().map(|p| (p.field, p.column, p.code)).collect();
    let mut want = expected.to_vec();
    got.sort_by_key(|(field, ..)| *field);
    want.sort_by_key(|(field, ..)| *field);
    assert_eq!(got, want, "problems: {found:#?}");
}

#[track_caller]
fn message(contract: &CargosContract) -> String {
    let found = problems(contract);
    assert_eq!(found.len(), 1, "{found:#?}");
    found[0].message.clone()
}

#[test]
fn the_sample_contracts_are_valid() {
    assert_problems(&italian_resident(), &[]);
    let mut with_second = italian_resident();
    with_second.second_driver = Some(second_driver());
    assert_problems(&with_second, &[]);
}

#[test]
fn every_required_field_left_empty_is_named_at_once() {
    let mut contract = italian_resident();
    contract.contract_id = " ".into();
    contract.payment_type = String::new();
    contract.pickup.place_code = String::new();
    contract.agency.phone = String::new();
    contract.vehicle.plate = String::new();
    contract.driver.birth_date = None;
    contract.driver.licence_number = String::new();
    assert_problems(
        &contract,
        &[
            ("contract_id", "CONTRATTO_ID", FieldCode::Required),
            ("payment_type", "CONTRATTO_TIPOP", FieldCode::Required),
            ("pickup.place_code", "CONTRATTO_CHECKOUT_LUOGO_COD", FieldCode::Required),
            ("agency.phone", "AGENZIA_RECAPITO_TEL", FieldCode::Required),
            ("vehicle.plate", "VEICOLO_TARGA", FieldCode::Required),
            ("driver.birth_date", "CONDUCENTE_CONTRAENTE_NASCITA_DATA", FieldCode::Required),
            ("driver.licence_number", "CONDUCENTE_CONTRAENTE_PATENTE_NUMERO", FieldCode::Required),
        ],
    );
}

#[test]
fn optional_fields_may_be_empty() {
    let mut contract = italian_resident();
    contract.vehicle.colour = String::new();
    contract.vehicle.gps = None;
    contract.driver.contact = String::new();
    contract.driver.residence_place_code = String::new();
    contract.driver.residence_address = String::new();
    assert_problems(&contract, &[]);
}

#[test]
fn characters_outside_a_fields_set_are_refused_with_the_characters_named() {
    let mut contract = italian_resident();
    contract.vehicle.plate = "AB/123".into();
    contract.driver.name = "Mario2".into();
    contract.agency.phone = "06 CALL NOW".into();
    assert_problems(
        &contract,
        &[
            ("vehicle.plate", "VEICOLO_TARGA", FieldCode::Invalid),
            ("driver.name", "CONDUCENTE_CONTRAENTE_NOME", FieldCode::Invalid),
            ("agency.phone", "AGENZIA_RECAPITO_TEL", FieldCode::Invalid),
        ],
    );
    let mut plate = italian_resident();
    plate.vehicle.plate = "AB/123".into();
    assert!(message(&plate).contains("'/'"), "{}", message(&plate));
}

#[test]
fn names_in_another_script_are_refused_not_guessed() {
    let mut contract = italian_resident();
    contract.driver.surname = "Иванов".into();
    assert!(message(&contract).contains("Latin letters"));
}

#[test]
fn an_email_address_cannot_be_a_contact() {
    let mut contract = italian_resident();
    contract.driver.contact = "mario.rossi@example.com".into();
    assert_problems(&contract, &[("driver.contact", "CONDUCENTE_CONTRAENTE_RECAPITO", FieldCode::Invalid)]);
    assert!(message(&contract).contains("e-mail"));
}

#[test]
fn a_value_longer_than_its_field_is_refused_never_cut() {
    let mut contract = italian_resident();
    contract.contract_id = "C".repeat(51);
    contract.vehicle.plate = "AB123CD45678901X".into(); // 16 for 15
    // 30 characters as typed, 31 as sent: æ becomes "ae".
    contract.driver.name = format!("{}æ", "a".repeat(29));
    assert_problems(
        &contract,
        &[
            ("contract_id", "CONTRATTO_ID", FieldCode::TooLong),
            ("vehicle.plate", "VEICOLO_TARGA", FieldCode::TooLong),
            ("driver.name", "CONDUCENTE_CONTRAENTE_NOME", FieldCode::TooLong),
        ],
    );
    let mut fits = italian_resident();
    fits.contract_id = "C".repeat(50);
    fits.driver.name = "à".repeat(30); // 30 characters, 60 bytes: fits
    assert_problems(&fits, &[]);
}

#[test]
fn values_shorter_than_the_manuals_minimum_are_refused() {
    let mut contract = italian_resident();
    contract.pickup.address = "Via".into(); // "lunghezza > 3"
    contract.agency.phone = "112".into();
    contract.vehicle.plate = "AB1".into();
    contract.driver.id_document_number = "1234".into(); // "lunghezza > 4"
    contract.driver.licence_number = "L-12".into();
    assert_problems(
        &contract,
        &[
            ("pickup.address", "CONTRATTO_CHECKOUT_INDIRIZZO", FieldCode::TooShort),
            ("agency.phone", "AGENZIA_RECAPITO_TEL", FieldCode::TooShort),
            ("vehicle.plate", "VEICOLO_TARGA", FieldCode::TooShort),
            ("driver.id_document_number", "CONDUCENTE_CONTRAENTE_DOCIDE_NUMERO", FieldCode::TooShort),
            ("driver.licence_number", "CONDUCENTE_CONTRAENTE_PATENTE_NUMERO", FieldCode::TooShort),
        ],
    );
    let mut minimum = italian_resident();
    minimum.pickup.address = "Via1".into();
    minimum.vehicle.plate = "AB12".into();
    minimum.driver.id_document_number = "12345".into();
    assert_problems(&minimum, &[]);
}

#[test]
fn the_second_drivers_document_number_has_no_minimum_as_in_the_manual() {
    let mut contract = italian_resident();
    contract.second_driver = Some(SecondDriver { id_document_number: "X1".into(), ..second_driver() });
    assert_problems(&contract, &[]);
    contract.second_driver = Some(SecondDriver { licence_number: "X1".into(), ..second_driver() });
    assert_problems(&contract, &[("second_driver.licence_number", "CONDUCENTE2_PATENTE_NUMERO", FieldCode::TooShort)]);
}

#[test]
fn codes_must_be_in_their_tables() {
    let mut contract = italian_resident();
    contract.payment_type = "7".into();
    contract.vehicle.type_code = "2".into(); // table 2 has no 2
    contract.driver.id_document_type = "CI".into(); // a README's invention
    assert_problems(
        &contract,
        &[
            ("payment_type", "CONTRATTO_TIPOP", FieldCode::UnknownReference),
            ("vehicle.type_code", "VEICOLO_TIPO", FieldCode::UnknownReference),
            ("driver.id_document_type", "CONDUCENTE_CONTRAENTE_DOCIDE_TIPO_COD", FieldCode::UnknownReference),
        ],
    );
}

#[test]
fn place_codes_must_be_nine_digits_of_the_places_table() {
    let mut contract = italian_resident();
    contract.agency.place_code = "12058091".into();
    contract.dropoff.place_code = "401028044".into(); // 9 digits, but no such place
    contract.driver.licence_place_code = "ROMA".into();
    assert_problems(
        &contract,
        &[
            ("agency.place_code", "AGENZIA_LUOGO_COD", FieldCode::Invalid),
            ("dropoff.place_code", "CONTRATTO_CHECKIN_LUOGO_COD", FieldCode::UnknownReference),
            ("driver.licence_place_code", "CONDUCENTE_CONTRAENTE_PATENTE_LUOGORIL_COD", FieldCode::Invalid),
        ],
    );
}

#[test]
fn a_citizenship_is_a_state_or_apolide_and_apolide_is_nothing_else() {
    let mut contract = italian_resident();
    contract.driver.citizenship_code = "412058091".into(); // ROMA
    assert_problems(
        &contract,
        &[("driver.citizenship_code", "CONDUCENTE_CONTRAENTE_CITTADINANZA_COD", FieldCode::UnknownReference)],
    );
    contract.driver.citizenship_code = "100000999".into(); // APOLIDE
    assert_problems(&contract, &[]);
    contract.driver.birth_place_code = "100000999".into();
    assert_problems(
        &contract,
        &[("driver.birth_place_code", "CONDUCENTE_CONTRAENTE_NASCITA_LUOGO_COD", FieldCode::UnknownReference)],
    );
}

#[test]
fn a_birth_or_residence_in_italy_is_given_by_its_comune_not_as_italia() {
    let mut contract = italian_resident();
    contract.driver.birth_place_code = "100000100".into();
    contract.driver.residence_place_code = "100000100".into();
    assert_problems(
        &contract,
        &[
            ("driver.birth_place_code", "CONDUCENTE_CONTRAENTE_NASCITA_LUOGO_COD", FieldCode::UnknownReference),
            ("driver.residence_place_code", "CONDUCENTE_CONTRAENTE_RESIDENZA_LUOGO_COD", FieldCode::UnknownReference),
        ],
    );
    // Abroad, the state is the place.
    contract.driver.birth_place_code = "100000215".into();
    contract.driver.residence_place_code = "100000215".into();
    assert_problems(&contract, &[]);
}

#[test]
fn the_birth_place_must_be_valid_on_the_birth_date() {
    // ORISTANO was 420092555 (CA) until 15/07/1974, then 420095038 (OR).
    let mut contract = italian_resident();
    contract.driver.birth_place_code = "420092555".into();
    contract.driver.birth_date = Some(date!(1974 - 07 - 15)); // its last day still counts
    assert_problems(&contract, &[]);
    contract.driver.birth_date = Some(date!(1980 - 01 - 01));
    assert_problems(
        &contract,
        &[("driver.birth_place_code", "CONDUCENTE_CONTRAENTE_NASCITA_LUOGO_COD", FieldCode::UnknownReference)],
    );
    assert!(message(&contract).contains("ceased to exist on 15/07/1974"), "{}", message(&contract));
    // The second driver too.
    let mut second = italian_resident();
    second.second_driver = Some(SecondDriver {
        birth_place_code: "420092555".into(),
        birth_date: Some(date!(1990 - 01 - 01)),
        ..second_driver()
    });
    assert_problems(
        &second,
        &[("second_driver.birth_place_code", "CONDUCENTE2_NASCITA_LUOGO_COD", FieldCode::UnknownReference)],
    );
}

#[test]
fn places_of_the_rental_must_be_valid_on_its_days() {
    let mut contract = italian_resident();
    contract.pickup.place_code = "403013019".into(); // BELLAGIO before its 2014 merger
    contract.agency.place_code = "403013019".into();
    contract.driver.citizenship_code = "100000210".into(); // CECOSLOVACCHIA, until 1993
    contract.driver.residence_place_code = "403013019".into();
    assert_problems(
        &contract,
        &[
            ("pickup.place_code", "CONTRATTO_CHECKOUT_LUOGO_COD", FieldCode::UnknownReference),
            ("agency.place_code", "AGENZIA_LUOGO_COD", FieldCode::UnknownReference),
            ("driver.citizenship_code", "CONDUCENTE_CONTRAENTE_CITTADINANZA_COD", FieldCode::UnknownReference),
            ("driver.residence_place_code", "CONDUCENTE_CONTRAENTE_RESIDENZA_LUOGO_COD", FieldCode::UnknownReference),
        ],
    );
}

#[test]
fn a_document_issued_by_a_comune_since_merged_away_is_still_accepted() {
    let mut contract = italian_resident();
    contract.driver.id_document_place_code = "403013019".into();
    contract.driver.licence_place_code = "403013019".into();
    assert_problems(&contract, &[]);
}

#[test]
fn the_residence_place_and_address_go_together() {
    let mut contract = italian_resident();
    contract.driver.residence_address = String::new();
    assert_problems(
        &contract,
        &[("driver.residence_address", "CONDUCENTE_CONTRAENTE_RESIDENZA_INDIRIZZO", FieldCode::Required)],
    );
    let mut contract = italian_resident();
    contract.driver.residence_place_code = " ".into();
    assert_problems(
        &contract,
        &[("driver.residence_place_code", "CONDUCENTE_CONTRAENTE_RESIDENZA_LUOGO_COD", FieldCode::Required)],
    );
}

#[test]
fn a_second_driver_has_every_field_or_none() {
    let mut contract = italian_resident();
    contract.second_driver = Some(SecondDriver { surname: "Bianchi".into(), ..SecondDriver::default() });
    let found = problems(&contract);
    let mut columns: Vec<&str> = found.iter().map(|p| p.column).collect();
    columns.sort_unstable();
    assert_eq!(
        columns,
        [
            "CONDUCENTE2_CITTADINANZA_COD",
            "CONDUCENTE2_DOCIDE_LUOGORIL_COD",
            "CONDUCENTE2_DOCIDE_NUMERO",
            "CONDUCENTE2_DOCIDE_TIPO_COD",
            "CONDUCENTE2_NASCITA_DATA",
            "CONDUCENTE2_NASCITA_LUOGO_COD",
            "CONDUCENTE2_NOME",
            "CONDUCENTE2_PATENTE_LUOGORIL_COD",
            "CONDUCENTE2_PATENTE_NUMERO",
            "CONDUCENTE2_RECAPITO",
        ]
    );
    assert!(found.iter().all(|p| p.code == FieldCode::Required && p.message.contains("remove the second driver")));
    // A second driver with nothing filled in is no second driver.
    contract.second_driver = Some(SecondDriver::default());
    assert_problems(&contract, &[]);
}

#[test]
fn a_second_drivers_contact_is_required_as_the_manual_says() {
    let mut contract = italian_resident();
    contract.second_driver = Some(SecondDriver { contact: String::new(), ..second_driver() });
    assert_problems(&contract, &[("second_driver.contact", "CONDUCENTE2_RECAPITO", FieldCode::Required)]);
}

#[test]
fn the_return_cannot_come_before_the_pick_up() {
    let mut contract = italian_resident();
    contract.dropoff.at = datetime!(2026-06-30 10:00 UTC);
    assert_problems(&contract, &[("dropoff.at", "CONTRATTO_CHECKIN_DATA", FieldCode::OutOfRange)]);
}

#[test]
fn date_times_before_1996_cannot_be_written_in_rome_time() {
    let mut contract = italian_resident();
    contract.contract_at = datetime!(1995-12-31 12:00 UTC);
    assert_problems(&contract, &[("contract_at", "CONTRATTO_DATA", FieldCode::OutOfRange)]);
}

#[test]
fn no_one_is_born_after_the_contract_or_before_1900() {
    let mut contract = italian_resident();
    contract.driver.birth_date = Some(date!(2026 - 01 - 16));
    assert_problems(&contract, &[("driver.birth_date", "CONDUCENTE_CONTRAENTE_NASCITA_DATA", FieldCode::OutOfRange)]);
    contract.driver.birth_date = Some(date!(1899 - 12 - 31));
    assert_problems(&contract, &[("driver.birth_date", "CONDUCENTE_CONTRAENTE_NASCITA_DATA", FieldCode::OutOfRange)]);
}

#[test]
fn problems_become_field_errors_naming_the_column() {
    let mut contract = italian_resident();
    contract.vehicle.type_code = "2".into();
    let problem = problems(&contract).remove(0);
    assert!(problem.message.contains("0 Autovetture"), "{}", problem.message);
    assert_eq!(problem.to_string(), format!("vehicle.type_code (VEICOLO_TIPO): {}", problem.message));
    let error = FieldError::from(problem);
    assert_eq!(error.field, "vehicle.type_code");
    assert!(error.message.ends_with("(Ca.R.G.O.S. VEICOLO_TIPO)"));
}
