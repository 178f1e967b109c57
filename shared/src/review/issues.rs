//! Import issues (mavis-import.md §7.3): the issue text, the side-by-side comparison, and the three resolutions with
//! exactly their effects. Each resolution is one transaction, conditional on the issue marker's and the record's
//! versions.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::ReviewError;
use crate::domain::patient::{ChildAttributes, ParentRelationship, SchoolPlacement};
use crate::domain::vaccination::{RecordSource, VaccinationRecord};
use crate::domain::{AcademicYear, Patient, ReferenceData};
use crate::ports::{Condition, Item, RecordStore, WriteOp};
use crate::store::changesets::Changeset;
use crate::store::imports::Versioned;
use crate::store::issues::{self, IssueMarker, IssueSubject, Resolution};
use crate::store::{decode, keys, patients, vaccinations};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    UseUploaded,
    KeepExisting,
    KeepBoth,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::UseUploaded => "use-uploaded",
            Decision::KeepExisting => "keep-existing",
            Decision::KeepBoth => "keep-both",
        }
    }
}

pub const VACCINATION_ISSUE: &str = "Imported record closely matches an existing record. Review and confirm.";
pub const POSSIBLE_MATCH: &str = "Possible match found. Review and confirm.";
pub const KEEP_BOTH_NHS_MATCH: &str = "Keep both is not possible: the uploaded record matched the existing record on \
     NHS number, so they are the same child.";
pub const KEEP_BOTH_VACCINATION: &str = "Keep both is not possible for vaccination records.";
pub const FROM_IMMUNISATIONS_API: &str = "You cannot keep the incoming changes. The existing record was imported \
     automatically from an external source, such as a GP practice, meaning that Mavis is not the primary source for \
     this vaccination record.";
pub const NHS_NUMBER_TAKEN: &str = "Failed to save changes: the NHS number is already used by another record.";
pub const ALREADY_RESOLVED: &str = "This issue has already been resolved by someone else.";

/// §7.3 categories of changed attributes, in the order they are listed.
const CATEGORIES: [(&str, &[&str]); 7] = [
    ("address", &["address_line_1", "address_line_2", "address_town", "address_postcode"]),
    ("date of birth", &["date_of_birth"]),
    ("nhs number", &["nhs_number"]),
    ("gender", &["gender"]),
    ("name", &["given_name", "family_name", "preferred_given_name", "preferred_family_name"]),
    ("year group", &["birth_academic_year"]),
    ("registration", &["registration", "registration_academic_year"]),
];

/// The issue text of §7.3 for a patient issue.
pub fn patient_issue_text(marker: &IssueMarker, patient: &Patient) -> String {
    if !marker.matched_on_nhs_number || patient.pending_changes.is_empty() {
        return POSSIBLE_MATCH.into();
    }
    let categories: Vec<&str> = CATEGORIES
        .iter()
        .filter(|(_, fields)| fields.iter().any(|f| patient.pending_changes.contains_key(*f)))
        .map(|(name, _)| *name)
        .collect();
    if categories.is_empty() {
        return POSSIBLE_MATCH.into();
    }
    let verb = if categories.len() == 1 { "does" } else { "do" };
    format!("Matched on NHS number. {} {verb} not match.", capitalise(&to_sentence(&categories)))
}

