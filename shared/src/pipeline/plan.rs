//! Planning: every staged row is matched against the patients as they were before this import (§7.1), and the
//! whole-file checks that depend on matching run before anything is written: a row matching several patients makes
//! the file invalid; several rows matching one existing patient fail the import (§7.4).

use std::collections::BTreeMap;

use uuid::Uuid;

use super::matching::{
    MatchInput, MatchOutcome, MatchRule, UNCONFIRMED_NHS_NUMBER, match_patient, nhs_number_match_stands,
};
use super::{Pipeline, PipelineError};
use crate::domain::{Import, Patient, RowError, Team};
use crate::store::changesets::{self, Changeset, ChangesetStatus, PlannedMatch};
use crate::store::imports::Versioned;
use crate::store::patients::{self, CandidatesOf};

const PAGE: usize = 200;

pub const AMBIGUOUS_MATCH: &str =
    "Two or more possible patients match the patient first name, last name, date of birth or postcode.";

pub enum PlanResult {
    Ready,
    /// Row errors: the import is invalid and nothing is written.
    RowErrors(Vec<RowError>),
    /// Errors between rows after matching: the import fails and nothing is written.
    ChangesetErrors(Vec<RowError>),
}

/// Namespace for the ids of patients created by imports: re-running a row gives the same patient id.
const PATIENT_NAMESPACE: Uuid = Uuid::from_u128(0x6d61_7669_735f_7061_7469_656e_7473_0001);

pub fn new_patient_id(import_id: Uuid, index: u64) -> Uuid {
    Uuid::new_v5(&PATIENT_NAMESPACE, format!("{import_id}/{index}").as_bytes())
}

