//! School moves proposed by child records and class lists (mavis-import.md §9.1–§9.3): which uploads propose a
//! move, which moves are confirmed at once, what confirming changes, and the move a class list proposes for a child
//! absent from it.

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::domain::patient::{PatientLocation, SchoolMove, SchoolMoveLogEntry, SchoolMoveSource, SchoolPlacement};
use crate::domain::{Patient, ReferenceData};
use crate::ports::{Condition, RecordStore, StoreError, WriteOp};
use crate::store::patients;

/// What an upload does to a patient's school.
#[derive(Debug, Clone, PartialEq)]
pub enum MoveAction {
    /// No move proposed.
    None,
    /// Applied now: the patient's school, location and log entry are written with the row.
    Confirm(ConfirmedMove),
    /// Saved for review in the school-moves area.
    Pending(SchoolMove),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmedMove {
    pub location: PatientLocation,
    pub log_entry: SchoolMoveLogEntry,
}

pub struct MoveContext<'a> {
    pub reference: &'a ReferenceData,
    /// The uploading team.
    pub team_id: &'a str,
    pub academic_year: i32,
    pub source: SchoolMoveSource,
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
}

/// The teams a move to `destination` is for: the school's team, or the uploading team for no school.
pub fn destination_team(ctx: &MoveContext, destination: &SchoolPlacement) -> Option<String> {
    match destination {
        SchoolPlacement::School { urn } => ctx.reference.school(urn).and_then(|s| s.team_id.clone()),
        _ => Some(ctx.team_id.to_string()),
    }
}

/// §9.3: an existing patient with a school (or home-educated), uploaded with an unknown school by a team they are
/// not in, is left alone entirely.
pub fn is_skipped_move(patient: &Patient, destination: &SchoolPlacement, team_id: &str) -> bool {
    !matches!(patient.school, SchoolPlacement::Unknown)
        && matches!(destination, SchoolPlacement::Unknown)
        && !patient.team_ids.iter().any(|t| t == team_id)
}

/// Decides the move for a new patient or an existing one, and applies a confirmed move to `patient`.
///
/// `pending` is the patient's pending move, if any (§9.1: "the patient already has school moves" proposes a move,
/// and an existing move is updated in place). When the result is [`MoveAction::Confirm`] and `pending` is set, the
/// caller deletes the pending move: confirming is step 7 of §9.1, and it is how a class list that finds a child
/// still at its school cancels that child's outstanding move elsewhere (fixture-outcomes §3.1 D).
pub fn decide(
    ctx: &MoveContext,
    patient: &mut Patient,
    is_new: bool,
    destination: SchoolPlacement,
    pending: Option<&SchoolMove>,
) -> MoveAction {
    if patient.date_of_death.is_some() {
        return MoveAction::None;
    }
    let dest_team = destination_team(ctx, &destination);
    let in_team = patient.team_ids.iter().any(|t| t == ctx.team_id);
    let archived_here = patient.archived_in.contains_key(ctx.team_id);
    let proposes = is_new || patient.school != destination || !in_team || archived_here || pending.is_some();
    if !proposes {
        return MoveAction::None;
    }
    let destination_teams: Vec<&str> = dest_team.iter().map(String::as_str).chain([ctx.team_id]).collect();
    let from_another_team =
        !patient.team_ids.is_empty() && !patient.team_ids.iter().any(|t| destination_teams.contains(&t.as_str()));
    let archived_only_here = archived_here && patient.archived_in.len() == 1;
    let auto_confirm = !from_another_team
        && (is_new
            || patient.school == SchoolPlacement::Unknown
            || archived_only_here
            || patient.school == destination);
    if auto_confirm {
        MoveAction::Confirm(confirm(ctx, patient, destination, dest_team.unwrap_or_else(|| ctx.team_id.to_string())))
    } else {
        MoveAction::Pending(SchoolMove {
            patient_id: patient.id,
            academic_year: ctx.academic_year,
            source: ctx.source,
            team_id: match destination {
                SchoolPlacement::School { .. } => None,
                _ => Some(ctx.team_id.to_string()),
            },
            destination,
            created_at: pending.map_or(ctx.now, |m| m.created_at),
            updated_at: ctx.now,
        })
    }
}

