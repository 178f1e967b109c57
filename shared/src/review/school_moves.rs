//! Reviewing pending school moves (mavis-import.md §9.1, §9.4): the list a team sees, the review data, and confirm
//! or ignore. Confirming reuses the pipeline's confirmation (`pipeline::school_moves::confirm`, steps 1–4) and adds
//! what only a reviewed move needs: ended locations, the user on the log entry, team_changed notices.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ReviewError;
use super::issues::{ChildRecordView, child_view, school_name};
use crate::domain::notice::{ImportantNotice, NoticeKind};
use crate::domain::patient::{SchoolMove, SchoolMoveSource, SchoolPlacement};
use crate::domain::{Patient, ReferenceData};
use crate::pipeline::school_moves::{MoveContext, confirm, destination_team, location_ops};
use crate::ports::{Condition, IndexName, Item, RecordStore, StoreError, WriteOp};
use crate::store::imports::Versioned;
use crate::store::{decode, keys, notices, patients};

pub const ALREADY_DECIDED: &str = "This school move has already been confirmed or ignored by someone else.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveDecision {
    Confirm,
    Ignore,
}

/// Left under the patient when a move is decided: a second decision on it is then a conflict, not a 404.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DecisionRecord {
    team_id: String,
    decision: MoveDecision,
    by: String,
    at: DateTime<Utc>,
}

pub struct LoadedMove {
    pub school_move: Versioned<SchoolMove>,
    pub patient: Versioned<Patient>,
}

fn reviewing_team_pk(team_id: &str) -> String {
    keys::school_moves_of_team(team_id, DateTime::UNIX_EPOCH, Uuid::nil()).pk
}

/// Whether the team sees the move: its listing in any of the move's indexes (see `patients::school_move_item`).
fn listed_for(item: &Item, team_id: &str) -> bool {
    IndexName::ALL.into_iter().any(|index| item.index(index).is_some_and(|k| k.pk == reviewing_team_pk(team_id)))
}

/// The team's pending move of a patient. A move the team already decided is a conflict; anything else missing (or
/// another team's) is None.
pub async fn load(store: &dyn RecordStore, team_id: &str, patient_id: Uuid) -> Result<Option<LoadedMove>, ReviewError> {
    let item = match store.get(&keys::school_move(patient_id)).await? {
        Some(item) if listed_for(&item, team_id) => item,
        _ => {
            return match store.get(&keys::school_move_decision(patient_id)).await? {
                Some(done) if decode::<DecisionRecord>(&done)?.team_id == team_id => {
                    Err(ReviewError::Conflict(ALREADY_DECIDED.into()))
                }
                _ => Ok(None),
            };
        }
    };
    let school_move = Versioned { value: decode(&item)?, version: item.version };
    let Some(patient) = patients::get(store, patient_id).await? else { return Ok(None) };
    Ok(Some(LoadedMove { school_move, patient }))
}

/// One row of the school-moves list (§9.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MoveSummary {
    /// The patient's id: a patient has at most one pending move.
    pub id: Uuid,
    pub updated_at: DateTime<Utc>,
    pub full_name: String,
    pub source: &'static str,
    /// "Class list updated", or "Another SAIS team updated" when the destination is not this team.
    pub updated_by: String,
    pub from_school: String,
    pub to_school: String,
    /// "This child is moving in from another SAIS team's area" for moves across teams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MoveDetail {
    #[serde(flatten)]
    pub summary: MoveSummary,
    /// "<Source> record": the child with the new school.
    pub uploaded: ChildRecordView,
    /// "Child record": the child as they are.
    pub current: ChildRecordView,
    /// For moves across teams: "Confirming this school move will bring <given name> into your area from <team>".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub across_teams: Option<String>,
}

fn source_label(source: SchoolMoveSource) -> &'static str {
    match source {
        SchoolMoveSource::ParentalConsentForm => "Consent response",
        SchoolMoveSource::ClassListImport => "Class list",
        SchoolMoveSource::CohortImport => "Cohort",
    }
}

