//! The `pds-emulator` binary: starts on a free port, prints where, serves, and refuses bad data.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Running, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pds-emulator"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line");
    let running = Running(child);
    (running, serde_json::from_str(&line).expect("one JSON line"))
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).header("x-request-id", uuid::Uuid::new_v4().to_string()).send().await.unwrap()
}

#[tokio::test]
async fn prints_its_address_and_serves_the_default_data() {
    let (_running, started) = start(&["--port", "0", "--no-auth"]);
    let base_url = started["base_url"].as_str().expect("base_url");
    assert!(base_url.starts_with("http://127.0.0.1:"));
    assert_eq!(started["pds_base_url"], format!("{base_url}/personal-demographics/FHIR/R4"));
    assert_eq!(started["token_url"], format!("{base_url}/oauth2/token"));
    let response = get(&format!("{}/Patient/9000000009", started["pds_base_url"].as_str().unwrap())).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn data_files_overlay_in_order_and_auth_is_on_by_default() {
    let (_running, started) = start(&[
        "--port",
        "0",
        "--data",
        "data/patients.json",
        "--data",
        "data/overlay-twins.json",
        "--public-key",
        "tests/fixtures/jwks.json",
    ]);
    let pds = started["pds_base_url"].as_str().unwrap();
    assert_eq!(get(&format!("{pds}/Patient/9435764479")).await.status(), 401);

    let token_url = started["token_url"].as_str().unwrap();
    let assertion = pds_emulator::test_keys::client_assertion(token_url).unwrap();
    let token: Value = reqwest::Client::new()
        .post(token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", &assertion),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let patient: Value = reqwest::Client::new()
        .get(format!("{pds}/Patient/9435764479"))
        .header("x-request-id", uuid::Uuid::new_v4().to_string())
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patient["id"], "9449306168", "superseded by the overlay");
}

#[test]
fn refuses_a_bad_data_file() {
    let output = Command::new(env!("CARGO_BIN_EXE_pds-emulator"))
        .args(["--port", "0", "--data", "tests/fixtures/jwks.json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("binary runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a FHIR Bundle"));
    assert!(output.stdout.is_empty());
}
