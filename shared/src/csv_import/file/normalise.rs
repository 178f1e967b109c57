//! Cell and header normalisation (mavis-import.md §2.2, §2.3), as Mavis's `String#normalise_whitespace`.

/// Ruby's `\s` and `strip`: ASCII whitespace including vertical tab, and nothing else. Other Unicode spaces are
/// kept as they are, exactly as in Mavis.
pub(super) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

/// Removes zero-width joiners (the front end puts them in displayed NHS numbers, so they come back in pasted data),
/// turns NBSP into a space, trims, and collapses internal whitespace to one space. `None` means the cell is
/// **blank**, which is not the same as a missing column.
pub fn normalise_cell(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut space_pending = false;
    for c in raw.chars() {
        let c = match c {
            '\u{200D}' => continue,
            '\u{A0}' => ' ',
            c => c,
        };
        if is_space(c) {
            space_pending = !out.is_empty();
        } else {
            if space_pending {
                out.push(' ');
                space_pending = false;
            }
            out.push(c);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The lookup key for a header: lower-case, whitespace normalised, `-` and space → `_`. So `CHILD_FIRST_NAME`,
/// `child first name` and `Child-First-Name` all become `child_first_name`. A blank header gets the empty key,
/// which no column uses.
pub fn normalise_header(raw: &str) -> String {
    normalise_cell(&raw.to_lowercase()).unwrap_or_default().replace(['-', ' '], "_")
}

/// Whether a (normalised) first cell marks an instruction row: `Required` or `Optional` (case-sensitive), alone
/// or followed by `,`, `.` or `:`.
pub fn is_instruction(first_cell: &str) -> bool {
    ["Required", "Optional"].iter().any(|word| {
        first_cell.strip_prefix(word).is_some_and(|rest| rest.is_empty() || rest.starts_with([',', '.', ':']))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_cell_has_odd_whitespace_should_normalise_it() {
        assert_eq!(normalise_cell("  Jimmy  "), Some("Jimmy".into()));
        assert_eq!(normalise_cell("10\t Downing \r\n Street"), Some("10 Downing Street".into()));
        assert_eq!(normalise_cell("999\u{200D} 000\u{200D} 0026"), Some("999 000 0026".into()));
        assert_eq!(normalise_cell("a\u{200D}b"), Some("ab".into()));
        assert_eq!(normalise_cell("\u{A0}Mary\u{A0}\u{A0}Jane\u{A0}"), Some("Mary Jane".into()));
        assert_eq!(normalise_cell("a\u{2003}b"), Some("a\u{2003}b".into()));
    }

    #[test]
    fn when_cell_is_only_whitespace_should_be_blank() {
        assert_eq!(normalise_cell(""), None);
        assert_eq!(normalise_cell(" \t\r\n\x0B\x0C"), None);
        assert_eq!(normalise_cell("\u{A0}\u{200D} "), None);
    }

    #[test]
    fn when_header_is_written_differently_should_give_same_key() {
        for header in ["CHILD_FIRST_NAME", "child first name", "Child-First-Name", "  child  first\u{A0}name "] {
            assert_eq!(normalise_header(header), "child_first_name", "{header:?}");
        }
        assert_eq!(normalise_header("Date of birth"), "date_of_birth");
        assert_eq!(normalise_header("  "), "");
    }

    #[test]
    fn when_first_cell_starts_with_required_or_optional_should_be_instruction() {
        for cell in ["Required", "Optional", "Required: Free text", "Required, 6 digits", "Optional. If known"] {
            assert!(is_instruction(cell), "{cell:?}");
        }
        for cell in ["required: free text", "Requirement", "Required free text", "Jennifer", "", "Optional;"] {
            assert!(!is_instruction(cell), "{cell:?}");
        }
    }
}
