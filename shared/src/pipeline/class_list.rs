//! Class lists (mavis-import.md §9.2): what a class-list import is for (one school of the team and some of its year
//! groups), and the children it moves out of that school.
//!
//! The rows of a class list go through the child-records path (`child_records::run`), with the import's school as
//! every row's destination. What is particular to class lists lives here:
//! - [`check_selection`]: the school and year groups chosen at upload, checked by the API when the import is created
//!   and again by the pipeline before anything is read (the reference data may have changed in between);
//! - [`create_move_outs`]: after every row is applied, a pending move to unknown school for each child at the school,
//!   in a selected year group, who is not in the list.
//!
//! The review screen is off in this service, so move-outs are created directly after commit, as §9.2 describes for
//! that case, rather than staged as `not_in_file` changesets.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt, stream};
use uuid::Uuid;

use super::school_moves::{self, MoveContext};
use super::{Pipeline, PipelineError};
use crate::domain::patient::{SchoolMoveSource, SchoolPlacement};
use crate::domain::reference::SchoolLookup;
use crate::domain::{AcademicYear, Import, Patient, ReferenceData, School};
use crate::ports::{Condition, StoreError, WriteOp};
use crate::store::{keys, patients};

/// The reference service asks "Choose which school this class list for" (sic, mavis-import.md §14 quirk 10); this
/// service uses correct English.
pub const CHOOSE_SCHOOL: &str = "Choose which school this class list is for";
pub const CHOOSE_YEAR_GROUPS: &str = "Choose which year groups you want to import class list records for";

/// A move-out whose patient keeps changing under us is retried this many times before the import is retried.
const MAX_ATTEMPTS: usize = 4;

/// The school and year groups a class list is for, once checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection<'a> {
    pub school: &'a School,
    /// Sorted, without repeats.
    pub year_groups: Vec<i32>,
}

/// Why a school or year-group choice cannot be used, naming the request field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectionError {
    /// `school_urn` or `year_groups`.
    pub field: &'static str,
    pub message: String,
}

impl SelectionError {
    fn school(message: impl Into<String>) -> Self {
        Self { field: "school_urn", message: message.into() }
    }

    fn year_groups(message: impl Into<String>) -> Self {
        Self { field: "year_groups", message: message.into() }
    }
}

/// Checks a class list's school (URN, URN+site or SystmOne code, among the team's schools) and year groups (some,
/// all offered by the school), in the order the upload wizard asks for them.
pub fn check_selection<'a>(
    reference: &'a ReferenceData,
    team_id: &'a str,
    school: Option<&str>,
    year_groups: &[i32],
) -> Result<Selection<'a>, SelectionError> {
    let school =
        school.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| SelectionError::school(CHOOSE_SCHOOL))?;
    let team_schools: Vec<&School> = reference.schools_of_team(team_id).collect();
    let school = match ReferenceData::lookup_school(team_schools.iter().copied(), school) {
        SchoolLookup::Found(found) => found,
        SchoolLookup::SplitIntoSites(sites) => {
            return Err(SelectionError::school(format!(
                "The URN {school} has been split into sites. Use {} instead.",
                sites.join(" or ")
            )));
        }
        // A school of another team and a school that does not exist get the same answer: which schools other teams
        // have is not this team's business.
        SchoolLookup::NotFound => {
            return Err(SelectionError::school(format!("The school {school} is not one of your team's schools")));
        }
    };
    let year_groups: Vec<i32> = year_groups.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
    if year_groups.is_empty() {
        return Err(SelectionError::year_groups(CHOOSE_YEAR_GROUPS));
    }
    if let Some(missing) = year_groups.iter().find(|g| !school.year_groups.contains(g)) {
        return Err(SelectionError::year_groups(format!(
            "{} is not offered by {}",
            year_group_name(*missing),
            school.name
        )));
    }
    Ok(Selection { school, year_groups })
}

/// A year group as the upload wizard names it: "Nursery (1st year)", "Nursery (2nd year)", "Reception", "Year 8".
pub fn year_group_name(year_group: i32) -> String {
    match year_group {
        -2 => "Nursery (1st year)".into(),
        -1 => "Nursery (2nd year)".into(),
        0 => "Reception".into(),
        n => format!("Year {n}"),
    }
}

/// The import's own selection, checked against today's reference data; the message is the import's file error.
pub fn check_import<'a>(reference: &'a ReferenceData, import: &'a Import) -> Result<Selection<'a>, String> {
    check_selection(reference, &import.team_id, import.school_urn.as_deref(), &import.year_groups)
        .map_err(|e| e.message)
}

