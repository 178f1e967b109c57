//! The value mappings of vaccination rows (mavis-import.md §3.2): Vaccinated prefixes, anatomical sites, reasons,
//! genders, programme import names, dose-sequence codes and limits. Pure functions on one normalised cell, so each
//! table is tested on its own and the row checker only decides which message a `None` becomes.

use crate::csv_import::values::{parse_gender, parse_integer};
use crate::domain::Gender;
use crate::domain::Programme;
use crate::domain::vaccination::{DeliveryMethod, DeliverySite, VaccinationOutcome};
use crate::reference::vaccines::VaccineMethod;

/// `VACCINATED`: lower-cased, then a prefix of `yes` (`y`, `ye`, `yes`) is true and a prefix of `no` is false.
/// Anything else cannot be decided.
pub fn parse_vaccinated(text: &str) -> Option<bool> {
    let value = text.to_lowercase();
    if value.is_empty() {
        None
    } else if "yes".starts_with(&value) {
        Some(true)
    } else if "no".starts_with(&value) {
        Some(false)
    } else {
        None
    }
}

/// `ANATOMICAL_SITE`, case-insensitive. Only these spellings are known; "left arm" alone is not a site.
pub fn parse_delivery_site(text: &str) -> Option<DeliverySite> {
    Some(match text.to_lowercase().as_str() {
        "left thigh" => DeliverySite::LeftThigh,
        "right thigh" => DeliverySite::RightThigh,
        "left upper arm" | "left deltoid" | "left arm (upper position)" => DeliverySite::LeftArmUpperPosition,
        "left arm (lower position)" => DeliverySite::LeftArmLowerPosition,
        "right upper arm" | "right deltoid" | "right arm (upper position)" => DeliverySite::RightArmUpperPosition,
        "right arm (lower position)" => DeliverySite::RightArmLowerPosition,
        "left buttock" => DeliverySite::LeftButtock,
        "right buttock" => DeliverySite::RightButtock,
        "nasal" => DeliverySite::Nose,
        _ => return None,
    })
}

/// The nose means a nasal spray; every other site is an injection into a muscle.
pub fn delivery_method(site: DeliverySite) -> DeliveryMethod {
    match site {
        DeliverySite::Nose => DeliveryMethod::NasalSpray,
        _ => DeliveryMethod::Intramuscular,
    }
}

/// Whether a vaccine given by `method` can be given at `site`: the nose for nasal vaccines only, every other site
/// for injected ones. Checked only for offline and national-reporting rows.
pub fn site_suits(method: VaccineMethod, site: DeliverySite) -> bool {
    (site == DeliverySite::Nose) == (method == VaccineMethod::Nasal)
}

/// `REASON_NOT_VACCINATED`, case-insensitive: the stored outcome of a row that was not vaccinated.
pub fn parse_reason(text: &str) -> Option<VaccinationOutcome> {
    Some(match text.to_lowercase().as_str() {
        "refused" => VaccinationOutcome::Refused,
        "unwell" => VaccinationOutcome::Unwell,
        "vaccination contraindicated" => VaccinationOutcome::Contraindicated,
        "already had elsewhere" => VaccinationOutcome::AlreadyHad,
        _ => return None,
    })
}

/// Vaccination gender codes: the child-record codes, plus `unknown` and `indeterminate` for "not known". Numeric
/// codes are not accepted.
pub fn parse_vaccination_gender(text: &str) -> Option<Gender> {
    match text.to_lowercase().replace(' ', "_").as_str() {
        "unknown" | "indeterminate" => Some(Gender::NotKnown),
        other => parse_gender(other),
    }
}

