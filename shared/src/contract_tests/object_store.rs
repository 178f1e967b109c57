//! The [`ObjectStore`] contract: what the pipeline may rely on from both the folder adapter and S3.
//!
//! Every check works under its own random prefix, so checks can run in parallel against one shared bucket or folder
//! and leave nothing behind that another check could trip over. Test data is synthetic.
//!
//! - [`run_all`]: storage semantics; needs nothing but the store.
//! - [`run_presigned_upload`], [`run_presigned_upload_with_length`]: need something serving the presigned URL (S3/moto, or the folder store's
//!   `upload_router`). Pass `signatures_enforced = false` for moto, which accepts any signature and any content type
//!   on a presigned PUT; those two rejection checks are then skipped.

use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::ports::object_store::{ObjectStore, ObjectStoreError, ObjectVersion};

const CSV: &str = "text/csv";

/// Runs every storage check in turn (not [`run_presigned_upload`]).
pub async fn run_all(store: &dyn ObjectStore) {
    round_trip(store).await;
    large_object_reads_as_a_stream(store).await;
    overwrite_changes_etag(store).await;
    open_version_reads_only_that_version(store).await;
    missing_key_is_not_found(store).await;
    delete_removes_the_object(store).await;
    list_by_prefix_in_key_order(store).await;
    keys_with_spaces_and_plus_signs(store).await;
}

fn unique_prefix(check: &str) -> String {
    format!("contract/{check}-{}/", uuid::Uuid::new_v4().simple())
}

/// The whole object, read through `open`.
async fn read_all(store: &dyn ObjectStore, key: &str) -> Vec<u8> {
    let mut reader = store.open(key).await.unwrap_or_else(|e| panic!("open {key}: {e}"));
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await.unwrap_or_else(|e| panic!("read {key}: {e}"));
    out
}

async fn put(store: &dyn ObjectStore, key: &str, body: impl Into<Bytes>) {
    store.put(key, body.into(), CSV).await.unwrap_or_else(|e| panic!("put {key}: {e}"));
}

pub async fn round_trip(store: &dyn ObjectStore) {
    let key = format!("{}upload.csv", unique_prefix("round-trip"));
    let body = "nhs_number,given_name\n9990000018,Alex\n";
    put(store, &key, body).await;

    let info = store.head(&key).await.expect("head after put");
    assert_eq!(info.key, key);
    assert_eq!(info.size, body.len() as u64);
    assert!(!info.etag.is_empty(), "etag must be set");
    assert_eq!(read_all(store, &key).await, body.as_bytes());
    // `open` gives a fresh stream each time.
    assert_eq!(read_all(store, &key).await, body.as_bytes(), "second open must re-read from the start");
    store.delete(&key).await.expect("clean up");
}

pub async fn large_object_reads_as_a_stream(store: &dyn ObjectStore) {
    let key = format!("{}large.csv", unique_prefix("large"));
    let body: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8 ^ (i >> 12) as u8).collect();
    put(store, &key, body.clone()).await;
    assert_eq!(store.head(&key).await.expect("head").size, body.len() as u64);

    let mut reader = store.open(&key).await.expect("open");
    let (mut hasher, mut total, mut reads) = (Sha256::new(), 0usize, 0usize);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).await.expect("read chunk");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n;
        reads += 1;
    }
    assert_eq!(total, body.len());
    assert!(reads >= 3 * 1024 * 1024 / buf.len(), "a bounded buffer must take many reads, got {reads}");
    assert_eq!(hasher.finalize().as_slice(), Sha256::digest(&body).as_slice(), "streamed content differs");
    store.delete(&key).await.expect("clean up");
}

pub async fn overwrite_changes_etag(store: &dyn ObjectStore) {
    let key = format!("{}file.csv", unique_prefix("overwrite"));
    put(store, &key, "version,1\n").await;
    let first = store.head(&key).await.expect("head v1");
    // Same length, different content: the etag must follow the content, not the size.
    put(store, &key, "version,2\n").await;
    let second = store.head(&key).await.expect("head v2");
    assert_ne!(first.etag, second.etag, "overwriting must change the etag");
    assert_eq!(second.size, 10);
    assert_eq!(read_all(store, &key).await, b"version,2\n");
    put(store, &key, "version,2\n").await;
    assert_eq!(store.head(&key).await.expect("head v2 again").etag, second.etag, "same content, same etag");
    store.delete(&key).await.expect("clean up");
}

