//! Reference data: teams, schools, clinics, users and sessions. Loaded from a seed file (`crate::reference::seed`)
//! and kept in the record store; read-only to the import pipeline.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Programme {
    Flu,
    Hpv,
    Menacwy,
    Mmr,
    TdIpv,
}

impl Programme {
    pub fn name(self) -> &'static str {
        match self {
            Programme::Flu => "flu",
            Programme::Hpv => "HPV",
            Programme::Menacwy => "MenACWY",
            Programme::Mmr => "MMR",
            Programme::TdIpv => "Td/IPV",
        }
    }

    /// The year groups a programme is offered to by default.
    pub fn default_year_groups(self) -> std::ops::RangeInclusive<i32> {
        match self {
            Programme::Flu | Programme::Mmr => 0..=11,
            Programme::Hpv => 8..=11,
            Programme::Menacwy | Programme::TdIpv => 9..=11,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamKind {
    PointOfCare,
    NationalReporting,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    /// Stable identifier used in keys and object paths (`uploads/{team}/…`).
    pub id: String,
    /// The organisation's ODS code (`drops/{ods}/…`, `ORGANISATION_CODE`).
    pub ods_code: String,
    pub name: String,
    pub kind: TeamKind,
    pub programmes: Vec<Programme>,
    /// Year groups the team's child records may contain (the union over its schools and generic clinic).
    pub year_groups: Vec<i32>,
    /// The team's generic clinic: where children with no school, or home-educated, are seen.
    #[serde(default)]
    pub generic_clinic_id: Option<String>,
    /// Whether an import whose PDS match rate is below 70% is rejected (mavis-import.md §11.2).
    #[serde(default)]
    pub reject_low_pds_match_rate: bool,
    /// National reporting: vaccinations before this date are rejected, so nothing is reported twice.
    #[serde(default)]
    pub national_reporting_cut_off_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct School {
    pub urn: String,
    /// Set when the URN has been split into sites (`123456A`, `123456B`).
    #[serde(default)]
    pub site: Option<String>,
    #[serde(default)]
    pub systm_one_code: Option<String>,
    pub name: String,
    pub year_groups: Vec<i32>,
    /// The team the school is attached to for the current and pending academic years.
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

impl School {
    /// URN with site letter: the school's identity in this service (`123456` or `123456A`).
    pub fn urn_and_site(&self) -> String {
        match &self.site {
            Some(site) => format!("{}{}", self.urn, site),
            None => self.urn.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clinic {
    pub id: String,
    pub name: String,
    pub team_id: String,
    /// The team's generic clinic rather than a named community clinic.
    #[serde(default)]
    pub generic: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub email: String,
    pub team_id: String,
    pub given_name: String,
    pub family_name: String,
    /// May see and dismiss important notices (CIS2 activity B1611).
    #[serde(default)]
    pub super_admin: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: i64,
    pub team_id: String,
    /// A school URN(+site) or a clinic id.
    pub location: String,
    pub programmes: Vec<Programme>,
    pub dates: Vec<NaiveDate>,
    pub academic_year: i32,
}

/// Everything the seed provides, indexed for the lookups the pipeline needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceData {
    #[serde(default)]
    pub teams: Vec<Team>,
    #[serde(default)]
    pub schools: Vec<School>,
    #[serde(default)]
    pub clinics: Vec<Clinic>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub sessions: Vec<Session>,
}

/// How a `CHILD_SCHOOL_URN` (or `SCHOOL_URN`) value resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum SchoolLookup<'a> {
    Found(&'a School),
    /// The URN has sites; the value must name one. Holds the site URNs, sorted.
    SplitIntoSites(Vec<String>),
    NotFound,
}

impl ReferenceData {
    pub fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    pub fn team_by_ods(&self, ods_code: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.ods_code.eq_ignore_ascii_case(ods_code))
    }

    pub fn user(&self, email: &str) -> Option<&User> {
        self.users.iter().find(|u| u.email.eq_ignore_ascii_case(email))
    }

    pub fn school(&self, urn_and_site: &str) -> Option<&School> {
        self.schools.iter().find(|s| s.urn_and_site() == urn_and_site)
    }

    pub fn schools_of_team<'a>(&'a self, team_id: &'a str) -> impl Iterator<Item = &'a School> + 'a {
        self.schools.iter().filter(move |s| s.team_id.as_deref() == Some(team_id))
    }

    pub fn generic_clinic(&self, team_id: &str) -> Option<&Clinic> {
        self.clinics.iter().find(|c| c.team_id == team_id && c.generic)
    }

    /// Resolves a school value by URN, URN+site or SystmOne code among `schools` (a team's, or all).
    pub fn lookup_school<'a>(schools: impl Iterator<Item = &'a School> + Clone, value: &str) -> SchoolLookup<'a> {
        let value = value.trim();
        if let Some(found) = schools.clone().find(|s| {
            s.urn_and_site().eq_ignore_ascii_case(value)
                || s.systm_one_code.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(value))
        }) {
            return SchoolLookup::Found(found);
        }
        let mut sites: Vec<String> =
            schools.filter(|s| s.site.is_some() && s.urn == value).map(School::urn_and_site).collect();
        if sites.is_empty() {
            SchoolLookup::NotFound
        } else {
            sites.sort();
            SchoolLookup::SplitIntoSites(sites)
        }
    }

    /// Teams keyed by id, for quick access when rendering.
    pub fn teams_by_id(&self) -> BTreeMap<&str, &Team> {
        self.teams.iter().map(|t| (t.id.as_str(), t)).collect()
    }
}
