//! `mavis serve` with the Immunisations API: the Imms emulator started in-process (auth on, TEST-ONLY key) and
//! preloaded with `--imms-data`, a cohort import that triggers the history search, and a vaccination recorded through
//! the API that syncs and shows Synced.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(data: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mavis"))
        .args(["serve", "--port", "0", "--today", "2023-05-20", "--data"])
        .arg(data)
        .args(extra)
        // The fixture's dates are from 2023: search all history, not only since September 2025.
        .env("MAVIS_IMMS_HISTORY_SINCE", "none")
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
        match stdout.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => match line.strip_prefix("Mavis is running at ") {
                Some(url) => break url.trim().to_string(),
                None => continue,
            },
            Err(e) => panic!("mavis serve did not print its address: {e}"),
        }
    };
    let imms_line = (0..10)
        .find_map(|_| stdout.recv_timeout(Duration::from_secs(5)).ok().filter(|l| l.contains("Immunisations API")));
    assert!(imms_line.is_some_and(|l| l.contains("emulator at")), "the banner names the Imms emulator");
    let server = Server { child, base };
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

fn fixture(relative: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../../shared/fixtures/mavis/{relative}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// GETs `url` until `done` holds (30 s at most).
async fn poll(client: &reqwest::Client, url: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let body: Value = client.get(url).bearer_auth(token).send().await.expect("GET").json().await.expect("JSON");
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "never reached the expected state: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn when_serve_runs_with_imms_data_should_pull_gp_history_and_sync_recorded_vaccinations() {
    let data = tempfile::tempdir().expect("temp dir");
    // A GP record for Jennifer Clarke's number after PDS (9999075320).
    let mut gp: Value = serde_json::from_slice(&fixture("fhir/flu/fhir_record_gp.json")).expect("fixture");
    gp["patient"]["identifier"]["value"] = json!("9999075320");
    gp["occurrenceDateTime"] = json!("2023-01-10T00:00:00+00:00");
    let history = data.path().join("gp.json");
    std::fs::write(
        &history,
        json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": gp}]}).to_string(),
    )
    .expect("write");
    let server = start(data.path(), &["--imms-data", history.to_str().expect("utf-8")]).await;
    let client = reqwest::Client::new();
    let nurse = token(data.path(), "nurse@example.com");

    let created: Value = client
        .post(format!("{}/api/imports", server.base))
        .bearer_auth(&nurse)
        .json(&json!({"kind": "child-records", "filename": "cohort.csv"}))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON");
    let upload = &created["upload"];
    let mut put = client.put(upload["url"].as_str().expect("url")).body(fixture("cohort_import/valid.csv"));
    for (name, value) in upload["headers"].as_object().expect("headers") {
        put = put.header(name, value.as_str().expect("header"));
    }
    assert!(put.send().await.expect("PUT").status().is_success());
    let import_url = format!("{}/api/imports/{}", server.base, created["id"].as_str().expect("id"));
    poll(&client, &import_url, &nurse, |i| i["status"] == "processed").await;
    let patients = poll(&client, &format!("{import_url}/patients"), &nurse, |p| p["patients"].is_array()).await;
    let jennifer = patients["patients"]
        .as_array()
        .expect("patients")
        .iter()
        .find(|p| p["nhs_number"] == "9999075320")
        .expect("Jennifer, with the number PDS gave")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let child_url = format!("{}/api/patients/{jennifer}", server.base);

    // The import asked for a history search; the runner's sweep sends it and the GP record joins the history.
    let child = poll(&client, &child_url, &nurse, |c| {
        c["vaccinations"].as_array().is_some_and(|v| v.iter().any(|r| r["source"] == "nhs_immunisations_api"))
    })
    .await;
    let gp_record = &child["vaccinations"][0];
    assert_eq!((gp_record["programme"].as_str(), gp_record["sync"].is_null()), (Some("flu"), true));

    let recorded = client
        .post(format!("{}/api/vaccination-records", server.base))
        .bearer_auth(&nurse)
        .json(&json!({"patient_id": jennifer, "programme": "HPV", "vaccine": "gardasil_9", "date": "2023-05-19",
            "time": "10:00", "batch": "AB1234", "batch_expiry": "2024-01-01", "site": "left arm (upper position)",
            "dose_sequence": 1, "performer_email": "nurse@example.com"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(recorded.status(), 201);
    let recorded: Value = recorded.json().await.expect("JSON");
    let id = recorded["id"].as_str().expect("id").to_owned();
    let child = poll(&client, &child_url, &nurse, |c| {
        c["vaccinations"].as_array().is_some_and(|v| v.iter().any(|r| r["id"] == id && r["sync"]["status"] == "synced"))
    })
    .await;
    let ours = child["vaccinations"].as_array().unwrap().iter().find(|r| r["id"] == id).cloned().unwrap();
    assert!(ours["sync"]["last_synced_at"].is_string(), "{ours}");
}

#[test]
fn when_imms_data_is_not_a_bundle_should_exit_2_naming_the_file() {
    let data = tempfile::tempdir().expect("temp dir");
    let bad = data.path().join("bad-imms.json");
    std::fs::write(&bad, "not json").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_mavis"))
        .args(["serve", "--port", "0", "--imms-data"])
        .arg(&bad)
        .arg("--data")
        .arg(data.path())
        .output()
        .expect("run mavis serve");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--imms-data") && stderr.contains("bad-imms.json"), "{stderr}");
}
