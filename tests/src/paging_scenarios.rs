//! The review lists a page at a time (hardening): 120 import issues and 120 school moves, read through the JSON API
//! 50 a page, every entry on exactly one page, the totals of the whole list on each, and a page past the end
//! answered with the last page, as Mavis's pagination does.

use std::collections::BTreeSet;
use std::future::Future;

use axum::http::StatusCode;
use chrono::NaiveDate;
use shared::domain::ImportStatus;

use crate::api::Api;
use crate::class_list_scenarios::{DIFFERENT_ROAD, WATERLOO_ROAD, import_class_list};
use crate::harness::Harness;
use crate::scenarios::clock_2023;

const NURSE: &str = "nurse@example.com";
const CHILDREN: u64 = 120;
const COHORT_HEADER: &str = "CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,\
CHILD_ADDRESS_LINE_1,CHILD_TOWN,CHILD_POSTCODE,CHILD_NHS_NUMBER";
const CLASS_LIST_HEADER: &str = "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_ADDRESS_LINE_1,\
CHILD_TOWN,CHILD_POSTCODE,CHILD_NHS_NUMBER";

pub async fn all<F, Fut>(make: F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    review_lists_come_a_page_at_a_time(make(clock_2023()).await).await;
}

/// Valid NHS numbers (modulus 11) for children 0, 1, 2…: numbers whose check digit would be 10 are skipped.
fn nhs_numbers(count: u64) -> Vec<String> {
    (0..)
        .filter_map(|n: u64| {
            let body = format!("{:09}", 400_000_000 + n);
            let sum: u32 = body.bytes().zip((2..=10).rev()).map(|(b, weight)| u32::from(b - b'0') * weight).sum();
            match 11 - sum % 11 {
                10 => None,
                11 => Some(format!("{body}0")),
                check => Some(format!("{body}{check}")),
            }
        })
        .take(count as usize)
        .collect()
}

fn child_rows(school: Option<&str>, postcode: &str) -> String {
    let mut rows = String::new();
    for (n, number) in nhs_numbers(CHILDREN).iter().enumerate() {
        let school = school.map(|urn| format!("{urn},")).unwrap_or_default();
        rows.push_str(&format!("{school}Child{n},Paged,2009-03-01,1 High Street,Leeds,{postcode},{number}\n"));
    }
    rows
}

async fn review_lists_come_a_page_at_a_time(h: Harness) {
    // A new postcode is staged for review (mavis-import.md §7.2): one issue per child.
    for postcode in ["LS1 1AA", "LS2 2BB"] {
        let file = format!("{COHORT_HEADER}\n{}", child_rows(Some(WATERLOO_ROAD), postcode));
        let import = h.import_dropped("R1L", "cohort.csv", file.into_bytes()).await;
        assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    }
    let class_list = format!("{CLASS_LIST_HEADER}\n{}", child_rows(None, "LS1 1AA"));
    let import = import_class_list(&h, "r1l", DIFFERENT_ROAD, &[9], "class.csv", class_list.into_bytes()).await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);

    let api = Api::over(&h);
    assert_paged(&api, "/api/issues", "issues").await;
    assert_paged(&api, "/api/school-moves", "school_moves").await;
    let (status, body) = api.get("/api/issues?page=first", NURSE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a page that is not a number: {body}");
}

/// Pages 1–3 of `list` hold 50, 50 and 20 distinct entries, each page gives the whole list's total, and page 9 is
/// page 3.
async fn assert_paged(api: &Api, list: &str, field: &str) {
    let mut seen = BTreeSet::new();
    for (page, expected) in [(1, 50), (2, 50), (3, 20)] {
        let (status, body) = api.get(&format!("{list}?page={page}"), NURSE).await;
        assert_eq!(status, StatusCode::OK, "{list} page {page}: {body}");
        let entries = body[field].as_array().unwrap_or_else(|| panic!("{list} has {field}: {body}"));
        assert_eq!(entries.len(), expected, "{list} page {page} holds its share of the list: {body}");
        assert_eq!((&body["page"], &body["pages"], &body["total"]), (&page.into(), &3.into(), &CHILDREN.into()));
        assert_eq!(body["count"], CHILDREN, "{list} counts the whole list on every page");
        for entry in entries {
            assert!(seen.insert(entry["id"].to_string()), "{list}: {} is on two pages", entry["id"]);
        }
    }
    assert_eq!(seen.len() as u64, CHILDREN, "every entry of {list} is on one page");
    let (_, first) = api.get(list, NURSE).await;
    assert_eq!(first["page"], 1, "no page number is the first page");
    let (status, last) = api.get(&format!("{list}?page=9"), NURSE).await;
    assert_eq!((status, &last["page"], last[field].as_array().map(Vec::len)), (StatusCode::OK, &3.into(), Some(20)));
}