/// "a", "a and b", "a, b, and c" (Rails' `to_sentence`).
fn to_sentence(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [a, b] => format!("{a} and {b}"),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Sets each pending value on a JSON object (null or "" clears the attribute).
fn merge(mut target: Value, pending: &BTreeMap<String, Value>) -> Value {
    if let Value::Object(map) = &mut target {
        for (key, value) in pending {
            match value {
                Value::Null => {
                    map.insert(key.clone(), Value::Null);
                }
                Value::String(s) if s.trim().is_empty() => {
                    map.remove(key);
                }
                other => {
                    map.insert(key.clone(), other.clone());
                }
            }
        }
    }
    target
}

/// The child's attributes with the pending changes applied ("Uploaded record").
pub fn uploaded_attributes(patient: &Patient) -> Result<ChildAttributes, ReviewError> {
    let merged = merge(serde_json::to_value(&patient.attributes).unwrap_or(Value::Null), &patient.pending_changes);
    serde_json::from_value(merged).map_err(unusable)
}

/// Staged values that no longer fit the record: said without serde's message, which would quote them.
fn unusable(error: serde_json::Error) -> ReviewError {
    ReviewError::NotAllowed(format!(
        "The uploaded values cannot be used ({:?} error). Upload the file again to stage them afresh.",
        error.classify()
    ))
}

/// The vaccination record with its pending changes applied ("Uploaded record"), pending changes cleared.
pub fn uploaded_record(record: &VaccinationRecord) -> Result<VaccinationRecord, ReviewError> {
    let merged = merge(serde_json::to_value(record).unwrap_or_default(), &record.pending_changes);
    let mut uploaded: VaccinationRecord = serde_json::from_value(merged).map_err(unusable)?;
    uploaded.pending_changes.clear();
    Ok(uploaded)
}

/// One side of the child comparison (§7.3 rows). Parents are not shown; the address is None for restricted patients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildRecordView {
    pub nhs_number: Option<String>,
    /// Shown struck through.
    pub nhs_number_invalidated: bool,
    pub full_name: String,
    pub known_as: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub date_of_death: Option<NaiveDate>,
    pub gender: Option<String>,
    pub address: Option<AddressView>,
    pub school: String,
    pub year_group: Option<i32>,
    pub registration: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddressView {
    pub line_1: Option<String>,
    pub line_2: Option<String>,
    pub town: Option<String>,
    pub postcode: Option<String>,
}

/// "Home-schooled", "Unknown school" or the school's name.
pub fn school_name(reference: &ReferenceData, school: &SchoolPlacement) -> String {
    match school {
        SchoolPlacement::School { urn } => reference.school(urn).map_or_else(|| urn.clone(), |s| s.name.clone()),
        SchoolPlacement::HomeEducated => "Home-schooled".into(),
        SchoolPlacement::Unknown => "Unknown school".into(),
    }
}

pub fn child_view(
    reference: &ReferenceData,
    patient: &Patient,
    attributes: &ChildAttributes,
    today: NaiveDate,
) -> ChildRecordView {
    let a = attributes;
    let name = |given: &Option<String>, family: &Option<String>| {
        format!("{} {}", given.as_deref().unwrap_or(""), family.as_deref().unwrap_or("")).trim().to_string()
    };
    let known_as = match (&a.preferred_given_name, &a.preferred_family_name) {
        (None, None) => None,
        (given, family) => {
            Some(name(&given.clone().or(a.given_name.clone()), &family.clone().or(a.family_name.clone())))
        }
    };
    ChildRecordView {
        nhs_number: a.nhs_number.clone(),
        nhs_number_invalidated: patient.invalidated_at.is_some(),
        full_name: name(&a.given_name, &a.family_name),
        known_as,
        date_of_birth: a.date_of_birth,
        date_of_death: patient.date_of_death,
        gender: a.gender.map(|g| g.as_str().to_string()),
        address: (!patient.is_restricted()).then(|| AddressView {
            line_1: a.address_line_1.clone(),
            line_2: a.address_line_2.clone(),
            town: a.address_town.clone(),
            postcode: a.address_postcode.clone(),
        }),
        school: school_name(reference, &patient.school),
        year_group: a.birth_academic_year.map(|bay| AcademicYear::pending(today).year_group_of(bay)),
        registration: a.registration.clone(),
    }
}

/// The comparison rows a pending attribute changes.
pub fn changed_rows(pending: &BTreeMap<String, Value>, restricted: bool) -> Vec<&'static str> {
    let mut rows: Vec<&'static str> = pending
        .keys()
        .filter_map(|key| match key.as_str() {
            "nhs_number" => Some("nhs_number"),
            "given_name" | "family_name" => Some("full_name"),
            "preferred_given_name" | "preferred_family_name" => Some("known_as"),
            "date_of_birth" => Some("date_of_birth"),
            "gender" => Some("gender"),
            k if k.starts_with("address_") && !restricted => Some("address"),
            "birth_academic_year" | "registration" | "registration_academic_year" => Some("year_group"),
            _ => None,
        })
        .collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// `GET /api/issues/{id}`: everything the review page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueDetail {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub subject: IssueSubject,
    pub patient_id: Uuid,
    pub heading: String,
    /// The child's name.
    pub caption: String,
    pub issue: String,
    pub uploaded: Value,
    pub existing: Value,
    /// Fields of `uploaded` that differ from `existing`.
    pub changed: Vec<String>,
    /// The decisions allowed here.
    pub decisions: Vec<Decision>,
    /// Why a decision is missing from `decisions`, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restriction: Option<String>,
    /// Vaccination records: the existing record is archived (discarded), so the page says "Archived record".
    pub existing_archived: bool,
}

