//! Byte-order marks (mavis-import.md §2.1). A BOM is removed and fixes the encoding. UTF-16 and UTF-32 are
//! transcoded to UTF-8 as a stream, so the CSV layer only ever sees an ASCII-compatible byte stream.

use std::io::{self, Chain, Cursor, Read};

use encoding_rs::{CoderResult, Decoder, UTF_16BE, UTF_16LE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bom {
    Utf8,
    Utf16Le,
    Utf16Be,
    Utf32Le,
    Utf32Be,
}

impl Bom {
    pub fn name(self) -> &'static str {
        match self {
            Bom::Utf8 => "UTF-8",
            Bom::Utf16Le => "UTF-16LE",
            Bom::Utf16Be => "UTF-16BE",
            Bom::Utf32Le => "UTF-32LE",
            Bom::Utf32Be => "UTF-32BE",
        }
    }

    /// The BOM at the start of `prefix` and its length. UTF-32LE is tested before UTF-16LE, whose BOM it starts
    /// with (a CSV never starts with a NUL character, so the ambiguity does not matter in practice).
    fn sniff(prefix: &[u8]) -> Option<(Bom, usize)> {
        match prefix {
            [0xFF, 0xFE, 0, 0, ..] => Some((Bom::Utf32Le, 4)),
            [0, 0, 0xFE, 0xFF, ..] => Some((Bom::Utf32Be, 4)),
            [0xEF, 0xBB, 0xBF, ..] => Some((Bom::Utf8, 3)),
            [0xFF, 0xFE, ..] => Some((Bom::Utf16Le, 2)),
            [0xFE, 0xFF, ..] => Some((Bom::Utf16Be, 2)),
            _ => None,
        }
    }
}

type Prefixed<R> = Chain<Cursor<Vec<u8>>, R>;

/// The stream after its BOM: the original bytes (no BOM, or UTF-8) or UTF-8 transcoded from UTF-16/32.
pub enum Unbommed<R> {
    Bytes(Prefixed<R>),
    Transcoded(Transcoder<Prefixed<R>>),
}

impl<R: Read> Read for Unbommed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Unbommed::Bytes(reader) => reader.read(buf),
            Unbommed::Transcoded(reader) => reader.read(buf),
        }
    }
}

/// Reads the first bytes, removes a BOM if there is one, and says which.
pub fn strip_bom<R: Read>(mut reader: R) -> io::Result<(Option<Bom>, Unbommed<R>)> {
    let mut prefix = Vec::with_capacity(4);
    (&mut reader).take(4).read_to_end(&mut prefix)?;
    let bom = Bom::sniff(&prefix);
    let skip = bom.map_or(0, |(_, len)| len);
    let rest = Cursor::new(prefix.split_off(skip)).chain(reader);
    let unbommed = match bom.map(|(bom, _)| bom) {
        None | Some(Bom::Utf8) => Unbommed::Bytes(rest),
        Some(Bom::Utf16Le) => {
            Unbommed::Transcoded(Transcoder::new(rest, Kind::Utf16(UTF_16LE.new_decoder_without_bom_handling())))
        }
        Some(Bom::Utf16Be) => {
            Unbommed::Transcoded(Transcoder::new(rest, Kind::Utf16(UTF_16BE.new_decoder_without_bom_handling())))
        }
        Some(Bom::Utf32Le) => Unbommed::Transcoded(Transcoder::new(rest, Kind::Utf32 { big_endian: false })),
        Some(Bom::Utf32Be) => Unbommed::Transcoded(Transcoder::new(rest, Kind::Utf32 { big_endian: true })),
    };
    Ok((bom.map(|(bom, _)| bom), unbommed))
}

enum Kind {
    Utf16(Decoder),
    /// encoding_rs has no UTF-32 (the Web does not use it), but Ruby's BOM handling accepts it.
    Utf32 {
        big_endian: bool,
    },
}

const CHUNK: usize = 8 * 1024;

/// Streams UTF-16 or UTF-32 as UTF-8. Malformed input becomes U+FFFD, as encoding_rs does everywhere.
pub struct Transcoder<R> {
    inner: R,
    kind: Kind,
    input: Vec<u8>,
    input_start: usize,
    input_eof: bool,
    output: Vec<u8>,
    output_start: usize,
    finished: bool,
}

impl<R: Read> Transcoder<R> {
    fn new(inner: R, kind: Kind) -> Self {
        Transcoder {
            inner,
            kind,
            input: Vec::with_capacity(CHUNK),
            input_start: 0,
            input_eof: false,
            output: Vec::new(),
            output_start: 0,
            finished: false,
        }
    }

