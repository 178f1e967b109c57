//! The real pipeline on a fresh store, with helpers to drop files and read back what happened.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use shared::adapters::aws;
use shared::adapters::dynamodb_store::{self, DynamoRecordStore, WriteCapacity};
use shared::adapters::embedded_queue::EmbeddedQueue;
use shared::adapters::folder_object_store::FolderObjectStore;
use shared::adapters::s3_object_store::{self, S3ObjectStore};
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::adapters::sqs_queue::{self, SqsQueue};
use shared::clock::Clock;
use shared::consumer::polling;
use shared::domain::patient::Patient;
use shared::domain::{AcademicYear, Import, ImportKind, ImportStatus, ReferenceData};
use shared::pipeline::pds_queue::{self, PdsMessages};
use shared::pipeline::{Handled, ObjectCreated, PdsSettings, Pipeline, PipelineError, PipelineSettings};
use shared::ports::{ObjectStore, Queue, RecordStore};
use shared::store::{imports, patients};
use uuid::Uuid;

pub struct Harness {
    pub pipeline: Pipeline,
    pub bucket: String,
    /// The pds queue (embedded queue, or SQS on moto), used once PDS is switched on with [`Harness::use_pds`].
    pub pds_queue: Arc<dyn Queue>,
    /// The write units DynamoDB reported for the record store's writes (on the emulators only).
    pub write_capacity: Option<Arc<WriteCapacity>>,
    _dir: Option<tempfile::TempDir>,
}

/// Whether the AWS emulators were started for this run (scripts/test sets these).
pub fn emulator_endpoints() -> Option<(String, String)> {
    let aws = std::env::var("MAVIS_TEST_AWS_ENDPOINT").ok()?;
    let dynamodb = std::env::var("MAVIS_TEST_DYNAMODB_ENDPOINT").ok()?;
    Some((aws, dynamodb))
}

/// Skips a test when the emulators are not running, unless the run requires them.
pub fn emulators_or_skip(test: &str) -> Option<(String, String)> {
    let endpoints = emulator_endpoints();
    if endpoints.is_none() {
        assert!(std::env::var("MAVIS_REQUIRE_EMULATORS").is_err(), "{test}: emulators required but not configured");
        eprintln!("SKIPPED {test}: set MAVIS_TEST_AWS_ENDPOINT and MAVIS_TEST_DYNAMODB_ENDPOINT (scripts/test does)");
    }
    endpoints
}

/// The redrive limit of the harness's queues.
pub const MAX_RECEIVES: u32 = 10;

/// The pipeline at noon in London on `today`, by a clock that moves only when a test moves it.
fn settings(today: NaiveDate) -> PipelineSettings {
    let clock = Clock::fixed(shared::clock::noon_in_london(today));
    PipelineSettings { today_override: Some(today), clock, ..PipelineSettings::default() }
}

