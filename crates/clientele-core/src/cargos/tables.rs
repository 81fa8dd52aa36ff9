//! The four coding tables of Ca.R.G.O.S.: payment types (table 0), places (1), vehicle types
//! (2) and document types (3).
//!
//! [`CargosTables::builtin`] is the snapshot shipped in `crates/clientele-core/data/cargos/`
//! (see the README there for its provenance and licence), embedded and parsed once. The police
//! refresh their tables (comuni merge every year), so [`CargosTables::parse`] reads the same
//! tables from text: both our snapshot's comma-separated files and the `#`-separated files that
//! the live `api/Tabella` endpoint serves (columns found by header name, `DATAINIZIOVAL` kept when
//! present). Whoever fetches a fresh snapshot stores its texts and builds the tables from them;
//! a text that does not parse is refused whole, so a broken refresh never replaces a good table.

use std::ops::Deref;
use std::sync::{Arc, LazyLock};

use time::Date;

use crate::cargos::places::{Place, PlaceCode, Places};

/// One entry of a small table: a code and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeEntry {
    /// The code as sent in the record (`0`, `A`, `PASOR`).
    pub code: String,
    /// The table's description (`Carta di Credito`, `PASSAPORTO ORDINARIO`).
    pub description: String,
}

/// A small table: payment, vehicle or document types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeTable {
    entries: Vec<CodeEntry>,
}

impl CodeTable {
    /// Every entry, in table order.
    pub fn entries(&self) -> &[CodeEntry] {
        &self.entries
    }

    /// The entry with exactly this code.
    pub fn get(&self, code: &str) -> Option<&CodeEntry> {
        self.entries.iter().find(|entry| entry.code == code)
    }
}

/// The four tables' texts, as CSV with a header row (`,` or `#` separated).
#[derive(Debug, Clone, Copy)]
pub struct CargosTableTexts<'a> {
    /// Table 0, TIPO_PAGAMENTO.
    pub payment_types: &'a str,
    /// Table 1, LUOGHI (COMUNI_STATI).
    pub places: &'a str,
    /// Table 2, TIPO_VEICOLO.
    pub vehicle_types: &'a str,
    /// Table 3, TIPO_DOCUMENTO.
    pub document_types: &'a str,
}

/// Why a table text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Ca.R.G.O.S. table {table}, line {line}: {message}")]
pub struct TableError {
    /// Which table (`TIPO_PAGAMENTO`, `LUOGHI`, ...).
    pub table: &'static str,
    /// The line of the text (1 is the header).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// The four tables.
#[derive(Debug, Clone, Default)]
pub struct CargosTables {
    payment_types: CodeTable,
    places: Places,
    vehicle_types: CodeTable,
    document_types: CodeTable,
}

/// The built-in snapshot's texts.
pub const BUILTIN_TEXTS: CargosTableTexts<'static> = CargosTableTexts {
    payment_types: include_str!("../../data/cargos/tipo_pagamento.csv"),
    places: include_str!("../../data/cargos/luoghi.csv"),
    vehicle_types: include_str!("../../data/cargos/tipo_veicolo.csv"),
    document_types: include_str!("../../data/cargos/tipo_documento.csv"),
};

static BUILTIN: LazyLock<CargosTables> = LazyLock::new(|| {
    CargosTables::parse(BUILTIN_TEXTS).unwrap_or_else(|error| {
        // A test parses the snapshot, so this cannot happen in a build that passed its tests.
        // Should it, empty tables make every code unknown: every record is refused with a
        // clear problem, and nothing wrong is ever sent.
        tracing::error!(%error, "the built-in Ca.R.G.O.S. tables do not parse");
        CargosTables::default()
    })
});

impl CargosTables {
    /// The snapshot shipped with the program, parsed on first use.
    pub fn builtin() -> &'static CargosTables {
        &BUILTIN
    }

    /// Tables from their texts (see the module documentation).
    pub fn parse(texts: CargosTableTexts<'_>) -> Result<Self, TableError> {
        let places = parse_places(texts.places)?;
        Ok(Self {
            payment_types: parse_codes("TIPO_PAGAMENTO", texts.payment_types, 1)?,
            places,
            vehicle_types: parse_codes("TIPO_VEICOLO", texts.vehicle_types, 1)?,
            document_types: parse_codes("TIPO_DOCUMENTO", texts.document_types, 5)?,
        })
    }

    /// Table 0: payment types.
    pub fn payment_types(&self) -> &CodeTable {
        &self.payment_types
    }

    /// Table 1: comuni and states.
    pub fn places(&self) -> &Places {
        &self.places
    }

    /// Table 2: vehicle types.
    pub fn vehicle_types(&self) -> &CodeTable {
        &self.vehicle_types
    }

    /// Table 3: identity document types.
    pub fn document_types(&self) -> &CodeTable {
        &self.document_types
    }
}

