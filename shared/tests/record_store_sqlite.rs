//! The embedded record store: the full contract on an in-memory and on a file database, and durability across
//! reopening the file. Run with `cargo test -p shared --features contract-tests --test record_store_sqlite`.

use serde_json::json;
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::ports::{Condition, IndexName, Item, ItemKey, Query, RecordStore};

#[cfg(feature = "contract-tests")]
mod contract {
    use shared::adapters::sqlite_store::SqliteRecordStore;
    use shared::contract_tests::record_store;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn when_in_memory_should_meet_the_record_store_contract() {
        let store = SqliteRecordStore::in_memory().expect("in-memory store opens");
        record_store::run_all(&store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn when_on_a_file_should_meet_the_record_store_contract() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteRecordStore::open(&dir.path().join("records.db")).expect("file store opens");
        record_store::run_all(&store).await;
    }
}

#[cfg(not(feature = "contract-tests"))]
#[test]
fn contract_suite_needs_the_contract_tests_feature() {
    eprintln!("record_store_sqlite: contract suite SKIPPED; run with --features contract-tests");
}

#[tokio::test]
async fn when_the_file_is_reopened_should_keep_every_item() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("records.db");
    let kept = Item::new(ItemKey::new("P#1", "S#1"), json!({"kept": true}))
        .with_index(IndexName::Gsi2, ItemKey::new("G#1", "2026"));
    let batch: Vec<Item> = (0..50).map(|n| Item::new(ItemKey::new("P#batch", format!("{n:02}")), json!(n))).collect();
    {
        let store = SqliteRecordStore::open(&path).expect("opens");
        store.put(kept.clone(), Condition::NotExists).await.expect("put");
        store.batch_put(batch.clone()).await.expect("batch_put");
    }
    let reopened = SqliteRecordStore::open(&path).expect("reopens");
    assert_eq!(reopened.get(&kept.key).await.expect("get"), Some(kept.clone()));
    let by_index = reopened.query(&Query::index(IndexName::Gsi2, "G#1")).await.expect("index query");
    assert_eq!(by_index.items, vec![kept.clone()]);
    assert_eq!(reopened.query(&Query::table("P#batch")).await.expect("query").items, batch);
    assert!(
        reopened.put(kept, Condition::NotExists).await.is_err(),
        "conditions see the items written before the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_shared_between_tasks_should_serve_them_all() {
    let store = std::sync::Arc::new(SqliteRecordStore::in_memory().expect("opens"));
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let store = std::sync::Arc::clone(&store);
            tokio::spawn(async move {
                let items = (0..100).map(|n| Item::new(ItemKey::new(format!("T#{task}"), format!("{n:03}")), json!(n)));
                store.batch_put(items.collect()).await.expect("batch_put");
                store.query(&Query::table(format!("T#{task}"))).await.expect("query").items.len()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task finishes"), 100);
    }
}

/// A database written before gsi5 existed (schema version 1) opens, keeps its items, and takes gsi5 keys.
#[tokio::test]
async fn when_a_version_1_database_is_opened_should_add_gsi5_and_keep_the_items() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("records.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("sqlite");
        conn.execute_batch(
            "CREATE TABLE items (pk TEXT NOT NULL, sk TEXT NOT NULL, gsi1pk TEXT, gsi1sk TEXT, gsi2pk TEXT,
                gsi2sk TEXT, gsi3pk TEXT, gsi3sk TEXT, gsi4pk TEXT, gsi4sk TEXT, version INTEGER NOT NULL,
                body TEXT NOT NULL, expires_at INTEGER, PRIMARY KEY (pk, sk)) WITHOUT ROWID;
             INSERT INTO items (pk, sk, version, body) VALUES ('OLD', 'ITEM', 1, '{\"kept\":true}');
             PRAGMA user_version = 1;",
        )
        .expect("version 1 layout");
    }
    let store = SqliteRecordStore::open(&path).expect("opens and migrates");
    let old = store.get(&ItemKey::new("OLD", "ITEM")).await.expect("read").expect("kept");
    assert_eq!(old.body, json!({ "kept": true }));
    let item = Item::new(ItemKey::new("NEW", "ITEM"), json!({})).with_index(IndexName::Gsi5, ItemKey::new("G5", "a"));
    store.put(item, Condition::NotExists).await.expect("put with gsi5");
    let found = store.query(&Query::index(IndexName::Gsi5, "G5")).await.expect("query gsi5");
    assert_eq!(found.items.len(), 1);
}

#[cfg(unix)]
#[test]
fn the_database_file_should_be_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("records.db");
    std::fs::write(&path, b"").expect("an empty file, as a umask of 022 leaves it");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let _store = SqliteRecordStore::open(&path).expect("opens");
    let mode = std::fs::metadata(&path).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "personal data: owner only, not {mode:o}");
}
