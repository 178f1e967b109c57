//! The SNOMED codes an Immunization carries (nhs-apis.md §5, §4.6): target diseases and search names per programme
//! variant, procedure codes, sites and routes. The reverse lookups serve records found by search (§7.4).

use crate::domain::Programme;
use crate::domain::vaccination::{DeliveryMethod, DeliverySite};
use crate::reference::vaccines::{Vaccine, VaccineMethod};

pub const SNOMED: &str = "http://snomed.info/sct";

/// A programme as the API knows it: MMR and MMRV are separate vaccine types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    Flu,
    Hpv,
    Menacwy,
    TdIpv,
    Mmr,
    Mmrv,
}

impl Variant {
    pub const ALL: [Variant; 6] =
        [Variant::TdIpv, Variant::Flu, Variant::Hpv, Variant::Menacwy, Variant::Mmr, Variant::Mmrv];

    /// A record's variant: MMRV when its vaccine (or its disease types) include varicella.
    pub fn of(programme: Programme, disease_types: &[String]) -> Variant {
        match programme {
            Programme::Flu => Variant::Flu,
            Programme::Hpv => Variant::Hpv,
            Programme::Menacwy => Variant::Menacwy,
            Programme::TdIpv => Variant::TdIpv,
            Programme::Mmr if disease_types.iter().any(|d| d == "varicella") => Variant::Mmrv,
            Programme::Mmr => Variant::Mmr,
        }
    }

    pub fn programme(self) -> Programme {
        match self {
            Variant::Flu => Programme::Flu,
            Variant::Hpv => Programme::Hpv,
            Variant::Menacwy => Programme::Menacwy,
            Variant::TdIpv => Programme::TdIpv,
            Variant::Mmr | Variant::Mmrv => Programme::Mmr,
        }
    }

    /// The `-immunization.target` name.
    pub fn target(self) -> &'static str {
        match self {
            Variant::Flu => "FLU",
            Variant::Hpv => "HPV",
            Variant::Menacwy => "MENACWY",
            Variant::TdIpv => "3IN1",
            Variant::Mmr => "MMR",
            Variant::Mmrv => "MMRV",
        }
    }

    /// Every target name, sorted, as Mavis searches (§7.2).
    pub fn all_targets() -> Vec<&'static str> {
        let mut targets: Vec<&str> = Self::ALL.iter().map(|v| v.target()).collect();
        targets.sort_unstable();
        targets
    }

    /// `(code, display)` of each target disease.
    pub fn target_diseases(self) -> &'static [(&'static str, &'static str)] {
        const MMR: [(&str, &str); 3] = [("14189004", "Measles"), ("36989005", "Mumps"), ("36653000", "Rubella")];
        match self {
            Variant::Flu => &[("6142004", "Influenza")],
            Variant::Hpv => &[("240532009", "Human papillomavirus infection")],
            Variant::Menacwy => &[("23511006", "Meningococcal infectious disease")],
            Variant::TdIpv => &[
                ("76902006", "Tetanus"),
                ("397430003", "Diphtheria caused by Corynebacterium diphtheriae"),
                ("398102009", "Acute poliomyelitis"),
            ],
            Variant::Mmr => &MMR,
            Variant::Mmrv => &[MMR[0], MMR[1], MMR[2], ("38907003", "Varicella")],
        }
    }

    /// The variant whose target-disease codes are exactly `codes` (set equality).
    pub fn from_target_codes(codes: &[&str]) -> Option<Variant> {
        let mut wanted: Vec<&str> = codes.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        Self::ALL.into_iter().find(|v| {
            let mut own: Vec<&str> = v.target_diseases().iter().map(|(code, _)| *code).collect();
            own.sort_unstable();
            own == wanted
        })
    }

    /// The disease types of a programme variant, for records whose vaccine is not in the catalogue.
    pub fn disease_types(self) -> Vec<String> {
        let names: &[&str] = match self {
            Variant::Flu => &["influenza"],
            Variant::Hpv => &["human_papillomavirus"],
            Variant::Menacwy => &["meningitis_a", "meningitis_c", "meningitis_w", "meningitis_y"],
            Variant::TdIpv => &["tetanus", "diphtheria", "polio"],
            Variant::Mmr => &["measles", "mumps", "rubella"],
            Variant::Mmrv => &["measles", "mumps", "rubella", "varicella"],
        };
        names.iter().map(|n| (*n).to_owned()).collect()
    }
}

