//! The `RecordStore` contract: every semantic of the port, asserted the same way against every adapter (SQLite
//! always; DynamoDB Local when it is running). Adapters pass by behaving like DynamoDB, so this suite is also the
//! list of DynamoDB behaviours the rest of the code may rely on.
//!
//! Every check writes under partition keys that start with a fresh UUID, so the suite can run again and again (and
//! concurrently) against one shared emulator table without seeing its own earlier items.

use std::collections::BTreeSet;

use futures::future::join_all;
use serde_json::json;
use uuid::Uuid;

use crate::ports::record_store::MAX_TRANSACTION_OPS;
use crate::ports::{Condition, IndexName, Item, ItemKey, Query, RecordStore, StoreError, WriteOp};

/// Runs every check in turn; panics (with the check's name in the message) at the first broken promise.
pub async fn run_all(store: &dyn RecordStore) {
    get_missing_is_none(store).await;
    put_then_get_round_trips(store).await;
    put_replaces_the_whole_item(store).await;
    put_not_exists_twice_conflicts(store).await;
    put_version_is(store).await;
    put_exists(store).await;
    delete_with_conditions(store).await;
    query_table_by_prefix_in_both_directions(store).await;
    query_prefix_is_literal(store).await;
    query_each_index(store).await;
    items_without_an_index_key_are_absent_from_it(store).await;
    paging_returns_every_item_once(store).await;
    count_matches_the_query(store).await;
    query_each_answers_each_query_in_order(store).await;
    index_paging_with_equal_index_keys(store).await;
    batch_put_then_query(store).await;
    batch_put_keeps_the_last_write_of_a_key(store).await;
    batch_get_skips_missing_keys(store).await;
    transact_writes_all(store).await;
    transact_with_a_failing_condition_writes_nothing(store).await;
    transact_refuses_invalid_requests(store).await;
    transact_takes_the_maximum_number_of_operations(store).await;
    transact_each_answers_each_transaction_on_its_own(store).await;
    invalid_requests_are_refused(store).await;
    concurrent_creates_have_one_winner(store).await;
    concurrent_updates_have_one_winner(store).await;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/// A partition key no other check or run uses.
fn unique_pk(check: &str) -> String {
    format!("contract#{}#{check}", Uuid::new_v4())
}

fn item(pk: &str, sk: &str) -> Item {
    Item::new(ItemKey::new(pk, sk), json!({ "sk": sk, "nested": { "list": [1, -2, 2.5, "three"], "none": null } }))
}

fn with_version(mut item: Item, version: u64) -> Item {
    item.version = version;
    item
}

fn sort_keys(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.key.sk.as_str()).collect()
}

fn sorted_by_key(mut items: Vec<Item>) -> Vec<Item> {
    items.sort_by(|a, b| a.key.cmp(&b.key));
    items
}

async fn get(store: &dyn RecordStore, key: &ItemKey) -> Option<Item> {
    store.get(key).await.expect("get should succeed")
}

/// Follows `Page::next` to the end, asserting that no page is larger than the limit.
async fn query_all(store: &dyn RecordStore, query: Query) -> Vec<Item> {
    let mut items = Vec::new();
    let mut after = None;
    for _ in 0..1_000 {
        let page = store.query(&query.clone().after(after)).await.expect("query should succeed");
        if let Some(limit) = query.limit {
            assert!(page.items.len() <= limit, "a page held {} items, over the limit of {limit}", page.items.len());
        }
        items.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return items,
        }
    }
    panic!("query did not finish within 1,000 pages");
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{what}: expected Conflict, got {result:?}");
}

#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{what}: expected Invalid, got {result:?}");
}

// ---------------------------------------------------------------------------------------------------------------
// Single-item reads and writes

pub async fn get_missing_is_none(store: &dyn RecordStore) {
    let pk = unique_pk("get-missing");
    assert_eq!(get(store, &ItemKey::new(&pk, "nothing")).await, None, "get of a missing key");
}

