//! Which children a team may open (pages P16/P17 and `GET /api/patients/{id}` alike): those listed or archived in the
//! team, and those the team holds a notice about (a child who moved to another team's area stays readable by the
//! team that must act on the notice, until it is dismissed). Anything else is answered as missing.

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
    // Only a notice still to act on opens a child the team no longer has; once dismissed, the child is another
    // team's again.
    let noticed = notices.iter().any(ImportantNotice::is_active);
    Ok((known || noticed).then_some(TeamChild { patient, notices }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sqlite_store::SqliteRecordStore;
    use crate::domain::notice::NoticeKind;
    use crate::domain::patient::{ChildAttributes, SchoolPlacement};

    #[tokio::test]
    async fn a_child_who_left_should_be_readable_only_while_the_old_team_has_a_notice_to_act_on() {
        let store = SqliteRecordStore::in_memory().expect("store");
        let now = crate::clock::test_instant();
        let mut child = Patient::new(Uuid::new_v4(), ChildAttributes::default(), SchoolPlacement::Unknown, now);
        child.team_ids = vec!["rxb".into()];
        store.transact(vec![patients::put_patient_op(&child, None)]).await.expect("child");
        assert!(team_child(&store, "rxb", child.id).await.expect("read").is_some(), "its own team");
        assert!(team_child(&store, "r1l", child.id).await.expect("read").is_none(), "another team");

        let notice = ImportantNotice::new(child.id, "r1l", NoticeKind::TeamChanged, now);
        store.transact(vec![notices::create_op(&notice)]).await.expect("notice");
        let opened = team_child(&store, "r1l", child.id).await.expect("read").expect("readable with the notice");
        assert_eq!(opened.banners("r1l"), vec!["Child has moved to another team's area".to_string()]);

        let held = notices::get(&store, notice.id).await.expect("read").expect("notice");
        store.transact(vec![notices::dismiss_op(&held, now, Some("superuser@example.com"))]).await.expect("dismiss");
        assert!(team_child(&store, "r1l", child.id).await.expect("read").is_none(), "not once it is dismissed");
    }
}
