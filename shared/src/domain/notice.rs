//! Important notices (spec §10): flags on a patient that a team's super admins must see, such as a date of death
//! recorded by PDS. One notice per (patient, kind, recorded_at, team); the id is derived from those four so that a
//! retried generator can never create a second copy.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kinds of notice, with the integer values the reference service stores (kept for exports and migrations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Deceased = 0,
    Invalidated = 1,
    Restricted = 2,
    GillickNoNotify = 3,
    TeamChanged = 4,
}

impl NoticeKind {
    /// The kinds that follow a patient status and are generated (and auto-dismissed) from the patient record alone.
    pub const STATUS_KINDS: [NoticeKind; 3] = [NoticeKind::Deceased, NoticeKind::Invalidated, NoticeKind::Restricted];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Deceased => "deceased",
            NoticeKind::Invalidated => "invalidated",
            NoticeKind::Restricted => "restricted",
            NoticeKind::GillickNoNotify => "gillick_no_notify",
            NoticeKind::TeamChanged => "team_changed",
        }
    }

    /// Invalidated notices cannot be dismissed by hand: they go away only when the NHS number is fixed.
    pub fn can_be_dismissed(self) -> bool {
        !matches!(self, NoticeKind::Invalidated)
    }
}

/// Why a user may not dismiss an invalidated notice (answered with 422).
pub const INVALIDATED_NOT_DISMISSIBLE: &str =
    "Invalidated notices cannot be dismissed. They are resolved automatically when the NHS number is fixed.";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportantNotice {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub team_id: String,
    #[serde(rename = "type")]
    pub kind: NoticeKind,
    pub recorded_at: DateTime<Utc>,
    #[serde(default)]
    pub dismissed_at: Option<DateTime<Utc>>,
    /// The dismissing user's email; None when dismissed automatically (the status no longer applies).
    #[serde(default)]
    pub dismissed_by: Option<String>,
    /// Gillick notices only: the programme the child consented for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme_name: Option<String>,
    /// Team-changed notices only: the team the child moved to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_team_name: Option<String>,
}

/// Namespace for notice ids (UUID v5), fixed so that ids are the same on every run and every store.
const NOTICE_NAMESPACE: Uuid = Uuid::from_u128(0x6d61_7669_732d_6e6f_7469_6365_0000_0001);

impl ImportantNotice {
    /// A new active notice. Its id is a function of the unique key, so creating it twice names the same item.
    pub fn new(patient_id: Uuid, team_id: &str, kind: NoticeKind, recorded_at: DateTime<Utc>) -> Self {
        Self {
            id: Self::id_for(patient_id, team_id, kind, recorded_at),
            patient_id,
            team_id: team_id.to_string(),
            kind,
            recorded_at,
            dismissed_at: None,
            dismissed_by: None,
            programme_name: None,
            new_team_name: None,
        }
    }

    pub fn id_for(patient_id: Uuid, team_id: &str, kind: NoticeKind, recorded_at: DateTime<Utc>) -> Uuid {
        let name = format!("{patient_id}|{}|{}|{team_id}", kind.as_str(), recorded_at.timestamp_micros());
        Uuid::new_v5(&NOTICE_NAMESPACE, name.as_bytes())
    }

    pub fn is_active(&self) -> bool {
        self.dismissed_at.is_none()
    }

    /// The text the notices list shows, exactly as spec §10 words it.
    pub fn message(&self) -> String {
        match self.kind {
            NoticeKind::Deceased => "Record updated with child’s date of death".into(),
            NoticeKind::Invalidated => "Record flagged as invalid".into(),
            NoticeKind::Restricted => "Record flagged as sensitive".into(),
            NoticeKind::GillickNoNotify => format!(
                "Child gave consent for {} under Gillick competence and does not want their parents to be notified. \
                 These records will not be automatically synced with GP records. Your team must let the child's GP \
                 know they were vaccinated.",
                self.programme_name.as_deref().unwrap_or("a programme")
            ),
            NoticeKind::TeamChanged => match &self.new_team_name {
                Some(name) => format!("Child has moved to {name} area"),
                None => "Child has moved to another team's area".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_should_depend_only_on_the_unique_key() {
        let patient = Uuid::new_v4();
        let at = crate::clock::test_instant();
        let a = ImportantNotice::new(patient, "r1l", NoticeKind::Restricted, at);
        let b = ImportantNotice::new(patient, "r1l", NoticeKind::Restricted, at);
        let other_team = ImportantNotice::new(patient, "rxb", NoticeKind::Restricted, at);
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, other_team.id);
    }

    #[test]
    fn messages_should_match_the_spec() {
        let n = |kind| ImportantNotice::new(Uuid::nil(), "t", kind, crate::clock::test_instant()).message();
        assert_eq!(n(NoticeKind::Deceased), "Record updated with child’s date of death");
        assert_eq!(n(NoticeKind::Invalidated), "Record flagged as invalid");
        assert_eq!(n(NoticeKind::Restricted), "Record flagged as sensitive");
        assert_eq!(n(NoticeKind::TeamChanged), "Child has moved to another team's area");
        assert!(!NoticeKind::Invalidated.can_be_dismissed());
        assert!(NoticeKind::Restricted.can_be_dismissed());
    }
}
