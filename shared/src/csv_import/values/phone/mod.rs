//! Parent phone numbers: valid under UK numbering rules (`GB` as the default region), stored in national format
//! for UK numbers (`07412345678` → `07412 345678`) and international format otherwise.
//!
//! The `phonenumber` crate decides. Its parser takes microseconds a number (every regex use goes through one
//! locked cache keyed by the pattern's text), which made phone numbers most of a child-records file's validation
//! time, so a number written the two usual UK ways (`0` or `+44`, then nine or ten digits) skips the parser and
//! goes straight to the crate's own GB patterns and formats ([`uk`]). Anything else goes through the crate.
//! `tests::the_fast_path_should_answer_as_the_crate_does_*` compare the two over every GB number range.

mod uk;

use phonenumber::{Mode, country};

const UK_COUNTRY_CODE: u16 = 44;

/// The number as stored, or `None` if it is not a valid phone number.
pub fn parse_phone(text: &str) -> Option<String> {
    let compact = compact(text);
    match uk::national_significant_number(&compact) {
        Some(national) => uk::numbering().stored(national),
        None => parse_with_crate(&compact),
    }
}

fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The crate's answer for a number without whitespace.
fn parse_with_crate(compact: &str) -> Option<String> {
    let number = phonenumber::parse(Some(country::Id::GB), compact).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    let mode = if number.code().value() == UK_COUNTRY_CODE { Mode::National } else { Mode::International };
    Some(number.format().mode(mode).to_string())
}

#[cfg(test)]
mod tests;
