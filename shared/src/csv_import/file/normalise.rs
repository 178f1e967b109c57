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
    let mut out = String::new();
    normalise_cell_into(raw, &mut out);
    (!out.is_empty()).then_some(out)
}

/// [`normalise_cell`] appending to `out`: nothing when the cell is blank.
pub(super) fn normalise_cell_into(raw: &str, out: &mut String) {
    if is_already_normal(raw) {
        out.push_str(raw);
    } else {
        collapse_whitespace(raw, out);
    }
}

fn collapse_whitespace(raw: &str, out: &mut String) {
    let start = out.len();
    let mut space_pending = false;
    for c in raw.chars() {
        let c = match c {
            '\u{200D}' => continue,
            '\u{A0}' => ' ',
            c => c,
        };
        if is_space(c) {
            space_pending = out.len() > start;
        } else {
            if space_pending {
                out.push(' ');
                space_pending = false;
            }
            out.push(c);
        }
    }
}

/// Most cells: not blank, no space at either end or two together, no other whitespace, and no byte that could
/// start a zero-width joiner or a no-break space (UTF-8 `E2`, `C2`), so normalising would give them back as they
/// are.
fn is_already_normal(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    first != b' '
        && last != b' '
        && bytes.windows(2).all(|pair| pair != b"  ")
        && bytes.iter().all(|&b| !matches!(b, b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r' | 0xC2 | 0xE2))
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
    fn cells_taken_as_already_normal_should_be_what_collapsing_gives() {
        let pieces = ["a", "É", " ", "  ", "\t", "\u{A0}", "\u{200D}", "’", "\u{2003}", "1", "\r\n", "ñ"];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let cell: String =
                (0..seed % 6).map(|i| pieces[((seed >> (i * 8)) % pieces.len() as u64) as usize]).collect();
            let mut collapsed = String::from("before");
            collapse_whitespace(&cell, &mut collapsed);
            let collapsed = collapsed.strip_prefix("before").expect("appended");
            if is_already_normal(&cell) {
                assert_eq!(collapsed, cell, "{cell:?}");
            }
            assert_eq!(normalise_cell(&cell).unwrap_or_default(), collapsed, "{cell:?}");
        }
        assert!(is_already_normal("Flat 1, 2 High Street") && !is_already_normal("Mary\u{A0}Jane"));
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
