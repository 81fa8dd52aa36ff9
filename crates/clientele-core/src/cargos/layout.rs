//! The record layout ("TRACCIATO RECORD", manual §5): 46 fields in fixed positions, 1505
//! characters in all, and reading a record back field by field.
//!
//! [`LAYOUT`] is the one table every other part reads: the formatter places values by it, the
//! validator takes each field's set, width and presence from it, and [`decode`] cuts a record by
//! it. Positions are 1-based and inclusive, as in the manual. Widths count characters (Unicode
//! scalar values), not bytes: the server is .NET and every allowed character is one UTF-16 unit.

use crate::cargos::charset::{Charset, Cleaning};

/// Characters in every record.
pub const RECORD_CHARS: usize = 1505;

/// The most records one `Check` or `Send` call may carry (the manual's "blocco" of contracts).
pub const MAX_RECORDS_PER_CALL: usize = 100;

/// What a field holds, and so how it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text of a character set, left-aligned and padded with spaces.
    Text(Charset, Cleaning),
    /// `dd/mm/YYYY HH:MM`, Europe/Rome wall-clock time.
    DateTime,
    /// `dd/mm/YYYY`.
    Date,
    /// A code of a small table (payment, vehicle or document type), copied verbatim.
    Code,
    /// A 9-digit place code of table 1 (LUOGHI).
    Place,
    /// `1` yes, `0` no, a space when unknown.
    Flag,
}

/// Whether a field must be filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Always (`SI`).
    Required,
    /// Never (`NO`): all spaces when absent.
    Optional,
    /// The two residence fields go together (`NO*`).
    ResidencePair,
    /// The second driver's fields: all of them or none (`NO**`).
    SecondDriver,
}

/// One field of the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field's number in the manual's table (1 to 46).
    pub number: u8,
    /// The Ca.R.G.O.S. column name, as the server names it in its errors.
    pub column: &'static str,
    /// Our name for the field: its path in [`crate::cargos::record::CargosContract`].
    pub path: &'static str,
    /// What the field means, in English.
    pub meaning: &'static str,
    /// First character, 1-based.
    pub start: usize,
    /// Last character, 1-based, inclusive.
    pub end: usize,
    /// What it holds.
    pub kind: FieldKind,
    /// Whether it must be filled.
    pub presence: Presence,
    /// The fewest characters a filled value may have (the manual's "lunghezza > N" is N + 1).
    pub min_chars: usize,
}

impl FieldSpec {
    /// The field's width in characters.
    pub fn width(&self) -> usize {
        self.end + 1 - self.start
    }
}

macro_rules! layout {
    ($($variant:ident = ($number:literal, $column:literal, $path:literal, $meaning:literal, $start:literal, $end:literal, $kind:expr, $presence:ident, $min:literal),)*) => {
        /// The record's fields, in order; `field as usize` is its index in [`LAYOUT`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $(
                #[doc = $meaning]
                $variant,
            )*
        }

        impl Field {
            /// Every field, in record order.
            pub const ALL: [Field; 46] = [$(Field::$variant),*];
        }

        /// The manual's table, in record order.
        pub static LAYOUT: [FieldSpec; 46] = [$(
            FieldSpec {
                number: $number,
                column: $column,
                path: $path,
                meaning: $meaning,
                start: $start,
                end: $end,
                kind: $kind,
                presence: Presence::$presence,
                min_chars: $min,
            },
        )*];
    };
}

use Charset::{Contact, Digits, Identifier, Letters, Reference, Text as Free};
use FieldKind::{Code, Date, DateTime, Flag, Place, Text};

const FREE_LETTERS: FieldKind = Text(Letters, Cleaning::FreeText);
const FREE_TEXT: FieldKind = Text(Free, Cleaning::FreeText);
const ID_NUMBER: FieldKind = Text(Identifier, Cleaning::Identifier);
const REFERENCE: FieldKind = Text(Reference, Cleaning::Identifier);
const PHONE: FieldKind = Text(Digits, Cleaning::Phone);
const CONTACT: FieldKind = Text(Contact, Cleaning::Contact);