pub async fn plan_import(pipeline: &Pipeline, import: &Import, team: &Team) -> Result<PlanResult, PipelineError> {
    let store = pipeline.records.as_ref();
    let mut refused = Vec::new();
    let mut rows_by_patient: BTreeMap<Uuid, Vec<u64>> = BTreeMap::new();
    let mut rows_by_nhs_number: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut after = None;
    loop {
        let (page, next) = changesets::page(store, import.id, PAGE, after).await?;
        let planned = plan_page(pipeline, team, page).await?;

        let mut to_save = Vec::new();
        for (mut changeset, plan) in planned {
            if let Some(number) = &changeset.value.child.nhs_number {
                rows_by_nhs_number.entry(number.clone()).or_default().push(changeset.value.row_number);
            }
            match plan {
                Err(message) => {
                    refused.push(RowError { row: changeset.value.row_number, column: None, message: message.into() })
                }
                Ok(plan) => {
                    if let PlannedMatch::Existing { patient_id, .. } = plan {
                        rows_by_patient.entry(patient_id).or_default().push(changeset.value.row_number);
                    }
                    if changeset.value.planned.is_none() {
                        changeset.value.planned = Some(plan);
                        to_save.push(changeset.value);
                    }
                }
            }
        }
        changesets::stage(store, &to_save).await?;
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    if !refused.is_empty() {
        refused.sort_by_key(|e| e.row);
        return Ok(PlanResult::RowErrors(refused));
    }
    let mut duplicates = duplicate_nhs_number_errors(&rows_by_nhs_number);
    duplicates.extend(duplicate_match_errors(&rows_by_patient));
    duplicates.sort_by_key(|e| e.row);
    if !duplicates.is_empty() {
        return Ok(PlanResult::ChangesetErrors(duplicates));
    }
    Ok(PlanResult::Ready)
}

type Planned = (Versioned<Changeset>, Result<PlannedMatch, &'static str>);

/// Matches the rows of a page not planned before, with the candidates of them all looked up together.
async fn plan_page(
    pipeline: &Pipeline,
    team: &Team,
    page: Vec<Versioned<Changeset>>,
) -> Result<Vec<Planned>, PipelineError> {
    let wanted: Vec<Option<CandidatesOf>> =
        page.iter().map(|c| if c.value.planned.is_none() { candidates_of(&c.value) } else { None }).collect();
    let looked_up: Vec<bool> = wanted.iter().map(Option::is_some).collect();
    let wanted: Vec<CandidatesOf> = wanted.into_iter().flatten().collect();
    let mut found = patients::match_candidates_each(pipeline.records.as_ref(), &wanted).await?.into_iter();
    Ok(page
        .into_iter()
        .zip(looked_up)
        .map(|(changeset, looked_up)| {
            let plan = match changeset.value.planned {
                Some(plan) => Ok(plan),
                None => {
                    let candidates = looked_up.then(|| found.next().unwrap_or_default());
                    decide(pipeline, team, &changeset.value, candidates)
                }
            };
            (changeset, plan)
        })
        .collect())
}

/// Matches one row for `team`; `Err` with the row's error when several patients match, or when the match rests on
/// the NHS number alone for a child the team has no care relationship with.
pub async fn match_row(
    pipeline: &Pipeline,
    team: &Team,
    changeset: &Changeset,
) -> Result<Result<PlannedMatch, &'static str>, PipelineError> {
    let candidates = match candidates_of(changeset) {
        Some(wanted) => patients::match_candidates_each(pipeline.records.as_ref(), &[wanted]).await?.pop(),
        None => None,
    };
    Ok(decide(pipeline, team, changeset, candidates))
}

/// The plan of a row that needs no candidates: one applied already, or one without the details to match on.
fn decided_without_candidates(changeset: &Changeset) -> Option<PlannedMatch> {
    if changeset.status != ChangesetStatus::Pending
        && let Some(patient_id) = changeset.patient_id
    {
        // Already applied: its patient is recorded.
        return Some(PlannedMatch::Existing { patient_id, on_nhs_number: changeset.matched_on_nhs_number });
    }
    let child = &changeset.child;
    match (&child.given_name, &child.family_name, child.date_of_birth) {
        (Some(_), Some(_), Some(_)) => None,
        _ => Some(PlannedMatch::New { patient_id: new_patient_id(changeset.import_id, changeset.index) }),
    }
}

/// What a row's candidates are looked up by; None when it needs none.
fn candidates_of(changeset: &Changeset) -> Option<CandidatesOf<'_>> {
    if decided_without_candidates(changeset).is_some() {
        return None;
    }
    let child = &changeset.child;
    Some(CandidatesOf {
        nhs_number: child.nhs_number.as_deref(),
        date_of_birth: child.date_of_birth,
        postcode: child.address_postcode.as_deref(),
    })
}

/// The match of a row among its candidates (None when it needed none).
fn decide(
    pipeline: &Pipeline,
    team: &Team,
    changeset: &Changeset,
    candidates: Option<Vec<Versioned<Patient>>>,
) -> Result<PlannedMatch, &'static str> {
    let child = &changeset.child;
    let (Some(candidates), Some(given_name), Some(family_name), Some(date_of_birth)) =
        (candidates, child.given_name.as_deref(), child.family_name.as_deref(), child.date_of_birth)
    else {
        return Ok(decided_without_candidates(changeset)
            .unwrap_or(PlannedMatch::New { patient_id: new_patient_id(changeset.import_id, changeset.index) }));
    };
    let candidates: Vec<Patient> = candidates.into_iter().map(|v| v.value).collect();
    let nhs_number = child.nhs_number.as_deref();
    let postcode = child.address_postcode.as_deref();
    let input = MatchInput { nhs_number, given_name, family_name, date_of_birth, postcode };
    match match_patient(&input, &candidates, MatchRule::ChildRecords) {
        MatchOutcome::New => Ok(PlannedMatch::New { patient_id: new_patient_id(changeset.import_id, changeset.index) }),
        MatchOutcome::Matched { patient, on_nhs_number } => {
            // A number PDS found from the row's own details vouches for the row as well as its details would.
            let found_by_pds = changeset.pds_nhs_number.is_some() && changeset.pds_nhs_number.as_deref() == nhs_number;
            if on_nhs_number
                && !found_by_pds
                && !nhs_number_match_stands(patient, &input, &team.id, &pipeline.reference)
            {
                Err(UNCONFIRMED_NHS_NUMBER)
            } else {
                Ok(PlannedMatch::Existing { patient_id: patient.id, on_nhs_number })
            }
        }
        MatchOutcome::Ambiguous(_) => Err(AMBIGUOUS_MATCH),
    }
}

