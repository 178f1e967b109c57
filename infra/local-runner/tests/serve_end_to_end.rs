//! `mavis serve` as a user runs it: a real process, a token from `mavis token`, the JSON API over HTTP, a file PUT
//! to the presigned URL, and a file copied into the drops folder.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

async fn start(data: &Path) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_mavis"))
        .args(["serve", "--port", &port.to_string(), "--today", "2023-05-20", "--data"])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mavis serve");
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(60);
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
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let import: Value = client.get(url).bearer_auth(token).send().await.expect("GET").json().await.expect("JSON");
        if import["status"] == status {
            return import;
        }
        assert!(Instant::now() < deadline, "import never reached {status}: {import}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn fixture(relative: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../../shared/fixtures/mavis/{relative}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

#[tokio::test]
async fn when_file_is_put_to_the_presigned_url_should_complete_and_stay_within_the_team() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = start(data.path()).await;
    let nurse = token(data.path(), "nurse@example.com");
    let client = reqwest::Client::new();

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
        put = put.header(name, value.as_str().expect("header value"));
    }
    assert!(put.send().await.expect("PUT").status().is_success());

    let url = format!("{}/api/imports/{}", server.base, created["id"].as_str().expect("id"));
    let import = wait_for_status(&client, &url, &nurse, "processed").await;
    assert_eq!(import["status_tag"], "Completed");
    assert_eq!(import["counts"], json!({"new": 3, "changed": 0, "exact_duplicate": 0}));

    let other_team = token(data.path(), "nurse2@example.com");
    let response = client.get(&url).bearer_auth(&other_team).send().await.expect("GET");
    assert_eq!(response.status(), 404);
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
