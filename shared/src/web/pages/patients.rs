//! P16, the child record, and P17, one vaccination record with "Synced with NHS England?" (pages.md §8): the
//! children of the user's team only (listed or archived there); any other child is the 404 page.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use uuid::Uuid;

use super::{Layout, PageError, PageResult, format, page};
use crate::domain::names::staff_facing;
use crate::domain::patient::{ChildAttributes, Patient};
use crate::domain::vaccination::{DeliveryMethod, DeliverySite, RecordSource, VaccinationOutcome, VaccinationRecord};
use crate::domain::{Programme, ReferenceData};
use crate::imms_sync::SyncState;
use crate::review::issues::child_view;
use crate::store;
use crate::web::AppState;
use crate::web::patients_api::vaccination_view;
use crate::web::session::SignedIn;

/// The child summary rows (P9's rows, pages.md §6).
pub struct ChildSummary {
    pub nhs_number: Option<String>,
    pub nhs_number_invalidated: bool,
    pub full_name: String,
    pub known_as: Option<String>,
    pub date_of_birth: Option<String>,
    pub date_of_death: Option<String>,
    pub gender: &'static str,
    /// None for a restricted child: no address row at all.
    pub address_lines: Option<Vec<String>>,
    pub school: String,
    pub year_group: Option<String>,
    pub archive_reason: Option<&'static str>,
    /// The rows to highlight (P9's uploaded record): `review::issues::changed_rows` names.
    pub highlighted: Vec<String>,
}

impl ChildSummary {
    pub fn of(reference: &ReferenceData, patient: &Patient, team_id: &str, today: NaiveDate) -> Self {
        Self::with_attributes(reference, patient, &patient.attributes, team_id, today)
    }

    /// The summary of `patient` as `attributes` describe it (P9 draws the uploaded values this way).
    pub fn with_attributes(
        reference: &ReferenceData,
        patient: &Patient,
        attributes: &ChildAttributes,
        team_id: &str,
        today: NaiveDate,
    ) -> Self {
        let view = child_view(reference, patient, attributes, today);
        let a = attributes;
        ChildSummary {
            nhs_number: view.nhs_number.as_deref().map(format::nhs_number),
            nhs_number_invalidated: view.nhs_number_invalidated,
            full_name: staff_facing(a.given_name.as_deref(), a.family_name.as_deref()),
            known_as: view.known_as,
            date_of_birth: view.date_of_birth.map(|d| format::date_of_birth(d, today)),
            date_of_death: view.date_of_death.map(format::date),
            gender: match view.gender.as_deref() {
                Some("female") => "Female",
                Some("male") => "Male",
                Some("not_specified") => "Not specified",
                _ => "Not known",
            },
            address_lines: view.address.map(|address| {
                [address.line_1, address.line_2, address.town, address.postcode].into_iter().flatten().collect()
            }),
            school: view.school,
            year_group: view.year_group.map(|g| {
                let name = crate::pipeline::class_list::year_group_name(g);
                match &view.registration {
                    Some(registration) => format!("{name}, {registration}"),
                    None => name,
                }
            }),
            archive_reason: patient.archived_in.get(team_id).map(|reason| archive_reason(reason)),
            highlighted: Vec::new(),
        }
    }

    /// Whether the row (`nhs_number`, `full_name`, `address`, …) is highlighted.
    pub fn marked(&self, row: &str) -> bool {
        self.highlighted.iter().any(|r| r == row)
    }
}

/// One row of a summary list, highlighted when `marked`.
pub struct SummaryLine {
    pub key: &'static str,
    pub value: String,
    pub marked: bool,
}

fn archive_reason(reason: &str) -> &'static str {
    match reason {
        "deceased" => "Deceased",
        "moved_out_of_area" => "Moved out of the area",
        "imported_in_error" => "Imported in error",
        "duplicate" => "Duplicate",
        _ => "Other",
    }
}

/// One row of the child's vaccinations.
struct VaccinationLine {
    href: String,
    date: String,
    location: String,
    programme: &'static str,
    source: &'static str,
    outcome: &'static str,
    outcome_colour: &'static str,
}

#[derive(Template)]
#[template(path = "patients/show.html")]
struct ChildPage {
    layout: Layout,
    heading: String,
    archived: bool,
    /// The notice status banners (pages.md §8.4).
    banners: Vec<String>,
    child: ChildSummary,
    vaccinations: Vec<VaccinationLine>,
}

/// The team's child (`review::team_child`) with the notice banners of its record, or the 404 page.
async fn team_child(state: &AppState, signed: &SignedIn, id: &str) -> Result<(Patient, Vec<String>), PageError> {
    let id = Uuid::parse_str(id).map_err(|_| PageError::NotFound)?;
    let team = &signed.user.team_id;
    let child =
        crate::review::team_child::team_child(state.records.as_ref(), team, id).await?.ok_or(PageError::NotFound)?;
    let banners = child.banners(team);
    Ok((child.patient, banners))
}

