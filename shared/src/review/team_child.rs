//! Which children a team may open (pages P16/P17 and `GET /api/patients/{id}` alike): those listed or archived in the
//! team, and those the team holds a notice about (a child who moved to another team's area stays readable by the
//! team that must act on the notice). Anything else is answered as missing.

use uuid::Uuid;

use crate::domain::Patient;
use crate::domain::notice::ImportantNotice;
use crate::ports::{RecordStore, StoreError};
use crate::store::{notices, patients};

pub struct TeamChild {
    pub patient: Patient,
    /// The team's own notices of the child, active or dismissed.
    pub notices: Vec<ImportantNotice>,
}

impl TeamChild {
    /// The status banners of the record (pages.md §8.4).
    pub fn banners(&self, team_id: &str) -> Vec<String> {
        super::notices::banners(&self.patient, &self.notices, team_id)
    }
}

/// The child if the team may open it; None for a missing child or another team's.
pub async fn team_child(store: &dyn RecordStore, team_id: &str, id: Uuid) -> Result<Option<TeamChild>, StoreError> {
    let Some(patient) = patients::get(store, id).await? else { return Ok(None) };
    let patient = patient.value;
    let notices: Vec<ImportantNotice> =
        notices::of_patient(store, id).await?.into_iter().map(|n| n.value).filter(|n| n.team_id == team_id).collect();
    let known = patient.team_ids.iter().any(|t| t == team_id) || patient.archived_in.contains_key(team_id);
    Ok((known || !notices.is_empty()).then_some(TeamChild { patient, notices }))
}