/// One row of `GET /api/issues`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueSummary {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub subject: IssueSubject,
    pub patient_id: Uuid,
    pub name: String,
    pub nhs_number: Option<String>,
    pub issue: String,
    /// The import whose row raised it (P7's "Close matches" section lists the issues of that import).
    pub import_id: Option<Uuid>,
}

/// An open issue with its current subject.
pub struct LoadedIssue {
    pub marker: Versioned<IssueMarker>,
    pub patient: Versioned<Patient>,
    pub record: Option<Versioned<VaccinationRecord>>,
}

impl LoadedIssue {
    fn pending(&self) -> &BTreeMap<String, Value> {
        match &self.record {
            Some(record) => &record.value.pending_changes,
            None => &self.patient.value.pending_changes,
        }
    }

    pub fn summary(&self) -> IssueSummary {
        let m = &self.marker.value;
        let p = &self.patient.value;
        IssueSummary {
            id: m.id,
            subject: m.subject,
            patient_id: p.id,
            name: p.staff_facing_name(),
            nhs_number: p.attributes.nhs_number.clone(),
            issue: match m.subject {
                IssueSubject::Patient => patient_issue_text(m, p),
                IssueSubject::VaccinationRecord => VACCINATION_ISSUE.into(),
            },
            import_id: m.import_id,
        }
    }

    pub fn detail(&self, reference: &ReferenceData, today: NaiveDate) -> Result<IssueDetail, ReviewError> {
        let summary = self.summary();
        let patient = &self.patient.value;
        let (heading, uploaded, existing, changed, decisions, restriction) = match &self.record {
            None => {
                let uploaded = child_view(reference, patient, &uploaded_attributes(patient)?, today);
                let existing = child_view(reference, patient, &patient.attributes, today);
                let changed = changed_rows(&patient.pending_changes, patient.is_restricted());
                let (decisions, restriction) = if self.marker.value.matched_on_nhs_number {
                    (vec![Decision::UseUploaded, Decision::KeepExisting], Some(KEEP_BOTH_NHS_MATCH.to_string()))
                } else {
                    (vec![Decision::UseUploaded, Decision::KeepExisting, Decision::KeepBoth], None)
                };
                (
                    "Uploaded child record duplicates an existing record".to_string(),
                    serde_json::to_value(uploaded).unwrap_or_default(),
                    serde_json::to_value(existing).unwrap_or_default(),
                    changed.into_iter().map(str::to_string).collect(),
                    decisions,
                    restriction,
                )
            }
            Some(record) => {
                let r = &record.value;
                let existing = record_view(r);
                let uploaded = merge(existing.clone(), &r.pending_changes);
                let archived = if r.discarded_at.is_some() { "an archived record" } else { "an existing record" };
                let (decisions, restriction) = if r.details.source == RecordSource::NhsImmunisationsApi {
                    (vec![Decision::KeepExisting], Some(FROM_IMMUNISATIONS_API.to_string()))
                } else {
                    (vec![Decision::UseUploaded, Decision::KeepExisting], Some(KEEP_BOTH_VACCINATION.to_string()))
                };
                (
                    format!("Uploaded vaccination record duplicates {archived}"),
                    uploaded,
                    existing,
                    r.pending_changes.keys().cloned().collect(),
                    decisions,
                    restriction,
                )
            }
        };
        Ok(IssueDetail {
            id: summary.id,
            subject: summary.subject,
            patient_id: summary.patient_id,
            heading,
            caption: summary.name,
            issue: summary.issue,
            uploaded,
            existing,
            changed,
            decisions,
            restriction,
            existing_archived: self.record.as_ref().is_some_and(|r| r.value.discarded_at.is_some()),
        })
    }
}