layout! {
    ContractId = (1, "CONTRATTO_ID", "contract_id", "contract id", 1, 50, REFERENCE, Required, 1),
    ContractAt = (2, "CONTRATTO_DATA", "contract_at", "contract date-time", 51, 66, DateTime, Required, 0),
    PaymentType = (3, "CONTRATTO_TIPOP", "payment_type", "payment type", 67, 67, Code, Required, 0),
    PickupAt = (4, "CONTRATTO_CHECKOUT_DATA", "pickup.at", "pick-up date-time", 68, 83, DateTime, Required, 0),
    PickupPlace = (5, "CONTRATTO_CHECKOUT_LUOGO_COD", "pickup.place_code", "pick-up place", 84, 92, Place, Required, 0),
    PickupAddress = (6, "CONTRATTO_CHECKOUT_INDIRIZZO", "pickup.address", "pick-up address", 93, 242, FREE_TEXT, Required, 4),
    DropoffAt = (7, "CONTRATTO_CHECKIN_DATA", "dropoff.at", "return date-time", 243, 258, DateTime, Required, 0),
    DropoffPlace = (8, "CONTRATTO_CHECKIN_LUOGO_COD", "dropoff.place_code", "return place", 259, 267, Place, Required, 0),
    DropoffAddress = (9, "CONTRATTO_CHECKIN_INDIRIZZO", "dropoff.address", "return address", 268, 417, FREE_TEXT, Required, 4),
    OperatorId = (10, "OPERATORE_ID", "operator_id", "operator (employee) id", 418, 467, REFERENCE, Required, 1),
    AgencyId = (11, "AGENZIA_ID", "agency.id", "agency id", 468, 497, REFERENCE, Required, 1),
    AgencyName = (12, "AGENZIA_NOME", "agency.name", "agency name", 498, 567, Text(Reference, Cleaning::FreeText), Required, 1),
    AgencyPlace = (13, "AGENZIA_LUOGO_COD", "agency.place_code", "agency place", 568, 576, Place, Required, 0),
    AgencyAddress = (14, "AGENZIA_INDIRIZZO", "agency.address", "agency address", 577, 726, FREE_TEXT, Required, 4),
    AgencyPhone = (15, "AGENZIA_RECAPITO_TEL", "agency.phone", "agency phone", 727, 746, PHONE, Required, 4),
    VehicleType = (16, "VEICOLO_TIPO", "vehicle.type_code", "vehicle type", 747, 747, Code, Required, 0),
    VehicleMake = (17, "VEICOLO_MARCA", "vehicle.make", "vehicle make", 748, 797, FREE_TEXT, Required, 1),
    VehicleModel = (18, "VEICOLO_MODELLO", "vehicle.model", "vehicle model", 798, 897, FREE_TEXT, Required, 1),
    VehiclePlate = (19, "VEICOLO_TARGA", "vehicle.plate", "vehicle plate", 898, 912, ID_NUMBER, Required, 4),
    VehicleColour = (20, "VEICOLO_COLORE", "vehicle.colour", "vehicle colour", 913, 962, FREE_LETTERS, Optional, 0),
    VehicleGps = (21, "VEICOLO_GPS", "vehicle.gps", "GPS fitted", 963, 963, Flag, Optional, 0),
    VehicleImmobiliser = (22, "VEICOLO_BLOCCOM", "vehicle.immobiliser", "engine immobiliser fitted", 964, 964, Flag, Optional, 0),
    DriverSurname = (23, "CONDUCENTE_CONTRAENTE_COGNOME", "driver.surname", "driver's surname", 965, 1014, FREE_LETTERS, Required, 1),
    DriverName = (24, "CONDUCENTE_CONTRAENTE_NOME", "driver.name", "driver's given name", 1015, 1044, FREE_LETTERS, Required, 1),
    DriverBirthDate = (25, "CONDUCENTE_CONTRAENTE_NASCITA_DATA", "driver.birth_date", "driver's birth date", 1045, 1054, Date, Required, 0),
    DriverBirthPlace = (26, "CONDUCENTE_CONTRAENTE_NASCITA_LUOGO_COD", "driver.birth_place_code", "driver's birth place", 1055, 1063, Place, Required, 0),
    DriverCitizenship = (27, "CONDUCENTE_CONTRAENTE_CITTADINANZA_COD", "driver.citizenship_code", "driver's citizenship", 1064, 1072, Place, Required, 0),
    DriverResidencePlace = (28, "CONDUCENTE_CONTRAENTE_RESIDENZA_LUOGO_COD", "driver.residence_place_code", "driver's residence place", 1073, 1081, Place, ResidencePair, 0),
    DriverResidenceAddress = (29, "CONDUCENTE_CONTRAENTE_RESIDENZA_INDIRIZZO", "driver.residence_address", "driver's residence address", 1082, 1231, FREE_TEXT, ResidencePair, 1),
    DriverDocumentType = (30, "CONDUCENTE_CONTRAENTE_DOCIDE_TIPO_COD", "driver.id_document_type", "driver's identity document type", 1232, 1236, Code, Required, 0),
    DriverDocumentNumber = (31, "CONDUCENTE_CONTRAENTE_DOCIDE_NUMERO", "driver.id_document_number", "driver's identity document number", 1237, 1256, ID_NUMBER, Required, 5),
    DriverDocumentPlace = (32, "CONDUCENTE_CONTRAENTE_DOCIDE_LUOGORIL_COD", "driver.id_document_place_code", "driver's identity document issuing place", 1257, 1265, Place, Required, 0),
    DriverLicenceNumber = (33, "CONDUCENTE_CONTRAENTE_PATENTE_NUMERO", "driver.licence_number", "driver's licence number", 1266, 1285, ID_NUMBER, Required, 5),
    DriverLicencePlace = (34, "CONDUCENTE_CONTRAENTE_PATENTE_LUOGORIL_COD", "driver.licence_place_code", "driver's licence issuing place", 1286, 1294, Place, Required, 0),
    DriverContact = (35, "CONDUCENTE_CONTRAENTE_RECAPITO", "driver.contact", "driver's contact", 1295, 1314, CONTACT, Optional, 0),
    SecondSurname = (36, "CONDUCENTE2_COGNOME", "second_driver.surname", "second driver's surname", 1315, 1364, FREE_LETTERS, SecondDriver, 1),
    SecondName = (37, "CONDUCENTE2_NOME", "second_driver.name", "second driver's given name", 1365, 1394, FREE_LETTERS, SecondDriver, 1),
    SecondBirthDate = (38, "CONDUCENTE2_NASCITA_DATA", "second_driver.birth_date", "second driver's birth date", 1395, 1404, Date, SecondDriver, 0),
    SecondBirthPlace = (39, "CONDUCENTE2_NASCITA_LUOGO_COD", "second_driver.birth_place_code", "second driver's birth place", 1405, 1413, Place, SecondDriver, 0),
    SecondCitizenship = (40, "CONDUCENTE2_CITTADINANZA_COD", "second_driver.citizenship_code", "second driver's citizenship", 1414, 1422, Place, SecondDriver, 0),
    SecondDocumentType = (41, "CONDUCENTE2_DOCIDE_TIPO_COD", "second_driver.id_document_type", "second driver's identity document type", 1423, 1427, Code, SecondDriver, 0),
    // The manual gives no "lunghezza > 4" for this one field, unlike all the other numbers.
    SecondDocumentNumber = (42, "CONDUCENTE2_DOCIDE_NUMERO", "second_driver.id_document_number", "second driver's identity document number", 1428, 1447, ID_NUMBER, SecondDriver, 1),
    SecondDocumentPlace = (43, "CONDUCENTE2_DOCIDE_LUOGORIL_COD", "second_driver.id_document_place_code", "second driver's identity document issuing place", 1448, 1456, Place, SecondDriver, 0),
    SecondLicenceNumber = (44, "CONDUCENTE2_PATENTE_NUMERO", "second_driver.licence_number", "second driver's licence number", 1457, 1476, ID_NUMBER, SecondDriver, 5),
    SecondLicencePlace = (45, "CONDUCENTE2_PATENTE_LUOGORIL_COD", "second_driver.licence_place_code", "second driver's licence issuing place", 1477, 1485, Place, SecondDriver, 0),
    SecondContact = (46, "CONDUCENTE2_RECAPITO", "second_driver.contact", "second driver's contact", 1486, 1505, CONTACT, SecondDriver, 1),
}

