//! A device made of nothing but Automerge documents, an Ed25519 key and the
//! wire types: it speaks `docs/sync-protocol.md` directly, with no store
//! and no client core, so a test can do what the real device never would:
//! sign with the wrong key, send a garbage message, drop a response, point
//! itself at another server instance, or edit without asking the policy.
//!
//! A test fixture, so it fails the test (panics) where only a broken server
//! could make it go wrong (a body that is not CBOR, a sync that never
//! settles), and returns what a test asserts on: the server's refusals.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fixture: a malformed answer fails the test"
)]

use std::collections::{BTreeMap, BTreeSet};

use automerge::AutoCommit;
use automerge::sync::SyncDoc;
use bothy_shared::docs::{DocKey, RecordDoc, Visit, read_document, write_document};
use bothy_shared::ids::{DeviceId, ItemId, PersonId};
use bothy_shared::signing::{self, RequestSigner, SignedHeaders};
use bothy_shared::team::TeamChange;
use bothy_shared::wire::{
    self, ChangedRequest, ChangedResponse, DirectoryView, DocMessage, DocReply, DocStatus,
    EnrolRequest, EnrolResponse, ErrorBody, KeptResponse, SyncRequest, SyncResponse, TeamRequest,
    TeamResponse,
};
use reqwest::StatusCode;

use crate::db::now;

/// What one `sync` run saw.
#[derive(Debug, Default)]
pub struct SyncReport {
    pub changed: ChangedResponse,
    /// How many `/v1/sync` requests the run made.
    pub sync_requests: usize,
    /// Every reply, in the order received.
    pub replies: Vec<DocReply>,
}

impl SyncReport {
    pub fn refused(&self) -> Vec<&DocReply> {
        self.replies
            .iter()
            .filter(|r| r.status != DocStatus::Ok)
            .collect()
    }

    pub fn keys_seen(&self) -> BTreeSet<DocKey> {
        let mut keys: BTreeSet<DocKey> = self.replies.iter().map(|r| r.key).collect();
        keys.extend(
            self.changed
                .changed
                .iter()
                .chain(&self.changed.new)
                .chain(&self.changed.gone),
        );
        keys
    }
}

/// Why a sync run stopped.
#[derive(Debug)]
pub enum RunError {
    /// The server answered with an error.
    Refused(StatusCode, ErrorBody),
    /// No answer: the connection failed (the server was killed).
    Transport(reqwest::Error),
}

impl RunError {
    /// The server's refusal; panics on a transport failure, which tests of
    /// a single healthy server never expect.
    pub fn refused(self) -> (StatusCode, ErrorBody) {
        match self {
            RunError::Refused(status, body) => (status, body),
            RunError::Transport(e) => panic!("no response from the server: {e}"),
        }
    }
}

/// A minimal device: an Ed25519 key, documents as Automerge `AutoCommit`s
/// with the device's actor, and persisted (encoded) sync states.
pub struct WireDevice {
    pub base: String,
    pub http: reqwest::Client,
    pub signer: RequestSigner,
    pub device: DeviceId,
    pub person: PersonId,
    pub directory: DirectoryView,
    pub docs: BTreeMap<DocKey, AutoCommit>,
    /// What a real device persists between runs: `State::encode()`.
    pub states: BTreeMap<DocKey, Vec<u8>>,
    pub cursor: Option<String>,
}

impl std::fmt::Debug for WireDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireDevice")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

pub async fn post_cbor(http: &reqwest::Client, url: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let resp = http
        .post(url)
        .header("content-type", wire::CBOR_CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.bytes().await.unwrap().to_vec())
}

pub fn error_of(body: &[u8]) -> ErrorBody {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not an error body ({e}): {}", String::from_utf8_lossy(body)))
}

