//! School moves proposed by child records and class lists (mavis-import.md §9.1, §9.3): which uploads propose a
//! move, which moves are confirmed at once, and what confirming changes.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::patient::{
    PatientLocation, SchoolMove, SchoolMoveLogEntry, SchoolMoveSource, SchoolPlacement,
};
use crate::domain::{Patient, ReferenceData};

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
        SchoolPlacement::School { urn } => {
            ctx.reference.school(urn).and_then(|s| s.team_id.clone())
        }
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

/// Decides the move for a new patient (`current` None) or an existing one, and applies a confirmed move to `patient`.
pub fn decide(
    ctx: &MoveContext,
    patient: &mut Patient,
    is_new: bool,
    destination: SchoolPlacement,
) -> MoveAction {
    if patient.date_of_death.is_some() {
        return MoveAction::None;
    }
    let dest_team = destination_team(ctx, &destination);
    let in_team = patient.team_ids.iter().any(|t| t == ctx.team_id);
    let archived_here = patient.archived_in.contains_key(ctx.team_id);
    let proposes = is_new || patient.school != destination || !in_team || archived_here;
    if !proposes {
        return MoveAction::None;
    }
    let destination_teams: Vec<&str> = dest_team
        .iter()
        .map(String::as_str)
        .chain([ctx.team_id])
        .collect();
    let from_another_team = !patient.team_ids.is_empty()
        && !patient
            .team_ids
            .iter()
            .any(|t| destination_teams.contains(&t.as_str()));
    let archived_only_here = archived_here && patient.archived_in.len() == 1;
    let auto_confirm = !from_another_team
        && (is_new
            || patient.school == SchoolPlacement::Unknown
            || archived_only_here
            || patient.school == destination);
    if auto_confirm {
        MoveAction::Confirm(confirm(
            ctx,
            patient,
            destination,
            dest_team.unwrap_or_else(|| ctx.team_id.to_string()),
        ))
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
            created_at: ctx.now,
            updated_at: ctx.now,
        })
    }
}

/// §9.1 confirm, steps 1–4: school, archive reasons, location, log entry.
fn confirm(
    ctx: &MoveContext,
    patient: &mut Patient,
    destination: SchoolPlacement,
    dest_team: String,
) -> ConfirmedMove {
    patient.archived_in.remove(&dest_team);
    for other in patient.team_ids.iter().filter(|t| **t != dest_team) {
        patient
            .archived_in
            .insert(other.clone(), "moved_out_of_area".into());
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
