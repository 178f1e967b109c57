//! What an uploaded vaccination does to the records (mavis-import.md §8.2): which existing record it is, and what it
//! stages on that record.
//!
//! Pure: the pipeline loads the patient's records, calls these functions, and writes what they return.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::Programme;
use crate::domain::vaccination::{
    DeliveryMethod, DeliverySite, Performer, Protocol, RecordSource, VaccinationDetails, VaccinationOutcome,
    VaccinationRecord,
};

/// The attributes that say two records are the same vaccination. Point of care: who, what, when (the date), where
/// and by whom. National reporting: everything, so an NR row is either an exact duplicate or a new record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity<'a> {
    programme: Programme,
    disease_types: Vec<&'a str>,
    performed_on: NaiveDate,
    outcome: VaccinationOutcome,
    dose_sequence: Option<u32>,
    full_dose: bool,
    performer: &'a Performer,
    performed_ods_code: Option<&'a str>,
    protocol: Option<Protocol>,
    session_id: Option<i64>,
    supplier_email: Option<&'a str>,
    /// Not compared for records that came from the Immunisations API.
    location: Option<(Option<&'a str>, Option<&'a str>)>,
    /// Only compared when there is a session.
    notify_parents: Option<Option<bool>>,
    national_reporting: Option<ReportedDetails<'a>>,
}

/// The attributes a point-of-care upload stages for review, but which national reporting compares.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct ReportedDetails<'a> {
    batch_number: Option<&'a str>,
    batch_expiry: Option<NaiveDate>,
    notes: Option<&'a str>,
    performed_at: DateTime<Utc>,
    time_given: bool,
    source: RecordSource,
    vaccine: Option<&'a str>,
    delivery_site: Option<DeliverySite>,
    delivery_method: Option<DeliveryMethod>,
}

/// The identity of `details`, compared as §8.2 says. `against_api_record`: the other side came from the
/// Immunisations API, so location and location name do not take part.
pub fn identity(details: &VaccinationDetails, national_reporting: bool, against_api_record: bool) -> Identity<'_> {
    let mut disease_types: Vec<&str> = details.disease_types.iter().map(String::as_str).collect();
    disease_types.sort_unstable();
    Identity {
        programme: details.programme,
        disease_types,
        performed_on: details.performed_on(),
        outcome: details.outcome,
        dose_sequence: details.dose_sequence,
        full_dose: details.full_dose,
        performer: &details.performer,
        performed_ods_code: details.performed_ods_code.as_deref(),
        protocol: details.protocol,
        session_id: details.session_id,
        supplier_email: details.supplier_email.as_deref(),
        location: (!against_api_record).then_some((details.location.as_deref(), details.location_name.as_deref())),
        notify_parents: details.session_id.map(|_| details.notify_parents),
        national_reporting: national_reporting.then_some(ReportedDetails {
            batch_number: details.batch_number.as_deref(),
            batch_expiry: details.batch_expiry,
            notes: details.notes.as_deref(),
            performed_at: details.performed_at,
            time_given: details.time_given,
            source: details.source,
            vaccine: details.vaccine.as_deref(),
            delivery_site: details.delivery_site,
            delivery_method: details.delivery_method,
        }),
    }
}

/// A short fingerprint of an identity, to find two rows of one file that describe the same vaccination without
/// keeping the rows.
pub fn fingerprint(identity: &Identity) -> [u8; 16] {
    let json = serde_json::to_vec(identity).expect("identities serialise");
    let digest = Sha256::digest(&json);
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

fn is_api_record(record: &VaccinationRecord) -> bool {
    record.details.source == RecordSource::NhsImmunisationsApi
}

/// The first of `records` (the patient's, oldest first) that is the same vaccination as `upload`.
pub fn find_same<'a>(
    records: &'a [VaccinationRecord],
    upload: &VaccinationDetails,
    national_reporting: bool,
) -> Option<&'a VaccinationRecord> {
    records.iter().find(|record| {
        let api = is_api_record(record);
        identity(&record.details, national_reporting, api) == identity(upload, national_reporting, api)
    })
}

/// An existing record after an upload has been staged onto it.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedRecord {
    pub record: VaccinationRecord,
    /// The pending changes differ from before: the row counts as changed (§5.5).
    pub gained_pending: bool,
    /// Anything differs from the stored record (a silently filled site or method counts, without being a change).
    pub modified: bool,
}

fn json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("record fields serialise")
}

