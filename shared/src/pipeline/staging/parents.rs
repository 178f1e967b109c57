//! Parents of an uploaded child (mavis-import.md §7.2 item 5). Unlike the child, parents are never staged for
//! review: the upload is applied on commit.

use uuid::Uuid;

use crate::domain::{Parent, ParentRelationship, Relationship};

/// Whether a parent created by an import gets text updates. Mavis leaves the column at its default (false): only a
/// parent's own consent response opts them in, so an import never does, even when it brings a phone number.
const NEW_PARENT_RECEIVES_PHONE_UPDATES: bool = false;

pub use crate::domain::patient::UploadedParent;

/// What committing one uploaded parent writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentPlan {
    /// The parent to write: an existing one with the upload applied, or a new one.
    pub parent: Parent,
    pub parent_is_new: bool,
    /// An existing parent's stored values differ from before. Always false for a new parent.
    pub parent_changed: bool,
    pub relationship: ParentRelationship,
    pub relationship_is_new: bool,
    /// An existing relationship's type or other name differs from before. Always false for a new relationship.
    pub relationship_changed: bool,
}

/// Finds or creates the parent and their relationship to the patient, and applies the upload to both.
///
/// `by_email`: the existing parent whose email equals `input.email` anywhere in the service (the caller looks it up;
/// it is ignored unless the emails agree, case-insensitively). `patient_parents`: this patient's current parents with
/// their relationships (empty for a new patient).
pub fn plan_parent(
    input: &UploadedParent,
    patient_id: Uuid,
    by_email: Option<&Parent>,
    patient_parents: &[(Parent, ParentRelationship)],
    new_parent_id: Uuid,
) -> ParentPlan {
    let (parent, parent_is_new, parent_changed) = match find_existing(input, by_email, patient_parents) {
        Some(existing) => {
            let updated = apply_upload(existing.clone(), input);
            let changed = updated != *existing;
            (updated, false, changed)
        }
        None => (apply_upload(blank_parent(new_parent_id), input), true, false),
    };

    let relationship = ParentRelationship {
        parent_id: parent.id,
        patient_id,
        relationship: input.relationship,
        other_name: other_name(input),
    };
    let current = patient_parents
        .iter()
        .map(|(_, relationship)| relationship)
        .find(|r| r.parent_id == parent.id && r.patient_id == patient_id);

    ParentPlan {
        parent,
        parent_is_new,
        parent_changed,
        relationship_is_new: current.is_none(),
        relationship_changed: current.is_some_and(|current| *current != relationship),
        relationship,
    }
}

/// Email is matched across the whole service; phone and name only among this child's parents, because phone numbers
/// and names are shared or reused between families.
fn find_existing<'a>(
    input: &UploadedParent,
    by_email: Option<&'a Parent>,
    patient_parents: &'a [(Parent, ParentRelationship)],
) -> Option<&'a Parent> {
    let mut own_parents = patient_parents.iter().map(|(parent, _)| parent);

    if let Some(email) = present(input.email.as_deref())
        && let Some(parent) =
            by_email.filter(|p| present(p.email.as_deref()).is_some_and(|e| e.eq_ignore_ascii_case(email)))
    {
        return Some(parent);
    }
    if let Some(phone) = present(input.phone.as_deref())
        && let Some(parent) =
            own_parents.clone().find(|p| present(p.phone.as_deref()).is_some_and(|stored| same_phone(stored, phone)))
    {
        return Some(parent);
    }
    let full_name = present(input.full_name.as_deref())?;
    own_parents.find(|p| p.full_name.as_deref() == Some(full_name))
}

/// Uploaded values overwrite stored ones when present; missing ones leave the record alone. A parent left without a
/// phone cannot receive text updates.
fn apply_upload(mut parent: Parent, input: &UploadedParent) -> Parent {
    if let Some(email) = present(input.email.as_deref()) {
        parent.email = Some(email.to_string());
    }
    if let Some(full_name) = present(input.full_name.as_deref()) {
        parent.full_name = Some(full_name.to_string());
    }
    if let Some(phone) = present(input.phone.as_deref()) {
        parent.phone = Some(phone.to_string());
    }
    if present(parent.phone.as_deref()).is_none() {
        parent.phone_receive_updates = false;
    }
    parent
}

fn blank_parent(id: Uuid) -> Parent {
    Parent {
        id,
        full_name: None,
        email: None,
        phone: None,
        phone_receive_updates: NEW_PARENT_RECEIVES_PHONE_UPDATES,
        created_by_import: None,
    }
}

/// The other name only means something for `Other`; any other type clears it, as Mavis does before saving.
fn other_name(input: &UploadedParent) -> Option<String> {
    match input.relationship {
        Relationship::Other => present(input.other_name.as_deref()).map(str::to_string),
        _ => None,
    }
}

fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Stored phones are formatted ("07412 345678") while uploads may not be; spacing is not part of the number.
fn same_phone(a: &str, b: &str) -> bool {
    let digits = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    digits(a) == digits(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(
        name: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
        relationship: Relationship,
    ) -> UploadedParent {
        UploadedParent {
            full_name: name.map(Into::into),
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            relationship,
            other_name: None,
        }
    }

    fn parent(name: Option<&str>, email: Option<&str>, phone: Option<&str>, receives_updates: bool) -> Parent {
        Parent {
            id: Uuid::new_v4(),
            full_name: name.map(Into::into),
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            phone_receive_updates: receives_updates,
            created_by_import: None,
        }
    }

    fn related(parent: &Parent, patient_id: Uuid, relationship: Relationship) -> (Parent, ParentRelationship) {
        let link = ParentRelationship { parent_id: parent.id, patient_id, relationship, other_name: None };
        (parent.clone(), link)
    }

    #[test]
    fn when_no_parent_matches_should_create_parent_and_relationship() {
        let (patient_id, new_id) = (Uuid::new_v4(), Uuid::new_v4());
        let upload = input(Some("John Smith"), Some("john@example.com"), Some("07412 345678"), Relationship::Father);

        let plan = plan_parent(&upload, patient_id, None, &[], new_id);

        assert!(plan.parent_is_new && plan.relationship_is_new);
        assert!(!plan.parent_changed && !plan.relationship_changed);
        assert_eq!(plan.parent.id, new_id);
        assert_eq!(plan.parent.full_name.as_deref(), Some("John Smith"));
        assert_eq!(plan.parent.email.as_deref(), Some("john@example.com"));
        assert_eq!(plan.parent.phone.as_deref(), Some("07412 345678"));
        assert_eq!(plan.relationship.parent_id, new_id);
        assert_eq!(plan.relationship.patient_id, patient_id);
        assert_eq!(plan.relationship.relationship, Relationship::Father);
    }

    #[test]
    fn when_new_parent_has_a_phone_should_not_opt_into_text_updates() {
        let upload = input(Some("John Smith"), None, Some("07412 345678"), Relationship::Father);

        let plan = plan_parent(&upload, Uuid::new_v4(), None, &[], Uuid::new_v4());

        assert!(!plan.parent.phone_receive_updates);
    }

    #[test]
    fn when_parent_has_no_phone_should_not_receive_phone_updates() {
        // valid.csv: Richard Doe has no phone.
        let upload = input(Some("Richard Doe"), Some("richard@example.com"), None, Relationship::Father);
        let stale = parent(Some("Richard Doe"), Some("richard@example.com"), None, true);

        let new = plan_parent(&upload, Uuid::new_v4(), None, &[], Uuid::new_v4());
        let existing = plan_parent(&upload, Uuid::new_v4(), Some(&stale), &[], Uuid::new_v4());

        assert!(!new.parent.phone_receive_updates);
        assert!(!existing.parent.phone_receive_updates);
        assert!(existing.parent_changed);
    }

    #[test]
    fn when_email_matches_a_parent_anywhere_should_reuse_it_and_overwrite_the_name() {
        // Class list job spec: an existing parent "JOHN smith" (john@example.com) becomes "John Smith".
        let patient_id = Uuid::new_v4();
        let john = parent(Some("JOHN smith"), Some("john@example.com"), None, false);
        let upload = input(Some("John Smith"), Some("John@Example.com"), Some("07412 345678"), Relationship::Father);

        let plan = plan_parent(&upload, patient_id, Some(&john), &[], Uuid::new_v4());

        assert_eq!(plan.parent.id, john.id);
        assert!(!plan.parent_is_new && plan.parent_changed);
        assert_eq!(plan.parent.full_name.as_deref(), Some("John Smith"));
        assert_eq!(plan.parent.phone.as_deref(), Some("07412 345678"));
        assert!(!plan.parent.phone_receive_updates, "an import never opts a parent in");
        assert!(plan.relationship_is_new, "John was not yet this child's parent");
    }

    #[test]
    fn when_by_email_parent_has_another_email_should_ignore_it() {
        let stranger = parent(Some("Someone"), Some("someone@example.com"), None, false);
        let upload = input(Some("John Smith"), Some("john@example.com"), None, Relationship::Father);

        let plan = plan_parent(&upload, Uuid::new_v4(), Some(&stranger), &[], Uuid::new_v4());

        assert!(plan.parent_is_new);
    }

    #[test]
    fn when_phone_matches_one_of_the_patients_parents_should_reuse_it() {
        let patient_id = Uuid::new_v4();
        let mum = parent(Some("Jane Doe"), Some("old@example.com"), Some("07412 345679"), true);
        let parents = [related(&mum, patient_id, Relationship::Mother)];
        let upload = input(Some("Jane Doe"), Some("jane@example.com"), Some("07412345679"), Relationship::Mother);

        let plan = plan_parent(&upload, patient_id, None, &parents, Uuid::new_v4());

        assert_eq!(plan.parent.id, mum.id);
        assert_eq!(plan.parent.email.as_deref(), Some("jane@example.com"));
        assert!(plan.parent.phone_receive_updates, "kept: the parent still has a phone");
        assert!(plan.parent_changed);
        assert!(!plan.relationship_is_new && !plan.relationship_changed);
    }

    #[test]
    fn when_full_name_matches_one_of_the_patients_parents_exactly_should_reuse_it() {
        let patient_id = Uuid::new_v4();
        let dad = parent(Some("Conor Jones"), None, None, false);
        let parents = [related(&dad, patient_id, Relationship::Father)];
        let same = input(Some("Conor Jones"), None, None, Relationship::Father);
        let other_case = input(Some("conor jones"), None, None, Relationship::Father);

        let matched = plan_parent(&same, patient_id, None, &parents, Uuid::new_v4());
        let unmatched = plan_parent(&other_case, patient_id, None, &parents, Uuid::new_v4());

        assert_eq!(matched.parent.id, dad.id);
        assert!(!matched.parent_changed && !matched.relationship_changed);
        assert!(unmatched.parent_is_new);
    }

    #[test]
    fn when_phone_or_name_match_only_another_childs_parent_should_create_a_new_parent() {
        // Phone and name are matched among this patient's parents only; the caller passes none for a new patient.
        let upload = input(Some("Jane Doe"), None, Some("07412 345679"), Relationship::Mother);

        let plan = plan_parent(&upload, Uuid::new_v4(), None, &[], Uuid::new_v4());

        assert!(plan.parent_is_new && plan.relationship_is_new);
    }

    #[test]
    fn when_email_and_phone_point_to_different_parents_should_prefer_email() {
        let patient_id = Uuid::new_v4();
        let by_phone = parent(Some("Jane Doe"), None, Some("07412 345679"), true);
        let by_email = parent(Some("Jane Doe"), Some("jane@example.com"), None, false);
        let parents = [related(&by_phone, patient_id, Relationship::Mother)];
        let upload = input(Some("Jane Doe"), Some("jane@example.com"), Some("07412 345679"), Relationship::Mother);

        let plan = plan_parent(&upload, patient_id, Some(&by_email), &parents, Uuid::new_v4());

        assert_eq!(plan.parent.id, by_email.id);
    }

    #[test]
    fn when_relationship_type_differs_should_overwrite_it() {
        // Quirk 5: a class-list row without a relationship resets an existing type to unknown.
        let patient_id = Uuid::new_v4();
        let susan = parent(None, Some("susan@example.com"), Some("07412 345678"), false);
        let parents = [related(&susan, patient_id, Relationship::Mother)];
        let upload = input(None, Some("susan@example.com"), Some("07412 345678"), Relationship::Unknown);

        let plan = plan_parent(&upload, patient_id, Some(&susan), &parents, Uuid::new_v4());

        assert!(!plan.parent_changed);
        assert!(!plan.relationship_is_new && plan.relationship_changed);
        assert_eq!(plan.relationship.relationship, Relationship::Unknown);
    }

    #[test]
    fn when_relationship_is_other_should_keep_the_uploaded_name_and_otherwise_clear_it() {
        let patient_id = Uuid::new_v4();
        let carer = parent(Some("Sam Carer"), None, None, false);
        let mut link = related(&carer, patient_id, Relationship::Other);
        link.1.other_name = Some("Step-parent".into());
        let parents = [link];
        let mut as_other = input(Some("Sam Carer"), None, None, Relationship::Other);
        as_other.other_name = Some("Step-parent".into());
        let mut as_guardian = as_other.clone();
        as_guardian.relationship = Relationship::Guardian;

        let unchanged = plan_parent(&as_other, patient_id, None, &parents, Uuid::new_v4());
        let changed = plan_parent(&as_guardian, patient_id, None, &parents, Uuid::new_v4());

        assert!(!unchanged.relationship_changed);
        assert_eq!(unchanged.relationship.other_name.as_deref(), Some("Step-parent"));
        assert!(changed.relationship_changed);
        assert_eq!(changed.relationship.other_name, None);
    }

    #[test]
    fn when_upload_repeats_a_known_parent_should_change_nothing() {
        // valid_unknown_school.csv row 3 after valid.csv: Jane Doe, mother of Mark, exactly as stored.
        let patient_id = Uuid::new_v4();
        let jane = parent(Some("Jane Doe"), Some("jane@example.com"), Some("07412 345679"), false);
        let parents = [related(&jane, patient_id, Relationship::Mother)];
        let upload = input(Some("Jane Doe"), Some("jane@example.com"), Some("07412 345679"), Relationship::Mother);

        let plan = plan_parent(&upload, patient_id, Some(&jane), &parents, Uuid::new_v4());

        assert_eq!(plan.parent, jane);
        assert!(!plan.parent_is_new && !plan.parent_changed);
        assert!(!plan.relationship_is_new && !plan.relationship_changed);
    }
}