/// The tables in use: the built-in snapshot (the default), or a refreshed set kept in the
/// database. Cheap to clone; dereferences to the tables.
#[derive(Debug, Clone, Default)]
pub struct SharedTables(Option<Arc<CargosTables>>);

impl SharedTables {
    /// A refreshed set of tables.
    pub fn refreshed(tables: CargosTables) -> Self {
        Self(Some(Arc::new(tables)))
    }

    /// Whether these are the built-in snapshot.
    pub fn is_builtin(&self) -> bool {
        self.0.is_none()
    }
}

impl Deref for SharedTables {
    type Target = CargosTables;

    fn deref(&self) -> &CargosTables {
        self.0.as_deref().unwrap_or_else(|| CargosTables::builtin())
    }
}

/// The text of a table file as the `Tabella` endpoint sends it: UTF-8 per the manual, but one
/// integration reports Latin-1, so bytes that are not UTF-8 are read as Windows-1252.
pub fn table_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// A CSV reader over `text`, separated by `#` when its header line has one, else by `,`.
fn reader(text: &str) -> csv::Reader<&[u8]> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let header = text.lines().next().unwrap_or_default();
    let delimiter = if header.contains('#') { b'#' } else { b',' };
    csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(text.as_bytes())
}

fn error(table: &'static str, line: u64, message: impl Into<String>) -> TableError {
    TableError { table, line, message: message.into() }
}

