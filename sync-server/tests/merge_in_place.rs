//! The server merges a device's message into its cached document itself,
//! not into a copy (issue 18: the cost of a copy follows the document's
//! whole history). These tests hold it to the promise that makes that
//! safe: the cached document is never ahead of storage. A refused change
//! leaves it exactly as storage has it, and a request whose outcomes are
//! not stored leaves nothing behind.

// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT, ReadDoc};
use bothy_server::quota::{DeviceQuotas, Use};
use bothy_server::storage::Storage;
use bothy_server::sync::{DocCache, SyncError, sync_batch};
use bothy_shared::docs::{
    DocKey, RecordDoc, Sharing, Text, Timestamp, Visit, VisitKind, change_document,
};
use bothy_shared::ids::{Agency, ItemId, PersonId};
use bothy_shared::policy::Principal;
use bothy_shared::wire::{DocMessage, DocStatus, SyncRequest, SyncResponse};
use common::{Backend, TestDb, device, now, seed};

/// The document as storage holds it, loaded afresh.
fn stored(storage: &dyn Storage, key: &DocKey) -> Automerge {
    DocCache::default().load(storage, key).unwrap()
}

/// A draft home visit by `by`.
fn visit(by: PersonId, agency: Agency, words: &str) -> Visit {
    Visit {
        id: ItemId::random(),
        at: Timestamp::now(),
        place: "Home".into(),
        kind: VisitKind::Home,
        practitioner: by,
        practitioner_name: "A practitioner".into(),
        agency,
        present: vec![],
        child_seen: true,
        seen_alone: false,
        observations: Text::with_value(words),
        analysis: Text::default(),
        child_said: Text::default(),
        next_steps: Text::default(),
        linked_actions: vec![],
        sharing: Sharing::Team,
        significant: false,
        finalised: None,
        addenda: BTreeMap::new(),
    }
}

/// `p`'s device, holding `doc` as the server last sent it, makes one
/// change with `edit` and sends it in a sync message.
fn push(
    storage: &dyn Storage,
    cache: &DocCache,
    p: &Principal,
    key: DocKey,
    doc: &Automerge,
    edit: impl FnOnce(&Automerge, &automerge::ActorId) -> Automerge,
) -> Result<SyncResponse, SyncError> {
    let mine = edit(doc, &p.device.actor_id());
    let shared = sync::State {
        shared_heads: doc.get_heads(),
        ..sync::State::default()
    };
    let mut state = bothy_shared::wire::resume_sync_state(Some(&shared.encode()));
    let message = mine.generate_sync_message(&mut state).unwrap().encode();
    sync_batch(
        storage,
        cache,
        &DeviceQuotas::new(Use {
            bytes: u64::MAX,
            documents: u64::MAX,
        }),
        p,
        SyncRequest {
            docs: vec![DocMessage { key, message }],
            changed: None,
        },
        now(),
    )
}

/// `doc` with `v` recorded as a new visit of the team record `key`, by `actor`.
fn add(doc: &Automerge, actor: &automerge::ActorId, key: DocKey, v: &Visit) -> Automerge {
    change_document::<RecordDoc, _>(doc, &key, actor, "record visit", |r| {
        r.visits.insert(v.id, v.clone())
    })
    .unwrap()
    .doc
}

/// `doc` with words added to the observations of visit `id`, by `actor`.
fn add_words(doc: &Automerge, actor: &automerge::ActorId, id: ItemId) -> Automerge {
    let mut doc = doc.fork().with_actor(actor.clone());
    let (_, visits) = doc.get(ROOT, "visits").unwrap().unwrap();
    let (_, visit) = doc.get(&visits, id.to_string().as_str()).unwrap().unwrap();
    let (_, text) = doc.get(&visit, "observations").unwrap().unwrap();
    let mut tx = doc.transaction();
    tx.splice_text(&text, 0, 0, "Edited by someone else. ")
        .unwrap();
    tx.commit();
    doc
}

fn status(response: &SyncResponse) -> DocStatus {
    response.docs[0].status
}

