//! Benchmark: a generated child-records file of 100,000 rows (MAVIS_BENCH_ROWS) imported end to end on the embedded
//! adapters, the way `mavis serve --no-pds` imports a drop: the SQLite record store and the folder object store in a
//! temporary folder, the object event handed to the import function (validate, stage, plan, apply, after-commit
//! work) until "Completed". Then the first 10,000 rows (MAVIS_BENCH_DUPLICATE_ROWS) dropped again under another
//! name: every row an exact duplicate of a child now in the store.
//!
//! Beside it, in the same run, the baseline: the same rows written into a fresh store of the same kind as one item
//! each, with the store's own `batch_put` (what any import that keeps its rows must at least do).
//!
//! The record store is wrapped to count the items written (puts and deletes, in every kind of request), so the
//! report says how many items each new child and each exact duplicate cost.
//!
//! With the emulators running (MAVIS_TEST_AWS_ENDPOINT, MAVIS_TEST_DYNAMODB_ENDPOINT: `scripts/start-moto.sh`,
//! `scripts/start-dynamodb-local.sh`), the same two imports, of 2,000 and 1,000 rows (MAVIS_BENCH_EMULATOR_ROWS,
//! MAVIS_BENCH_EMULATOR_DUPLICATE_ROWS), run on DynamoDB Local and moto beside a baseline there, and the report adds
//! the write units DynamoDB Local says each row's writes consumed (`ReturnConsumedCapacity`).
//!
//! `cargo bench -p integration-tests --bench import_end_to_end` writes `target/bench-reports/import_end_to_end.json`
//! and exits non-zero when either import does not end "Completed" with every row counted as it should be.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use chrono::NaiveDate;
use integration_tests::generated_children::{Child, csv, generate};
use integration_tests::harness::Harness;
use serde_json::json;
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::domain::{Import, ImportStatus};
use shared::pipeline::Handled;
use shared::ports::{Condition, Item, ItemKey, Page, Query, RecordStore, StoreError, WriteOp};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    if runtime.block_on(run()) {
        std::process::exit(1);
    }
}

async fn run() -> bool {
    let rows = setting("MAVIS_BENCH_ROWS", 100_000);
    let duplicate_rows = setting("MAVIS_BENCH_DUPLICATE_ROWS", 10_000).min(rows);
    let today = NaiveDate::from_ymd_opt(2023, 5, 20).expect("date");
    let baseline_dir = tempfile::tempdir().expect("temp dir");
    let baseline_store = SqliteRecordStore::open(&baseline_dir.path().join("baseline.sqlite")).expect("sqlite store");
    let embedded = measure(Harness::embedded(today).await, &baseline_store, rows, duplicate_rows).await;
    let mut problems = embedded.problems();
    let mut report = embedded.report(
        "embedded (SQLite record store, folder object store), no PDS",
        "the same rows as one item each, batch_put into a fresh SQLite record store",
    );
    report["benchmark"] = json!("import_end_to_end");
    report["emulators"] = match integration_tests::harness::emulator_endpoints() {
        Some(endpoints) => {
            let rows = setting("MAVIS_BENCH_EMULATOR_ROWS", 2_000);
            let duplicate_rows = setting("MAVIS_BENCH_EMULATOR_DUPLICATE_ROWS", 1_000).min(rows);
            let baseline_store = Harness::emulators(today, &endpoints).await;
            let harness = Harness::emulators(today, &endpoints).await;
            let on_emulators = measure(harness, baseline_store.records(), rows, duplicate_rows).await;
            problems.extend(on_emulators.problems());
            on_emulators.report(
                "DynamoDB Local record store, moto S3 object store, no PDS",
                "the same rows as one item each, batch_put into a fresh DynamoDB Local table",
            )
        }
        None => {
            json!("not run: set MAVIS_TEST_AWS_ENDPOINT and MAVIS_TEST_DYNAMODB_ENDPOINT (scripts/test starts them)")
        }
    };
    report["peak_rss_mib"] = json!(peak_rss_mib());
    let reports = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-reports");
    std::fs::create_dir_all(&reports).expect("report folder");
    std::fs::write(reports.join("import_end_to_end.json"), format!("{report:#}\n")).expect("write report");
    println!("{report:#}");
    for problem in &problems {
        eprintln!("FAILED: {problem}");
    }
    !problems.is_empty()
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The two imports on one set of adapters, beside the baseline on a fresh store of the same kind.
struct Measured {
    rows: usize,
    duplicate_rows: usize,
    baseline_seconds: f64,
    first: Run,
    again: Run,
}

/// `rows` generated children imported through `harness`, then the first `duplicate_rows` of them again; the
/// baseline writes the same rows into `baseline_store`. On the emulators (DynamoDB Local is a Java emulator, far
/// slower than DynamoDB) the caller asks for fewer rows.
async fn measure(harness: Harness, baseline_store: &dyn RecordStore, rows: usize, duplicate_rows: usize) -> Measured {
    let children = generate(rows);
    let baseline_seconds = baseline(&csv(&children), baseline_store).await;
    let (first, again) = both_imports(harness, &children, duplicate_rows).await;
    Measured { rows, duplicate_rows, baseline_seconds, first, again }
}

impl Measured {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        expect(&self.first, self.rows as u64, 0, &mut problems);
        expect(&self.again, 0, self.duplicate_rows as u64, &mut problems);
        problems
    }

    fn report(&self, adapters: &str, baseline: &str) -> serde_json::Value {
        let baseline_rate = self.rows as f64 / self.baseline_seconds;
        json!({
            "rows": self.rows,
            "adapters": adapters,
            "new_children": phase_report(&self.first, self.rows, baseline_rate),
            "exact_duplicates": phase_report(&self.again, self.duplicate_rows, baseline_rate),
            "baseline": {
                "what": baseline,
                "seconds": round(self.baseline_seconds),
                "rows_per_second": round(baseline_rate),
            },
        })
    }
}