/// `CARE_SETTING`: 1 is a school, 2 a clinic or the community.
pub fn parse_care_setting(text: &str) -> Option<CareSetting> {
    match parse_integer(text)? {
        1 => Some(CareSetting::School),
        2 => Some(CareSetting::Community),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CareSetting {
    School,
    Community,
}

/// Why a batch number is refused, as the message attached to its header.
pub fn check_batch_number(text: &str) -> Result<(), &'static str> {
    let length = text.chars().count();
    if length > 100 {
        Err("must be at most 100 characters long")
    } else if length < 2 {
        Err("must be at least 2 characters long")
    } else if !text.chars().all(|c| c.is_ascii_alphanumeric()) {
        Err("must be only letters and numbers")
    } else {
        Ok(())
    }
}

/// A programme as a row names it. `MMRV` is the MMR programme with varicella added, which changes only the
/// disease types recorded when no vaccine is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgrammeChoice {
    pub programme: Programme,
    pub mmrv: bool,
}

impl ProgrammeChoice {
    pub fn plain(programme: Programme) -> Self {
        ProgrammeChoice { programme, mmrv: false }
    }

    /// The disease types of the programme, or of its variant (§6.1 item 5: used when the vaccine is unknown).
    pub fn disease_types(self) -> Vec<String> {
        let types: &[&str] = match self.programme {
            Programme::Flu => &["influenza"],
            Programme::Hpv => &["human_papillomavirus"],
            Programme::Menacwy => &["meningitis_a", "meningitis_c", "meningitis_w", "meningitis_y"],
            Programme::Mmr if self.mmrv => &["measles", "mumps", "rubella", "varicella"],
            Programme::Mmr => &["measles", "mumps", "rubella"],
            Programme::TdIpv => &["tetanus", "diphtheria", "polio"],
        };
        types.iter().map(|t| t.to_string()).collect()
    }
}

/// The names a `PROGRAMME` cell (or the programme part of `Vaccination type`) may use, matched case-insensitively.
const IMPORT_NAMES: [(&str, Programme, bool); 8] = [
    ("flu", Programme::Flu, false),
    ("hpv", Programme::Hpv, false),
    ("acwyx4", Programme::Menacwy, false),
    ("menacwy", Programme::Menacwy, false),
    ("mmr", Programme::Mmr, false),
    ("mmrv", Programme::Mmr, true),
    ("3-in-1", Programme::TdIpv, false),
    ("td/ipv", Programme::TdIpv, false),
];

/// The programme an import name stands for, if it is one of `offered` (the team's, or the session's).
pub fn programme_for_name(name: &str, offered: &[Programme]) -> Option<ProgrammeChoice> {
    let name = name.to_lowercase();
    IMPORT_NAMES
        .iter()
        .find(|(import_name, programme, _)| *import_name == name && offered.contains(programme))
        .map(|&(_, programme, mmrv)| ProgrammeChoice { programme, mmrv })
}

/// The per-programme dose codes. The booster names are in Mavis's tables too, but a `DOSE_SEQUENCE` cell loses
/// its spaces and is upper-cased before the lookup, so they can only ever match from `Vaccination type`, whose
/// dose text is looked up as written (quirk 3 of mavis-import.md §14).
pub fn dose_code(programme: Programme, code: &str) -> Option<i64> {
    let table: &[(&str, i64)] = match programme {
        Programme::Hpv => &[("1P", 1), ("2P", 2), ("3P", 3)],
        Programme::Mmr => &[("1P", 1), ("1B", 2)],
        Programme::Menacwy => {
            &[("1P", 1), ("1B", 2), ("2B", 3), ("1st Scheduled Booster", 2), ("2nd Scheduled Booster", 3)]
        }
        Programme::TdIpv => &[
            ("1P", 1),
            ("2P", 2),
            ("3P", 3),
            ("1B", 4),
            ("2B", 5),
            ("1st Scheduled Booster", 4),
            ("2nd Scheduled Booster", 5),
        ],
        Programme::Flu => &[],
    };
    table.iter().find(|(key, _)| *key == code).map(|&(_, dose)| dose)
}

/// The dose recorded when none is given: 1 for flu and HPV, none for the rest.
pub fn default_dose(programme: Programme) -> Option<i64> {
    match programme {
        Programme::Flu | Programme::Hpv => Some(1),
        _ => None,
    }
}

