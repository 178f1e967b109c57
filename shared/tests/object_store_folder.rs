//! The object store contract against the folder adapter, plus what only the folder adapter has: key validation,
//! the sidecar ETag cache and the local upload endpoint. Runs offline.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shared::adapters::folder_object_store::{FolderObjectStore, ObjectStored, UploadRejected, upload_router};
use shared::contract_tests::object_store as contract;
use shared::ports::object_store::{ObjectStore, ObjectStoreError};

const KEY: [u8; 32] = [7; 32];

fn store(dir: &tempfile::TempDir) -> FolderObjectStore {
    FolderObjectStore::new(dir.path(), "http://127.0.0.1:9".into(), KEY)
}

/// A store whose presigned URLs point at a real `upload_router` on an ephemeral port; records `on_stored` calls.
async fn served_store(
    dir: &tempfile::TempDir,
    max_upload_bytes: u64,
) -> (Arc<FolderObjectStore>, Arc<Mutex<Vec<ObjectStored>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let store = Arc::new(FolderObjectStore::new(dir.path(), base_url, KEY).with_max_upload_bytes(max_upload_bytes));
    let stored = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&stored);
    let app =
        upload_router(Arc::clone(&store), Arc::new(move |event: ObjectStored| record.lock().unwrap().push(event)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (store, stored)
}

macro_rules! contract_check {
    ($name:ident) => {
        #[tokio::test]
        async fn $name() {
            let dir = tempfile::tempdir().expect("tempdir");
            contract::$name(&store(&dir)).await;
        }
    };
}

contract_check!(round_trip);
contract_check!(large_object_reads_as_a_stream);
contract_check!(overwrite_changes_etag);
contract_check!(open_version_reads_only_that_version);
contract_check!(missing_key_is_not_found);
contract_check!(delete_removes_the_object);
contract_check!(list_by_prefix_in_key_order);
contract_check!(keys_with_spaces_and_plus_signs);

#[tokio::test]
async fn run_all_passes_on_one_shared_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    contract::run_all(&store(&dir)).await;
}

#[tokio::test]
async fn presigned_upload_through_the_upload_router() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, stored) = served_store(&dir, 1 << 20).await;
    contract::run_presigned_upload(store.as_ref(), true).await;
    contract::run_presigned_upload_with_length(store.as_ref(), true).await;
    let events = stored.lock().unwrap().clone();
    assert_eq!(events.len(), 2, "on_stored is called once per accepted upload only");
    assert!(events[0].key.ends_with("uploads/cohort list+1.csv"));
    assert!(events[1].key.ends_with("uploads/sized.csv"));
}

#[tokio::test]
async fn form_upload_through_the_upload_router() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, stored) = served_store(&dir, 1 << 20).await;
    contract::run_form_upload(store.as_ref(), true).await;
    let events = stored.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "on_stored is called once, for the accepted form only");
    assert!(events[0].key.ends_with("uploads/cohort.csv"), "{}", events[0].key);
}

#[tokio::test]
async fn when_key_could_escape_the_root_should_be_invalid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(&dir);
    for key in ["../outside.csv", "a/../../b", "/etc/passwd", "a\0b", "", ".mavis-meta/x", "a//b"] {
        let put = store.put(key, "x".into(), "text/csv").await;
        assert!(matches!(put, Err(ObjectStoreError::Invalid(_))), "put {key:?}");
        assert!(matches!(store.head(key).await, Err(ObjectStoreError::Invalid(_))), "head {key:?}");
        let presign = store.presign_upload(key, "text/csv", None, Duration::from_secs(60)).await;
        assert!(matches!(presign, Err(ObjectStoreError::Invalid(_))), "presign {key:?}");
    }
    assert!(matches!(store.list("../").await, Err(ObjectStoreError::Invalid(_))));
    assert!(!dir.path().parent().unwrap().join("outside.csv").exists());
}

#[tokio::test]
async fn when_listing_should_hide_sidecars_and_temp_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(&dir);
    store.put("a.csv", "1".into(), "text/csv").await.unwrap();
    std::fs::create_dir_all(dir.path().join(".mavis-tmp")).unwrap();
    std::fs::write(dir.path().join(".mavis-tmp/half-written"), "x").unwrap();
    let keys: Vec<String> = store.list("").await.unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(keys, ["a.csv"]);
}

#[tokio::test]
async fn when_file_changed_behind_the_stores_back_should_report_the_new_etag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(&dir);
    store.put("in/a.csv", "one".into(), "text/csv").await.unwrap();
    let before = store.head("in/a.csv").await.unwrap();
    // An in-place rewrite keeps the inode; the size change must still invalidate the sidecar.
    std::fs::write(dir.path().join("in/a.csv"), "three").unwrap();
    let after = store.head("in/a.csv").await.unwrap();
    assert_ne!(before.etag, after.etag);
    assert_eq!(after.size, 5);
    // "three": printf three | md5sum
    assert_eq!(after.etag, "35d6d33467aae9a2e3dccb4b6b027878", "the etag is the hex MD5 of the content, as S3's");
    store.put("in/a.csv", "three".into(), "text/csv").await.unwrap();
    assert_eq!(store.head("in/a.csv").await.unwrap().etag, after.etag, "same content, same etag");
}