/// A record's comparable fields: everything but its ids, bookkeeping and NHS sync status.
fn record_view(record: &VaccinationRecord) -> Value {
    let mut value = serde_json::to_value(record).unwrap_or_default();
    if let Value::Object(map) = &mut value {
        for hidden in ["id", "pending_changes", "created_at", "updated_at", "team_id", "local_patient_id_uri"] {
            map.remove(hidden);
        }
        map.retain(|key, _| !key.starts_with("nhs_sync") && !key.starts_with("sync_"));
    }
    value
}

/// Loads an open issue of the team with its subject. None: missing, another team's, or its subject is gone.
pub async fn load(store: &dyn RecordStore, team_id: &str, id: Uuid) -> Result<Option<LoadedIssue>, ReviewError> {
    let Some(marker) = issues::get_for_team(store, team_id, id).await? else { return Ok(None) };
    let record = match marker.value.subject {
        IssueSubject::VaccinationRecord => match vaccinations::get(store, id).await? {
            Some(record) => Some(record),
            None => return Ok(None),
        },
        IssueSubject::Patient => None,
    };
    let patient_id = record.as_ref().map_or(marker.value.patient_id, |r| r.value.patient_id);
    let Some(patient) = patients::get(store, patient_id).await? else { return Ok(None) };
    Ok(Some(LoadedIssue { marker, patient, record }))
}

/// [`load`] for many issues, in batch reads (markers, then records, then patients), in the order of `markers`.
async fn load_many(
    store: &dyn RecordStore,
    team_id: &str,
    markers: Vec<IssueMarker>,
) -> Result<Vec<LoadedIssue>, ReviewError> {
    let mut current =
        crate::store::versioned_many::<IssueMarker>(store, markers.iter().map(|m| keys::issue(m.id)).collect()).await?;
    let markers: Vec<Versioned<IssueMarker>> = markers
        .iter()
        .filter_map(|m| current.remove(&keys::issue(m.id)))
        .filter(|m| m.value.team_id == team_id)
        .collect();
    let record_keys = markers
        .iter()
        .filter(|m| m.value.subject == IssueSubject::VaccinationRecord)
        .map(|m| keys::vaccination(m.value.id))
        .collect();
    let mut records = crate::store::versioned_many::<VaccinationRecord>(store, record_keys).await?;
    let mut subjects = Vec::with_capacity(markers.len());
    for marker in markers {
        let record = match marker.value.subject {
            IssueSubject::VaccinationRecord => match records.remove(&keys::vaccination(marker.value.id)) {
                Some(record) => Some(record),
                None => continue,
            },
            IssueSubject::Patient => None,
        };
        subjects.push((marker, record));
    }
    let patient_id = |(marker, record): &(Versioned<IssueMarker>, Option<Versioned<VaccinationRecord>>)| {
        record.as_ref().map_or(marker.value.patient_id, |r| r.value.patient_id)
    };
    let patient_keys = subjects.iter().map(|s| keys::patient(patient_id(s))).collect();
    let found = crate::store::versioned_many::<Patient>(store, patient_keys).await?;
    Ok(subjects
        .into_iter()
        .filter_map(|subject| {
            let patient = found.get(&keys::patient(patient_id(&subject)))?.clone();
            let (marker, record) = subject;
            Some(LoadedIssue { marker, patient, record })
        })
        .collect())
}

