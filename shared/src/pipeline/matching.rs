//! Finding the existing patient an uploaded row is about (mavis-import.md §7.1, and §8.1 for vaccination rows).
//!
//! Pure: the caller fetches a superset of plausible candidates from the store (everyone sharing the NHS number, the
//! date of birth or the postcode) and this module decides which of them, if any, is the same child.

use std::collections::HashSet;

use chrono::NaiveDate;

use crate::domain::patient::SchoolPlacement;
use crate::domain::{Patient, ReferenceData};

/// The identifying fields of an uploaded child, after PDS has had its say on the NHS number.
#[derive(Debug, Clone, Copy)]
pub struct MatchInput<'a> {
    pub nhs_number: Option<&'a str>,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub date_of_birth: NaiveDate,
    /// Canonical form, and only when the uploaded postcode is valid: an invalid postcode must not widen the search.
    pub postcode: Option<&'a str>,
}

/// Which flavour of the matcher to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchRule {
    /// Child records and class lists: a valid postcode also allows "any 3 of the 4" matches.
    ChildRecords,
    /// Vaccination records (§8.1): no 3-of-4; with a valid postcode all four fields must agree.
    VaccinationRecords,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MatchOutcome<'a> {
    /// No existing patient: the row creates one.
    New,
    Matched {
        patient: &'a Patient,
        /// Exactly one match and its NHS number equals the uploaded (post-PDS) one. Decides whether "keep both" is
        /// offered for an import issue (§7.3) and the wording of the issue.
        on_nhs_number: bool,
    },
    /// More than one candidate survived. Validation turns this into a row error; after PDS the pipeline takes the
    /// first, so the order is the order of `candidates` (duplicates removed).
    Ambiguous(Vec<&'a Patient>),
}

/// Matches an uploaded child against existing patients, following §7.1 steps 1–6.
///
/// `candidates`: every patient that shares the NHS number, the date of birth or the postcode with the input (the
/// caller's superset; it may contain the same patient more than once, which is tolerated).
pub fn match_patient<'a>(input: &MatchInput, candidates: &'a [Patient], rule: MatchRule) -> MatchOutcome<'a> {
    let candidates = distinct_by_id(candidates);
    let input_nhs = input.nhs_number.map(normalise_nhs_number).filter(|n| !n.is_empty());
    let input_postcode = input.postcode.map(normalise_postcode).filter(|p| !p.is_empty());

    // Step 1: an NHS-number match is the only match, whatever the other fields say.
    if let Some(nhs) = input_nhs.as_deref()
        && let Some(patient) = candidates.iter().copied().find(|p| patient_nhs_number(p).as_deref() == Some(nhs))
    {
        return MatchOutcome::Matched { patient, on_nhs_number: true };
    }

    let fields = |p: &Patient| FieldMatches::of(p, input, input_postcode.as_deref());

    // Step 2: demographic candidates.
    let mut matches: Vec<&Patient> =
        candidates.into_iter().filter(|p| fields(p).is_candidate(input_postcode.is_some(), rule)).collect();

    // Step 3: a patient with a different NHS number can never be the same child (the twins case).
    if input_nhs.is_some() {
        matches.retain(|p| patient_nhs_number(p).is_none());
    }

    // Step 4: with a postcode, a single exact four-field match beats the looser 3-of-4 ones.
    if input_postcode.is_some() {
        let exact: Vec<&Patient> = matches.iter().copied().filter(|p| fields(p).all_four()).collect();
        if exact.len() == 1 {
            matches = exact;
        }
    }

    // Steps 5 and 6.
    match matches.as_slice() {
        [] => MatchOutcome::New,
        [patient] => {
            let on_nhs_number = input_nhs.is_some() && patient_nhs_number(patient) == input_nhs;
            MatchOutcome::Matched { patient, on_nhs_number }
        }
        _ => MatchOutcome::Ambiguous(matches),
    }
}

