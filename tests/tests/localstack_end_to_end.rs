//! The real function binaries on LocalStack: `scripts/localstack-e2e` deploys the template to LocalStack, serves
//! import-file, pds, fhir and api under `cargo lambda watch` with the PDS emulator behind them, and forwards the
//! queues with `lambda-event-sources`; this test then works the stack as users do. A CSV dropped into
//! `drops/R1L/` and one uploaded through the api function's presigned URL are imported to "Completed" (PDS searched);
//! a malformed file ends "Invalid"; a message that keeps failing lands in the dead-letter queue.
//!
//! Skipped unless `MAVIS_E2E_API_URL` is set (it fails instead when `MAVIS_REQUIRE_LOCALSTACK` is set). Against a
//! real account (README, "Deploy"), `MAVIS_E2E_TOKEN` is a nurse's token from the real provider; the PDS log and the
//! dead-letter check (five 90-minute visibility timeouts there) are left out.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use shared::web::auth::LocalIssuer;

const NURSE: &str = "nurse@example.com";
const DEADLINE: Duration = Duration::from_secs(180);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run through scripts/localstack-e2e"))
}

fn fixture(relative: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../shared/fixtures/mavis/{relative}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// The sign-in provider's JWKS, where the api function (`MAVIS_OIDC_JWKS_URL`) fetches it, and tokens it accepts.
struct Provider {
    issuer: LocalIssuer,
    url: String,
    _keys: tempfile::TempDir,
}

impl Provider {
    async fn serve(port: u16) -> Provider {
        let keys = tempfile::tempdir().expect("temp dir");
        let issuer = LocalIssuer::load_or_create(keys.path()).expect("issuer key");
        let jwks = issuer.jwks();
        let router = axum::Router::new().route("/jwks", axum::routing::get(move || async move { axum::Json(jwks) }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the provider's port is free");
        tokio::spawn(async move { axum::serve(listener, router).await });
        Provider { issuer, url: format!("http://127.0.0.1:{port}"), _keys: keys }
    }

    fn token(&self, email: &str) -> String {
        self.issuer.issue_id_token(&self.url, "mavis", email, "e2e", Duration::from_secs(3600))
    }
}

struct Stack {
    api: String,
    token: String,
    http: reqwest::Client,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
}

impl Stack {
    async fn get(&self, path: &str) -> Value {
        let response = self.http.get(format!("{}{path}", self.api)).bearer_auth(&self.token).send().await.expect("GET");
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.expect("JSON")
    }

    /// Waits until the import is no longer waiting or being processed, and returns it.
    async fn settled(&self, path: &str) -> Value {
        let started = Instant::now();
        loop {
            let import = self.get(path).await;
            let status = import["status"].as_str().unwrap_or_default().to_owned();
            if !["awaiting_upload", "pending_import", "committing"].contains(&status.as_str()) {
                return import;
            }
            assert!(started.elapsed() < DEADLINE, "import still {status} after {DEADLINE:?}: {import}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn drop_file(&self, name: &str, body: Vec<u8>) -> Value {
        let key = format!("drops/R1L/{name}");
        let bucket = env("MAVIS_BUCKET_NAME");
        self.s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .content_type("text/csv")
            .body(body.into())
            .send()
            .await
            .expect("drop");
        let started = Instant::now();
        let id = loop {
            let list = self.get("/api/imports").await;
            let found = list["imports"].as_array().into_iter().flatten().find(|i| i["filename"] == name);
            if let Some(import) = found {
                break import["id"].as_str().expect("id").to_owned();
            }
            assert!(started.elapsed() < DEADLINE, "the drop {name} was never picked up: {list}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        self.settled(&format!("/api/imports/{id}")).await
    }
}

async fn stack() -> Option<Stack> {
    let Ok(api) = std::env::var("MAVIS_E2E_API_URL") else {
        assert!(
            std::env::var("MAVIS_REQUIRE_LOCALSTACK").is_err(),
            "MAVIS_REQUIRE_LOCALSTACK is set but MAVIS_E2E_API_URL is not"
        );
        eprintln!("SKIPPED localstack_end_to_end: MAVIS_E2E_API_URL is not set (run scripts/localstack-e2e)");
        return None;
    };
    let sdk = match std::env::var("AWS_ENDPOINT_URL") {
        Ok(endpoint) => shared::adapters::aws::sdk_config_for(&endpoint).await,
        // A real account: the developer's own credentials and region.
        Err(_) => shared::adapters::aws::sdk_config().await,
    };
    Some(Stack {
        api: api.trim_end_matches('/').to_owned(),
        token: String::new(),
        http: reqwest::Client::new(),
        s3: shared::adapters::aws::s3_client(&sdk),
        sqs: aws_sdk_sqs::Client::new(&sdk),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_uploaded_malformed_and_poison_inputs_should_end_as_users_expect_through_the_real_binaries() {
    let Some(mut stack) = stack().await else { return };
    let real_account = std::env::var("MAVIS_E2E_TOKEN").ok();
    let _provider = match &real_account {
        Some(token) => {
            stack.token = token.clone();
            None
        }
        None => {
            let provider = Provider::serve(env("MAVIS_E2E_OIDC_PORT").parse().expect("a port")).await;
            stack.token = provider.token(NURSE);
            Some(provider)
        }
    };
    let run = uuid::Uuid::new_v4().simple().to_string();

    // 1. A CHIS provider's drop.
    let dropped = stack.drop_file(&format!("cohort-{run}.csv"), fixture("cohort_import/valid.csv")).await;
    assert_eq!(dropped["status"], "processed", "{dropped}");
    assert_eq!(dropped["status_tag"], "Completed", "{dropped}");

    // 2. A nurse's upload: the api function presigns, the browser PUTs straight to the bucket.
    let body = fixture("cohort_import/valid_extra_fields.csv");
    let created = stack
        .http
        .post(format!("{}/api/imports", stack.api))
        .bearer_auth(&stack.token)
        .json(&json!({ "kind": "child-records", "filename": format!("upload-{run}.csv"), "size_bytes": body.len() }))
        .send()
        .await
        .expect("POST /api/imports");
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("JSON");
    let upload = &created["upload"];
    let mut put = stack.http.put(upload["url"].as_str().expect("url")).body(body);
    for (name, value) in upload["headers"].as_object().expect("headers") {
        put = put.header(name, value.as_str().expect("header value"));
    }
    let put = put.send().await.expect("PUT");
    assert!(put.status().is_success(), "presigned PUT: {}", put.status());
    let uploaded = stack.settled(&format!("/api/imports/{}", created["id"].as_str().expect("id"))).await;
    assert_eq!(uploaded["status_tag"], "Completed", "{uploaded}");

    // 3. A file that is not a CSV of child records.
    let malformed = stack.drop_file(&format!("malformed-{run}.csv"), fixture("cohort_import/malformed.csv")).await;
    assert_eq!(malformed["status_tag"], "Invalid", "{malformed}");
    if real_account.is_some() {
        return;
    }

    // The pds function searched PDS for the rows (through the pds queue) before the commit.
    let searched: Value =
        reqwest::get(format!("{}/_emulator/requests?path=/personal-demographics", env("MAVIS_E2E_PDS_URL")))
            .await
            .expect("PDS emulator log")
            .json()
            .await
            .expect("JSON");
    assert!(searched["count"].as_u64().is_some_and(|count| count > 0), "PDS was never called: {searched}");

    // 4. A notification of an object that does not exist: no retry can find it, so its first delivery ends it. It
    // leaves the queue without reaching the dead-letter queue, which is for retries that ran out (the queue
    // contract's `dead_letters_after_max_receives` shows the redrive on SQS).
    let key = format!("drops/R1L/vanished-{run}.csv");
    let notification = json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-2", "eventName": "ObjectCreated:Put",
        "s3": { "bucket": { "name": env("MAVIS_BUCKET_NAME") }, "object": { "key": key, "size": 10 } }
    }]});
    stack
        .sqs
        .send_message()
        .queue_url(env("MAVIS_OBJECT_EVENTS_QUEUE_URL"))
        .message_body(notification.to_string())
        .send()
        .await
        .expect("send");
    let events = env("MAVIS_OBJECT_EVENTS_QUEUE_URL");
    let started = Instant::now();
    loop {
        let attributes = stack
            .sqs
            .get_queue_attributes()
            .queue_url(&events)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes");
        let count =
            |name| attributes.attributes().and_then(|a| a.get(&name)).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        let left = count(QueueAttributeName::ApproximateNumberOfMessages)
            + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible);
        if left == 0 {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "the notification of a missing object stayed on the queue");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let dead = stack
        .sqs
        .receive_message()
        .queue_url(env("MAVIS_OBJECT_EVENTS_DEAD_LETTER_QUEUE_URL"))
        .max_number_of_messages(10)
        .wait_time_seconds(2)
        .send()
        .await
        .expect("receive from the dead-letter queue");
    assert!(!dead.messages().iter().any(|m| m.body().is_some_and(|b| b.contains(&key))), "not dead-lettered");
    let imports = stack.get("/api/imports").await;
    let of_this_run = |i: &&Value| i["filename"].as_str().is_some_and(|f| f.contains(&run));
    let processing: Vec<&Value> = imports["imports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(of_this_run)
        .filter(|i| i["status_tag"] == "Processing")
        .collect();
    assert!(processing.is_empty(), "nothing of this run is left processing: {processing:?}");
}
