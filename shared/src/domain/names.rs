//! How staff-facing screens and the API write a person's name: the family name in capitals, a comma, then the given
//! name with its first letter capitalised ("SMITH, Jimmy"), as Mavis's "internal" context does.

/// "SMITH, Jimmy" from given "jimmy" and family "Smith"; either part may be missing.
pub fn staff_facing(given_name: Option<&str>, family_name: Option<&str>) -> String {
    let family = family_name.map(str::trim).filter(|f| !f.is_empty()).map(str::to_uppercase);
    let given = given_name.map(str::trim).filter(|g| !g.is_empty()).map(capitalise_first);
    match (family, given) {
        (Some(family), Some(given)) => format!("{family}, {given}"),
        (Some(family), None) => family,
        (None, Some(given)) => given,
        (None, None) => String::new(),
    }
}

/// The first letter upper-cased, the rest as written ("jimmy" → "Jimmy", "anne-marie" → "Anne-marie").
fn capitalise_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_write_the_family_name_in_capitals_then_the_given_name() {
        assert_eq!(staff_facing(Some("Jimmy"), Some("Smith")), "SMITH, Jimmy");
        assert_eq!(staff_facing(Some("chyna"), Some("PICKLE")), "PICKLE, Chyna");
        assert_eq!(staff_facing(Some("Test"), Some("User")), "USER, Test");
        assert_eq!(staff_facing(Some("Chloë"), Some("d'Arcy")), "D'ARCY, Chloë");
        assert_eq!(staff_facing(None, Some("Smith")), "SMITH");
        assert_eq!(staff_facing(Some(" Jimmy "), Some(" ")), "Jimmy");
        assert_eq!(staff_facing(None, None), "");
    }
}
