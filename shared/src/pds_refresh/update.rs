//! "Update from PDS" (spec §11.3) as pure functions on a patient record, so the rules are testable without a store.

use chrono::{DateTime, Utc};

use crate::domain::Patient;
use crate::nhs_api::PdsPatient;

/// The archive reason for a patient PDS reports as deceased.
pub const ARCHIVE_REASON_DECEASED: &str = "deceased";

/// Applies a successful GET: date of death (newly present → archived `deceased` in every team), clears
/// `invalidated_at`, sets `restricted_at` keeping the original timestamp or clears it, stamps `updated_from_pds_at`.
///
/// Names and date of birth are left alone: the GET refresh does not overwrite them in the reference service either.
/// GP practice and "end future session locations" are not modelled on the record yet (see the module docs).
pub fn apply_pds_patient(patient: &mut Patient, pds: &PdsPatient, now: DateTime<Utc>) {
    if pds.date_of_death != patient.date_of_death {
        patient.date_of_death = pds.date_of_death;
        if pds.date_of_death.is_some() {
            for team in &patient.team_ids {
                patient.archived_in.insert(team.clone(), ARCHIVE_REASON_DECEASED.to_string());
            }
        }
    }
    patient.invalidated_at = None;
    patient.restricted_at = if pds.restricted { patient.restricted_at.or(Some(now)) } else { None };
    patient.updated_from_pds_at = Some(now);
    patient.updated_at = now;
}

/// PDS says the number is invalid or invalidated: flag the record (keeping the first time it was flagged, so the
/// notice is not duplicated) and keep the number, which is shown struck through.
pub fn mark_invalidated(patient: &mut Patient, now: DateTime<Utc>) {
    patient.invalidated_at = patient.invalidated_at.or(Some(now));
    patient.updated_at = now;
}

/// PDS has no record with this number: drop it, so the patient is searched for again.
pub fn clear_nhs_number(patient: &mut Patient, now: DateTime<Utc>) {
    patient.attributes.nhs_number = None;
    patient.updated_at = now;
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDate};
    use uuid::Uuid;

    use super::*;
    use crate::domain::patient::{ChildAttributes, SchoolPlacement};

    fn patient() -> Patient {
        let at = crate::clock::test_instant() - Duration::days(3);
        Patient {
            id: Uuid::new_v4(),
            attributes: ChildAttributes { nhs_number: Some("9000000009".into()), ..Default::default() },
            school: SchoolPlacement::Unknown,
            pending_changes: Default::default(),
            team_ids: vec!["a".into(), "b".into()],
            archived_in: Default::default(),
            restricted_at: None,
            invalidated_at: Some(at),
            date_of_death: None,
            updated_from_pds_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn pds(restricted: bool, death: Option<NaiveDate>) -> PdsPatient {
        PdsPatient {
            nhs_number: "9000000009".into(),
            given_name: None,
            family_name: None,
            date_of_birth: None,
            date_of_death: death,
            restricted,
            gp_ods_code: None,
        }
    }

    #[test]
    fn when_restricted_twice_should_keep_the_first_timestamp() {
        let mut p = patient();
        let first = crate::clock::test_instant();
        apply_pds_patient(&mut p, &pds(true, None), first);
        apply_pds_patient(&mut p, &pds(true, None), first + Duration::hours(6));
        assert_eq!(p.restricted_at, Some(first));
        assert_eq!(p.invalidated_at, None);
        apply_pds_patient(&mut p, &pds(false, None), first + Duration::hours(12));
        assert_eq!(p.restricted_at, None);
    }

    #[test]
    fn when_date_of_death_appears_should_archive_in_every_team() {
        let mut p = patient();
        let death = NaiveDate::from_ymd_opt(2024, 1, 2);
        apply_pds_patient(&mut p, &pds(false, death), crate::clock::test_instant());
        assert_eq!(p.date_of_death, death);
        assert_eq!(p.archived_in.get("a").map(String::as_str), Some(ARCHIVE_REASON_DECEASED));
        assert_eq!(p.archived_in.get("b").map(String::as_str), Some(ARCHIVE_REASON_DECEASED));
    }
}