/// §9.2 out: after every row of the class list is applied, proposes a move to unknown school for each child who
/// - is at this school,
/// - was born in the academic year of a selected year group (for the import's academic year),
/// - has a patient location at this school for that academic year,
/// - is not linked to this import (every row's patient is, once applied), and
/// - has no school move already (existing moves are left as they are).
///
/// Idempotent: a resumed import finds the moves it made (the last rule), and each is written only if no move exists
/// (a conditional put), together with a check that the patient is still as read. Returns how many moves it made.
pub async fn create_move_outs(pipeline: &Pipeline, import: &Import) -> Result<u64, PipelineError> {
    let Some(school_urn) = import.school_urn.as_deref() else {
        return Ok(0);
    };
    let store = pipeline.records.as_ref();
    let ctx = MoveContext {
        reference: &pipeline.reference,
        team_id: &import.team_id,
        academic_year: import.academic_year.0,
        source: SchoolMoveSource::ClassListImport,
        today: import.today,
        now: pipeline.now(),
    };
    let birth_years: BTreeSet<AcademicYear> =
        import.year_groups.iter().map(|&group| import.academic_year.birth_year_for_group(group)).collect();
    let mut created = 0;
    for birth_year in &birth_years {
        let candidates = patients::at_school(store, school_urn, birth_year.0).await?;
        created += stream::iter(candidates)
            .map(|candidate| move_out_one(pipeline, &ctx, import, &birth_years, candidate.id))
            .buffer_unordered(pipeline.settings.commit_concurrency)
            .try_fold(0u64, |n, made| async move { Ok(n + u64::from(made)) })
            .await?;
    }
    if created > 0 {
        tracing::info!(import_id = %import.id, moves = created, "class list moved children out");
    }
    Ok(created)
}

/// What is known about one candidate when deciding on its move-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Facts {
    linked_to_import: bool,
    has_location_here: bool,
    has_school_move: bool,
}

/// The §9.2 rules for one patient, read afresh (the school index may lag behind the patient). Deceased children are
/// left alone, as §9.1 proposes no move for them.
fn is_move_out(
    patient: &Patient,
    school_urn: &str,
    selected_birth_years: &BTreeSet<AcademicYear>,
    facts: Facts,
) -> bool {
    let at_school = matches!(&patient.school, SchoolPlacement::School { urn } if urn == school_urn);
    let in_selected_year = patient.attributes.birth_academic_year.is_some_and(|y| selected_birth_years.contains(&y));
    at_school
        && in_selected_year
        && patient.date_of_death.is_none()
        && facts.has_location_here
        && !facts.linked_to_import
        && !facts.has_school_move
}

