//! The review pages (pages.md §6–§8) through the real Router: import issues side by side and their decisions,
//! with every refusal a clear page and nothing half-applied. The browser suite runs the same flows in Chromium.

mod page_site;

use axum::http::StatusCode;
use chrono::NaiveDate;
use page_site::{Answer, Browser, Site, fixture, unescape};
use shared::domain::notice::{ImportantNotice, NoticeKind};
use uuid::Uuid;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// The first link on the page whose address starts with `prefix`.
fn link(page: &Answer, prefix: &str) -> String {
    let marker = format!("href=\"{prefix}");
    let start = page.body.find(&marker).unwrap_or_else(|| panic!("no link to {prefix}…")) + "href=\"".len();
    let end = start + page.body[start..].find('"').expect("closing quote");
    unescape(&page.body[start..end])
}

/// The Imports item of the header, with its count badge if any.
fn imports_count(page: &Answer) -> Option<String> {
    let at = page.body.find("href=\"/imports\"")?;
    let item = &page.body[at..at + page.body[at..].find("</a>")?];
    let badge = item.find("class=\"app-count\"")?;
    let digits: String = item[badge..].split('>').nth(3)?.chars().take_while(char::is_ascii_digit).collect();
    Some(digits)
}

async fn nurse_with_jennifers_issue(site: &Site) -> (Browser<'_>, String) {
    let mut nurse = site.browser();
    nurse.sign_in("nurse@example.com", "/dashboard").await;
    nurse.import("/imports/new/child-records", "valid.csv", &fixture("cohort_import/valid.csv")).await;
    let changed = fixture("cohort_import/valid_with_changes.csv");
    let import = nurse.import("/imports/new/child-records", "valid_with_changes.csv", &changed).await;
    (nurse, import)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_should_be_compared_side_by_side_and_resolved_once_with_the_uploaded_record() {
    let site = Site::new(day(2023, 5, 20)).await;
    let (mut nurse, import) = nurse_with_jennifers_issue(&site).await;

    let imported = nurse.get(&import).await;
    assert!(imported.body.contains("Close matches to existing records - needs review"), "{}", imported.body);
    assert!(imported.body.contains("1 record flagged with upload issues for review"));
    assert!(imported.body.contains("Matched on NHS number. Address and year group do not match."));
    assert_eq!(imports_count(&imported).as_deref(), Some("1"), "the header counts the open issue");

    let list = nurse.get("/imports/issues").await;
    assert_eq!(list.status, StatusCode::OK);
    for text in [
        "1 uploaded record needs review",
        "CLARKE, Jennifer",
        "999 000 0018",
        "aria-current=\"true\"><strong>Import issues",
    ] {
        assert!(list.body.contains(text), "{text}");
    }

    // From P7 the review returns to the import.
    let review_path = link(&imported, "/imports/issues/");
    assert!(review_path.ends_with(&format!("?return_to={import}")), "{review_path}");
    let review = nurse.get(&review_path).await;
    assert_eq!(review.status, StatusCode::OK);
    assert!(
        review.body.contains("<span class=\"nhsuk-caption-l\">CLARKE, Jennifer</span> Review duplicate child record")
    );
    assert!(
        review.body.contains("<span class=\"app-highlight\">1 Whitehall<br>London<br>SW1A 1AB</span>"),
        "{}",
        review.body
    );
    assert!(review.body.contains("10 Downing Street<br>London<br>SW1A 1AA"));
    assert!(review.body.contains("Use uploaded child record") && review.body.contains("Keep existing child record"));
    assert!(!review.body.contains("Keep both child records"), "matched on NHS number: no keep both");
    let action = review_path.split('?').next().expect("path").to_string();
    let token = review.field("csrf_token");

    let nothing = nurse.post_form(&action, &[("csrf_token", &token), ("return_to", &import)]).await;
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nothing.body.contains("There is a problem") && nothing.body.contains("Choose which record to keep"));
    assert!(nothing.body.contains("<title>Error: "), "the title says there is an error");

    // A hand-made keep-both after an NHS-number match is refused with the reason; so is a made-up decision.
    let tampered = [("csrf_token", token.as_str()), ("decision", "keep-both"), ("return_to", import.as_str())];
    let refused = nurse.post_form(&action, &tampered).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Keep both is not possible"), "{}", refused.body);
    let made_up = nurse.post_form(&action, &[("csrf_token", &token), ("decision", "delete-everything")]).await;
    assert_eq!(made_up.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(made_up.body.contains("Choose which record to keep"));

    let chosen = [("csrf_token", token.as_str()), ("decision", "use-uploaded"), ("return_to", import.as_str())];
    let decided = nurse.post_form(&action, &chosen).await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER);
    assert_eq!(decided.location(), import, "back where the review started");
    let back = nurse.follow(decided).await;
    assert!(back.body.contains("Record updated"), "the flash");
    assert!(!back.body.contains("Close matches to existing records"));
    assert_eq!(imports_count(&back), None, "no open issues: no count");
    assert!(nurse.get("/imports/issues").await.body.contains("No issues to review."));

    // The same form sent again: a clear refusal, the child changed once.
    let again = nurse.post_form(&action, &chosen).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("This issue has already been resolved by someone else."));
    assert_eq!(nurse.get(&action).await.status, StatusCode::NOT_FOUND, "a resolved issue has no review page");

    let children = nurse.get(&format!("{import}?page=1")).await;
    let child = nurse.get(&link(&children, "/patients/")).await;
    assert!(child.body.contains("1 Whitehall"), "{}", child.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_team_should_find_no_issue_to_see_or_decide() {
    let site = Site::new(day(2023, 5, 20)).await;
    let (mut nurse, _) = nurse_with_jennifers_issue(&site).await;
    let review_path = link(&nurse.get("/imports/issues").await, "/imports/issues/");
    let mut bradford = site.browser();
    let landed = bradford.sign_in("nurse2@example.com", "/imports/issues").await;
    assert!(landed.body.contains("No issues to review."));
    let seen = bradford.get(&review_path).await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND);
    assert!(seen.body.contains("Page not found"));
    let token = landed.field("csrf_token");
    let decided = bradford.post_form(&review_path, &[("csrf_token", &token), ("decision", "use-uploaded")]).await;
    assert_eq!(decided.status, StatusCode::NOT_FOUND);
    assert!(nurse.get("/imports/issues").await.body.contains("1 uploaded record needs review"), "nothing changed");

    // Without the form's token nothing is decided either.
    let forged = nurse.post_form(&review_path, &[("decision", "use-uploaded")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(nurse.get("/imports/issues").await.body.contains("1 uploaded record needs review"));

    let mut reporter = site.browser();
    let refused = reporter.sign_in("reporter@example.com", "/imports/issues").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("You are not authorized to perform this action."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twins_should_be_kept_as_two_children() {
    let site = Site::new(day(2023, 5, 20)).await;
    let mut nurse = site.browser();
    nurse.sign_in("nurse@example.com", "/dashboard").await;
    let header = "CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_ADDRESS_LINE_1,CHILD_TOWN,CHILD_POSTCODE";
    let twin =
        |postcode: &str| format!("{header}\n123456,Taylor,Reed,2010-01-01,10 Downing Street,London,{postcode}\n");
    let first = nurse.import("/imports/new/child-records", "twins-a.csv", twin("SW1A 1AA").as_bytes()).await;
    let second = nurse.import("/imports/new/child-records", "twins-b.csv", twin("SW1A 1AB").as_bytes()).await;
    let list = nurse.get("/imports/issues").await;
    assert!(list.body.contains("Possible match found. Review and confirm."), "{}", list.body);
    let review_path = link(&list, "/imports/issues/");
    let review = nurse.get(&review_path).await;
    assert!(review.body.contains("Keep both child records"));
    assert!(review.body.contains("The existing record will stay in Mavis and the uploaded record will be added"));
    let token = review.field("csrf_token");
    let decided = nurse.post_form(&review_path, &[("csrf_token", &token), ("decision", "keep-both")]).await;
    assert_eq!(decided.location(), "/imports/issues");
    assert!(nurse.follow(decided).await.body.contains("Record updated"));

    let child_of = |page: &Answer| link(page, "/patients/");
    let (a, b) = (child_of(&nurse.get(&first).await), child_of(&nurse.get(&second).await));
    assert_ne!(a, b, "each import's Taylor is a child of its own");
    assert!(nurse.get(&a).await.body.contains("SW1A 1AA"));
    assert!(nurse.get(&b).await.body.contains("SW1A 1AB"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_vaccination_should_show_the_changed_batch_and_keep_the_existing_record() {
    let site = Site::new(day(2025, 8, 1)).await;
    let mut nurse = site.browser();
    nurse.sign_in("nurse@example.com", "/dashboard").await;
    let header = "ORGANISATION_CODE,SCHOOL_URN,NHS_NUMBER,PERSON_FORENAME,PERSON_SURNAME,PERSON_DOB,PERSON_GENDER_CODE,PERSON_POSTCODE,VACCINATED,DATE_OF_VACCINATION,PROGRAMME,VACCINE_GIVEN,BATCH_NUMBER,BATCH_EXPIRY_DATE,ANATOMICAL_SITE";
    let row = |batch: &str| {
        format!(
            "{header}\nR1L,120026,4146825652,Caden,Attwater,20120914,Male,LE1 2DA,Y,20250514,Flu,Sanofi Vaxigrip,{batch},20260730,Left Thigh\n"
        )
    };
    nurse.import("/imports/new/vaccination-records", "vacc-a.csv", row("123013325").as_bytes()).await;
    let second = nurse.import("/imports/new/vaccination-records", "vacc-b.csv", row("ABC123").as_bytes()).await;
    let imported = nurse.get(&second).await;
    assert!(imported.body.contains("Imported record closely matches an existing record. Review and confirm."));
    let review_path = link(&imported, "/imports/issues/");
    let review = nurse.get(&review_path).await;
    assert!(review.body.contains("Review duplicate vaccination record"), "{}", review.body);
    assert!(review.body.contains("<span class=\"app-highlight\">ABC123</span>"));
    assert!(review.body.contains("123013325"));
    assert!(
        review.body.contains("Use uploaded vaccination record")
            && review.body.contains("Keep existing vaccination record")
    );
    assert!(!review.body.contains("Keep both") && !review.body.contains("Synced with NHS England?"));
    let token = review.field("csrf_token");
    let chosen = [("csrf_token", token.as_str()), ("decision", "keep-existing"), ("return_to", second.as_str())];
    let decided = nurse.post_form(review_path.split('?').next().expect("path"), &chosen).await;
    assert_eq!(decided.location(), second);
    let back = nurse.follow(decided).await;
    assert!(back.body.contains("Record updated"));
    assert!(!back.body.contains("Close matches to existing records"));
}

/// Every distinct link on the page whose address starts with `prefix`, in order.
fn links(page: &Answer, prefix: &str) -> Vec<String> {
    let marker = format!("href=\"{prefix}");
    let mut found: Vec<String> = Vec::new();
    for (at, _) in page.body.match_indices(&marker) {
        let start = at + "href=\"".len();
        let end = start + page.body[start..].find('"').expect("closing quote");
        let href = unescape(&page.body[start..end]);
        if !found.contains(&href) {
            found.push(href);
        }
    }
    found
}

async fn give_notice(site: &Site, child_path: &str, kind: NoticeKind, minutes_ago: i64) -> ImportantNotice {
    let patient_id: Uuid = child_path.trim_start_matches("/patients/").parse().expect("child id");
    let at = site.clock.now() - chrono::Duration::minutes(minutes_ago);
    let notice = ImportantNotice::new(patient_id, "r1l", kind, at);
    site.records.transact(vec![shared::store::notices::create_op(&notice)]).await.expect("notice");
    notice
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_should_be_for_super_admins_and_dismissed_once() {
    let site = Site::new(day(2023, 5, 20)).await;
    let mut admin = site.browser();
    admin.sign_in("superuser@example.com", "/dashboard").await;
    let import = admin.import("/imports/new/child-records", "valid.csv", &fixture("cohort_import/valid.csv")).await;
    let children = links(&admin.get(&import).await, "/patients/");
    assert_eq!(children.len(), 3);
    assert!(!admin.get("/dashboard").await.body.contains("Important notices"), "no banner at 0");
    let deceased = give_notice(&site, &children[0], NoticeKind::Deceased, 2).await;
    let invalid = give_notice(&site, &children[1], NoticeKind::Invalidated, 1).await;

    // A nurse who is not a super admin sees neither the banner nor the tab, and is refused every notices route.
    let mut nurse = site.browser();
    let dashboard = nurse.sign_in("nurse@example.com", "/dashboard").await;
    assert!(!dashboard.body.contains("need attention") && !dashboard.body.contains("needs attention"));
    assert!(!nurse.get("/imports").await.body.contains("Important notices"));
    let dismiss_path = format!("/imports/notices/{}/dismiss", deceased.id);
    for path in ["/imports/notices", dismiss_path.as_str()] {
        let refused = nurse.get(path).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
        assert!(refused.body.contains("You are not authorized to perform this action."));
    }
    let token = dashboard.field("csrf_token");
    assert_eq!(nurse.post_form(&dismiss_path, &[("csrf_token", &token)]).await.status, StatusCode::FORBIDDEN);
    // Another team: Leeds's notice is simply not there.
    let mut bradford = site.browser();
    let landed = bradford.sign_in("nurse2@example.com", "/dashboard").await;
    assert_eq!(bradford.get(&dismiss_path).await.status, StatusCode::NOT_FOUND);
    let token2 = landed.field("csrf_token");
    assert_eq!(bradford.post_form(&dismiss_path, &[("csrf_token", &token2)]).await.status, StatusCode::NOT_FOUND);

    let dashboard = admin.get("/dashboard").await;
    assert!(dashboard.body.contains("2 important notices need attention"), "{}", dashboard.body);
    let list = admin.get("/imports/notices").await;
    assert!(list.body.contains("2 notices"));
    assert!(
        list.body.contains("Record updated with child’s date of death")
            && list.body.contains("Record flagged as invalid")
    );
    assert_eq!(links(&list, "/imports/notices/").len(), 1, "no Dismiss for the invalidated notice");
    assert!(list.body.find("Record flagged as invalid") < list.body.find("date of death"), "newest first");

    let invalid_path = format!("/imports/notices/{}/dismiss", invalid.id);
    assert_eq!(admin.get(&invalid_path).await.status, StatusCode::NOT_FOUND);
    let token = list.field("csrf_token");
    let refused = admin.post_form(&invalid_path, &[("csrf_token", &token)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Invalidated notices cannot be dismissed."));

    let confirm = admin.get(&dismiss_path).await;
    assert!(
        confirm.body.contains("Are you sure you want to dismiss this notice?")
            && confirm.body.contains("This cannot be undone.")
    );
    assert!(confirm.body.contains("No, return to notices"));
    let dismissed = admin.post_form(&dismiss_path, &[("csrf_token", &token)]).await;
    assert_eq!(dismissed.location(), "/imports/notices");
    let after = admin.follow(dismissed).await;
    assert!(after.body.contains("Notice dismissed") && after.body.contains("1 notice"));
    let repeated = admin.post_form(&dismiss_path, &[("csrf_token", &token)]).await;
    let again = admin.follow(repeated).await;
    assert!(again.body.contains("This notice had already been dismissed") && again.body.contains("1 notice"));
    assert!(admin.get("/dashboard").await.body.contains("1 important notice needs attention"));

    // The banners show on the record for every member of the team.
    let record = nurse.get(&children[1]).await;
    assert!(!record.body.contains("Record flagged as invalid"), "only while the number is invalidated");
    assert!(nurse.get(&children[0]).await.body.contains("Record updated with child’s date of death"));
}

fn class_list_page(urn: &str) -> String {
    format!("/imports/new/class-list?school={urn}&year_group=8&year_group=9&year_group=10&year_group=11")
}

/// The number in the header's "School moves" count badge, if shown.
fn school_moves_count(page: &Answer) -> Option<String> {
    let at = page.body.find("href=\"/school-moves\"")?;
    let item = &page.body[at..at + page.body[at..].find("</a>")?];
    let badge = item.find("class=\"app-count\"")?;
    Some(item[badge..].split('>').nth(3)?.chars().take_while(char::is_ascii_digit).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn school_moves_should_be_confirmed_or_ignored_once_and_downloaded() {
    let site = Site::new(day(2023, 5, 20)).await;
    let mut nurse = site.browser();
    nurse.sign_in("nurse@example.com", "/dashboard").await;
    let class_list = fixture("class_import/valid.csv");
    nurse.import(&class_list_page("141001"), "valid.csv", &class_list).await;
    assert!(nurse.get("/school-moves").await.body.contains("There are currently no school moves."));
    nurse.import(&class_list_page("141002"), "valid.csv", &class_list).await;

    let list = nurse.get("/school-moves").await;
    assert_eq!(school_moves_count(&list).as_deref(), Some("4"));
    for text in ["4 school moves", "Class list updated", "Waterloo Road", "Different Road", "Review"] {
        assert!(list.body.contains(text), "{text}");
    }
    let reviews = links(&list, "/school-moves/");
    let reviews: Vec<&String> = reviews.iter().filter(|l| !l.contains("download")).collect();
    assert_eq!(reviews.len(), 4);

    let review = nurse.get(reviews[0]).await;
    assert!(review.body.contains("Review school move") && review.body.contains("Class list record"));
    assert!(review.body.contains("<span class=\"app-highlight\">Different Road</span>"), "{}", review.body);
    let token = review.field("csrf_token");
    let nothing = nurse.post_form(reviews[0], &[("csrf_token", &token)]).await;
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nothing.body.contains("Choose whether to update the child’s record with this new information"));

    let confirmed = nurse.post_form(reviews[0], &[("csrf_token", &token), ("decision", "confirm")]).await;
    assert_eq!(confirmed.location(), "/school-moves");
    let after = nurse.follow(confirmed).await;
    assert!(after.body.contains("’s school record updated") && after.body.contains("3 school moves"), "{}", after.body);
    let again = nurse.post_form(reviews[0], &[("csrf_token", &token), ("decision", "ignore")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("This school move has already been confirmed or ignored by someone else."));
    assert_eq!(nurse.get(reviews[0]).await.status, StatusCode::NOT_FOUND);

    let ignored = nurse.post_form(reviews[1], &[("csrf_token", &token), ("decision", "ignore")]).await;
    let after = nurse.follow(ignored).await;
    assert!(after.body.contains("’s school move ignored") && after.body.contains("2 school moves"));

    // Another team sees none of it.
    let mut bradford = site.browser();
    bradford.sign_in("nurse2@example.com", "/dashboard").await;
    assert_eq!(bradford.get(reviews[2]).await.status, StatusCode::NOT_FOUND);

    // The download: dates checked, then the confirm page with the count, then the CSV.
    let form = nurse.get("/school-moves/download").await;
    assert!(form.body.contains("Download school moves") && form.body.contains("From (optional)"));
    let bad = [("csrf_token", token.as_str()), ("from-day", "31"), ("from-month", "2"), ("from-year", "2023")];
    let refused = nurse.post_form("/school-moves/download", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Enter a real date"));
    let backwards = [
        ("csrf_token", token.as_str()),
        ("from-day", "2"),
        ("from-month", "5"),
        ("from-year", "2023"),
        ("to-day", "1"),
        ("to-month", "5"),
        ("to-year", "2023"),
    ];
    let refused = nurse.post_form("/school-moves/download", &backwards).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Enter a ‘To’ date that is the same as or after the ‘From’ date"));
    let chosen = nurse.post_form("/school-moves/download", &[("csrf_token", token.as_str())]).await;
    assert_eq!(chosen.location(), "/school-moves/download/confirm?from=&to=");
    let confirm = nurse.follow(chosen).await;
    assert!(confirm.body.contains("Check and confirm") && confirm.body.contains("Earliest recorded vaccination"));
    assert!(confirm.body.contains("Latest recorded vaccination"));
    let csv = nurse.get(&link(&confirm, "/school-moves/download.csv")).await;
    assert!(csv.headers[axum::http::header::CONTENT_DISPOSITION].to_str().unwrap().contains("school_moves_export.csv"));
    assert!(csv.body.starts_with("NHS_REF,SURNAME,FORENAME"));
    let rows = csv.body.lines().count() - 1;
    assert!(rows > 0);
    let shown = format!(
        "<dt class=\"nhsuk-summary-list__key\">Records</dt><dd class=\"nhsuk-summary-list__value\">{rows}</dd>"
    );
    assert!(confirm.body.contains(&shown), "the count is the file's rows ({rows})");
    // A range that ends before any move: no rows.
    let early = nurse.get("/school-moves/download/confirm?from=&to=2020-01-01").await;
    assert!(early.body.contains("01 January 2020"));
    assert!(
        early.body.contains(
            "<dt class=\"nhsuk-summary-list__key\">Records</dt><dd class=\"nhsuk-summary-list__value\">0</dd>"
        )
    );
}

/// A cohort of `children` at Waterloo Road with valid NHS numbers, all at `postcode`.
fn cohort(children: usize, postcode: &str) -> Vec<u8> {
    let mut file = String::from(
        "CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_POSTCODE,CHILD_NHS_NUMBER\n",
    );
    let numbers = (0u64..).filter_map(|n| {
        let body = format!("{:09}", 600_000_000 + n);
        let sum: u32 = body.bytes().zip((2..=10).rev()).map(|(b, weight)| u32::from(b - b'0') * weight).sum();
        match 11 - sum % 11 {
            10 => None,
            11 => Some(format!("{body}0")),
            check => Some(format!("{body}{check}")),
        }
    });
    for (i, number) in numbers.take(children).enumerate() {
        file.push_str(&format!("141001,Child{i},Paged,2009-03-01,{postcode},{number}\n"));
    }
    file.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_issues_list_should_come_50_a_page_and_the_import_page_should_show_the_first_50() {
    let site = Site::new(day(2023, 5, 20)).await;
    let mut nurse = site.browser();
    nurse.sign_in("nurse@example.com", "/dashboard").await;
    nurse.import("/imports/new/child-records", "first.csv", &cohort(60, "LS1 1AA")).await;
    let import = nurse.import("/imports/new/child-records", "moved.csv", &cohort(60, "LS2 2BB")).await;

    let page = nurse.get(&import).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("60 upload issues"), "the section counts every issue");
    assert_eq!(links(&page, "/imports/issues/").len(), 50, "the import page lists the first 50");
    assert!(page.body.contains("These are the first 50. Review all 60 on the"), "and says where the rest are");

    let first = nurse.get("/imports/issues").await;
    assert!(unescape(&first.body).contains("60 uploaded records need review"));
    assert_eq!(links(&first, "/imports/issues/").len(), 50);
    assert!(first.body.contains("href=\"/imports/issues?page=2\""), "numbered pagination to page 2");
    let second = nurse.get("/imports/issues?page=2").await;
    assert_eq!(links(&second, "/imports/issues/").len(), 10);
}
