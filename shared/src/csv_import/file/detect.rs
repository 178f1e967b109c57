//! Encoding detection over the whole stream in constant memory (mavis-import.md §2.1).
//!
//! Valid UTF-8 is UTF-8. Anything else goes to chardetng, fed chunk by chunk as the scan reads, which picks
//! windows-1252 for the usual Excel or ISO-8859-1 export (so `\x92` becomes `’` and `\xF1` becomes `ñ`). Mavis
//! uses a detector too (CharlockHolmes) and never rejects a file for its encoding; neither does this.

use std::io::{self, Read};

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// Watches every byte of the scan pass.
pub struct EncodingSniffer {
    utf8: Utf8Validity,
    detector: EncodingDetector,
}

impl EncodingSniffer {
    pub fn new() -> Self {
        EncodingSniffer {
            utf8: Utf8Validity::default(),
            detector: EncodingDetector::new(Iso2022JpDetection::Deny),
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.utf8.feed(bytes);
        self.detector.feed(bytes, false);
    }

    /// The encoding to decode cells with. Never one that is not ASCII-compatible, since parsing is on bytes.
    pub fn finish(mut self) -> &'static Encoding {
        self.detector.feed(&[], true);
        if self.utf8.is_valid() {
            return UTF_8;
        }
        let guess = self.detector.guess(None, Utf8Detection::Deny);
        if guess.is_ascii_compatible() {
            guess
        } else {
            WINDOWS_1252
        }
    }
}

/// Incremental UTF-8 validation: a character may straddle two chunks, so up to three bytes are carried over.
#[derive(Debug, Default)]
struct Utf8Validity {
    invalid: bool,
    carry: [u8; 4],
    carry_len: usize,
}

impl Utf8Validity {
    fn feed(&mut self, mut bytes: &[u8]) {
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

    fn is_valid(&self) -> bool {
        !self.invalid && self.carry_len == 0
    }
}

/// What the scan pass notices on its way through.
pub struct Seen {
    /// None when a BOM already fixed the encoding.
    pub sniffer: Option<EncodingSniffer>,
    /// Whether anything but whitespace was read: a blank file is "Choose a file", as in Mavis (`csv.present?`).
    pub content: bool,
}

impl Seen {
    pub fn new(sniffer: Option<EncodingSniffer>) -> Self {
        Seen {
            sniffer,
            content: false,
        }
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
        if let Some(sniffer) = &mut self.seen.sniffer {
            sniffer.feed(bytes);
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

    fn detect(chunks: &[&[u8]]) -> &'static str {
        let mut sniffer = EncodingSniffer::new();
        for chunk in chunks {
            sniffer.feed(chunk);
        }
        sniffer.finish().name()
    }

    #[test]
    fn when_bytes_are_valid_utf8_should_detect_utf8() {
        assert_eq!(detect(&[b"plain ascii"]), "UTF-8");
        assert_eq!(detect(&["J£mmy,Sm©th,Zoë".as_bytes()]), "UTF-8");
    }

    #[test]
    fn when_a_character_straddles_chunks_should_still_detect_utf8() {
        let bytes = "Jalapeño-Pérez 😀".as_bytes();
        for split in 0..bytes.len() {
            assert_eq!(
                detect(&[&bytes[..split], &bytes[split..]]),
                "UTF-8",
                "split at {split}"
            );
        }
        let emoji = "😀".as_bytes();
        assert_eq!(
            detect(&[&emoji[..1], &emoji[1..2], &emoji[2..3], &emoji[3..]]),
            "UTF-8"
        );
    }

    #[test]
    fn when_utf8_is_truncated_or_invalid_should_not_detect_utf8() {
        assert_ne!(detect(&[b"Zo", &"é".as_bytes()[..1]]), "UTF-8");
        assert_eq!(detect(&[b"Jalape\xF1o-P\xE9rez"]), "windows-1252");
        assert_eq!(detect(&[b"Mary\x92s ", b"caf\xE9"]), "windows-1252");
    }

    #[test]
    fn when_reading_through_tap_should_see_content_and_bytes() {
        let mut seen = Seen::new(Some(EncodingSniffer::new()));
        let mut out = Vec::new();
        ScanTap::new(&b" \r\n\t x\xE9"[..], &mut seen)
            .read_to_end(&mut out)
            .unwrap();
        assert!(seen.content);
        assert_eq!(seen.sniffer.unwrap().finish().name(), "windows-1252");

        let mut blank = Seen::new(None);
        ScanTap::new(&b" \r\n\t\x0B\x0C "[..], &mut blank)
            .read_to_end(&mut out)
            .unwrap();
        assert!(!blank.content);
    }
}
