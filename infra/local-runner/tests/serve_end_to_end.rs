//! `mavis serve` as a user runs it: a real process, a token from `mavis token`, the JSON API over HTTP, a file PUT
//! to the presigned URL, and a file copied into the drops folder. PDS is the emulator `mavis serve` starts in-process
//! (auth on, TEST-ONLY key) unless a test says otherwise.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Server {
    child: Child,
    base: String,
    /// Lines the server printed on stdout.
    stdout: mpsc::Receiver<String>,
}

impl Server {
    /// The first start-up line containing `needle`.
    fn printed(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(e) => panic!("mavis serve never printed {needle:?}: {e}"),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(data: &Path) -> Server {
    start_with(data, &[]).await
}

async fn start_with(data: &Path, extra: &[&str]) -> Server {
    // Port 0: the runner binds a free port itself and prints it, so no other process can take it in between.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mavis"))
        .args(["serve", "--port", "0", "--today", "2023-05-20", "--data"])
        .arg(data)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mavis serve");
    let (lines, stdout) = mpsc::channel();
    let out = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match stdout.recv_timeout(remaining) {
            Ok(line) => {
                if let Some(url) = line.strip_prefix("Mavis is running at ") {
                    break url.trim().to_string();
                }
            }
            Err(e) => panic!("mavis serve did not print its address: {e}"),
        }
    };
    let server = Server { child, base, stdout };
    while reqwest::get(format!("{}/health", server.base)).await.is_err() {
        assert!(Instant::now() < deadline, "mavis serve did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

fn token(data: &Path, email: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mavis"))
        .args(["token", "--user", email, "--data"])
        .arg(data)
        .output()
        .expect("run mavis token");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8").trim().to_string()
}

async fn wait_for_status(client: &reqwest::Client, url: &str, token: &str, status: &str) -> Value {
    wait_until(client, url, token, Duration::from_secs(30), |import| import["status"] == status).await
}

fn fixture(relative: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../../shared/fixtures/mavis/{relative}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// Creates a child-records import, PUTs `body` to its presigned URL and returns the import's URL once processed.
async fn import_child_records(
    server: &Server,
    client: &reqwest::Client,
    token: &str,
    body: Vec<u8>,
) -> (String, Value) {
    let url = upload_child_records(server, client, token, body).await;
    let import = wait_for_status(client, &url, token, "processed").await;
    (url, import)
}

/// The NHS-number update reported for a spreadsheet row, if any.
fn update_for_row(import: &Value, row: u64) -> Option<Value> {
    import["nhs_numbers_updated"].as_array().expect("nhs_numbers_updated").iter().find(|u| u["row"] == row).cloned()
}

#[tokio::test]
async fn when_file_is_put_to_the_presigned_url_should_complete_and_stay_within_the_team() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = start(data.path()).await;
    let nurse = token(data.path(), "nurse@example.com");
    let client = reqwest::Client::new();

    let (url, import) = import_child_records(&server, &client, &nurse, fixture("cohort_import/valid.csv")).await;
    assert_eq!(import["status_tag"], "Completed");
    assert_eq!(import["counts"], json!({"new": 3, "changed": 0, "exact_duplicate": 0}));

    let other_team = token(data.path(), "nurse2@example.com");
    let response = client.get(&url).bearer_auth(&other_team).send().await.expect("GET");
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn when_serve_starts_by_default_should_search_the_pds_emulator_and_report_updated_nhs_numbers() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = start(data.path()).await;
    let banner = server.printed("PDS:");
    assert!(banner.contains("http://127.0.0.1:") && banner.contains("/personal-demographics/FHIR/R4"), "{banner}");
    assert!(banner.contains("demo patients"), "{banner}");
    let nurse = token(data.path(), "nurse@example.com");
    let client = reqwest::Client::new();

    let (_, import) = import_child_records(&server, &client, &nurse, fixture("cohort_import/valid.csv")).await;
    assert_eq!(import["status_tag"], "Completed", "{import}");
    // Jennifer Clarke was uploaded as 9990000018; the emulator (auth on, so through a real signed-JWT token) has her
    // as 9999075320.
    assert_eq!(
        update_for_row(&import, 2),
        Some(json!({"row": 2, "uploaded": "9990000018", "pds": "9999075320"})),
        "{import}"
    );
}

#[tokio::test]
async fn when_pds_data_is_given_should_search_those_patients_instead_of_the_demo_ones() {
    let data = tempfile::tempdir().expect("temp dir");
    let bundle = data.path().join("my-patients.json");
    std::fs::write(
        &bundle,
        serde_json::to_vec_pretty(&json!({
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {
                "resourceType": "Patient",
                "id": "9990000107",
                "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000107"}],
                "name": [{"use": "usual", "given": ["Jennifer"], "family": "Clarke"}],
                "gender": "female",
                "birthDate": "2010-01-01",
                "address": [{"use": "home", "line": ["10 Downing Street"], "postalCode": "SW1A 1AA"}]
            }}]
        }))
        .expect("JSON"),
    )
    .expect("write the bundle");
    let server = start_with(data.path(), &["--pds-data", bundle.to_str().expect("utf-8 path")]).await;
    let banner = server.printed("PDS:");
    assert!(banner.contains("1 patients from") && banner.contains("my-patients.json"), "{banner}");
    let nurse = token(data.path(), "nurse@example.com");
    let client = reqwest::Client::new();

