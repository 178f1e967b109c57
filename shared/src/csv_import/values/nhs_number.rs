//! NHS numbers: whitespace removed, then exactly ten ASCII digits passing the modulus 11 check.

/// Removes every ASCII whitespace character (Ruby's `gsub(/\s/, "")`): `999 000 0026` → `9990000026`. This is also
/// the value compared when looking for the same NHS number on several rows.
pub fn remove_whitespace(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')).collect()
}

/// The NHS number as stored, or `None` if it is not a valid one.
pub fn parse_nhs_number(text: &str) -> Option<String> {
    let number = remove_whitespace(text);
    let digits: Vec<u32> = number.chars().map(|c| c.to_digit(10).filter(|_| c.is_ascii())).collect::<Option<_>>()?;
    let [body @ .., check] = digits.as_slice() else {
        return None;
    };
    if body.len() != 9 {
        return None;
    }
    (check_digit(body)? == *check).then_some(number)
}

/// The valid NHS number that starts with the nine digits of `nine` (below 1,000,000,000, with leading zeros), or
/// `None` when no number does: for generated test and benchmark files.
pub fn nhs_number_starting(nine: u64) -> Option<String> {
    if nine >= 1_000_000_000 {
        return None;
    }
    let body = format!("{nine:09}");
    let digits: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
    Some(format!("{body}{}", check_digit(&digits)?))
}

/// Weights 10, 9, …, 2 on the first nine digits; 11 − (sum mod 11), where 11 means 0 and 10 is never valid.
fn check_digit(body: &[u32]) -> Option<u32> {
    let sum: u32 = body.iter().zip((2..=10).rev()).map(|(digit, weight)| digit * weight).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        n => Some(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_number_passes_modulus_11_should_be_valid() {
        for number in ["9990000018", "9990000026", "9990000034", "9733576468", "9435753973", "9449306168"] {
            assert_eq!(parse_nhs_number(number).as_deref(), Some(number));
        }
    }

    #[test]
    fn numbers_made_from_nine_digits_should_be_valid() {
        assert_eq!(nhs_number_starting(999_000_001).as_deref(), Some("9990000018"));
        assert_eq!(nhs_number_starting(999_000_002).as_deref(), Some("9990000026"));
        let made: Vec<String> = (400_000_000..400_001_000).filter_map(nhs_number_starting).collect();
        assert!(made.len() > 900 && made.iter().all(|n| parse_nhs_number(n).as_ref() == Some(n)));
        assert_eq!(nhs_number_starting(1_000_000_000), None);
    }

    #[test]
    fn when_number_has_whitespace_should_remove_it() {
        assert_eq!(parse_nhs_number("999 000 0026").as_deref(), Some("9990000026"));
        assert_eq!(parse_nhs_number(" 999\t000\n0026 ").as_deref(), Some("9990000026"));
        assert_eq!(remove_whitespace("999 000 0026"), "9990000026");
    }

    #[test]
    fn when_number_is_not_ten_valid_digits_should_be_invalid() {
        for text in [
            "invalid",
            "TP01234567",
            "999000001",
            "99900000188",
            "9990000019",
            "",
            "999-000-0018",
            "９９９０００００１８",
        ] {
            assert_eq!(parse_nhs_number(text), None, "{text:?}");
        }
    }

    #[test]
    fn when_check_digit_would_be_10_should_be_invalid() {
        // 1000000010: sum = 10 + 1 * 2 = 12, 11 − 1 = 10.
        for last in 0..=9 {
            assert_eq!(parse_nhs_number(&format!("100000001{last}")), None);
        }
    }

    #[test]
    fn when_remainder_is_zero_check_digit_should_be_0() {
        // Sum 0: 11 − 0 = 11, which means 0.
        assert_eq!(parse_nhs_number("0000000000").as_deref(), Some("0000000000"));
    }
}
