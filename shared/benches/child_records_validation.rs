//! Benchmark: validating a generated child-records file of 1,000,000 rows (override with MAVIS_BENCH_ROWS) beside
//! the baseline of the `csv` crate splitting the same file into fields, in the same run.
//!
//! The file has all 22 columns (quoted addresses with commas, both parents, dates and NHS numbers written in the
//! forms Mavis accepts, mobile and landline numbers); every row is valid. `cargo bench -p shared --bench
//! child_records_validation` writes `target/bench-reports/child_records_validation.json`: rows per second for
//! both, their ratio (the target is at least 0.25), and the process's peak resident memory. It fails if the
//! peak reaches 64 MiB: validation must stream.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use shared::csv_import::Limits;
use shared::csv_import::child_records::{self, ChildFormat, ChildRecordsContext};
use shared::domain::AcademicYear;

const MEMORY_LIMIT_MIB: f64 = 64.0;
const TARGET_RATIO: f64 = 0.25;

fn main() {
    let rows: u64 = std::env::var("MAVIS_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let file = target.join(format!("bench-data/children-22-columns-{rows}.csv"));
    if !file.exists() {
        generate(&file, rows).expect("generate the benchmark file");
    }
    let file_mib = std::fs::metadata(&file).map(|m| m.len() as f64 / 1048576.0).unwrap_or_default();

    let reference = shared::reference::demo();
    let team = reference.team_by_ods("R1L").expect("demo team").clone();
    let today = NaiveDate::from_ymd_opt(2023, 5, 20).expect("date");
    let context = ChildRecordsContext {
        reference: &reference,
        team: &team,
        academic_year: AcademicYear::pending(today),
        today,
        format: ChildFormat::ChildRecords,
    };
    let mut open = || File::open(&file).map(|f| BufReader::with_capacity(64 * 1024, f));

    let started = Instant::now();
    let (baseline_rows, fields) = split_fields(open().expect("open the benchmark file"));
    let baseline_seconds = started.elapsed().as_secs_f64();
    assert_eq!(baseline_rows, rows + 1, "the baseline reads the header and every row");

    let mut errors = 0u64;
    let started = Instant::now();
    let outcome = child_records::validate(&mut open, &context, &Limits { max_rows: 2_000_000 }, &mut |_| errors += 1)
        .expect("the generated file is readable");
    let seconds = started.elapsed().as_secs_f64();
    let peak_mib = peak_rss_mib();

    assert_eq!(outcome.rows, rows, "every generated row is counted");
    assert_eq!(outcome.rows_with_errors, 0, "the generated rows are valid");
    let report = serde_json::json!({
        "benchmark": "child_records_validation",
        "rows": rows,
        "file_mib": round(file_mib),
        "seconds": round(seconds),
        "rows_per_second": (rows as f64 / seconds).round(),
        "baseline": {
            "what": "csv::Reader::read_byte_record over the same file, counting fields",
            "fields": fields,
            "seconds": round(baseline_seconds),
            "rows_per_second": (rows as f64 / baseline_seconds).round(),
        },
        "ratio_to_baseline": (baseline_seconds / seconds * 1000.0).round() / 1000.0,
        "target_ratio": TARGET_RATIO,
        "peak_rss_mib": round(peak_mib),
        "memory_limit_mib": MEMORY_LIMIT_MIB,
    });
    let reports = target.join("bench-reports");
    std::fs::create_dir_all(&reports).expect("report folder");
    std::fs::write(reports.join("child_records_validation.json"), format!("{report:#}\n")).expect("write report");
    println!("{report:#}");
    assert!(peak_mib < MEMORY_LIMIT_MIB, "peak memory {peak_mib:.1} MiB reached the {MEMORY_LIMIT_MIB} MiB limit");
}

/// The baseline: the csv crate's fastest record loop, fields split and nothing else.
fn split_fields(reader: impl std::io::Read) -> (u64, u64) {
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let (mut records, mut fields) = (0u64, 0u64);
    while csv.read_byte_record(&mut record).expect("the generated file is CSV") {
        records += 1;
        fields += record.len() as u64;
    }
    (records, fields)
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// VmHWM: the process's peak resident set, file generation and validation included.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Writes `rows` distinct valid children in all 22 columns: valid NHS numbers (with and without spaces), dates of
/// birth in years 8–11 for academic year 2022 in the three accepted forms, two parents with mobile and landline
/// numbers.
fn generate(path: &Path, rows: u64) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().expect("parent"))?;
    let mut out = BufWriter::new(File::create(path)?);
    writeln!(
        out,
        "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_PREFERRED_FIRST_NAME,CHILD_PREFERRED_LAST_NAME,CHILD_DATE_OF_BIRTH,\
         CHILD_YEAR_GROUP,CHILD_REGISTRATION,CHILD_NHS_NUMBER,CHILD_GENDER,CHILD_ADDRESS_LINE_1,CHILD_ADDRESS_LINE_2,\
         CHILD_TOWN,CHILD_POSTCODE,CHILD_SCHOOL_URN,PARENT_1_NAME,PARENT_1_RELATIONSHIP,PARENT_1_EMAIL,PARENT_1_PHONE,\
         PARENT_2_NAME,PARENT_2_RELATIONSHIP,PARENT_2_EMAIL,PARENT_2_PHONE"
    )?;
    let given = ["Jennifer", "Jimmy", "Mark", "Aisha", "Oliver", "Zoë", "Siobhán", "Kwame"];
    let family = ["Clarke", "Smith", "Doe", "O'Brien", "Nowak", "Patel", "Jones", "Okafor"];
    let genders = ["Female", "Male", "Not known", "not specified"];
    let mut nhs_base = 400_000_000u64;
    for i in 0..rows {
        let nhs = loop {
            nhs_base += 1;
            if let Some(number) = shared::csv_import::values::nhs_number_starting(nhs_base) {
                break number;
            }
        };
        let nhs = if i % 2 == 0 { nhs } else { format!("{} {} {}", &nhs[..3], &nhs[3..6], &nhs[6..]) };
        let dob = NaiveDate::from_ymd_opt(2008, 9, 1).expect("date") + chrono::Duration::days((i % 1400) as i64);
        let dob = dob.format(["%Y-%m-%d", "%Y%m%d", "%d/%m/%Y"][(i % 3) as usize]);
        let (first, last) = (given[(i % 8) as usize], family[(i / 8 % 8) as usize]);
        let preferred = if i % 5 == 0 { first } else { "" };
        writeln!(
            out,
            "{first},{last},{preferred},,{dob},,{registration},{nhs},{gender},\"Flat {flat}, {house} High Street\",\
             Headingley,Leeds,LS{district} {sector}AB,123456,Parent {i},Mum,parent{i}@example.com,07412 {mobile:06},\
             Sam {last},Dad,sam{i}@example.net,{landline}",
            registration = if i % 4 == 0 { "10B" } else { "" },
            gender = genders[(i % 4) as usize],
            flat = i % 9 + 1,
            house = i % 200 + 1,
            district = i % 28 + 1,
            sector = i % 10,
            mobile = i % 1_000_000,
            landline = if i % 2 == 0 {
                format!("0113 496 {:04}", i % 10_000)
            } else {
                format!("+44 20 7946 {:04}", i % 10_000)
            },
        )?;
    }
    out.flush()
}