    let (_, import) = import_child_records(&server, &client, &nurse, fixture("cohort_import/valid.csv")).await;
    assert_eq!(import["status_tag"], "Completed", "{import}");
    assert_eq!(
        update_for_row(&import, 2),
        Some(json!({"row": 2, "uploaded": "9990000018", "pds": "9990000107"})),
        "{import}"
    );
    // Jimmy Smith (9990000026) is only in the demo data, so nothing is found for him and his number stays.
    assert_eq!(update_for_row(&import, 3), None, "{import}");
}

#[tokio::test]
async fn when_no_pds_is_given_should_keep_the_uploaded_numbers() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = start_with(data.path(), &["--no-pds"]).await;
    assert!(server.printed("PDS:").contains("off"));
    let nurse = token(data.path(), "nurse@example.com");
    let client = reqwest::Client::new();

    let (_, import) = import_child_records(&server, &client, &nurse, fixture("cohort_import/valid.csv")).await;
    assert_eq!(import["status_tag"], "Completed", "{import}");
    assert_eq!(import["nhs_numbers_updated"], json!([]), "{import}");
}

#[test]
fn when_pds_data_is_not_a_bundle_should_exit_2_naming_the_file() {
    let data = tempfile::tempdir().expect("temp dir");
    let bad = data.path().join("bad.json");
    std::fs::write(&bad, "not json").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_mavis"))
        .args(["serve", "--port", "0", "--pds-data"])
        .arg(&bad)
        .arg("--data")
        .arg(data.path())
        .output()
        .expect("run mavis serve");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--pds-data") && stderr.contains("bad.json"), "{stderr}");
}

