//! Shared helpers: start an emulator in-process and talk to it over real HTTP, as a client would.
#![allow(dead_code)]

use imms_emulator::{Config, RunningEmulator, test_keys};
use reqwest::{Client, Response};
use serde_json::Value;

pub struct Harness {
    pub emulator: RunningEmulator,
    pub client: Client,
}

/// No records, auth off (how tests usually run against the sandbox).
pub async fn open() -> Harness {
    let mut config = Config::builtin().expect("built-in config");
    config.auth_required = false;
    start(config).await
}

/// Auth required, the test key configured.
pub async fn secured() -> Harness {
    start(Config::builtin().expect("built-in config")).await
}

pub async fn start(config: Config) -> Harness {
    let emulator = imms_emulator::spawn(config).await.expect("emulator starts");
    Harness { emulator, client: Client::new() }
}

/// A Mavis fixture from `shared/fixtures/mavis/fhir/`.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/../../../shared/fixtures/mavis/fhir/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture JSON")
}

/// The create fixture (HPV, NHS 9449310475, identifier 11112222-…).
pub fn create_body() -> Value {
    fixture("immunisation_create.json")
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.imms_base_url)
    }

    /// A request as the client sends it: FHIR accept header, fresh `X-Request-ID`.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("accept", "application/fhir+json")
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
    }

    pub async fn create(&self, body: &Value) -> Response {
        self.request(reqwest::Method::POST, "/Immunization")
            .header("content-type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .expect("POST sent")
    }

    /// Creates and returns `(id, version)`; panics unless 201.
    pub async fn create_ok(&self, body: &Value) -> (String, u32) {
        let response = self.create(body).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
        let location = header(&response, "location");
        let id = location.rsplit('/').next().expect("id in Location").to_owned();
        (id, etag(&response))
    }

    pub async fn read(&self, id: &str) -> Response {
        self.request(reqwest::Method::GET, &format!("/Immunization/{id}")).send().await.expect("GET sent")
    }

    pub async fn update(&self, id: &str, body: &Value, etag: Option<&str>) -> Response {
        let mut request = self
            .request(reqwest::Method::PUT, &format!("/Immunization/{id}"))
            .header("content-type", "application/fhir+json")
            .body(body.to_string());
        if let Some(etag) = etag {
            request = request.header("E-Tag", etag);
        }
        request.send().await.expect("PUT sent")
    }

    pub async fn delete(&self, id: &str) -> Response {
        self.request(reqwest::Method::DELETE, &format!("/Immunization/{id}")).send().await.expect("DELETE sent")
    }

    pub async fn search(&self, query: &[(&str, &str)]) -> Response {
        self.request(reqwest::Method::GET, "/Immunization").query(query).send().await.expect("search sent")
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("{}/_emulator{path}", self.emulator.base_url)
    }

    /// A bearer token obtained the proper way, with the test key.
    pub async fn token(&self) -> String {
        let assertion = test_keys::client_assertion(&self.emulator.token_url).expect("assertion signed");
        let response = self
            .client
            .post(&self.emulator.token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", assertion.as_str()),
            ])
            .send()
            .await
            .expect("token request sent");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("token JSON");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// `GET /_emulator/requests`.
    pub async fn requests(&self) -> Vec<Value> {
        let body: Value = self.client.get(self.admin_url("/requests")).send().await.unwrap().json().await.unwrap();
        body["requests"].as_array().cloned().unwrap_or_default()
    }
}

pub fn header(response: &Response, name: &str) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// The `E-Tag` response header as a number (0 when absent).
pub fn etag(response: &Response) -> u32 {
    header(response, "e-tag").parse().unwrap_or(0)
}

pub async fn json(response: Response) -> Value {
    response.json().await.expect("JSON body")
}

/// `issue[0].diagnostics` and `issue[0].code` of an OperationOutcome.
pub fn diagnostics(body: &Value) -> &str {
    body["issue"][0]["diagnostics"].as_str().unwrap_or_default()
}

pub fn issue_code(body: &Value) -> &str {
    body["issue"][0]["code"].as_str().unwrap_or_default()
}

/// The create fixture with another identifier value, so several records can coexist.
pub fn body_with_identifier(value: &str) -> Value {
    let mut body = create_body();
    body["identifier"][0]["value"] = Value::String(value.to_owned());
    body
}