/// What keeps an import to the bytes it claimed: `open_version` reads the version named, and once the key holds
/// other content, that version is `Changed` (neither bucket here keeps older versions).
pub async fn open_version_reads_only_that_version(store: &dyn ObjectStore) {
    let key = format!("{}claimed.csv", unique_prefix("open-version"));
    put(store, &key, "file,A\n").await;
    let first = ObjectVersion::of_etag(store.head(&key).await.expect("head A").etag);
    let mut reader = store.open_version(&key, &first).await.expect("open A by its version");
    let mut read = Vec::new();
    reader.read_to_end(&mut read).await.expect("read A");
    assert_eq!(read, b"file,A\n");

    put(store, &key, "file,B\n").await;
    assert!(
        matches!(store.open_version(&key, &first).await, Err(ObjectStoreError::Changed)),
        "a replaced version must not be read as if it were the claimed one"
    );
    let second = ObjectVersion::of_etag(store.head(&key).await.expect("head B").etag);
    let mut reader = store.open_version(&key, &second).await.expect("open B by its version");
    let mut read = Vec::new();
    reader.read_to_end(&mut read).await.expect("read B");
    assert_eq!(read, b"file,B\n");
    store.delete(&key).await.expect("clean up");
    assert!(matches!(store.open_version(&key, &second).await, Err(ObjectStoreError::NotFound(_))), "deleted");
}

pub async fn missing_key_is_not_found(store: &dyn ObjectStore) {
    let key = format!("{}missing.csv", unique_prefix("missing"));
    assert!(matches!(store.head(&key).await, Err(ObjectStoreError::NotFound(_))), "head of a missing key");
    assert!(matches!(store.open(&key).await, Err(ObjectStoreError::NotFound(_))), "open of a missing key");
}

pub async fn delete_removes_the_object(store: &dyn ObjectStore) {
    let prefix = unique_prefix("delete");
    let key = format!("{prefix}gone.csv");
    put(store, &key, "a,b\n").await;
    store.delete(&key).await.expect("delete");
    assert!(matches!(store.head(&key).await, Err(ObjectStoreError::NotFound(_))), "head after delete");
    assert!(matches!(store.open(&key).await, Err(ObjectStoreError::NotFound(_))), "open after delete");
    assert!(store.list(&prefix).await.expect("list after delete").is_empty());
    store.delete(&key).await.expect("deleting a missing key succeeds, as on S3");
}

pub async fn list_by_prefix_in_key_order(store: &dyn ObjectStore) {
    let prefix = unique_prefix("list");
    // No two names differ only in case: a folder store on a case-insensitive file system must pass too.
    let inside = ["b.csv", "a.csv", "sub/c.csv", "a.csv.bak", "Z.csv"];
    for name in inside {
        put(store, &format!("{prefix}in/{name}"), name.to_owned()).await;
    }
    // Shares the string prefix `…in` but not `…in/`.
    put(store, &format!("{prefix}inbox/x.csv"), "x").await;

    let listed = store.list(&format!("{prefix}in/")).await.expect("list");
    let keys: Vec<&str> = listed.iter().map(|o| o.key.strip_prefix(&prefix).unwrap_or(&o.key)).collect();
    // Byte order, as S3 lists: upper case before lower case, `a.csv` before `a.csv.bak`.
    assert_eq!(keys, ["in/Z.csv", "in/a.csv", "in/a.csv.bak", "in/b.csv", "in/sub/c.csv"]);
    for object in &listed {
        let head = store.head(&object.key).await.expect("head listed key");
        assert_eq!((object.size, &object.etag), (head.size, &head.etag), "list and head disagree");
    }

    let partial = store.list(&format!("{prefix}in/a")).await.expect("list by partial name");
    assert_eq!(partial.len(), 2, "a prefix need not end at a '/'");
    let everything = store.list(&prefix).await.expect("list all");
    assert_eq!(everything.len(), inside.len() + 1);
    assert!(store.list(&format!("{prefix}nothing/")).await.expect("list empty").is_empty());

    for object in everything {
        store.delete(&object.key).await.expect("clean up");
    }
}

