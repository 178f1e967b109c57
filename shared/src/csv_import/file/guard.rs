//! A byte-level watchdog between the file and the csv crate.
//!
//! The csv crate is deliberately lenient: it accepts an unclosed quote at the end of the file, a quote inside an
//! unquoted cell (`a"b`) and text after a closing quote (`"a"b`). Ruby's CSV, which Mavis uses, rejects all three,
//! and the fixtures expect "Choose a CSV file in the correct format" for an unclosed quote (`*/malformed.csv`).
//! The csv crate also buffers a whole record, however long. This guard follows the same quoting rules one byte at
//! a time, *before* the csv crate buffers anything, and fails the read with a [`FileError`] as soon as the file
//! breaks a rule or a safety limit. So memory stays bounded by the limits, whatever the input.

use std::io::{self, Read};

use super::{MAX_CELL_BYTES, MAX_COLUMNS, MAX_ROW_BYTES};
use crate::csv_import::FileError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between records; empty lines are skipped here, as the csv crate and Ruby's CSV do.
    RecordStart,
    FieldStart,
    Unquoted,
    Quoted,
    /// Just read a `"` inside a quoted cell: either an escaped quote or the end of the cell.
    QuoteInQuoted,
}

pub struct Guard<R> {
    inner: R,
    state: State,
    fields: usize,
    field_bytes: usize,
    row_bytes: usize,
}

impl<R: Read> Guard<R> {
    pub fn new(inner: R) -> Self {
        Guard { inner, state: State::RecordStart, fields: 0, field_bytes: 0, row_bytes: 0 }
    }

    fn step(&mut self, byte: u8) -> Result<(), FileError> {
        if byte == 0 {
            return Err(FileError::Malformed);
        }
        let newline = byte == b'\n' || byte == b'\r';
        if self.state == State::RecordStart {
            if newline {
                return Ok(());
            }
            self.fields = 1;
            self.row_bytes = 0;
            self.field_bytes = 0;
            self.state = State::FieldStart;
        }
        self.row_bytes += 1;
        if self.row_bytes > MAX_ROW_BYTES {
            return Err(FileError::RowTooLong);
        }
        self.state = match (self.state, byte) {
            (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b',') => {
                self.fields += 1;
                self.field_bytes = 0;
                if self.fields > MAX_COLUMNS {
                    return Err(FileError::TooManyColumns);
                }
                State::FieldStart
            }
            (State::FieldStart | State::Unquoted | State::QuoteInQuoted, _) if newline => State::RecordStart,
            (State::FieldStart, b'"') => State::Quoted,
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::QuoteInQuoted, b'"') => self.grow_field(State::Quoted)?,
            (State::Unquoted, b'"') | (State::QuoteInQuoted, _) => {
                return Err(FileError::Malformed);
            }
            (State::FieldStart | State::Unquoted, _) => self.grow_field(State::Unquoted)?,
            (State::Quoted, _) => self.grow_field(State::Quoted)?,
            (State::RecordStart, _) => unreachable!("left above"),
        };
        Ok(())
    }

    fn grow_field(&mut self, next: State) -> Result<State, FileError> {
        self.field_bytes += 1;
        if self.field_bytes > MAX_CELL_BYTES { Err(FileError::CellTooLong) } else { Ok(next) }
    }

    fn finish(&self) -> Result<(), FileError> {
        if self.state == State::Quoted { Err(FileError::Malformed) } else { Ok(()) }
    }

    /// Every byte goes through [`Guard::step`] except runs of ordinary bytes inside a cell, which change nothing
    /// but the byte counts and are counted at once: most of a file is such runs.
    fn check(&mut self, bytes: &[u8]) -> Result<(), FileError> {
        let mut at = 0;
        while at < bytes.len() {
            let ordinary = match self.state {
                State::Unquoted => &ORDINARY_UNQUOTED,
                State::Quoted => &ORDINARY_QUOTED,
                _ => {
                    self.step(bytes[at])?;
                    at += 1;
                    continue;
                }
            };
            let run = bytes[at..].iter().position(|&b| !ordinary[usize::from(b)]).unwrap_or(bytes.len() - at);
            if run == 0 {
                self.step(bytes[at])?;
                at += 1;
            } else {
                self.count_run(run)?;
                at += run;
            }
        }
        Ok(())
    }

    /// What [`Guard::step`] would do `run` times over ordinary bytes: the first limit crossed is the error (the
    /// row's when both are crossed by the same byte, as `step` checks it first).
    fn count_run(&mut self, run: usize) -> Result<(), FileError> {
        let row_room = MAX_ROW_BYTES.saturating_sub(self.row_bytes);
        let field_room = MAX_CELL_BYTES.saturating_sub(self.field_bytes);
        if run > row_room || run > field_room {
            return Err(if row_room <= field_room { FileError::RowTooLong } else { FileError::CellTooLong });
        }
        self.row_bytes += run;
        self.field_bytes += run;
        Ok(())
    }
}

/// Bytes that [`Guard::step`] only counts, outside quotes and inside them.
static ORDINARY_UNQUOTED: [bool; 256] = ordinary(b",\"\n\r\0");
static ORDINARY_QUOTED: [bool; 256] = ordinary(b"\"\0");