#[tokio::test]
async fn when_file_is_dropped_into_the_drops_folder_should_be_imported_for_that_team() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = start(data.path()).await;
    let nurse = token(data.path(), "nurse@example.com");
    let client = reqwest::Client::new();

    let folder = data.path().join("drops").join("R1L");
    std::fs::create_dir_all(&folder).expect("drops folder");
    std::fs::write(folder.join("invalid_fields.csv"), fixture("cohort_import/invalid_fields.csv")).expect("drop");

    let deadline = Instant::now() + Duration::from_secs(30);
    let import = loop {
        let list: Value = client
            .get(format!("{}/api/imports", server.base))
            .bearer_auth(&nurse)
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON");
        if let Some(import) =
            list["imports"].as_array().and_then(|a| a.first()).filter(|i| i["status"] != "pending_import")
        {
            break import.clone();
        }
        assert!(Instant::now() < deadline, "the drop was never imported: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(import["status_tag"], "Invalid");
    let detail: Value = client
        .get(format!("{}/api/imports/{}", server.base, import["id"].as_str().expect("id")))
        .bearer_auth(&nurse)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(detail["rows_with_errors"], 20);
    assert_eq!(
        detail["errors"][0],
        json!({"row": 2, "column": "CHILD_DATE_OF_BIRTH", "message": "Enter a date of birth."})
    );
}

/// A child-records file of `rows` distinct valid children of the demo team's school (years 8 to 11 in 2022/23).
fn generated_child_records(rows: u64) -> Vec<u8> {
    let mut csv = String::from(
        "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_ADDRESS_LINE_1,CHILD_POSTCODE,CHILD_NHS_NUMBER,\
         CHILD_SCHOOL_URN,PARENT_1_NAME,PARENT_1_PHONE\n",
    );
    let numbers = (400_000_000u64..).filter_map(shared::csv_import::values::nhs_number_starting);
    for (i, nhs) in (0..rows).zip(numbers) {
        let dob =
            chrono::NaiveDate::from_ymd_opt(2008, 9, 1).expect("date") + chrono::Duration::days((i % 1400) as i64);
        csv.push_str(&format!(
            "Child{i},Family{},{dob},\"{} High Street, Leeds\",LS1 {}AB,{nhs},123456,Parent {i},07412 {:06}\n",
            i % 97,
            i % 200 + 1,
            i % 10,
            i
        ));
    }
    csv.into_bytes()
}

/// The import's counts and the number of patients it links, once it is processed.
async fn outcome(client: &reqwest::Client, url: &str, token: &str) -> (Value, Value, Value) {
    let import =
        wait_until(client, url, token, Duration::from_secs(60), |import| import["status"] == "processed").await;
    let patients: Value =
        client.get(format!("{url}/patients")).bearer_auth(token).send().await.expect("GET").json().await.expect("JSON");
    (import["status_tag"].clone(), import["counts"].clone(), patients["total"].clone())
}

async fn wait_until(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    within: Duration,
    reached: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let import: Value = client.get(url).bearer_auth(token).send().await.expect("GET").json().await.expect("JSON");
        if reached(&import) {
            return import;
        }
        assert!(Instant::now() < deadline, "not reached within {within:?}: {import}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates a child-records import and PUTs `body` to its presigned URL; returns the import's URL.
async fn upload_child_records(server: &Server, client: &reqwest::Client, token: &str, body: Vec<u8>) -> String {
    let created: Value = client
        .post(format!("{}/api/imports", server.base))
        .bearer_auth(token)
        .json(&json!({"kind": "child-records", "filename": "cohort.csv"}))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON");
    let upload = &created["upload"];
    let mut put = client.put(upload["url"].as_str().expect("url")).body(body);
    for (name, value) in upload["headers"].as_object().expect("headers") {
        put = put.header(name, value.as_str().expect("header value"));
    }
    assert!(put.send().await.expect("PUT").status().is_success());
    format!("{}/api/imports/{}", server.base, created["id"].as_str().expect("id"))
}

/// `kill -9` of `mavis serve` while it checks the rows, then again while it writes them: each time a new runner
/// on the same folder resumes the import within 30 s (not after the queue's 15-minute visibility timeout or the
/// claim's lease) and it ends as the same file's uninterrupted import does, every child once.
#[tokio::test]
async fn when_serve_is_killed_mid_import_should_resume_on_restart_and_end_as_if_never_stopped() {
    kill_mid_import(2_000, &["--no-pds"], &[("checking", 1), ("importing", 1)]).await;
}

/// The same while the pds queue's page is searched with the PDS emulator (20 requests a second; the progress moves
/// a page of 100 rows at a time).
#[tokio::test]
async fn when_serve_is_killed_during_the_pds_search_should_resume_on_restart_and_end_as_if_never_stopped() {
    kill_mid_import(60, &[], &[("pds", 0)]).await;
}

/// The phases of an import's progress, in order.
const PHASES: [&str; 3] = ["checking", "pds", "importing"];

/// Kills the runner once in each of `phases`: at the first look that finds the import unfinished and at least the
/// given number of rows into that phase, or past it (a look can come after the phase's last progress step).
async fn kill_mid_import(rows: u64, serve_args: &[&str], phases: &[(&str, u64)]) {
    let file = generated_child_records(rows);
    let client = reqwest::Client::new();

    let calm = tempfile::tempdir().expect("temp dir");
    let server = start_with(calm.path(), serve_args).await;
    let nurse = token(calm.path(), "nurse@example.com");
    let url = upload_child_records(&server, &client, &nurse, file.clone()).await;
    let expected = outcome(&client, &url, &nurse).await;
    assert_eq!(expected.0, "Completed", "{expected:?}");
    assert_eq!(expected.2, rows, "{expected:?}");
    drop(server);

    let data = tempfile::tempdir().expect("temp dir");
    let server = start_with(data.path(), serve_args).await;
    let nurse = token(data.path(), "nurse@example.com");
    let url = upload_child_records(&server, &client, &nurse, file).await;
    let path = url.strip_prefix(&server.base).expect("the server's URL").to_string();
    let mut server = server;
    let rank = |phase: &Value| PHASES.iter().position(|name| phase == name);
    for (kills, &(phase, done_at_least)) in phases.iter().enumerate() {
        let target = rank(&json!(phase));
        let at_or_past = |import: &Value| {
            let progress = &import["progress"];
            let here = rank(&progress["phase"]);
            let done = progress["done"].as_u64().unwrap_or_default();
            import["status"] == "processed" || here > target || (here == target && done >= done_at_least)
        };
        let url = format!("{}{path}", server.base);
        let import = wait_until(&client, &url, &nurse, Duration::from_secs(60), at_or_past).await;
        if import["status"] == "processed" {
            assert!(kills > 0, "the import finished before the first kill: {import}");
            break;
        }
        drop(server); // SIGKILL: `Child::kill` on Unix
        server = start_with(data.path(), serve_args).await;
        let url = format!("{}{path}", server.base);
        let before =
            client.get(&url).bearer_auth(&nurse).send().await.expect("GET").json::<Value>().await.expect("JSON");
        let moved = |import: &Value| import["status"] == "processed" || import["progress"] != before["progress"];
        wait_until(&client, &url, &nurse, Duration::from_secs(30), moved).await;
    }
    assert_eq!(outcome(&client, &format!("{}{path}", server.base), &nurse).await, expected);
}

#[test]
fn when_another_serve_uses_the_data_folder_should_refuse_to_start() {
    let data = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _first = runtime.block_on(start_with(data.path(), &["--no-pds"]));
    let second = Command::new(env!("CARGO_BIN_EXE_mavis"))
        .args(["serve", "--port", "0", "--no-pds", "--data"])
        .arg(data.path())
        .output()
        .expect("run mavis serve");
    assert_eq!(second.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&second.stderr).contains("another mavis serve is using"), "{second:?}");
}
