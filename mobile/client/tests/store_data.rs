//! The data API over a real SQLCipher file.

// Test code: helpers outside `#[test]` functions fail by panicking too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bothy_client::index;
use bothy_client::store::{KdfParams, Passcode, Store, StoreError, params, tx};

fn passcode() -> Passcode {
    Passcode::new("data tests".to_owned())
}

fn new_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(
        dir.path(),
        &passcode(),
        KdfParams::insecure_fast_for_tests(),
    )
    .unwrap();
    (dir, store)
}

fn change<'a>(hash: &'a [u8], bytes: &'a [u8], local: bool) -> tx::NewChange<'a> {
    tx::NewChange { hash, bytes, local }
}

fn visit(id: &str, child: &str) -> index::VisitRow {
    index::VisitRow {
        visit_id: id.to_owned(),
        child_id: child.to_owned(),
        at: 1_700_000_000_000,
        practitioner: "Ailsa".to_owned(),
        agency: "health".to_owned(),
        kind: "home".to_owned(),
        finalised: false,
    }
}

fn count(store: &Store, sql: &str) -> i64 {
    store
        .connection()
        .query_row(sql, [], |row| row.get(0))
        .unwrap()
}

#[test]
fn appended_changes_load_in_order_and_duplicates_are_ignored() {
    let (_dir, mut store) = new_store();
    assert_eq!(store.load_document("plan/a").unwrap(), None);
    let added = store
        .append_changes(
            "plan/a",
            &[change(b"h1", b"one", true), change(b"h2", b"two", false)],
        )
        .unwrap();
    assert_eq!(added, 2);
    let added = store
        .append_changes(
            "plan/a",
            &[change(b"h2", b"two", true), change(b"h3", b"three", true)],
        )
        .unwrap();
    assert_eq!(added, 1);
    // The same hash in another document is a different row.
    store
        .append_changes("plan/b", &[change(b"h1", b"one", false)])
        .unwrap();

    let document = store.load_document("plan/a").unwrap().unwrap();
    assert_eq!(document.snapshot, None);
    assert_eq!(
        document.changes,
        vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );
    assert!(document.through_seq > 0);
    assert_eq!(store.list_doc_keys().unwrap(), ["plan/a", "plan/b"]);
}

#[test]
fn compaction_keeps_unacknowledged_changes_until_they_are_acknowledged() {
    let (_dir, mut store) = new_store();
    store
        .append_changes(
            "record/a",
            &[change(b"remote", b"r", false), change(b"mine", b"m", true)],
        )
        .unwrap();
    let loaded = store.load_document("record/a").unwrap().unwrap();
    // A change arriving after the load is not covered by the snapshot.
    store
        .append_changes("record/a", &[change(b"late", b"l", false)])
        .unwrap();

    let deleted = store
        .compact("record/a", b"snapshot-1", b"heads-1", loaded.through_seq)
        .unwrap();
    assert_eq!(deleted, 1, "only the acknowledged, covered change");
    let document = store.load_document("record/a").unwrap().unwrap();
    assert_eq!(document.snapshot.as_deref(), Some(&b"snapshot-1"[..]));
    assert_eq!(document.snapshot_heads.as_deref(), Some(&b"heads-1"[..]));
    assert_eq!(document.changes, vec![b"m".to_vec(), b"l".to_vec()]);

    let unacknowledged = store.unacknowledged_changes("record/a").unwrap();
    assert_eq!(unacknowledged.len(), 1);
    assert_eq!(unacknowledged[0].hash, b"mine");
    assert_eq!(unacknowledged[0].bytes, b"m");
    assert_eq!(
        store.docs_with_unacknowledged_changes().unwrap(),
        ["record/a"]
    );

    assert_eq!(
        store
            .mark_acknowledged("record/a", &[b"mine", b"nope"])
            .unwrap(),
        1
    );
    assert!(store.unacknowledged_changes("record/a").unwrap().is_empty());
    assert!(store.docs_with_unacknowledged_changes().unwrap().is_empty());

    let loaded = store.load_document("record/a").unwrap().unwrap();
    store
        .compact("record/a", b"snapshot-2", b"heads-2", loaded.through_seq)
        .unwrap();
    let document = store.load_document("record/a").unwrap().unwrap();
    assert_eq!(document.snapshot.as_deref(), Some(&b"snapshot-2"[..]));
    assert!(document.changes.is_empty());
    assert_eq!(store.list_doc_keys().unwrap(), ["record/a"]);
}