fn line_of(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

/// A small table: the first column is the code, the second the description.
fn parse_codes(table: &'static str, text: &str, width: usize) -> Result<CodeTable, TableError> {
    let mut entries: Vec<CodeEntry> = Vec::new();
    for record in reader(text).records() {
        let record = record.map_err(|e| error(table, e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = line_of(&record);
        let code = record.get(0).unwrap_or_default().trim();
        let description = record.get(1).unwrap_or_default().trim();
        if code.chars().count() != width || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(error(table, line, format!("code {code:?} is not {width} letters or digits")));
        }
        if entries.iter().any(|entry| entry.code == code) {
            return Err(error(table, line, format!("code {code} appears twice")));
        }
        entries.push(CodeEntry { code: code.to_owned(), description: description.to_owned() });
    }
    if entries.is_empty() {
        return Err(error(table, 1, "the table is empty"));
    }
    Ok(CodeTable { entries })
}

/// Table 1, its columns found by name: `CODICE`, `DESCRIZIONE`, `PROVINCIA`, `DATAFINEVAL`, and
/// `DATAINIZIOVAL` when present.
fn parse_places(text: &str) -> Result<Places, TableError> {
    const TABLE: &str = "LUOGHI";
    let mut reader = reader(text);
    let headers = reader.headers().map_err(|e| error(TABLE, 1, e.to_string()))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let required = |name: &str| column(name).ok_or_else(|| error(TABLE, 1, format!("no {name} column")));
    let (code_at, name_at, province_at, until_at) =
        (required("CODICE")?, required("DESCRIZIONE")?, required("PROVINCIA")?, required("DATAFINEVAL")?);
    let from_at = column("DATAINIZIOVAL");
    let mut places = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| error(TABLE, e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = line_of(&record);
        let cell = |at: usize| record.get(at).unwrap_or_default().trim();
        let code = PlaceCode::parse(cell(code_at))
            .ok_or_else(|| error(TABLE, line, format!("code {:?} is not 9 digits", cell(code_at))))?;
        let (name, province) = (cell(name_at), cell(province_at));
        if name.is_empty() || province.len() != 2 {
            return Err(error(TABLE, line, "a place needs a name and a 2-letter province (ES for states)"));
        }
        let date = |at: Option<usize>| -> Result<Option<Date>, TableError> {
            let text = at.map(cell).unwrap_or_default();
            if text.is_empty() {
                return Ok(None);
            }
            parse_table_date(text).map(Some).ok_or_else(|| error(TABLE, line, format!("{text:?} is not a date")))
        };
        places.push(Place::new(code, name, province, date(from_at)?, date(Some(until_at))?));
    }
    if places.is_empty() {
        return Err(error(TABLE, 1, "the table is empty"));
    }
    Places::new(places).map_err(|code| error(TABLE, 0, format!("code {code} appears twice")))
}

/// `dd/mm/YYYY`, with or without a time after it (`15/07/1974 00:00:00`), or `YYYY-MM-DD...`.
fn parse_table_date(text: &str) -> Option<Date> {
    let day_first = time::macros::format_description!("[day]/[month]/[year]");
    let iso = time::macros::format_description!("[year]-[month]-[day]");
    let head = text.get(..10)?;
    Date::parse(head, &day_first).or_else(|_| Date::parse(head, &iso)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cargos::places::PlaceKind;
    use time::macros::date;

    #[test]
    fn the_builtin_snapshot_parses_whole() {
        let tables = CargosTables::parse(BUILTIN_TEXTS).unwrap();
        assert_eq!(tables.payment_types().entries().len(), 6);
        assert_eq!(tables.vehicle_types().entries().len(), 10);
        assert_eq!(tables.document_types().entries().len(), 7);
        let places = tables.places().all();
        assert_eq!(places.len(), 11_419);
        assert_eq!(places.iter().filter(|p| p.valid_until().is_none()).count(), 8_131);
        assert_eq!(places.iter().filter(|p| p.kind() != PlaceKind::Comune).count(), 237);
        assert_eq!(CargosTables::builtin().places().all().len(), 11_419);
    }

    #[test]
    fn codes_and_descriptions_are_those_of_the_tables() {
        let tables = CargosTables::builtin();
        assert_eq!(tables.payment_types().get("0").unwrap().description, "Carta di Credito");
        assert_eq!(tables.vehicle_types().get("A").unwrap().description, "Mezzi d'opera");
        assert!(tables.vehicle_types().get("2").is_none());
        assert_eq!(tables.document_types().get("PASOR").unwrap().description, "PASSAPORTO ORDINARIO");
    }

    #[test]
    fn a_live_tabella_file_separated_by_hashes_with_start_dates_is_read() {
        let places = "CODICE#DESCRIZIONE#PROVINCIA#DATAINIZIOVAL#DATAFINEVAL\n\
                      420092555#ORISTANO#CA#01/01/1861 00:00:00#15/07/1974 00:00:00\n\
                      420095038#ORISTANO#OR#16/07/1974 00:00:00#\n";
        let tables = CargosTables::parse(CargosTableTexts { places, ..BUILTIN_TEXTS }).unwrap();
        let oristano = tables.places().get(PlaceCode::parse("420095038").unwrap()).unwrap();
        assert_eq!(oristano.valid_from(), Some(date!(1974 - 07 - 16)));
        let with_bom = format!("\u{feff}{places}");
        assert!(CargosTables::parse(CargosTableTexts { places: &with_bom, ..BUILTIN_TEXTS }).is_ok());
        assert!(!oristano.is_valid_on(date!(1960 - 01 - 01)));
        assert!(oristano.is_valid_on(date!(1974 - 07 - 16)));
    }

    #[test]
    fn a_broken_table_is_refused_whole_with_its_line() {
        let broken = "Codice,Descrizione,Provincia,DataFineVal\n405028001,ABANO TERME,PD,\n12345,NOWHERE,XX,\n";
        let error = CargosTables::parse(CargosTableTexts { places: broken, ..BUILTIN_TEXTS }).unwrap_err();
        assert_eq!((error.table, error.line), ("LUOGHI", 3));
        let twice = "ID,Descrizione\n0,Carta\n0,Contanti\n";
        assert!(CargosTables::parse(CargosTableTexts { payment_types: twice, ..BUILTIN_TEXTS }).is_err());
        let no_column = "Codice,Descrizione,DataFineVal\n405028001,ABANO TERME,\n";
        assert!(CargosTables::parse(CargosTableTexts { places: no_column, ..BUILTIN_TEXTS }).is_err());
    }

    #[test]
    fn table_files_in_latin1_are_read_too() {
        assert_eq!(table_text(b"ID#Descrizione\n1#Citt\xe0"), "ID#Descrizione\n1#Città");
        assert_eq!(table_text("\u{feff}ID#Città".as_bytes()), "ID#Città");
    }
}
