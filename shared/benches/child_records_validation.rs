//! Benchmark: validating a generated child-records file of 1,000,000 rows (override with MAVIS_BENCH_ROWS).
//!
//! `cargo bench -p shared --bench child_records_validation` writes a JSON report to
//! `target/bench-reports/child_records_validation.json` with the row count, the time, rows per second and the
//! process's peak resident memory, and fails if the peak reaches 64 MiB: validation must stream.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use shared::csv_import::Limits;
use shared::csv_import::child_records::{self, ChildFormat, ChildRecordsContext};
use shared::domain::AcademicYear;

const MEMORY_LIMIT_MIB: f64 = 64.0;

fn main() {
    let rows: u64 = std::env::var("MAVIS_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let file = target.join(format!("bench-data/children-{rows}.csv"));
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
        "peak_rss_mib": round(peak_mib),
        "memory_limit_mib": MEMORY_LIMIT_MIB,
    });
    let reports = target.join("bench-reports");
    std::fs::create_dir_all(&reports).expect("report folder");
    std::fs::write(reports.join("child_records_validation.json"), format!("{report:#}\n")).expect("write report");
    println!("{report:#}");
    assert!(peak_mib < MEMORY_LIMIT_MIB, "peak memory {peak_mib:.1} MiB reached the {MEMORY_LIMIT_MIB} MiB limit");
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

/// Writes `rows` distinct valid children (valid NHS numbers, dates in years 8–11 for academic year 2022).
fn generate(path: &Path, rows: u64) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().expect("parent"))?;
    let mut out = BufWriter::new(File::create(path)?);
    writeln!(
        out,
        "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_ADDRESS_LINE_1,CHILD_TOWN,CHILD_POSTCODE,\
         CHILD_NHS_NUMBER,CHILD_SCHOOL_URN,PARENT_1_NAME,PARENT_1_RELATIONSHIP,PARENT_1_EMAIL,PARENT_1_PHONE"
    )?;
    let given = ["Jennifer", "Jimmy", "Mark", "Aisha", "Oliver", "Zoë", "Siobhán", "Kwame"];
    let family = ["Clarke", "Smith", "Doe", "O'Brien", "Nowak", "Patel", "Jones", "Okafor"];
    let mut nhs_base = 400_000_000u64;
    for i in 0..rows {
        let nhs = loop {
            nhs_base += 1;
            if let Some(number) = with_check_digit(nhs_base) {
                break number;
            }
        };
        let dob = NaiveDate::from_ymd_opt(2008, 9, 1).expect("date") + chrono::Duration::days((i % 1400) as i64);
        writeln!(
            out,
            "{},{},{},{} High Street,Leeds,LS1 {}AB,{},123456,Parent {},Mum,parent{}@example.com,07412 {:06}",
            given[(i % 8) as usize],
            family[(i / 8 % 8) as usize],
            dob.format("%Y-%m-%d"),
            i % 200 + 1,
            i % 10,
            nhs,
            i,
            i,
            i % 1_000_000
        )?;
    }
    out.flush()
}

/// A 10-digit NHS number from 9 digits, or None when the check digit would be 10.
fn with_check_digit(nine: u64) -> Option<String> {
    let digits: Vec<u64> = format!("{nine:09}").bytes().map(|b| u64::from(b - b'0')).collect();
    let sum: u64 = digits.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
    let check = (11 - sum % 11) % 11;
    (check != 10).then(|| format!("{nine:09}{check}"))
}
