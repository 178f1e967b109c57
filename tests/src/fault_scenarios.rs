//! Fault injection (hardening): imports run with 5% of record-store and object-store calls failing (seeded:
//! throttling, timeouts after the write, batch writes cut short, cancelled transactions), each failed delivery
//! retried as the queue would redeliver it, reach exactly the end state of the same import without faults: no row
//! lost, none applied twice.

use std::future::Future;
use std::sync::Arc;

use chrono::NaiveDate;
use shared::domain::{ImportStatus, Programme};
use shared::pipeline::Handled;
use shared::ports::RecordStore;
use shared::store::{patients, vaccinations};

use crate::faulty_stores::{FaultyRecordStore, SlowDown};
use crate::harness::Harness;
use crate::scenarios::clock_2023;
use crate::vaccination_scenarios::{clock_2025_08_01, with_programmes};

/// Deliveries of one event before the test gives up (a real queue moves it to the dead letters sooner; the faults
/// here are far denser than any real store's).
const MAX_DELIVERIES: usize = 400;
const FAULT_PERCENT: u32 = 5;

/// What an import left behind, without timestamps: its outcome, and who and what it wrote.
#[derive(Debug, PartialEq)]
pub(crate) struct EndState {
    status: ImportStatus,
    row_count: Option<u64>,
    counts: Option<shared::domain::ImportCounts>,
    errors: usize,
    /// (NHS number, given name, family name, date of birth) of the import's patients, sorted.
    patients: Vec<(Option<String>, Option<String>, Option<String>, Option<NaiveDate>)>,
    /// Patients holding each of those NHS numbers (1 each when nothing was created twice).
    holders_per_number: Vec<usize>,
    vaccination_records: usize,
}

pub(crate) async fn end_state(h: &Harness, import_id: uuid::Uuid) -> EndState {
    let import = h.import(import_id).await;
    let mut found: Vec<_> = h
        .patients_of(&import)
        .await
        .into_iter()
        .map(|p| {
            let a = p.attributes;
            (a.nhs_number, a.given_name, a.family_name, a.date_of_birth)
        })
        .collect();
    found.sort();
    let mut holders_per_number = Vec::new();
    for number in found.iter().filter_map(|p| p.0.as_deref()) {
        let holders = patients::match_candidates(h.records(), Some(number), None, None).await.expect("candidates");
        holders_per_number
            .push(holders.iter().filter(|p| p.value.attributes.nhs_number.as_deref() == Some(number)).count());
    }
    let vaccination_records = vaccinations::of_import(h.records(), import_id).await.expect("records").len();
    EndState {
        status: import.status,
        row_count: import.row_count,
        counts: import.counts,
        errors: import.errors.len(),
        patients: found,
        holders_per_number,
        vaccination_records,
    }
}

pub async fn all<F, Fut>(make: F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    let child_records = ("R1L", "child.csv", crate::fixture("cohort_import/valid.csv"), clock_2023(), false);
    let vaccinations = (
        "R1L",
        "vaccinations.csv",
        crate::fixture("immunisation_import/point_of_care/valid_flu.csv"),
        clock_2025_08_01(),
        true,
    );
    let invalid = ("R1L", "invalid.csv", crate::fixture("cohort_import/invalid_minimal.csv"), clock_2023(), false);
    for (ods, name, body, today, flu) in [child_records, vaccinations, invalid] {
        let baseline = {
            let mut h = make(today).await;
            if flu {
                with_programmes(&mut h, "r1l", &[Programme::Flu]);
            }
            let key = format!("drops/{ods}/{name}");
            let handled = h.pipeline.handle_object_created(&h.put(&key, body.clone()).await).await.expect("baseline");
            let Handled::Processed { import_id, .. } = handled else { panic!("{name}: {handled:?}") };
            end_state(&h, import_id).await
        };
        let mut injected = 0;
        for seed in 1..=6 {
            let mut h = make(today).await;
            if flu {
                with_programmes(&mut h, "r1l", &[Programme::Flu]);
            }
            let key = format!("drops/{ods}/{name}");
            let event = h.put(&key, body.clone()).await;
            let records: Arc<dyn RecordStore> = h.pipeline.records.clone();
            let faulty = Arc::new(FaultyRecordStore::new(records.clone(), seed, FAULT_PERCENT));
            h.pipeline.records = faulty.clone();
            h.pipeline.objects = Arc::new(SlowDown::wrap(h.pipeline.objects.clone(), seed + 1, FAULT_PERCENT));

            let mut deliveries = 0;
            let import_id = loop {
                deliveries += 1;
                assert!(deliveries <= MAX_DELIVERIES, "{name}, seed {seed}: still failing after {MAX_DELIVERIES}");
                match h.pipeline.handle_object_created(&event).await {
                    Ok(Handled::Processed { import_id, .. } | Handled::AlreadyDone { import_id }) => break import_id,
                    Ok(other) => panic!("{name}, seed {seed}: {other:?}"),
                    // Redelivered once the failed worker's claim lease has run out, as after a crash.
                    Err(_) => h.wait(h.pipeline.settings.claim_lease + chrono::Duration::seconds(1)),
                }
            };
            injected += faulty.calls_and_faults().1;
            h.pipeline.records = records;
            let state = end_state(&h, import_id).await;
            assert_eq!(
                state, baseline,
                "{name}, seed {seed}: the same end state as without faults ({deliveries} deliveries)"
            );
            assert!(state.holders_per_number.iter().all(|&n| n == 1), "{name}, seed {seed}: no child created twice");
        }
        assert!(injected > 0, "{name}: faults were injected");
    }
    crate::crash_scenarios::crash_after_every_write(&make).await;
    crate::crash_scenarios::die_on_every_delivery(&make).await;
}