/// §9.2 out: the move proposed for a child at the class list's school, in a selected year group, who is not in the
/// list. Always pending (out-moves need review), to unknown school, for the importing team.
pub fn move_out(ctx: &MoveContext, patient_id: uuid::Uuid) -> SchoolMove {
    SchoolMove {
        patient_id,
        academic_year: ctx.academic_year,
        source: ctx.source,
        destination: SchoolPlacement::Unknown,
        team_id: Some(ctx.team_id.to_string()),
        created_at: ctx.now,
        updated_at: ctx.now,
    }
}

/// §9.1 confirm, steps 1–4: school, archive reasons, location, log entry. Used for auto-confirmed moves here and
/// for reviewed ones by `review::school_moves`, which adds the steps a reviewed move needs (ended locations, the user,
/// team_changed notices).
pub fn confirm(
    ctx: &MoveContext,
    patient: &mut Patient,
    destination: SchoolPlacement,
    dest_team: String,
) -> ConfirmedMove {
    patient.archived_in.remove(&dest_team);
    for other in patient.team_ids.iter().filter(|t| **t != dest_team) {
        patient.archived_in.insert(other.clone(), "moved_out_of_area".into());
    }
    patient.team_ids = vec![dest_team.clone()];
    let location = match &destination {
        SchoolPlacement::School { urn } => urn.clone(),
        _ => ctx
            .reference
            .generic_clinic(&dest_team)
            .map(|c| c.id.clone())
            .unwrap_or_else(|| format!("{dest_team}-generic-clinic")),
    };
    patient.school = destination.clone();
    ConfirmedMove {
        location: PatientLocation {
            patient_id: patient.id,
            location,
            team_id: dest_team.clone(),
            academic_year: ctx.academic_year,
            begin_date: Some(ctx.today),
            end_date: None,
        },
        log_entry: SchoolMoveLogEntry {
            patient_id: patient.id,
            school: destination,
            team_id: Some(dest_team),
            user_email: None,
            created_at: ctx.now,
        },
    }
}