pub async fn show(State(state): State<AppState>, signed: SignedIn, Path(id): Path<String>) -> PageResult {
    let (patient, banners) = team_child(&state, &signed, &id).await?;
    let team_id = &signed.user.team_id;
    let child = ChildSummary::of(&state.reference, &patient, team_id, state.settings.today());
    // The page title is the child's initials, to keep names out of browser history and tabs (Mavis).
    let initials: String = [patient.attributes.given_name.as_deref(), patient.attributes.family_name.as_deref()]
        .iter()
        .flatten()
        .filter_map(|n| n.chars().next())
        .collect();
    let layout = Layout::signed_in(&state, &signed, &initials, "/imports").await?;
    let records = store::vaccinations::of_patient(state.records.as_ref(), patient.id).await?;
    let vaccinations = records
        .iter()
        .filter(|r| r.discarded_at.is_none())
        .map(|r| VaccinationLine {
            href: format!("/patients/{}/vaccinations/{}", patient.id, r.id),
            date: format::date(crate::clock::london_date(r.details.performed_at)),
            location: location(&state.reference, r),
            programme: programme_label(r.details.programme),
            source: source_label(r.details.source),
            outcome: outcome_label(r.details.outcome),
            outcome_colour: outcome_colour(r.details.outcome),
        })
        .collect();
    let heading = child.full_name.clone();
    let archived = child.archive_reason.is_some();
    Ok(page(StatusCode::OK, &ChildPage { layout, heading, archived, banners, child, vaccinations }))
}

#[derive(Template)]
#[template(path = "patients/vaccination.html")]
struct VaccinationPage {
    layout: Layout,
    crumbs: Vec<(String, String)>,
    heading: String,
    archived: bool,
    banners: Vec<String>,
    child: ChildSummary,
    rows: Vec<SummaryLine>,
    /// "Synced with NHS England?": the tag, its colour and the lines under it; None for records never sent.
    sync: Option<(&'static str, &'static str, Vec<String>)>,
}

pub async fn vaccination(
    State(state): State<AppState>,
    signed: SignedIn,
    Path((id, record_id)): Path<(String, String)>,
) -> PageResult {
    let (patient, banners) = team_child(&state, &signed, &id).await?;
    let record_id = Uuid::parse_str(&record_id).map_err(|_| PageError::NotFound)?;
    let store = state.records.as_ref();
    let record = store::vaccinations::get(store, record_id)
        .await?
        .map(|r| r.value)
        .filter(|r| r.patient_id == patient.id && r.discarded_at.is_none())
        .ok_or(PageError::NotFound)?;
    let child = ChildSummary::of(&state.reference, &patient, &signed.user.team_id, state.settings.today());
    let layout = Layout::signed_in(&state, &signed, "Vaccination record", "/imports").await?;
    let view = vaccination_view(store, &record, Some(&patient), state.settings.now()).await?;
    let sync = view.sync.map(|sync| {
        let last = |at: Option<chrono::DateTime<chrono::Utc>>| {
            format!("Last synced: {}", at.map(format::date_time).unwrap_or_else(|| "Never".into()))
        };
        match sync.status {
            SyncState::Synced => ("Synced", "green", vec![last(sync.last_synced_at)]),
            SyncState::Pending => ("Sync pending", "blue", vec![last(sync.last_synced_at)]),
            SyncState::NotSynced => ("Not synced", "grey", sync.reason.map(str::to_string).into_iter().collect()),
            SyncState::Failed => (
                "Sync failed",
                "red",
                vec!["The Mavis team is aware of the issue and is working to resolve it".to_string()],
            ),
        }
    });
    let heading = child.full_name.clone();
    let archived = child.archive_reason.is_some();
    let rows = vaccination_rows(&state.reference, &record, &child.full_name);
    let crumbs =
        vec![("Home".to_string(), "/dashboard".to_string()), (heading.clone(), format!("/patients/{}", patient.id))];
    Ok(page(StatusCode::OK, &VaccinationPage { layout, crumbs, heading, archived, banners, child, rows, sync }))
}

