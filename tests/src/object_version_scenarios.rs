//! One object version per import (hardening): a file replaced under its key between two passes over it never mixes
//! into the import that claimed the first file. The import ends invalid saying so, with nothing committed; the newer
//! file is a separate import (a CHIS drop) or refused (an upload, whose import already has its file).

use std::future::Future;
use std::sync::Arc;

use chrono::NaiveDate;
use shared::domain::{ImportKind, ImportStatus};
use shared::pipeline::Handled;
use shared::pipeline::reading::FILE_REPLACED;
use shared::store::patients;
use uuid::Uuid;

use crate::harness::{Harness, UploadRequest};
use crate::replacing_objects::{ReplaceBeforeRead, ReplacingObjects};
use crate::scenarios::clock_2023;

const HEADER: &str = "CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_ADDRESS_LINE_1,\
    CHILD_TOWN,CHILD_POSTCODE,CHILD_NHS_NUMBER";
/// The NHS numbers of file A's children, and of file B's child.
const FILE_A_NUMBERS: [&str; 2] = ["9990000018", "9990000026"];
const FILE_B_NUMBER: &str = "9990000034";

fn file_a() -> Vec<u8> {
    format!(
        "{HEADER}\n123456,Jennifer,Clarke,2010-01-01,10 Downing Street,London,SW1A 1AA,{}\n\
         123456,Jimmy,Smith,2010-01-02,10 Downing Street,London,SW1A 1AA,{}\n",
        FILE_A_NUMBERS[0], FILE_A_NUMBERS[1]
    )
    .into_bytes()
}

fn file_b() -> Vec<u8> {
    format!("{HEADER}\n123456,Mark,Doe,2010-01-03,11 Downing Street,London,SW1A 1AA,{FILE_B_NUMBER}\n").into_bytes()
}

pub async fn all<F, Fut>(make: F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    drop_replaced_before_any_read(&make).await;
    upload_replaced_before_any_read(&make).await;
}

/// Puts the replacing store in front of the harness's own.
fn replace_before_read(h: &mut Harness, key: &str, read: usize) -> Arc<ReplacingObjects> {
    let objects = Arc::new(ReplaceBeforeRead::wrap(h.pipeline.objects.clone(), key, file_b(), read));
    h.pipeline.objects = objects.clone();
    objects
}

async fn holder_of(h: &Harness, nhs_number: &str) -> Option<Uuid> {
    let found = patients::match_candidates(h.records(), Some(nhs_number), None, None).await.expect("candidates");
    found.into_iter().find(|p| p.value.attributes.nhs_number.as_deref() == Some(nhs_number)).map(|p| p.value.id)
}

async fn assert_nothing_of_file_a(h: &Harness, when: &str) {
    for number in FILE_A_NUMBERS {
        assert_eq!(holder_of(h, number).await, None, "{when}: no child of file A is committed");
    }
}

/// A CHIS drop replaced before each of its reads in turn (kind detection, validation, staging): never a mix.
async fn drop_replaced_before_any_read<F, Fut>(make: &F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    let key = "drops/R1L/cohort.csv";
    let reads = {
        let mut h = make(clock_2023()).await;
        let counter = replace_before_read(&mut h, key, 0);
        let handled = h.pipeline.handle_object_created(&h.put(key, file_a()).await).await.expect("drop");
        assert!(matches!(handled, Handled::Processed { status: ImportStatus::Processed, .. }), "{handled:?}");
        counter.hook.reads()
    };
    assert!(reads >= 3, "detection, validation and staging each read the file: {reads} reads");

    for read in 1..=reads {
        let mut h = make(clock_2023()).await;
        replace_before_read(&mut h, key, read);
        let when = format!("replaced before read {read} of {reads}");
        let handled = h.pipeline.handle_object_created(&h.put(key, file_a()).await).await.expect("drop A");
        match &handled {
            // Replaced before the kind was known: no import was made from file A.
            Handled::Rejected { .. } => {}
            Handled::Processed { import_id, status } => {
                assert_eq!(*status, ImportStatus::RowsAreInvalid, "{when}");
                let import = h.import(*import_id).await;
                assert_eq!(import.file_error.as_deref(), Some(FILE_REPLACED), "{when}");
                assert!(import.counts.is_none(), "{when}: nothing counted");
            }
            other => panic!("{when}: {other:?}"),
        }
        assert_nothing_of_file_a(&h, &when).await;

        // File B's own event: a separate import of file B alone.
        let handled = h.pipeline.handle_object_created(&h.event_for(key).await).await.expect("drop B");
        let Handled::Processed { import_id, status: ImportStatus::Processed } = handled else {
            panic!("{when}: file B is imported on its own: {handled:?}")
        };
        let import_b = h.import(import_id).await;
        assert_eq!(import_b.row_count, Some(1), "{when}");
        let imported: Vec<_> = h.patients_of(&import_b).await.into_iter().map(|p| p.attributes.nhs_number).collect();
        assert_eq!(imported, vec![Some(FILE_B_NUMBER.to_string())], "{when}");
        assert_nothing_of_file_a(&h, &when).await;
    }
}

/// An upload (through the API or the pages) replaced before each of its reads: its import ends invalid, and file B,
/// arriving under the key the import already has a file for, is refused.
async fn upload_replaced_before_any_read<F, Fut>(make: &F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    let request = || UploadRequest {
        team_id: "r1l",
        uploaded_by: "nurse@example.com",
        kind: ImportKind::ChildRecords,
        school_urn: None,
        year_groups: &[],
    };
    let key = |id: Uuid| format!("uploads/r1l/{id}/cohort.csv");
    let reads = {
        let mut h = make(clock_2023()).await;
        let id = Uuid::new_v4();
        let counter = replace_before_read(&mut h, &key(id), 0);
        let handled = h.upload_as(id, request(), "cohort.csv", file_a()).await.expect("upload");
        assert!(matches!(handled, Handled::Processed { status: ImportStatus::Processed, .. }), "{handled:?}");
        counter.hook.reads()
    };
    assert!(reads >= 2, "validation and staging each read the file: {reads} reads");

    for read in 1..=reads {
        let mut h = make(clock_2023()).await;
        let id = Uuid::new_v4();
        replace_before_read(&mut h, &key(id), read);
        let when = format!("upload replaced before read {read} of {reads}");
        let handled = h.upload_as(id, request(), "cohort.csv", file_a()).await.expect("upload A");
        assert_eq!(handled, Handled::Processed { import_id: id, status: ImportStatus::RowsAreInvalid }, "{when}");
        assert_eq!(h.import(id).await.file_error.as_deref(), Some(FILE_REPLACED), "{when}");
        assert_nothing_of_file_a(&h, &when).await;

        let handled = h.pipeline.handle_object_created(&h.event_for(&key(id)).await).await.expect("event B");
        assert!(matches!(handled, Handled::Rejected { .. }), "{when}: file B is refused: {handled:?}");
        assert_eq!(h.import(id).await.status, ImportStatus::RowsAreInvalid, "{when}: the import is left as it was");
        assert_eq!(holder_of(&h, FILE_B_NUMBER).await, None, "{when}: nothing of file B is committed");
    }
}
