//! The single-table key design. Partition keys name the owner (`IMPORT#…`, `PATIENT#…`), sort keys the kind and
//! order of what is stored under it. Index keys serve the access patterns listed in DESIGN.md.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::ports::ItemKey;

pub const IMPORT_SK: &str = "#IMPORT";
pub const PATIENT_SK: &str = "#PATIENT";
pub const PARENT_SK: &str = "#PARENT";

pub fn import(id: Uuid) -> ItemKey {
    ItemKey::new(format!("IMPORT#{id}"), IMPORT_SK)
}

/// gsi1: a team's imports, newest first when queried descending.
pub fn imports_of_team(team_id: &str, created_at: DateTime<Utc>, id: Uuid) -> ItemKey {
    ItemKey::new(imports_of_team_pk(team_id), format!("{}#{id}", created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ")))
}

pub fn imports_of_team_pk(team_id: &str) -> String {
    format!("TEAM#{team_id}#IMPORTS")
}

/// How far an import's processing has got: written apart from the import, so that reporting progress never
/// races the pipeline's versioned updates of the import itself.
pub fn import_progress(import_id: Uuid) -> ItemKey {
    ItemKey::new(format!("IMPORT#{import_id}"), "#PROGRESS")
}

/// One staged row of an import, by 0-based data index: rows of an import in order.
pub fn changeset(import_id: Uuid, index: u64) -> ItemKey {
    ItemKey::new(format!("IMPORT#{import_id}"), format!("ROW#{index:010}"))
}

pub const CHANGESET_PREFIX: &str = "ROW#";

/// Links an import to a patient it created or updated.
pub fn import_patient(import_id: Uuid, patient_id: Uuid) -> ItemKey {
    ItemKey::new(format!("IMPORT#{import_id}"), format!("PATIENT#{patient_id}"))
}

pub const IMPORT_PATIENT_PREFIX: &str = "PATIENT#";

pub fn patient(id: Uuid) -> ItemKey {
    ItemKey::new(format!("PATIENT#{id}"), PATIENT_SK)
}

/// gsi1: patient by NHS number.
pub fn patient_by_nhs_number(nhs_number: &str, id: Uuid) -> ItemKey {
    ItemKey::new(nhs_number_pk(nhs_number), format!("PATIENT#{id}"))
}

pub fn nhs_number_pk(nhs_number: &str) -> String {
    format!("NHS#{nhs_number}")
}

/// gsi2: match candidates by date of birth.
pub fn patient_by_date_of_birth(date_of_birth: NaiveDate, id: Uuid) -> ItemKey {
    ItemKey::new(date_of_birth_pk(date_of_birth), format!("PATIENT#{id}"))
}

pub fn date_of_birth_pk(date_of_birth: NaiveDate) -> String {
    format!("DOB#{date_of_birth}")
}

/// gsi3: match candidates by postcode.
pub fn patient_by_postcode(postcode: &str, id: Uuid) -> ItemKey {
    ItemKey::new(postcode_pk(postcode), format!("PATIENT#{id}"))
}

pub fn postcode_pk(postcode: &str) -> String {
    format!("POSTCODE#{}", postcode.to_ascii_uppercase())
}

/// gsi5 partition of the patients a scheduled PDS refresh may pick (mavis-import.md §11.4).
pub const PDS_REFRESH_PK: &str = "PDSREFRESH";

/// gsi5: a patient with an NHS number who is not deceased, by last PDS refresh, never refreshed first ("0" sorts
/// before any time; the times have a fixed width, so text order is time order).
pub fn patient_by_pds_refresh(updated_from_pds_at: Option<chrono::DateTime<chrono::Utc>>, id: Uuid) -> ItemKey {
    let at = updated_from_pds_at.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    ItemKey::new(PDS_REFRESH_PK, format!("{}#PATIENT#{id}", at.as_deref().unwrap_or("0")))
}

/// gsi4: patients by school and birth academic year.
pub fn patient_by_school(school_urn: &str, birth_academic_year: i32, id: Uuid) -> ItemKey {
    ItemKey::new(school_pk(school_urn), format!("BAY#{birth_academic_year}#PATIENT#{id}"))
}

pub fn school_pk(school_urn: &str) -> String {
    format!("SCHOOL#{school_urn}")
}

pub fn parent(id: Uuid) -> ItemKey {
    ItemKey::new(format!("PARENT#{id}"), PARENT_SK)
}

/// gsi1: parent by email (emails are stored lower-cased).
pub fn parent_by_email(email: &str, id: Uuid) -> ItemKey {
    ItemKey::new(parent_email_pk(email), format!("PARENT#{id}"))
}

pub fn parent_email_pk(email: &str) -> String {
    format!("PARENTEMAIL#{email}")
}

/// A patient's relationship to one parent, stored under the patient.
pub fn parent_relationship(patient_id: Uuid, parent_id: Uuid) -> ItemKey {
    ItemKey::new(format!("PATIENT#{patient_id}"), format!("PARENT#{parent_id}"))
}

pub const PARENT_RELATIONSHIP_PREFIX: &str = "PARENT#";

/// A patient's location (school or clinic) for an academic year.
pub fn patient_location(patient_id: Uuid, academic_year: i32, location: &str) -> ItemKey {
    ItemKey::new(format!("PATIENT#{patient_id}"), format!("LOCATION#{academic_year}#{location}"))
}

pub const PATIENT_LOCATION_PREFIX: &str = "LOCATION#";

/// A school-move log entry under the patient, in time order.
pub fn school_move_log(patient_id: Uuid, at: DateTime<Utc>) -> ItemKey {
    ItemKey::new(format!("PATIENT#{patient_id}"), format!("SCHOOLMOVELOG#{}", at.format("%Y-%m-%dT%H:%M:%S%.6fZ")))
}

/// The claim that makes processing of one uploaded object happen once.
pub fn object_claim(bucket: &str, key: &str) -> ItemKey {
    ItemKey::new(format!("OBJECT#{bucket}/{key}"), "#CLAIM")
}

pub const REFERENCE_PK: &str = "REFERENCE";

/// A patient's pending school move (at most one per patient).
pub fn school_move(patient_id: Uuid) -> ItemKey {
    ItemKey::new(format!("PATIENT#{patient_id}"), "#SCHOOLMOVE")
}

/// gsi1: the pending school moves a team sees.
pub fn school_moves_of_team(team_id: &str, updated_at: DateTime<Utc>, patient_id: Uuid) -> ItemKey {
    ItemKey::new(
        format!("TEAM#{team_id}#SCHOOLMOVES"),
        format!("{}#{patient_id}", updated_at.format("%Y-%m-%dT%H:%M:%S%.6fZ")),
    )
}

// Vaccination records (vaccination-record imports). A record lives under its own partition; a link under the patient
// lists a patient's records with strongly consistent reads (matching needs them), and gsi1 lists them too.
// gsi2–gsi4 of a record item are left free: "records awaiting sync" (Immunisations API) will take one of them.

pub const VACCINATION_SK: &str = "#VACCINATION";

pub fn vaccination(id: Uuid) -> ItemKey {
    ItemKey::new(format!("VACCINATION#{id}"), VACCINATION_SK)
}

/// gsi1: a patient's vaccination records.
pub fn vaccination_by_patient(patient_id: Uuid, id: Uuid) -> ItemKey {
    ItemKey::new(vaccinations_of_patient_pk(patient_id), format!("VACCINATION#{id}"))
}

pub fn vaccinations_of_patient_pk(patient_id: Uuid) -> String {
    format!("PATIENT#{patient_id}#VACCINATIONS")
}

/// A patient's vaccination record, listed under the patient.
pub fn patient_vaccination(patient_id: Uuid, record_id: Uuid) -> ItemKey {
    ItemKey::new(format!("PATIENT#{patient_id}"), format!("VACCINATION#{record_id}"))
}

pub const PATIENT_VACCINATION_PREFIX: &str = "VACCINATION#";

/// One staged row of a vaccination-records import, by 0-based data index: rows of an import in order.
pub fn vaccination_row(import_id: Uuid, index: u64) -> ItemKey {
    ItemKey::new(format!("IMPORT#{import_id}"), format!("VROW#{index:010}"))
}

pub const VACCINATION_ROW_PREFIX: &str = "VROW#";

/// Links an import to a vaccination record it created or matched.
pub fn import_vaccination(import_id: Uuid, record_id: Uuid) -> ItemKey {
    ItemKey::new(format!("IMPORT#{import_id}"), format!("VACCINATION#{record_id}"))
}

pub const IMPORT_VACCINATION_PREFIX: &str = "VACCINATION#";

// Important notices (spec §10). A notice lives under its patient, so that the generator reads a patient's notices with
// strongly consistent reads; gsi1 lists a team's ACTIVE notices (the key is dropped on dismissal) and gsi2 finds a
// notice by id for the dismiss route.

pub const NOTICE_PREFIX: &str = "NOTICE#";

/// A notice under its patient: one per (team, kind, recorded_at), the unique key of §10.
pub fn notice(patient_id: Uuid, team_id: &str, kind: &str, recorded_at: DateTime<Utc>) -> ItemKey {
    ItemKey::new(
        format!("PATIENT#{patient_id}"),
        format!("NOTICE#{team_id}#{kind}#{}", recorded_at.format("%Y-%m-%dT%H:%M:%S%.6fZ")),
    )
}

/// gsi1: a team's active notices, newest first when queried descending.
pub fn active_notice_of_team(team_id: &str, recorded_at: DateTime<Utc>, id: Uuid) -> ItemKey {
    ItemKey::new(active_notices_of_team_pk(team_id), format!("{}#{id}", recorded_at.format("%Y-%m-%dT%H:%M:%S%.6fZ")))
}

pub fn active_notices_of_team_pk(team_id: &str) -> String {
    format!("TEAM#{team_id}#NOTICES")
}

/// gsi2: a notice by its id.
pub fn notice_by_id(id: Uuid) -> ItemKey {
    ItemKey::new(format!("NOTICE#{id}"), "#NOTICE")
}

/// Left under a patient merged into another by a PDS refresh (the patient item itself is deleted), so that links
/// still naming the old id (an import's "imported records") can be followed to the kept patient.
pub fn merged_patient(id: Uuid) -> ItemKey {
    ItemKey::new(format!("PATIENT#{id}"), "#MERGEDINTO")
}

/// The NHS-number reservation item (see `patients::reserve_nhs_number_op`).
pub fn nhs_number_reservation(nhs_number: &str) -> ItemKey {
    ItemKey::new(nhs_number_pk(nhs_number), "#UNIQUE")
}

// Import issues (spec §7.3): one marker per patient or vaccination record with pending changes, written in the same
// transaction as the pending changes. gsi1 lists a team's OPEN issues (the key is dropped when resolved); the marker
// itself stays, resolved, so that a second decision on it is answered with a conflict rather than "not found".

/// The issue marker of one patient or vaccination record (ids are UUIDs, so one namespace serves both).
pub fn issue(subject_id: Uuid) -> ItemKey {
    ItemKey::new(format!("ISSUE#{subject_id}"), "#ISSUE")
}

/// gsi1: a team's open import issues, oldest first.
pub fn open_issue_of_team(team_id: &str, created_at: DateTime<Utc>, subject_id: Uuid) -> ItemKey {
    ItemKey::new(
        open_issues_of_team_pk(team_id),
        format!("{}#{subject_id}", created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ")),
    )
}

pub fn open_issues_of_team_pk(team_id: &str) -> String {
    format!("TEAM#{team_id}#ISSUES")
}

/// gsi1 of a school-move log entry: a team's confirmed moves, by time (the school-moves export).
pub fn school_move_log_of_team(team_id: &str, at: DateTime<Utc>, patient_id: Uuid) -> ItemKey {
    ItemKey::new(school_move_log_of_team_pk(team_id), format!("{}#{patient_id}", at.format("%Y-%m-%dT%H:%M:%S%.6fZ")))
}

pub fn school_move_log_of_team_pk(team_id: &str) -> String {
    format!("TEAM#{team_id}#SCHOOLMOVELOG")
}

/// What was decided on a patient's last reviewed school move, so that a second decision is a conflict, not a 404.
pub fn school_move_decision(patient_id: Uuid) -> ItemKey {
    ItemKey::new(format!("PATIENT#{patient_id}"), "#SCHOOLMOVEDECISION")
}

// NHS Immunisations API sync (nhs-apis.md §6, §7). A record's API link and its "needs sync" marker live under the
// record; the marker carries a gsi1 key in one partition, oldest first, so a sweep finds markers left unprocessed.
// A patient's history-search marker works the same way, ordered by when the search is due.

/// A record's link to the API: id, version, last sync.
pub fn imms_link(record_id: Uuid) -> ItemKey {
    ItemKey::new(format!("VACCINATION#{record_id}"), "#IMMS")
}

/// A record's "needs sync" marker, written in the same transaction as the change that needs it.
pub fn imms_pending(record_id: Uuid) -> ItemKey {
    ItemKey::new(format!("VACCINATION#{record_id}"), "#IMMSPENDING")
}

pub const IMMS_PENDING_PK: &str = "IMMS#PENDING";

/// gsi1: markers by the time they were set.
pub fn imms_pending_by_time(pending_at: DateTime<Utc>, record_id: Uuid) -> ItemKey {
    ItemKey::new(IMMS_PENDING_PK, format!("{}#{record_id}", pending_at.format("%Y-%m-%dT%H:%M:%S%.6fZ")))
}

/// A patient's history search: when it last ran and whether one is due.
pub fn imms_search(patient_id: Uuid) -> ItemKey {
    ItemKey::new(format!("PATIENT#{patient_id}"), "#IMMSSEARCH")
}

pub const IMMS_SEARCH_PK: &str = "IMMS#SEARCH";

/// gsi1: patients by when their next search is due (`due` sorts as text; "0" first for searches asked for now).
pub fn imms_search_by_due(due: &str, patient_id: Uuid) -> ItemKey {
    ItemKey::new(IMMS_SEARCH_PK, format!("{due}#{patient_id}"))
}

/// The subject a user's email address (case-folded) is bound to at one token issuer.
pub fn identity(issuer: &str, email: &str) -> ItemKey {
    ItemKey::new(format!("IDENTITY#{}", email.to_lowercase()), format!("SUBJECT#{issuer}"))
}

/// A signed-in browser's session, by the SHA-256 of its cookie value (the store never holds a usable cookie).
pub fn session(id_hash: &str) -> ItemKey {
    ItemKey::new(format!("SESSION#{id_hash}"), "#SESSION")
}

/// A sign-in under way (OpenID Connect `state`, `nonce`, PKCE verifier), by the SHA-256 of its `state`.
pub fn sign_in_attempt(state_hash: &str) -> ItemKey {
    ItemKey::new(format!("SIGNIN#{state_hash}"), "#SIGNIN")
}