const fn ordinary(special: &[u8]) -> [bool; 256] {
    let mut table = [true; 256];
    let mut i = 0;
    while i < special.len() {
        table[special[i] as usize] = false;
        i += 1;
    }
    table
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let result = if n == 0 && !buf.is_empty() { self.finish() } else { self.check(&buf[..n]) };
        result.map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        Ok(n)
    }
}

/// The [`FileError`] a guard put inside an I/O error, if any.
pub fn file_error_in(error: &io::Error) -> Option<FileError> {
    error.get_ref()?.downcast_ref::<FileError>().cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8]) -> Result<(), FileError> {
        let mut sink = Vec::new();
        Guard::new(bytes).read_to_end(&mut sink).map(|_| ()).map_err(|e| file_error_in(&e).expect("a FileError"))
    }

    #[test]
    fn when_csv_is_well_formed_should_pass() {
        assert_eq!(check(b"a,b\r\n\"x, \"\"y\"\"\nz\",\n\n,,\n"), Ok(()));
        assert_eq!(check(b"\"a\"\r\n\"\""), Ok(()));
        assert_eq!(check(b""), Ok(()));
    }

    #[test]
    fn when_quote_is_never_closed_should_be_malformed() {
        assert_eq!(check(b"this;csv\nis,,,\n\"malformed\n"), Err(FileError::Malformed));
    }

    #[test]
    fn when_quote_is_misplaced_should_be_malformed() {
        assert_eq!(check(b"a\"b,c\n"), Err(FileError::Malformed));
        assert_eq!(check(b"\"a\"b,c\n"), Err(FileError::Malformed));
    }

    #[test]
    fn when_nul_byte_should_be_malformed() {
        assert_eq!(check(b"a,b\n\x00\x01\x02"), Err(FileError::Malformed));
        assert_eq!(check(b"\"a\x00\""), Err(FileError::Malformed));
    }

    #[test]
    fn when_too_many_columns_should_fail() {
        assert_eq!(check(",".repeat(MAX_COLUMNS - 1).as_bytes()), Ok(()));
        assert_eq!(check(",".repeat(MAX_COLUMNS).as_bytes()), Err(FileError::TooManyColumns));
    }

    #[test]
    fn when_cell_or_row_is_too_long_should_fail() {
        assert_eq!(check(&vec![b'x'; MAX_CELL_BYTES]), Ok(()));
        assert_eq!(check(&vec![b'x'; MAX_CELL_BYTES + 1]), Err(FileError::CellTooLong));
        let quoted = [b"\"".as_slice(), &vec![b'\n'; MAX_CELL_BYTES + 1], b"\""].concat();
        assert_eq!(check(&quoted), Err(FileError::CellTooLong));
        let cell = vec![b'x'; MAX_CELL_BYTES / 2];
        let row = vec![cell; 2 * MAX_ROW_BYTES / MAX_CELL_BYTES + 1].join(&b","[..]);
        assert_eq!(check(&row), Err(FileError::RowTooLong));
    }

    /// The guard fed byte by byte: what [`Guard::check`]'s runs must agree with.
    fn step_every_byte(bytes: &[u8]) -> (Result<(), FileError>, State, usize, usize, usize) {
        let mut guard = Guard::new(&b""[..]);
        let result = bytes.iter().try_for_each(|&b| guard.step(b)).and_then(|()| guard.finish());
        (result, guard.state, guard.fields, guard.field_bytes, guard.row_bytes)
    }

    #[test]
    fn counting_runs_near_the_limits_should_report_the_limit_stepping_reports() {
        for (row_room, field_room) in [(3, 5), (5, 3), (4, 4), (0, 2), (2, 0), (8, 9)] {
            let near = || {
                let mut guard = Guard::new(&b""[..]);
                guard.state = State::Unquoted;
                guard.row_bytes = MAX_ROW_BYTES - row_room;
                guard.field_bytes = MAX_CELL_BYTES - field_room;
                guard
            };
            let bytes = [b'x'; 6];
            let mut by_runs = near();
            let mut by_steps = near();
            let stepped = bytes.iter().try_for_each(|&b| by_steps.step(b));
            assert_eq!(by_runs.check(&bytes), stepped, "{row_room} and {field_room} bytes of room");
        }
    }

    #[test]
    fn counting_runs_should_agree_with_stepping_every_byte() {
        let alphabet = b"ab,\"\n\r\0 \xC3";
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let bytes: Vec<u8> =
                (0..len).map(|i| alphabet[((seed >> (i % 60)) as usize + i * 7) % alphabet.len()]).collect();
            let chunk = (seed % 7) as usize + 1;
            let mut guard = Guard::new(&b""[..]);
            let result = bytes.chunks(chunk).try_for_each(|c| guard.check(c)).and_then(|()| guard.finish());
            let by_runs = (result, guard.state, guard.fields, guard.field_bytes, guard.row_bytes);
            assert_eq!(by_runs, step_every_byte(&bytes), "{bytes:?} in chunks of {chunk}");
        }
    }
}