pub async fn put_then_get_round_trips(store: &dyn RecordStore) {
    let pk = unique_pk("round-trip");
    let mut full = item(&pk, "full")
        .with_index(IndexName::Gsi1, ItemKey::new(format!("{pk}#1"), "one"))
        .with_index(IndexName::Gsi2, ItemKey::new(format!("{pk}#2"), "two"))
        .with_index(IndexName::Gsi3, ItemKey::new(format!("{pk}#3"), "three"))
        .with_index(IndexName::Gsi4, ItemKey::new(format!("{pk}#4"), "four"));
    full.version = 42;
    full.expires_at = Some(4_102_444_800);
    full.body = json!({ "text": "Zoë 🚀 \"quoted\"\n", "big": u64::MAX, "neg": -7, "pi": 3.25, "empty": {} });
    let plain = item(&pk, "plain");
    for it in [&full, &plain] {
        store.put(it.clone(), Condition::None).await.expect("put should succeed");
        assert_eq!(get(store, &it.key).await.as_ref(), Some(it), "get returns exactly what was put");
    }
}

pub async fn put_replaces_the_whole_item(store: &dyn RecordStore) {
    let pk = unique_pk("replace");
    let index_pk = format!("{pk}#gsi1");
    let first = item(&pk, "a").with_index(IndexName::Gsi1, ItemKey::new(&index_pk, "x"));
    let first = Item { expires_at: Some(4_102_444_800), ..first };
    store.put(first, Condition::None).await.expect("first put");
    let second = with_version(item(&pk, "a"), 2);
    store.put(second.clone(), Condition::None).await.expect("unconditional put over an existing item");
    assert_eq!(get(store, &second.key).await, Some(second), "a put replaces every attribute");
    let in_index = query_all(store, Query::index(IndexName::Gsi1, &index_pk)).await;
    assert!(in_index.is_empty(), "an item whose index key was removed leaves the index");
}

pub async fn put_not_exists_twice_conflicts(store: &dyn RecordStore) {
    let pk = unique_pk("not-exists");
    let first = item(&pk, "a");
    store.put(first.clone(), Condition::NotExists).await.expect("first create");
    let second = Item { body: json!("second"), ..first.clone() };
    assert_conflict(store.put(second, Condition::NotExists).await, "second create of one key");
    assert_eq!(get(store, &first.key).await, Some(first), "a failed create leaves the item alone");
}

pub async fn put_version_is(store: &dyn RecordStore) {
    let pk = unique_pk("version-is");
    let v1 = item(&pk, "a");
    store.put(v1.clone(), Condition::NotExists).await.expect("create at version 1");
    let v2 = Item { body: json!("v2"), ..with_version(v1.clone(), 2) };
    store.put(v2.clone(), Condition::VersionIs(1)).await.expect("update quoting the right version");
    let stale = Item { body: json!("stale"), ..with_version(v1.clone(), 2) };
    assert_conflict(store.put(stale, Condition::VersionIs(1)).await, "update quoting a stale version");
    assert_eq!(get(store, &v1.key).await, Some(v2), "a stale update changes nothing");
    let missing = item(&pk, "missing");
    assert_conflict(store.put(missing.clone(), Condition::VersionIs(1)).await, "VersionIs on a missing item");
    assert_eq!(get(store, &missing.key).await, None, "a failed VersionIs put writes nothing");
}

pub async fn put_exists(store: &dyn RecordStore) {
    let pk = unique_pk("exists");
    let missing = item(&pk, "missing");
    assert_conflict(store.put(missing.clone(), Condition::Exists).await, "Exists on a missing item");
    assert_eq!(get(store, &missing.key).await, None, "a failed Exists put writes nothing");
    let present = item(&pk, "present");
    store.put(present.clone(), Condition::None).await.expect("create");
    let replaced = with_version(Item { body: json!("replaced"), ..present.clone() }, 9);
    store.put(replaced.clone(), Condition::Exists).await.expect("Exists on an existing item (any version)");
    assert_eq!(get(store, &present.key).await, Some(replaced));
}

