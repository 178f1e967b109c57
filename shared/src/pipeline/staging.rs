//! What an upload does to a matched patient (mavis-import.md §7.2), how a new patient is built from an upload, and
//! how a committed row is counted (§5.5). Parents are planned in [`parents`].
//!
//! Pure: the pipeline loads the patient (and parents), calls these functions, and writes what they return.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::patient::{ChildAttributes, Gender, SchoolPlacement};
use crate::domain::{AcademicYear, Patient};

mod parents;

pub use parents::{ParentPlan, UploadedParent, plan_parent};

/// Which import the upload comes from; class lists may fill in the registration automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StagingKind {
    ChildRecords,
    ClassList,
}

/// An existing patient after an upload has been staged onto it.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedPatient {
    /// The patient with accepted values applied and `pending_changes` set (earlier pending changes are kept, newly
    /// staged ones win on the same attribute). `school` and timestamps are untouched: school moves are separate and
    /// the writer stamps `updated_at`.
    pub patient: Patient,
    /// Attributes changed without review and still applied: filled-in empty values, a gender replacing `not_known`,
    /// and address lines overwritten under an unchanged postcode. Empty whenever anything is pending (§7.2 item 4).
    pub auto_accepted: Vec<&'static str>,
    /// What this upload staged for review (attribute name → uploaded value), including automatic acceptances that
    /// were reverted because something else needs review.
    pub pending: BTreeMap<String, Value>,
    /// Anything differs from before, applied or newly staged. Feeds the "changed" count (§5.5).
    pub changed: bool,
}

/// Stages `upload` onto `existing` following §7.2 items 1–4, in that order.
pub fn stage_existing(existing: &Patient, upload: &ChildAttributes, kind: StagingKind) -> StagedPatient {
    let mut patient = existing.clone();
    let attributes = &mut patient.attributes;

    let mut accepted = auto_accept(attributes, upload, kind);
    let address_rule = AddressRule::for_upload(attributes, upload);
    if address_rule == AddressRule::OverwriteLines {
        accepted.extend(overwrite_address_lines(attributes, upload));
    }
    let mut pending = stage_changes(attributes, upload, &address_rule.fields_to_compare(upload));

    patient.pending_changes.extend(pending.clone());
    if !patient.pending_changes.is_empty() {
        let reverted = revert(&mut patient.attributes, &existing.attributes, &accepted);
        patient.pending_changes.extend(reverted.clone());
        pending.extend(reverted);
        accepted.clear();
    }

    let changed = patient.attributes != existing.attributes || !pending.is_empty();
    StagedPatient { patient, auto_accepted: accepted.iter().map(|f| f.name()).collect(), pending, changed }
}

/// A patient created from an upload (§7.2 item 6). The school is the caller's choice: in Mavis a new patient gets
/// its school through an auto-confirmed school move, so the pipeline may pass `Unknown` and confirm the move later.
pub fn new_patient(id: Uuid, upload: &ChildAttributes, school: SchoolPlacement, now: DateTime<Utc>) -> Patient {
    Patient {
        id,
        attributes: upload.clone(),
        school,
        pending_changes: BTreeMap::new(),
        team_ids: Vec::new(),
        archived_in: BTreeMap::new(),
        restricted_at: None,
        invalidated_at: None,
        date_of_death: None,
        updated_from_pds_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// The count a committed row adds to (§5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowCount {
    New,
    Changed,
    ExactDuplicate,
}

/// New if the patient or any parent or relationship is new; otherwise changed if any of them changed (pending
/// changes included, see [`StagedPatient::changed`]); otherwise an exact duplicate.
pub fn classify(patient_is_new: bool, patient_changed: bool, parents: &[ParentPlan]) -> RowCount {
    if patient_is_new || parents.iter().any(|p| p.parent_is_new || p.relationship_is_new) {
        RowCount::New
    } else if patient_changed || parents.iter().any(|p| p.parent_changed || p.relationship_changed) {
        RowCount::Changed
    } else {
        RowCount::ExactDuplicate
    }
}

// ---------------------------------------------------------------------------------------------------------------
// §7.2 steps

/// Values that fill an empty slot on the record (§7.2 item 1). Registration only for class lists: a class list is
/// the school's own statement of the registration group, a child-records file is not.
fn fill_if_empty_fields(kind: StagingKind) -> &'static [Field] {
    const CHILD_RECORDS: &[Field] = &[Field::PreferredGivenName, Field::PreferredFamilyName, Field::NhsNumber];
    const CLASS_LIST: &[Field] = &[
        Field::PreferredGivenName,
        Field::PreferredFamilyName,
        Field::NhsNumber,
        Field::Registration,
        Field::RegistrationAcademicYear,
    ];
    match kind {
        StagingKind::ChildRecords => CHILD_RECORDS,
        StagingKind::ClassList => CLASS_LIST,
    }
}