/// All of `children` imported into the harness's store, then the first `duplicate_rows` of them dropped again.
async fn both_imports(mut harness: Harness, children: &[Child], duplicate_rows: usize) -> (Run, Run) {
    let counted = Arc::new(CountingStore { inner: harness.pipeline.records.clone(), written: AtomicU64::new(0) });
    harness.pipeline.records = counted.clone();
    let first = import(&harness, &counted, "first", csv(children)).await;
    let again = import(&harness, &counted, "again", csv(&children[..duplicate_rows])).await;
    (first, again)
}

fn expect(run: &Run, new: u64, exact_duplicate: u64, problems: &mut Vec<String>) {
    let counts = run.import.counts.unwrap_or_default();
    if run.import.status != ImportStatus::Processed || counts.new != new || counts.exact_duplicate != exact_duplicate {
        let import = &run.import;
        let first_error = (import.file_error.as_deref(), import.errors.first());
        problems
            .push(format!("the {} import ended {:?}, {:?}: {first_error:?}", run.name, import.status, import.counts));
    }
}

struct Run {
    name: &'static str,
    seconds: f64,
    items_written: u64,
    /// What DynamoDB reported the import's writes cost, when the store is DynamoDB.
    write_units: Option<f64>,
    import: Import,
}

/// What one import of `rows` rows took, beside the baseline's rows a second.
fn phase_report(run: &Run, rows: usize, baseline_rate: f64) -> serde_json::Value {
    let rate = rows as f64 / run.seconds;
    json!({
        "rows": rows,
        "seconds": round(run.seconds),
        "rows_per_second": round(rate),
        "ratio_to_baseline": round3(rate / baseline_rate),
        "items_written": run.items_written,
        "items_written_per_row": round3(run.items_written as f64 / rows as f64),
        "write_units_per_row": run.write_units.map(|units| round3(units / rows as f64)),
        "status": format!("{:?}", run.import.status),
        "counts": run.import.counts,
    })
}

/// Drops the file for team R1L and hands its event to the import function, timing it to its end.
async fn import(harness: &Harness, counted: &CountingStore, name: &'static str, file: Vec<u8>) -> Run {
    let event = harness.put(&format!("drops/R1L/bench-{name}.csv"), file).await;
    let before = counted.written.load(Ordering::Relaxed);
    let units = || harness.write_capacity.as_ref().map(|capacity| capacity.units());
    let units_before = units();
    let started = Instant::now();
    let import_id = match harness.pipeline.handle_object_created(&event).await {
        Ok(Handled::Processed { import_id, .. }) => import_id,
        other => panic!("the {name} import failed: {other:?}"),
    };
    let seconds = started.elapsed().as_secs_f64();
    let items_written = counted.written.load(Ordering::Relaxed) - before;
    let write_units = units().zip(units_before).map(|(after, before)| after - before);
    Run { name, seconds, items_written, write_units, import: harness.import(import_id).await }
}

/// Seconds to write every data row of `file` as one item into `store`, a fresh one.
async fn baseline(file: &[u8], store: &dyn RecordStore) -> f64 {
    let started = Instant::now();
    let items: Vec<Item> = String::from_utf8_lossy(file)
        .lines()
        .skip(1)
        .enumerate()
        .map(|(n, line)| Item::new(ItemKey::new("BASELINE", format!("ROW#{n:08}")), json!({ "row": line })))
        .collect();
    store.batch_put(items).await.expect("baseline batch_put");
    started.elapsed().as_secs_f64()
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(round(kib / 1024.0))
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The pipeline's record store, counting the items it is asked to write (puts and deletes; condition checks
/// write nothing). Every call goes to the store it wraps as it came, so batches stay batches.
struct CountingStore {
    inner: Arc<dyn RecordStore>,
    written: AtomicU64,
}

impl CountingStore {
    fn add(&self, items: usize) {
        self.written.fetch_add(items as u64, Ordering::Relaxed);
    }
}

fn writes(ops: &[WriteOp]) -> usize {
    ops.iter().filter(|op| !matches!(op, WriteOp::Check { .. })).count()
}

#[async_trait]
impl RecordStore for CountingStore {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        self.inner.put(item, condition).await.inspect(|()| self.add(1))
    }

    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError> {
        self.inner.delete(key, condition).await.inspect(|()| self.add(1))
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }

    async fn query_each(&self, queries: &[Query]) -> Result<Vec<Page>, StoreError> {
        self.inner.query_each(queries).await
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let count = items.len();
        self.inner.batch_put(items).await.inspect(|()| self.add(count))
    }

    async fn batch_get(&self, keys: &[ItemKey]) -> Result<Vec<Item>, StoreError> {
        self.inner.batch_get(keys).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let count = writes(&ops);
        self.inner.transact(ops).await.inspect(|()| self.add(count))
    }

    async fn transact_each(&self, transactions: Vec<Vec<WriteOp>>) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let counts: Vec<usize> = transactions.iter().map(|ops| writes(ops)).collect();
        let answers = self.inner.transact_each(transactions).await?;
        self.add(answers.iter().zip(counts).filter(|(answer, _)| answer.is_ok()).map(|(_, count)| count).sum());
        Ok(answers)
    }
}