pub async fn delete_with_conditions(store: &dyn RecordStore) {
    let pk = unique_pk("delete");
    let missing = ItemKey::new(&pk, "missing");
    store.delete(&missing, Condition::None).await.expect("deleting a missing item is not an error");
    store.delete(&missing, Condition::NotExists).await.expect("NotExists delete of a missing item");
    assert_conflict(store.delete(&missing, Condition::Exists).await, "Exists delete of a missing item");
    assert_conflict(store.delete(&missing, Condition::VersionIs(1)).await, "VersionIs delete of a missing item");

    let present = with_version(item(&pk, "present"), 3);
    store.put(present.clone(), Condition::None).await.expect("create");
    assert_conflict(store.delete(&present.key, Condition::NotExists).await, "NotExists delete of an existing item");
    assert_conflict(store.delete(&present.key, Condition::VersionIs(2)).await, "delete quoting a wrong version");
    assert_eq!(get(store, &present.key).await, Some(present.clone()), "failed deletes leave the item");
    store.delete(&present.key, Condition::VersionIs(3)).await.expect("delete quoting the right version");
    assert_eq!(get(store, &present.key).await, None, "deleted");

    let other = item(&pk, "other");
    store.put(other.clone(), Condition::None).await.expect("create");
    store.delete(&other.key, Condition::Exists).await.expect("Exists delete of an existing item");
    assert_eq!(get(store, &other.key).await, None, "deleted");
}

// ---------------------------------------------------------------------------------------------------------------
// Queries

pub async fn query_table_by_prefix_in_both_directions(store: &dyn RecordStore) {
    let pk = unique_pk("query-table");
    let neighbour = unique_pk("query-table-neighbour");
    let sks = ["A#2", "B#1", "A", "AB#1", "A#10", "A#1"];
    store.batch_put(sks.iter().map(|sk| item(&pk, sk)).collect()).await.expect("batch_put");
    store.put(item(&neighbour, "A#3"), Condition::None).await.expect("put in another partition");

    let all = query_all(store, Query::table(&pk)).await;
    assert_eq!(sort_keys(&all), ["A", "A#1", "A#10", "A#2", "AB#1", "B#1"], "whole partition, in byte order");
    assert_eq!(all[0], item(&pk, "A"), "queries return whole items");
    let a_hash = query_all(store, Query::table(&pk).prefix("A#")).await;
    assert_eq!(sort_keys(&a_hash), ["A#1", "A#10", "A#2"], "prefix A#");
    let a_hash_desc = query_all(store, Query::table(&pk).prefix("A#").descending()).await;
    assert_eq!(sort_keys(&a_hash_desc), ["A#2", "A#10", "A#1"], "prefix A#, descending");
    let a = query_all(store, Query::table(&pk).prefix("A")).await;
    assert_eq!(sort_keys(&a), ["A", "A#1", "A#10", "A#2", "AB#1"], "a prefix matches the equal key too");
    assert!(query_all(store, Query::table(&pk).prefix("C")).await.is_empty(), "no match");
    assert!(query_all(store, Query::table(unique_pk("empty"))).await.is_empty(), "empty partition");
}

/// `count` is the number of items the query would return, whatever its limit or cursor, on the table and an index.
pub async fn count_matches_the_query(store: &dyn RecordStore) {
    let pk = unique_pk("count");
    let index_pk = unique_pk("count-index");
    let items: Vec<Item> = (0..7)
        .map(|n| {
            let sk = if n < 5 { format!("A#{n}") } else { format!("B#{n}") };
            item(&pk, &sk).with_index(IndexName::Gsi1, ItemKey::new(&index_pk, format!("{n:02}")))
        })
        .collect();
    store.batch_put(items).await.expect("batch_put");
    assert_eq!(store.count(&Query::table(&pk)).await.expect("count"), 7);
    assert_eq!(store.count(&Query::table(&pk).prefix("A#").limit(2)).await.expect("count"), 5, "the limit is ignored");
    assert_eq!(store.count(&Query::index(IndexName::Gsi1, &index_pk)).await.expect("count"), 7, "on an index");
    assert_eq!(store.count(&Query::table(unique_pk("count-empty"))).await.expect("count"), 0);
}