/// The team's issues (§7.3), a page at a time: open markers whose subject still has pending changes: the team's
/// vaccination records, and patients not archived in the team (children known only from vaccination uploads are
/// archived there, yet their records are reviewed); vaccination records first, then patients, oldest first, one entry
/// per patient. The order and the total come from the markers alone, so a page reads only its own subjects.
pub async fn list(store: &dyn RecordStore, team_id: &str, page: usize) -> Result<IssuePage, ReviewError> {
    let (markers, paging) = super::paging::page_of(listed_markers(store, team_id).await?, page);
    Ok(IssuePage { issues: shown(store, team_id, markers).await?, paging })
}

/// The first page of the team's open issues raised by one import's rows (P7's "Close matches to existing
/// records"), with their total.
pub async fn of_import(store: &dyn RecordStore, team_id: &str, import_id: Uuid) -> Result<IssuePage, ReviewError> {
    let mut markers = listed_markers(store, team_id).await?;
    markers.retain(|m| m.import_id == Some(import_id));
    let (markers, paging) = super::paging::page_of(markers, 1);
    Ok(IssuePage { issues: shown(store, team_id, markers).await?, paging })
}

/// How many entries the team's issues list has: what the navigation and the tabs show.
pub async fn count(store: &dyn RecordStore, team_id: &str) -> Result<usize, ReviewError> {
    Ok(listed_markers(store, team_id).await?.len())
}

/// A page of the team's issues.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssuePage {
    pub issues: Vec<IssueSummary>,
    pub paging: super::paging::PageInfo,
}

/// The open markers in list order, the first of each patient's.
async fn listed_markers(store: &dyn RecordStore, team_id: &str) -> Result<Vec<IssueMarker>, ReviewError> {
    let mut markers: Vec<IssueMarker> = issues::open_for_team(store, team_id).await?;
    markers.retain(|m| m.is_open() && m.team_id == team_id);
    markers.sort_by_key(|m| (m.subject == IssueSubject::Patient, m.created_at, m.id));
    let mut seen = std::collections::BTreeSet::new();
    markers.retain(|m| seen.insert(m.patient_id));
    Ok(markers)
}

/// The markers' subjects, read in batches, as list entries; a subject resolved or archived since its marker was
/// listed (the index is eventually consistent) is left out.
async fn shown(
    store: &dyn RecordStore,
    team_id: &str,
    markers: Vec<IssueMarker>,
) -> Result<Vec<IssueSummary>, ReviewError> {
    Ok(load_many(store, team_id, markers)
        .await?
        .iter()
        .filter(|issue| {
            issue.marker.value.is_open()
                && !issue.pending().is_empty()
                && (issue.record.is_some() || !issue.patient.value.archived_in.contains_key(team_id))
        })
        .map(LoadedIssue::summary)
        .collect())
}