/// "The record on this row appears to be a duplicate of row 5." on every row that matched the same patient as
/// another row, naming at most five of the others (§7.4).
fn duplicate_match_errors(rows_by_patient: &BTreeMap<Uuid, Vec<u64>>) -> Vec<RowError> {
    let mut errors = Vec::new();
    for rows in rows_by_patient.values().filter(|rows| rows.len() > 1) {
        for &row in rows {
            let others: Vec<u64> = rows.iter().copied().filter(|&r| r != row).take(5).collect();
            errors.push(RowError {
                row,
                column: None,
                message: format!("The record on this row appears to be a duplicate of {}.", describe_rows(&others)),
            });
        }
    }
    errors.sort_by_key(|e| e.row);
    errors
}

/// "The details on this row match row 5. Mavis has found the NHS number 9876543210." on every row sharing its
/// (post-PDS) NHS number with another row (§7.4). Validation already refuses a file repeating an uploaded number,
/// so only PDS can make two rows share one: two rows that PDS resolved to the same child.
fn duplicate_nhs_number_errors(rows_by_nhs_number: &BTreeMap<String, Vec<u64>>) -> Vec<RowError> {
    let mut errors = Vec::new();
    for (number, rows) in rows_by_nhs_number.iter().filter(|(_, rows)| rows.len() > 1) {
        for &row in rows {
            let others: Vec<u64> = rows.iter().copied().filter(|&r| r != row).take(5).collect();
            let message = format!(
                "The details on this row match {}. Mavis has found the NHS number {number}.",
                describe_rows(&others)
            );
            errors.push(RowError { row, column: None, message });
        }
    }
    errors.sort_by_key(|e| e.row);
    errors
}

/// "row 3" or "rows 2, 4 and 5".
pub fn describe_rows(rows: &[u64]) -> String {
    match rows {
        [one] => format!("row {one}"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(u64::to_string).collect();
            format!("rows {} and {last}", init.join(", "))
        }
        [] => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_several_other_rows_should_list_them_with_and() {
        assert_eq!(describe_rows(&[5]), "row 5");
        assert_eq!(describe_rows(&[2, 4, 5, 6, 7]), "rows 2, 4, 5, 6 and 7");
    }

    #[test]
    fn when_two_rows_share_a_pds_number_should_name_the_other_row_and_the_number() {
        let mut rows = BTreeMap::new();
        rows.insert("9876543210".to_owned(), vec![2, 5]);
        rows.insert("9990000026".to_owned(), vec![3]);
        let errors = duplicate_nhs_number_errors(&rows);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].row, 2);
        assert_eq!(
            errors[0].message,
            "The details on this row match row 5. Mavis has found the NHS number 9876543210."
        );
        assert_eq!(
            errors[1].message,
            "The details on this row match row 2. Mavis has found the NHS number 9876543210."
        );
    }

    #[test]
    fn when_two_rows_match_one_patient_should_flag_both() {
        let mut rows = BTreeMap::new();
        rows.insert(Uuid::nil(), vec![2, 5]);
        let errors = duplicate_match_errors(&rows);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].message, "The record on this row appears to be a duplicate of row 5.");
        assert_eq!(errors[1].message, "The record on this row appears to be a duplicate of row 2.");
    }
}
