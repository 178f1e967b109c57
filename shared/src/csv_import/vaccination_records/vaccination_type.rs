//! SystmOne's `Vaccination type` (mavis-import.md §3.2): one cell holding a programme or a vaccine, then the dose,
//! such as `HPV 1P`, `Td/IPV 2B` or `Cervarix 1`.
//!
//! The programme labels are matched case-sensitively as prefixes, in Mavis's order, so `Fluenz 1` reads as the
//! programme `Flu` with the dose text `enz 1` (which then fails as a dose). That is Mavis's behaviour and is kept.

/// The programme labels SystmOne writes, and the import name each stands for.
const KNOWN_PROGRAMMES: [(&str, &str); 8] = [
    ("Flu", "Flu"),
    ("HPV", "HPV"),
    ("Human Papillomavirus", "HPV"),
    ("MMR", "MMR"),
    ("Measles/Mumps/Rubella", "MMR"),
    ("MenACWY", "MenACWY"),
    ("Meningococcal conjugate A,C, W135 + Y", "MenACWY"),
    ("Td/IPV", "Td/IPV"),
];

/// What a `Vaccination type` cell says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaccinationType {
    /// An import name (`HPV`), when the cell starts with a programme label.
    pub programme_name: Option<&'static str>,
    /// Otherwise the first word, taken as a vaccine's upload or NIVS name.
    pub vaccine_name: Option<String>,
    pub dose: Option<TypeDose>,
}

/// The rest of the cell after the programme or vaccine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeDose {
    Number(i64),
    /// Trimmed, with its case and inner spaces kept, for the dose-code tables.
    Text(String),
}

/// `None` for a blank cell.
pub fn parse_vaccination_type(text: &str) -> Option<VaccinationType> {
    if text.trim().is_empty() {
        return None;
    }
    let (programme_name, vaccine_name, rest) = match KNOWN_PROGRAMMES.iter().find(|(label, _)| text.starts_with(label))
    {
        Some(&(label, name)) => (Some(name), None, &text[label.len()..]),
        None => {
            let word = text.split_whitespace().next()?;
            let start = text.find(word).unwrap_or(0) + word.len();
            (None, Some(word.to_string()), &text[start..])
        }
    };
    let rest = rest.trim();
    let dose = if rest.is_empty() {
        None
    } else {
        Some(match parse_dose_number(rest) {
            Some(number) => TypeDose::Number(number),
            None => TypeDose::Text(rest.to_string()),
        })
    };
    Some(VaccinationType { programme_name, vaccine_name, dose })
}

/// A decimal integer with an optional sign, as Ruby's `Integer()` reads one (after the caller's trim).
fn parse_dose_number(text: &str) -> Option<i64> {
    crate::csv_import::values::parse_integer(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(
        programme: Option<&'static str>,
        vaccine: Option<&str>,
        dose: Option<TypeDose>,
    ) -> Option<VaccinationType> {
        Some(VaccinationType { programme_name: programme, vaccine_name: vaccine.map(String::from), dose })
    }

    #[test]
    fn when_cell_starts_with_a_programme_label_should_split_programme_and_dose() {
        assert_eq!(parse_vaccination_type("HPV"), parsed(Some("HPV"), None, None));
        assert_eq!(parse_vaccination_type("HPV 1"), parsed(Some("HPV"), None, Some(TypeDose::Number(1))));
        assert_eq!(parse_vaccination_type("HPV 1P"), parsed(Some("HPV"), None, Some(TypeDose::Text("1P".into()))));
        assert_eq!(
            parse_vaccination_type("Human Papillomavirus 2"),
            parsed(Some("HPV"), None, Some(TypeDose::Number(2)))
        );
        assert_eq!(
            parse_vaccination_type("Measles/Mumps/Rubella 1B"),
            parsed(Some("MMR"), None, Some(TypeDose::Text("1B".into())))
        );
        assert_eq!(
            parse_vaccination_type("Meningococcal conjugate A,C, W135 + Y 1st Scheduled Booster"),
            parsed(Some("MenACWY"), None, Some(TypeDose::Text("1st Scheduled Booster".into())))
        );
        assert_eq!(
            parse_vaccination_type("Td/IPV 2B"),
            parsed(Some("Td/IPV"), None, Some(TypeDose::Text("2B".into())))
        );
    }

    #[test]
    fn when_cell_starts_with_anything_else_should_take_first_word_as_vaccine() {
        assert_eq!(parse_vaccination_type("Cervarix 1"), parsed(None, Some("Cervarix"), Some(TypeDose::Number(1))));
        assert_eq!(parse_vaccination_type("Gardasil9"), parsed(None, Some("Gardasil9"), None));
        assert_eq!(
            parse_vaccination_type("Revaxis booster"),
            parsed(None, Some("Revaxis"), Some(TypeDose::Text("booster".into())))
        );
    }

    #[test]
    fn when_labels_are_prefixes_should_match_case_sensitively_in_order() {
        assert_eq!(parse_vaccination_type("Fluenz 1"), parsed(Some("Flu"), None, Some(TypeDose::Text("enz 1".into()))));
        assert_eq!(parse_vaccination_type("hpv 1"), parsed(None, Some("hpv"), Some(TypeDose::Number(1))));
        assert_eq!(parse_vaccination_type("MMRV 1"), parsed(Some("MMR"), None, Some(TypeDose::Text("V 1".into()))));
    }

    #[test]
    fn when_cell_is_blank_should_give_nothing() {
        assert_eq!(parse_vaccination_type(""), None);
        assert_eq!(parse_vaccination_type("   "), None);
    }
}
