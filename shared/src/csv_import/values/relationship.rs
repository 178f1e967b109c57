//! `PARENT_n_RELATIONSHIP`, case-insensitive. Anything unrecognised is kept as the text of an `other`
//! relationship (e.g. "Step-parent") rather than rejected.

use crate::domain::Relationship;

/// The relationship and, for `other`, the text as written.
pub fn parse_relationship(text: Option<&str>) -> (Relationship, Option<String>) {
    let Some(text) = text else {
        return (Relationship::Unknown, None);
    };
    match text.to_lowercase().as_str() {
        "unknown" => (Relationship::Unknown, None),
        "mother" | "mum" => (Relationship::Mother, None),
        "father" | "dad" => (Relationship::Father, None),
        "guardian" => (Relationship::Guardian, None),
        _ => (Relationship::Other, Some(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_relationship_is_known_should_map_it() {
        assert_eq!(parse_relationship(Some("Mum")), (Relationship::Mother, None));
        assert_eq!(parse_relationship(Some("MOTHER")), (Relationship::Mother, None));
        assert_eq!(parse_relationship(Some("dad")), (Relationship::Father, None));
        assert_eq!(parse_relationship(Some("Father")), (Relationship::Father, None));
        assert_eq!(parse_relationship(Some("Guardian")), (Relationship::Guardian, None));
    }

    #[test]
    fn when_relationship_is_blank_or_unknown_should_be_unknown() {
        assert_eq!(parse_relationship(None), (Relationship::Unknown, None));
        assert_eq!(parse_relationship(Some("Unknown")), (Relationship::Unknown, None));
    }

    #[test]
    fn when_relationship_is_anything_else_should_be_other_with_its_text() {
        assert_eq!(parse_relationship(Some("Step-parent")), (Relationship::Other, Some("Step-parent".into())));
    }
}