/// §9.1 confirm, step 3 as writes: every location of the patient in the move's academic year or later at another
/// place ends yesterday (its begin date clamped), and the move's new location is written, keeping a future begin date
/// if the patient already had one there. Used by reviewed moves and by aged-out moves.
pub async fn location_ops(
    store: &dyn RecordStore,
    confirmed: &mut ConfirmedMove,
    today: NaiveDate,
) -> Result<Vec<WriteOp>, StoreError> {
    let yesterday = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    let mut ops = Vec::new();
    for mut location in patients::locations_of(store, confirmed.location.patient_id).await? {
        if location.academic_year < confirmed.location.academic_year {
            continue;
        }
        if location.location == confirmed.location.location {
            if location.begin_date.is_some_and(|begin| begin > today) {
                confirmed.location.begin_date = location.begin_date;
            }
            continue;
        }
        if location.end_date.is_none_or(|end| end > yesterday) {
            location.end_date = Some(yesterday);
            location.begin_date = location.begin_date.map(|begin| begin.min(yesterday));
            ops.push(WriteOp::Put { item: patients::location_item(&location), condition: Condition::None });
        }
    }
    ops.push(WriteOp::Put { item: patients::location_item(&confirmed.location), condition: Condition::None });
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;
    use crate::domain::patient::ChildAttributes;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2023, 5, 20, hour, 0, 0).single().expect("test time")
    }

    fn school(urn: &str) -> SchoolPlacement {
        SchoolPlacement::School { urn: urn.into() }
    }

    fn ctx(reference: &ReferenceData) -> MoveContext<'_> {
        MoveContext {
            reference,
            team_id: "r1l",
            academic_year: 2022,
            source: SchoolMoveSource::ClassListImport,
            today: NaiveDate::from_ymd_opt(2023, 5, 20).expect("date"),
            now: at(12),
        }
    }

    fn patient(at_school: SchoolPlacement, teams: &[&str]) -> Patient {
        Patient {
            team_ids: teams.iter().map(|t| t.to_string()).collect(),
            ..Patient::new(Uuid::new_v4(), ChildAttributes::default(), at_school, at(9))
        }
    }

    fn pending_move(patient_id: Uuid, to: SchoolPlacement) -> SchoolMove {
        SchoolMove {
            patient_id,
            academic_year: 2022,
            source: SchoolMoveSource::CohortImport,
            destination: to,
            team_id: None,
            created_at: at(10),
            updated_at: at(10),
        }
    }

    #[test]
    fn when_child_is_new_or_has_no_school_should_move_in_at_once() {
        let reference = crate::reference::demo();
        for (mut child, is_new) in
            [(patient(SchoolPlacement::Unknown, &[]), true), (patient(SchoolPlacement::Unknown, &["r1l"]), false)]
        {
            let action = decide(&ctx(&reference), &mut child, is_new, school("141001"), None);

            let MoveAction::Confirm(confirmed) = action else { panic!("{action:?}") };
            assert_eq!(confirmed.location.location, "141001");
            assert_eq!(confirmed.location.academic_year, 2022);
            assert_eq!(child.school, school("141001"));
            assert_eq!(child.team_ids, ["r1l"]);
        }
    }

    #[test]
    fn when_child_is_at_another_school_of_the_team_should_propose_a_move_for_review() {
        let reference = crate::reference::demo();
        let mut child = patient(school("141003"), &["r1l"]);

        let action = decide(&ctx(&reference), &mut child, false, school("141001"), None);

        let MoveAction::Pending(proposed) = action else { panic!("{action:?}") };
        assert_eq!(proposed.destination, school("141001"));
        assert_eq!(proposed.team_id, None, "a move to a school names no team");
        assert_eq!(proposed.source, SchoolMoveSource::ClassListImport);
        assert_eq!(child.school, school("141003"), "nothing applied");
    }

    #[test]
    fn when_child_belongs_to_another_team_should_never_confirm_even_without_a_school() {
        let reference = crate::reference::demo();
        for from in [school("111222"), SchoolPlacement::Unknown] {
            let mut child = patient(from.clone(), &["oth"]);

            let action = decide(&ctx(&reference), &mut child, false, school("141001"), None);

            assert!(matches!(action, MoveAction::Pending(_)), "{from:?}");
            assert_eq!(child.team_ids, ["oth"]);
        }
    }

    #[test]
    fn when_child_is_already_at_the_school_should_propose_nothing() {
        let reference = crate::reference::demo();
        let mut child = patient(school("141001"), &["r1l"]);

        let action = decide(&ctx(&reference), &mut child, false, school("141001"), None);

        assert_eq!(action, MoveAction::None);
    }

    #[test]
    fn when_child_at_the_school_has_a_move_elsewhere_should_confirm_staying() {
        let reference = crate::reference::demo();
        let mut child = patient(school("141001"), &["r1l"]);
        let elsewhere = pending_move(child.id, school("141002"));

        let action = decide(&ctx(&reference), &mut child, false, school("141001"), Some(&elsewhere));

        assert!(matches!(action, MoveAction::Confirm(_)), "{action:?}");
        assert_eq!(child.school, school("141001"));
    }

    #[test]
    fn when_a_pending_move_is_proposed_again_should_update_it_in_place() {
        let reference = crate::reference::demo();
        let mut child = patient(school("141003"), &["r1l"]);
        let earlier = pending_move(child.id, school("141002"));

        let action = decide(&ctx(&reference), &mut child, false, school("141001"), Some(&earlier));

        let MoveAction::Pending(proposed) = action else { panic!("{action:?}") };
        assert_eq!(proposed.destination, school("141001"));
        assert_eq!(proposed.created_at, earlier.created_at);
        assert_eq!(proposed.updated_at, at(12));
    }

    #[test]
    fn when_moving_a_child_out_should_propose_unknown_school_for_the_importing_team() {
        let reference = crate::reference::demo();
        let id = Uuid::new_v4();

        let proposed = move_out(&ctx(&reference), id);

        assert_eq!(proposed.patient_id, id);
        assert_eq!(proposed.destination, SchoolPlacement::Unknown);
        assert_eq!(proposed.team_id.as_deref(), Some("r1l"));
        assert_eq!(proposed.source, SchoolMoveSource::ClassListImport);
        assert_eq!(proposed.academic_year, 2022);
    }
}
