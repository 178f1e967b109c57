//! Applying planned rows: each row's patient, parents, relationships, school move and its "committed" mark are
//! written in one transaction, so a row is applied exactly once however often the import is resumed.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt, stream};
use uuid::Uuid;

use super::school_moves::{self, MoveAction, MoveContext};
use super::staging::{self, ParentPlan, RowCount, StagingKind};
use super::{Pipeline, PipelineError, plan};
use crate::domain::import::{ImportPhase, ImportProgress};
use crate::domain::patient::{SchoolMove, SchoolMoveSource, SchoolPlacement};
use crate::domain::{Import, ImportCounts, ImportKind, Parent, ParentRelationship, Patient, Team};
use crate::ports::{Item, StoreError, WriteOp};
use crate::store::changesets::{self, Changeset, ChangesetStatus, PlannedMatch, RowOutcome};
use crate::store::imports::Versioned;
use crate::store::{issues, notices, patients};

const PAGE: usize = 200;
/// A row whose transaction keeps conflicting with other writers is re-planned this many times before giving up.
const MAX_ATTEMPTS: usize = 4;

const PARENT_NAMESPACE: Uuid = Uuid::from_u128(0x6d61_7669_735f_7061_7265_6e74_7300_0001);

/// What applying an import did.
pub struct Applied {
    pub counts: ImportCounts,
    /// The schools of its rows (child records), for the aged-out check that follows.
    pub schools: std::collections::BTreeSet<String>,
}

pub async fn apply_import(pipeline: &Pipeline, import: &Import, team: &Team) -> Result<Applied, PipelineError> {
    let store = pipeline.records.as_ref();
    let mut counts = ImportCounts::default();
    let mut schools = std::collections::BTreeSet::new();
    let (mut done, total) = (0, import.row_count.unwrap_or_default());
    let mut after = None;
    loop {
        let (page, next) = changesets::page(store, import.id, PAGE, after).await?;
        done += page.len() as u64;
        schools.extend(page.iter().filter_map(|changeset| match &changeset.value.school {
            Some(SchoolPlacement::School { urn }) => Some(urn.clone()),
            _ => None,
        }));
        for outcome in apply_page(pipeline, import, team, page).await?.into_iter().flatten() {
            match outcome {
                RowOutcome::New => counts.new += 1,
                RowOutcome::Changed => counts.changed += 1,
                RowOutcome::ExactDuplicate => counts.exact_duplicate += 1,
                RowOutcome::SkippedSchoolMove => {}
            }
        }
        let progress = ImportProgress::new(ImportPhase::Importing, done, total);
        crate::store::imports::set_progress(store, import.id, progress).await?;
        match next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(Applied { counts, schools }),
        }
    }
}

/// Applies a page of rows in waves: the rows of a wave are built against the same state and written together
/// (`transact_each`, one transaction each). A row that shares a parent's email address or a patient with an earlier
/// row waits for the next wave, and so does a row whose writes touch an item an earlier row of its wave writes (a
/// parent found by phone or name), so that it is built again on what that row wrote.
async fn apply_page(
    pipeline: &Pipeline,
    import: &Import,
    team: &Team,
    page: Vec<Versioned<Changeset>>,
) -> Result<Vec<Option<RowOutcome>>, PipelineError> {
    let mut outcomes = vec![None; page.len()];
    let mut waiting: Vec<PagedRow> = page.into_iter().enumerate().collect();
    while !waiting.is_empty() {
        let (wave, later) = next_wave(waiting);
        waiting = later;
        let found = &prefetch(pipeline, wave.iter().map(|(_, changeset)| &changeset.value)).await?;
        let built: Vec<BuiltRow> = stream::iter(wave)
            .map(|row| build_pending(pipeline, import, team, found, row))
            .buffered(pipeline.settings.commit_concurrency)
            .try_collect()
            .await?;
        let (built, mut overlapping) = without_overlaps(built);
        let (written, transactions): (Vec<_>, Vec<_>) = built
            .into_iter()
            .filter_map(|(position, changeset, row)| match row {
                Some((ops, outcome)) => Some(((position, changeset, outcome), ops)),
                None => {
                    outcomes[position] = changeset.value.outcome;
                    None
                }
            })
            .unzip();
        if !overlapping.is_empty() {
            overlapping.append(&mut waiting);
            overlapping.sort_by_key(|(position, _)| *position);
            waiting = overlapping;
        }
        let answers = pipeline.records.transact_each(transactions).await?;
        for ((position, changeset, outcome), answer) in written.into_iter().zip(answers) {
            outcomes[position] = match answer {
                Ok(()) => Some(outcome),
                // Someone else changed the patient (or created one with this NHS number): match again.
                Err(StoreError::Conflict(_)) => retry_row(pipeline, import, team, changeset.value.index).await?,
                Err(e) => return Err(e.into()),
            };
        }
    }
    Ok(outcomes)
}