/// Stages a matched record (§8.2, point of care): batch, expiry, un-archiving, notes, time, source and vaccine where
/// they differ; then site and method, which are staged only when something else is pending or both sides have a
/// value, and otherwise fill a missing value silently.
pub fn stage_matched(existing: &VaccinationRecord, upload: &VaccinationDetails) -> StagedRecord {
    let mut record = existing.clone();
    let current = &existing.details;
    let mut pending: BTreeMap<String, Value> = BTreeMap::new();
    let mut stage = |name: &str, differs: bool, value: Value| {
        if differs {
            pending.insert(name.to_string(), value);
        }
    };
    stage("batch_number", upload.batch_number != current.batch_number, json(&upload.batch_number));
    stage("batch_expiry", upload.batch_expiry != current.batch_expiry, json(&upload.batch_expiry));
    stage("discarded_at", existing.discarded_at.is_some(), Value::Null);
    stage("notes", upload.notes != current.notes, json(&upload.notes));
    stage("performed_at", upload.performed_at != current.performed_at, json(&upload.performed_at));
    stage("time_given", upload.time_given != current.time_given, json(&upload.time_given));
    stage("source", upload.source != current.source, json(&upload.source));
    stage("vaccine", upload.vaccine != current.vaccine, json(&upload.vaccine));
    record.pending_changes.extend(pending);

    let others_pending = !record.pending_changes.is_empty();
    if upload.delivery_site != current.delivery_site {
        if others_pending || (current.delivery_site.is_some() && upload.delivery_site.is_some()) {
            record.pending_changes.insert("delivery_site".into(), json(&upload.delivery_site));
        } else if current.delivery_site.is_none() {
            record.details.delivery_site = upload.delivery_site;
        }
    }
    if upload.delivery_method != current.delivery_method {
        if others_pending || (current.delivery_method.is_some() && upload.delivery_method.is_some()) {
            record.pending_changes.insert("delivery_method".into(), json(&upload.delivery_method));
        } else if current.delivery_method.is_none() {
            record.details.delivery_method = upload.delivery_method;
        }
    }
    finish(existing, record)
}

/// Stages a record named by the row's `UUID`: every attribute that differs, the patient included, goes to review.
pub fn stage_all(existing: &VaccinationRecord, upload: &VaccinationDetails, patient_id: Uuid) -> StagedRecord {
    let mut record = existing.clone();
    let mut upload = upload.clone();
    if is_api_record(existing) {
        // §6.1 item 5: a record from the Immunisations API keeps its source, and has no protocol and no location.
        upload.source = RecordSource::NhsImmunisationsApi;
        upload.protocol = None;
        upload.location = None;
    }
    let (Value::Object(current), Value::Object(uploaded)) = (json(&existing.details), json(&upload)) else {
        unreachable!("details serialise as objects")
    };
    for (name, value) in uploaded {
        if current.get(&name).unwrap_or(&Value::Null) != &value {
            record.pending_changes.insert(name, value);
        }
    }
    if patient_id != existing.patient_id {
        record.pending_changes.insert("patient_id".into(), json(&patient_id));
    }
    if existing.discarded_at.is_some() {
        record.pending_changes.insert("discarded_at".into(), Value::Null);
    }
    finish(existing, record)
}

