//! Whole numbers such as `CHILD_YEAR_GROUP`: an optional sign and decimal digits.
//!
//! Ruby's `Integer()` also takes `0x1A` or `1_000`, and reads a leading zero as octal (so `"08"` is an error
//! there). Nobody writes a year group in hex, while `08` is a natural way to write year 8, so only decimal is
//! accepted and leading zeros are fine.

pub fn parse_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_text_is_a_decimal_integer_should_parse() {
        assert_eq!(parse_integer("9"), Some(9));
        assert_eq!(parse_integer("08"), Some(8));
        assert_eq!(parse_integer("+10"), Some(10));
        assert_eq!(parse_integer("-1"), Some(-1));
    }

    #[test]
    fn when_text_is_not_an_integer_should_fail() {
        for text in ["abc", "9.5", "", "+", "Year 9", "1e2", "99999999999999999999", "0x1A", " 9"] {
            assert_eq!(parse_integer(text), None, "{text:?}");
        }
    }
}