#[test]
fn a_failed_transaction_saves_nothing() {
    let (_dir, mut store) = new_store();
    let result: Result<(), StoreError> = store.transaction(|t| {
        tx::append_changes(t, "record/a", &[change(b"h", b"c", true)])?;
        index::replace_visits_for_doc(t, "record/a", &[visit("v1", "c1")])?;
        // A primary-key clash inside the same save: the whole save fails.
        index::replace_visits_for_doc(t, "record/a", &[visit("v2", "c1"), visit("v2", "c1")])
    });
    assert!(matches!(result, Err(StoreError::Sqlite(_))), "{result:?}");
    assert_eq!(store.load_document("record/a").unwrap(), None);
    assert_eq!(count(&store, "SELECT count(*) FROM idx_visits"), 0);

    // A caller's own error type rolls back too.
    #[derive(Debug)]
    enum ServiceError {
        Store,
        Refused,
    }
    impl From<StoreError> for ServiceError {
        fn from(_: StoreError) -> Self {
            ServiceError::Store
        }
    }
    let result: Result<(), ServiceError> = store.transaction(|t| {
        tx::put_meta(t, "k", b"v")?;
        Err(ServiceError::Refused)
    });
    assert!(matches!(result, Err(ServiceError::Refused)));
    assert!(matches!(
        store.transaction(|_| Err::<(), _>(ServiceError::Store)),
        Err(ServiceError::Store)
    ));
    assert_eq!(store.meta("k").unwrap(), None);
}

#[test]
fn index_rows_for_a_document_are_replaced_wholesale() {
    let (_dir, mut store) = new_store();
    store
        .transaction(|t| {
            index::replace_visits_for_doc(t, "record/a", &[visit("v1", "c1"), visit("v2", "c1")])?;
            index::replace_visits_for_doc(t, "agency/a/health", &[visit("v9", "c1")])?;
            index::replace_actions_for_doc(
                t,
                "plan/a",
                &[index::ActionRow {
                    action_id: "a1".to_owned(),
                    child_id: "c1".to_owned(),
                    need_id: Some("n1".to_owned()),
                    what: "Weekly check-in".to_owned(),
                    owner: Some("Ailsa".to_owned()),
                    agency: Some("health".to_owned()),
                    due: Some("2025-03-01".to_owned()),
                    status: "open".to_owned(),
                }],
            )?;
            index::replace_chronology_for_doc(
                t,
                "record/a",
                &[index::ChronologyRow {
                    entry_id: "e1".to_owned(),
                    child_id: "c1".to_owned(),
                    date: "2025-01-02".to_owned(),
                    agency: "police".to_owned(),
                    event: "Concern raised".to_owned(),
                    significance: "negative".to_owned(),
                }],
            )?;
            index::replace_child(
                t,
                &index::ChildRow {
                    child_id: "c1".to_owned(),
                    name: "Child One".to_owned(),
                    preferred_name: None,
                    date_of_birth: Some("2015-06-01".to_owned()),
                    review_date: None,
                    last_visit_at: None,
                    lead_professional: None,
                    last_review: None,
                    has_transition_plan: None,
                },
            )
        })
        .unwrap();
    store
        .transaction(|t| index::replace_visits_for_doc(t, "record/a", &[visit("v3", "c1")]))
        .unwrap();
    let visits: Vec<String> = {
        let mut select = store
            .connection()
            .prepare("SELECT doc_key || ':' || visit_id FROM idx_visits ORDER BY 1")
            .unwrap();
        select
            .query_map(params![], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(visits, ["agency/a/health:v9", "record/a:v3"]);

    store
        .transaction(|t| {
            index::replace_child(
                t,
                &index::ChildRow {
                    child_id: "c1".to_owned(),
                    name: "Child One".to_owned(),
                    preferred_name: Some("Wee One".to_owned()),
                    date_of_birth: None,
                    review_date: Some("2025-06-01".to_owned()),
                    last_visit_at: Some(5),
                    lead_professional: Some("Ailsa".to_owned()),
                    last_review: None,
                    has_transition_plan: None,
                },
            )?;
            index::delete_index_rows_for_doc(t, "record/a")
        })
        .unwrap();
    assert_eq!(count(&store, "SELECT count(*) FROM idx_children"), 1);
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM idx_children WHERE preferred_name = 'Wee One'"
        ),
        1
    );
    assert_eq!(count(&store, "SELECT count(*) FROM idx_visits"), 1);
    assert_eq!(count(&store, "SELECT count(*) FROM idx_chronology"), 0);
    assert_eq!(count(&store, "SELECT count(*) FROM idx_actions"), 1);
    store
        .transaction(|t| index::delete_child(t, "c1").map(|_| ()))
        .unwrap();
    assert_eq!(count(&store, "SELECT count(*) FROM idx_children"), 0);
}

