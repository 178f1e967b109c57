//! The pages through the real Router with a cookie jar: sign-in through the local OpenID Connect provider (the same
//! code path as CIS2 on AWS), sessions, CSRF, the security headers, team scoping, and a file uploaded through the
//! signed form into the folder store. The browser suite (tests/browser) runs the same pages in Chromium.

mod page_site;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use page_site::{Site, form_upload, stored_import_path};
use shared::domain::ImportStatus;
use shared::pipeline::{Handled, ObjectCreated, Pipeline, PipelineSettings};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 5, 20).expect("date")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_not_signed_in_a_page_should_send_the_user_to_sign_in_and_back_again() {
    let site = Site::new(today()).await;
    let mut browser = site.browser();
    let answer = browser.get("/imports?cursor=").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/sign-in?return_to=%2Fimports%3Fcursor%3D");

    let landed = browser.sign_in("nurse@example.com", "/imports").await;
    assert_eq!(landed.status, StatusCode::OK);
    assert!(landed.body.contains("<h1 class=\"nhsuk-heading-xl\">Import records</h1>"), "{}", landed.body);
    assert!(landed.body.contains("USER, Test"), "the header names the user");
    let session = browser.cookies.get("mavis_session").cloned().expect("a session cookie");

    // A fresh session at every sign-in.
    browser.sign_in("nurse@example.com", "/dashboard").await;
    assert_ne!(browser.cookies.get("mavis_session"), Some(&session));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_should_carry_the_security_headers_and_no_store() {
    let site = Site::new(today()).await;
    let mut browser = site.browser();
    let page = browser.sign_in("nurse@example.com", "/dashboard").await;
    let header = |name: &str| page.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(header("content-security-policy").contains("script-src 'self';"));
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(!header("content-security-policy").contains("unsafe-inline"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(header("cache-control"), "no-store");
    assert!(!page.body.contains("<script>"), "no inline script");
    assert!(!page.body.contains(" style="), "no inline style");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_post_without_the_csrf_token_should_be_refused_and_change_nothing() {
    let site = Site::new(today()).await;
    let mut browser = site.browser();
    browser.sign_in("nurse@example.com", "/dashboard").await;
    let refused = browser.post_form("/imports/new", &[("type", "child-records")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = browser.post_form("/sign-out", &[("csrf_token", "guessed")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/dashboard").await.status, StatusCode::OK, "still signed in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_should_end_the_session_even_for_a_replayed_cookie() {
    let site = Site::new(today()).await;
    let mut browser = site.browser();
    let dashboard = browser.sign_in("nurse@example.com", "/dashboard").await;
    let stolen = browser.cookies.clone();
    let csrf = dashboard.field("csrf_token");
    let out = browser.post_form("/sign-out", &[("csrf_token", &csrf)]).await;
    assert_eq!(out.location(), "/signed-out");
    let mut replay = site.browser();
    replay.cookies = stolen;
    assert_eq!(replay.get("/dashboard").await.status, StatusCode::SEE_OTHER, "the old cookie signs nobody in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_should_end_after_30_idle_minutes() {
    let site = Site::new(today()).await;
    let mut browser = site.browser();
    browser.sign_in("nurse@example.com", "/dashboard").await;
    site.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(browser.get("/dashboard").await.status, StatusCode::OK);
    site.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(browser.get("/dashboard").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_should_say_what_is_missing_and_refuse_another_teams_school() {
    let site = Site::new(today()).await;
    let mut browser = site.browser();
    let page = browser.sign_in("nurse@example.com", "/imports/new").await;
    let csrf = page.field("csrf_token");
    let nothing = browser.post_form("/imports/new", &[("csrf_token", &csrf)]).await;
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nothing.body.contains("Choose which type of records you are importing"));
    assert!(nothing.body.contains("<title>Error: What type of records are you importing?"));
    let chosen = browser.post_form("/imports/new", &[("csrf_token", &csrf), ("type", "class-list")]).await;
    assert_eq!(chosen.location(), "/imports/new/class-list/school");
    // Bradford's school in a Leeds nurse's URL: the school step again, with its error.
    let foreign = browser.get("/imports/new/class-list/year-groups?school=111222").await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(foreign.body.contains("Choose which school this class list is for"));
    let none =
        browser.post_form("/imports/new/class-list/year-groups", &[("csrf_token", &csrf), ("school", "141001")]).await;
    assert!(none.body.contains("Choose which year groups you want to import class list records for"));
    let ticked = browser
        .post_form(
            "/imports/new/class-list/year-groups",
            &[("csrf_token", &csrf), ("school", "141001"), ("year_group", "8"), ("year_group", "9")],
        )
        .await;
    assert_eq!(ticked.location(), "/imports/new/class-list?school=141001&year_group=8&year_group=9");
    let upload = browser.get(&ticked.location()).await;
    assert!(upload.body.contains("Import class list records") && upload.body.contains("Waterloo Road"));
}

/// The multipart body a browser sends for the page's upload form, with `file` as the chosen file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_should_go_through_the_signed_form_to_the_store_and_land_on_its_import() {
    let site = Site::new(today()).await;
    let mut browser = site.browser();
    let page = browser.sign_in("nurse@example.com", "/imports/new/child-records").await;
    assert!(page.body.contains("How to format your Mavis CSV file for child records"));
    // Reloading the page reuses the import that waits for this file.
    let again = browser.get("/imports/new/child-records").await;
    assert_eq!(again.field("key"), page.field("key"));

    // No file chosen: back to the page with "Choose a file", the import still waiting.
    let (content_type, body) = form_upload(&page, "", b"");
    let answered = browser.send(Method::POST, "/local-upload", Some(&content_type), body).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    let back = browser.follow(answered).await;
    assert_eq!(back.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(back.body.contains("There is a problem") && back.body.contains("Choose a file"));

    // Too big for the signed range (4 KiB here): refused, nothing stored.
    let (content_type, body) = form_upload(&page, "big.csv", &vec![b'x'; 5000]);
    let too_big = browser.send(Method::POST, "/local-upload", Some(&content_type), body).await;
    assert_eq!(too_big.status, StatusCode::BAD_REQUEST);
    assert!(too_big.body.contains("The selected file must be smaller than 1MB"), "{}", too_big.body);
    assert!(site.stored.lock().expect("lock").is_empty());

    let csv = b"CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_POSTCODE\n123456,Jimmy,Smith,2010-01-01,SW1A 1AA\n";
    let (content_type, body) = form_upload(&page, "cohort.csv", csv);
    let answered = browser.send(Method::POST, "/local-upload", Some(&content_type), body).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    let landed = browser.follow(answered).await;
    assert_eq!(landed.status, StatusCode::OK);
    assert!(landed.body.contains("Import processing started"), "the flash banner");
    assert!(landed.body.contains("cohort.csv") && landed.body.contains("Processing"));
    let stored = site.stored.lock().expect("lock").clone();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].key.ends_with("/cohort.csv"), "{}", stored[0].key);
    // The flash shows once.
    assert!(!browser.get(&stored_import_path(&stored[0].key)).await.body.contains("Import processing started"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_teams_import_should_be_the_404_page() {
    let site = Site::new(today()).await;
    let mut leeds = site.browser();
    let page = leeds.sign_in("nurse@example.com", "/imports/new/child-records").await;
    let import = stored_import_path(&page.field("key"));
    assert_eq!(leeds.get(&import).await.status, StatusCode::OK);
    let mut bradford = site.browser();
    bradford.sign_in("nurse2@example.com", "/dashboard").await;
    let answer = bradford.get(&import).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.body.contains("Page not found"));
    assert_eq!(bradford.get("/imports/not-an-id").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_national_reporting_user_should_get_only_the_vaccination_upload() {
    let site = Site::new(NaiveDate::from_ymd_opt(2025, 12, 1).expect("date")).await;
    let mut reporter = site.browser();
    let chosen = reporter.sign_in("reporter@example.com", "/imports/new").await;
    assert!(chosen.body.contains("You can upload vaccination records for flu or HPV."), "straight to P6c");
    for refused in ["/imports/new/child-records", "/imports/new/class-list/school"] {
        let answer = reporter.get(refused).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{refused}");
        assert!(answer.body.contains("You are not authorized to perform this action."));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_function_should_go_on_when_the_page_took_the_file_first() {
    let site = Site::new(today()).await;
    let mut browser = site.browser();
    let page = browser.sign_in("nurse@example.com", "/imports/new/child-records").await;
    let csv = b"CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_POSTCODE\n123456,Jimmy,Smith,2010-01-01,SW1A 1AA\n";
    let (content_type, body) = form_upload(&page, "cohort.csv", csv);
    let answered = browser.send(Method::POST, "/local-upload", Some(&content_type), body).await;
    // The store's redirect reaches the page before the import function sees the event: the page takes the file.
    let landed = browser.follow(answered).await;
    assert!(landed.body.contains("Processing"));
    let stored = site.stored.lock().expect("lock").clone().pop().expect("stored");
    let pipeline = Pipeline {
        records: site.records.clone(),
        objects: site.folder.clone(),
        reference: Arc::new(shared::reference::demo()),
        settings: PipelineSettings {
            today_override: Some(today()),
            clock: site.clock.clone(),
            ..PipelineSettings::default()
        },
    };
    let event = ObjectCreated {
        bucket: "local".into(),
        key: stored.key,
        etag: stored.etag,
        version_id: None,
        size: stored.size,
    };
    let handled = pipeline.handle_object_created(&event).await.expect("the import function goes on");
    assert!(matches!(handled, Handled::Processed { status: ImportStatus::Processed, .. }), "{handled:?}");
    let done = browser.get(&stored_import_path(&event.key)).await;
    assert!(done.body.contains("1 new record imported"), "{}", done.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_upload_form_should_say_so_and_store_nothing() {
    // Forms that expire the moment they are made: sending one is always late.
    let site = Site::with_settings(today(), |settings| settings.upload_url_ttl = std::time::Duration::ZERO).await;
    let mut browser = site.browser();
    let page = browser.sign_in("nurse@example.com", "/imports/new/child-records").await;
    let csv = b"CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_POSTCODE\n123456,Jimmy,Smith,2010-01-01,SW1A 1AA\n";
    let (content_type, body) = form_upload(&page, "cohort.csv", csv);
    let answered = browser.send(Method::POST, "/local-upload", Some(&content_type), body).await;
    assert_eq!(answered.status, StatusCode::FORBIDDEN);
    assert!(
        answered.body.contains("This upload form has expired. Go back, reload the page and choose the file again.")
    );
    assert!(site.stored.lock().expect("lock").is_empty(), "nothing stored");
    let import = browser.get(&stored_import_path(&page.field("key"))).await;
    assert!(import.body.contains("Awaiting upload"), "still waiting for its file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_clicked_upload_without_javascript_should_make_one_import() {
    let site = Site::new(today()).await;
    let mut browser = site.browser();
    let page = browser.sign_in("nurse@example.com", "/imports/new/child-records").await;
    let csv = b"CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_POSTCODE\n123456,Jimmy,Smith,2010-01-01,SW1A 1AA\n";
    // The browser sends the same form twice before the first answer comes back.
    let (content_type, body) = form_upload(&page, "cohort.csv", csv);
    let first = browser.send(Method::POST, "/local-upload", Some(&content_type), body.clone()).await;
    let second = browser.send(Method::POST, "/local-upload", Some(&content_type), body).await;
    assert_eq!((first.status, second.status), (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER));
    let (a, b) = (browser.follow(first).await, browser.follow(second).await);
    assert!(a.body.contains("cohort.csv") && b.body.contains("cohort.csv"), "both land on the import");

    let stored = site.stored.lock().expect("lock").clone();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].key, stored[1].key, "the same key");
    assert_eq!(stored[0].etag, stored[1].etag, "the same bytes");
    let pipeline = site.pipeline();
    let mut outcomes = Vec::new();
    for object in &stored {
        let event = ObjectCreated {
            bucket: "local".into(),
            key: object.key.clone(),
            etag: object.etag.clone(),
            version_id: None,
            size: object.size,
        };
        outcomes.push(pipeline.handle_object_created(&event).await.expect("handled"));
    }
    assert!(matches!(outcomes[0], Handled::Processed { status: ImportStatus::Processed, .. }), "{outcomes:?}");
    assert!(matches!(outcomes[1], Handled::AlreadyDone { .. }), "the repeat is not a second import: {outcomes:?}");
    let list = browser.get("/imports").await;
    assert!(list.body.contains("1 import<"), "one import in the list");
    let done = browser.get(&stored_import_path(&stored[0].key)).await;
    assert!(done.body.contains("1 new record imported"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_deleted_before_it_was_read_should_end_its_import_failed_with_the_reason_on_its_page() {
    use shared::consumer::polling;
    use shared::pipeline::invocation::{ObjectEvents, consumer_settings};
    use shared::ports::{ObjectStore, Queue};
    let site = Site::new(today()).await;
    let mut browser = site.browser();
    let page = browser.sign_in("nurse@example.com", "/imports/new/child-records").await;
    let (content_type, body) = form_upload(&page, "vanished.csv", b"CHILD_FIRST_NAME\nJimmy\n");
    let answered = browser.send(Method::POST, "/local-upload", Some(&content_type), body).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
    let stored = site.stored.lock().expect("lock").last().cloned().expect("stored");
    site.folder.delete(&stored.key).await.expect("delete");
    let events = Arc::new(shared::adapters::embedded_queue::EmbeddedQueue::in_memory(5).expect("queue"));
    let body = serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "local"},
        "object": {"key": stored.key, "eTag": stored.etag, "size": stored.size}}}]});
    events.send_batch(vec![body.to_string()]).await.expect("send");

    let settings = consumer_settings().with_max_receives(Some(5)).immediate_retries();
    let delivered = polling::run_until_idle(Arc::new(ObjectEvents(site.pipeline())), events.clone(), settings).await;

    assert_eq!(delivered.expect("consumed"), 1, "a file that is gone is not retried");
    assert!(events.dead_letters(5).await.expect("dead letters").is_empty(), "nor dead-lettered");
    let shown = browser.get(&stored_import_path(&stored.key)).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("<strong class=\"nhsuk-tag nhsuk-tag--red\">Failed</strong>"), "{}", shown.body);
    assert!(shown.body.contains("The import could not be completed"));
    assert!(shown.body.contains(
        "The file could not be read: it was deleted or replaced while it was being imported. Upload the file again."
    ));
    assert!(!shown.body.contains("Processing"));
}
