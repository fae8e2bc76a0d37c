//! What one `/v1/sync` request may make the server hold (issue 18, item 3):
//! a request asking about many documents without changes (a new device's
//! first sync) holds one of them at a time, and its response carries about
//! `MAX_RESPONSE_CHANGE_BYTES` of changes, the rest following as a plain
//! Automerge peer asks for them.

// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash};
use bothy_server::directory;
use bothy_server::quota::{DeviceQuotas, Use};
use bothy_server::storage::Storage;
use bothy_server::sync::{DocCache, sync_batch, sync_batch_with_limit};
use bothy_shared::docs::DocKey;
use bothy_shared::policy::Principal;
use bothy_shared::wire::{DocMessage, DocStatus, SyncRequest, SyncResponse};
use common::{Backend, TestDb, device, now, seed};

/// A device that holds nothing yet, syncing plainly: one Automerge
/// document and state per key.
struct NewDevice {
    docs: BTreeMap<DocKey, (Automerge, sync::State)>,
}

impl NewDevice {
    fn new(keys: impl IntoIterator<Item = DocKey>) -> NewDevice {
        NewDevice {
            docs: keys
                .into_iter()
                .map(|k| (k, (Automerge::new(), sync::State::new())))
                .collect(),
        }
    }

    /// Its next message for every document with something to say.
    fn messages(&mut self) -> Vec<DocMessage> {
        self.docs
            .iter_mut()
            .filter_map(|(key, (doc, state))| {
                doc.generate_sync_message(state).map(|m| DocMessage {
                    key: *key,
                    message: m.encode(),
                })
            })
            .collect()
    }

    fn receive(&mut self, response: &SyncResponse) {
        for reply in &response.docs {
            assert_eq!(reply.status, DocStatus::Ok, "{}", reply.key);
            let (doc, state) = self.docs.get_mut(&reply.key).unwrap();
            let message = sync::Message::decode(reply.message.as_ref().unwrap()).unwrap();
            doc.receive_sync_message(state, message).unwrap();
        }
    }
}

fn request(
    storage: &dyn Storage,
    cache: &DocCache,
    p: &Principal,
    docs: Vec<DocMessage>,
    limit: Option<usize>,
) -> SyncResponse {
    let quotas = DeviceQuotas::new(Use {
        bytes: u64::MAX,
        documents: u64::MAX,
    });
    let request = SyncRequest {
        docs,
        changed: None,
    };
    match limit {
        None => sync_batch(storage, cache, &quotas, p, request, now()).unwrap(),
        Some(limit) => {
            sync_batch_with_limit(storage, cache, &quotas, p, request, now(), limit).unwrap()
        }
    }
}

/// The changes a reply's message carries, and the heads it names.
fn carried(response: &SyncResponse) -> Vec<(usize, Vec<ChangeHash>)> {
    response
        .docs
        .iter()
        .map(|r| {
            let m = sync::Message::decode(r.message.as_ref().unwrap()).unwrap();
            (m.changes.len(), m.heads)
        })
        .collect()
}

fn first_sync_holds_one_document_at_a_time(backend: Backend) {
    let db = TestDb::new(backend);
    let storage = db.open();
    let people = seed(storage.as_ref()).unwrap();
    let p = device(storage.as_ref(), people.social_worker);
    let keys = directory::readable_keys(storage.as_ref(), &p).unwrap();
    assert!(keys.len() >= 3, "{keys:?}");
    // No room in the cache: every document is dropped once let go.
    let cache = DocCache::with_capacity(0);
    let mut phone = NewDevice::new(keys.iter().copied());

    let response = request(storage.as_ref(), &cache, &p, phone.messages(), None);
    assert_eq!(response.docs.len(), keys.len());
    // Every document answered with its history, in the order asked...
    assert_eq!(
        response.docs.iter().map(|r| r.key).collect::<Vec<_>>(),
        keys.iter().copied().collect::<Vec<_>>()
    );
    for (changes, heads) in carried(&response) {
        assert!(changes > 0 && !heads.is_empty());
    }
    // ...holding one document at a time.
    assert_eq!(cache.leased_peak(), 1);
    assert_eq!(cache.usage(), (0, 0));

    phone.receive(&response);
    while !phone.messages().is_empty() {
        let messages = phone.messages();
        let response = request(storage.as_ref(), &cache, &p, messages, None);
        phone.receive(&response);
    }
    for (key, (doc, _)) in &phone.docs {
        let stored = DocCache::default().load(storage.as_ref(), key).unwrap();
        assert_eq!(doc.get_heads(), stored.get_heads(), "{key}");
    }
    assert_eq!(cache.leased_peak(), 1);
}

#[test]
fn a_first_sync_request_holds_one_document_at_a_time_on_sqlite() {
    first_sync_holds_one_document_at_a_time(Backend::Sqlite);
}

#[test]
fn a_first_sync_request_holds_one_document_at_a_time_on_postgres() {
    first_sync_holds_one_document_at_a_time(Backend::Postgres);
}

#[test]
fn past_the_responses_limit_replies_carry_heads_and_the_device_asks_for_the_rest() {
    let db = TestDb::new(Backend::Sqlite);
    let storage = db.open();
    let people = seed(storage.as_ref()).unwrap();
    let p = device(storage.as_ref(), people.social_worker);
    let keys = directory::readable_keys(storage.as_ref(), &p).unwrap();
    let cache = DocCache::default();
    let mut phone = NewDevice::new(keys.iter().copied());

    // A limit of one byte: the first reply is sent whole, the others
    // carry the server's heads alone.
    let response = request(storage.as_ref(), &cache, &p, phone.messages(), Some(1));
    let carried = carried(&response);
    assert_eq!(carried.len(), keys.len());
    assert!(carried[0].0 > 0);
    for (changes, heads) in &carried[1..] {
        assert_eq!(*changes, 0);
        assert!(!heads.is_empty());
    }

    // A plain Automerge peer asks for what it lacks, and gets it all.
    phone.receive(&response);
    let mut requests = 1;
    loop {
        let messages = phone.messages();
        if messages.is_empty() {
            break;
        }
        let response = request(storage.as_ref(), &cache, &p, messages, Some(1));
        phone.receive(&response);
        requests += 1;
        assert!(requests < 4 * keys.len(), "did not settle");
    }
    for (key, (doc, _)) in &phone.docs {
        let stored = cache.load(storage.as_ref(), key).unwrap();
        assert_eq!(doc.get_heads(), stored.get_heads(), "{key}");
    }
    // One document's changes per response: at least as many requests.
    assert!(requests >= keys.len(), "{requests} requests");
}

#[test]
fn bytes_that_are_not_a_sync_message_are_answered_without_loading_the_document() {
    let db = TestDb::new(Backend::Sqlite);
    let storage = db.open();
    let people = seed(storage.as_ref()).unwrap();
    let p = device(storage.as_ref(), people.social_worker);
    let key = DocKey::Record(people.child);
    let cache = DocCache::default();
    let garbage = DocMessage {
        key,
        message: vec![0x42; 64],
    };
    let response = request(storage.as_ref(), &cache, &p, vec![garbage], None);
    assert_eq!(response.docs[0].status, DocStatus::Malformed);
    assert!(response.docs[0].message.is_none());
    assert_eq!(cache.leased_peak(), 0);
    assert_eq!(cache.usage().1, 0);
}
