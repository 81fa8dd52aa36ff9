//! A CSV file through everything an import does with it short of the database: the encoding
//! and delimiter sniffed from its first bytes, its records read with their bounds, each row
//! fitted to the header, mapped to customer input and validated as the API validates it.
//!
//! Invariants: never a panic; the records do not depend on how the file arrives (one byte at a
//! time, or in chunks of any size, as a network upload does); the job's line reader sees the
//! same rows as the record reader; a row that fits has exactly the header's width; a row's
//! mapped input is a JSON object.
//!
//! The first byte picks the chunk size of the second read; the rest is the file.
#![no_main]

use std::io::Read;

use clientele_core::cargos::SharedTables;
use clientele_core::customers::input::{CustomerInput, Rules};
use clientele_core::imports::bounded::Bounded;
use clientele_core::imports::mapping::Mapping;
use clientele_core::imports::reader::{LineReader, fit, record_text, records, sniff};
use clientele_core::values::PhoneRegion;
use libfuzzer_sys::fuzz_target;

/// A source that hands out at most `chunk` bytes per read.
struct Chunked {
    bytes: Vec<u8>,
    at: usize,
    chunk: usize,
}

impl Read for Chunked {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(out.len()).min(self.bytes.len() - self.at);
        out[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Each record as read, or its error as text (errors are not comparable).
fn all(records: impl Iterator<Item = std::io::Result<Bounded>>) -> Vec<Result<Bounded, String>> {
    records.map(|r| r.map_err(|e| e.to_string())).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else { return };
    // The import sniffs the format from the first 64 KiB.
    let Ok(format) = sniff(&file[..file.len().min(64 * 1024)]) else { return };

    let whole = all(records(std::io::Cursor::new(file.to_vec()), format));
    let chunk = 1 + usize::from(selector) % 17;
    let chunked = Chunked { bytes: file.to_vec(), at: 0, chunk };
    assert_eq!(all(records(chunked, format)), whole, "records read {chunk} bytes at a time differ");

    let Ok(mut lines) = LineReader::open(std::io::Cursor::new(file.to_vec()), format) else { return };
    let headers = lines.headers().to_vec();
    let mut read = 0;
    loop {
        let batch = lines.next_lines(7);
        if batch.is_empty() {
            break;
        }
        for line in &batch {
            read += 1;
            assert_eq!(line.row(), read, "rows are numbered from 1 without gaps");
        }
    }
    assert_eq!(read as usize + 1, whole.len(), "the line reader reads every record after the header");

    let Ok(mapping) = Mapping::new(headers.clone(), &serde_json::Map::new()) else { return };
    let _ = mapping.columns();
    let rules = Rules {
        phone_region: PhoneRegion::parse("IT").expect("a known region"),
        today: time::macros::date!(2026 - 06 - 01),
        cargos: SharedTables::default(),
    };
    for record in whole.iter().skip(1) {
        let Ok(Bounded::Record(record)) = record else { continue };
        let Ok(cells) = fit(record_text(record, format), headers.len()) else { continue };
        assert_eq!(cells.len(), headers.len(), "a fitted row has the header's width");
        let (value, _problems) = mapping.row(&cells);
        assert!(value.is_object(), "a row maps to an object");
        if let Ok(input) = clientele_core::json::from_value::<CustomerInput>(value) {
            let _ = input.validate(&rules);
            let _ = input.validate_notes();
        }
    }
});