type PagedRow = (usize, Versioned<Changeset>);

/// The built rows of a wave that write no item an earlier one of them writes, and the others, to be built again.
fn without_overlaps(built: Vec<BuiltRow>) -> (Vec<BuiltRow>, Vec<PagedRow>) {
    let mut keys_written = std::collections::HashSet::new();
    let (mut kept, mut overlapping) = (Vec::new(), Vec::new());
    for (position, changeset, row) in built {
        match row {
            Some((ops, _)) if ops.iter().any(|op| keys_written.contains(op_key(op))) => {
                overlapping.push((position, changeset));
            }
            row => {
                keys_written.extend(row.iter().flat_map(|(ops, _)| ops.iter().map(op_key).cloned()));
                kept.push((position, changeset, row));
            }
        }
    }
    (kept, overlapping)
}

/// A row of a page with its transaction and how it counts; None when it was applied before.
type BuiltRow = (usize, Versioned<Changeset>, Option<(Vec<WriteOp>, RowOutcome)>);

async fn build_pending(
    pipeline: &Pipeline,
    import: &Import,
    team: &Team,
    found: &Prefetched,
    (position, changeset): PagedRow,
) -> Result<BuiltRow, PipelineError> {
    if changeset.value.status != ChangesetStatus::Pending {
        return Ok((position, changeset, None));
    }
    let row = build_row(pipeline, import, team, found, &changeset).await?;
    Ok((position, changeset, Some(row)))
}

/// The rows that share nothing with an earlier row of `rows`, and the rest, both in file order.
fn next_wave(rows: Vec<PagedRow>) -> (Vec<PagedRow>, Vec<PagedRow>) {
    let mut seen = std::collections::HashSet::new();
    let (mut wave, mut later) = (Vec::new(), Vec::new());
    for row in rows {
        let mut first = true;
        for mark in shared_marks(&row.1.value) {
            first &= seen.insert(mark);
        }
        if first { wave.push(row) } else { later.push(row) }
    }
    (wave, later)
}

/// What a row may share with another row of its import: the email addresses of its parents and the patient it
/// was matched to (each once: a row never waits for itself).
fn shared_marks(row: &Changeset) -> std::collections::BTreeSet<String> {
    let emails = row.parents.iter().filter_map(|p| p.email.clone());
    let patient = match row.planned {
        Some(PlannedMatch::Existing { patient_id, .. }) => Some(patient_id.to_string()),
        _ => row.patient_id.map(|id| id.to_string()),
    };
    emails.chain(patient).collect()
}