/// The VaccinationProcedure extension's `(code, display)`; dose-indexed codes use dose 1 when the dose is unknown.
pub fn procedure(variant: Variant, vaccine: Option<&Vaccine>, dose: Option<u32>) -> (&'static str, &'static str) {
    let second = dose == Some(2);
    match variant {
        Variant::Flu if vaccine.is_some_and(|v| v.method == VaccineMethod::Nasal) => {
            if second {
                ("884881000000109", "Administration of second intranasal seasonal influenza vaccination")
            } else {
                ("884861000000100", "Administration of first intranasal seasonal influenza vaccination")
            }
        }
        Variant::Flu => {
            if second {
                ("985171000000109", "Administration of second inactivated seasonal influenza vaccination")
            } else {
                ("985151000000100", "Administration of first inactivated seasonal influenza vaccination")
            }
        }
        Variant::Hpv => ("761841000", "Administration of vaccine product containing only Human papillomavirus antigen"),
        Variant::Menacwy => (
            "871874000",
            "Administration of vaccine product containing only Neisseria meningitidis serogroup A, C, W135 and Y antigens",
        ),
        Variant::TdIpv => (
            "414619005",
            "Administration of vaccine product containing only Clostridium tetani and low dose Corynebacterium \
             diphtheriae and inactivated Human poliovirus antigens",
        ),
        Variant::Mmr if second => (
            "170433008",
            "Administration of second dose of vaccine product containing only Measles morbillivirus and Mumps \
             orthorubulavirus and Rubella virus antigens",
        ),
        Variant::Mmr => (
            "38598009",
            "Administration of vaccine product containing only Measles morbillivirus and Mumps orthorubulavirus and \
             Rubella virus antigens",
        ),
        Variant::Mmrv if second => (
            "433733003",
            "Administration of second dose of vaccine product containing only Human alphaherpesvirus 3 and Measles \
             morbillivirus and Mumps orthorubulavirus and Rubella virus antigens",
        ),
        Variant::Mmrv => (
            "432636005",
            "Administration of vaccine product containing only Human alphaherpesvirus 3 and Measles morbillivirus and \
             Mumps orthorubulavirus and Rubella virus antigens",
        ),
    }
}

/// `(code, display)` of a delivery site; upper and lower arm share one code.
pub fn site(site: DeliverySite) -> (&'static str, &'static str) {
    match site {
        DeliverySite::LeftThigh => ("61396006", "Structure of left thigh"),
        DeliverySite::RightThigh => ("11207009", "Structure of right thigh"),
        DeliverySite::LeftArmUpperPosition | DeliverySite::LeftArmLowerPosition => {
            ("368208006", "Left upper arm structure")
        }
        DeliverySite::RightArmUpperPosition | DeliverySite::RightArmLowerPosition => {
            ("368209003", "Right upper arm structure")
        }
        DeliverySite::LeftButtock => ("723979003", "Structure of left buttock"),
        DeliverySite::RightButtock => ("723980000", "Structure of right buttock"),
        DeliverySite::Nose => ("279549004", "Nasal cavity structure"),
    }
}

/// The site a SNOMED code names (the arm codes read back as the upper position).
pub fn site_from_code(code: &str) -> Option<DeliverySite> {
    Some(match code {
        "61396006" => DeliverySite::LeftThigh,
        "11207009" => DeliverySite::RightThigh,
        "368208006" => DeliverySite::LeftArmUpperPosition,
        "368209003" => DeliverySite::RightArmUpperPosition,
        "723979003" => DeliverySite::LeftButtock,
        "723980000" => DeliverySite::RightButtock,
        "279549004" => DeliverySite::Nose,
        _ => return None,
    })
}

pub fn route(method: DeliveryMethod) -> (&'static str, &'static str) {
    match method {
        DeliveryMethod::Intramuscular => ("78421000", "Intramuscular"),
        DeliveryMethod::NasalSpray => ("46713006", "Nasal"),
    }
}

pub fn route_from_code(code: &str) -> Option<DeliveryMethod> {
    match code {
        "78421000" => Some(DeliveryMethod::Intramuscular),
        "46713006" => Some(DeliveryMethod::NasalSpray),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_codes_match_by_set_equality() {
        assert_eq!(Variant::from_target_codes(&["36653000", "14189004", "36989005"]), Some(Variant::Mmr));
        assert_eq!(Variant::from_target_codes(&["38907003", "36653000", "14189004", "36989005"]), Some(Variant::Mmrv));
        assert_eq!(Variant::from_target_codes(&["14189004"]), None);
        assert_eq!(Variant::all_targets().join(","), "3IN1,FLU,HPV,MENACWY,MMR,MMRV");
    }

    #[test]
    fn sites_and_routes_round_trip() {
        for site_value in [DeliverySite::LeftThigh, DeliverySite::RightArmUpperPosition, DeliverySite::Nose] {
            assert_eq!(site_from_code(site(site_value).0), Some(site_value));
        }
        assert_eq!(route_from_code(route(DeliveryMethod::NasalSpray).0), Some(DeliveryMethod::NasalSpray));
    }
}