/// A row refused because its NHS number names a child the uploading team has no care relationship with, and the row
/// does not otherwise say who that child is (hardening: an NHS number is easy to guess, its last digit being a
/// mod-11 check). The child is neither shown to the team nor changed.
pub const UNCONFIRMED_NHS_NUMBER: &str = "The NHS number on this row belongs to a child whose name and date of \
     birth do not match this row. Check the NHS number, first name, last name and date of birth.";

/// Whether the team already has a care relationship with the child: listed or archived in the team (which its own
/// earlier imports and records leave), or at one of the team's schools.
pub fn cared_for_by(patient: &Patient, team_id: &str, reference: &ReferenceData) -> bool {
    let at_its_school = match &patient.school {
        SchoolPlacement::School { urn } => reference.school(urn).is_some_and(|s| s.team_id.as_deref() == Some(team_id)),
        SchoolPlacement::HomeEducated | SchoolPlacement::Unknown => false,
    };
    patient.team_ids.iter().any(|t| t == team_id) || patient.archived_in.contains_key(team_id) || at_its_school
}

/// Whether a match on the NHS number may stand (§7.1 step 1) for this team: always for a child it already cares for;
/// for anyone else's child only when the row also agrees with at least two of the child's first name, last name and
/// date of birth (a corrected date of birth, or a changed surname, still matches), so that a guessed number alone
/// neither reveals nor changes another team's child.
pub fn nhs_number_match_stands(
    patient: &Patient,
    input: &MatchInput,
    team_id: &str,
    reference: &ReferenceData,
) -> bool {
    let attributes = &patient.attributes;
    let agreeing = [
        names_equal(attributes.given_name.as_deref(), input.given_name),
        names_equal(attributes.family_name.as_deref(), input.family_name),
        attributes.date_of_birth == Some(input.date_of_birth),
    ];
    agreeing.iter().filter(|&&agrees| agrees).count() >= 2 || cared_for_by(patient, team_id, reference)
}

/// Which of the four identifying fields a patient shares with the input.
#[derive(Debug, Clone, Copy)]
struct FieldMatches {
    given_name: bool,
    family_name: bool,
    date_of_birth: bool,
    /// Always false when the input has no (valid) postcode.
    postcode: bool,
}

impl FieldMatches {
    fn of(patient: &Patient, input: &MatchInput, input_postcode: Option<&str>) -> Self {
        let attributes = &patient.attributes;
        FieldMatches {
            given_name: names_equal(attributes.given_name.as_deref(), input.given_name),
            family_name: names_equal(attributes.family_name.as_deref(), input.family_name),
            date_of_birth: attributes.date_of_birth == Some(input.date_of_birth),
            postcode: input_postcode.is_some()
                && attributes.address_postcode.as_deref().map(normalise_postcode).as_deref() == input_postcode,
        }
    }

    fn all_four(self) -> bool {
        self.given_name && self.family_name && self.date_of_birth && self.postcode
    }

    /// Step 2: name and date of birth always qualify; with a postcode, child imports also accept any 3 of the 4
    /// fields, while vaccination imports require all four.
    fn is_candidate(self, has_postcode: bool, rule: MatchRule) -> bool {
        let names_and_birth = self.given_name && self.family_name && self.date_of_birth;
        match (has_postcode, rule) {
            (false, _) => names_and_birth,
            (true, MatchRule::VaccinationRecords) => self.all_four(),
            (true, MatchRule::ChildRecords) => {
                let agreeing = [self.given_name, self.family_name, self.date_of_birth, self.postcode];
                agreeing.iter().filter(|&&agrees| agrees).count() >= 3
            }
        }
    }
}

/// The caller's superset may repeat a patient (found by NHS number and by date of birth, say); keep the first.
fn distinct_by_id(candidates: &[Patient]) -> Vec<&Patient> {
    let mut seen = HashSet::new();
    candidates.iter().filter(|p| seen.insert(p.id)).collect()
}

