//! Reading CSV files as people have them: the encoding (UTF-8 with or without BOM, UTF-16 from
//! Excel's "Unicode text", Windows-1252), the delimiter (comma, semicolon, tab), ragged rows,
//! and rows too long to be true; the header, then the data rows a batch at a time.

use crate::error::{FieldCode, FieldError};
use crate::imports::bounded::{Bounded, BoundedRecords, MAX_CELL_BYTES};

/// A file decoded to text, with what was found out about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The text, without a byte-order mark.
    pub text: String,
    /// `utf-8`, `utf-16le`, `utf-16be` or `windows-1252`.
    pub encoding: &'static str,
    /// The delimiter found: `,`, `;` or tab.
    pub delimiter: u8,
}

/// Decodes a CSV file and finds its delimiter. A file that is empty or binary is refused with
/// the reason.
pub fn decode(bytes: &[u8]) -> std::result::Result<Decoded, String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("the file is empty".into());
    }
    let (text, encoding) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        (String::from_utf8_lossy(rest).into_owned(), "utf-8")
    } else if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        let (encoding, name) =
            if bytes[0] == 0xFF { (encoding_rs::UTF_16LE, "utf-16le") } else { (encoding_rs::UTF_16BE, "utf-16be") };
        let (text, _) = encoding.decode_with_bom_removal(bytes);
        (text.into_owned(), name)
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        (text.to_owned(), "utf-8")
    } else {
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
        (text.into_owned(), "windows-1252")
    };
    let text = text.trim_start_matches('\u{feff}').to_owned();
    // Text files have no NULs or other C0 controls besides tab, CR, LF (and the odd form feed).
    let head: String = text.chars().take(8192).collect();
    let controls = head.chars().filter(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n' | '\u{c}')).count();
    if controls > 0 {
        return Err("the file is not a CSV text file (it holds binary data)".into());
    }
    Ok(Decoded { delimiter: sniff_delimiter(&text), text, encoding })
}

/// The delimiter of the header line: whichever of `,` `;` tab occurs most outside quotes.
fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => break,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], usize::from(i == 0))).unwrap_or(0);
    [b',', b';', b'\t'][best]
}

/// How a file is written, found from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// `utf-8`, `utf-16le`, `utf-16be` or `windows-1252`: what the first bytes are. A UTF-8 file
    /// with a stray Windows-1252 row later on still reads: such a row is decoded on its own.
    pub encoding: &'static str,
    /// `,`, `;` or tab.
    pub delimiter: u8,
}

/// The format of a file from its first bytes (64 KiB is plenty), or why it is no CSV.
pub fn sniff(prefix: &[u8]) -> std::result::Result<Format, String> {
    // The prefix may end inside a multi-byte character: judge the part that is whole.
    let whole = match std::str::from_utf8(prefix) {
        Err(e) if e.error_len().is_none() => &prefix[..e.valid_up_to()],
        _ => prefix,
    };
    let decoded = decode(whole)?;
    Ok(Format { encoding: decoded.encoding, delimiter: decoded.delimiter })
}

/// A record's cells as text, decided row by row: UTF-8 where the row is valid UTF-8, else
/// Windows-1252. Files mix them when they were appended to by different programs: a stray
/// Windows-1252 row in a UTF-8 file, or UTF-8 rows after a Windows-1252 start (a file sniffed
/// as Windows-1252 from its first bytes). Text in Windows-1252 that is also valid UTF-8 needs
/// a byte from `Â`-`ô` followed by one from `€`-`¿`, which names do not have.
pub fn record_text(record: &csv::ByteRecord, _format: Format) -> Vec<String> {
    let utf8: Option<Vec<String>> =
        record.iter().map(|cell| std::str::from_utf8(cell).ok().map(str::to_owned)).collect();
    match utf8 {
        Some(cells) => cells,
        None => record.iter().map(|cell| encoding_rs::WINDOWS_1252.decode(cell).0.into_owned()).collect(),
    }
}

/// Reads UTF-16 as UTF-8, piece by piece (for Excel's "Unicode text" files).
pub struct Utf16Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    /// The input has ended.
    done: bool,
    /// The decoder has been told so and has given all it had: it must not be called again.
    finished: bool,
}