pub async fn query_each_answers_each_query_in_order(store: &dyn RecordStore) {
    let pk = unique_pk("query-each");
    let items: Vec<Item> = ["a#1", "a#2", "b#1"].iter().map(|sk| item(&pk, sk)).collect();
    store.batch_put(items).await.expect("batch_put");
    let queries = [
        Query::table(&pk).prefix("b#"),
        Query::table(unique_pk("query-each-nothing")),
        Query::table(&pk).prefix("a#").limit(1),
        Query::table(&pk).prefix("a#").descending(),
    ];
    let pages = store.query_each(&queries).await.expect("query_each");
    let sks: Vec<Vec<&str>> = pages.iter().map(|page| sort_keys(&page.items)).collect();
    assert_eq!(sks, vec![vec!["b#1"], vec![], vec!["a#1"], vec!["a#2", "a#1"]], "each query's page, in order");
    assert!(pages[2].next.is_some() && pages[3].next.is_none(), "each page says whether more follow");
    let rest = store.query(&queries[2].clone().after(pages[2].next.clone())).await.expect("the next page");
    assert_eq!(sort_keys(&rest.items), vec!["a#2"], "a page's cursor continues its own query");
    assert!(store.query_each(&[]).await.expect("no queries").is_empty());
    assert_invalid(store.query_each(&[Query::table("")]).await, "a query without a partition key");
}

pub async fn query_prefix_is_literal(store: &dyn RecordStore) {
    let pk = unique_pk("query-literal");
    let sks = ["a%", "a%b", "a_c", "axb", "ab", "é#1", "é#2", "e#1", "z\u{10FFFF}", "z\u{10FFFF}x", "zz"];
    store.batch_put(sks.iter().map(|sk| item(&pk, sk)).collect()).await.expect("batch_put");
    let cases: [(&str, &[&str]); 5] = [
        ("a%", &["a%", "a%b"]),
        ("a_", &["a_c"]),
        ("é", &["é#1", "é#2"]),
        ("z\u{10FFFF}", &["z\u{10FFFF}", "z\u{10FFFF}x"]),
        ("z", &["z\u{10FFFF}", "z\u{10FFFF}x", "zz"]),
    ];
    for (prefix, expected) in cases {
        let found = query_all(store, Query::table(&pk).prefix(prefix)).await;
        let mut expected = expected.to_vec();
        expected.sort();
        assert_eq!(sort_keys(&found), expected, "prefix {prefix:?} is an exact byte prefix, with no wildcards");
    }
}

pub async fn query_each_index(store: &dyn RecordStore) {
    let pk = unique_pk("query-index");
    for index in IndexName::ALL {
        let index_pk = format!("{pk}#{}", index.as_str());
        // Table sort keys run opposite to index sort keys, so that a query on the wrong key would show.
        let items: Vec<Item> = ["k#3", "k#1", "j#1", "k#2"]
            .iter()
            .enumerate()
            .map(|(n, index_sk)| {
                item(&pk, &format!("{}#{}", index.as_str(), 9 - n))
                    .with_index(index, ItemKey::new(&index_pk, *index_sk))
            })
            .collect();
        store.batch_put(items.clone()).await.expect("batch_put");
        let index_sks = |found: &[Item]| -> Vec<String> {
            found.iter().map(|i| i.index(index).map(|k| k.sk.clone()).unwrap_or_default()).collect()
        };
        let all = query_all(store, Query::index(index, &index_pk)).await;
        assert_eq!(index_sks(&all), ["j#1", "k#1", "k#2", "k#3"], "{index:?}: ordered by index sort key");
        assert_eq!(sorted_by_key(all), sorted_by_key(items.clone()), "{index:?}: whole items come back");
        let k = query_all(store, Query::index(index, &index_pk).prefix("k#").descending()).await;
        assert_eq!(index_sks(&k), ["k#3", "k#2", "k#1"], "{index:?}: prefix, descending");
        let by_table_pk = query_all(store, Query::index(index, &pk)).await;
        assert!(by_table_pk.is_empty(), "{index:?}: the index is keyed by its own partition key");
    }
}