/// The team the move is for: the destination school's team, else the move's own team.
fn destination_team_of(reference: &ReferenceData, school_move: &SchoolMove) -> Option<String> {
    match &school_move.destination {
        SchoolPlacement::School { urn } => reference.school(urn).and_then(|s| s.team_id.clone()),
        _ => school_move.team_id.clone(),
    }
}

/// §9.1 "from another team": the child is in teams now, none of which is the destination team.
fn from_another_team(reference: &ReferenceData, loaded: &LoadedMove) -> Option<String> {
    let destination = destination_team_of(reference, &loaded.school_move.value);
    let teams = &loaded.patient.value.team_ids;
    if teams.is_empty() || teams.iter().any(|t| Some(t) == destination.as_ref()) {
        return None;
    }
    Some(teams[0].clone())
}

impl LoadedMove {
    pub fn summary(&self, reference: &ReferenceData, team_id: &str) -> MoveSummary {
        let m = &self.school_move.value;
        let p = &self.patient.value;
        let source = source_label(m.source);
        let updated_by = if destination_team_of(reference, m).as_deref() == Some(team_id) {
            format!("{source} updated")
        } else {
            "Another SAIS team updated".to_string()
        };
        MoveSummary {
            id: p.id,
            updated_at: m.updated_at,
            full_name: p.staff_facing_name(),
            source,
            updated_by,
            from_school: school_name(reference, &p.school),
            to_school: school_name(reference, &m.destination),
            tag: from_another_team(reference, self)
                .map(|_| "This child is moving in from another SAIS team's area".to_string()),
        }
    }

    pub fn detail(&self, reference: &ReferenceData, team_id: &str, today: NaiveDate) -> MoveDetail {
        let p = &self.patient.value;
        let mut moved = p.clone();
        moved.school = self.school_move.value.destination.clone();
        MoveDetail {
            summary: self.summary(reference, team_id),
            uploaded: child_view(reference, &moved, &p.attributes, today),
            current: child_view(reference, p, &p.attributes, today),
            across_teams: from_another_team(reference, self).map(|from| {
                let team = reference.team(&from).map_or(from.clone(), |t| t.name.clone());
                let given = p.attributes.given_name.clone().unwrap_or_default();
                format!("Confirming this school move will bring {given} into your area from {team}")
            }),
        }
    }
}

/// The team's pending school moves (§9.4), newest first, a page at a time. The order and the total come from the
/// team's listing; the page's moves and children are read in batches. A move decided or gone since it was listed
/// (the listing is an eventually consistent index) is left out.
pub async fn list(
    store: &dyn RecordStore,
    reference: &ReferenceData,
    team_id: &str,
    page: usize,
) -> Result<MovePage, ReviewError> {
    let mut listed = patients::pending_school_moves_for_team(store, team_id).await?;
    listed.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.patient_id.cmp(&b.patient_id)));
    let (listed, paging) = super::paging::page_of(listed, page);
    let mut moves = std::collections::HashMap::new();
    for chunk in listed.iter().map(|m| keys::school_move(m.patient_id)).collect::<Vec<_>>().chunks(100) {
        for item in store.batch_get(chunk).await? {
            if listed_for(&item, team_id) {
                moves
                    .insert(item.key.clone(), Versioned { value: decode::<SchoolMove>(&item)?, version: item.version });
            }
        }
    }
    let children =
        crate::store::versioned_many::<Patient>(store, listed.iter().map(|m| keys::patient(m.patient_id)).collect())
            .await?;
    let school_moves = listed
        .iter()
        .filter_map(|m| {
            let school_move = moves.remove(&keys::school_move(m.patient_id))?;
            let patient = children.get(&keys::patient(m.patient_id))?.clone();
            Some(LoadedMove { school_move, patient }.summary(reference, team_id))
        })
        .collect();
    Ok(MovePage { school_moves, paging })
}

/// How many moves the team's list has: what the navigation shows.
pub async fn count(store: &dyn RecordStore, team_id: &str) -> Result<usize, ReviewError> {
    Ok(patients::pending_school_moves_for_team(store, team_id).await?.len())
}

/// A page of the team's school moves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MovePage {
    pub school_moves: Vec<MoveSummary>,
    pub paging: super::paging::PageInfo,
}

