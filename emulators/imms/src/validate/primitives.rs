//! The building blocks, after the Imms repo's `PreValidation`: strings, arrays, dates, date-times and SNOMED codes,
//! each adding the service's message to `errors`.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

/// A non-empty, non-blank string, optionally one of `allowed`.
pub(super) fn string_rule(value: &Value, location: &str, allowed: Option<&[&str]>, errors: &mut Vec<String>) {
    let Some(text) = value.as_str() else {
        errors.push(format!("{location} must be a string"));
        return;
    };
    if text.trim().is_empty() {
        errors.push(format!("{location} must be a non-empty string"));
    } else if let Some(allowed) = allowed
        && !allowed.contains(&text)
    {
        errors.push(format!("{location} must be one of the following: {}", allowed.join(", ")));
    }
}

/// An array, of exactly `length` elements when given, else non-empty. False when the rule failed.
pub(super) fn list_rule(value: &Value, location: &str, length: Option<usize>, errors: &mut Vec<String>) -> bool {
    let before = errors.len();
    match (value.as_array(), length) {
        (None, _) => errors.push(format!("{location} must be an array")),
        (Some(items), Some(length)) if items.len() != length => {
            errors.push(format!("{location} must be an array of length {length}"))
        }
        (Some(items), None) if items.is_empty() => errors.push(format!("{location} must be a non-empty array")),
        _ => {}
    }
    errors.len() == before
}

/// `YYYY-MM-DD`; not after today when `not_after` is given.
pub(super) fn date_rule(value: &Value, location: &str, not_after: Option<DateTime<Utc>>, errors: &mut Vec<String>) {
    let Some(text) = value.as_str() else {
        errors.push(format!("{location} must be a string"));
        return;
    };
    match parse_date(text) {
        None => errors.push(format!("{location} must be a valid date string in the format \"YYYY-MM-DD\"")),
        Some(date) if not_after.is_some_and(|now| date > now.date_naive()) => {
            errors.push(format!("{location} must not be in the future"))
        }
        Some(_) => {}
    }
}

pub fn parse_date(text: &str) -> Option<NaiveDate> {
    (text.len() == 10).then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten()
}

/// `YYYY-MM-DD`, or date and time with seconds, optional fraction and an offset; not in the future. `strict`
/// limits the offset to UK ones (`+00:00`/`+01:00`, `+0000`/`+0100`), so `Z` is refused.
pub(super) fn date_time(value: &Value, location: &str, strict: bool, now: DateTime<Utc>, errors: &mut Vec<String>) {
    let Some(text) = value.as_str() else {
        errors.push(format!("{location} must be a string"));
        return;
    };
    let mut message = format!(
        "{location} must be a valid datetime in one of the following formats:- 'YYYY-MM-DD' — Full date only- \
         'YYYY-MM-DDThh:mm:ss%z' — Full date and time with timezone (e.g. +00:00 or +01:00)- \
         'YYYY-MM-DDThh:mm:ss.f%z' — Full date and time with milliseconds and timezone-  Date must not be in the \
         future."
    );
    if strict {
        message.push_str(&format!(
            "Only '+00:00' and '+01:00' are accepted as valid timezone offsets.\nNote that partial dates are not \
             allowed for {location} in this service.\n"
        ));
    }
    let valid = if let Some(date) = parse_date(text) {
        date <= now.date_naive()
    } else {
        let parsed = parse_date_time(text);
        let uk_offset = ["+00:00", "+01:00", "+0000", "+0100"].iter().any(|s| text.ends_with(s));
        parsed.is_some_and(|instant| instant <= now && (!strict || uk_offset))
    };
    if !valid {
        errors.push(message);
    }
}

/// `YYYY-MM-DDThh:mm:ss[.f]±hh:mm` (or `±hhmm`, or `Z`).
pub fn parse_date_time(text: &str) -> Option<DateTime<Utc>> {
    let normalised = match text.strip_suffix('Z') {
        Some(stem) => format!("{stem}+00:00"),
        None => text.to_owned(),
    };
    DateTime::parse_from_str(&normalised, "%Y-%m-%dT%H:%M:%S%.f%z").ok().map(|t| t.with_timezone(&Utc))
}

/// A SNOMED CT concept id: 6–18 digits, no leading zero, a concept partition (`00`/`10`) and a Verhoeff check digit.
pub(super) fn snomed_rule(value: &Value, location: &str, errors: &mut Vec<String>) {
    let before = errors.len();
    string_rule(value, location, None, errors);
    if errors.len() == before && !value.as_str().is_some_and(is_valid_snomed) {
        errors.push(format!("{location} is not a valid snomed code"));
    }
}

pub fn is_valid_snomed(code: &str) -> bool {
    let bytes = code.as_bytes();
    (6..=18).contains(&bytes.len())
        && bytes.iter().all(u8::is_ascii_digit)
        && bytes[0] != b'0'
        && matches!(&code[code.len() - 3..code.len() - 1], "00" | "10")
        && verhoeff_valid(code)
}

fn verhoeff_valid(digits: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut check = 0u8;
    for (i, digit) in digits.bytes().rev().enumerate() {
        check = D[check as usize][P[i % 8][(digit - b'0') as usize] as usize];
    }
    check == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snomed_codes_from_the_fixtures_are_valid() {
        for code in ["10880211000001104", "761841000", "884861000000100", "240532009", "6142004", "723620004"] {
            assert!(is_valid_snomed(code), "{code}");
        }
        assert!(!is_valid_snomed("761841001"));
        assert!(!is_valid_snomed("12345"));
    }

    #[test]
    fn date_times() {
        assert!(parse_date_time("2021-02-07T13:28:17.271+00:00").is_some());
        assert!(parse_date_time("2025-08-22T14:16:03+01:00").is_some());
        assert!(parse_date_time("2025-08-22T14:16:03+0100").is_some());
        assert!(parse_date_time("2025-08-22T14:16:03Z").is_some());
        assert!(parse_date_time("2025-08-22T14:16+01:00").is_none());
        assert!(parse_date_time("2025-08-22").is_none());
    }
}