impl WireDevice {
    pub async fn enrol(
        base: &str,
        code: &str,
        name: &str,
    ) -> Result<WireDevice, (StatusCode, ErrorBody)> {
        let pkcs8 = signing::generate_device_key().unwrap();
        let unenrolled = RequestSigner::from_pkcs8(DeviceId::random(), &pkcs8).unwrap();
        let req = EnrolRequest {
            code: code.to_owned(),
            public_key: unenrolled.public_key(),
            device_name: name.to_owned(),
        };
        let http = reqwest::Client::new();
        let (status, body) = post_cbor(
            &http,
            &format!("{base}{}", wire::PATH_ENROL),
            wire::to_cbor(&req).unwrap(),
        )
        .await;
        if status != StatusCode::OK {
            return Err((status, error_of(&body)));
        }
        let resp: EnrolResponse = wire::from_cbor(&body).unwrap();
        Ok(WireDevice {
            base: base.to_owned(),
            http,
            signer: RequestSigner::from_pkcs8(resp.device, &pkcs8).unwrap(),
            device: resp.device,
            person: resp.person,
            directory: resp.directory,
            docs: BTreeMap::new(),
            states: BTreeMap::new(),
            cursor: None,
        })
    }

    /// Send a request with the given signature headers; `Err` if no
    /// response arrived (the server went away).
    pub async fn try_send_signed(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        headers: &SignedHeaders,
    ) -> Result<(StatusCode, Vec<u8>), reqwest::Error> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers.pairs() {
            req = req.header(name, value);
        }
        if !body.is_empty() {
            req = req.header("content-type", wire::CBOR_CONTENT_TYPE);
        }
        let resp = req.body(body).send().await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        Ok((status, body.to_vec()))
    }

    /// Send a request with the given signature headers.
    pub async fn send_signed(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        headers: &SignedHeaders,
    ) -> (StatusCode, Vec<u8>) {
        self.try_send_signed(method, path, body, headers)
            .await
            .unwrap()
    }

    /// A correctly signed request, now; `Err` if no response arrived.
    pub async fn try_signed(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Vec<u8>), reqwest::Error> {
        let headers = self.signer.sign(method, path, &body, now()).unwrap();
        self.try_send_signed(method, path, body, &headers).await
    }

    /// A correctly signed request, now.
    pub async fn signed(&self, method: &str, path: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        self.try_signed(method, path, body).await.unwrap()
    }

    async fn try_changed(&mut self) -> Result<ChangedResponse, RunError> {
        let gone_before: Vec<DocKey> = Vec::new();
        let req = ChangedRequest {
            cursor: self.cursor.clone(),
            dropped: gone_before,
        };
        let (status, body) = self
            .try_signed("POST", wire::PATH_CHANGED, wire::to_cbor(&req).unwrap())
            .await
            .map_err(RunError::Transport)?;
        if status != StatusCode::OK {
            return Err(RunError::Refused(status, error_of(&body)));
        }
        Ok(wire::from_cbor(&body).unwrap())
    }

    pub async fn changed(&mut self) -> Result<ChangedResponse, (StatusCode, ErrorBody)> {
        self.try_changed().await.map_err(RunError::refused)
    }

    async fn try_sync_request(&self, req: &SyncRequest) -> Result<SyncResponse, RunError> {
        let (status, body) = self
            .try_signed("POST", wire::PATH_SYNC, wire::to_cbor(req).unwrap())
            .await
            .map_err(RunError::Transport)?;
        if status != StatusCode::OK {
            return Err(RunError::Refused(status, error_of(&body)));
        }
        Ok(wire::from_cbor(&body).unwrap())
    }

    pub async fn sync_request(
        &self,
        req: &SyncRequest,
    ) -> Result<SyncResponse, (StatusCode, ErrorBody)> {
        self.try_sync_request(req).await.map_err(RunError::refused)
    }

    /// One full sync run: ask what changed, then exchange sync messages for
    /// those documents and any with local changes until both sides are quiet.
    pub async fn sync(&mut self) -> Result<SyncReport, (StatusCode, ErrorBody)> {
        self.try_sync().await.map_err(RunError::refused)
    }

    /// As [`WireDevice::sync`], but a server that goes away mid-run is an
    /// `Err` too. Like a real device, nothing of a run that failed is kept
    /// but what the documents received; the persisted sync states and the
    /// cursor stay as they were.
    pub async fn try_sync(&mut self) -> Result<SyncReport, RunError> {
        let changed = self.try_changed().await?;
        for key in &changed.gone {
            self.docs.remove(key);
            self.states.remove(key);
        }
        let mut active: BTreeSet<DocKey> = changed
            .changed
            .iter()
            .chain(&changed.new)
            .copied()
            .collect();
        // Documents with local changes since their last sync.
        for (key, doc) in &mut self.docs {
            let shared =
                wire::resume_sync_state(self.states.get(key).map(Vec::as_slice)).shared_heads;
            if doc.get_heads() != shared {
                active.insert(*key);
            }
        }
        let actor = self.device.actor_id();
        let mut states: BTreeMap<DocKey, automerge::sync::State> = active
            .iter()
            .map(|k| {
                (
                    *k,
                    wire::resume_sync_state(self.states.get(k).map(Vec::as_slice)),
                )
            })
            .collect();
        let mut report = SyncReport {
            changed: changed.clone(),
            ..Default::default()
        };
        loop {
            let mut docs = Vec::new();
            for key in &active {
                let doc = self
                    .docs
                    .entry(*key)
                    .or_insert_with(|| AutoCommit::new().with_actor(actor.clone()));
                let state = states.get_mut(key).unwrap();
                if let Some(message) = doc.sync().generate_sync_message(state) {
                    docs.push(DocMessage {
                        key: *key,
                        message: message.encode(),
                    });
                }
            }
            if docs.is_empty() {
                break;
            }
            report.sync_requests += 1;
            assert!(report.sync_requests < 50, "sync did not converge");
            let resp = self
                .try_sync_request(&SyncRequest {
                    docs,
                    changed: None,
                })
                .await?;
            for reply in resp.docs {
                if let Some(bytes) = &reply.message {
                    let message = automerge::sync::Message::decode(bytes).unwrap();
                    let doc = self.docs.get_mut(&reply.key).unwrap();
                    doc.sync()
                        .receive_sync_message(states.get_mut(&reply.key).unwrap(), message)
                        .unwrap();
                }
                if reply.status != DocStatus::Ok {
                    // Keep the refused work, stop exchanging this document for this run.
                    active.remove(&reply.key);
                    if reply.status == DocStatus::Unavailable {
                        self.docs.remove(&reply.key);
                    }
                }
                report.replies.push(reply);
            }
        }
        for (key, state) in states {
            self.states.insert(key, state.encode());
        }
        self.cursor = Some(changed.cursor);
        Ok(report)
    }

    /// Send `key`'s next sync message from the persisted sync state, as a
    /// dropped connection would leave it: the request reaches the server,
    /// the response never reaches the device, whose state stays as it was.
    /// Returns what the server answered, for the test to look at.
    pub async fn sync_and_lose_the_answer(
        &mut self,
        key: DocKey,
    ) -> Result<SyncResponse, (StatusCode, ErrorBody)> {
        let mut state = wire::resume_sync_state(self.states.get(&key).map(Vec::as_slice));
        let message = self
            .docs
            .get_mut(&key)
            .unwrap_or_else(|| panic!("device does not hold {key}"))
            .sync()
            .generate_sync_message(&mut state)
            .unwrap_or_else(|| panic!("nothing to send for {key}"));
        self.sync_request(&SyncRequest {
            docs: vec![DocMessage {
                key,
                message: message.encode(),
            }],
            changed: None,
        })
        .await
    }

    /// The same device as a real one (`client`'s enrolment: its id and
    /// key), speaking the protocol directly: what a person holding that
    /// phone could send.
    pub async fn of_client(base: &str, client: &bothy_client::Client) -> WireDevice {
        use bothy_client::sync::meta;
        let store = client.store();
        let device: DeviceId = String::from_utf8(store.meta(meta::DEVICE).unwrap().unwrap())
            .unwrap()
            .parse()
            .unwrap();
        let pkcs8 = store.meta(meta::DEVICE_KEY).unwrap().unwrap();
        let mut dev = WireDevice {
            base: base.to_owned(),
            http: reqwest::Client::new(),
            signer: RequestSigner::from_pkcs8(device, &pkcs8).unwrap(),
            device,
            person: client.me().person,
            directory: DirectoryView {
                me: wire::PersonView {
                    id: client.me().person,
                    name: client.me().name.clone(),
                    kind: wire::PersonKindView::Practitioner,
                    agency: client.me().agency,
                    child: None,
                    duty: false,
                },
                supervises: vec![],
                children: vec![],
                devices: vec![],
                colleagues: vec![],
            },
            docs: BTreeMap::new(),
            states: BTreeMap::new(),
            cursor: None,
        };
        let (status, body) = dev.signed("GET", wire::PATH_DIRECTORY, Vec::new()).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        dev.directory = wire::from_cbor(&body).unwrap();
        dev
    }

    /// `POST /v1/team` with these changes.
    pub async fn team(
        &self,
        changes: Vec<TeamChange>,
    ) -> Result<TeamResponse, (StatusCode, ErrorBody)> {
        let body = wire::to_cbor(&TeamRequest { changes }).unwrap();
        let (status, body) = self.signed("POST", wire::PATH_TEAM, body).await;
        if status != StatusCode::OK {
            return Err((status, error_of(&body)));
        }
        Ok(wire::from_cbor(&body).unwrap())
    }

    /// `GET /v1/kept`: work kept for a supervisor.
    pub async fn kept(&self) -> Result<KeptResponse, (StatusCode, ErrorBody)> {
        let (status, body) = self.signed("GET", wire::PATH_KEPT, Vec::new()).await;
        if status != StatusCode::OK {
            return Err((status, error_of(&body)));
        }
        Ok(wire::from_cbor(&body).unwrap())
    }

    /// A raw read of `key`: one `/v1/sync` message from an empty document,
    /// as a device that never held it asks. The reply says whether the
    /// server sent anything of it.
    pub async fn read_raw(&self, key: DocKey) -> DocReply {
        let mut state = automerge::sync::State::new();
        let message = AutoCommit::new()
            .sync()
            .generate_sync_message(&mut state)
            .unwrap();
        let resp = self
            .sync_request(&SyncRequest {
                docs: vec![DocMessage {
                    key,
                    message: message.encode(),
                }],
                changed: None,
            })
            .await
            .unwrap();
        resp.docs.into_iter().next().unwrap()
    }

    /// Make a change on this device (actor = the device's actor).
    pub fn edit(&mut self, key: DocKey, f: impl FnOnce(&mut AutoCommit)) {
        let doc = self
            .docs
            .get_mut(&key)
            .unwrap_or_else(|| panic!("device does not hold {key}"));
        doc.set_actor(self.device.actor_id());
        f(doc);
        doc.commit();
    }
}

/// Add a visit to a record document on a device; returns its id.
pub fn add_visit(dev: &mut WireDevice, key: DocKey, words: &str) -> ItemId {
    let mut visit = crate::home_visit(
        key,
        dev.person,
        dev.directory.me.name.clone(),
        dev.directory.me.agency.unwrap(),
        words,
    );
    visit.present = vec!["Mum".into()];
    let id = visit.id;
    dev.edit(key, |doc| {
        let mut record: RecordDoc = read_document(&*doc, &key).unwrap();
        record.visits.insert(id, visit);
        write_document(doc, &key, &record).unwrap();
    });
    id
}

/// The visits of a record document.
pub fn visits(doc: &AutoCommit, key: DocKey) -> BTreeMap<ItemId, Visit> {
    read_document::<RecordDoc, _>(doc, &key).unwrap().visits
}
