//! UK postcodes, as the Ruby `uk_postcode` gem (v2, `GeographicPostcode`) that Mavis uses parses them.
//!
//! The gem's pattern, case-insensitive, on the trimmed text:
//! ```text
//! area      [A-PR-UWYZ01][A-HJ-Z0]?
//! district  [0-9IO][0-9A-HJKMNPR-YIO]?
//! sector    \s* [0-9IO]
//! unit      [ABD-HJLNPQ-Z]{2}
//! ```
//! Letters and digits that people confuse are accepted in the wrong place and corrected by position: `0`/`1` in
//! the area become `O`/`I`, `O`/`I` in the district and sector become `0`/`1`. So `st1 oqs` is `ST1 0QS`.
//! The canonical form is upper case with one space. Only full postcodes are valid, plus three pseudo-postcodes the
//! NHS uses for people without a usable address (the gem rejects `ZZ99 3CZ`, since `C` is never in a unit).

const PSEUDO_POSTCODES: [&str; 3] = [
    "ZZ99 3VZ", // no fixed abode
    "ZZ99 3WZ", // address not known
    "ZZ99 3CZ", // address not otherwise specified
];

/// The canonical postcode (`sw1a1aa` → `SW1A 1AA`), or `None` if it is not a full UK postcode.
pub fn parse_postcode(text: &str) -> Option<String> {
    let upper: Vec<u8> =
        text.trim_matches(|c: char| c.is_ascii_whitespace()).bytes().map(|b| b.to_ascii_uppercase()).collect();
    geographic(&upper).or_else(|| pseudo(&upper))
}

/// The gem's regex tries the longest area, then the longest district, and never has to backtrack further for a
/// full postcode: when two splits both fit, the character that differs would have to be `I` or `O` in a unit.
fn geographic(text: &[u8]) -> Option<String> {
    for area_len in [2, 1] {
        for district_len in [2, 1] {
            let Some((area, rest)) = split(text, area_len) else {
                continue;
            };
            let Some((district, rest)) = split(rest, district_len) else {
                continue;
            };
            let rest = trim_start(rest);
            let [sector, unit @ ..] = rest else { continue };
            if is_area(area)
                && is_district(district)
                && is_digitish(*sector)
                && unit.len() == 2
                && unit.iter().all(|&b| is_unit_letter(b))
            {
                let mut out = String::with_capacity(8);
                out.extend(area.iter().map(|&b| as_letter(b)));
                out.extend(district.iter().map(|&b| as_digit(b)));
                out.push(' ');
                out.push(as_digit(*sector));
                out.extend(unit.iter().map(|&b| b as char));
                return Some(out);
            }
        }
    }
    None
}

fn pseudo(text: &[u8]) -> Option<String> {
    let compact: String = text.iter().filter(|b| !b.is_ascii_whitespace()).map(|&b| b as char).collect();
    PSEUDO_POSTCODES.iter().find(|p| p.replace(' ', "") == compact).map(|p| p.to_string())
}

fn split(text: &[u8], len: usize) -> Option<(&[u8], &[u8])> {
    (text.len() >= len).then(|| text.split_at(len))
}

fn trim_start(text: &[u8]) -> &[u8] {
    let spaces = text.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &text[spaces..]
}

fn is_area(area: &[u8]) -> bool {
    match area {
        [first] => is_area_first(*first),
        [first, second] => is_area_first(*first) && (matches!(second, b'A'..=b'H' | b'J'..=b'Z' | b'0')),
        _ => false,
    }
}

fn is_area_first(b: u8) -> bool {
    matches!(b, b'A'..=b'P' | b'R'..=b'U' | b'W' | b'Y' | b'Z' | b'0' | b'1')
}

fn is_district(district: &[u8]) -> bool {
    match district {
        [first] => is_digitish(*first),
        [first, second] => {
            is_digitish(*first)
                && matches!(second, b'0'..=b'9' | b'A'..=b'H' | b'J' | b'K' | b'M' | b'N' | b'P' | b'R'..=b'Y' | b'I' | b'O')
        }
        _ => false,
    }
}

/// A digit, or a letter mistaken for one.
fn is_digitish(b: u8) -> bool {
    b.is_ascii_digit() || b == b'I' || b == b'O'
}

fn is_unit_letter(b: u8) -> bool {
    matches!(b, b'A' | b'B' | b'D'..=b'H' | b'J' | b'L' | b'N' | b'P'..=b'Z')
}

fn as_letter(b: u8) -> char {
    match b {
        b'1' => 'I',
        b'0' => 'O',
        b => b as char,
    }
}

fn as_digit(b: u8) -> char {
    match b {
        b'I' => '1',
        b'O' => '0',
        b => b as char,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Option<String> {
        parse_postcode(text)
    }

    #[test]
    fn when_postcode_is_valid_should_return_canonical_form() {
        assert_eq!(p("SW1A 1AA").as_deref(), Some("SW1A 1AA"));
        assert_eq!(p("sw1a1aa").as_deref(), Some("SW1A 1AA"));
        assert_eq!(p("  W1A   1AA  ").as_deref(), Some("W1A 1AA"));
        assert_eq!(p("B99 3EZ").as_deref(), Some("B99 3EZ"));
        assert_eq!(p("LS27 8RT").as_deref(), Some("LS27 8RT"));
        assert_eq!(p("E17 1AA").as_deref(), Some("E17 1AA"));
        assert_eq!(p("E171AA").as_deref(), Some("E17 1AA"));
        assert_eq!(p("CO11BT").as_deref(), Some("CO1 1BT"));
        assert_eq!(p("M1 1AE").as_deref(), Some("M1 1AE"));
    }

    #[test]
    fn when_letters_and_digits_are_confused_should_correct_them_by_position() {
        assert_eq!(p("st1 oqs").as_deref(), Some("ST1 0QS"));
        assert_eq!(p("0X1 0AB").as_deref(), Some("OX1 0AB"));
        assert_eq!(p("1G1 1AA").as_deref(), Some("IG1 1AA"));
        assert_eq!(p("B2O 2XB").as_deref(), Some("B20 2XB"));
        assert_eq!(p("BI IDF").as_deref(), Some("B1 1DF"));
        assert_eq!(p("W1A IAA").as_deref(), Some("W1A 1AA"));
    }

    #[test]
    fn when_postcode_is_a_pseudo_postcode_should_accept_it() {
        assert_eq!(p("ZZ99 3VZ").as_deref(), Some("ZZ99 3VZ"));
        assert_eq!(p("zz99 3wz").as_deref(), Some("ZZ99 3WZ"));
        assert_eq!(p("ZZ993CZ").as_deref(), Some("ZZ99 3CZ"));
        assert_eq!(p("ZZ99 3XZ").as_deref(), Some("ZZ99 3XZ"), "a valid postcode shape anyway");
        assert_eq!(p("ZZ99 3KZ"), None, "K is never in a unit");
    }

    #[test]
    fn when_postcode_is_partial_or_invalid_should_fail() {
        for text in
            ["invalid", "", "SW1A", "SW1A 1", "W1A 1A", "SW1A 1AAA", "QW1 1AA", "SW1A 1CA", "S W1A 1AA", "SW1A-1AA"]
        {
            assert_eq!(p(text), None, "{text:?}");
        }
    }
}
