//! Important notices as a team's super admins see them (mavis-import.md §10, pages.md §7): the team's active notices
//! whose child still exists, newest first. The JSON API and the pages list and count them the same way.

use std::collections::{BTreeSet, HashMap};

use uuid::Uuid;

use super::paging::PageInfo;
use crate::domain::Patient;
use crate::domain::notice::{ImportantNotice, NoticeKind};
use crate::ports::{RecordStore, StoreError};
use crate::store::{decode, keys, notices};

/// A listed notice with its child's staff-facing name ("CLARKE, Jennifer").
pub struct ListedNotice {
    pub notice: ImportantNotice,
    pub child_name: String,
}

/// A page of the team's notices.
pub struct NoticePage {
    pub notices: Vec<ListedNotice>,
    pub paging: PageInfo,
}

/// The team's active notices of children that still exist, newest first, a page at a time, each with the child's
/// name. Whether a child still exists decides the list and its total, so the children are read in batches for the
/// whole list (notices are few: a handful per hundred children), and only the page is answered.
pub async fn listed(store: &dyn RecordStore, team_id: &str, page: usize) -> Result<NoticePage, StoreError> {
    let (notices, paging) =
        super::paging::page_of(named(store, notices::active_for_team(store, team_id).await?).await?, page);
    Ok(NoticePage { notices, paging })
}

/// How many entries the team's notices list has: what the navigation, the tab and the banner show.
pub async fn count(store: &dyn RecordStore, team_id: &str) -> Result<usize, StoreError> {
    Ok(listed(store, team_id, 1).await?.paging.total)
}

async fn named(store: &dyn RecordStore, active: Vec<ImportantNotice>) -> Result<Vec<ListedNotice>, StoreError> {
    let patient_ids: BTreeSet<Uuid> = active.iter().map(|n| n.patient_id).collect();
    let keys: Vec<_> = patient_ids.iter().map(|id| keys::patient(*id)).collect();
    let mut names = HashMap::new();
    for chunk in keys.chunks(100) {
        for item in store.batch_get(chunk).await? {
            let child: Patient = decode(&item)?;
            names.insert(child.id, child.staff_facing_name());
        }
    }
    Ok(active
        .into_iter()
        .filter_map(|notice| {
            let child_name = names.get(&notice.patient_id)?.clone();
            Some(ListedNotice { notice, child_name })
        })
        .collect())
}

/// "N important notice(s) need(s) attention"; None at 0, when no banner is shown.
pub fn banner_text(count: usize) -> Option<String> {
    match count {
        0 => None,
        1 => Some("1 important notice needs attention".to_string()),
        n => Some(format!("{n} important notices need attention")),
    }
}

/// The status banners of a child's record (pages.md §8.4), from the team's notices of the child, in order: sensitive
/// while restricted, invalid while invalidated, deceased, one combined Gillick message, and moves to other teams.
/// Shown to every member of the team, as the reference service does: they describe the record the user is reading.
pub fn banners(patient: &Patient, notices: &[ImportantNotice], team_id: &str) -> Vec<String> {
    let ours: Vec<&ImportantNotice> = notices.iter().filter(|n| n.team_id == team_id).collect();
    let any = |kind: NoticeKind| ours.iter().find(|n| n.kind == kind).map(|n| n.message());
    let mut lines = Vec::new();
    if patient.is_restricted() {
        lines.extend(any(NoticeKind::Restricted));
    }
    if patient.invalidated_at.is_some() {
        lines.extend(any(NoticeKind::Invalidated));
    }
    lines.extend(any(NoticeKind::Deceased));
    let mut programmes: Vec<&str> = Vec::new();
    for name in
        ours.iter().filter(|n| n.kind == NoticeKind::GillickNoNotify).filter_map(|n| n.programme_name.as_deref())
    {
        if !programmes.contains(&name) {
            programmes.push(name);
        }
    }
    if !programmes.is_empty() {
        lines.push(format!(
            "Child gave consent for {} vaccinations under Gillick competence and does not want their parents to be \
             notified. These records will not be automatically synced with GP records. Your team must let the \
             child's GP know they were vaccinated.",
            and_list(&programmes)
        ));
    }
    if !patient.team_ids.iter().any(|t| t == team_id) {
        lines.extend(ours.iter().filter(|n| n.kind == NoticeKind::TeamChanged).map(|n| n.message()));
    }
    lines
}

/// "HPV", "HPV and Flu", "HPV, Flu and MMR".
fn and_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_should_count_notices_and_vanish_at_none() {
        assert_eq!(banner_text(0), None);
        assert_eq!(banner_text(1).as_deref(), Some("1 important notice needs attention"));
        assert_eq!(banner_text(3).as_deref(), Some("3 important notices need attention"));
    }
}
