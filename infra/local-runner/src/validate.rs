//! `mavis validate`: the same validation the import function runs, on a local file, without any store.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use shared::csv_import::Limits;
use shared::csv_import::child_records::{ChildFormat, ChildRecordsContext};
use shared::csv_import::report::{Status, ValidationSummary, summarise_child_records, summarise_vaccination_records};
use shared::csv_import::vaccination_records::VaccinationContext;
use shared::domain::{AcademicYear, ReferenceData};
use shared::pipeline::class_list::check_selection;
use shared::reference::vaccines::VaccineCatalogue;

#[derive(Args)]
pub struct ValidateArgs {
    /// What the file holds.
    #[arg(long, value_enum)]
    kind: Kind,
    /// Reference data (teams, schools…); the bundled demo seed by default.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// ODS code of the uploading team; the seed's first point-of-care team by default.
    #[arg(long)]
    team: Option<String>,
    /// The date academic years and year groups are computed from (YYYY-MM-DD); today by default.
    #[arg(long)]
    today: Option<NaiveDate>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Class lists: the school (URN, URN+site or SystmOne code) the list is for.
    #[arg(long)]
    school: Option<String>,
    /// Class lists: the year groups the list covers, e.g. 8,9.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    year_groups: Vec<i32>,
    /// Safety limit on data rows.
    #[arg(long, default_value_t = 1_000_000)]
    max_rows: u64,
    file: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    ChildRecords,
    ClassList,
    VaccinationRecords,
}

fn usage(message: String) -> ExitCode {
    eprintln!("mavis validate: {message}");
    ExitCode::from(2)
}

pub fn run(args: ValidateArgs) -> ExitCode {
    let reference = match shared::reference::load_or_demo(args.seed.as_deref()) {
        Ok(reference) => reference,
        Err(e) => return usage(e.to_string()),
    };
    let team = match find_team(&reference, args.team.as_deref()) {
        Ok(team) => team.clone(),
        Err(message) => return usage(message),
    };
    if let Err(e) = File::open(&args.file) {
        return usage(format!("cannot read {}: {e}", args.file.display()));
    }
    // The command line is the edge: the one place this command reads the machine's clock.
    let clock = shared::clock::Clock::system();
    let today = args.today.unwrap_or_else(|| clock.today_in_london());
    let limits = Limits { max_rows: args.max_rows };
    let mut open = || File::open(&args.file).map(BufReader::new);
    let summarised = match args.kind {
        Kind::ChildRecords | Kind::ClassList => {
            let format = match args.kind {
                Kind::ClassList => {
                    match check_selection(&reference, &team.id, args.school.as_deref(), &args.year_groups) {
                        Ok(selection) => ChildFormat::ClassList { year_groups: selection.year_groups },
                        Err(e) => {
                            let option = if e.field == "school_urn" { "--school" } else { "--year-groups" };
                            return usage(format!("{option}: {e}"));
                        }
                    }
                }
                _ => ChildFormat::ChildRecords,
            };
            let academic_year = AcademicYear::pending(today);
            let context = ChildRecordsContext { reference: &reference, team: &team, academic_year, today, format };
            summarise_child_records(&mut open, &context, &limits)
        }
        Kind::VaccinationRecords => {
            let catalogue = VaccineCatalogue::bundled();
            let now = shared::clock::on_date(today, clock.now());
            let context = VaccinationContext { reference: &reference, catalogue: &catalogue, team: &team, today, now };
            summarise_vaccination_records(&mut open, &context, &limits)
        }
    };
    let mut summary = match summarised {
        Ok(summary) => summary,
        Err(e) => return usage(format!("cannot read {}: {e}", args.file.display())),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = if args.json {
        summary.write_json(&mut out).and_then(|()| writeln!(out))
    } else {
        print_human(&mut summary, &mut out)
    };
    if let Err(e) = written.and_then(|()| out.flush()) {
        eprintln!("mavis validate: cannot write the result: {e}");
        return ExitCode::from(2);
    }
    if summary.status == Status::Valid { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn find_team<'a>(reference: &'a ReferenceData, ods: Option<&str>) -> Result<&'a shared::domain::Team, String> {
    match ods {
        Some(ods) => reference.team_by_ods(ods).ok_or_else(|| format!("no team with ODS code {ods} in the seed")),
        None => reference
            .teams
            .iter()
            .find(|t| t.kind == shared::domain::TeamKind::PointOfCare)
            .ok_or_else(|| "the seed has no point-of-care team; pass --team".to_string()),
    }
}

fn print_human(summary: &mut ValidationSummary, out: &mut dyn Write) -> std::io::Result<()> {
    if let Some(file_error) = &summary.file_error {
        return writeln!(out, "Invalid: {file_error}");
    }
    if summary.status == Status::Valid {
        return writeln!(out, "Valid: {} rows", summary.rows);
    }
    writeln!(out, "Invalid: {} of {} rows have errors", summary.rows_with_errors, summary.rows)?;
    let mut last_row = None;
    summary.errors.for_each(|error| {
        if last_row != Some(error.row) {
            writeln!(out, "Row {}", error.row)?;
            last_row = Some(error.row);
        }
        match &error.column {
            Some(column) => writeln!(out, "  {column}: {}", error.message),
            None => writeln!(out, "  {}", error.message),
        }
    })
}