/// Proposes the move-out of one candidate if it still qualifies; true if a move was written.
async fn move_out_one(
    pipeline: &Pipeline,
    ctx: &MoveContext<'_>,
    import: &Import,
    selected: &BTreeSet<AcademicYear>,
    patient_id: Uuid,
) -> Result<bool, PipelineError> {
    let store = pipeline.records.as_ref();
    let Some(school_urn) = import.school_urn.as_deref() else {
        return Ok(false);
    };
    let link = keys::import_patient(import.id, patient_id);
    let location = keys::patient_location(patient_id, ctx.academic_year, school_urn);
    let school_move = keys::school_move(patient_id);
    for _ in 0..MAX_ATTEMPTS {
        let Some(patient) = patients::get(store, patient_id).await? else {
            return Ok(false);
        };
        let found = store.batch_get(&[link.clone(), location.clone(), school_move.clone()]).await?;
        let has = |key: &crate::ports::ItemKey| found.iter().any(|item| &item.key == key);
        let facts = Facts {
            linked_to_import: has(&link),
            has_location_here: has(&location),
            has_school_move: has(&school_move),
        };
        if !is_move_out(&patient.value, school_urn, selected, facts) {
            return Ok(false);
        }
        let proposed = school_moves::move_out(ctx, patient_id);
        let ops = vec![
            WriteOp::Check { key: keys::patient(patient_id), condition: Condition::VersionIs(patient.version) },
            WriteOp::Put {
                item: patients::school_move_item(
                    &proposed,
                    &import.team_id,
                    &patients::move_also_seen_by(&proposed, &patient.value),
                ),
                condition: Condition::NotExists,
            },
        ];
        match store.transact(ops).await {
            Ok(()) => return Ok(true),
            // The patient changed, or a move appeared, since we read them: decide again.
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(PipelineError::Contended(format!(
        "the move-out of a patient of import {} kept conflicting with other writers",
        import.id
    )))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::patient::ChildAttributes;

    fn reference() -> ReferenceData {
        crate::reference::demo()
    }

    fn patient(school: &str, birth_year: i32) -> Patient {
        let now = crate::clock::test_instant();
        Patient {
            team_ids: vec!["r1l".into()],
            ..Patient::new(
                Uuid::new_v4(),
                ChildAttributes { birth_academic_year: Some(AcademicYear(birth_year)), ..ChildAttributes::default() },
                SchoolPlacement::School { urn: school.into() },
                now,
            )
        }
    }

    const QUALIFYING: Facts = Facts { linked_to_import: false, has_location_here: true, has_school_move: false };

    fn years(years: &[i32]) -> BTreeSet<AcademicYear> {
        years.iter().copied().map(AcademicYear).collect()
    }

    #[test]
    fn when_school_and_year_groups_are_the_teams_should_accept_them_sorted_once() {
        let reference = reference();

        let selection = check_selection(&reference, "r1l", Some(" 141001 "), &[10, 8, 9, 8]).expect("valid");

        assert_eq!(selection.school.name, "Waterloo Road");
        assert_eq!(selection.year_groups, vec![8, 9, 10]);
    }

    #[test]
    fn when_school_is_missing_should_ask_for_it() {
        let reference = reference();
        for school in [None, Some(""), Some("   ")] {
            let error = check_selection(&reference, "r1l", school, &[8]).expect_err("no school");
            assert_eq!(error.field, "school_urn");
            assert_eq!(error.message, "Choose which school this class list is for");
        }
    }

    #[test]
    fn when_school_is_another_teams_or_unknown_should_say_it_is_not_the_teams() {
        let reference = reference();
        for urn in ["111222", "999000"] {
            let error = check_selection(&reference, "r1l", Some(urn), &[8]).expect_err(urn);
            assert_eq!(error.field, "school_urn");
            assert_eq!(error.message, format!("The school {urn} is not one of your team's schools"));
        }
    }

    #[test]
    fn when_year_groups_are_missing_should_ask_for_them() {
        let error = check_selection(&reference(), "r1l", Some("141001"), &[]).expect_err("none");
        assert_eq!(error.field, "year_groups");
        assert_eq!(error.message, "Choose which year groups you want to import class list records for");
    }

    #[test]
    fn when_a_year_group_is_not_offered_should_name_it_and_the_school() {
        let reference = reference();
        let error = check_selection(&reference, "r1l", Some("141003"), &[8, 11, 13]).expect_err("11, 13");
        assert_eq!(error.field, "year_groups");
        assert_eq!(error.message, "Year 11 is not offered by Liverpool Road");
        let error = check_selection(&reference, "r1l", Some("141003"), &[0]).expect_err("0");
        assert_eq!(error.message, "Reception is not offered by Liverpool Road");
    }

    #[test]
    fn when_naming_year_groups_should_follow_the_wizard() {
        assert_eq!(year_group_name(-2), "Nursery (1st year)");
        assert_eq!(year_group_name(-1), "Nursery (2nd year)");
        assert_eq!(year_group_name(0), "Reception");
        assert_eq!(year_group_name(13), "Year 13");
    }

    #[test]
    fn when_child_at_school_in_selected_year_is_absent_should_move_out() {
        assert!(is_move_out(&patient("141001", 2009), "141001", &years(&[2008, 2009]), QUALIFYING));
    }

    #[test]
    fn when_any_move_out_rule_fails_should_leave_the_child_alone() {
        let selected = years(&[2009]);
        let cases = [
            ("another school", patient("141002", 2009), QUALIFYING),
            ("another year group", patient("141001", 2010), QUALIFYING),
            ("in the file", patient("141001", 2009), Facts { linked_to_import: true, ..QUALIFYING }),
            ("no location here this year", patient("141001", 2009), Facts { has_location_here: false, ..QUALIFYING }),
            ("a move already", patient("141001", 2009), Facts { has_school_move: true, ..QUALIFYING }),
            (
                "deceased",
                Patient { date_of_death: NaiveDate::from_ymd_opt(2023, 1, 1), ..patient("141001", 2009) },
                QUALIFYING,
            ),
        ];
        for (case, patient, facts) in cases {
            assert!(!is_move_out(&patient, "141001", &selected, facts), "{case}");
        }
    }

    #[test]
    fn when_import_selection_no_longer_holds_should_explain_it() {
        let reference = reference();
        let now = crate::clock::test_instant();
        let import = Import {
            id: Uuid::nil(),
            team_id: "r1l".into(),
            kind: crate::domain::ImportKind::ClassList,
            status: crate::domain::ImportStatus::PendingImport,
            object_key: "uploads/r1l/x/list.csv".into(),
            filename: None,
            uploaded_by: None,
            academic_year: AcademicYear(2022),
            school_urn: Some("222333".into()),
            year_groups: vec![8],
            row_count: None,
            counts: None,
            file_error: None,
            rows_with_errors: 0,
            errors: vec![],
            today: NaiveDate::from_ymd_opt(2023, 5, 20).expect("date"),
            created_at: now,
            updated_at: now,
            processed_at: None,
            progress: None,
            pds_match: None,
            nhs_numbers_updated: Vec::new(),
            object_version: None,
            failure_reason: None,
        };
        assert_eq!(
            check_import(&reference, &import).map(|s| s.school.name.clone()),
            Err("The school 222333 is not one of your team's schools".into())
        );
    }
}