/// P10's vaccination summary rows that have a value, in order.
pub fn vaccination_rows(reference: &ReferenceData, record: &VaccinationRecord, child: &str) -> Vec<SummaryLine> {
    let d = &record.details;
    let london = d.performed_at.with_timezone(&chrono_tz::Europe::London);
    let rows: Vec<(&'static str, Option<String>)> = vec![
        ("Child", Some(child.to_string())),
        ("Outcome", Some(outcome_label(d.outcome).to_string())),
        ("Programme", Some(programme_label(d.programme).to_string())),
        ("Vaccine", d.vaccine.clone()),
        ("Batch number", d.batch_number.clone()),
        ("Batch expiry date", d.batch_expiry.map(format::date)),
        ("Method", d.delivery_method.map(|m| method_label(m).to_string())),
        ("Site", d.delivery_site.map(|s| site_label(s).to_string())),
        ("Dose number", d.dose_sequence.map(|n| n.to_string())),
        ("Location", Some(location(reference, record))),
        ("Date", Some(format::date(london.date_naive()))),
        ("Time", d.time_given.then(|| london.format("%-l:%M%P").to_string())),
        ("Vaccinator", Some(staff_facing(d.performer.given_name.as_deref(), d.performer.family_name.as_deref()))),
        ("Protocol", d.protocol.map(|p| protocol_label(p).to_string())),
        ("Notes", d.notes.clone()),
        ("Source", Some(source_label(d.source).to_string())),
    ];
    rows.into_iter()
        .filter_map(|(key, value)| Some(SummaryLine { key, value: value.filter(|v| !v.is_empty())?, marked: false }))
        .collect()
}

/// The summary rows that show a changed field of a vaccination record (the keys of its pending changes).
pub fn changed_vaccination_rows(fields: &[String]) -> Vec<&'static str> {
    let mut rows: Vec<&'static str> = fields
        .iter()
        .flat_map(|field| -> &'static [&'static str] {
            match field.as_str() {
                "patient_id" => &["Child"],
                "outcome" => &["Outcome"],
                "programme" => &["Programme"],
                "vaccine" => &["Vaccine"],
                "batch_number" => &["Batch number"],
                "batch_expiry" => &["Batch expiry date"],
                "delivery_method" => &["Method"],
                "delivery_site" => &["Site"],
                "dose_sequence" => &["Dose number"],
                "location" | "location_name" => &["Location"],
                "performed_at" | "time_given" => &["Date", "Time"],
                "performer" => &["Vaccinator"],
                "protocol" => &["Protocol"],
                "notes" => &["Notes"],
                "source" => &["Source"],
                _ => &[],
            }
        })
        .copied()
        .collect();
    rows.dedup();
    rows
}

fn protocol_label(protocol: crate::domain::vaccination::Protocol) -> &'static str {
    use crate::domain::vaccination::Protocol;
    match protocol {
        Protocol::Pgd => "Patient Group Direction (PGD)",
        Protocol::Psd => "Patient Specific Direction (PSD)",
        Protocol::National => "National protocol",
    }
}

fn location(reference: &ReferenceData, record: &VaccinationRecord) -> String {
    let d = &record.details;
    d.location
        .as_deref()
        .and_then(|l| reference.school(l).map(|s| s.name.clone()))
        .or_else(|| d.location_name.clone())
        .unwrap_or_else(|| "Unknown".into())
}

pub fn outcome_label(outcome: VaccinationOutcome) -> &'static str {
    match outcome {
        VaccinationOutcome::Administered => "Vaccinated",
        VaccinationOutcome::Refused => "Refused vaccine",
        VaccinationOutcome::Unwell => "Unwell",
        VaccinationOutcome::Contraindicated => "Had contraindications",
        VaccinationOutcome::AlreadyHad => "Already had the vaccine",
    }
}

fn outcome_colour(outcome: VaccinationOutcome) -> &'static str {
    match outcome {
        VaccinationOutcome::Administered | VaccinationOutcome::AlreadyHad => "green",
        _ => "red",
    }
}

pub fn programme_label(programme: Programme) -> &'static str {
    match programme {
        Programme::Flu => "Flu",
        Programme::Hpv => "HPV",
        Programme::Menacwy => "MenACWY",
        Programme::Mmr => "MMR",
        Programme::TdIpv => "Td/IPV",
    }
}

pub fn source_label(source: RecordSource) -> &'static str {
    match source {
        RecordSource::Service => "Recorded in Mavis",
        RecordSource::HistoricalUpload => "Uploaded as a historical vaccination",
        RecordSource::NhsImmunisationsApi => "External source such as GP practice",
        RecordSource::NationalReporting => "Mavis national reporting upload",
    }
}

fn method_label(method: DeliveryMethod) -> &'static str {
    match method {
        DeliveryMethod::Intramuscular => "Intramuscular (IM) injection",
        DeliveryMethod::NasalSpray => "Nasal spray",
    }
}

fn site_label(site: DeliverySite) -> &'static str {
    match site {
        DeliverySite::LeftThigh => "Left thigh",
        DeliverySite::RightThigh => "Right thigh",
        DeliverySite::LeftArmUpperPosition => "Left arm (upper position)",
        DeliverySite::LeftArmLowerPosition => "Left arm (lower position)",
        DeliverySite::RightArmUpperPosition => "Right arm (upper position)",
        DeliverySite::RightArmLowerPosition => "Right arm (lower position)",
        DeliverySite::LeftButtock => "Left buttock",
        DeliverySite::RightButtock => "Right buttock",
        DeliverySite::Nose => "Nose",
    }
}
