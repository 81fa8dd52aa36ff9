//! CSV records read with a bound on their size, as they are read: a cell of 200 MB (an unclosed
//! quote, or a file that is not what it says) costs at most [`MAX_RECORD_BYTES`] of memory and
//! is reported as one refused row, never buffered whole.

use std::io::Read;

/// The longest cell accepted: longer ones refuse their row.
pub const MAX_CELL_BYTES: usize = 64 * 1024;

/// The longest row accepted, all its cells together: the most a row may cost in memory.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// A record as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bounded {
    /// A record within the bounds.
    Record(csv::ByteRecord),
    /// A record over [`MAX_RECORD_BYTES`] (its bytes were read and dropped).
    RowTooLong,
    /// A record with a cell over [`MAX_CELL_BYTES`]: the cell's position (from 0).
    CellTooLong(usize),
}

/// The records of a CSV source, each within the bounds or reported as too long.
pub struct BoundedRecords {
    core: csv_core::Reader,
    source: Box<dyn Read + Send>,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    done: bool,
    /// Whether anything was read from the source yet.
    began: bool,
}

impl std::fmt::Debug for BoundedRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedRecords").field("eof", &self.eof).finish_non_exhaustive()
    }
}

impl BoundedRecords {
    /// Records of `source`, cells separated by `delimiter`, quoted with `"`.
    pub fn new(source: Box<dyn Read + Send>, delimiter: u8) -> Self {
        let core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        Self { core, source, input: vec![0; 256 * 1024], start: 0, end: 0, eof: false, done: false, began: false }
    }

    /// Reads the next piece of the source into the (consumed) buffer. The first piece is read
    /// until it holds 4 bytes (or the source ends): csv-core skips a UTF-8 byte-order mark only
    /// when the first bytes it is given hold the whole mark (fewer leave it in the first header),
    /// and takes the empty rest of a first piece that is the mark alone for the end of the file
    /// (no record at all). A source may hand out any few bytes at a time (a network stream, a
    /// decoder).
    fn fill(&mut self) -> std::io::Result<()> {
        let first = !self.began;
        self.began = true;
        self.start = 0;
        self.end = 0;
        loop {
            let read = self.source.read(&mut self.input[self.end..])?;
            self.end += read;
            self.eof = read == 0;
            if self.eof || !first || self.end > 3 {
                return Ok(());
            }
        }
    }

    fn read_one(&mut self) -> std::io::Result<Option<Bounded>> {
        let mut output = vec![0u8; 4096];
        let mut ends = vec![0usize; 64];
        let (mut out_at, mut ends_at) = (0, 0);
        // Set once the record outgrew its bound: its bytes are read on, into the same buffer, and
        // dropped.
        let mut overflowed = false;
        loop {
            if self.start == self.end && !self.eof {
                self.fill()?;
            }
            let input = &self.input[self.start..self.end];
            let (result, read, wrote, ended) =
                self.core.read_record(input, &mut output[out_at..], &mut ends[ends_at..]);
            self.start += read;
            out_at += wrote;
            ends_at += ended;
            match result {
                csv_core::ReadRecordResult::InputEmpty => continue,
                csv_core::ReadRecordResult::OutputFull => {
                    if output.len() >= MAX_RECORD_BYTES {
                        overflowed = true;
                        out_at = 0;
                        ends_at = 0;
                    } else {
                        let grown = (output.len() * 2).min(MAX_RECORD_BYTES);
                        output.resize(grown, 0);
                    }
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    if overflowed || ends.len() >= MAX_RECORD_BYTES / 8 {
                        overflowed = true;
                        ends_at = 0;
                    } else {
                        let grown = ends.len() * 2;
                        ends.resize(grown, 0);
                    }
                }
                csv_core::ReadRecordResult::Record => {
                    if overflowed {
                        return Ok(Some(Bounded::RowTooLong));
                    }
                    let mut record = csv::ByteRecord::with_capacity(out_at, ends_at);
                    let mut from = 0;
                    for (index, &to) in ends[..ends_at].iter().enumerate() {
                        if to - from > MAX_CELL_BYTES {
                            return Ok(Some(Bounded::CellTooLong(index)));
                        }
                        record.push_field(&output[from..to]);
                        from = to;
                    }
                    return Ok(Some(Bounded::Record(record)));
                }
                csv_core::ReadRecordResult::End => return Ok(None),
            }
        }
    }
}