impl Field {
    /// The field's row of [`LAYOUT`].
    pub fn spec(self) -> &'static FieldSpec {
        &LAYOUT[self as usize]
    }

    /// The field with Ca.R.G.O.S. column name `column` (as in the server's error messages).
    pub fn from_column(column: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.spec().column == column)
    }

    /// The field a police error description names, so that a refusal can be shown on our field:
    /// `Campo: CONTRATTO_DATA - Data non valida` names [`Field::ContractAt`].
    pub fn from_server_error(description: &str) -> Option<Field> {
        let rest = description.trim().strip_prefix("Campo:")?;
        Field::from_column(rest.split(" - ").next()?.trim())
    }
}

/// One field read back from a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedField {
    /// Which field.
    pub field: Field,
    /// The characters at the field's positions, padding included.
    pub raw: String,
}

impl DecodedField {
    /// The field's layout row.
    pub fn spec(&self) -> &'static FieldSpec {
        self.field.spec()
    }

    /// The value without its padding; empty for a field left blank.
    pub fn value(&self) -> &str {
        self.raw.trim_matches(' ')
    }
}

/// Why a text is not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text is not 1505 characters long.
    #[error("a Ca.R.G.O.S. record has 1505 characters; this one has {0}")]
    Length(usize),
}

/// Cuts `record` into its 46 fields, in order.
pub fn decode(record: &str) -> Result<Vec<DecodedField>, DecodeError> {
    let chars: Vec<char> = record.chars().collect();
    if chars.len() != RECORD_CHARS {
        return Err(DecodeError::Length(chars.len()));
    }
    Ok(Field::ALL
        .into_iter()
        .map(|field| {
            let spec = field.spec();
            DecodedField { field, raw: chars[spec.start - 1..spec.end].iter().collect() }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fields_are_contiguous_numbered_in_order_and_fill_1505_characters() {
        let mut next = 1;
        for (index, spec) in LAYOUT.iter().enumerate() {
            assert_eq!(spec.number as usize, index + 1);
            assert_eq!(spec.start, next, "{} starts where the previous field ended", spec.column);
            next = spec.end + 1;
        }
        assert_eq!(next - 1, RECORD_CHARS);
        assert_eq!(Field::ALL.iter().map(|f| f.spec().width()).sum::<usize>(), RECORD_CHARS);
    }

    #[test]
    fn the_block_sizes_are_those_of_the_specification() {
        let block = |from: Field, to: Field| to.spec().end + 1 - from.spec().start;
        assert_eq!(block(Field::ContractId, Field::DropoffAddress), 417);
        assert_eq!(block(Field::OperatorId, Field::AgencyPhone), 329);
        assert_eq!(block(Field::VehicleType, Field::VehicleImmobiliser), 218);
        assert_eq!(block(Field::DriverSurname, Field::DriverContact), 350);
        assert_eq!(block(Field::SecondSurname, Field::SecondContact), 191);
    }

    #[test]
    fn fields_are_found_by_their_column_name() {
        assert_eq!(Field::from_column("CONDUCENTE_CONTRAENTE_NASCITA_LUOGO_COD"), Some(Field::DriverBirthPlace));
        assert_eq!(Field::from_column("NOPE"), None);
    }

    #[test]
    fn the_field_a_police_error_names_is_found() {
        let refusal = "Campo: CONTRATTO_DATA - Data non valida";
        assert_eq!(Field::from_server_error(refusal), Some(Field::ContractAt));
        let charset = "Campo: AGENZIA_NOME - Vincolo SetCaratteri - Sono presenti caratteri non validi";
        assert_eq!(Field::from_server_error(charset), Some(Field::AgencyName));
        assert_eq!(Field::from_server_error("Token non valido"), None);
    }

    #[test]
    fn a_text_of_another_length_is_no_record() {
        assert_eq!(decode("short"), Err(DecodeError::Length(5)));
        // Characters, not bytes: 1505 'è' are 3010 bytes and one record's worth of characters.
        assert_eq!(decode(&"è".repeat(RECORD_CHARS)).unwrap().len(), 46);
    }
}