/// Resolves an issue with `decision`, in one transaction. Returns the ids of the patients it leaves (the copy too,
/// for keep-both).
pub async fn resolve(
    store: &dyn RecordStore,
    issue: LoadedIssue,
    decision: Decision,
    user: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, ReviewError> {
    if !issue.marker.value.is_open() || issue.pending().is_empty() {
        return Err(ReviewError::Conflict(ALREADY_RESOLVED.into()));
    }
    let resolution = Resolution { decision: decision.as_str().into(), by: user.into(), at: now };
    let mut ops = vec![issues::resolve_op(&issue.marker, resolution.clone())];
    let mut touched = vec![issue.patient.value.id];
    match &issue.record {
        None => patient_ops(store, &issue, decision, now, &mut ops, &mut touched).await?,
        Some(record) => record_ops(store, &issue, record, decision, &resolution, now, &mut ops).await?,
    }
    store.transact(ops).await?;
    if decision == Decision::UseUploaded
        && let Some(patient) = patients::get(store, issue.patient.value.id).await?
        && let Err(error) = crate::pds_refresh::generate_for_patient(store, &patient.value, now).await
    {
        // §10 runs the notice generator after a change of NHS number; the next PDS refresh runs it again anyway.
        tracing::warn!(error = %error, "notices after resolving an issue were not generated");
    }
    Ok(touched)
}

async fn patient_ops(
    store: &dyn RecordStore,
    issue: &LoadedIssue,
    decision: Decision,
    now: DateTime<Utc>,
    ops: &mut Vec<WriteOp>,
    touched: &mut Vec<Uuid>,
) -> Result<(), ReviewError> {
    let current = &issue.patient;
    let mut patient = current.value.clone();
    patient.updated_at = now;
    match decision {
        Decision::UseUploaded => apply_patient_pending(store, &mut patient, ops).await?,
        Decision::KeepExisting => {
            // §7.3 discard: first remove the parent relationships the latest import linked to the child.
            for (_, relationship) in imported_relationships(store, &issue.marker.value, &patient).await? {
                ops.push(WriteOp::Delete {
                    key: keys::parent_relationship(patient.id, relationship.parent_id),
                    condition: Condition::None,
                });
            }
            patient.pending_changes.clear();
        }
        Decision::KeepBoth => {
            if issue.marker.value.matched_on_nhs_number {
                return Err(ReviewError::NotAllowed(KEEP_BOTH_NHS_MATCH.into()));
            }
            let copy_id = keep_both_ops(store, &issue.marker.value, &patient, now, ops).await?;
            touched.push(copy_id);
            patient.pending_changes.clear();
        }
    }
    ops.push(patients::put_patient_op(&patient, Some(current.version)));
    Ok(())
}

/// "Use uploaded" on a patient: every pending value assigned, the map cleared; a new NHS number is reserved, and one
/// already held by another child refuses the change ("Failed to save changes").
async fn apply_patient_pending(
    store: &dyn RecordStore,
    patient: &mut Patient,
    ops: &mut Vec<WriteOp>,
) -> Result<(), ReviewError> {
    let before = patient.attributes.nhs_number.clone();
    patient.attributes = uploaded_attributes(patient)?;
    patient.pending_changes.clear();
    if let Some(nhs) = patient.attributes.nhs_number.clone()
        && before.as_deref() != Some(nhs.as_str())
    {
        match store.get(&keys::nhs_number_reservation(&nhs)).await? {
            Some(item) if item.body.get("patient_id").and_then(Value::as_str) != Some(&patient.id.to_string()) => {
                return Err(ReviewError::NotAllowed(NHS_NUMBER_TAKEN.into()));
            }
            Some(_) => {}
            None => ops.push(patients::reserve_nhs_number_op(&nhs, patient.id)),
        }
        if let Some(old) = before {
            // The child no longer holds the old number: free it for whoever really has it.
            ops.push(WriteOp::Delete { key: keys::nhs_number_reservation(&old), condition: Condition::None });
        }
    }
    Ok(())
}

/// The staged row that last put pending changes on the patient, if the marker names one.
async fn changeset_of(
    store: &dyn RecordStore,
    marker: &IssueMarker,
) -> Result<Option<Versioned<Changeset>>, ReviewError> {
    let (Some(import_id), Some(index)) = (marker.import_id, marker.row_index) else { return Ok(None) };
    Ok(match store.get(&keys::changeset(import_id, index)).await? {
        Some(item) => Some(Versioned { value: decode(&item)?, version: item.version }),
        None => None,
    })
}

/// The patient's parent relationships that the issue's import linked: those to the parents its row uploaded, found
/// the way the import found them (email, else phone, else full name).
async fn imported_relationships(
    store: &dyn RecordStore,
    marker: &IssueMarker,
    patient: &Patient,
) -> Result<Vec<(crate::domain::Parent, ParentRelationship)>, ReviewError> {
    let Some(changeset) = changeset_of(store, marker).await? else { return Ok(vec![]) };
    let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
        _ => false,
    };
    Ok(patients::parents_of(store, patient.id)
        .await?
        .into_iter()
        .filter(|(parent, _)| {
            changeset.value.parents.iter().any(|uploaded| {
                same(&uploaded.email, &parent.email)
                    || same(&uploaded.phone, &parent.phone)
                    || same(&uploaded.full_name, &parent.full_name)
            })
        })
        .collect())
}

