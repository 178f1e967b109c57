//! The review scenarios of shared/spec/fixture-outcomes.md, end to end: the fixture goes through the real pipeline,
//! then the team resolves it through the HTTP routes of `web::app` on the same store, and the documented end state is
//! checked. Written once and run on the embedded adapters and on the AWS emulators (DynamoDB Local), where the
//! concurrent decisions exercise the conditional transactions of the real DynamoDB API.
//!
//! - §2.10 duplicate matched on NHS number: issue text, comparison, keep-both refused, use-uploaded / keep-existing.
//! - §2.11 keep both: the copy, its changeset and import link, the original's pending changes cleared.
//! - §3.1 C2 school moves across teams: the lists each team sees, confirm (teams, archive reason, log entry, the
//!   team_changed notice), ignore, the CSV export with formula cells neutralised.
//! - Two users deciding the same issue or move at once: one outcome, a 409 for the other.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::NaiveDate;
use serde_json::{Value, json};
use shared::domain::AcademicYear;
use shared::domain::patient::SchoolPlacement;
use shared::domain::vaccination::RecordSource;
use shared::ports::Condition;
use shared::review::ReviewError;
use shared::review::issues::{self, Decision};
use shared::review::school_moves::{self, MoveDecision};
use shared::store::{changesets, patients, vaccinations};
use shared::web::{AppState, LocalIssuer, WebSettings, app};
use tower::ServiceExt;
use uuid::Uuid;

use crate::class_list_scenarios::{SECOND_TEAM_SCHOOL, WATERLOO_ROAD, clock_2023, import_class_list};
use crate::harness::Harness;
use crate::support::taylor_reed;

const NURSE_A: &str = "nurse@example.com";
const SUPER_ADMIN_A: &str = "superuser@example.com";
const NURSE_B: &str = "nurse2@example.com";
const SECONDARY: [i32; 4] = [8, 9, 10, 11];

/// The web app on the harness's store, with tokens from a local issuer.
pub struct ReviewApi {
    router: Router,
    issuer: LocalIssuer,
    clock: shared::clock::Clock,
    _keys: tempfile::TempDir,
}

impl ReviewApi {
    pub fn on(h: &Harness) -> Self {
        let keys = tempfile::tempdir().expect("tempdir");
        let issuer = LocalIssuer::load_or_create(keys.path()).expect("issuer");
        let settings = WebSettings {
            upload_url_ttl: Duration::from_secs(900),
            today_override: Some(clock_2023()),
            clock: h.pipeline.settings.clock.clone(),
            ..WebSettings::default()
        };
        let state = AppState::new(
            h.pipeline.records.clone(),
            h.pipeline.objects.clone(),
            Arc::new(shared::reference::demo()),
            issuer.authenticator(),
            settings,
        );
        Self { router: app(state), issuer, clock: h.pipeline.settings.clock.clone(), _keys: keys }
    }

    /// A user acts a few seconds after whatever happened before (an import, another decision).
    async fn raw(&self, method: Method, uri: &str, user: &str, body: Option<Value>) -> (StatusCode, Vec<u8>) {
        self.clock.advance(chrono::Duration::seconds(5));
        let token = self.issuer.issue(user, Duration::from_secs(300));
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json");
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let response = self.router.clone().oneshot(request.body(body).expect("request")).await.expect("response");
        let status = response.status();
        (status, axum::body::to_bytes(response.into_body(), 4 << 20).await.expect("body").to_vec())
    }

    pub async fn send(&self, method: Method, uri: &str, user: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, bytes) = self.raw(method, uri, user, body).await;
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn get(&self, uri: &str, user: &str) -> Value {
        let (status, body) = self.send(Method::GET, uri, user, None).await;
        assert_eq!(status, StatusCode::OK, "GET {uri}: {body}");
        body
    }

    async fn resolve(&self, id: &str, decision: &str, user: &str) -> (StatusCode, Value) {
        let body = json!({ "decision": decision });
        self.send(Method::POST, &format!("/api/issues/{id}/resolve"), user, Some(body)).await
    }

    async fn decide(&self, id: &str, decision: &str, user: &str) -> (StatusCode, Value) {
        self.send(Method::POST, &format!("/api/school-moves/{id}"), user, Some(json!({ "decision": decision }))).await
    }
}