/// §7.2 item 1: fills empty values and a `not_known` (or missing) gender. Returns what it changed.
fn auto_accept(attributes: &mut ChildAttributes, upload: &ChildAttributes, kind: StagingKind) -> Vec<Field> {
    let mut accepted = Vec::new();
    for &field in fill_if_empty_fields(kind) {
        if !field.is_blank(upload) && field.is_blank(attributes) {
            field.copy(upload, attributes);
            accepted.push(field);
        }
    }
    if is_definite_gender(upload.gender) && !is_definite_gender(attributes.gender) {
        attributes.gender = upload.gender;
        accepted.push(Field::Gender);
    }
    accepted
}

/// A gender someone actually stated; `not_known` is a placeholder a real value may replace without review.
fn is_definite_gender(gender: Option<Gender>) -> bool {
    matches!(gender, Some(Gender::Male | Gender::Female | Gender::NotSpecified))
}

const ADDRESS_LINES: [Field; 3] = [Field::AddressLine1, Field::AddressLine2, Field::AddressTown];

/// §7.2 item 2: how the address lines take part in staging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddressRule {
    /// The upload moves the child to another postcode: lines missing from the upload count as empty, so the whole
    /// address is compared and no line of the old address survives next to the new postcode.
    CompareWholeAddress,
    /// Same postcode and the upload has address lines: they overwrite the record without review.
    OverwriteLines,
    /// The upload has no postcode but the record does (or the upload has no lines at all): uploaded lines are staged
    /// like any other attribute.
    AsUploaded,
}

impl AddressRule {
    fn for_upload(attributes: &ChildAttributes, upload: &ChildAttributes) -> Self {
        let uploaded = Field::AddressPostcode.comparable(upload);
        let current = Field::AddressPostcode.comparable(attributes);
        if !uploaded.is_null() && uploaded != current {
            AddressRule::CompareWholeAddress
        } else if uploaded == current && ADDRESS_LINES.iter().any(|line| !line.is_blank(upload)) {
            AddressRule::OverwriteLines
        } else {
            AddressRule::AsUploaded
        }
    }

    /// §7.2 item 3 compares every uploaded attribute, adjusted by this rule.
    fn fields_to_compare(self, upload: &ChildAttributes) -> Vec<Field> {
        let uploaded = Field::ALL.iter().copied().filter(|f| !f.is_blank(upload));
        match self {
            AddressRule::AsUploaded => uploaded.collect(),
            AddressRule::OverwriteLines => uploaded.filter(|f| !ADDRESS_LINES.contains(f)).collect(),
            AddressRule::CompareWholeAddress => {
                uploaded.chain(ADDRESS_LINES.into_iter().filter(|line| line.is_blank(upload))).collect()
            }
        }
    }
}

/// The silent overwrite of [`AddressRule::OverwriteLines`]: only lines the upload has. Returns the lines whose stored
/// value actually changed, because those are automatic acceptances that item 4 may have to revert.
fn overwrite_address_lines(attributes: &mut ChildAttributes, upload: &ChildAttributes) -> Vec<Field> {
    let changed: Vec<Field> = ADDRESS_LINES
        .into_iter()
        .filter(|line| !line.is_blank(upload) && line.json(upload) != line.json(attributes))
        .collect();
    for line in &changed {
        line.copy(upload, attributes);
    }
    changed
}

