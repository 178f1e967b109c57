//! `CHILD_GENDER`: lower-cased with spaces as underscores, so "Not known" and "not specified" are fine but
//! "unknown" is not.

use crate::domain::Gender;

pub fn parse_gender(text: &str) -> Option<Gender> {
    match text.to_lowercase().replace(' ', "_").as_str() {
        "female" => Some(Gender::Female),
        "male" => Some(Gender::Male),
        "not_known" => Some(Gender::NotKnown),
        "not_specified" => Some(Gender::NotSpecified),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_gender_is_a_known_code_in_any_case_should_parse() {
        assert_eq!(parse_gender("Male"), Some(Gender::Male));
        assert_eq!(parse_gender("FEMALE"), Some(Gender::Female));
        assert_eq!(parse_gender("Not known"), Some(Gender::NotKnown));
        assert_eq!(parse_gender("not specified"), Some(Gender::NotSpecified));
        assert_eq!(parse_gender("not_specified"), Some(Gender::NotSpecified));
    }

    #[test]
    fn when_gender_is_not_a_code_should_fail() {
        for text in ["unknown", "M", "F", "other", "notknown"] {
            assert_eq!(parse_gender(text), None, "{text:?}");
        }
    }
}