fn only_issue(list: &Value) -> Value {
    let issues = list["issues"].as_array().expect("issues");
    assert_eq!(issues.len(), 1, "{list}");
    issues[0].clone()
}

/// Two decisions at once: exactly one wins, the other is told someone else decided first.
fn assert_one_winner(a: &(StatusCode, Value), b: &(StatusCode, Value)) -> usize {
    let statuses = [a.0, b.0];
    assert!(statuses.contains(&StatusCode::OK), "one decision wins: {a:?} {b:?}");
    assert!(statuses.contains(&StatusCode::CONFLICT), "the other is a conflict: {a:?} {b:?}");
    let loser = if a.0 == StatusCode::CONFLICT { a } else { b };
    assert!(loser.1["error"].as_str().unwrap_or_default().to_lowercase().contains("someone else"), "{loser:?}");
    if a.0 == StatusCode::OK { 0 } else { 1 }
}

/// §2.10: Jennifer re-uploaded with a new address. Matched on NHS number, so keep-both is refused; two users resolve
/// at once and one wins; a second upload re-opens the issue and keep-existing discards it.
pub async fn duplicate_matched_on_nhs_number(h: &Harness) {
    let api = ReviewApi::on(h);
    let first = h.import_fixture("R1L", "cohort_import/valid.csv").await;
    let jennifer = h.patient_named(&first, "Jennifer", "Clarke").await;
    h.import_fixture("R1L", "cohort_import/valid_with_changes.csv").await;

    let list = api.get("/api/issues", NURSE_A).await;
    assert_eq!(list["summary"], "1 uploaded record needs review");
    let issue = only_issue(&list);
    assert_eq!(issue["id"], json!(jennifer.id));
    assert_eq!(issue["type"], "patient");
    assert_eq!(issue["name"], "CLARKE, Jennifer");
    assert_eq!(issue["issue"], "Matched on NHS number. Address and year group do not match.");

    let id = jennifer.id.to_string();
    let detail = api.get(&format!("/api/issues/{id}"), NURSE_A).await;
    assert_eq!(detail["heading"], "Uploaded child record duplicates an existing record");
    assert_eq!(detail["uploaded"]["address"]["line_1"], "1 Whitehall");
    assert_eq!(detail["uploaded"]["address"]["postcode"], "SW1A 1AB");
    assert_eq!(detail["existing"]["address"]["postcode"], "SW1A 1AA");
    assert_eq!(detail["changed"], json!(["address", "year_group"]));
    assert_eq!(detail["decisions"], json!(["use-uploaded", "keep-existing"]));

    let (status, body) = api.resolve(&id, "keep-both", NURSE_A).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("NHS number"), "{body}");
    assert_eq!(api.send(Method::GET, &format!("/api/issues/{id}"), NURSE_B, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.resolve(&id, "use-uploaded", NURSE_B).await.0, StatusCode::NOT_FOUND, "another team's issue");

    let (a, b) = tokio::join!(api.resolve(&id, "use-uploaded", NURSE_A), api.resolve(&id, "keep-existing", NURSE_A));
    let winner = assert_one_winner(&a, &b);
    let after = h.patient(jennifer.id).await;
    assert!(after.pending_changes.is_empty(), "{:?}", after.pending_changes);
    let postcode = after.attributes.address_postcode.as_deref();
    if winner == 0 {
        assert_eq!(a.1["message"], "Record updated");
        assert_eq!(postcode, Some("SW1A 1AB"), "use-uploaded applied everything");
        assert_eq!(after.attributes.address_line_1.as_deref(), Some("1 Whitehall"));
        assert_eq!(after.attributes.birth_academic_year, Some(AcademicYear(2009)));
    } else {
        assert_eq!(postcode, Some("SW1A 1AA"), "keep-existing applied nothing");
    }
    assert_eq!(
        api.get("/api/issues", NURSE_A).await,
        json!({"summary": "No issues to review.", "count": 0, "issues": [], "page": 1, "pages": 1, "page_size": 50, "total": 0})
    );
    assert_eq!(api.resolve(&id, "use-uploaded", NURSE_A).await.0, StatusCode::CONFLICT, "already resolved");

    // Another upload with different details re-opens the issue; keeping the existing record discards them.
    let mut changed = String::from_utf8(crate::fixture("cohort_import/valid_with_changes.csv")).expect("utf-8");
    changed = changed.replace("1 Whitehall", "2 Whitehall").replace("SW1A 1AB", "SW1A 2AB");
    h.drop_file("R1L", "again.csv", changed.into_bytes()).await.expect("imported");
    let before = h.patient(jennifer.id).await;
    assert!(!before.pending_changes.is_empty());
    assert_eq!(only_issue(&api.get("/api/issues", NURSE_A).await)["id"], json!(jennifer.id));
    let (status, body) = api.resolve(&id, "keep-existing", NURSE_A).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let kept = h.patient(jennifer.id).await;
    assert!(kept.pending_changes.is_empty());
    assert_eq!(kept.attributes, before.attributes, "nothing of the upload applied");
}

