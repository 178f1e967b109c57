//! Shared helpers: start an emulator in-process and talk to it over real HTTP.
#![allow(dead_code)]

use pds_emulator::{Config, RunningEmulator, test_keys};
use reqwest::{Client, Response};
use serde_json::Value;

pub struct Harness {
    pub emulator: RunningEmulator,
    pub client: Client,
}

/// The built-in data with auth switched off (how Mavis runs against the sandbox).
pub async fn open() -> Harness {
    let mut config = Config::builtin().expect("built-in config");
    config.auth_required = false;
    start(config).await
}

/// The built-in data with auth required and the test key configured.
pub async fn secured() -> Harness {
    start(Config::builtin().expect("built-in config")).await
}

pub async fn start(config: Config) -> Harness {
    let emulator = pds_emulator::spawn(config).await.expect("emulator starts");
    Harness { emulator, client: Client::new() }
}

impl Harness {
    pub fn pds_url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.pds_base_url)
    }

    /// A PDS GET as Mavis sends it: fresh `X-Request-ID`, FHIR accept header, optional bearer token.
    pub async fn pds_get(&self, path: &str, query: &[(&str, &str)], token: Option<&str>) -> Response {
        let mut request = self
            .client
            .get(self.pds_url(path))
            .query(query)
            .header("accept", "application/fhir+json")
            .header("x-request-id", uuid::Uuid::new_v4().to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    pub async fn get_patient(&self, nhs_number: &str) -> Response {
        self.pds_get(&format!("/Patient/{nhs_number}"), &[], None).await
    }

    pub async fn search(&self, query: &[(&str, &str)]) -> Response {
        self.pds_get("/Patient", query, None).await
    }

    /// Posts a token-endpoint form.
    pub async fn token_request(&self, form: &[(&str, &str)]) -> Response {
        self.client.post(&self.emulator.token_url).form(form).send().await.expect("token request sent")
    }

    pub async fn exchange(&self, assertion: &str) -> Response {
        self.token_request(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion),
        ])
        .await
    }

    /// A bearer token obtained the proper way, with the test key.
    pub async fn token(&self) -> String {
        let assertion = test_keys::client_assertion(&self.emulator.token_url).expect("assertion signed");
        let response = self.exchange(&assertion).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("token JSON");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("{}/_emulator{path}", self.emulator.base_url)
    }

    /// `GET /_emulator/requests`, filtered to the PDS base path.
    pub async fn pds_requests(&self) -> Vec<Value> {
        let url = self.admin_url("/requests");
        let response =
            self.client.get(url).query(&[("path", &self.emulator.pds_base_url[self.emulator.base_url.len()..])]);
        let body: Value = response.send().await.expect("log fetched").json().await.expect("log JSON");
        body["requests"].as_array().cloned().unwrap_or_default()
    }
}

pub async fn json(response: Response) -> Value {
    response.json().await.expect("JSON body")
}

/// `issue[0].details.coding[0].code` of an OperationOutcome.
pub fn outcome_code(body: &Value) -> &str {
    body["issue"][0]["details"]["coding"][0]["code"].as_str().unwrap_or_default()
}
