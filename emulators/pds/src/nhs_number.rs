//! NHS number validation (modulus 11), as PDS applies it before looking a number up.

/// True when `value` is ten ASCII digits whose last digit is the modulus-11 check digit of the first nine.
///
/// PDS answers `400 INVALID_RESOURCE_ID` for anything else, so the emulator must tell "malformed" from
/// "well-formed but unknown" (`404 RESOURCE_NOT_FOUND`) exactly as PDS does.
pub fn is_valid(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() != 10 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = bytes[..9].iter().zip((2..=10).rev()).map(|(digit, weight)| u32::from(digit - b'0') * weight).sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return false,
        digit => digit,
    };
    u32::from(bytes[9] - b'0') == check
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn accepts_fixture_numbers() {
        for number in ["9000000009", "9999075320", "9990000026", "9435764479", "9449306168", "9990003343"] {
            assert!(is_valid(number), "{number}");
        }
    }

    #[test]
    fn rejects_bad_check_digits_and_shapes() {
        for number in ["9000000000", "900000000", "90000000091", "900000000X", "", "999 000 0026", "９000000009"] {
            assert!(!is_valid(number), "{number}");
        }
    }
}
