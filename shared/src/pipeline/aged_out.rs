//! Aged-out children (mavis-import.md §9.5): after child and class imports, for each school involved, and daily, every
//! pupil whose year group in the pending academic year is not offered by their school moves to unknown school. The
//! move is confirmed at once for the school's team: no review, a log entry without a user.
//!
//! The seed gives a school one list of year groups, for the current and the pending year alike: a school whose list
//! is empty counts as "year groups not set up for the pending year" and is left alone.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::school_moves::{MoveContext, confirm, location_ops};
use super::{Pipeline, PipelineError};
use crate::domain::patient::{SchoolMoveSource, SchoolPlacement};
use crate::domain::{AcademicYear, Import, ImportKind, Patient, School};
use crate::ports::{Condition, StoreError, WriteOp};
use crate::store::{keys, notices, patients};

const MAX_ATTEMPTS: usize = 4;

/// Whether a pupil of `school` has aged out of it in `pending`: their year group that year is not one it offers.
pub fn has_aged_out(patient: &Patient, school: &School, pending: AcademicYear) -> bool {
    let Some(birth_year) = patient.attributes.birth_academic_year else { return false };
    let at_school = matches!(&patient.school, SchoolPlacement::School { urn } if *urn == school.urn_and_site());
    at_school
        && patient.date_of_death.is_none()
        && !school.year_groups.is_empty()
        && !school.year_groups.contains(&pending.year_group_of(birth_year))
}

/// The daily run: every school of the reference data. Returns how many children were moved.
pub async fn move_aged_out_everywhere(pipeline: &Pipeline, today: NaiveDate) -> Result<usize, PipelineError> {
    let mut moved = 0;
    for school in &pipeline.reference.schools {
        moved += move_aged_out_of(pipeline, &school.urn_and_site(), today).await?;
    }
    tracing::info!(moved, "aged-out children moved to unknown school");
    Ok(moved)
}

/// The local runner's timer (the import function's EventBridge rule on AWS): the daily run at 05:00 London time.
pub async fn run_on_schedule(pipeline: Pipeline) {
    loop {
        let now = pipeline.now();
        let next = next_daily_run(now + chrono::Duration::seconds(1));
        tokio::time::sleep((next - now).to_std().unwrap_or_default()).await;
        if let Err(e) = move_aged_out_everywhere(&pipeline, pipeline.settings.today()).await {
            tracing::error!(error = %e, "daily aged-out run failed; tomorrow's run catches up");
        }
    }
}

/// The next 05:00 Europe/London at or after `now` (05:00 is never skipped or repeated by a clock change there).
pub fn next_daily_run(now: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::TimeZone;
    let london = chrono_tz::Europe::London;
    let at_five = |day: NaiveDate| {
        let local = day.and_hms_opt(5, 0, 0).unwrap_or_default();
        london.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc)).unwrap_or(now)
    };
    let today = now.with_timezone(&london).date_naive();
    let run = at_five(today);
    if run >= now { run } else { at_five(today.succ_opt().unwrap_or(today)) }
}

/// After a committed child-record or class-list import: the schools its rows (`schools`, from the apply step) or its
/// class list are for.
pub async fn after_import(
    pipeline: &Pipeline,
    import: &Import,
    mut schools: BTreeSet<String>,
) -> Result<usize, PipelineError> {
    if import.kind == ImportKind::ClassList {
        schools = import.school_urn.iter().cloned().collect();
    }
    let mut moved = 0;
    for urn in &schools {
        moved += move_aged_out_of(pipeline, urn, import.today).await?;
    }
    Ok(moved)
}

/// Moves the aged-out pupils of one school; a school without a team or without year groups is left alone.
pub async fn move_aged_out_of(pipeline: &Pipeline, school_urn: &str, today: NaiveDate) -> Result<usize, PipelineError> {
    let Some(school) = pipeline.reference.school(school_urn) else { return Ok(0) };
    let Some(team_id) = school.team_id.as_deref() else { return Ok(0) };
    let pending = AcademicYear::pending(today);
    let mut moved = 0;
    for pupil in patients::all_at_school(pipeline.records.as_ref(), school_urn).await? {
        if has_aged_out(&pupil, school, pending) && move_one(pipeline, school, team_id, pupil.id, today).await? {
            moved += 1;
        }
    }
    Ok(moved)
}

