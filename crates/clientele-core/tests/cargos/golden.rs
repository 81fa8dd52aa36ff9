//! Golden records, written by hand from the specification's layout table (`shared/specs/cargos.md`
//! §1): each field's value as the specification says it is written, and its width as the table
//! gives it. Nothing here comes from the formatter or from `LAYOUT`.

use clientele_core::cargos::{CargosTables, decode, format};
use time::macros::{date, datetime};

use super::{at, italian_resident, pad, second_driver};

/// Driver 1's block when the second driver is absent: 191 spaces (positions 1315 to 1505).
fn no_second_driver() -> Vec<(&'static str, usize)> {
    vec![("", 191)]
}

/// The record from (value, width) pairs, checking that the widths add up to 1505.
fn by_hand(fields: &[(&str, usize)]) -> String {
    assert_eq!(fields.iter().map(|(_, width)| width).sum::<usize>(), 1505, "the widths are the table's");
    fields.iter().map(|(value, width)| pad(value, *width)).collect()
}

/// Fields 1 to 22 (contract, operator and agency, vehicle) of the Italian resident's contract.
fn contract_agency_vehicle() -> Vec<(&'static str, usize)> {
    vec![
        ("CTR-2026-0001", 50),          // 1 CONTRATTO_ID 1-50
        ("15/01/2026 10:30", 16),       // 2 CONTRATTO_DATA 51-66: 09:30:45 UTC, CET (+1), seconds dropped
        ("0", 1),                       // 3 CONTRATTO_TIPOP 67
        ("01/07/2026 08:00", 16),       // 4 CONTRATTO_CHECKOUT_DATA 68-83: 06:00 UTC, CEST (+2)
        ("412058091", 9),               // 5 CONTRATTO_CHECKOUT_LUOGO_COD 84-92: ROMA
        ("Via Marsala 29", 150),        // 6 CONTRATTO_CHECKOUT_INDIRIZZO 93-242
        ("05/07/2026 18:45", 16),       // 7 CONTRATTO_CHECKIN_DATA 243-258
        ("403015146", 9),               // 8 CONTRATTO_CHECKIN_LUOGO_COD 259-267: MILANO
        ("Piazza Duca d'Aosta 1", 150), // 9 CONTRATTO_CHECKIN_INDIRIZZO 268-417
        ("op.rossi", 50),               // 10 OPERATORE_ID 418-467
        ("AG-001", 30),                 // 11 AGENZIA_ID 468-497
        ("Rent Go Roma", 70),           // 12 AGENZIA_NOME 498-567
        ("412058091", 9),               // 13 AGENZIA_LUOGO_COD 568-576
        ("Via Marsala 29", 150),        // 14 AGENZIA_INDIRIZZO 577-726
        ("39061234567", 20),            // 15 AGENZIA_RECAPITO_TEL 727-746: "+39 06 1234567", digits only
        ("0", 1),                       // 16 VEICOLO_TIPO 747
        ("Fiat", 50),                   // 17 VEICOLO_MARCA 748-797
        ("Panda 1.2", 100),             // 18 VEICOLO_MODELLO 798-897
        ("AB123CD", 15),                // 19 VEICOLO_TARGA 898-912
        ("Bianco", 50),                 // 20 VEICOLO_COLORE 913-962
        ("1", 1),                       // 21 VEICOLO_GPS 963
        ("0", 1),                       // 22 VEICOLO_BLOCCOM 964
    ]
}