#[test]
fn a_refused_change_leaves_the_cached_document_as_storage_has_it() {
    let db = TestDb::new(Backend::Sqlite);
    let storage = db.open();
    let people = seed(storage.as_ref()).unwrap();
    let key = DocKey::Record(people.child);
    let cache = DocCache::default();
    let social_worker = device(storage.as_ref(), people.social_worker);
    let health_visitor = device(storage.as_ref(), people.health_visitor);

    // The social worker records a draft visit.
    let theirs = visit(people.social_worker, Agency::SocialWork, "Seen at home.");
    let doc = cache.load(storage.as_ref(), &key).unwrap();
    let answer = push(
        storage.as_ref(),
        &cache,
        &social_worker,
        key,
        &doc,
        |d, a| add(d, a, key, &theirs),
    )
    .unwrap();
    assert_eq!(status(&answer), DocStatus::Ok);

    // The health visitor edits it: refused (only its author edits a draft).
    let doc = stored(storage.as_ref(), &key);
    let before = doc.get_heads();
    let answer = push(
        storage.as_ref(),
        &cache,
        &health_visitor,
        key,
        &doc,
        |d, a| add_words(d, a, theirs.id),
    )
    .unwrap();
    assert_eq!(status(&answer), DocStatus::Rejected, "{answer:?}");
    assert_eq!(
        answer.docs[0].rejection.as_ref().map(|r| r.rule.as_str()),
        Some("draft-visit-author-only")
    );
    // The cached document is storage's, exactly: nothing of the refused change.
    let cached = cache.load(storage.as_ref(), &key).unwrap();
    assert_eq!(cached.get_heads(), before);
    assert_eq!(
        cached.get_heads(),
        stored(storage.as_ref(), &key).get_heads()
    );
    assert_eq!(
        cached.get_changes(&[]).len(),
        stored(storage.as_ref(), &key).get_changes(&[]).len()
    );

    // And the next push, the health visitor's own visit, is merged.
    let own = visit(people.health_visitor, Agency::Health, "Weighed and well.");
    let answer = push(
        storage.as_ref(),
        &cache,
        &health_visitor,
        key,
        &doc,
        |d, a| add(d, a, key, &own),
    )
    .unwrap();
    assert_eq!(status(&answer), DocStatus::Ok, "{answer:?}");
    let now_stored = stored(storage.as_ref(), &key);
    assert_eq!(
        cache.load(storage.as_ref(), &key).unwrap().get_heads(),
        now_stored.get_heads()
    );
    let visits = |doc: &Automerge| -> Vec<String> {
        let (_, visits) = doc.get(ROOT, "visits").unwrap().unwrap();
        doc.keys(&visits).collect()
    };
    let mut expected = vec![theirs.id.to_string(), own.id.to_string()];
    expected.sort();
    assert_eq!(visits(&now_stored), expected);
}

#[test]
fn a_request_whose_changes_are_not_stored_leaves_nothing_in_the_cache() {
    let db = TestDb::new(Backend::Sqlite);
    let storage = db.open();
    let people = seed(storage.as_ref()).unwrap();
    let key = DocKey::Record(people.child);
    let cache = DocCache::default();
    let social_worker = device(storage.as_ref(), people.social_worker);
    let first = visit(people.social_worker, Agency::SocialWork, "Seen at home.");
    let doc = cache.load(storage.as_ref(), &key).unwrap();
    let answer = push(
        storage.as_ref(),
        &cache,
        &social_worker,
        key,
        &doc,
        |d, a| add(d, a, key, &first),
    )
    .unwrap();
    assert_eq!(status(&answer), DocStatus::Ok);
    let doc = stored(storage.as_ref(), &key);

    // The disk fills: no change can be stored.
    let path = db.url.trim_start_matches("sqlite://").to_owned();
    let admin = rusqlite::Connection::open(&path).unwrap();
    admin
        .execute_batch(
            "CREATE TRIGGER disk_full BEFORE INSERT ON changes
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();
    let second = visit(people.social_worker, Agency::SocialWork, "Seen again.");
    let failed = push(
        storage.as_ref(),
        &cache,
        &social_worker,
        key,
        &doc,
        |d, a| add(d, a, key, &second),
    );
    assert!(matches!(failed, Err(SyncError::Storage(_))), "{failed:?}");

    // The cache holds what storage holds, not the change that failed.
    admin.execute_batch("DROP TRIGGER disk_full;").unwrap();
    let cached = cache.load(storage.as_ref(), &key).unwrap();
    assert_eq!(cached.get_heads(), doc.get_heads());
    assert_eq!(
        cached.get_heads(),
        stored(storage.as_ref(), &key).get_heads()
    );

    // The device sends it again: merged.
    let answer = push(
        storage.as_ref(),
        &cache,
        &social_worker,
        key,
        &doc,
        |d, a| add(d, a, key, &second),
    )
    .unwrap();
    assert_eq!(status(&answer), DocStatus::Ok, "{answer:?}");
    assert_eq!(
        cache.load(storage.as_ref(), &key).unwrap().get_heads(),
        stored(storage.as_ref(), &key).get_heads()
    );
}
