//! The `imms-emulator` binary: starts on a free port, prints where, serves its data file, and refuses bad data.

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
    let mut child = Command::new(env!("CARGO_BIN_EXE_imms-emulator"))
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

#[tokio::test]
async fn prints_its_address_and_serves_the_data_file() {
    let (_running, started) = start(&["--port", "0", "--no-auth", "--data", "tests/fixtures/gp_history.json"]);
    let base_url = started["base_url"].as_str().expect("base_url");
    assert!(base_url.starts_with("http://127.0.0.1:"));
    assert_eq!(started["imms_base_url"], format!("{base_url}/immunisation-fhir-api/FHIR/R4"));
    assert_eq!(started["token_url"], format!("{base_url}/oauth2/token"));
    let url =
        format!("{}/Immunization/5a7f7b53-7d0f-4c8e-9d51-3f9d1c1f2a01", started["imms_base_url"].as_str().unwrap());
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn auth_is_on_by_default() {
    let (_running, started) = start(&["--port", "0"]);
    let url = format!("{}/Immunization/abc", started["imms_base_url"].as_str().unwrap());
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 401);
}

#[test]
fn a_bad_data_file_stops_it_with_a_message_naming_the_file() {
    let output = Command::new(env!("CARGO_BIN_EXE_imms-emulator"))
        .args(["--port", "0", "--data", "Cargo.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Cargo.toml") && stderr.contains("not JSON"), "{stderr}");
}