/// Confirms or ignores the move in one transaction (§9.1). Confirming a move across teams then raises the
/// patient's status notices in the new team (the notice generator of §10).
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    store: &dyn RecordStore,
    reference: &ReferenceData,
    team_id: &str,
    loaded: LoadedMove,
    decision: MoveDecision,
    user: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Patient, ReviewError> {
    let school_move = &loaded.school_move.value;
    let mut patient = loaded.patient.value.clone();
    let mut ops = vec![
        WriteOp::Delete {
            key: keys::school_move(patient.id),
            condition: Condition::VersionIs(loaded.school_move.version),
        },
        WriteOp::Put {
            item: Item::new(
                keys::school_move_decision(patient.id),
                serde_json::to_value(DecisionRecord { team_id: team_id.into(), decision, by: user.into(), at: now })
                    .unwrap_or_default(),
            ),
            condition: Condition::None,
        },
    ];
    let mut across_teams = false;
    if decision == MoveDecision::Confirm {
        across_teams =
            confirm_ops(reference, team_id, school_move, &mut patient, user, today, now, store, &mut ops).await?;
        patient.updated_at = now;
        ops.push(patients::put_patient_op(&patient, Some(loaded.patient.version)));
    } else {
        // Ignoring changes nothing about the child, but must not race a confirmation of the same move.
        ops.push(WriteOp::Check {
            key: keys::patient(patient.id),
            condition: Condition::VersionIs(loaded.patient.version),
        });
    }
    match store.transact(ops).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            let decided = store.get(&keys::school_move(patient.id)).await?.is_none();
            return Err(ReviewError::Conflict(
                if decided { ALREADY_DECIDED } else { super::CHANGED_WHILE_DECIDING }.into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    if across_teams && let Err(error) = crate::pds_refresh::generate_for_patient(store, &patient, now).await {
        // The move stands; the status notices are raised again by the next refresh of this child.
        tracing::warn!(error = %error, "status notices after a school move were not generated");
    }
    Ok(patient)
}

/// §9.1 confirm steps 1–6 as writes; true when the move crosses teams.
#[allow(clippy::too_many_arguments)]
async fn confirm_ops(
    reference: &ReferenceData,
    team_id: &str,
    school_move: &SchoolMove,
    patient: &mut Patient,
    user: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
    store: &dyn RecordStore,
    ops: &mut Vec<WriteOp>,
) -> Result<bool, ReviewError> {
    let ctx = MoveContext {
        reference,
        team_id: school_move.team_id.as_deref().unwrap_or(team_id),
        academic_year: school_move.academic_year,
        source: school_move.source,
        today,
        now,
    };
    let destination = school_move.destination.clone();
    let dest_team = destination_team(&ctx, &destination).unwrap_or_else(|| ctx.team_id.to_string());
    let teams_before = patient.team_ids.clone();
    // Steps 1, 2 and 4 (and the new location of step 3).
    let mut confirmed = confirm(&ctx, patient, destination, dest_team.clone());
    confirmed.log_entry.user_email = Some(user.to_string());

    // Step 3: end this year's (and later) locations elsewhere; the new location.
    ops.extend(location_ops(store, &mut confirmed, today).await?);
    ops.push(WriteOp::Put { item: patients::school_move_log_item(&confirmed.log_entry), condition: Condition::None });

    // §10: a team_changed notice is dismissed automatically once the child is back in that team.
    ops.extend(notices::dismiss_team_changed_ops(store, patient.id, &dest_team, now).await?);
    // Step 6: a team_changed notice for every team the child leaves, at the log entry's time.
    let new_team_name = reference.team(&dest_team).map(|t| t.name.clone());
    let left: Vec<&String> = teams_before.iter().filter(|t| **t != dest_team).collect();
    for team in &left {
        let mut notice =
            ImportantNotice::new(patient.id, team, NoticeKind::TeamChanged, confirmed.log_entry.created_at);
        notice.new_team_name = new_team_name.clone();
        ops.push(notices::create_op(&notice));
    }
    Ok(!left.is_empty())
}