pub fn maximum_dose(programme: Programme) -> i64 {
    match programme {
        Programme::Flu | Programme::Mmr => 2,
        Programme::Hpv | Programme::Menacwy => 3,
        Programme::TdIpv => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_vaccinated_is_a_prefix_of_yes_or_no_should_decide() {
        for text in ["y", "Y", "ye", "YES", "Yes"] {
            assert_eq!(parse_vaccinated(text), Some(true), "{text:?}");
        }
        for text in ["n", "N", "no", "No"] {
            assert_eq!(parse_vaccinated(text), Some(false), "{text:?}");
        }
        for text in ["yess", "nope", "Unknown vaccinated status", "1", "true", ""] {
            assert_eq!(parse_vaccinated(text), None, "{text:?}");
        }
    }

    #[test]
    fn when_site_is_known_in_any_case_should_map_to_site_and_method() {
        let cases = [
            ("Left Thigh", DeliverySite::LeftThigh),
            ("right thigh", DeliverySite::RightThigh),
            ("Left Upper Arm", DeliverySite::LeftArmUpperPosition),
            ("left deltoid", DeliverySite::LeftArmUpperPosition),
            ("Left arm (upper position)", DeliverySite::LeftArmUpperPosition),
            ("left arm (lower position)", DeliverySite::LeftArmLowerPosition),
            ("Right Upper Arm", DeliverySite::RightArmUpperPosition),
            ("RIGHT DELTOID", DeliverySite::RightArmUpperPosition),
            ("right arm (upper position)", DeliverySite::RightArmUpperPosition),
            ("right arm (lower position)", DeliverySite::RightArmLowerPosition),
            ("Left Buttock", DeliverySite::LeftButtock),
            ("Right Buttock", DeliverySite::RightButtock),
            ("Nasal", DeliverySite::Nose),
        ];
        for (text, site) in cases {
            assert_eq!(parse_delivery_site(text), Some(site), "{text:?}");
        }
        assert_eq!(delivery_method(DeliverySite::Nose), DeliveryMethod::NasalSpray);
        assert_eq!(delivery_method(DeliverySite::LeftThigh), DeliveryMethod::Intramuscular);
    }

    #[test]
    fn when_site_is_not_in_the_table_should_fail() {
        for text in ["Invalid anatomical site", "nose", "left arm", "left lower arm", ""] {
            assert_eq!(parse_delivery_site(text), None, "{text:?}");
        }
    }

    #[test]
    fn when_checking_site_against_vaccine_should_keep_nose_for_nasal_vaccines() {
        assert!(site_suits(VaccineMethod::Nasal, DeliverySite::Nose));
        assert!(!site_suits(VaccineMethod::Nasal, DeliverySite::LeftThigh));
        assert!(site_suits(VaccineMethod::Injection, DeliverySite::LeftArmUpperPosition));
        assert!(!site_suits(VaccineMethod::Injection, DeliverySite::Nose));
    }

    #[test]
    fn when_reason_is_known_in_any_case_should_give_outcome() {
        assert_eq!(parse_reason("Refused"), Some(VaccinationOutcome::Refused));
        assert_eq!(parse_reason("UNWELL"), Some(VaccinationOutcome::Unwell));
        assert_eq!(parse_reason("Vaccination Contraindicated"), Some(VaccinationOutcome::Contraindicated));
        assert_eq!(parse_reason("already had elsewhere"), Some(VaccinationOutcome::AlreadyHad));
        for text in ["contraindicated", "did not attend", "absent", ""] {
            assert_eq!(parse_reason(text), None, "{text:?}");
        }
    }

    #[test]
    fn when_gender_is_unknown_or_indeterminate_should_be_not_known() {
        assert_eq!(parse_vaccination_gender("Unknown"), Some(Gender::NotKnown));
        assert_eq!(parse_vaccination_gender("indeterminate"), Some(Gender::NotKnown));
        assert_eq!(parse_vaccination_gender("not knOWn"), Some(Gender::NotKnown));
        assert_eq!(parse_vaccination_gender("Not Specified"), Some(Gender::NotSpecified));
        assert_eq!(parse_vaccination_gender("male"), Some(Gender::Male));
        for text in ["1", "2", "9", "M", "other"] {
            assert_eq!(parse_vaccination_gender(text), None, "{text:?}");
        }
    }

    #[test]
    fn when_care_setting_is_1_or_2_should_parse() {
        assert_eq!(parse_care_setting("1"), Some(CareSetting::School));
        assert_eq!(parse_care_setting("2"), Some(CareSetting::Community));
        for text in ["0", "3", "community setting", "school"] {
            assert_eq!(parse_care_setting(text), None, "{text:?}");
        }
    }

    #[test]
    fn when_batch_number_breaks_a_rule_should_name_the_rule() {
        assert_eq!(check_batch_number("123013325"), Ok(()));
        assert_eq!(check_batch_number("AB"), Ok(()));
        assert_eq!(check_batch_number("A"), Err("must be at least 2 characters long"));
        assert_eq!(check_batch_number(&"A".repeat(101)), Err("must be at most 100 characters long"));
        assert_eq!(check_batch_number(&"A".repeat(100)), Ok(()));
        assert_eq!(check_batch_number("AB-12"), Err("must be only letters and numbers"));
        assert_eq!(check_batch_number("AB 12"), Err("must be only letters and numbers"));
    }

    #[test]
    fn when_programme_name_is_an_import_name_of_an_offered_programme_should_resolve() {
        let all = [Programme::Flu, Programme::Hpv, Programme::Menacwy, Programme::Mmr, Programme::TdIpv];
        let cases = [
            ("Flu", Programme::Flu, false),
            ("hpv", Programme::Hpv, false),
            ("ACWYX4", Programme::Menacwy, false),
            ("MenACWY", Programme::Menacwy, false),
            ("MMR", Programme::Mmr, false),
            ("mmrv", Programme::Mmr, true),
            ("3-in-1", Programme::TdIpv, false),
            ("Td/IPV", Programme::TdIpv, false),
        ];
        for (name, programme, mmrv) in cases {
            assert_eq!(programme_for_name(name, &all), Some(ProgrammeChoice { programme, mmrv }), "{name:?}");
        }
        assert_eq!(programme_for_name("Flu", &[Programme::Hpv]), None);
        assert_eq!(programme_for_name("Influenza", &all), None);
    }

    #[test]
    fn when_dose_code_is_in_the_programme_table_should_give_the_dose() {
        assert_eq!(dose_code(Programme::Hpv, "3P"), Some(3));
        assert_eq!(dose_code(Programme::Mmr, "1B"), Some(2));
        assert_eq!(dose_code(Programme::Menacwy, "2B"), Some(3));
        assert_eq!(dose_code(Programme::TdIpv, "1B"), Some(4));
        assert_eq!(dose_code(Programme::TdIpv, "2B"), Some(5));
        assert_eq!(dose_code(Programme::Hpv, "1B"), None);
        assert_eq!(dose_code(Programme::Flu, "1P"), None);
        assert_eq!(dose_code(Programme::Hpv, "1p"), None, "looked up as given");
    }

    #[test]
    fn when_programme_has_defaults_and_limits_should_follow_the_spec() {
        assert_eq!(default_dose(Programme::Flu), Some(1));
        assert_eq!(default_dose(Programme::Hpv), Some(1));
        assert_eq!(default_dose(Programme::Mmr), None);
        assert_eq!(default_dose(Programme::Menacwy), None);
        assert_eq!(default_dose(Programme::TdIpv), None);
        let maxima: Vec<i64> = [Programme::Flu, Programme::Hpv, Programme::Menacwy, Programme::Mmr, Programme::TdIpv]
            .into_iter()
            .map(maximum_dose)
            .collect();
        assert_eq!(maxima, [2, 3, 3, 2, 6]);
    }

    #[test]
    fn when_programme_is_a_variant_should_add_its_disease() {
        assert_eq!(ProgrammeChoice::plain(Programme::Mmr).disease_types(), ["measles", "mumps", "rubella"]);
        assert_eq!(
            ProgrammeChoice { programme: Programme::Mmr, mmrv: true }.disease_types(),
            ["measles", "mumps", "rubella", "varicella"]
        );
        assert_eq!(ProgrammeChoice::plain(Programme::Flu).disease_types(), ["influenza"]);
    }
}