/// §7.3 keep both: a copy of the child without NHS number and with the pending changes applied, taking over the
/// import's row (with its PDS search results), the import's link and the import's parent relationships; it also
/// gets the child's current locations, pending school move and teams. Returns the copy's id.
async fn keep_both_ops(
    store: &dyn RecordStore,
    marker: &IssueMarker,
    original: &Patient,
    now: DateTime<Utc>,
    ops: &mut Vec<WriteOp>,
) -> Result<Uuid, ReviewError> {
    let mut copy = original.clone();
    copy.id = Uuid::new_v4();
    copy.attributes = uploaded_attributes(original)?;
    copy.attributes.nhs_number = None;
    copy.pending_changes.clear();
    copy.archived_in.clear();
    copy.restricted_at = None;
    copy.invalidated_at = None;
    copy.updated_from_pds_at = None;
    copy.created_at = now;
    copy.updated_at = now;
    ops.push(patients::put_patient_op(&copy, None));

    for mut location in patients::locations_of(store, original.id).await? {
        if location.end_date.is_none() {
            location.patient_id = copy.id;
            ops.push(put(patients::location_item(&location)));
        }
    }
    if let Some(item) = store.get(&keys::school_move(original.id)).await? {
        ops.push(put(moved_school_move(&item, original.id, copy.id)?));
    }
    for (_, relationship) in imported_relationships(store, marker, original).await? {
        ops.push(WriteOp::Delete {
            key: keys::parent_relationship(original.id, relationship.parent_id),
            condition: Condition::None,
        });
        let moved = ParentRelationship { patient_id: copy.id, ..relationship };
        ops.push(put(patients::relationship_item(&moved)));
    }
    if let Some(changeset) = changeset_of(store, marker).await? {
        let mut row = changeset.value.clone();
        row.patient_id = Some(copy.id);
        ops.push(crate::store::changesets::update_op(&row, changeset.version));
        ops.push(WriteOp::Delete { key: keys::import_patient(row.import_id, original.id), condition: Condition::None });
        ops.push(put(patients::import_link_item(row.import_id, copy.id, row.row_number)));
    }
    Ok(copy.id)
}

/// The pending school move item re-keyed to another patient, listed for the same reviewing team.
fn moved_school_move(item: &Item, from: Uuid, to: Uuid) -> Result<Item, ReviewError> {
    let mut school_move: crate::domain::patient::SchoolMove = decode(item)?;
    school_move.patient_id = to;
    let mut moved = item.clone();
    moved.key = keys::school_move(to);
    moved.body = serde_json::to_value(&school_move).unwrap_or_default();
    moved.version = 1;
    for index in moved.indexes.iter_mut().flatten() {
        index.sk = index.sk.replace(&from.to_string(), &to.to_string());
    }
    Ok(moved)
}

fn put(item: Item) -> WriteOp {
    WriteOp::Put { item, condition: Condition::None }
}

