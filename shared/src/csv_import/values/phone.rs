//! Parent phone numbers: valid under UK numbering rules (`GB` as the default region), stored in national format
//! for UK numbers (`07412345678` → `07412 345678`) and international format otherwise.

use phonenumber::{Mode, country};

const UK_COUNTRY_CODE: u16 = 44;

/// The number as stored, or `None` if it is not a valid phone number.
pub fn parse_phone(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let number = phonenumber::parse(Some(country::Id::GB), &compact).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    let mode = if number.code().value() == UK_COUNTRY_CODE { Mode::National } else { Mode::International };
    Some(number.format().mode(mode).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_number_is_uk_should_store_national_format() {
        assert_eq!(parse_phone("07412345678").as_deref(), Some("07412 345678"));
        assert_eq!(parse_phone("07412 345 679").as_deref(), Some("07412 345679"));
        assert_eq!(parse_phone("+447412345678").as_deref(), Some("07412 345678"));
        assert_eq!(parse_phone("+44 808 157 0192").as_deref(), Some("0808 157 0192"));
        assert_eq!(parse_phone("020 7123 4567").as_deref(), Some("020 7123 4567"));
    }

    #[test]
    fn when_number_is_foreign_should_store_international_format() {
        assert_eq!(parse_phone("+33 1 23 45 67 89").as_deref(), Some("+33 1 23 45 67 89"));
    }

    #[test]
    fn when_number_is_not_valid_should_fail() {
        for text in ["invalid", "12345", "0741234567", "074123456789", "", "+44 7412"] {
            assert_eq!(parse_phone(text), None, "{text:?}");
        }
    }
}