pub async fn keys_with_spaces_and_plus_signs(store: &dyn ObjectStore) {
    let prefix = unique_prefix("odd-keys");
    let keys = [format!("{prefix}my file+v2 (final).csv"), format!("{prefix}café & co%20.csv")];
    for key in &keys {
        put(store, key, key.clone()).await;
        assert_eq!(store.head(key).await.expect("head odd key").key, *key);
        assert_eq!(read_all(store, key).await, key.as_bytes());
    }
    let listed: Vec<String> = store.list(&prefix).await.expect("list").into_iter().map(|o| o.key).collect();
    let mut expected = keys.to_vec();
    expected.sort();
    assert_eq!(listed, expected, "keys must come back from list exactly as written");
    for key in &keys {
        store.delete(key).await.expect("clean up");
    }
}

/// Presigns an upload, PUTs a file through it over real HTTP, and reads it back. With `signatures_enforced`, also
/// checks that a tampered signature gets 403 and a content type other than the signed one gets a 4xx.
pub async fn run_presigned_upload(store: &dyn ObjectStore, signatures_enforced: bool) {
    let key = format!("{}uploads/cohort list+1.csv", unique_prefix("presigned"));
    let body = "nhs_number,given_name,family_name\n9990000026,Sam,Example\n";
    let upload = store.presign_upload(&key, CSV, None, Duration::from_secs(300)).await.expect("presign");
    assert_eq!(upload.method, "PUT");
    assert_eq!(upload.expires_in_seconds, 300);
    assert_eq!(
        upload.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.as_str()),
        Some(CSV),
        "the client must be told to send the signed content type"
    );

    let http = reqwest::Client::new();
    let send = |url: String, content_type: Option<&str>| {
        let mut request = http.put(url).body(body);
        for (name, value) in &upload.headers {
            if !(content_type.is_some() && name.eq_ignore_ascii_case("content-type")) {
                request = request.header(name, value);
            }
        }
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        request.send()
    };

    if signatures_enforced {
        let tampered = tamper_signature(&upload.url);
        let response = send(tampered, None).await.expect("PUT with a tampered signature");
        assert_eq!(response.status(), 403, "a tampered signature must be refused");
        let response = send(upload.url.clone(), Some("application/octet-stream")).await.expect("PUT, wrong type");
        assert!(response.status().is_client_error(), "wrong content type must be refused: {}", response.status());
        assert!(matches!(store.head(&key).await, Err(ObjectStoreError::NotFound(_))), "refused PUTs store nothing");
    }

    let response = send(upload.url.clone(), None).await.expect("PUT to the presigned URL");
    assert!(response.status().is_success(), "presigned PUT failed: {}", response.status());
    let info = store.head(&key).await.expect("head after upload");
    assert_eq!(info.size, body.len() as u64);
    assert_eq!(read_all(store, &key).await, body.as_bytes());

    // The URL uploads one file: a second PUT through it (another file, while the first is being imported) is
    // refused and the first file stays as it was.
    let response = http
        .put(upload.url.clone())
        .body("nhs_number,given_name,family_name\n9990000034,Other,File\n")
        .headers(
            upload
                .headers
                .iter()
                .map(|(k, v)| (k.parse().expect("header name"), v.parse().expect("header value")))
                .collect(),
        )
        .send()
        .await
        .expect("a second PUT");
    assert_eq!(response.status(), 412, "a second PUT through the same URL must be refused");
    assert_eq!(store.head(&key).await.expect("head after the refused PUT").etag, info.etag, "the first file stays");
    store.delete(&key).await.expect("clean up");
}

/// A presigned PUT with its length signed: the client is told to send that Content-Length, the URL signs it, and the
/// exact body is stored. With `signatures_enforced`, a body of another length is refused and stores nothing.
pub async fn run_presigned_upload_with_length(store: &dyn ObjectStore, signatures_enforced: bool) {
    let key = format!("{}uploads/sized.csv", unique_prefix("presigned-length"));
    let body = "nhs_number,given_name,family_name\n9990000026,Sam,Example\n";
    let upload =
        store.presign_upload(&key, CSV, Some(body.len() as u64), Duration::from_secs(300)).await.expect("presign");
    let header = |name: &str| upload.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    assert_eq!(header("content-length"), Some(body.len().to_string()), "the client is told the signed length");
    let signed = upload.url.to_ascii_lowercase();
    assert!(
        signed.contains("content-length") || signed.contains("content_length="),
        "the length is part of what the URL signs: {}",
        upload.url
    );
    let http = reqwest::Client::new();
    let put = |text: String| {
        let mut request = http.put(upload.url.clone()).body(text);
        for (name, value) in &upload.headers {
            if !name.eq_ignore_ascii_case("content-length") {
                request = request.header(name, value);
            }
        }
        request.send()
    };
    if signatures_enforced {
        let response = put(format!("{body}9990000034,Extra,Row\n")).await.expect("PUT a longer body");
        assert!(response.status().is_client_error(), "another length is refused: {}", response.status());
        assert!(matches!(store.head(&key).await, Err(ObjectStoreError::NotFound(_))), "refused PUTs store nothing");
    }
    let response = put(body.to_string()).await.expect("PUT the signed length");
    assert!(response.status().is_success(), "presigned PUT failed: {}", response.status());
    assert_eq!(store.head(&key).await.expect("head").size, body.len() as u64);
    store.delete(&key).await.expect("clean up");
}