impl<R: std::io::Read> Utf16Reader<R> {
    /// Decodes `inner`, whose BOM says which UTF-16 it is.
    pub fn new(inner: R, big_endian: bool) -> Self {
        let encoding = if big_endian { encoding_rs::UTF_16BE } else { encoding_rs::UTF_16LE };
        Self {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            input: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            done: false,
            finished: false,
        }
    }
}

impl<R: std::io::Read> std::io::Read for Utf16Reader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.finished {
                return Ok(0);
            }
            if self.start == self.end && !self.done {
                self.start = 0;
                self.end = self.inner.read(&mut self.input)?;
                self.done = self.end == 0;
            }
            if out.len() < 4 {
                return Err(std::io::Error::other("the read buffer is too small for UTF-8"));
            }
            let (result, read, written, _) =
                self.decoder.decode_to_utf8(&self.input[self.start..self.end], out, self.done);
            self.start += read;
            if self.done && result == encoding_rs::CoderResult::InputEmpty {
                self.finished = true;
            }
            if written > 0 || self.finished {
                return Ok(written);
            }
        }
    }
}

/// The records of a file of `format`, streamed from `source` (UTF-16 read as UTF-8), tolerant
/// of ragged rows (they are judged row by row: [`fit`]) and bounded in size as they are read
/// ([`BoundedRecords`]). Turn each into text with [`record_text`].
pub fn records<R: std::io::Read + Send + 'static>(source: R, format: Format) -> BoundedRecords {
    let source: Box<dyn std::io::Read + Send> = match format.encoding {
        "utf-16le" => Box::new(Utf16Reader::new(source, false)),
        "utf-16be" => Box::new(Utf16Reader::new(source, true)),
        _ => Box::new(source),
    };
    BoundedRecords::new(source, format.delimiter)
}

/// A row's cells with trailing empty cells beyond `width` dropped and short rows padded; `Err`
/// names a row with more cells than the header.
pub fn fit(mut cells: Vec<String>, width: usize) -> std::result::Result<Vec<String>, FieldError> {
    while cells.len() > width && cells.last().is_some_and(|c| c.trim().is_empty()) {
        cells.pop();
    }
    if cells.len() > width {
        return Err(FieldError::new(
            "row",
            FieldCode::Invalid,
            format!("the row has {} cells but the header has {width}", cells.len()),
        ));
    }
    cells.resize(width, String::new());
    Ok(cells)
}

/// A data row as read: its number (1 is the first row after the header), its cells fitted to
/// the header's width, and what made it unreadable, if anything.
#[derive(Debug, Clone)]
pub struct Line {
    pub(crate) row: i64,
    pub(crate) cells: Vec<String>,
    pub(crate) problem: Option<FieldError>,
}

impl Line {
    /// The row's number.
    pub fn row(&self) -> i64 {
        self.row
    }
}

/// A file's header and then its data rows, a batch at a time, from a reader the caller owns
/// (it reads from it, so run it where blocking is allowed).
pub struct LineReader {
    records: BoundedRecords,
    format: Format,
    headers: Vec<String>,
    row: i64,
}

impl std::fmt::Debug for LineReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineReader").field("format", &self.format).field("row", &self.row).finish_non_exhaustive()
    }
}