/// §2.11: Taylor Reed matched on name and date of birth only; "keep both" makes a second Taylor Reed without NHS
/// number, with the uploaded postcode, owning the import's row and link; the original's pending changes are cleared.
pub async fn keep_both_records(h: &Harness) {
    let api = ReviewApi::on(h);
    let taylor = taylor_reed();
    h.existing_patient(&taylor).await;
    let import = h.import_fixture("R1L", "cohort_import/duplicate_except_postcode.csv").await;

    let issue = only_issue(&api.get("/api/issues", NURSE_A).await);
    assert_eq!(issue["issue"], "Possible match found. Review and confirm.");
    let id = taylor.id.to_string();
    let detail = api.get(&format!("/api/issues/{id}"), NURSE_A).await;
    assert_eq!(detail["decisions"], json!(["use-uploaded", "keep-existing", "keep-both"]));

    let (status, body) = api.resolve(&id, "keep-both", NURSE_A).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "Record updated");
    let copy_id: Uuid = body["patient_ids"][1].as_str().and_then(|s| s.parse().ok()).expect("the new patient's id");

    let original = h.patient(taylor.id).await;
    assert!(original.pending_changes.is_empty(), "original's pending changes cleared");
    assert_eq!(original.attributes.address_postcode.as_deref(), Some("SW1A 1AA"));
    let copy = h.patient(copy_id).await;
    assert_eq!(copy.full_name(), "Taylor Reed");
    assert_eq!(copy.attributes.nhs_number, None);
    assert_eq!(copy.attributes.address_postcode.as_deref(), Some("SW1A 1AB"), "pending values applied to the copy");
    assert_eq!(copy.attributes.birth_academic_year, Some(AcademicYear(2008)));
    assert!(copy.pending_changes.is_empty());

    let (rows, _) = changesets::page(h.records(), import.id, 10, None).await.expect("changesets");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].value.patient_id, Some(copy_id), "the import's row belongs to the new patient");
    assert_eq!(patients::of_import(h.records(), import.id).await.expect("links"), vec![copy_id]);
    let listed = api.get(&format!("/api/imports/{}/patients", import.id), NURSE_A).await;
    assert!(listed.to_string().contains(&copy_id.to_string()), "{listed}");
    assert!(!listed.to_string().contains(&taylor.id.to_string()), "{listed}");
    assert_eq!(api.get("/api/issues", NURSE_A).await["count"], 0);
}