fn finish(existing: &VaccinationRecord, record: VaccinationRecord) -> StagedRecord {
    StagedRecord {
        gained_pending: record.pending_changes != existing.pending_changes,
        modified: record != *existing,
        record,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn details() -> VaccinationDetails {
        VaccinationDetails {
            programme: Programme::Hpv,
            vaccine: Some("gardasil_9".into()),
            disease_types: vec!["human_papillomavirus".into()],
            outcome: VaccinationOutcome::Administered,
            performed_at: Utc.with_ymd_and_hms(2024, 5, 13, 23, 0, 0).single().expect("time"),
            time_given: false,
            batch_number: Some("123013325".into()),
            batch_expiry: NaiveDate::from_ymd_opt(2022, 7, 30),
            delivery_site: Some(DeliverySite::LeftThigh),
            delivery_method: Some(DeliveryMethod::Intramuscular),
            dose_sequence: Some(1),
            full_dose: true,
            performer: Performer::default(),
            supplier_email: None,
            performed_ods_code: Some("R1L".into()),
            notes: None,
            session_id: None,
            location: None,
            location_name: Some("Kirkstall Valley Primary".into()),
            source: RecordSource::HistoricalUpload,
            notify_parents: None,
            protocol: Some(Protocol::Pgd),
            local_patient_id: None,
            local_patient_id_uri: None,
        }
    }

    fn record(details: VaccinationDetails) -> VaccinationRecord {
        let at = Utc.with_ymd_and_hms(2025, 8, 1, 9, 0, 0).single().expect("time");
        VaccinationRecord {
            id: Uuid::from_u128(1),
            patient_id: Uuid::from_u128(2),
            team_id: "r1l".into(),
            details,
            pending_changes: BTreeMap::new(),
            discarded_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn when_only_batch_differs_should_be_the_same_point_of_care_record_but_not_national_reporting() {
        let stored = [record(details())];
        let mut upload = details();
        upload.batch_number = Some("ABC123".into());

        assert!(find_same(&stored, &upload, false).is_some());
        assert!(find_same(&stored, &upload, true).is_none());
    }

    #[test]
    fn when_date_differs_should_not_match_but_time_on_the_same_day_should() {
        let stored = [record(details())];
        let mut other_day = details();
        other_day.performed_at += chrono::Duration::days(1);
        let mut with_time = details();
        with_time.performed_at += chrono::Duration::hours(10);
        with_time.time_given = true;

        assert!(find_same(&stored, &other_day, false).is_none());
        assert!(find_same(&stored, &with_time, false).is_some());
        assert_eq!(with_time.performed_on(), NaiveDate::from_ymd_opt(2024, 5, 14).expect("date"));
    }

    #[test]
    fn when_record_came_from_the_api_should_ignore_location() {
        let mut api = details();
        api.source = RecordSource::NhsImmunisationsApi;
        api.location_name = Some("GP surgery".into());
        let stored = [record(api)];

        assert!(find_same(&stored, &details(), false).is_some());
        let ours = [record(details())];
        let mut elsewhere = details();
        elsewhere.location_name = Some("Unknown".into());
        assert!(find_same(&ours, &elsewhere, false).is_none());
    }

    #[test]
    fn when_upload_is_identical_should_be_exact_duplicate() {
        let staged = stage_matched(&record(details()), &details());

        assert!(!staged.gained_pending);
        assert!(!staged.modified);
    }

    #[test]
    fn when_batch_and_site_differ_should_stage_both() {
        let mut upload = details();
        upload.batch_number = Some("ABC123".into());
        upload.delivery_site = Some(DeliverySite::RightThigh);

        let staged = stage_matched(&record(details()), &upload);

        assert!(staged.gained_pending);
        assert_eq!(
            json(&staged.record.pending_changes),
            json!({ "batch_number": "ABC123", "delivery_site": "right_thigh" })
        );
        assert_eq!(staged.record.details, details(), "nothing applied");
    }

    #[test]
    fn when_only_a_missing_site_is_uploaded_should_fill_it_silently() {
        let mut stored = details();
        stored.delivery_site = None;
        stored.delivery_method = None;

        let staged = stage_matched(&record(stored), &details());

        assert!(!staged.gained_pending);
        assert!(staged.modified);
        assert_eq!(staged.record.details.delivery_site, Some(DeliverySite::LeftThigh));
        assert_eq!(staged.record.details.delivery_method, Some(DeliveryMethod::Intramuscular));
    }

    #[test]
    fn when_a_missing_site_comes_with_other_changes_should_stage_it() {
        let mut stored = details();
        stored.delivery_site = None;
        let mut upload = details();
        upload.notes = Some("second look".into());

        let staged = stage_matched(&record(stored), &upload);

        assert_eq!(
            json(&staged.record.pending_changes),
            json!({ "notes": "second look", "delivery_site": "left_thigh" })
        );
        assert_eq!(staged.record.details.delivery_site, None);
    }

    #[test]
    fn when_site_is_missing_from_the_upload_alone_should_keep_the_record() {
        let mut upload = details();
        upload.delivery_site = None;
        upload.delivery_method = None;

        let staged = stage_matched(&record(details()), &upload);

        assert!(!staged.modified);
    }

    #[test]
    fn when_matched_record_was_discarded_should_stage_un_archiving() {
        let mut stored = record(details());
        stored.discarded_at = Some(stored.created_at);

        let staged = stage_matched(&stored, &details());

        assert!(staged.gained_pending);
        assert_eq!(json(&staged.record.pending_changes), json!({ "discarded_at": null }));
    }

    #[test]
    fn when_the_same_changes_were_staged_before_should_not_count_as_changed() {
        let mut upload = details();
        upload.batch_number = Some("ABC123".into());
        let once = stage_matched(&record(details()), &upload).record;

        let twice = stage_matched(&once, &upload);

        assert!(!twice.gained_pending);
        assert!(!twice.modified);
    }

    #[test]
    fn when_uuid_row_differs_should_stage_every_differing_attribute() {
        let mut upload = details();
        upload.dose_sequence = Some(2);
        upload.delivery_site = None;

        let staged = stage_all(&record(details()), &upload, Uuid::from_u128(3));

        assert_eq!(
            json(&staged.record.pending_changes),
            json!({ "dose_sequence": 2, "delivery_site": null, "patient_id": Uuid::from_u128(3) })
        );
    }

    #[test]
    fn when_uuid_names_an_api_record_should_keep_its_source_and_no_protocol() {
        let mut api = details();
        api.source = RecordSource::NhsImmunisationsApi;
        api.protocol = None;

        let staged = stage_all(&record(api), &details(), Uuid::from_u128(2));

        assert!(!staged.modified, "{:?}", staged.record.pending_changes);
    }

    #[test]
    fn when_identities_are_equal_should_have_equal_fingerprints() {
        let a = details();
        let mut b = details();
        b.batch_number = None;

        assert_eq!(fingerprint(&identity(&a, false, false)), fingerprint(&identity(&b, false, false)));
        assert_ne!(fingerprint(&identity(&a, true, false)), fingerprint(&identity(&b, true, false)));
    }
}
