//! Person names in child and class imports: at most 300 characters from an allowed set, with typographic
//! apostrophes stored as `'`.

/// Longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    TooLong,
    InvalidCharacters,
}

impl NameProblem {
    pub fn message(self) -> &'static str {
        match self {
            NameProblem::TooLong => "is greater than 300 characters long",
            NameProblem::InvalidCharacters => "includes invalid character(s)",
        }
    }
}

/// Length first; characters are only checked when the length is fine, so a name gets at most one message.
pub fn check_person_name(name: &str) -> Result<(), NameProblem> {
    if name.chars().count() > MAX_NAME_CHARS {
        Err(NameProblem::TooLong)
    } else if !name.chars().all(is_name_char) {
        Err(NameProblem::InvalidCharacters)
    } else {
        Ok(())
    }
}

/// ASCII letters, digits and `_`; Latin-1 and Latin Extended-A letters; space, `'`, `` ` ``, `’`, `ʼ`, `.`, `-`.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | ' ' | '\'' | '`' | '\u{2019}' | '\u{02BC}' | '.' | '-')
        || matches!(c, '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{17F}')
}

/// `` ` ``, `’` and `ʼ` become `'`, so "O’Reilly" and "O'Reilly" are the same name when matching.
pub fn normalise_apostrophes(name: &str) -> String {
    name.replace(['`', '\u{2019}', '\u{02BC}'], "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_name_uses_allowed_characters_should_pass() {
        for name in [
            "Jimmy",
            "Thorne-Smith",
            "O'Reilly",
            "O’Reilly",
            "Mickʼee",
            "Jalapeño-Pérez",
            "St. John",
            "Zoë Łukasz",
            "A_1",
        ] {
            assert_eq!(check_person_name(name), Ok(()), "{name:?}");
        }
    }

    #[test]
    fn when_name_has_other_characters_should_fail() {
        for name in ["J£mmy", "Sm©th", "ᶚmith", "John© Smith", "Smith, John", "Jo×n", "李明", "Anne\u{2003}Marie"]
        {
            assert_eq!(check_person_name(name), Err(NameProblem::InvalidCharacters), "{name:?}");
        }
    }

    #[test]
    fn when_name_is_over_300_characters_should_fail_on_length_only() {
        assert_eq!(check_person_name(&"é".repeat(300)), Ok(()));
        assert_eq!(check_person_name(&"é".repeat(301)), Err(NameProblem::TooLong));
        assert_eq!(check_person_name(&"£".repeat(301)), Err(NameProblem::TooLong));
    }

    #[test]
    fn when_name_has_typographic_apostrophes_should_store_plain_ones() {
        assert_eq!(normalise_apostrophes("OʼReilly O’Neil D`Arcy"), "O'Reilly O'Neil D'Arcy");
    }
}