pub async fn items_without_an_index_key_are_absent_from_it(store: &dyn RecordStore) {
    let pk = unique_pk("sparse");
    let shared_pk = format!("{pk}#shared");
    let mut items = vec![item(&pk, "none-1"), item(&pk, "none-2")];
    for n in 0..3 {
        items.push(
            item(&pk, &format!("gsi2-{n}")).with_index(IndexName::Gsi2, ItemKey::new(&shared_pk, format!("{n}"))),
        );
    }
    items.push(item(&pk, "gsi1-only").with_index(IndexName::Gsi1, ItemKey::new(&shared_pk, "0")));
    store.batch_put(items).await.expect("batch_put");
    let gsi2 = query_all(store, Query::index(IndexName::Gsi2, &shared_pk)).await;
    assert_eq!(sort_keys(&gsi2), ["gsi2-0", "gsi2-1", "gsi2-2"], "only items with a gsi2 key are in gsi2");
    let gsi1 = query_all(store, Query::index(IndexName::Gsi1, &shared_pk)).await;
    assert_eq!(sort_keys(&gsi1), ["gsi1-only"], "only items with a gsi1 key are in gsi1");
    for index in [IndexName::Gsi3, IndexName::Gsi4] {
        assert!(query_all(store, Query::index(index, &shared_pk)).await.is_empty(), "{index:?} is empty");
    }
}

pub async fn paging_returns_every_item_once(store: &dyn RecordStore) {
    let pk = unique_pk("paging");
    let mut items: Vec<Item> = (0..23).map(|n| item(&pk, &format!("p#{n:02}"))).collect();
    items.push(item(&pk, "q#00"));
    store.batch_put(items).await.expect("batch_put");
    let expected: Vec<String> = (0..23).map(|n| format!("p#{n:02}")).collect();
    for limit in [1, 5, 23, 100] {
        let ascending = query_all(store, Query::table(&pk).prefix("p#").limit(limit)).await;
        assert_eq!(sort_keys(&ascending), expected, "limit {limit}: every item once, in order");
        let descending = query_all(store, Query::table(&pk).prefix("p#").limit(limit).descending()).await;
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(sort_keys(&descending), reversed, "limit {limit}, descending: every item once, in order");
    }
    let first = store.query(&Query::table(&pk).limit(5)).await.expect("first page");
    assert_eq!(first.items.len(), 5, "a full first page");
    assert!(first.next.is_some(), "more items follow the first page");
}