/// §7.2 item 3: equal values (case-insensitive, whitespace normalised, empty = null) are assigned, different ones
/// are returned as pending. A field absent from the upload but listed here is compared as empty.
fn stage_changes(
    attributes: &mut ChildAttributes,
    upload: &ChildAttributes,
    fields: &[Field],
) -> BTreeMap<String, Value> {
    let mut pending = BTreeMap::new();
    for &field in fields {
        if field.comparable(upload) == field.comparable(attributes) {
            field.copy(upload, attributes);
        } else {
            pending.insert(field.name().to_string(), field.json(upload));
        }
    }
    pending
}

/// §7.2 item 4: puts the original values back and returns the accepted ones as pending, so a reviewer sees all of
/// the upload together. Without it, a twin's preferred name or NHS number would land on the other twin's record.
fn revert(attributes: &mut ChildAttributes, original: &ChildAttributes, accepted: &[Field]) -> BTreeMap<String, Value> {
    let mut reverted = BTreeMap::new();
    for &field in accepted {
        reverted.insert(field.name().to_string(), field.json(attributes));
        field.copy(original, attributes);
    }
    reverted
}

// ---------------------------------------------------------------------------------------------------------------
// Attribute access by name

/// Declares [`Field`], one variant per [`ChildAttributes`] field, with typed access by variant. Pending changes are
/// keyed by the field name and hold the same JSON the record serialises to, so applying them later is a plain
/// deserialisation (checked by `when_serialising_attributes_should_agree_with_field_json`).
macro_rules! child_fields {
    ($($variant:ident => $field:ident),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Field {
            $($variant),*
        }

        impl Field {
            const ALL: &'static [Field] = &[$(Field::$variant),*];

            fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => stringify!($field)),*
                }
            }

            /// The value as stored in `pending_changes`; `Null` when absent.
            fn json(self, attributes: &ChildAttributes) -> Value {
                match self {
                    $(Field::$variant => attributes.$field.as_ref().map_or(Value::Null, ToJson::to_json)),*
                }
            }

            fn copy(self, from: &ChildAttributes, to: &mut ChildAttributes) {
                match self {
                    $(Field::$variant => to.$field.clone_from(&from.$field)),*
                }
            }
        }
    };
}

child_fields! {
    GivenName => given_name,
    FamilyName => family_name,
    PreferredGivenName => preferred_given_name,
    PreferredFamilyName => preferred_family_name,
    DateOfBirth => date_of_birth,
    BirthAcademicYear => birth_academic_year,
    Gender => gender,
    NhsNumber => nhs_number,
    AddressLine1 => address_line_1,
    AddressLine2 => address_line_2,
    AddressTown => address_town,
    AddressPostcode => address_postcode,
    Registration => registration,
    RegistrationAcademicYear => registration_academic_year,
}

impl Field {
    /// The value in its comparison form: strings lower-cased with runs of whitespace collapsed and trimmed, and an
    /// empty string treated as null, so "10  Downing street" equals "10 Downing Street" and "" equals absent.
    /// A missing gender is `not_known`, the value Mavis stores by default, so "Not known" in an upload is no change.
    fn comparable(self, attributes: &ChildAttributes) -> Value {
        match self.json(attributes) {
            Value::Null if self == Field::Gender => Gender::NotKnown.to_json(),
            Value::String(text) => {
                let normalised = text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
                if normalised.is_empty() { Value::Null } else { Value::String(normalised) }
            }
            other => other,
        }
    }

    /// Blank in the upload: absent there (a file without the column), or empty once normalised.
    fn is_blank(self, attributes: &ChildAttributes) -> bool {
        self.json(attributes).is_null() || self.comparable(attributes).is_null()
    }
}

/// Infallible JSON for attribute values, matching their serde form (dates as "YYYY-MM-DD", years as numbers).
trait ToJson {
    fn to_json(&self) -> Value;
}

impl ToJson for String {
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
}

impl ToJson for NaiveDate {
    fn to_json(&self) -> Value {
        Value::String(self.format("%Y-%m-%d").to_string())
    }
}

impl ToJson for AcademicYear {
    fn to_json(&self) -> Value {
        Value::from(self.0)
    }
}