async fn record_ops(
    store: &dyn RecordStore,
    issue: &LoadedIssue,
    record: &Versioned<VaccinationRecord>,
    decision: Decision,
    resolution: &Resolution,
    now: DateTime<Utc>,
    ops: &mut Vec<WriteOp>,
) -> Result<(), ReviewError> {
    let mut updated = record.value.clone();
    updated.updated_at = now;
    match decision {
        Decision::KeepBoth => return Err(ReviewError::NotAllowed(KEEP_BOTH_VACCINATION.into())),
        Decision::UseUploaded if record.value.details.source == RecordSource::NhsImmunisationsApi => {
            return Err(ReviewError::NotAllowed(FROM_IMMUNISATIONS_API.into()));
        }
        Decision::KeepExisting => updated.pending_changes.clear(),
        Decision::UseUploaded => {
            // §7.3 apply: the patient's own pending changes are applied first, and their issue closes with this one.
            let patient = &issue.patient;
            if !patient.value.pending_changes.is_empty() {
                let mut applied = patient.value.clone();
                applied.updated_at = now;
                apply_patient_pending(store, &mut applied, ops).await?;
                ops.push(patients::put_patient_op(&applied, Some(patient.version)));
                if let Some(marker) = issues::get(store, patient.value.id).await?
                    && marker.value.is_open()
                {
                    ops.push(issues::resolve_op(&marker, resolution.clone()));
                }
            }
            updated = uploaded_record(&record.value)?;
            updated.updated_at = now;
            if updated.patient_id != record.value.patient_id {
                // The record moves to another child: its listing under the patient moves with it.
                ops.push(WriteOp::Delete {
                    key: keys::patient_vaccination(record.value.patient_id, updated.id),
                    condition: Condition::None,
                });
                ops.push(put(Item::new(
                    keys::patient_vaccination(updated.patient_id, updated.id),
                    serde_json::json!({ "record_id": updated.id }),
                )));
            }
        }
    }
    ops.push(vaccinations::update_op(&updated, record.version));
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn with_pending(keys: &[&str]) -> Patient {
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        Patient {
            id: Uuid::nil(),
            attributes: ChildAttributes::default(),
            school: SchoolPlacement::Unknown,
            pending_changes: keys.iter().map(|k| (k.to_string(), Value::from("x"))).collect(),
            team_ids: vec![],
            archived_in: Default::default(),
            restricted_at: None,
            invalidated_at: None,
            date_of_death: None,
            updated_from_pds_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn marker(on_nhs_number: bool) -> IssueMarker {
        IssueMarker {
            id: Uuid::nil(),
            subject: IssueSubject::Patient,
            patient_id: Uuid::nil(),
            team_id: "r1l".into(),
            import_id: None,
            row_index: None,
            matched_on_nhs_number: on_nhs_number,
            created_at: crate::clock::test_instant(),
            resolution: None,
        }
    }

    #[test]
    fn issue_text_should_list_the_changed_categories_as_a_sentence() {
        let text = |keys: &[&str]| patient_issue_text(&marker(true), &with_pending(keys));
        assert_eq!(text(&["gender"]), "Matched on NHS number. Gender does not match.");
        assert_eq!(
            text(&["address_postcode", "birth_academic_year"]),
            "Matched on NHS number. Address and year group do not match."
        );
        assert_eq!(
            text(&["given_name", "date_of_birth", "address_town", "address_line_1"]),
            "Matched on NHS number. Address, date of birth, and name do not match."
        );
        assert_eq!(text(&["nhs_number"]), "Matched on NHS number. Nhs number does not match.");
    }

    #[test]
    fn issue_text_without_an_nhs_number_match_should_ask_for_review() {
        assert_eq!(patient_issue_text(&marker(false), &with_pending(&["gender"])), POSSIBLE_MATCH);
    }

    #[test]
    fn uploaded_attributes_should_apply_every_pending_value() {
        let mut patient = with_pending(&[]);
        patient.attributes.address_postcode = Some("SW1A 1AA".into());
        patient.attributes.address_line_2 = Some("Flat 1".into());
        patient.pending_changes = [
            ("address_postcode".to_string(), Value::from("SW1A 1AB")),
            ("address_line_2".to_string(), Value::Null),
            ("birth_academic_year".to_string(), Value::from(2009)),
        ]
        .into_iter()
        .collect();
        let uploaded = uploaded_attributes(&patient).expect("usable");
        assert_eq!(uploaded.address_postcode.as_deref(), Some("SW1A 1AB"));
        assert_eq!(uploaded.address_line_2, None);
        assert_eq!(uploaded.birth_academic_year, Some(AcademicYear(2009)));
    }
}