/// §3.1 C2: class list valid.csv into Waterloo Road (Team A), then into Second Team School by Team B: four moves for
/// Team B to review, none for Team A. Confirm, ignore, two users at once, and the export.
pub async fn school_moves_across_teams(h: &Harness) {
    let api = ReviewApi::on(h);
    let csv = || crate::fixture("class_import/valid.csv");
    import_class_list(h, "r1l", WATERLOO_ROAD, &SECONDARY, "valid.csv", csv()).await;
    import_class_list(h, "rxb", SECOND_TEAM_SCHOOL, &SECONDARY, "valid.csv", csv()).await;

    let team_a = api.get("/api/school-moves", NURSE_A).await;
    assert_eq!(
        team_a,
        json!({
            "summary": "There are currently no school moves.",
            "count": 0,
            "school_moves": [],
            "page": 1,
            "pages": 1,
            "page_size": 50,
            "total": 0
        })
    );
    let team_b = api.get("/api/school-moves", NURSE_B).await;
    assert_eq!(team_b["summary"], "4 school moves");
    let moves = team_b["school_moves"].as_array().expect("moves").clone();
    for listed in &moves {
        assert_eq!(listed["from_school"], "Waterloo Road");
        assert_eq!(listed["to_school"], "Second Team School");
        assert_eq!(listed["updated_by"], "Class list updated");
        assert_eq!(listed["tag"], "This child is moving in from another SAIS team's area");
    }
    let id = |n: usize| moves[n]["id"].as_str().expect("id").to_string();

    let detail = api.get(&format!("/api/school-moves/{}", id(0)), NURSE_B).await;
    assert_eq!(detail["uploaded"]["school"], "Second Team School");
    assert_eq!(detail["current"]["school"], "Waterloo Road");
    assert!(detail["across_teams"].as_str().unwrap_or_default().ends_with("into your area from Leeds SAIS Team"));
    assert_eq!(api.send(Method::GET, &format!("/api/school-moves/{}", id(0)), NURSE_A, None).await.0, 404);
    assert_eq!(api.decide(&id(0), "confirm", NURSE_A).await.0, StatusCode::NOT_FOUND, "Team A does not review it");

    // Confirm: the child joins Team B and is archived in Team A (moved_out_of_area); a log entry; Team A's notice.
    let (status, body) = api.decide(&id(0), "confirm", NURSE_B).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let confirmed_id: Uuid = id(0).parse().expect("uuid");
    let child = h.patient(confirmed_id).await;
    assert_eq!(body["message"], format!("{}’s school record updated", child.staff_facing_name()));
    assert_eq!(child.school, SchoolPlacement::School { urn: SECOND_TEAM_SCHOOL.into() });
    assert_eq!(child.team_ids, ["rxb"]);
    assert_eq!(child.archived_in.iter().collect::<Vec<_>>(), [(&"r1l".to_string(), &"moved_out_of_area".to_string())]);
    let locations = patients::locations_of(h.records(), confirmed_id).await.expect("locations");
    let waterloo = locations.iter().find(|l| l.location == WATERLOO_ROAD).expect("old location");
    assert!(waterloo.end_date.is_some(), "the old school's location is ended");
    assert!(locations.iter().any(|l| l.location == SECOND_TEAM_SCHOOL && l.end_date.is_none()));
    let log = patients::school_move_log_of_team(h.records(), "rxb").await.expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].user_email.as_deref(), Some(NURSE_B));
    let notices = api.get("/api/notices", SUPER_ADMIN_A).await;
    let notice =
        notices["notices"].as_array().expect("notices").iter().find(|n| n["patient_id"] == json!(confirmed_id));
    let notice = notice.unwrap_or_else(|| panic!("Team A has the team_changed notice: {notices}"));
    assert_eq!(notice["type"], "team_changed");
    assert_eq!(notice["message"], "Child has moved to Bradford SAIS Team area");
    assert_eq!(api.decide(&id(0), "confirm", NURSE_B).await.0, StatusCode::CONFLICT, "already decided");

    // Ignore: nothing about the child changes and the move is gone.
    let ignored_id: Uuid = id(1).parse().expect("uuid");
    let before = h.patient(ignored_id).await;
    let (status, body) = api.decide(&id(1), "ignore", NURSE_B).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], format!("{}’s school move ignored", before.staff_facing_name()));
    assert_eq!(h.patient(ignored_id).await, before);
    assert!(patients::school_move_of(h.records(), ignored_id).await.expect("read").is_none());

    // Two users at once on the same move: one outcome.
    let third = id(2);
    let (a, b) = tokio::join!(api.decide(&third, "confirm", NURSE_B), api.decide(&third, "ignore", NURSE_B));
    assert_one_winner(&a, &b);
    assert_eq!(api.get("/api/school-moves", NURSE_B).await["count"], 1);

    // Back to Team A's school: Team A reviews that move, and confirming it dismisses Team A's team_changed notice.
    import_class_list(h, "r1l", WATERLOO_ROAD, &SECONDARY, "valid.csv", csv()).await;
    let back = api.get("/api/school-moves", NURSE_A).await;
    let listed = back["school_moves"].as_array().expect("moves").iter().any(|m| m["id"] == json!(confirmed_id));
    assert!(listed, "Team A reviews the move back: {back}");
    let (status, body) = api.decide(&confirmed_id.to_string(), "confirm", NURSE_A).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let notices = api.get("/api/notices", SUPER_ADMIN_A).await;
    assert!(!notices.to_string().contains(&confirmed_id.to_string()), "dismissed once back in the team: {notices}");
    let returned = h.patient(confirmed_id).await;
    assert_eq!(returned.team_ids, ["r1l"]);
    assert_eq!(returned.archived_in.get("rxb").map(String::as_str), Some("moved_out_of_area"));
    assert!(!returned.archived_in.contains_key("r1l"));

    // The export: Team B's confirmed moves; a name that a spreadsheet would run as a formula is neutralised.
    let mut hostile = h.patient(confirmed_id).await;
    hostile.attributes.family_name = Some("=HYPERLINK(\"http://x\")".into());
    let item = patients::patient_item(&hostile, 1000);
    h.records().put(item, Condition::None).await.expect("rename");
    let (status, bytes) = api.raw(Method::GET, "/api/school-moves/export.csv?from=2000-01-01", NURSE_B, None).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(bytes).expect("utf-8");
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    assert_eq!(reader.headers().expect("headers").get(0), Some("NHS_REF"));
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("csv");
    assert!(!rows.is_empty() && rows.len() <= 2, "{text}");
    let row = rows.iter().find(|r| r.get(16) == Some(&confirmed_id.to_string())).expect("the confirmed move");
    assert_eq!(row.get(1), Some("'=HYPERLINK(\"http://x\")"), "{text}");
    assert_eq!(row.get(13), Some(SECOND_TEAM_SCHOOL));
    assert_eq!(row.get(14), Some("Second Team School"));
    let (status, _) = api.raw(Method::GET, "/api/school-moves/export.csv?from=2999-01-01", NURSE_B, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api.raw(Method::GET, "/api/school-moves/export.csv?to=yesterday", NURSE_B, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// §9.4: a move with no school (home-schooled) raised by another team is seen by the team the child is in, as well as
/// by the raising team; a team that has nothing to do with it does not see it. Either may ignore it.
pub async fn home_schooled_move_raised_by_another_team(h: &Harness) {
    let api = ReviewApi::on(h);
    import_class_list(h, "r1l", WATERLOO_ROAD, &SECONDARY, "valid.csv", crate::fixture("class_import/valid.csv")).await;
    let header =
        "CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_POSTCODE,CHILD_NHS_NUMBER";
    let file = format!("{header}\n999999,Jennifer,Clarke,2010-01-01,SW1A 1AA,9990000018\n");
    h.drop_file("RXB", "home.csv", file.into_bytes()).await.expect("imported");

    let seen_by_child_team = api.get("/api/school-moves", NURSE_A).await;
    assert_eq!(seen_by_child_team["count"], 1, "{seen_by_child_team}");
    let listed = &seen_by_child_team["school_moves"][0];
    assert_eq!(listed["full_name"], "CLARKE, Jennifer");
    assert_eq!(listed["from_school"], "Waterloo Road");
    assert_eq!(listed["to_school"], "Home-schooled");
    assert_eq!(listed["updated_by"], "Another SAIS team updated");
    let seen_by_raising_team = api.get("/api/school-moves", NURSE_B).await;
    assert_eq!(seen_by_raising_team["school_moves"][0]["id"], listed["id"], "{seen_by_raising_team}");
    assert_eq!(seen_by_raising_team["school_moves"][0]["updated_by"], "Cohort updated");

    let id = listed["id"].as_str().expect("id").to_string();
    let detail = api.get(&format!("/api/school-moves/{id}"), NURSE_A).await;
    assert_eq!(detail["uploaded"]["school"], "Home-schooled");
    let jennifer: Uuid = id.parse().expect("uuid");
    let before = h.patient(jennifer).await;
    let (status, body) = api.decide(&id, "ignore", NURSE_A).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(h.patient(jennifer).await, before, "ignoring changes nothing");
    assert_eq!(api.get("/api/school-moves", NURSE_A).await["count"], 0);
    assert_eq!(api.get("/api/school-moves", NURSE_B).await["count"], 0, "gone for the raising team too");
}

/// §10: a team_changed notice is dismissed automatically when the child comes back into the team by any confirmed
/// move, here one the class-list import confirms at once (not a reviewed one).
pub async fn team_changed_dismissed_by_an_automatic_move_back(h: &Harness) {
    let api = ReviewApi::on(h);
    let csv = || crate::fixture("class_import/valid.csv");
    import_class_list(h, "r1l", WATERLOO_ROAD, &SECONDARY, "valid.csv", csv()).await;
    import_class_list(h, "rxb", SECOND_TEAM_SCHOOL, &SECONDARY, "valid.csv", csv()).await;
    let moves = api.get("/api/school-moves", NURSE_B).await;
    let id = moves["school_moves"][0]["id"].as_str().expect("a move").to_string();
    let (status, body) = api.decide(&id, "confirm", NURSE_B).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let child_id: Uuid = id.parse().expect("uuid");
    let notices = api.get("/api/notices", SUPER_ADMIN_A).await;
    assert!(notices.to_string().contains(&id), "Team A has the team_changed notice: {notices}");

    // Recorded offline in one of Team A's sessions (§6.1), the child is in both teams: Team A's next class list
    // is then not a move from another team, and confirms the move back at once.
    let mut both = patients::get(h.records(), child_id).await.expect("read").expect("child");
    both.value.team_ids.push("r1l".into());
    h.records().transact(vec![patients::put_patient_op(&both.value, Some(both.version))]).await.expect("saved");
    import_class_list(h, "r1l", WATERLOO_ROAD, &SECONDARY, "valid.csv", csv()).await;

    let back = h.patient(child_id).await;
    assert_eq!(back.school, SchoolPlacement::School { urn: WATERLOO_ROAD.into() });
    assert_eq!(back.team_ids, ["r1l"]);
    let log = patients::school_move_log_of_team(h.records(), "r1l").await.expect("log");
    let automatic = log.iter().rev().find(|e| e.patient_id == child_id).expect("the move back is logged");
    assert_eq!(automatic.user_email, None, "confirmed by the import, not a user");
    let notices = api.get("/api/notices", SUPER_ADMIN_A).await;
    assert!(!notices.to_string().contains(&id), "dismissed once back in the team: {notices}");
    assert_eq!(api.get("/api/school-moves", NURSE_A).await["count"], 0, "nothing left to review");
}

/// Two decisions that both read the issue (or move) before either writes: the conditional transaction lets exactly
/// one through, whatever the interleaving of the HTTP requests above happened to be.
pub async fn decisions_read_before_either_writes_conflict(h: &Harness) {
    let taylor = taylor_reed();
    h.existing_patient(&taylor).await;
    h.import_fixture("R1L", "cohort_import/duplicate_except_postcode.csv").await;
    let store = h.records();
    let load = || async { issues::load(store, "r1l", taylor.id).await.expect("load").expect("open issue") };
    let (first, second) = (load().await, load().await);
    let now = h.now();
    let won = issues::resolve(store, first, Decision::KeepBoth, NURSE_A, now).await.expect("first decision");
    assert_eq!(won.len(), 2, "keep-both made a copy");
    let lost = issues::resolve(store, second, Decision::UseUploaded, NURSE_A, now).await;
    assert!(matches!(lost, Err(ReviewError::Conflict(_))), "{:?}", lost.err());
    let original = h.patient(taylor.id).await;
    assert_eq!(original.attributes.address_postcode.as_deref(), Some("SW1A 1AA"), "the loser applied nothing");
    assert!(original.pending_changes.is_empty());

    let csv = || crate::fixture("class_import/valid.csv");
    import_class_list(h, "r1l", WATERLOO_ROAD, &SECONDARY, "valid.csv", csv()).await;
    import_class_list(h, "rxb", SECOND_TEAM_SCHOOL, &SECONDARY, "valid.csv", csv()).await;
    let pending = patients::pending_school_moves_for_team(store, "rxb").await.expect("moves");
    let patient_id = pending[0].patient_id;
    let load = || async { school_moves::load(store, "rxb", patient_id).await.expect("load").expect("pending move") };
    let (first, second) = (load().await, load().await);
    let reference = shared::reference::demo();
    let decide =
        |loaded, decision| school_moves::decide(store, &reference, "rxb", loaded, decision, NURSE_B, clock_2023(), now);
    let before = h.patient(patient_id).await;
    decide(first, MoveDecision::Ignore).await.expect("first decision");
    let lost = decide(second, MoveDecision::Confirm).await;
    assert!(matches!(lost, Err(ReviewError::Conflict(_))), "{:?}", lost.err());
    assert_eq!(h.patient(patient_id).await, before, "the losing confirmation changed nothing");
    assert!(patients::school_move_log_of_team(store, "rxb").await.expect("log").is_empty(), "no log entry");
}

/// §7.3 for vaccination records: a re-upload with another batch number is an issue; keep-both is never offered;
/// use-uploaded applies it. Once the existing record came from the Immunisations API, only keep-existing is allowed.
pub async fn vaccination_record_issues(h: &Harness) {
    let api = ReviewApi::on(h);
    let file = String::from_utf8(crate::fixture("immunisation_import/point_of_care/valid_hpv.csv")).expect("utf-8");
    let chyna = "Chyna,Pickle,20100912,Not Specified,LE3 2DA,20240514,HPV,Cervarix,";
    assert!(file.contains(&format!("{chyna}123013325")));
    h.drop_file("R1L", "first.csv", file.clone().into_bytes()).await.expect("imported");
    let changed = file.replace(&format!("{chyna}123013325"), &format!("{chyna}BATCH999"));
    h.drop_file("R1L", "changed.csv", changed.into_bytes()).await.expect("imported");

    let issue = only_issue(&api.get("/api/issues", NURSE_A).await);
    assert_eq!(issue["type"], "vaccination_record");
    assert_eq!(issue["name"], "PICKLE, Chyna");
    assert_eq!(issue["issue"], "Imported record closely matches an existing record. Review and confirm.");
    let id = issue["id"].as_str().expect("id").to_string();
    let detail = api.get(&format!("/api/issues/{id}"), NURSE_A).await;
    assert_eq!(detail["heading"], "Uploaded vaccination record duplicates an existing record");
    assert_eq!(detail["changed"], json!(["batch_number"]));
    assert_eq!(detail["uploaded"]["batch_number"], "BATCH999");
    assert_eq!(detail["existing"]["batch_number"], "123013325");
    assert_eq!(detail["decisions"], json!(["use-uploaded", "keep-existing"]));
    let (status, body) = api.resolve(&id, "keep-both", NURSE_A).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], issues::KEEP_BOTH_VACCINATION);

    let (status, body) = api.resolve(&id, "use-uploaded", NURSE_A).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let record_id: Uuid = id.parse().expect("uuid");
    let record = vaccinations::get(h.records(), record_id).await.expect("read").expect("record").value;
    assert_eq!(record.details.batch_number.as_deref(), Some("BATCH999"));
    assert!(record.pending_changes.is_empty());

    // The record now counts as one the Immunisations API sent us; another upload differs from it again.
    let mut from_api = vaccinations::get(h.records(), record_id).await.expect("read").expect("record");
    from_api.value.details.source = RecordSource::NhsImmunisationsApi;
    h.records().transact(vec![vaccinations::update_op(&from_api.value, from_api.version)]).await.expect("saved");
    h.drop_file("R1L", "again.csv", file.into_bytes()).await.expect("imported");
    let detail = api.get(&format!("/api/issues/{id}"), NURSE_A).await;
    assert_eq!(detail["decisions"], json!(["keep-existing"]), "{detail}");
    assert_eq!(detail["restriction"], issues::FROM_IMMUNISATIONS_API);
    let (status, body) = api.resolve(&id, "use-uploaded", NURSE_A).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!(issues::FROM_IMMUNISATIONS_API))
    );
    let (status, body) = api.resolve(&id, "keep-existing", NURSE_A).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let kept = vaccinations::get(h.records(), record_id).await.expect("read").expect("record").value;
    assert_eq!(kept.details.batch_number.as_deref(), Some("BATCH999"), "the API's record is unchanged");
    assert_eq!(kept.details.source, RecordSource::NhsImmunisationsApi);
    assert!(kept.pending_changes.is_empty());
    assert_eq!(api.get("/api/issues", NURSE_A).await["count"], 0);
}

/// Runs every review scenario, each on a fresh harness.
pub async fn all<F, Fut>(make: F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    duplicate_matched_on_nhs_number(&make(clock_2023()).await).await;
    keep_both_records(&make(clock_2023()).await).await;
    school_moves_across_teams(&make(clock_2023()).await).await;
    home_schooled_move_raised_by_another_team(&make(clock_2023()).await).await;
    team_changed_dismissed_by_an_automatic_move_back(&make(clock_2023()).await).await;
    decisions_read_before_either_writes_conflict(&make(clock_2023()).await).await;
    vaccination_record_issues(&make(crate::vaccination_scenarios::clock_2025_08_01()).await).await;
}
