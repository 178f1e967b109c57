//! SystmOne exports (mavis-import.md §3.2): the header row of `immunisation_import/point_of_care/systm_one.csv`,
//! `Vaccination type` split into programme or vaccine and dose, SystmOne school codes and `Event location type`.
//! Clock 2025-05-20 (AY 2024), Team A with all five programmes.

use super::test_support::{ALL, Listed, at, london, poc, reference, rows_of, validate_bytes};
use crate::csv_import::Limits;
use crate::domain::vaccination::{RecordSource, VaccinationOutcome};
use crate::domain::{Gender, Programme};

const TODAY: &str = "2025-05-20";
const HEADER: &str = "Date of birth,NHS number,Vaccination area code,Vaccination batch number,Vaccination reason,Vaccination type,First name,Postcode,Sex,Surname,Event date,Event location type,Event time,Team ID,School,School code,Patient Count";

/// A SystmOne line for one child: only the cells the tests vary are parameters.
fn line(first_name: &str, vaccination_type: &str, event_date: &str, location_type: &str, school: &str) -> String {
    format!(
        "20100912,,AREA1,AB123,Routine,{vaccination_type},{first_name},LE3 2DA,Female,Pickle,{event_date},\
         {location_type},,T1,Some School,{school},1"
    )
}

fn file(lines: &[String]) -> String {
    format!("{HEADER}\n{}\n", lines.join("\n"))
}

fn check(lines: &[String]) -> Listed {
    let reference = reference(&ALL);
    validate_bytes(file(lines).as_bytes(), &poc(&reference, TODAY), &Limits::default()).expect("accepted file").1
}

#[test]
fn when_systm_one_file_is_read_should_resolve_programme_vaccine_and_dose() {
    let lines = vec![
        "20100912,7420180008,AREA1,AB123,Routine,HPV 1P,Chyna,LE3 2DA,Female,Pickle,20250115,School,10:30,T1,Kirkstall,TT110158,1".to_string(),
        "20100913,,AREA1,AB124,Routine,Cervarix 2,Renie,LE1 2DA,Unknown,Parrish,20240110,School,,T1,Kirkstall,TT110158,1".to_string(),
        "20100914,4146825652,AREA1,AB125,Routine,Td/IPV 1B,Caden,LE1 2DA,Male,Attwater,20240110,School,,T1,Surrey,123456,1".to_string(),
        "20100915,2675725722,AREA1,AB126,Routine,Measles/Mumps/Rubella 1B,Berry,LE8 2DA,Female,Hamilton,20240110,Community clinic,,T1,,,1".to_string(),
        "20100916,1108533868,AREA1,AB127,Routine,MenACWY 2B,Jordin,LE2 2PX,Male,Mould,20240110,School,,T1,,,1".to_string(),
        "20100917,8160442742,AREA1,AB128,Routine,Human Papillomavirus 3,Oliver,LE5 2RP,Male,Bowers,20240110,,,T1,Some School,,1".to_string(),
    ];
    assert_eq!(check(&lines), Listed::new());

    let reference = reference(&ALL);
    let rows = rows_of(file(&lines).as_bytes(), &poc(&reference, TODAY));
    let resolved: Vec<_> =
        rows.iter().map(|r| (r.details.programme, r.details.vaccine.as_deref(), r.details.dose_sequence)).collect();
    assert_eq!(
        resolved,
        [
            (Programme::Hpv, None, Some(1)),
            (Programme::Hpv, Some("cervarix"), Some(2)),
            (Programme::TdIpv, None, Some(4)),
            (Programme::Mmr, None, Some(2)),
            (Programme::Menacwy, None, Some(3)),
            (Programme::Hpv, None, Some(3)),
        ]
    );
    assert!(
        rows.iter().all(|r| r.details.outcome == VaccinationOutcome::Administered
            && r.details.source == RecordSource::HistoricalUpload)
    );

    let chyna = &rows[0];
    assert_eq!(chyna.details.batch_number.as_deref(), Some("AB123"));
    assert_eq!(chyna.details.performed_at, london("2025-01-15", "10:30"));
    assert!(chyna.details.time_given);
    assert_eq!(chyna.child.school_urn.as_deref(), Some("110158"), "SystmOne code TT110158");
    assert_eq!(chyna.details.location_name.as_deref(), Some("School 110158"));
    assert_eq!(chyna.child.attributes.nhs_number.as_deref(), Some("7420180008"));
    assert_eq!(rows[1].child.gender, Gender::NotKnown, "Sex Unknown");
    assert_eq!(rows[2].details.location_name.as_deref(), Some("School 123456"));
    assert_eq!(rows[3].details.location_name.as_deref(), Some("Unknown"), "community setting without a clinic name");
    assert_eq!(rows[5].details.location_name.as_deref(), Some("Some School"), "unknown setting: the School column");
}

#[test]
fn when_dose_in_vaccination_type_is_unknown_or_out_of_range_should_give_a_row_error() {
    let lines = vec![
        line("A", "HPV 4P", "20240110", "School", ""),
        line("B", "HPV 4", "20240110", "School", ""),
        line("C", "Td/IPV 7", "20240110", "School", ""),
        line("D", "MMR 0", "20240110", "School", ""),
        line("E", "Fluenz 1", "20250110", "School", ""),
    ];
    let header = "Vaccination type";
    assert_eq!(
        check(&lines),
        vec![
            at(2, header, "Enter a dose sequence number, for example, 1, 2 or 3."),
            at(3, header, "must be less than or equal to 3"),
            at(4, header, "must be less than or equal to 6"),
            at(5, header, "must be greater than 0"),
            at(6, header, "Enter a dose sequence number, for example, 1, 2 or 3."),
        ]
    );
}

#[test]
fn when_vaccination_type_names_an_unknown_vaccine_should_refuse_programme_and_vaccine() {
    assert_eq!(
        check(&[line("A", "Gardasil99 1", "20240110", "School", "")]),
        vec![
            at(2, "Vaccination type", "This programme is not available in this session."),
            at(2, "Vaccination type", "This vaccine is not valid."),
        ]
    );
}

#[test]
fn when_vaccination_type_names_a_programme_the_team_lacks_should_refuse_it() {
    let reference = {
        let mut reference = reference(&ALL);
        reference.teams[0].programmes = vec![Programme::Hpv];
        reference
    };
    let (_, errors) = validate_bytes(
        file(&[line("A", "Td/IPV 1", "20240110", "School", "")]).as_bytes(),
        &poc(&reference, TODAY),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(errors, vec![at(2, "Vaccination type", "This programme is not available in this session.")]);
}

#[test]
fn when_vaccination_type_spells_out_a_scheduled_booster_should_match_the_code_table() {
    // Unlike DOSE_SEQUENCE, the dose text of Vaccination type keeps its spaces, so the named boosters match.
    let reference = reference(&ALL);
    let rows = rows_of(
        file(&[line("A", "Td/IPV 1st Scheduled Booster", "20240110", "School", "")]).as_bytes(),
        &poc(&reference, TODAY),
    );
    assert_eq!(rows[0].details.dose_sequence, Some(4));
}

#[test]
fn when_systm_one_school_code_is_unknown_should_not_recognise_it() {
    assert_eq!(
        check(&[line("A", "HPV 1", "20240110", "School", "TT999999")]),
        vec![at(
            2,
            "School code",
            "The school URN is not recognised. If you’ve checked the URN, and you believe it’s valid, contact our support team."
        )]
    );
}