/// A browser form upload (presigned POST) over real HTTP, as the upload pages send it: the signed fields in order,
/// then the file, whose name takes the place of `${filename}` in the key. The store answers with a redirect to the
/// page named in the policy. With `policy_enforced`, a tampered policy and a file over the size range are refused
/// and store nothing.
pub async fn run_form_upload(store: &dyn ObjectStore, policy_enforced: bool) {
    use crate::ports::object_store::{PostPolicy, PostSuccess};
    let prefix = format!("{}uploads/", unique_prefix("form"));
    let policy = PostPolicy {
        key_prefix: prefix.clone(),
        content_type: CSV.into(),
        max_bytes: 1024,
        expires_in: Duration::from_secs(300),
        on_success: PostSuccess::Redirect("http://127.0.0.1:9/imports/done?uploaded=1".into()),
    };
    let form = store.presign_post(&policy).await.expect("presign a form");
    assert_eq!(form.expires_in_seconds, 300);
    let field = |name: &str| form.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(field("key"), Some(format!("{prefix}${{filename}}")));
    assert_eq!(field("Content-Type").as_deref(), Some(CSV));
    assert!(field("policy").is_some(), "the form carries its signed policy");

    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let send = |fields: Vec<(String, String)>, file: Vec<u8>| {
        let mut multipart = reqwest::multipart::Form::new();
        for (name, value) in fields {
            multipart = multipart.text(name, value);
        }
        let part = reqwest::multipart::Part::bytes(file).file_name("cohort.csv").mime_str(CSV).expect("mime");
        http.post(form.url.clone()).multipart(multipart.part("file", part)).send()
    };
    let body = b"nhs_number,given_name,family_name
9990000026,Sam,Example
"
    .to_vec();
    let key = format!("{prefix}cohort.csv");

    if policy_enforced {
        let mut tampered = form.fields.clone();
        for (name, value) in &mut tampered {
            if name == "Content-Type" {
                *value = "application/octet-stream".into();
            }
        }
        let response = send(tampered, body.clone()).await.expect("POST with a field the policy does not allow");
        assert!(response.status().is_client_error(), "a changed field must be refused: {}", response.status());
        let response = send(form.fields.clone(), vec![b'x'; 2048]).await.expect("POST of a file over the range");
        assert!(response.status().is_client_error(), "a file over the range must be refused: {}", response.status());
        assert!(matches!(store.head(&key).await, Err(ObjectStoreError::NotFound(_))), "refused forms store nothing");
    }

    let response = send(form.fields.clone(), body.clone()).await.expect("POST the form");
    assert_eq!(response.status(), 303, "the store sends the browser on to the page the policy names");
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(location.starts_with("http://127.0.0.1:9/imports/done?uploaded=1"), "{location}");
    let info = store.head(&key).await.expect("the file is stored under the chosen name");
    assert_eq!(info.size, body.len() as u64);
    assert_eq!(read_all(store, &key).await, body);
    store.delete(&key).await.expect("clean up");
}

/// Flips the first hex digit of the signature in a presigned URL (`signature=` or S3's `X-Amz-Signature=`).
fn tamper_signature(url: &str) -> String {
    let at = url.to_ascii_lowercase().rfind("signature=").map(|i| i + "signature=".len());
    let Some(at) = at.filter(|&i| i < url.len()) else { panic!("no signature in presigned URL") };
    let flipped = if url.as_bytes()[at] == b'0' { "1" } else { "0" };
    format!("{}{flipped}{}", &url[..at], &url[at + 1..])
}