#[tokio::test]
async fn when_a_key_is_deleted_should_prune_empty_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(&dir);
    store.put("a/b/c.csv", "1".into(), "text/csv").await.unwrap();
    store.delete("a/b/c.csv").await.unwrap();
    assert!(!dir.path().join("a").exists(), "empty folders are removed");
    // Now `a` can be a plain object.
    store.put("a", "2".into(), "text/csv").await.unwrap();
    let clash = store.put("a/x.csv", "3".into(), "text/csv").await;
    assert!(matches!(clash, Err(ObjectStoreError::Invalid(_))), "a folder cannot hold both a and a/x");
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The query parameters of a presigned URL.
fn params(url: &str) -> (String, u64, String) {
    let query = url.split_once('?').unwrap().1;
    let get = |name: &str| query.split('&').find_map(|p| p.strip_prefix(&format!("{name}="))).unwrap().to_owned();
    (get("content_type"), get("expires").parse().unwrap(), get("signature"))
}

#[tokio::test]
async fn when_verifying_an_upload_should_check_signature_then_expiry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(&dir);
    let upload = store.presign_upload("in/a b.csv", "text/csv", None, Duration::from_secs(60)).await.unwrap();
    assert!(upload.url.starts_with("http://127.0.0.1:9/local-upload/in/a%20b.csv?content_type=text%2Fcsv&"));
    let (_, expires, signature) = params(&upload.url);
    assert!(expires >= unix_now() + 59);
    assert_eq!(store.verify_upload("in/a b.csv", "text/csv", None, expires, &signature), Ok(()));
    let bad = UploadRejected::BadSignature;
    assert_eq!(store.verify_upload("in/other.csv", "text/csv", None, expires, &signature), Err(bad.clone()));
    assert_eq!(store.verify_upload("in/a b.csv", "text/plain", None, expires, &signature), Err(bad.clone()));
    assert_eq!(store.verify_upload("in/a b.csv", "text/csv", None, expires + 1, &signature), Err(bad.clone()));
    assert_eq!(store.verify_upload("in/a b.csv", "text/csv", None, expires, "not hex"), Err(bad.clone()));
    let other_key = FolderObjectStore::new(dir.path(), "http://x".into(), [8; 32]);
    assert_eq!(other_key.verify_upload("in/a b.csv", "text/csv", None, expires, &signature), Err(bad));

    let stale = store.presign_upload("in/a b.csv", "text/csv", None, Duration::ZERO).await.unwrap();
    let (_, expires, signature) = params(&stale.url);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(store.verify_upload("in/a b.csv", "text/csv", None, expires, &signature), Err(UploadRejected::Expired));
}

#[tokio::test]
async fn when_upload_is_expired_or_too_large_should_refuse_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, stored) = served_store(&dir, 1024).await;
    let http = reqwest::Client::new();

    let expired = store.presign_upload("in/old.csv", "text/csv", None, Duration::ZERO).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = http.put(&expired.url).header("Content-Type", "text/csv").body("a").send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.text().await.unwrap(), "upload link has expired");

    let upload = store.presign_upload("in/big.csv", "text/csv", None, Duration::from_secs(60)).await.unwrap();
    let response = http.put(&upload.url).header("Content-Type", "text/csv").body(vec![b'x'; 1025]).send().await;
    assert_eq!(response.unwrap().status(), 413, "declared length over the limit");
    // No Content-Length: the limit must hold while streaming too.
    let chunks = futures::stream::iter((0..3).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 600])));
    let response = http
        .put(&upload.url)
        .header("Content-Type", "text/csv")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413, "streamed length over the limit");
    assert!(matches!(store.head("in/big.csv").await, Err(ObjectStoreError::NotFound(_))));

    let missing = upload.url.split_once('?').unwrap().0.to_owned();
    let response = http.put(missing).header("Content-Type", "text/csv").body("a").send().await.unwrap();
    assert_eq!(response.status(), 403, "no signature at all");
    assert!(stored.lock().unwrap().is_empty());
    assert!(store.list("").await.unwrap().is_empty(), "refused uploads leave nothing behind");
}

#[tokio::test]
async fn when_upload_succeeds_should_report_it_with_the_stored_etag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, stored) = served_store(&dir, 1 << 20).await;
    let upload = store.presign_upload("in/ok+1.csv", "text/csv", None, Duration::from_secs(60)).await.unwrap();
    let response = reqwest::Client::new()
        .put(&upload.url)
        .header("Content-Type", "text/csv")
        .body("a,b\n1,2\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let etag = response.headers().get("etag").unwrap().to_str().unwrap().to_owned();
    assert!(response.text().await.unwrap().is_empty());
    let head = store.head("in/ok+1.csv").await.unwrap();
    assert_eq!(etag, format!("\"{}\"", head.etag));
    let events = stored.lock().unwrap().clone();
    assert_eq!(events, [ObjectStored { key: "in/ok+1.csv".into(), size: 8, etag: head.etag }]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("in/ok+1.csv")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "an uploaded file is its owner's alone, not {mode:o}");
    }
}