impl Harness {
    /// SQLite record store and folder object store in a fresh temporary folder.
    pub async fn embedded(today: NaiveDate) -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let records: Arc<dyn RecordStore> =
            Arc::new(SqliteRecordStore::open(&dir.path().join("records.sqlite")).expect("sqlite store"));
        let objects: Arc<dyn ObjectStore> =
            Arc::new(FolderObjectStore::new(dir.path().join("objects"), "http://127.0.0.1:9".into(), [7u8; 32]));
        let queue: Arc<dyn Queue> = Arc::new(EmbeddedQueue::in_memory(MAX_RECEIVES).expect("embedded queue"));
        Self::with(records, objects, queue, "local".into(), today, Some(dir)).await
    }

    /// DynamoDB Local and moto S3, each harness with its own table and bucket.
    pub async fn emulators(today: NaiveDate, (aws_endpoint, dynamodb_endpoint): &(String, String)) -> Harness {
        let unique = Uuid::new_v4().simple().to_string();
        let ddb_config = aws::sdk_config_for(dynamodb_endpoint).await;
        let ddb = aws_sdk_dynamodb::Client::new(&ddb_config);
        let table = format!("mavis-{unique}");
        dynamodb_store::create_table(&ddb, &table).await.expect("create table");
        let s3_config = aws::sdk_config_for(aws_endpoint).await;
        let s3 = aws::s3_client(&s3_config);
        let bucket = format!("mavis-{}", &unique[..16]);
        s3_object_store::create_bucket(&s3, &bucket).await.expect("create bucket");
        let dynamodb = DynamoRecordStore::new(ddb, table);
        let write_capacity = dynamodb.write_capacity();
        let records: Arc<dyn RecordStore> = Arc::new(dynamodb);
        let objects: Arc<dyn ObjectStore> =
            Arc::new(S3ObjectStore::new(s3, bucket.clone()).with_browser_uploads(&s3_config));
        let sqs = aws::sqs_client(&s3_config);
        let (queue_url, dlq_url) =
            sqs_queue::create_queue_with_dlq(&sqs, &format!("pds-{unique}"), MAX_RECEIVES).await.expect("pds queue");
        let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(sqs, queue_url, dlq_url));
        let mut harness = Self::with(records, objects, queue, bucket, today, None).await;
        harness.write_capacity = Some(write_capacity);
        harness
    }

    async fn with(
        records: Arc<dyn RecordStore>,
        objects: Arc<dyn ObjectStore>,
        pds_queue: Arc<dyn Queue>,
        bucket: String,
        today: NaiveDate,
        dir: Option<tempfile::TempDir>,
    ) -> Harness {
        let reference: ReferenceData = shared::reference::demo();
        shared::store::reference::save(records.as_ref(), &reference).await.expect("seed");
        let pipeline = Pipeline { records, objects, reference: Arc::new(reference), settings: settings(today) };
        Harness { pipeline, bucket, pds_queue, write_capacity: None, _dir: dir }
    }

    /// Switches PDS on, its work going through this harness's pds queue as in the deployed shape.
    pub fn use_pds(&mut self, pds: PdsSettings) {
        self.pipeline.settings.pds = Some(pds.with_queue(self.pds_queue.clone()));
    }

    /// Runs the pds function on the pds queue until nothing is left (searches, commits, GET refreshes), failures
    /// retried at once. Returns the deliveries handled. Does nothing while PDS is off.
    pub async fn run_pds_queue(&self) -> usize {
        let Some(queue) = self.pipeline.settings.pds.as_ref().and_then(|p| p.queue.clone()) else { return 0 };
        let settings = pds_queue::consumer_settings().immediate_retries();
        polling::run_until_idle(Arc::new(PdsMessages(self.pipeline.clone())), queue, settings).await.expect("pds queue")
    }

    pub fn records(&self) -> &dyn RecordStore {
        self.pipeline.records.as_ref()
    }

    /// "Now" by the pipeline's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.pipeline.now()
    }

    /// Time passes: the pipeline's clock moves on.
    pub fn wait(&self, by: chrono::Duration) {
        self.pipeline.settings.clock.advance(by);
    }

    /// Stores a file under `key` and returns the ObjectCreated event S3 would send for it.
    pub async fn put(&self, key: &str, body: Vec<u8>) -> ObjectCreated {
        self.pipeline.objects.put(key, body.into(), "text/csv").await.expect("put object");
        self.event_for(key).await
    }

    /// The ObjectCreated event S3 sends for what is under `key` now.
    pub async fn event_for(&self, key: &str) -> ObjectCreated {
        let info = self.pipeline.objects.head(key).await.expect("head object");
        ObjectCreated {
            bucket: self.bucket.clone(),
            key: key.into(),
            etag: info.etag,
            version_id: None,
            size: info.size,
        }
    }

    /// A CHIS drop for team `ods`, processed to its resting status.
    /// Each file arrives a minute after whatever happened before, so that imports are ordered in time.
    pub async fn drop_file(&self, ods: &str, name: &str, body: Vec<u8>) -> Result<Handled, PipelineError> {
        self.wait(chrono::Duration::minutes(1));
        let event = self.put(&format!("drops/{ods}/{name}"), body).await;
        let handled = self.pipeline.handle_object_created(&event).await;
        self.run_pds_queue().await;
        handled
    }

    /// An upload as the API and the browser make it: the import is recorded (kind, and for class lists the school
    /// and year groups chosen in the wizard), the file lands at `uploads/{team}/{import}/{file}`, and the
    /// ObjectCreated event S3 would send is handled. Returns the import at its resting status.
    pub async fn upload(&self, request: UploadRequest<'_>, name: &str, body: Vec<u8>) -> Import {
        let id = Uuid::new_v4();
        let handled = self.upload_as(id, request, name, body).await;
        self.run_pds_queue().await;
        match handled {
            Ok(Handled::Processed { import_id, .. }) => {
                assert_eq!(import_id, id, "the upload is processed as the import it was created for");
                self.import(id).await
            }
            other => panic!("{name} was not processed: {other:?}"),
        }
    }

    /// The import function's part of an upload as import `id`: the pds queue is left as the import function left it.
    pub async fn upload_as(
        &self,
        id: Uuid,
        request: UploadRequest<'_>,
        name: &str,
        body: Vec<u8>,
    ) -> Result<Handled, PipelineError> {
        self.wait(chrono::Duration::minutes(1));
        let filename = name.rsplit('/').next().unwrap_or(name).to_string();
        let object_key = format!("uploads/{}/{id}/{filename}", request.team_id);
        let today = self.pipeline.settings.today();
        let now = self.now();
        let import = Import {
            id,
            team_id: request.team_id.into(),
            kind: request.kind,
            status: ImportStatus::AwaitingUpload,
            object_key: object_key.clone(),
            filename: Some(filename),
            uploaded_by: Some(request.uploaded_by.into()),
            academic_year: AcademicYear::pending(today),
            school_urn: request.school_urn.map(str::to_string),
            year_groups: request.year_groups.to_vec(),
            row_count: None,
            counts: None,
            file_error: None,
            rows_with_errors: 0,
            errors: vec![],
            today,
            created_at: now,
            updated_at: now,
            processed_at: None,
            progress: None,
            pds_match: None,
            nhs_numbers_updated: Vec::new(),
            object_version: None,
            failure_reason: None,
        };
        imports::create(self.records(), &import).await.expect("create import");
        let event = self.put(&object_key, body).await;
        self.pipeline.handle_object_created(&event).await
    }

    /// Drops a file for team `ods` and returns the resulting import.
    pub async fn import_dropped(&self, ods: &str, name: &str, body: Vec<u8>) -> Import {
        match self
            .drop_file(ods, &format!("{}-{name}", Uuid::new_v4().simple()), body)
            .await
            .expect("pipeline succeeds")
        {
            Handled::Processed { import_id, .. } | Handled::AlreadyDone { import_id } => self.import(import_id).await,
            other => panic!("{name} was not processed: {other:?}"),
        }
    }

    /// Drops a fixture and returns the resulting import.
    pub async fn import_fixture(&self, ods: &str, fixture: &str) -> Import {
        let name = fixture.rsplit('/').next().unwrap_or(fixture);
        self.import_dropped(ods, name, crate::fixture(fixture)).await
    }

    pub async fn import(&self, id: Uuid) -> Import {
        imports::get(self.records(), id).await.expect("read import").expect("import exists").value
    }

    pub async fn patients_of(&self, import: &Import) -> Vec<Patient> {
        let mut found = Vec::new();
        for id in patients::of_import(self.records(), import.id).await.expect("import patients") {
            found.push(self.patient(id).await);
        }
        found
    }

    pub async fn patient(&self, id: Uuid) -> Patient {
        patients::get(self.records(), id).await.expect("read patient").expect("patient exists").value
    }

    pub async fn patient_named(&self, import: &Import, given: &str, family: &str) -> Patient {
        self.patients_of(import)
            .await
            .into_iter()
            .find(|p| {
                p.attributes.given_name.as_deref() == Some(given) && p.attributes.family_name.as_deref() == Some(family)
            })
            .unwrap_or_else(|| panic!("{given} {family} is not among the import's patients"))
    }

    /// Saves a patient directly, as an earlier import or another team would have.
    pub async fn existing_patient(&self, patient: &Patient) {
        self.records().transact(vec![patients::put_patient_op(patient, None)]).await.expect("save existing patient");
    }
}

/// What `POST /api/imports` records before the file arrives.
pub struct UploadRequest<'a> {
    pub team_id: &'a str,
    pub uploaded_by: &'a str,
    pub kind: ImportKind,
    /// Class lists: the school and year groups chosen in the wizard.
    pub school_urn: Option<&'a str>,
    pub year_groups: &'a [i32],
}