impl LineReader {
    /// Reads the header row of `source`, a file of `format` (see [`sniff`]) from its start; or
    /// says why the file cannot be read.
    pub fn open<R: std::io::Read + Send + 'static>(source: R, format: Format) -> std::result::Result<Self, String> {
        let mut records = records(source, format);
        let headers = match records.next() {
            Some(Ok(Bounded::Record(header))) => {
                let mut headers = record_text(&header, format);
                if let Some(first) = headers.first_mut() {
                    *first = first.trim_start_matches('\u{feff}').to_owned();
                }
                headers
            }
            Some(Ok(_)) => return Err("the header row is longer than a header can be (is this a CSV file?)".into()),
            Some(Err(e)) => return Err(format!("the header cannot be read: {e}")),
            None => return Err("the file is empty".into()),
        };
        Ok(Self { records, format, headers, row: 0 })
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The header row's cells.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The next data rows, at most `max`; none at the end of the file. A row that cannot be
    /// read (bad quoting, too long, more cells than the header) comes with its problem.
    pub fn next_lines(&mut self, max: usize) -> Vec<Line> {
        let mut lines = Vec::with_capacity(max.min(4096));
        while lines.len() < max {
            let Some(record) = self.records.next() else { break };
            self.row += 1;
            let row = self.row;
            lines.push(match record {
                Ok(Bounded::RowTooLong) => Line {
                    row,
                    cells: Vec::new(),
                    problem: Some(FieldError::new(
                        "row",
                        FieldCode::TooLong,
                        "the row is longer than 1 MiB (an unclosed quote?)",
                    )),
                },
                Ok(Bounded::CellTooLong(index)) => {
                    let column = self.headers.get(index).map_or_else(|| format!("column {}", index + 1), |h| h.clone());
                    Line {
                        row,
                        cells: Vec::new(),
                        problem: Some(FieldError::new(
                            "row",
                            FieldCode::TooLong,
                            format!("the cell of {column:?} is longer than {} KiB", MAX_CELL_BYTES / 1024),
                        )),
                    }
                }
                Ok(Bounded::Record(record)) => {
                    let text = record_text(&record, self.format);
                    match fit(text.clone(), self.headers.len()) {
                        Ok(cells) => Line { row, cells, problem: None },
                        Err(problem) => Line { row, cells: text, problem: Some(problem) },
                    }
                }
                Err(e) => Line {
                    row,
                    cells: Vec::new(),
                    problem: Some(FieldError::new("row", FieldCode::Invalid, format!("the row cannot be read: {e}"))),
                },
            });
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const VALID: &str = "Nome;Cognome;Telefono;E-mail;Città;Data di nascita;VIP;Notes\r\n\
        Nicolò;Rossi;333 1234567;nicolo@example.com;\"Roma; centro\";29/02/1980;sì;\"multi\r\nline \"\"note\"\"\"\r\n\
        Zoë;Žáková;+420 601 123 456;;Praha;1.1.1990;no;\r\n";

    use crate::imports::mapping::Mapping;
    use serde_json::Map;

    #[test]
    fn encodings_and_delimiters_are_recognised() {
        let utf8 = decode("\u{feff}Nome;Cognome\r\nNicolò;Rossi\r\n".as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((utf8.encoding, utf8.delimiter, utf8.text.starts_with("Nome")), ("utf-8", b';', true));
        let latin = decode(b"Nome,Cognome\nNicol\xf2,M\xfcller\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((latin.encoding, latin.text.as_str()), ("windows-1252", "Nome,Cognome\nNicolò,Müller\n"));
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("Nome\tCognome\r\nZoë\tŽáková\r\n".encode_utf16().flat_map(u16::to_le_bytes));
        let utf16 = decode(&utf16).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((utf16.encoding, utf16.delimiter), ("utf-16le", b'\t'));
        assert!(utf16.text.contains("Žáková"));
        let quoted = decode(b"\"Name, full\";City\nx;y\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(quoted.delimiter, b';', "a comma inside quotes is not a delimiter");
        assert!(decode(b"").is_err());
        assert!(decode(b" \n \r\n").is_err());
        assert!(decode(b"\x7fELF\x02\x01\x01\x00\x00\x00\x00").is_err(), "a binary file");
        assert!(decode(b"%PDF-1.7\n\x00\x01\x02binary").is_err());
    }

    /// A file's records as the import job reads them.
    fn read(bytes: &'static [u8]) -> (Format, Vec<csv::ByteRecord>) {
        let format = sniff(bytes).unwrap_or_else(|e| panic!("{e}"));
        let record = |r: std::io::Result<Bounded>| match r {
            Ok(Bounded::Record(record)) => record,
            _ => csv::ByteRecord::default(),
        };
        (format, records(bytes, format).map(record).collect())
    }

    /// The cells of a record as the import job judges them.
    fn cells(format: Format, record: &csv::ByteRecord, width: usize) -> std::result::Result<Vec<String>, FieldError> {
        fit(record_text(record, format), width)
    }

    #[test]
    fn ragged_rows_are_judged_and_trailing_empty_cells_forgiven() {
        let (format, records) = read(b"a,b\n1,2,,\n1,2,3\n1\n\n\"multi\nline\",\"say \"\"hi\"\"\"\n");
        assert_eq!(records.len(), 5, "the blank line is skipped");
        assert_eq!(cells(format, &records[1], 2).map_err(|e| e.field), Ok(vec!["1".to_owned(), "2".to_owned()]));
        assert!(cells(format, &records[2], 2).is_err());
        assert_eq!(cells(format, &records[3], 2).map_err(|e| e.field), Ok(vec!["1".to_owned(), String::new()]));
        assert_eq!(
            cells(format, &records[4], 2).map_err(|e| e.field),
            Ok(vec!["multi\nline".to_owned(), "say \"hi\"".to_owned()])
        );
    }

    /// Everything the importer does with a file short of the database: never a panic.
    fn read_everything(bytes: &[u8]) {
        let Ok(format) = sniff(bytes) else { return };
        let mut records = records(std::io::Cursor::new(bytes.to_vec()), format);
        let Some(Ok(Bounded::Record(header))) = records.next() else { return };
        let headers = record_text(&header, format);
        let Ok(mapping) = Mapping::new(headers.clone(), &Map::new()) else { return };
        let _ = mapping.unmapped();
        for record in records.flatten() {
            let Bounded::Record(record) = record else { continue };
            if let Ok(cells) = fit(record_text(&record, format), headers.len()) {
                let (value, _) = mapping.row(&cells);
                let _ = crate::json::from_value::<crate::customers::input::CustomerInput>(value);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            read_everything(&bytes);
        }

        #[test]
        fn mutated_files_never_panic(
            edits in proptest::collection::vec((0usize..400, proptest::num::u8::ANY, 0u8..3), 1..12)
        ) {
            let mut bytes = VALID.as_bytes().to_vec();
            for (at, byte, kind) in edits {
                let at = at % (bytes.len() + 1);
                match kind {
                    0 => bytes.insert(at, byte),
                    1 if at < bytes.len() => { bytes.remove(at); }
                    _ if at < bytes.len() => bytes[at] = byte,
                    _ => {}
                }
            }
            read_everything(&bytes);
        }
    }

    #[test]
    fn utf16_reads_to_the_end_however_the_file_ends() {
        for text in ["Nome\tCognome\r\nZoë\tŽáková", "Nome\tCognome\r\nZoë\tŽáková\r\n", ""] {
            let mut bytes = vec![0xFF, 0xFE];
            bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            let reader = Utf16Reader::new(bytes.as_slice(), false);
            let records: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
                .delimiter(b'\t')
                .has_headers(false)
                .from_reader(reader)
                .records()
                .map(|r| r.unwrap_or_default())
                .collect();
            assert_eq!(records.len(), if text.is_empty() { 0 } else { 2 }, "{text:?}");
        }
        // Reading again after the end stays at the end.
        let mut reader = Utf16Reader::new([0xFF, 0xFE, b'a', 0].as_slice(), false);
        let mut out = [0u8; 16];
        let mut total = 0;
        for _ in 0..4 {
            total += std::io::Read::read(&mut reader, &mut out).unwrap_or(99);
        }
        assert_eq!(total, 1);
    }

    #[test]
    fn each_row_is_decoded_as_what_it_is_whatever_the_file_began_with() {
        // Windows-1252 first (as sniffed), then a row appended as UTF-8, then 1252 again.
        let bytes: &'static [u8] =
            b"Nome;Cognome\nNicol\xf2;M\xfcller\nZo\xc3\xab;\xc5\xbd\xc3\xa1kov\xc3\xa1\nJos\xe9;Garc\xeda\n";
        let (format, records) = read(bytes);
        assert_eq!(format.encoding, "windows-1252");
        let rows: Vec<Vec<String>> = records.iter().map(|r| record_text(r, format)).collect();
        assert_eq!(rows[1], ["Nicolò", "Müller"]);
        assert_eq!(rows[2], ["Zoë", "Žáková"], "a UTF-8 row in a file that began in Windows-1252");
        assert_eq!(rows[3], ["José", "García"]);
        // And the other way round: a stray Windows-1252 row among UTF-8 ones.
        let (format, records) = read(b"Nome;Cognome\nZo\xc3\xab;Rossi\nNicol\xf2;Bianchi\n");
        assert_eq!(record_text(&records[1], format), ["Zoë", "Rossi"]);
        assert_eq!(record_text(&records[2], format), ["Nicolò", "Bianchi"]);
    }

    #[test]
    fn the_valid_file_reads_whole() {
        let (format, records) = read(VALID.as_bytes());
        assert_eq!(records.len(), 3);
        assert_eq!(record_text(&records[1], format)[7], "multi\r\nline \"note\"");
    }
}