impl ToJson for Gender {
    fn to_json(&self) -> Value {
        Value::String(self.as_str().to_string())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::domain::{Parent, ParentRelationship, Relationship};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2023, 5, 20, 9, 0, 0).single().expect("test time")
    }

    fn existing(attributes: ChildAttributes) -> Patient {
        new_patient(Uuid::new_v4(), &attributes, SchoolPlacement::School { urn: "123456".into() }, at())
    }

    /// Jennifer Clarke as valid.csv (§2.1 A) creates her: year group 9 gives birth AY 2008.
    fn jennifer() -> ChildAttributes {
        ChildAttributes {
            given_name: Some("Jennifer".into()),
            family_name: Some("Clarke".into()),
            date_of_birth: Some(d("2010-01-01")),
            birth_academic_year: Some(AcademicYear(2008)),
            nhs_number: Some("9990000018".into()),
            address_line_1: Some("10 Downing Street".into()),
            address_town: Some("London".into()),
            address_postcode: Some("SW1A 1AA".into()),
            ..ChildAttributes::default()
        }
    }

    fn pending(entries: &[(&str, Value)]) -> BTreeMap<String, Value> {
        entries.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    fn unchanged_parent_plan(patient_id: Uuid) -> ParentPlan {
        let parent = Parent {
            id: Uuid::new_v4(),
            full_name: Some("Jane Doe".into()),
            email: Some("jane@example.com".into()),
            phone: Some("07412 345679".into()),
            phone_receive_updates: false,
            created_by_import: None,
        };
        let relationship = ParentRelationship {
            parent_id: parent.id,
            patient_id,
            relationship: Relationship::Mother,
            other_name: None,
        };
        ParentPlan {
            parent,
            parent_is_new: false,
            parent_changed: false,
            relationship,
            relationship_is_new: false,
            relationship_changed: false,
        }
    }

    #[test]
    fn when_upload_repeats_the_record_should_change_nothing_and_count_as_exact_duplicate() {
        let record = existing(jennifer());

        let staged = stage_existing(&record, &jennifer(), StagingKind::ChildRecords);

        assert_eq!(staged.patient, record);
        assert!(staged.auto_accepted.is_empty() && staged.pending.is_empty());
        assert!(!staged.changed);
        let parents = [unchanged_parent_plan(record.id)];
        assert_eq!(classify(false, staged.changed, &parents), RowCount::ExactDuplicate);
    }

    #[test]
    fn when_valid_with_changes_is_uploaded_should_stage_exactly_address_postcode_and_year() {
        // fixture-outcomes §2.10: 1 Whitehall, London, SW1A 1AB; no year-group column, so birth AY 2009 from the DOB.
        let record = existing(jennifer());
        let upload = ChildAttributes {
            address_line_1: Some("1 Whitehall".into()),
            address_postcode: Some("SW1A 1AB".into()),
            birth_academic_year: Some(AcademicYear(2009)),
            ..jennifer()
        };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        let expected = pending(&[
            ("address_line_1", json!("1 Whitehall")),
            ("address_postcode", json!("SW1A 1AB")),
            ("birth_academic_year", json!(2009)),
        ]);
        assert_eq!(staged.pending, expected);
        assert_eq!(staged.patient.pending_changes, expected);
        assert_eq!(staged.patient.attributes, record.attributes, "nothing applied");
        assert!(staged.auto_accepted.is_empty());
        assert!(staged.changed);
        assert_eq!(classify(false, staged.changed, &[]), RowCount::Changed);
    }

    #[test]
    fn when_duplicate_except_postcode_is_uploaded_should_stage_postcode_and_year_only() {
        // fixture-outcomes §2.11: the record's empty address line 2 equals the upload's missing one.
        let taylor = ChildAttributes {
            given_name: Some("Taylor".into()),
            family_name: Some("Reed".into()),
            date_of_birth: Some(d("2010-01-01")),
            birth_academic_year: Some(AcademicYear(2009)),
            address_line_1: Some("10 Downing Street".into()),
            address_line_2: Some(String::new()),
            address_town: Some("London".into()),
            address_postcode: Some("SW1A 1AA".into()),
            ..ChildAttributes::default()
        };
        let record = existing(taylor.clone());
        let upload = ChildAttributes {
            address_line_2: None,
            address_postcode: Some("SW1A 1AB".into()),
            birth_academic_year: Some(AcademicYear(2008)),
            ..taylor
        };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert_eq!(
            staged.pending,
            pending(&[("address_postcode", json!("SW1A 1AB")), ("birth_academic_year", json!(2008))])
        );
        assert_eq!(staged.patient.attributes.address_postcode.as_deref(), Some("SW1A 1AA"));
    }

    #[test]
    fn when_postcode_changes_and_upload_lacks_a_line_should_stage_that_line_as_empty() {
        let record = existing(ChildAttributes { address_line_2: Some("Flat 1".into()), ..jennifer() });
        let upload = ChildAttributes { address_postcode: Some("SW1A 1AB".into()), ..jennifer() };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert_eq!(
            staged.pending,
            pending(&[("address_line_2", Value::Null), ("address_postcode", json!("SW1A 1AB"))])
        );
        assert_eq!(staged.patient.attributes.address_line_2.as_deref(), Some("Flat 1"), "not applied");
    }

    #[test]
    fn when_postcode_is_same_and_address_line_is_new_should_overwrite_silently() {
        let record = existing(jennifer());
        let upload = ChildAttributes { address_line_1: Some("11 Downing Street".into()), ..jennifer() };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert!(staged.pending.is_empty() && staged.patient.pending_changes.is_empty());
        assert_eq!(staged.patient.attributes.address_line_1.as_deref(), Some("11 Downing Street"));
        assert_eq!(staged.auto_accepted, vec!["address_line_1"]);
        assert!(staged.changed);
        assert_eq!(classify(false, staged.changed, &[]), RowCount::Changed);
    }

    #[test]
    fn when_postcode_is_same_and_upload_lacks_a_line_should_keep_the_stored_line() {
        let record = existing(ChildAttributes { address_line_2: Some("Flat 1".into()), ..jennifer() });

        let staged = stage_existing(&record, &jennifer(), StagingKind::ChildRecords);

        assert_eq!(staged.patient.attributes.address_line_2.as_deref(), Some("Flat 1"));
        assert!(!staged.changed);
    }

    #[test]
    fn when_address_overwrite_comes_with_a_pending_change_should_revert_it_into_pending() {
        let record = existing(jennifer());
        let upload = ChildAttributes {
            address_line_1: Some("11 Downing Street".into()),
            date_of_birth: Some(d("2010-01-05")),
            ..jennifer()
        };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert_eq!(
            staged.pending,
            pending(&[("address_line_1", json!("11 Downing Street")), ("date_of_birth", json!("2010-01-05"))])
        );
        assert_eq!(staged.patient.attributes, record.attributes);
        assert!(staged.auto_accepted.is_empty());
    }

    #[test]
    fn when_upload_has_no_postcode_should_stage_address_lines_individually() {
        let record = existing(jennifer());
        let upload = ChildAttributes {
            address_line_1: Some("1 Whitehall".into()),
            address_town: None,
            address_postcode: None,
            ..jennifer()
        };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert_eq!(staged.pending, pending(&[("address_line_1", json!("1 Whitehall"))]));
        assert_eq!(staged.patient.attributes.address_town.as_deref(), Some("London"));
    }

    #[test]
    fn when_record_has_no_postcode_and_upload_neither_should_overwrite_lines_silently() {
        let record = existing(ChildAttributes { address_postcode: None, ..jennifer() });
        let upload =
            ChildAttributes { address_line_1: Some("1 Whitehall".into()), address_postcode: None, ..jennifer() };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert!(staged.pending.is_empty());
        assert_eq!(staged.patient.attributes.address_line_1.as_deref(), Some("1 Whitehall"));
    }

    #[test]
    fn when_values_differ_only_in_case_or_spacing_should_assign_them_without_review() {
        // Class-list job spec: an existing Jimmy stored as "jimmy" / "SMITH".
        let record = existing(ChildAttributes {
            given_name: Some("jimmy".into()),
            family_name: Some("SMITH".into()),
            address_line_1: Some("10  downing street ".into()),
            ..jennifer()
        });
        let upload = ChildAttributes {
            given_name: Some("Jimmy".into()),
            family_name: Some("Smith".into()),
            address_postcode: None,
            address_town: None,
            ..jennifer()
        };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert!(staged.pending.is_empty(), "{:?}", staged.pending);
        assert_eq!(staged.patient.attributes.given_name.as_deref(), Some("Jimmy"));
        assert_eq!(staged.patient.attributes.family_name.as_deref(), Some("Smith"));
        assert_eq!(staged.patient.attributes.address_line_1.as_deref(), Some("10 Downing Street"));
        assert!(staged.changed);
    }

    #[test]
    fn when_only_empty_values_are_filled_in_should_accept_them_automatically() {
        let record = existing(ChildAttributes { nhs_number: None, ..jennifer() });
        let upload = ChildAttributes { preferred_given_name: Some("Jenny".into()), ..jennifer() };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert!(staged.pending.is_empty());
        assert_eq!(staged.auto_accepted, vec!["preferred_given_name", "nhs_number"]);
        assert_eq!(staged.patient.attributes.preferred_given_name.as_deref(), Some("Jenny"));
        assert_eq!(staged.patient.attributes.nhs_number.as_deref(), Some("9990000018"));
        assert!(staged.changed);
    }

    #[test]
    fn when_record_has_a_different_preferred_name_should_stage_it() {
        let record = existing(ChildAttributes { preferred_given_name: Some("Jen".into()), ..jennifer() });
        let upload = ChildAttributes { preferred_given_name: Some("Jenny".into()), ..jennifer() };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert_eq!(staged.pending, pending(&[("preferred_given_name", json!("Jenny"))]));
        assert_eq!(staged.patient.attributes.preferred_given_name.as_deref(), Some("Jen"));
    }

    #[test]
    fn when_upload_has_pending_changes_and_record_lacks_preferred_name_should_stage_preferred_name_too() {
        let record = existing(jennifer());
        let upload = ChildAttributes {
            preferred_given_name: Some("Jenny".into()),
            date_of_birth: Some(d("2010-01-05")),
            ..jennifer()
        };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert_eq!(
            staged.pending,
            pending(&[("date_of_birth", json!("2010-01-05")), ("preferred_given_name", json!("Jenny"))])
        );
        assert_eq!(staged.patient.attributes.preferred_given_name, None, "not applied");
        assert!(staged.auto_accepted.is_empty());
    }

    #[test]
    fn when_class_list_twin_matches_three_of_four_should_stage_everything_and_apply_nothing() {
        // fixture-outcomes §3.1 D: Samuel Clarke (no NHS number, registration XYZ) against Jennifer's row.
        let samuel = ChildAttributes {
            given_name: Some("Samuel".into()),
            nhs_number: None,
            registration: Some("XYZ".into()),
            registration_academic_year: Some(AcademicYear(2025)),
            birth_academic_year: Some(AcademicYear(2011)),
            ..jennifer()
        };
        let record = existing(samuel);
        let upload = ChildAttributes {
            preferred_given_name: Some("Jenny".into()),
            registration: Some("ABC".into()),
            registration_academic_year: Some(AcademicYear(2025)),
            birth_academic_year: Some(AcademicYear(2011)),
            ..jennifer()
        };

        let staged = stage_existing(&record, &upload, StagingKind::ClassList);

        assert_eq!(
            staged.pending,
            pending(&[
                ("given_name", json!("Jennifer")),
                ("nhs_number", json!("9990000018")),
                ("preferred_given_name", json!("Jenny")),
                ("registration", json!("ABC")),
            ])
        );
        assert_eq!(staged.patient.attributes, record.attributes);
        assert!(staged.auto_accepted.is_empty());
    }

    #[test]
    fn when_class_list_ralph_has_a_new_postcode_should_stage_filled_in_values_with_it() {
        // fixture-outcomes §3.10 scenario 1: Ralph Lauren, OX4 1DY on record, RH3 1HG uploaded.
        let ralph = ChildAttributes {
            given_name: Some("Ralph".into()),
            family_name: Some("Lauren".into()),
            date_of_birth: Some(d("2015-10-14")),
            birth_academic_year: Some(AcademicYear(2015)),
            gender: Some(Gender::Male),
            nhs_number: Some("9435769047".into()),
            address_postcode: Some("OX4 1DY".into()),
            ..ChildAttributes::default()
        };
        let record = existing(ralph.clone());
        let upload = ChildAttributes {
            preferred_given_name: Some("Ralphie".into()),
            registration: Some("Kangaroos".into()),
            registration_academic_year: Some(AcademicYear(2028)),
            address_postcode: Some("RH3 1HG".into()),
            ..ralph
        };

        let staged = stage_existing(&record, &upload, StagingKind::ClassList);

        assert_eq!(
            staged.pending,
            pending(&[
                ("address_postcode", json!("RH3 1HG")),
                ("preferred_given_name", json!("Ralphie")),
                ("registration", json!("Kangaroos")),
                ("registration_academic_year", json!(2028)),
            ])
        );
        assert_eq!(staged.patient.attributes, record.attributes);
    }

    #[test]
    fn when_class_list_fills_in_nhs_number_and_registration_should_be_an_auto_match() {
        // fixture-outcomes §3.10 scenario 1: Calvin Klein has no NHS number and no registration.
        let calvin = ChildAttributes {
            given_name: Some("Calvin".into()),
            family_name: Some("Klein".into()),
            date_of_birth: Some(d("2014-11-19")),
            birth_academic_year: Some(AcademicYear(2014)),
            gender: Some(Gender::Male),
            address_postcode: Some("KT2 9HF".into()),
            ..ChildAttributes::default()
        };
        let record = existing(calvin.clone());
        let upload = ChildAttributes {
            nhs_number: Some("9435753973".into()),
            registration: Some("Giraffes".into()),
            registration_academic_year: Some(AcademicYear(2027)),
            ..calvin
        };

        let staged = stage_existing(&record, &upload, StagingKind::ClassList);

        assert!(staged.pending.is_empty());
        assert_eq!(staged.auto_accepted, vec!["nhs_number", "registration", "registration_academic_year"]);
        assert_eq!(staged.patient.attributes, upload);
    }

    #[test]
    fn when_child_records_bring_a_registration_should_stage_it_not_accept_it() {
        let record = existing(jennifer());
        let upload = ChildAttributes { registration: Some("ABC".into()), ..jennifer() };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert_eq!(staged.pending, pending(&[("registration", json!("ABC"))]));
        assert_eq!(staged.patient.attributes.registration, None);
    }

    #[test]
    fn when_class_list_registration_differs_from_record_should_stage_it() {
        let record = existing(ChildAttributes { registration: Some("XYZ".into()), ..jennifer() });
        let upload = ChildAttributes { registration: Some("ABC".into()), ..jennifer() };

        let staged = stage_existing(&record, &upload, StagingKind::ClassList);

        assert_eq!(staged.pending, pending(&[("registration", json!("ABC"))]));
    }

    #[test]
    fn when_record_gender_is_not_known_should_accept_a_stated_gender() {
        for before in [Some(Gender::NotKnown), None] {
            let record = existing(ChildAttributes { gender: before, ..jennifer() });
            let upload = ChildAttributes { gender: Some(Gender::Female), ..jennifer() };

            let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

            assert!(staged.pending.is_empty(), "{before:?}");
            assert_eq!(staged.auto_accepted, vec!["gender"]);
            assert_eq!(staged.patient.attributes.gender, Some(Gender::Female));
        }
    }

    #[test]
    fn when_record_gender_is_stated_should_stage_a_different_gender() {
        let record = existing(ChildAttributes { gender: Some(Gender::Male), ..jennifer() });
        for uploaded in [Gender::Female, Gender::NotSpecified, Gender::NotKnown] {
            let upload = ChildAttributes { gender: Some(uploaded), ..jennifer() };

            let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

            assert_eq!(staged.pending, pending(&[("gender", json!(uploaded.as_str()))]));
            assert_eq!(staged.patient.attributes.gender, Some(Gender::Male));
        }
    }

    #[test]
    fn when_upload_gender_is_not_known_and_record_is_not_known_should_change_nothing() {
        let record = existing(ChildAttributes { gender: Some(Gender::NotKnown), ..jennifer() });
        let upload = ChildAttributes { gender: Some(Gender::NotKnown), ..jennifer() };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert!(staged.pending.is_empty() && staged.auto_accepted.is_empty() && !staged.changed);
    }

    #[test]
    fn when_upload_gender_is_not_known_and_record_has_none_should_change_nothing() {
        let record = existing(ChildAttributes { gender: None, ..jennifer() });
        let upload = ChildAttributes { gender: Some(Gender::NotKnown), ..jennifer() };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert!(staged.pending.is_empty(), "{:?}", staged.pending);
        assert_eq!(staged.patient.attributes.gender, Some(Gender::NotKnown), "assigned as an equal value");
    }

    #[test]
    fn when_record_already_has_pending_changes_should_keep_them_and_revert_automatic_acceptance() {
        let mut record = existing(jennifer());
        record.pending_changes = pending(&[("address_postcode", json!("SW1A 1AB"))]);
        let upload = ChildAttributes { preferred_given_name: Some("Jenny".into()), ..jennifer() };

        let staged = stage_existing(&record, &upload, StagingKind::ChildRecords);

        assert_eq!(staged.pending, pending(&[("preferred_given_name", json!("Jenny"))]));
        assert_eq!(
            staged.patient.pending_changes,
            pending(&[("address_postcode", json!("SW1A 1AB")), ("preferred_given_name", json!("Jenny"))])
        );
        assert_eq!(staged.patient.attributes.preferred_given_name, None);
        assert!(staged.changed);
    }

    #[test]
    fn when_staging_should_leave_school_and_timestamps_alone() {
        let record = existing(jennifer());
        let upload = ChildAttributes { address_line_1: Some("11 Downing Street".into()), ..jennifer() };

        let staged = stage_existing(&record, &upload, StagingKind::ClassList);

        assert_eq!(staged.patient.school, record.school);
        assert_eq!(staged.patient.updated_at, record.updated_at);
        assert_eq!(staged.patient.id, record.id);
    }

    #[test]
    fn when_building_a_new_patient_should_copy_the_upload_with_nothing_pending() {
        let id = Uuid::new_v4();

        let patient = new_patient(id, &jennifer(), SchoolPlacement::Unknown, at());

        assert_eq!(patient.id, id);
        assert_eq!(patient.attributes, jennifer());
        assert_eq!(patient.school, SchoolPlacement::Unknown);
        assert!(patient.pending_changes.is_empty() && patient.team_ids.is_empty() && patient.archived_in.is_empty());
        assert_eq!((patient.created_at, patient.updated_at), (at(), at()));
        assert_eq!(classify(true, false, &[]), RowCount::New);
    }

    #[test]
    fn when_only_a_parent_or_relationship_is_new_should_count_as_new() {
        let patient_id = Uuid::new_v4();
        let mut new_parent = unchanged_parent_plan(patient_id);
        new_parent.parent_is_new = true;
        let mut new_link = unchanged_parent_plan(patient_id);
        new_link.relationship_is_new = true;

        assert_eq!(classify(false, false, &[unchanged_parent_plan(patient_id), new_parent]), RowCount::New);
        assert_eq!(classify(false, true, &[new_link]), RowCount::New);
    }

    #[test]
    fn when_only_a_parent_or_relationship_changed_should_count_as_changed() {
        let patient_id = Uuid::new_v4();
        let mut changed_parent = unchanged_parent_plan(patient_id);
        changed_parent.parent_changed = true;
        let mut changed_link = unchanged_parent_plan(patient_id);
        changed_link.relationship_changed = true;

        assert_eq!(classify(false, false, &[changed_parent]), RowCount::Changed);
        assert_eq!(classify(false, false, &[changed_link]), RowCount::Changed);
    }

    #[test]
    fn when_serialising_attributes_should_agree_with_field_json() {
        let full = ChildAttributes {
            given_name: Some("Jennifer".into()),
            family_name: Some("Clarke".into()),
            preferred_given_name: Some("Jenny".into()),
            preferred_family_name: Some("Clark".into()),
            date_of_birth: Some(d("2010-01-01")),
            birth_academic_year: Some(AcademicYear(2009)),
            gender: Some(Gender::NotSpecified),
            nhs_number: Some("9990000018".into()),
            address_line_1: Some("10 Downing Street".into()),
            address_line_2: Some("Westminster".into()),
            address_town: Some("London".into()),
            address_postcode: Some("SW1A 1AA".into()),
            registration: Some("8A".into()),
            registration_academic_year: Some(AcademicYear(2022)),
        };

        let serialised = serde_json::to_value(&full).expect("attributes serialise");

        let by_field: serde_json::Map<String, Value> =
            Field::ALL.iter().map(|f| (f.name().to_string(), f.json(&full))).collect();
        assert_eq!(serialised, Value::Object(by_field), "every attribute is a Field, with the same JSON");
    }
}