impl Iterator for BoundedRecords {
    type Item = std::io::Result<Bounded>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let read = self.read_one();
        if !matches!(read, Ok(Some(_))) {
            self.done = true;
        }
        read.transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: Vec<u8>) -> Vec<Bounded> {
        BoundedRecords::new(Box::new(std::io::Cursor::new(bytes)), b',').map(|r| r.unwrap()).collect()
    }

    fn fields(record: &Bounded) -> Vec<String> {
        match record {
            Bounded::Record(r) => r.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn records_read_as_the_csv_crate_reads_them() {
        let got = read(b"a,b\n1,\"x\ny\"\n\n\"say \"\"hi\"\"\",2\r\nlast,row".to_vec());
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(fields(&got[1]), ["1", "x\ny"]);
        assert_eq!(fields(&got[2]), ["say \"hi\"", "2"]);
        assert_eq!(fields(&got[3]), ["last", "row"]);
    }

    /// A source that hands out at most `.1` bytes per read.
    struct Trickle(std::io::Cursor<Vec<u8>>, usize);

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let end = out.len().min(self.1);
            self.0.read(&mut out[..end])
        }
    }

    /// Found by the `csv_import` fuzz target: a file's records depended on how it was read when it
    /// began with a byte-order mark. A first read of fewer than its 3 bytes left the mark in the
    /// first header; a first read of exactly the mark made the file read as empty.
    #[test]
    fn the_byte_order_mark_is_skipped_however_the_file_arrives() {
        let file = b"\xEF\xBB\xBFfirst_name,last_name\nAnna,Rossi\n".to_vec();
        let whole = read(file.clone());
        assert_eq!(fields(&whole[0]), ["first_name", "last_name"]);
        for chunk in 1..=5 {
            let source = Trickle(std::io::Cursor::new(file.clone()), chunk);
            let trickled: Vec<Bounded> = BoundedRecords::new(Box::new(source), b',').map(|r| r.unwrap()).collect();
            assert_eq!(trickled, whole, "read {chunk} bytes at a time");
        }
        // Files no longer than a mark still read.
        for (short, expected) in
            [(&b"a"[..], vec![vec!["a"]]), (b"\xEF\xBB\xBF", vec![]), (b"\xEF\xBB\xBFa", vec![vec!["a"]])]
        {
            let source = Trickle(std::io::Cursor::new(short.to_vec()), 1);
            let got: Vec<Vec<String>> =
                BoundedRecords::new(Box::new(source), b',').map(|r| fields(&r.unwrap())).collect();
            assert_eq!(got, expected, "{short:?}");
        }
    }

    #[test]
    fn a_huge_cell_or_row_is_reported_not_kept_and_the_next_row_reads() {
        let mut file = b"a,b\n".to_vec();
        file.extend(b"1,");
        file.extend(std::iter::repeat_n(b'x', MAX_CELL_BYTES + 1));
        file.extend(b"\n2,\"");
        file.extend(std::iter::repeat_n(b'y', 5 * MAX_RECORD_BYTES));
        file.extend(b"\"\n3,ok\n");
        let got = read(file);
        assert_eq!(got[1], Bounded::CellTooLong(1));
        assert_eq!(got[2], Bounded::RowTooLong);
        assert_eq!(fields(&got[3]), ["3", "ok"]);
        // Many small cells that together outgrow a row are a row too long too.
        let mut wide = b"a\n".to_vec();
        wide.extend(std::iter::repeat_n(b',', MAX_RECORD_BYTES));
        wide.extend(b"\nz\n");
        let got = read(wide);
        assert_eq!(got[1], Bounded::RowTooLong);
        assert_eq!(fields(&got[2]), ["z"]);
    }
}