    /// Reads more input unless at end of stream, keeping any unconsumed tail (a split code unit).
    fn fill_input(&mut self) -> io::Result<()> {
        self.input.drain(..self.input_start);
        self.input_start = 0;
        if self.input_eof {
            return Ok(());
        }
        let len = self.input.len();
        self.input.resize(len + CHUNK, 0);
        let read = self.inner.read(&mut self.input[len..])?;
        self.input.truncate(len + read);
        self.input_eof = read == 0;
        Ok(())
    }

    fn transcode(&mut self) -> io::Result<()> {
        self.fill_input()?;
        self.output.clear();
        self.output_start = 0;
        let input = &self.input[self.input_start..];
        let last = self.input_eof;
        match &mut self.kind {
            Kind::Utf16(decoder) => {
                let room = decoder.max_utf8_buffer_length(input.len()).unwrap_or(input.len() * 3 + 16);
                self.output.resize(room, 0);
                let (result, read, written, _) = decoder.decode_to_utf8(input, &mut self.output, last);
                self.output.truncate(written);
                self.input_start += read;
                self.finished = last && result == CoderResult::InputEmpty;
            }
            Kind::Utf32 { big_endian } => {
                let units = input.chunks_exact(4);
                let tail = units.remainder().len();
                for unit in units {
                    let unit = [unit[0], unit[1], unit[2], unit[3]];
                    let scalar = if *big_endian { u32::from_be_bytes(unit) } else { u32::from_le_bytes(unit) };
                    let ch = char::from_u32(scalar).unwrap_or(char::REPLACEMENT_CHARACTER);
                    self.output.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                }
                self.input_start += input.len() - tail;
                if last {
                    if tail > 0 {
                        self.output.extend_from_slice(char::REPLACEMENT_CHARACTER.encode_utf8(&mut [0; 4]).as_bytes());
                        self.input_start += tail;
                    }
                    self.finished = true;
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Transcoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.output_start == self.output.len() {
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            self.transcode()?;
        }
        let available = &self.output[self.output_start..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.output_start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> (Option<Bom>, Vec<u8>) {
        let (bom, mut reader) = strip_bom(bytes).unwrap();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        (bom, out)
    }

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut bytes = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
        for unit in text.encode_utf16() {
            bytes.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        }
        bytes
    }

    #[test]
    fn when_no_bom_should_pass_bytes_through() {
        assert_eq!(read_all(b"a,b\n1,2\n"), (None, b"a,b\n1,2\n".to_vec()));
        assert_eq!(read_all(b"a"), (None, b"a".to_vec()));
        assert_eq!(read_all(b""), (None, Vec::new()));
    }

    #[test]
    fn when_utf8_bom_should_remove_it() {
        assert_eq!(read_all(b"\xEF\xBB\xBFa,b\n"), (Some(Bom::Utf8), b"a,b\n".to_vec()));
        assert_eq!(read_all(b"\xEF\xBB\xBF"), (Some(Bom::Utf8), Vec::new()));
    }

    #[test]
    fn when_utf16_bom_should_transcode_to_utf8() {
        let text = "CHILD_FIRST_NAME,CHILD_LAST_NAME\nZoë,O’Brien 😀\n".repeat(2_000);
        assert_eq!(read_all(&utf16(&text, false)), (Some(Bom::Utf16Le), text.clone().into_bytes()));
        assert_eq!(read_all(&utf16(&text, true)), (Some(Bom::Utf16Be), text.into_bytes()));
    }

    #[test]
    fn when_utf32_bom_should_transcode_to_utf8() {
        let text = "a,b\nZoë,😀\n";
        let mut le = vec![0xFF, 0xFE, 0, 0];
        let mut be = vec![0, 0, 0xFE, 0xFF];
        for ch in text.chars() {
            le.extend((ch as u32).to_le_bytes());
            be.extend((ch as u32).to_be_bytes());
        }
        assert_eq!(read_all(&le), (Some(Bom::Utf32Le), text.as_bytes().to_vec()));
        assert_eq!(read_all(&be), (Some(Bom::Utf32Be), text.as_bytes().to_vec()));
    }

    #[test]
    fn when_utf16_is_truncated_should_end_with_replacement_character() {
        let mut bytes = utf16("ab", false);
        bytes.push(b'c');
        assert_eq!(read_all(&bytes).1, "ab\u{FFFD}".as_bytes());
    }
}