/// Names are compared case-insensitively, like the case-insensitive text columns of the original database.
fn names_equal(stored: Option<&str>, uploaded: &str) -> bool {
    stored.is_some_and(|stored| stored.to_lowercase() == uploaded.to_lowercase())
}

/// The patient's NHS number without spaces, or None when absent or blank.
fn patient_nhs_number(patient: &Patient) -> Option<String> {
    patient.attributes.nhs_number.as_deref().map(normalise_nhs_number).filter(|n| !n.is_empty())
}

fn normalise_nhs_number(value: &str) -> String {
    value.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Stored postcodes should already be canonical; comparing without spaces and case keeps an old record written
/// as "sw1a1aa" matchable.
fn normalise_postcode(value: &str) -> String {
    value.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::domain::patient::{ChildAttributes, SchoolPlacement};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    fn patient(given: &str, family: &str, dob: &str, postcode: Option<&str>, nhs: Option<&str>) -> Patient {
        let at = Utc.with_ymd_and_hms(2023, 5, 20, 9, 0, 0).single().expect("test time");
        Patient::new(
            Uuid::new_v4(),
            ChildAttributes {
                given_name: Some(given.into()),
                family_name: Some(family.into()),
                date_of_birth: Some(d(dob)),
                address_postcode: postcode.map(Into::into),
                nhs_number: nhs.map(Into::into),
                ..ChildAttributes::default()
            },
            SchoolPlacement::Unknown,
            at,
        )
    }

    fn input<'a>(
        given: &'a str,
        family: &'a str,
        dob: &str,
        postcode: Option<&'a str>,
        nhs: Option<&'a str>,
    ) -> MatchInput<'a> {
        MatchInput { nhs_number: nhs, given_name: given, family_name: family, date_of_birth: d(dob), postcode }
    }

    fn matched_id(outcome: &MatchOutcome) -> Option<(Uuid, bool)> {
        match outcome {
            MatchOutcome::Matched { patient, on_nhs_number } => Some((patient.id, *on_nhs_number)),
            _ => None,
        }
    }

    #[test]
    fn when_no_candidates_should_be_new() {
        let row = input("Jennifer", "Clarke", "2010-01-01", Some("SW1A 1AA"), Some("9990000018"));

        assert_eq!(match_patient(&row, &[], MatchRule::ChildRecords), MatchOutcome::New);
    }

    #[test]
    fn when_nhs_number_matches_should_match_only_that_patient_on_nhs_number() {
        // valid_with_changes.csv: Jennifer's row has a new address but her NHS number.
        let jennifer = patient("Jennifer", "Clarke", "2010-01-01", Some("SW1A 1AA"), Some("9990000018"));
        let namesake = patient("Jennifer", "Clarke", "2010-01-01", Some("SW1A 1AB"), None);
        let candidates = [namesake, jennifer.clone()];
        let row = input("Jennifer", "Clarke", "2010-01-01", Some("SW1A 1AB"), Some("9990000018"));

        let outcome = match_patient(&row, &candidates, MatchRule::ChildRecords);

        assert_eq!(matched_id(&outcome), Some((jennifer.id, true)));
    }

    #[test]
    fn when_nhs_number_matches_but_nothing_else_does_should_still_match() {
        let existing = patient("Jenny", "Clark", "2011-02-02", None, Some("9990000018"));
        let candidates = [existing.clone()];
        let row = input("Jennifer", "Clarke", "2010-01-01", Some("SW1A 1AB"), Some("999 000 0018"));

        let outcome = match_patient(&row, &candidates, MatchRule::VaccinationRecords);

        assert_eq!(matched_id(&outcome), Some((existing.id, true)));
    }

    #[test]
    fn when_names_differ_only_in_case_should_match_on_name_and_date_of_birth() {
        let jimmy = patient("jimmy", "SMITH", "2010-01-02", None, None);
        let candidates = [jimmy.clone()];
        let row = input("Jimmy", "Smith", "2010-01-02", None, Some("9990000026"));

        let outcome = match_patient(&row, &candidates, MatchRule::ChildRecords);

        assert_eq!(matched_id(&outcome), Some((jimmy.id, false)));
    }

    #[test]
    fn when_twin_matches_three_of_four_but_has_different_nhs_number_should_be_new() {
        // fixture-outcomes §2.1 D: Mark's row got 9449306168 from PDS; John Doe shares family name, DOB and postcode.
        let john = patient("John", "Doe", "2010-01-03", Some("SW1A 1AA"), Some("9000000009"));
        let candidates = [john];
        let row = input("Mark", "Doe", "2010-01-03", Some("SW1A 1AA"), Some("9449306168"));

        assert_eq!(match_patient(&row, &candidates, MatchRule::ChildRecords), MatchOutcome::New);
    }

    #[test]
    fn when_twin_matches_three_of_four_and_upload_has_no_nhs_number_should_match() {
        // §2.1 D, the risk it guards against: without PDS, Mark would match John on 3 of 4.
        let john = patient("John", "Doe", "2010-01-03", Some("SW1A 1AA"), Some("9000000009"));
        let candidates = [john.clone()];
        let row = input("Mark", "Doe", "2010-01-03", Some("SW1A 1AA"), None);

        let outcome = match_patient(&row, &candidates, MatchRule::ChildRecords);

        assert_eq!(matched_id(&outcome), Some((john.id, false)));
    }

    #[test]
    fn when_each_three_of_four_combination_matches_should_be_a_candidate() {
        let row = input("Taylor", "Reed", "2010-01-01", Some("SW1A 1AA"), None);
        let variants = [
            patient("Taylor", "Reed", "2011-11-11", Some("SW1A 1AA"), None), // given + family + postcode
            patient("Taylor", "Other", "2010-01-01", Some("SW1A 1AA"), None), // given + DOB + postcode
            patient("Other", "Reed", "2010-01-01", Some("SW1A 1AA"), None),  // family + DOB + postcode
            patient("Taylor", "Reed", "2010-01-01", Some("N1 1AA"), None),   // given + family + DOB
        ];

        for existing in variants {
            let candidates = [existing.clone()];
            let outcome = match_patient(&row, &candidates, MatchRule::ChildRecords);
            assert_eq!(matched_id(&outcome), Some((existing.id, false)), "{:?}", existing.attributes);
        }
    }

    #[test]
    fn when_only_two_of_four_match_should_be_new() {
        let existing = patient("Taylor", "Other", "2011-11-11", Some("SW1A 1AA"), None);
        let candidates = [existing];
        let row = input("Taylor", "Reed", "2010-01-01", Some("SW1A 1AA"), None);

        assert_eq!(match_patient(&row, &candidates, MatchRule::ChildRecords), MatchOutcome::New);
    }

    #[test]
    fn when_upload_has_no_postcode_should_not_use_three_of_four() {
        let existing = patient("Other", "Reed", "2010-01-01", Some("SW1A 1AA"), None);
        let candidates = [existing];
        let row = input("Taylor", "Reed", "2010-01-01", None, None);

        assert_eq!(match_patient(&row, &candidates, MatchRule::ChildRecords), MatchOutcome::New);
    }

    #[test]
    fn when_postcode_differs_should_still_match_on_name_and_date_of_birth() {
        // duplicate_except_postcode.csv (§2.11): Taylor Reed moves from SW1A 1AA to SW1A 1AB.
        let taylor = patient("Taylor", "Reed", "2010-01-01", Some("SW1A 1AA"), None);
        let candidates = [taylor.clone()];
        let row = input("Taylor", "Reed", "2010-01-01", Some("SW1A 1AB"), None);

        let outcome = match_patient(&row, &candidates, MatchRule::ChildRecords);

        assert_eq!(matched_id(&outcome), Some((taylor.id, false)));
    }

    #[test]
    fn when_two_candidates_match_should_be_ambiguous_in_candidate_order() {
        let first = patient("Taylor", "Reed", "2010-01-01", Some("N1 1AA"), None);
        let second = patient("Taylor", "Reed", "2010-01-01", Some("N2 2AA"), None);
        let candidates = [first.clone(), second.clone()];
        let row = input("Taylor", "Reed", "2010-01-01", Some("SW1A 1AA"), None);

        let outcome = match_patient(&row, &candidates, MatchRule::ChildRecords);

        let MatchOutcome::Ambiguous(found) = outcome else { panic!("expected ambiguous, got {outcome:?}") };
        assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), vec![first.id, second.id]);
    }

    #[test]
    fn when_one_of_several_candidates_matches_all_four_should_narrow_to_it() {
        let exact = patient("Taylor", "Reed", "2010-01-01", Some("SW1A 1AA"), None);
        let sibling = patient("Morgan", "Reed", "2010-01-01", Some("SW1A 1AA"), None);
        let candidates = [sibling, exact.clone()];
        let row = input("Taylor", "Reed", "2010-01-01", Some("SW1A 1AA"), None);

        let outcome = match_patient(&row, &candidates, MatchRule::ChildRecords);

        assert_eq!(matched_id(&outcome), Some((exact.id, false)));
    }

    #[test]
    fn when_two_candidates_match_all_four_should_stay_ambiguous() {
        let one = patient("Taylor", "Reed", "2010-01-01", Some("SW1A 1AA"), None);
        let two = patient("taylor", "reed", "2010-01-01", Some("SW1A 1AA"), None);
        let candidates = [one, two];
        let row = input("Taylor", "Reed", "2010-01-01", Some("SW1A 1AA"), None);

        let outcome = match_patient(&row, &candidates, MatchRule::ChildRecords);

        assert!(matches!(outcome, MatchOutcome::Ambiguous(ref found) if found.len() == 2), "{outcome:?}");
    }

    #[test]
    fn when_candidates_repeat_the_same_patient_should_count_it_once() {
        let taylor = patient("Taylor", "Reed", "2010-01-01", Some("SW1A 1AA"), None);
        let candidates = [taylor.clone(), taylor.clone()];
        let row = input("Taylor", "Reed", "2010-01-01", None, None);

        let outcome = match_patient(&row, &candidates, MatchRule::ChildRecords);

        assert_eq!(matched_id(&outcome), Some((taylor.id, false)));
    }

    #[test]
    fn when_vaccination_row_matches_three_of_four_should_be_new() {
        let john = patient("John", "Doe", "2010-01-03", Some("SW1A 1AA"), None);
        let candidates = [john];
        let row = input("Mark", "Doe", "2010-01-03", Some("SW1A 1AA"), None);

        assert_eq!(match_patient(&row, &candidates, MatchRule::VaccinationRecords), MatchOutcome::New);
    }

    #[test]
    fn when_vaccination_row_has_postcode_should_require_it_to_match() {
        let taylor = patient("Taylor", "Reed", "2010-01-01", Some("SW1A 1AA"), None);
        let candidates = [taylor.clone()];
        let moved = input("Taylor", "Reed", "2010-01-01", Some("SW1A 1AB"), None);
        let same = input("TAYLOR", "reed", "2010-01-01", Some("sw1a1aa"), None);

        assert_eq!(match_patient(&moved, &candidates, MatchRule::VaccinationRecords), MatchOutcome::New);
        assert_eq!(
            matched_id(&match_patient(&same, &candidates, MatchRule::VaccinationRecords)),
            Some((taylor.id, false))
        );
    }

    #[test]
    fn when_vaccination_row_has_no_postcode_should_match_on_name_and_date_of_birth() {
        let taylor = patient("Taylor", "Reed", "2010-01-01", Some("SW1A 1AA"), None);
        let candidates = [taylor.clone()];
        let row = input("Taylor", "Reed", "2010-01-01", None, None);

        let outcome = match_patient(&row, &candidates, MatchRule::VaccinationRecords);

        assert_eq!(matched_id(&outcome), Some((taylor.id, false)));
    }

    #[test]
    fn when_match_without_nhs_number_on_record_should_not_be_on_nhs_number() {
        // review_one.csv: Calvin Klein has no NHS number; his row brings 9435753973.
        let calvin = patient("Calvin", "Klein", "2014-11-19", Some("KT2 9HF"), None);
        let candidates = [calvin.clone()];
        let row = input("Calvin", "Klein", "2014-11-19", Some("KT2 9HF"), Some("9435753973"));

        let outcome = match_patient(&row, &candidates, MatchRule::ChildRecords);

        assert_eq!(matched_id(&outcome), Some((calvin.id, false)));
    }

    #[test]
    fn when_only_unrelated_candidates_share_the_date_of_birth_should_be_new() {
        // valid_unknown_school.csv with the existing Mark Doe: Jennifer's row shares nothing but the postcode.
        let mark = patient("Mark", "Doe", "2010-01-03", Some("SW1A 1AA"), None);
        let candidates = [mark.clone()];
        let jennifer = input("Jennifer", "Clarke", "2010-01-01", Some("SW1A 1AA"), Some("9990000018"));
        let mark_row = input("Mark", "Doe", "2010-01-03", Some("SW1A 1AA"), None);

        assert_eq!(match_patient(&jennifer, &candidates, MatchRule::ChildRecords), MatchOutcome::New);
        assert_eq!(matched_id(&match_patient(&mark_row, &candidates, MatchRule::ChildRecords)), Some((mark.id, false)));
    }

    #[test]
    fn an_nhs_number_match_should_stand_for_another_teams_child_only_with_two_of_its_names_and_date_of_birth() {
        let reference = crate::reference::demo();
        let mut child = patient("Alex", "Taylor", "2011-04-04", None, Some("9990000018"));
        child.team_ids = vec!["rxb".into()];
        let guess = input("Jennifer", "Clarke", "2010-01-01", None, Some("9990000018"));
        let one_name = input("alex", "Smith", "2011-04-04", None, Some("9990000018"));
        let names_only = input("Alex", "TAYLOR", "2011-04-05", None, Some("9990000018"));
        let date_of_birth_only = input("Sam", "Smith", "2011-04-04", None, Some("9990000018"));
        let surname_only = input("Sam", "Taylor", "2012-01-01", None, Some("9990000018"));

        assert!(!nhs_number_match_stands(&child, &guess, "r1l", &reference), "the number alone");
        assert!(!nhs_number_match_stands(&child, &date_of_birth_only, "r1l", &reference), "and the date of birth");
        assert!(!nhs_number_match_stands(&child, &surname_only, "r1l", &reference), "and the surname");
        assert!(nhs_number_match_stands(&child, &names_only, "r1l", &reference), "both names");
        assert!(nhs_number_match_stands(&child, &one_name, "r1l", &reference), "date of birth and a name");
        assert!(nhs_number_match_stands(&child, &guess, "rxb", &reference), "the team's own child");

        // A care relationship through a school: the child is at one of r1l's schools (123456), though not listed.
        child.school = SchoolPlacement::School { urn: "123456".into() };
        assert!(nhs_number_match_stands(&child, &guess, "r1l", &reference), "a child at the team's school");
        child.school = SchoolPlacement::Unknown;
        child.archived_in.insert("r1l".into(), "immunisation_import".into());
        assert!(nhs_number_match_stands(&child, &guess, "r1l", &reference), "the team's own earlier records");
    }
}