/// Confirms the move of one pupil to unknown school, if they still qualify when read afresh; true if moved.
async fn move_one(
    pipeline: &Pipeline,
    school: &School,
    team_id: &str,
    patient_id: Uuid,
    today: NaiveDate,
) -> Result<bool, PipelineError> {
    let store = pipeline.records.as_ref();
    let pending = AcademicYear::pending(today);
    for _ in 0..MAX_ATTEMPTS {
        let Some(current) = patients::get(store, patient_id).await? else { return Ok(false) };
        if !has_aged_out(&current.value, school, pending) {
            return Ok(false);
        }
        let now: DateTime<Utc> = pipeline.now();
        let ctx = MoveContext {
            reference: &pipeline.reference,
            team_id,
            academic_year: pending.0,
            source: SchoolMoveSource::ClassListImport,
            today,
            now,
        };
        let mut patient = current.value.clone();
        let mut confirmed = confirm(&ctx, &mut patient, SchoolPlacement::Unknown, team_id.to_string());
        patient.updated_at = now;
        let mut ops = location_ops(store, &mut confirmed, today).await?;
        ops.push(WriteOp::Put {
            item: patients::school_move_log_item(&confirmed.log_entry),
            condition: Condition::None,
        });
        ops.extend(notices::dismiss_team_changed_ops(store, patient_id, team_id, now).await?);
        // The confirmed move replaces any move still waiting for review (§9.1 step 7).
        ops.push(WriteOp::Delete { key: keys::school_move(patient_id), condition: Condition::None });
        ops.push(patients::put_patient_op(&patient, Some(current.version)));
        match store.transact(ops).await {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(PipelineError::Contended("an aged-out move kept conflicting with other writers".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::patient::ChildAttributes;

    fn pupil_born_in(birth_year: i32, urn: &str) -> Patient {
        let now = crate::clock::test_instant();
        Patient {
            team_ids: vec!["r1l".into()],
            ..Patient::new(
                Uuid::new_v4(),
                ChildAttributes { birth_academic_year: Some(AcademicYear(birth_year)), ..ChildAttributes::default() },
                SchoolPlacement::School { urn: urn.into() },
                now,
            )
        }
    }

    #[test]
    fn when_year_group_in_the_pending_year_is_not_offered_should_age_out() {
        let reference = crate::reference::demo();
        let liverpool_road = reference.school("141003").expect("years 7-10");
        let pending = AcademicYear(2023);

        assert!(has_aged_out(&pupil_born_in(2007, "141003"), liverpool_road, pending), "year 11");
        assert!(!has_aged_out(&pupil_born_in(2008, "141003"), liverpool_road, pending), "year 10");
        assert!(!has_aged_out(&pupil_born_in(2007, "141001"), liverpool_road, pending), "another school's pupil");
    }

    #[test]
    fn when_school_has_no_year_groups_or_child_is_deceased_should_leave_them() {
        let reference = crate::reference::demo();
        let mut not_set_up = reference.school("141003").expect("school").clone();
        not_set_up.year_groups.clear();
        let mut deceased = pupil_born_in(2007, "141003");

        assert!(!has_aged_out(&pupil_born_in(2007, "141003"), &not_set_up, AcademicYear(2023)));
        deceased.date_of_death = NaiveDate::from_ymd_opt(2023, 1, 1);
        let liverpool_road = reference.school("141003").expect("school");
        assert!(!has_aged_out(&deceased, liverpool_road, AcademicYear(2023)));
    }

    #[test]
    fn when_asked_for_the_next_daily_run_should_give_five_in_the_morning_london_time() {
        let at = |text: &str| text.parse::<DateTime<Utc>>().expect("time");
        assert_eq!(next_daily_run(at("2026-11-21T16:17:00Z")), at("2026-11-22T05:00:00Z"));
        assert_eq!(next_daily_run(at("2026-11-21T05:00:00Z")), at("2026-11-21T05:00:00Z"));
        assert_eq!(next_daily_run(at("2026-07-01T03:00:00Z")), at("2026-07-01T04:00:00Z"), "05:00 BST");
        assert_eq!(next_daily_run(at("2026-07-01T04:00:01Z")), at("2026-07-02T04:00:00Z"));
    }
}
