//! Patients built earlier in the same file (mavis-import.md §8.1): a row that matches no stored patient is matched
//! against the new patients of the rows before it, with the same rules, so that repeated rows for one child create
//! one patient, with or without an NHS number.

use std::collections::HashMap;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::domain::Patient;
use crate::domain::patient::{ChildAttributes, SchoolPlacement};
use crate::pipeline::matching::{MatchInput, MatchOutcome, MatchRule, match_patient};

/// The new patients planned so far, indexed the way the matcher looks for them: every vaccination row has a date of
/// birth, and an NHS-number match may cross dates of birth.
#[derive(Debug, Default)]
pub struct InFilePatients {
    by_date_of_birth: HashMap<NaiveDate, Vec<Patient>>,
    by_nhs_number: HashMap<String, (NaiveDate, usize)>,
}

impl InFilePatients {
    /// The new patient an earlier row built for this child, if any. Several candidates (possible only when earlier
    /// rows had different NHS numbers) resolve to the earliest.
    pub fn find(&self, input: &MatchInput) -> Option<Uuid> {
        let mut candidates: Vec<Patient> = Vec::new();
        if let Some(nhs) = input.nhs_number.map(compact)
            && let Some((date, position)) = self.by_nhs_number.get(&nhs)
        {
            candidates.push(self.by_date_of_birth[date][*position].clone());
        }
        if let Some(same_birthday) = self.by_date_of_birth.get(&input.date_of_birth) {
            // Only namesakes can match on demographics; the matcher applies the rest of the rules.
            let given = input.given_name.to_lowercase();
            let family = input.family_name.to_lowercase();
            let namesake = |p: &&Patient| {
                p.attributes.given_name.as_deref().map(str::to_lowercase) == Some(given.clone())
                    && p.attributes.family_name.as_deref().map(str::to_lowercase) == Some(family.clone())
            };
            candidates.extend(same_birthday.iter().filter(namesake).cloned());
        }
        match match_patient(input, &candidates, MatchRule::VaccinationRecords) {
            MatchOutcome::New => None,
            MatchOutcome::Matched { patient, .. } => Some(patient.id),
            MatchOutcome::Ambiguous(found) => found.first().map(|p| p.id),
        }
    }

    /// Records the patient a row creates. Only the identifying attributes are kept.
    pub fn add(&mut self, id: Uuid, attributes: &ChildAttributes) {
        let Some(date_of_birth) = attributes.date_of_birth else {
            return;
        };
        let kept = ChildAttributes {
            given_name: attributes.given_name.clone(),
            family_name: attributes.family_name.clone(),
            date_of_birth: Some(date_of_birth),
            nhs_number: attributes.nhs_number.clone(),
            address_postcode: attributes.address_postcode.clone(),
            ..ChildAttributes::default()
        };
        let list = self.by_date_of_birth.entry(date_of_birth).or_default();
        if let Some(nhs) = attributes.nhs_number.as_deref().map(compact) {
            self.by_nhs_number.entry(nhs).or_insert((date_of_birth, list.len()));
        }
        list.push(skeleton(id, kept));
    }
}

fn compact(nhs_number: &str) -> String {
    nhs_number.chars().filter(|c| !c.is_whitespace()).collect()
}

fn skeleton(id: Uuid, attributes: ChildAttributes) -> Patient {
    let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    Patient {
        id,
        attributes,
        school: SchoolPlacement::Unknown,
        pending_changes: Default::default(),
        team_ids: vec![],
        archived_in: Default::default(),
        restricted_at: None,
        invalidated_at: None,
        date_of_death: None,
        updated_from_pds_at: None,
        created_at: epoch,
        updated_at: epoch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(given: &str, dob: &str, postcode: Option<&str>, nhs: Option<&str>) -> ChildAttributes {
        ChildAttributes {
            given_name: Some(given.into()),
            family_name: Some("Pickle".into()),
            date_of_birth: NaiveDate::parse_from_str(dob, "%Y-%m-%d").ok(),
            address_postcode: postcode.map(Into::into),
            nhs_number: nhs.map(Into::into),
            ..ChildAttributes::default()
        }
    }

    fn input(attributes: &ChildAttributes) -> MatchInput<'_> {
        MatchInput {
            nhs_number: attributes.nhs_number.as_deref(),
            given_name: attributes.given_name.as_deref().expect("given"),
            family_name: attributes.family_name.as_deref().expect("family"),
            date_of_birth: attributes.date_of_birth.expect("dob"),
            postcode: attributes.address_postcode.as_deref(),
        }
    }

    #[test]
    fn when_a_later_row_has_the_same_nhs_number_and_another_birthday_should_share_the_patient() {
        // valid_duplicate_patient.csv (fixture-outcomes §4.6).
        let mut seen = InFilePatients::default();
        let first = child("Chyna", "2012-09-12", Some("LE3 2DA"), Some("7420180008"));
        seen.add(Uuid::from_u128(1), &first);

        let second = child("Chyna", "2010-09-12", Some("LE3 2DA"), Some("742 018 0008"));

        assert_eq!(seen.find(&input(&second)), Some(Uuid::from_u128(1)));
    }

    #[test]
    fn when_rows_have_no_nhs_number_should_match_on_names_birthday_and_postcode() {
        // valid_duplicate_patient_no_nhs_number.csv (§4.7).
        let mut seen = InFilePatients::default();
        seen.add(Uuid::from_u128(1), &child("Chyna", "2012-09-12", Some("LE3 2DA"), None));

        let same = child("CHYNA", "2012-09-12", Some("LE3 2DA"), None);
        let moved = child("Chyna", "2012-09-12", Some("LE3 2DB"), None);

        assert_eq!(seen.find(&input(&same)), Some(Uuid::from_u128(1)));
        assert_eq!(seen.find(&input(&moved)), None, "no 3-of-4 rule");
    }

    #[test]
    fn when_nhs_numbers_differ_should_be_different_children() {
        let mut seen = InFilePatients::default();
        seen.add(Uuid::from_u128(1), &child("Chyna", "2012-09-12", Some("LE3 2DA"), Some("7420180008")));

        let twin = child("Chyna", "2012-09-12", Some("LE3 2DA"), Some("9990000018"));

        assert_eq!(seen.find(&input(&twin)), None);
    }

    #[test]
    fn when_two_earlier_patients_match_should_take_the_earliest() {
        let mut seen = InFilePatients::default();
        seen.add(Uuid::from_u128(1), &child("Chyna", "2012-09-12", Some("LE3 2DA"), Some("7420180008")));
        seen.add(Uuid::from_u128(2), &child("Chyna", "2012-09-12", Some("LE3 2DA"), Some("9990000018")));

        let unnumbered = child("Chyna", "2012-09-12", Some("LE3 2DA"), None);

        assert_eq!(seen.find(&input(&unnumbered)), Some(Uuid::from_u128(1)));
    }
}
