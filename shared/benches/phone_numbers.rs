//! Benchmark and exhaustive check of the UK phone fast path: every six-digit prefix of a nine- or ten-digit national
//! significant number (GB's patterns look at no more than six digits), with two endings, written `0…` and `+44…`:
//! 7,200,000 numbers. Each goes through `parse_phone` and, as the baseline, through the `phonenumber` crate's
//! parser the way `parse_phone` used it before the fast path; the answers must be identical.
//!
//! `cargo bench -p shared --bench phone_numbers` writes `target/bench-reports/phone_numbers.json` with numbers a
//! second for both and how many were valid.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use phonenumber::{Mode, country};
use shared::csv_import::values::parse_phone;

fn main() {
    let mut compared = 0u64;
    let mut valid = 0u64;
    let (mut fast, mut crate_time) = (Duration::ZERO, Duration::ZERO);
    for length in [9usize, 10] {
        for prefix in 100_000u64..1_000_000 {
            for ending in ["0000", "9876"] {
                let mut national = prefix.to_string();
                national.extend(ending.chars().cycle().take(length - national.len()));
                for written in [format!("0{national}"), format!("+44{national}")] {
                    let started = Instant::now();
                    let ours = parse_phone(&written);
                    fast += started.elapsed();
                    let started = Instant::now();
                    let theirs = with_crate(&written);
                    crate_time += started.elapsed();
                    assert_eq!(ours, theirs, "{written}");
                    compared += 1;
                    valid += u64::from(ours.is_some());
                }
            }
        }
    }
    let per_second = |d: Duration| (compared as f64 / d.as_secs_f64()).round();
    let report = serde_json::json!({
        "benchmark": "phone_numbers",
        "numbers": compared,
        "valid": valid,
        "identical_answers": compared,
        "numbers_per_second": per_second(fast),
        "baseline": {
            "what": "phonenumber::parse, is_valid and format, as parse_phone did before its UK fast path",
            "numbers_per_second": per_second(crate_time),
        },
        "times_faster_than_baseline": (crate_time.as_secs_f64() / fast.as_secs_f64() * 100.0).round() / 100.0,
    });
    let reports = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-reports");
    std::fs::create_dir_all(&reports).expect("report folder");
    std::fs::write(reports.join("phone_numbers.json"), format!("{report:#}\n")).expect("write report");
    println!("{report:#}");
}

fn with_crate(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let number = phonenumber::parse(Some(country::Id::GB), &compact).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    let mode = if number.code().value() == 44 { Mode::National } else { Mode::International };
    Some(number.format().mode(mode).to_string())
}