/// Fields 23 to 35 of Mario Rossi, born and resident in Italy.
fn mario_rossi() -> Vec<(&'static str, usize)> {
    vec![
        ("Rossi", 50),                 // 23 CONDUCENTE_CONTRAENTE_COGNOME 965-1014
        ("Mario", 30),                 // 24 ..._NOME 1015-1044
        ("12/03/1985", 10),            // 25 ..._NASCITA_DATA 1045-1054
        ("412058091", 9),              // 26 ..._NASCITA_LUOGO_COD 1055-1063: ROMA
        ("100000100", 9),              // 27 ..._CITTADINANZA_COD 1064-1072: ITALIA
        ("403015146", 9),              // 28 ..._RESIDENZA_LUOGO_COD 1073-1081: MILANO
        ("Via Torino 5, Milano", 150), // 29 ..._RESIDENZA_INDIRIZZO 1082-1231
        ("IDENT", 5),                  // 30 ..._DOCIDE_TIPO_COD 1232-1236
        ("CA12345AB", 20),             // 31 ..._DOCIDE_NUMERO 1237-1256
        ("412058091", 9),              // 32 ..._DOCIDE_LUOGORIL_COD 1257-1265
        ("RM1234567X", 20),            // 33 ..._PATENTE_NUMERO 1266-1285
        ("412058091", 9),              // 34 ..._PATENTE_LUOGORIL_COD 1286-1294
        ("+393331234567", 20),         // 35 ..._RECAPITO 1295-1314: spaces removed
    ]
}

fn formatted(contract: &clientele_core::cargos::CargosContract) -> String {
    format(contract, CargosTables::builtin()).unwrap().into_string()
}

#[test]
fn an_italian_resident_gives_the_record_written_by_hand() {
    let expected = by_hand(&[contract_agency_vehicle(), mario_rossi(), no_second_driver()].concat());
    let record = formatted(&italian_resident());
    assert_eq!(record, expected);
    assert_eq!(record.chars().count(), 1505);
    assert_eq!(at(&record, 51, 66), "15/01/2026 10:30");
    assert_eq!(at(&record, 1055, 1063), "412058091");
    assert_eq!(at(&record, 1315, 1505), " ".repeat(191));
}

#[test]
fn a_foreign_citizen_born_abroad_gives_the_record_written_by_hand() {
    let mut contract = italian_resident();
    contract.vehicle.colour = String::new();
    contract.vehicle.gps = None;
    contract.vehicle.immobiliser = None;
    let driver = &mut contract.driver;
    driver.surname = "Schmidt".into();
    driver.name = "Jürgen".into();
    driver.birth_date = Some(date!(1979 - 11 - 02));
    driver.birth_place_code = "100000216".into();
    driver.citizenship_code = "100000216".into();
    driver.residence_place_code = String::new();
    driver.residence_address = String::new();
    driver.id_document_type = "PASOR".into();
    driver.id_document_number = "C01X00T47".into();
    driver.id_document_place_code = "100000216".into();
    driver.licence_number = "B072RRE2I55".into();
    driver.licence_place_code = "100000216".into();
    driver.contact = String::new();

    let mut vehicle_unknowns = contract_agency_vehicle();
    vehicle_unknowns[19] = ("", 50); // 20 VEICOLO_COLORE: optional, absent
    vehicle_unknowns[20] = ("", 1); // 21 VEICOLO_GPS: unknown is a space
    vehicle_unknowns[21] = ("", 1); // 22 VEICOLO_BLOCCOM: unknown is a space
    let juergen = vec![
        ("Schmidt", 50),     // 23
        ("Jürgen", 30),      // 24: ü is in set 1, kept; one character, not two bytes
        ("02/11/1979", 10),  // 25
        ("100000216", 9),    // 26: GERMANIA, a state for a birth abroad
        ("100000216", 9),    // 27: GERMANIA
        ("", 9),             // 28: no residence: 9 spaces, never 000000000
        ("", 150),           // 29
        ("PASOR", 5),        // 30
        ("C01X00T47", 20),   // 31
        ("100000216", 9),    // 32
        ("B072RRE2I55", 20), // 33
        ("100000216", 9),    // 34
        ("", 20),            // 35: no contact
    ];
    let expected = by_hand(&[vehicle_unknowns, juergen, no_second_driver()].concat());
    let record = formatted(&contract);
    assert_eq!(record, expected);
    assert_eq!(record.len(), 1506, "1505 characters, 1506 bytes: ü is two bytes in UTF-8");
    assert_eq!(at(&record, 963, 964), "  ");
}