pub async fn index_paging_with_equal_index_keys(store: &dyn RecordStore) {
    let pk = unique_pk("index-ties");
    let index_pk = format!("{pk}#gsi3");
    let items: Vec<Item> = (0..15)
        .map(|n| {
            let index_sk = if n < 12 { "same" } else { "later" };
            item(&pk, &format!("{n:02}")).with_index(IndexName::Gsi3, ItemKey::new(&index_pk, index_sk))
        })
        .collect();
    store.batch_put(items.clone()).await.expect("batch_put");
    for descending in [false, true] {
        let mut query = Query::index(IndexName::Gsi3, &index_pk).limit(4);
        query.descending = descending;
        let found = query_all(store, query).await;
        let keys: BTreeSet<&ItemKey> = found.iter().map(|i| &i.key).collect();
        assert_eq!(found.len(), 15, "descending={descending}: no item twice");
        assert_eq!(keys.len(), 15, "descending={descending}: every item once, although 12 share an index key");
        let index_sks: Vec<&str> =
            found.iter().filter_map(|i| i.index(IndexName::Gsi3)).map(|k| k.sk.as_str()).collect();
        let mut ordered = index_sks.clone();
        ordered.sort();
        if descending {
            ordered.reverse();
        }
        assert_eq!(index_sks, ordered, "descending={descending}: ordered by index sort key");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Batches

pub async fn batch_put_then_query(store: &dyn RecordStore) {
    let pk = unique_pk("batch-put");
    let index_pk = format!("{pk}#gsi4");
    let items: Vec<Item> = (0..60)
        .map(|n| {
            let it = item(&pk, &format!("{n:03}"));
            if n % 2 == 0 { it.with_index(IndexName::Gsi4, ItemKey::new(&index_pk, format!("{n:03}"))) } else { it }
        })
        .collect();
    store.batch_put(items.clone()).await.expect("batch_put of 60 items");
    assert_eq!(query_all(store, Query::table(&pk)).await, items, "all 60 items, in order");
    assert_eq!(query_all(store, Query::index(IndexName::Gsi4, &index_pk)).await.len(), 30, "30 in gsi4");
    store.batch_put(Vec::new()).await.expect("an empty batch_put is a no-op");
}

pub async fn batch_put_keeps_the_last_write_of_a_key(store: &dyn RecordStore) {
    let pk = unique_pk("batch-last-wins");
    let first = item(&pk, "a");
    let last = Item { body: json!("last"), ..with_version(first.clone(), 2) };
    store.batch_put(vec![first.clone(), item(&pk, "b"), last.clone()]).await.expect("batch_put naming a key twice");
    assert_eq!(get(store, &first.key).await, Some(last), "the last write of a key wins");
}

pub async fn batch_get_skips_missing_keys(store: &dyn RecordStore) {
    let pk = unique_pk("batch-get");
    let items: Vec<Item> = (0..120).map(|n| item(&pk, &format!("{n:03}"))).collect();
    store.batch_put(items.clone()).await.expect("batch_put");
    let mut keys: Vec<ItemKey> = items.iter().map(|i| i.key.clone()).collect();
    keys.extend((0..10).map(|n| ItemKey::new(&pk, format!("missing-{n}"))));
    keys.push(items[0].key.clone());
    let found = store.batch_get(&keys).await.expect("batch_get of 131 keys");
    assert_eq!(sorted_by_key(found), items, "each existing item once; missing keys absent");
    let none = store.batch_get(&[ItemKey::new(&pk, "missing")]).await.expect("batch_get of a missing key");
    assert!(none.is_empty(), "nothing found");
    assert!(store.batch_get(&[]).await.expect("empty batch_get").is_empty(), "empty batch_get");
}

// ---------------------------------------------------------------------------------------------------------------
// Transactions

/// Items A (version 1, to update), B (to delete), C (to check) in a fresh partition.
async fn transaction_fixture(store: &dyn RecordStore, check: &str) -> (Item, Item, Item, String) {
    let pk = unique_pk(check);
    let (a, b, c) = (item(&pk, "a"), item(&pk, "b"), item(&pk, "c"));
    store.batch_put(vec![a.clone(), b.clone(), c.clone()]).await.expect("batch_put");
    (a, b, c, pk)
}

pub async fn transact_writes_all(store: &dyn RecordStore) {
    let (a, b, c, pk) = transaction_fixture(store, "transact-ok").await;
    let a2 = Item { body: json!("a2"), ..with_version(a.clone(), 2) };
    let d = item(&pk, "d");
    let ops = vec![
        WriteOp::Put { item: a2.clone(), condition: Condition::VersionIs(1) },
        WriteOp::Put { item: d.clone(), condition: Condition::NotExists },
        WriteOp::Delete { key: b.key.clone(), condition: Condition::Exists },
        WriteOp::Check { key: c.key.clone(), condition: Condition::VersionIs(1) },
    ];
    store.transact(ops).await.expect("a transaction whose conditions all hold");
    assert_eq!(get(store, &a.key).await, Some(a2), "updated");
    assert_eq!(get(store, &d.key).await, Some(d), "created");
    assert_eq!(get(store, &b.key).await, None, "deleted");
    assert_eq!(get(store, &c.key).await, Some(c), "checked, unchanged");
}

pub async fn transact_with_a_failing_condition_writes_nothing(store: &dyn RecordStore) {
    let (a, b, c, pk) = transaction_fixture(store, "transact-fail").await;
    let a2 = with_version(a.clone(), 2);
    let d = item(&pk, "d");
    let failing_ops = [
        WriteOp::Check { key: ItemKey::new(&pk, "missing"), condition: Condition::Exists },
        WriteOp::Check { key: c.key.clone(), condition: Condition::VersionIs(5) },
        WriteOp::Put { item: item(&pk, "c"), condition: Condition::NotExists },
        WriteOp::Delete { key: c.key.clone(), condition: Condition::NotExists },
    ];
    for failing in failing_ops {
        let ops = vec![
            WriteOp::Put { item: a2.clone(), condition: Condition::VersionIs(1) },
            WriteOp::Put { item: d.clone(), condition: Condition::None },
            WriteOp::Delete { key: b.key.clone(), condition: Condition::None },
            failing.clone(),
        ];
        assert_conflict(store.transact(ops).await, &format!("transaction failing on {failing:?}"));
        assert_eq!(get(store, &a.key).await, Some(a.clone()), "not updated");
        assert_eq!(get(store, &d.key).await, None, "not created");
        assert_eq!(get(store, &b.key).await, Some(b.clone()), "not deleted");
        assert_eq!(get(store, &c.key).await, Some(c.clone()), "untouched");
    }
}

pub async fn transact_refuses_invalid_requests(store: &dyn RecordStore) {
    let (a, _, _, pk) = transaction_fixture(store, "transact-invalid").await;
    let d = item(&pk, "d");
    let twice = vec![
        WriteOp::Put { item: d.clone(), condition: Condition::None },
        WriteOp::Check { key: d.key.clone(), condition: Condition::NotExists },
    ];
    assert_invalid(store.transact(twice).await, "two operations on one key");
    let too_many: Vec<WriteOp> = (0..=MAX_TRANSACTION_OPS)
        .map(|n| WriteOp::Put { item: item(&pk, &format!("many-{n:03}")), condition: Condition::None })
        .collect();
    assert_invalid(store.transact(too_many).await, "more than MAX_TRANSACTION_OPS operations");
    assert_invalid(store.transact(Vec::new()).await, "an empty transaction");
    let unconditional_check = vec![WriteOp::Check { key: a.key.clone(), condition: Condition::None }];
    assert_invalid(store.transact(unconditional_check).await, "a check without a condition");
    assert_eq!(get(store, &d.key).await, None, "refused transactions write nothing");
    assert_eq!(get(store, &ItemKey::new(&pk, "many-000")).await, None, "refused transactions write nothing");
}

pub async fn transact_takes_the_maximum_number_of_operations(store: &dyn RecordStore) {
    let pk = unique_pk("transact-max");
    let ops: Vec<WriteOp> = (0..MAX_TRANSACTION_OPS)
        .map(|n| WriteOp::Put { item: item(&pk, &format!("{n:03}")), condition: Condition::NotExists })
        .collect();
    store.transact(ops).await.expect("a transaction of exactly MAX_TRANSACTION_OPS operations");
    assert_eq!(query_all(store, Query::table(&pk)).await.len(), MAX_TRANSACTION_OPS, "all written");
}

pub async fn transact_each_answers_each_transaction_on_its_own(store: &dyn RecordStore) {
    let (a, b, c, pk) = transaction_fixture(store, "transact-each").await;
    let (d, e) = (item(&pk, "d"), item(&pk, "e"));
    let a2 = Item { body: json!("a2"), ..with_version(a.clone(), 2) };
    let answers = store
        .transact_each(vec![
            vec![
                WriteOp::Put { item: a2.clone(), condition: Condition::VersionIs(1) },
                WriteOp::Put { item: d.clone(), condition: Condition::NotExists },
            ],
            // Fails on its second operation: its first must be undone.
            vec![
                WriteOp::Delete { key: b.key.clone(), condition: Condition::None },
                WriteOp::Check { key: c.key.clone(), condition: Condition::VersionIs(7) },
            ],
            vec![],
            vec![WriteOp::Put { item: e.clone(), condition: Condition::NotExists }],
        ])
        .await
        .expect("the store answers each transaction");
    assert_eq!(answers.len(), 4, "one answer per transaction: {answers:?}");
    assert!(answers[0].is_ok(), "the first holds: {:?}", answers[0]);
    assert!(matches!(answers[1], Err(StoreError::Conflict(_))), "the failing one conflicts: {:?}", answers[1]);
    assert!(matches!(answers[2], Err(StoreError::Invalid(_))), "the empty one is refused: {:?}", answers[2]);
    assert!(answers[3].is_ok(), "a transaction after a failed one holds: {:?}", answers[3]);
    assert_eq!(get(store, &a.key).await, Some(a2), "updated by the first");
    assert_eq!(get(store, &d.key).await, Some(d), "created by the first");
    assert_eq!(get(store, &b.key).await, Some(b), "not deleted by the failed one");
    assert_eq!(get(store, &e.key).await, Some(e), "created by the last");
    assert!(store.transact_each(vec![]).await.expect("nothing to do").is_empty(), "no transactions, no answers");
}

// ---------------------------------------------------------------------------------------------------------------
// Requests DynamoDB refuses

pub async fn invalid_requests_are_refused(store: &dyn RecordStore) {
    let pk = unique_pk("invalid");
    assert_invalid(store.put(item(&pk, ""), Condition::None).await, "an empty sort key");
    assert_invalid(store.put(item(&pk, &"s".repeat(1025)), Condition::None).await, "a sort key over 1024 bytes");
    let empty_index_key = item(&pk, "a").with_index(IndexName::Gsi1, ItemKey::new(&pk, ""));
    assert_invalid(store.put(empty_index_key, Condition::None).await, "an empty index sort key");
    let huge = Item { body: json!("x".repeat(410 * 1024)), ..item(&pk, "huge") };
    assert_invalid(store.put(huge, Condition::None).await, "an item over 400 KB");
    assert_invalid(store.query(&Query::table(&pk).limit(0)).await, "a query limit of 0");
    assert_invalid(store.query(&Query::table("")).await, "a query with an empty partition key");
    let bad_cursor = Query::table(&pk).after(Some("not a cursor".into()));
    assert_invalid(store.query(&bad_cursor).await, "a cursor that is not one");
    assert!(query_all(store, Query::table(&pk)).await.is_empty(), "refused writes wrote nothing");
}

// ---------------------------------------------------------------------------------------------------------------
// Concurrency

pub async fn concurrent_creates_have_one_winner(store: &dyn RecordStore) {
    let pk = unique_pk("race-create");
    let key = ItemKey::new(&pk, "contended");
    let attempts = (0..10).map(|n| {
        let candidate = Item::new(key.clone(), json!({ "writer": n }));
        async move { (n, store.put(candidate, Condition::NotExists).await) }
    });
    let results = join_all(attempts).await;
    let winners: Vec<i32> = results.iter().filter(|(_, r)| r.is_ok()).map(|(n, _)| *n).collect();
    assert_eq!(winners.len(), 1, "exactly one of 10 concurrent creates succeeds: {results:?}");
    for (_, result) in results.into_iter().filter(|(_, r)| r.is_err()) {
        assert_conflict(result, "a losing concurrent create");
    }
    let stored = get(store, &key).await.expect("the winner's item");
    assert_eq!(stored.body, json!({ "writer": winners[0] }), "the winner's write is the one stored");
}

pub async fn concurrent_updates_have_one_winner(store: &dyn RecordStore) {
    let pk = unique_pk("race-update");
    let original = item(&pk, "contended");
    store.put(original.clone(), Condition::NotExists).await.expect("create");
    let attempts = (0..10).map(|n| {
        let candidate = Item { body: json!({ "writer": n }), ..with_version(original.clone(), 2) };
        store.put(candidate, Condition::VersionIs(1))
    });
    let results = join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "exactly one of 10 concurrent updates: {results:?}");
    assert_eq!(get(store, &original.key).await.map(|i| i.version), Some(2), "version 2 after the race");
}