#[test]
fn sync_states_drafts_meta_and_rejections_round_trip_across_a_lock() {
    let (dir, mut store) = new_store();
    store.put_sync_state("server", "plan/a", b"s1").unwrap();
    store.put_sync_state("server", "plan/a", b"s2").unwrap();
    store.put_draft("visit/new", b"first words").unwrap();
    store
        .put_draft("visit/new", b"first words, then more")
        .unwrap();
    store.put_draft("voice/1", b"worries").unwrap();
    store.put_meta("cursor", b"42").unwrap();
    let id = store
        .add_rejection(&tx::NewRejection {
            doc_key: "record/a",
            change_hash: Some(b"h"),
            rule: "finalised-visit",
            path: "/visits/v1/notes",
            message: "This visit was finalised; add an addendum instead.",
            bytes: None,
            words: None,
        })
        .unwrap();
    store.lock().unwrap();

    let mut store = Store::unlock(dir.path(), &passcode()).unwrap();
    assert_eq!(
        store.sync_state("server", "plan/a").unwrap().as_deref(),
        Some(&b"s2"[..])
    );
    assert_eq!(store.sync_state("server", "plan/b").unwrap(), None);
    assert_eq!(
        store.draft("visit/new").unwrap().as_deref(),
        Some(&b"first words, then more"[..])
    );
    let mut drafts: Vec<String> = store
        .list_drafts()
        .unwrap()
        .into_iter()
        .map(|draft| draft.draft_key)
        .collect();
    drafts.sort();
    assert_eq!(drafts, ["visit/new", "voice/1"]);
    assert!(store.delete_draft("voice/1").unwrap());
    assert!(!store.delete_draft("voice/1").unwrap());
    assert_eq!(store.draft("voice/1").unwrap(), None);
    assert_eq!(store.meta("cursor").unwrap().as_deref(), Some(&b"42"[..]));
    assert_eq!(store.meta("other").unwrap(), None);

    let rejections = store.rejections().unwrap();
    assert_eq!(rejections.len(), 1);
    assert_eq!(rejections[0].id, id);
    assert_eq!(rejections[0].rule, "finalised-visit");
    assert_eq!(rejections[0].change_hash.as_deref(), Some(&b"h"[..]));
    assert!(rejections[0].at > 0);
}

#[test]
fn the_database_is_configured_for_durability_and_no_temp_files() {
    let (_dir, store) = new_store();
    let conn = store.connection();
    let text = |sql: &str| -> String { conn.query_row(sql, [], |row| row.get(0)).unwrap() };
    let number = |sql: &str| -> i64 { conn.query_row(sql, [], |row| row.get(0)).unwrap() };
    assert_eq!(text("PRAGMA journal_mode"), "wal");
    assert_eq!(number("PRAGMA synchronous"), 2, "FULL");
    assert_eq!(number("PRAGMA temp_store"), 2, "MEMORY");
    assert_eq!(number("PRAGMA foreign_keys"), 1);
    assert_eq!(number("PRAGMA user_version"), 6, "migrations V1 to V6");
    // It really is SQLCipher underneath.
    assert!(!text("PRAGMA cipher_version").is_empty());
}