/// A row whose transaction conflicted, read again, matched again and applied on its own.
async fn retry_row(
    pipeline: &Pipeline,
    import: &Import,
    team: &Team,
    index: u64,
) -> Result<Option<RowOutcome>, PipelineError> {
    let store = pipeline.records.as_ref();
    let mut attempts = 1;
    loop {
        let key = crate::store::keys::changeset(import.id, index);
        let item = store.get(&key).await?.ok_or_else(|| PipelineError::Broken("staged row vanished".into()))?;
        let mut changeset: Versioned<Changeset> =
            Versioned { value: crate::store::decode(&item)?, version: item.version };
        if changeset.value.status != ChangesetStatus::Pending {
            return Ok(changeset.value.outcome);
        }
        if attempts == MAX_ATTEMPTS {
            let row = changeset.value.row_number;
            return Err(PipelineError::Contended(format!("row {row} kept conflicting with other writers")));
        }
        attempts += 1;
        changeset.value.planned = plan::match_row(pipeline, team, &changeset.value).await?.ok();
        let found = prefetch(pipeline, [&changeset.value]).await?;
        let (ops, outcome) = build_row(pipeline, import, team, &found, &changeset).await?;
        match store.transact(ops).await {
            Ok(()) => return Ok(Some(outcome)),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The transaction for one row, and how the row counts.
async fn build_row(
    pipeline: &Pipeline,
    import: &Import,
    team: &Team,
    found: &Prefetched,
    changeset: &Versioned<Changeset>,
) -> Result<(Vec<WriteOp>, RowOutcome), PipelineError> {
    let store = pipeline.records.as_ref();
    let row = &changeset.value;
    let now = pipeline.now();
    let kind = match import.kind {
        ImportKind::ClassList => StagingKind::ClassList,
        _ => StagingKind::ChildRecords,
    };
    let destination = match (&row.school, &import.school_urn) {
        (Some(placement), _) => placement.clone(),
        (None, Some(urn)) => SchoolPlacement::School { urn: urn.clone() },
        (None, None) => SchoolPlacement::Unknown,
    };
    let source = match import.kind {
        ImportKind::ClassList => SchoolMoveSource::ClassListImport,
        _ => SchoolMoveSource::CohortImport,
    };
    let move_ctx = MoveContext {
        reference: &pipeline.reference,
        team_id: &team.id,
        academic_year: import.academic_year.0,
        source,
        today: import.today,
        now,
    };

    let planned = row.planned.unwrap_or(PlannedMatch::New { patient_id: plan::new_patient_id(import.id, row.index) });
    let mut ops = Vec::new();
    let mut done = row.clone();
    let mut pending_move = None;
    let (mut patient, current, is_new, patient_changed, on_nhs_number) = match planned {
        PlannedMatch::New { patient_id } => {
            let patient = staging::new_patient(patient_id, &row.child, destination.clone(), now);
            (patient, None, true, true, false)
        }
        PlannedMatch::Existing { patient_id, on_nhs_number } => {
            let current = found
                .patients
                .get(&patient_id)
                .ok_or_else(|| PipelineError::Broken(format!("matched patient for row {} vanished", row.row_number)))?;
            if row.school.is_some() && school_moves::is_skipped_move(&current.value, &destination, &team.id) {
                done.status = ChangesetStatus::Skipped;
                done.patient_id = Some(patient_id);
                done.outcome = Some(RowOutcome::SkippedSchoolMove);
                return Ok((vec![changesets::update_op(&done, changeset.version)], RowOutcome::SkippedSchoolMove));
            }
            pending_move = found.school_moves.get(&patient_id).cloned();
            let mut staged = staging::stage_existing(&current.value, &row.child, kind);
            staged.patient.updated_at = now;
            (staged.patient, Some(current), false, staged.changed, on_nhs_number)
        }
    };

    let school_before = patient.school.clone();
    let move_action = school_moves::decide(&move_ctx, &mut patient, is_new, destination, pending_move.as_ref());
    let school_changed = !is_new && patient.school != school_before;
    match &move_action {
        MoveAction::None => {}
        MoveAction::Confirm(confirmed) => {
            ops.push(put(patients::location_item(&confirmed.location)));
            ops.push(put(patients::school_move_log_item(&confirmed.log_entry)));
            if !is_new {
                // §10: back in a team the child had left, that team's team_changed notice is dismissed.
                let back_in = &confirmed.location.team_id;
                ops.extend(notices::dismiss_team_changed_ops(store, patient.id, back_in, now).await?);
            }
            if pending_move.is_some() {
                ops.push(WriteOp::Delete {
                    key: crate::store::keys::school_move(patient.id),
                    condition: crate::ports::Condition::None,
                });
            }
        }
        MoveAction::Pending(school_move) => {
            let reviewing =
                school_moves::destination_team(&move_ctx, &school_move.destination).unwrap_or_else(|| team.id.clone());
            let also_seen_by = patients::move_also_seen_by(school_move, &patient);
            ops.push(put(patients::school_move_item(school_move, &reviewing, &also_seen_by)));
        }
    }

    let parent_plans = plan_parents(found, row, patient.id, is_new);
    for parent_plan in &parent_plans {
        if parent_plan.parent_is_new || parent_plan.parent_changed {
            ops.push(put(patients::parent_item(&parent_plan.parent)));
        }
        if parent_plan.relationship_is_new || parent_plan.relationship_changed {
            ops.push(put(patients::relationship_item(&parent_plan.relationship)));
        }
    }

    let nhs_before = current.and_then(|c| c.value.attributes.nhs_number.as_ref());
    if let Some(nhs) = &patient.attributes.nhs_number
        && nhs_before != Some(nhs)
    {
        ops.push(patients::reserve_nhs_number_op(nhs, patient.id));
    }
    ops.push(match current {
        // Unchanged (an exact duplicate): not written, but still checked, so that a concurrent change of the
        // patient is noticed as it would be by a write.
        Some(current) if unchanged(&patient, &current.value) => WriteOp::Check {
            key: crate::store::keys::patient(patient.id),
            condition: crate::ports::Condition::VersionIs(current.version),
        },
        current => patients::put_patient_op(&patient, current.map(|c| c.version)),
    });
    if !patient.pending_changes.is_empty() {
        // §7.3: the patient is now an import issue for the uploading team, listed with the pending changes.
        ops.push(issues::open_op(&issues::IssueMarker {
            id: patient.id,
            subject: issues::IssueSubject::Patient,
            patient_id: patient.id,
            team_id: team.id.clone(),
            import_id: Some(import.id),
            row_index: Some(row.index),
            matched_on_nhs_number: on_nhs_number,
            created_at: now,
            resolution: None,
        }));
    }
    ops.push(put(patients::import_link_item(import.id, patient.id, row.row_number)));

    // Child records count a proposed or confirmed school move as a change. Class lists do not: §5.5 counts the
    // patient's attributes, parents and relationships only, and fixture-outcomes §3.1 C1 expects a class list that
    // proposes a move for every row to count them all as exact duplicates.
    let moved =
        import.kind != ImportKind::ClassList && (matches!(move_action, MoveAction::Pending(_)) || school_changed);
    let outcome = match staging::classify(is_new, patient_changed || moved, &parent_plans) {
        RowCount::New => RowOutcome::New,
        RowCount::Changed => RowOutcome::Changed,
        RowCount::ExactDuplicate => RowOutcome::ExactDuplicate,
    };
    done.status = ChangesetStatus::Committed;
    done.patient_id = Some(patient.id);
    done.matched_on_nhs_number = on_nhs_number;
    done.outcome = Some(outcome);
    ops.push(changesets::update_op(&done, changeset.version));
    Ok((dedupe_parents(ops), outcome))
}

fn put(item: Item) -> WriteOp {
    WriteOp::Put { item, condition: crate::ports::Condition::None }
}

fn op_key(op: &WriteOp) -> &crate::ports::ItemKey {
    match op {
        WriteOp::Put { item, .. } => &item.key,
        WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => key,
    }
}

/// Two parents on one row can resolve to the same parent record; a transaction may touch each key once.
fn dedupe_parents(ops: Vec<WriteOp>) -> Vec<WriteOp> {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<WriteOp> = ops.into_iter().rev().filter(|op| seen.insert(op_key(op).clone())).collect();
    kept.reverse();
    kept
}

/// What building some rows reads, read for them all together: the matched patients with their pending school
/// moves and parents, and the parents already recorded with each email address of the rows' parents.
struct Prefetched {
    patients: HashMap<Uuid, Versioned<Patient>>,
    school_moves: HashMap<Uuid, SchoolMove>,
    parents_of: HashMap<Uuid, Vec<(Parent, ParentRelationship)>>,
    parents_by_email: HashMap<String, Vec<Parent>>,
}

async fn prefetch<'a>(
    pipeline: &Pipeline,
    rows: impl IntoIterator<Item = &'a Changeset>,
) -> Result<Prefetched, PipelineError> {
    let store = pipeline.records.as_ref();
    let (mut matched, mut emails) = (Vec::new(), Vec::new());
    for row in rows.into_iter().filter(|row| row.status == ChangesetStatus::Pending) {
        if let Some(PlannedMatch::Existing { patient_id, .. }) = row.planned {
            matched.push(patient_id);
        }
        emails.extend(row.parents.iter().filter_map(|p| p.email.clone()));
    }
    matched.sort();
    matched.dedup();
    // Four independent reads: side by side, so a wave waits for the slowest, not for their sum.
    let (parents_of, patients, school_moves, parents_by_email) = tokio::try_join!(
        patients::parents_of_each(store, &matched),
        patients::get_many(store, &matched),
        patients::school_moves_of(store, &matched),
        patients::parents_by_emails(store, emails),
    )?;
    Ok(Prefetched {
        patients,
        school_moves,
        parents_of: matched.into_iter().zip(parents_of).collect(),
        parents_by_email,
    })
}

/// The patient as a row left it is the one stored, but for the time of the update. Every other field is named, so
/// that a field added to `Patient` cannot be left out of the comparison.
fn unchanged(patient: &Patient, stored: &Patient) -> bool {
    let Patient {
        id,
        attributes,
        school,
        pending_changes,
        team_ids,
        archived_in,
        restricted_at,
        invalidated_at,
        date_of_death,
        updated_from_pds_at,
        created_at,
        updated_at: _,
    } = stored;
    (id, attributes, school, pending_changes, team_ids, archived_in)
        == (
            &patient.id,
            &patient.attributes,
            &patient.school,
            &patient.pending_changes,
            &patient.team_ids,
            &patient.archived_in,
        )
        && (restricted_at, invalidated_at, date_of_death, updated_from_pds_at, created_at)
            == (
                &patient.restricted_at,
                &patient.invalidated_at,
                &patient.date_of_death,
                &patient.updated_from_pds_at,
                &patient.created_at,
            )
}

fn plan_parents(found: &Prefetched, row: &Changeset, patient_id: Uuid, is_new: bool) -> Vec<ParentPlan> {
    let mut existing = if is_new { vec![] } else { found.parents_of.get(&patient_id).cloned().unwrap_or_default() };
    let mut plans = Vec::new();
    for (n, parent) in row.parents.iter().enumerate() {
        // A new parent's id follows from the row, so a resumed import writes the same parent again.
        let seed = format!("{}/{}/{n}", row.import_id, row.index);
        let new_parent_id = Uuid::new_v5(&PARENT_NAMESPACE, seed.as_bytes());
        let by_email = match &parent.email {
            Some(email) => found
                .parents_by_email
                .get(email)
                .into_iter()
                .flatten()
                .find(|p| p.created_by_import != Some(row.import_id) || p.id == new_parent_id)
                .cloned(),
            None => None,
        };
        let mut plan = staging::plan_parent(parent, patient_id, by_email.as_ref(), &existing, new_parent_id);
        if plan.parent_is_new {
            plan.parent.created_by_import = Some(row.import_id);
        }
        // The second parent of a row sees the first.
        existing.retain(|(p, _)| p.id != plan.parent.id);
        existing.push((plan.parent.clone(), plan.relationship.clone()));
        plans.push(plan);
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::patient::{ChildAttributes, Relationship, UploadedParent};

    fn row(index: u64, emails: &[&str]) -> PagedRow {
        let parent = |email: &&str| UploadedParent {
            full_name: None,
            email: Some(email.to_string()),
            phone: None,
            relationship: Relationship::Unknown,
            other_name: None,
        };
        let parents = emails.iter().map(parent).collect();
        let changeset = Changeset::pending(Uuid::nil(), index, index + 2, ChildAttributes::default(), None, parents);
        (index as usize, Versioned { value: changeset, version: 1 })
    }

    #[test]
    fn a_row_writing_an_item_an_earlier_row_of_its_wave_writes_should_be_built_again_later() {
        let parent = |n: &str| WriteOp::Put {
            item: Item::new(crate::ports::ItemKey::new("PARENT", n), serde_json::json!({})),
            condition: crate::ports::Condition::None,
        };
        let built = |(position, changeset): PagedRow, ops: Vec<WriteOp>| -> BuiltRow {
            (position, changeset, Some((ops, RowOutcome::New)))
        };
        let rows = vec![
            built(row(0, &[]), vec![parent("x")]),
            // A parent found by phone, shared with row 0: written by both.
            built(row(1, &[]), vec![parent("y"), parent("x")]),
            built(row(2, &[]), vec![parent("z")]),
            // Applied before: writes nothing.
            (3, row(3, &[]).1, None),
        ];
        let (kept, again) = without_overlaps(rows);
        let kept: Vec<usize> = kept.iter().map(|(position, _, _)| *position).collect();
        assert_eq!((kept, indices(&again)), (vec![0, 2, 3], vec![1]));
    }

    fn indices(rows: &[PagedRow]) -> Vec<usize> {
        rows.iter().map(|(position, _)| *position).collect()
    }

    #[test]
    fn a_row_sharing_a_parent_with_an_earlier_row_should_wait_for_the_next_wave() {
        let rows = vec![
            row(0, &["a@example.com"]),
            row(1, &["b@example.com", "a@example.com"]),
            row(2, &["c@example.com"]),
            // Shares only with row 1, which waits: so it waits too, to stay behind row 1.
            row(3, &["b@example.com"]),
            // Both parents with one address: the row does not wait for itself.
            row(4, &["d@example.com", "d@example.com"]),
        ];
        let (wave, later) = next_wave(rows);
        assert_eq!((indices(&wave), indices(&later)), (vec![0, 2, 4], vec![1, 3]));
        let (wave, later) = next_wave(later);
        assert_eq!((indices(&wave), indices(&later)), (vec![1], vec![3]));
        let (wave, later) = next_wave(later);
        assert_eq!((indices(&wave), indices(&later)), (vec![3], vec![]));
    }
}
