//! Vaccine types and their target-disease sets (`nhs-apis.md` §4.6, Imms repo `config/common/disease_mapping.json`),
//! and the supplier permissions the emulator grants.

use std::collections::BTreeSet;

const POLIO: &str = "398102009";
const DIPHTHERIA: &str = "397430003";
const TETANUS: &str = "76902006";
const PERTUSSIS: &str = "27836007";
const HIB: &str = "709410003";
const HEP_B: &str = "66071002";
const MEN_C: &str = "23511006";
const MEASLES: &str = "14189004";
const MUMPS: &str = "36989005";
const RUBELLA: &str = "36653000";
const VARICELLA: &str = "38907003";

/// Every vaccine type with the exact set of SNOMED target-disease codes it stands for.
pub const VACCINE_TYPES: &[(&str, &[&str])] = &[
    ("3IN1", &[POLIO, DIPHTHERIA, TETANUS]),
    ("4IN1", &[POLIO, DIPHTHERIA, TETANUS, PERTUSSIS]),
    ("6IN1", &[POLIO, DIPHTHERIA, TETANUS, PERTUSSIS, HIB, HEP_B]),
    ("BCG", &["56717001"]),
    ("COVID", &["840539006"]),
    ("FLU", &["6142004"]),
    ("HEPB", &[HEP_B]),
    ("HIB", &[HIB]),
    ("HIBMENC", &[HIB, MEN_C]),
    ("HPV", &["240532009"]),
    ("MENACWY", &[MEN_C]),
    ("MENB", &["1354584007"]),
    ("MMR", &[MEASLES, MUMPS, RUBELLA]),
    ("MMRV", &[MEASLES, MUMPS, RUBELLA, VARICELLA]),
    ("PNEUMOCOCCAL", &["16814004"]),
    ("PERTUSSIS", &[PERTUSSIS]),
    ("ROTAVIRUS", &["186150001"]),
    ("RSV", &["55735004"]),
    ("SHINGLES", &["4740000"]),
];

/// Mavis's production permissions (Imms repo `config/prod/permissions_config.json`): all of create, read, update,
/// delete and search for these types, nothing for the others.
pub const MAVIS_PERMITTED: &[&str] = &["3IN1", "FLU", "HPV", "MENACWY", "MMR", "MMRV"];

/// The type whose disease set equals `codes` exactly.
pub fn from_target_diseases(codes: &BTreeSet<String>) -> Option<&'static str> {
    VACCINE_TYPES
        .iter()
        .find(|(_, diseases)| diseases.len() == codes.len() && diseases.iter().all(|d| codes.contains(*d)))
        .map(|(name, _)| *name)
}

pub fn is_known(name: &str) -> bool {
    VACCINE_TYPES.iter().any(|(known, _)| *known == name)
}

/// Types whose disease set contains `code` (a `target-disease` search matches all of them).
pub fn with_disease(code: &str) -> impl Iterator<Item = &'static str> + '_ {
    VACCINE_TYPES.iter().filter(move |(_, diseases)| diseases.contains(&code)).map(|(name, _)| *name)
}

/// Every known type, comma-joined, for error messages.
pub fn all_names() -> String {
    VACCINE_TYPES.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(",")
}

pub fn is_permitted(name: &str) -> bool {
    MAVIS_PERMITTED.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(codes: &[&str]) -> BTreeSet<String> {
        codes.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn sets_must_match_exactly() {
        assert_eq!(from_target_diseases(&set(&[TETANUS, POLIO, DIPHTHERIA])), Some("3IN1"));
        assert_eq!(from_target_diseases(&set(&[MEASLES, MUMPS, RUBELLA, VARICELLA])), Some("MMRV"));
        assert_eq!(from_target_diseases(&set(&[MEASLES, MUMPS])), None);
        assert_eq!(from_target_diseases(&set(&[MEN_C])), Some("MENACWY"));
    }

    #[test]
    fn disease_lookup() {
        assert_eq!(with_disease(MEASLES).collect::<Vec<_>>(), ["MMR", "MMRV"]);
    }
}
