//! Encoding detection over the whole stream in constant memory (mavis-import.md §2.1).
//!
//! Valid UTF-8 is UTF-8: the scan pass checks that on its way through, which costs next to nothing. Only a file
//! that is not UTF-8 gets a detection pass of its own, where chardetng sees every byte chunk by chunk and picks
//! windows-1252 for the usual Excel or ISO-8859-1 export (so `\x92` becomes `’` and `\xF1` becomes `ñ`).
//! chardetng is by far the most expensive thing a scan could do, so UTF-8 files (most uploads) never pay for it.
//! Mavis uses a detector too (CharlockHolmes) and never rejects a file for its encoding; neither does this.

use std::io::{self, Read};

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, WINDOWS_1252};

/// The detection pass over a file that is not UTF-8. Never returns an encoding that is not ASCII-compatible,
/// since parsing is on bytes.
pub fn guess_encoding<R: Read>(mut reader: R) -> io::Result<&'static Encoding> {
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        detector.feed(&buffer[..read], read == 0);
        if read == 0 {
            break;
        }
    }
    let guess = detector.guess(None, Utf8Detection::Deny);
    Ok(if guess.is_ascii_compatible() { guess } else { WINDOWS_1252 })
}

/// Incremental UTF-8 validation: a character may straddle two chunks, so up to three bytes are carried over.
#[derive(Debug, Default)]
pub struct Utf8Validity {
    invalid: bool,
    carry: [u8; 4],
    carry_len: usize,
}

impl Utf8Validity {
    pub fn feed(&mut self, mut bytes: &[u8]) {
        if self.invalid {
            return;
        }
        while self.carry_len > 0 {
            let Some((&first, rest)) = bytes.split_first() else {
                return;
            };
            self.carry[self.carry_len] = first;
            self.carry_len += 1;
            bytes = rest;
            match std::str::from_utf8(&self.carry[..self.carry_len]) {
                Ok(_) => self.carry_len = 0,
                Err(error) if error.error_len().is_some() || self.carry_len == 4 => {
                    self.invalid = true;
                    return;
                }
                Err(_) => {}
            }
        }
        if let Err(error) = std::str::from_utf8(bytes) {
            if error.error_len().is_some() {
                self.invalid = true;
            } else {
                let tail = &bytes[error.valid_up_to()..];
                self.carry[..tail.len()].copy_from_slice(tail);
                self.carry_len = tail.len();
            }
        }
    }

    pub fn is_valid(&self) -> bool {
        !self.invalid && self.carry_len == 0
    }
}

/// What the scan pass notices on its way through.
pub struct Seen {
    /// None when a BOM already fixed the encoding.
    pub utf8: Option<Utf8Validity>,
    /// Whether anything but whitespace was read: a blank file is "Choose a file", as in Mavis (`csv.present?`).
    pub content: bool,
}

impl Seen {
    pub fn new(check_utf8: bool) -> Self {
        Seen { utf8: check_utf8.then(Utf8Validity::default), content: false }
    }
}

/// Passes bytes through while showing them to [`Seen`].
pub struct ScanTap<'a, R> {
    inner: R,
    seen: &'a mut Seen,
}

impl<'a, R> ScanTap<'a, R> {
    pub fn new(inner: R, seen: &'a mut Seen) -> Self {
        ScanTap { inner, seen }
    }
}

impl<R: Read> Read for ScanTap<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let bytes = &buf[..n];
        if let Some(utf8) = &mut self.seen.utf8 {
            utf8.feed(bytes);
        }
        if !self.seen.content {
            self.seen.content = bytes.iter().any(|b| !b.is_ascii_whitespace() && *b != 0x0B);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_utf8(chunks: &[&[u8]]) -> bool {
        let mut utf8 = Utf8Validity::default();
        chunks.iter().for_each(|chunk| utf8.feed(chunk));
        utf8.is_valid()
    }

    #[test]
    fn when_bytes_are_valid_utf8_should_say_so() {
        assert!(is_utf8(&[b"plain ascii"]));
        assert!(is_utf8(&["J£mmy,Sm©th,Zoë".as_bytes()]));
        assert!(is_utf8(&[]));
    }

    #[test]
    fn when_a_character_straddles_chunks_should_still_be_utf8() {
        let bytes = "Jalapeño-Pérez 😀".as_bytes();
        for split in 0..bytes.len() {
            assert!(is_utf8(&[&bytes[..split], &bytes[split..]]), "split at {split}");
        }
        let emoji = "😀".as_bytes();
        assert!(is_utf8(&[&emoji[..1], &emoji[1..2], &emoji[2..3], &emoji[3..]]));
    }

    #[test]
    fn when_utf8_is_truncated_or_invalid_should_say_so() {
        assert!(!is_utf8(&[b"Zo", &"é".as_bytes()[..1]]));
        assert!(!is_utf8(&[b"Jalape\xF1o-P\xE9rez"]));
        assert!(!is_utf8(&["é".as_bytes(), b"\xFF"]));
    }

    #[test]
    fn when_bytes_are_latin_1_should_guess_windows_1252() {
        let guess = |bytes: &[u8]| guess_encoding(bytes).unwrap().name();
        assert_eq!(guess(b"Roland,Jalape\xF1o-P\xE9rez,LS11 7EZ"), "windows-1252");
        assert_eq!(guess(b"Mary\x92s caf\xE9"), "windows-1252");
    }

    #[test]
    fn when_reading_through_tap_should_see_content_and_check_utf8() {
        let mut seen = Seen::new(true);
        let mut out = Vec::new();
        ScanTap::new(&b" \r\n\t x\xE9"[..], &mut seen).read_to_end(&mut out).unwrap();
        assert!(seen.content);
        assert!(!seen.utf8.unwrap().is_valid());

        let mut blank = Seen::new(false);
        ScanTap::new(&b" \r\n\t\x0B\x0C "[..], &mut blank).read_to_end(&mut out).unwrap();
        assert!(!blank.content);
        assert!(blank.utf8.is_none());
    }
}