#[test]
fn a_second_driver_fills_the_last_191_characters_as_written_by_hand() {
    let mut contract = italian_resident();
    contract.second_driver = Some(second_driver());
    let anna = vec![
        ("Bianchi", 50),    // 36 CONDUCENTE2_COGNOME 1315-1364
        ("Anna", 30),       // 37 CONDUCENTE2_NOME 1365-1394
        ("20/05/1990", 10), // 38 CONDUCENTE2_NASCITA_DATA 1395-1404
        ("407010025", 9),   // 39 CONDUCENTE2_NASCITA_LUOGO_COD 1405-1413: GENOVA
        ("100000100", 9),   // 40 CONDUCENTE2_CITTADINANZA_COD 1414-1422
        ("PATEN", 5),       // 41 CONDUCENTE2_DOCIDE_TIPO_COD 1423-1427: no residence fields before it
        ("GE5551234Z", 20), // 42 CONDUCENTE2_DOCIDE_NUMERO 1428-1447
        ("407010025", 9),   // 43 CONDUCENTE2_DOCIDE_LUOGORIL_COD 1448-1456
        ("GE5551234Z", 20), // 44 CONDUCENTE2_PATENTE_NUMERO 1457-1476
        ("407010025", 9),   // 45 CONDUCENTE2_PATENTE_LUOGORIL_COD 1477-1485
        ("3471234567", 20), // 46 CONDUCENTE2_RECAPITO 1486-1505
    ];
    let expected = by_hand(&[contract_agency_vehicle(), mario_rossi(), anna].concat());
    let record = formatted(&contract);
    assert_eq!(record, expected);
    assert_eq!(at(&record, 1423, 1427), "PATEN");
    assert_eq!(at(&record, 1486, 1505), pad("3471234567", 20));
}

#[test]
fn a_birth_comune_that_no_longer_exists_is_written_with_its_old_code() {
    // BELLAGIO (CO) was 403013019 until 03/02/2014, when it merged with Civenna and became
    // 403013250. Someone born there in 1950 keeps the old code.
    let mut contract = italian_resident();
    contract.driver.birth_date = Some(date!(1950 - 06 - 30));
    contract.driver.birth_place_code = "403013019".into();
    let mut driver = mario_rossi();
    driver[2] = ("30/06/1950", 10); // 25
    driver[3] = ("403013019", 9); // 26: BELLAGIO as it was in 1950
    let expected = by_hand(&[contract_agency_vehicle(), driver, no_second_driver()].concat());
    assert_eq!(formatted(&contract), expected);
}

#[test]
fn names_with_accents_and_apostrophes_are_written_as_the_specification_transliterates_them() {
    let mut contract = italian_resident();
    contract.contract_at = datetime!(2026-10-25 00:59 UTC); // the last minute of summer time
    let driver = &mut contract.driver;
    driver.surname = "D’Alessandro-Nicolò".into(); // typographic apostrophe; hyphen not in set 1
    driver.name = "Zoë Renée".into(); // ë and é are not in set 1: base letters
    driver.residence_address = "Via dell’Indipendenza 3/B".into(); // '/' is not in set 2
    let mut head = contract_agency_vehicle();
    head[1] = ("25/10/2026 02:59", 16); // 2: still CEST (+2)
    let mut driver = mario_rossi();
    driver[0] = ("D'Alessandro Nicolò", 50); // 23: 19 characters, 20 bytes
    driver[1] = ("Zoe Renee", 30); // 24
    driver[6] = ("Via dell'Indipendenza 3 B", 150); // 29
    let expected = by_hand(&[head, driver, no_second_driver()].concat());
    let record = formatted(&contract);
    assert_eq!(record, expected);
    let fields = decode(&record).unwrap();
    assert_eq!(fields[22].value(), "D'Alessandro Nicolò");
}
