//! Shared test fixtures: a small partnership, a database on either backend,
//! a real server on port 0, and a minimal device that speaks the protocol
//! with Automerge directly.
//!
//! Tests on PostgreSQL need a server at `BOTHY_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432`, trust authentication; a URL without
//! a database name). Each such test gets a fresh schema `bothy_test_<random>`
//! in the database `bothy_test` (created through the `postgres` maintenance
//! database the first time) and drops it at the end, so they run in
//! parallel; the storage's URL sets `search_path` to that schema. A schema
//! rather than a database per test: creating and dropping a database takes
//! about a second here, a schema milliseconds. They fail, with a message
//! saying so, when PostgreSQL is unreachable: `scripts/test.sh` starts it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use automerge::AutoCommit;
use automerge::sync::SyncDoc;
use bothy_server::storage::{self, Storage};
use bothy_server::{ServerConfig, auth, directory};
use bothy_shared::docs::DocKey;
use bothy_shared::docs::{RecordDoc, Sharing, Text, Timestamp, Visit, VisitKind};
use bothy_shared::docs::{read_document, write_document};
use bothy_shared::ids::ItemId;
use bothy_shared::ids::{Agency, ChildId, DeviceId, PersonId};
use bothy_shared::policy::{PersonKind, TeamRole};
use bothy_shared::signing::{self, RequestSigner, SignedHeaders};
use bothy_shared::wire::{
    self, ChangedRequest, ChangedResponse, DirectoryView, DocMessage, DocReply, DocStatus,
    EnrolRequest, EnrolResponse, ErrorBody, SyncRequest, SyncResponse,
};
use reqwest::StatusCode;
use tempfile::TempDir;

pub fn now() -> i64 {
    bothy_server::now()
}

/// Which storage backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh PostgreSQL database (see the module documentation).
    Postgres,
}

/// The PostgreSQL server tests use, as a URL without a database name.
pub fn pg_server_url() -> String {
    std::env::var("BOTHY_PG_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// The database that holds every test's schema.
const PG_TEST_DATABASE: &str = "bothy_test";

/// Run SQL on a database of the test server (`postgres` is the maintenance
/// one), on a thread of its own: the synchronous client must not run inside
/// a tokio task.
fn pg_run(database: &str, sql: String) -> Result<(), String> {
    let url = format!("{}/{database}", pg_server_url());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).map_err(|e| {
            format!(
                "PostgreSQL is not reachable at {url} ({e}). This test needs it: run \
                 scripts/test.sh (which starts it), start it yourself \
                 (pg_ctlcluster <version> main start), or point BOTHY_PG_URL at one."
            )
        })?;
        client
            .batch_execute(&sql)
            .map_err(|e| match e.as_db_error() {
                Some(db) => format!("{sql}: {} ({})", db.message(), db.code().code()),
                None => format!("{sql}: {e}"),
            })
    })
    .join()
    .unwrap_or_else(|_| Err("the PostgreSQL admin thread panicked".to_owned()))
}

/// Create the test database unless it exists (another test process may be
/// creating it at the same moment: then it exists afterwards).
fn pg_test_database() {
    static READY: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let ready = READY.get_or_init(|| {
        let create = pg_run("postgres", format!("CREATE DATABASE {PG_TEST_DATABASE}"));
        match create {
            Ok(()) => Ok(()),
            // duplicate_database, or unique_violation when racing another creator.
            Err(e) if e.contains("(42P04)") || e.contains("(23505)") => Ok(()),
            Err(e) => Err(e),
        }
    });
    if let Err(e) = ready {
        panic!("{e}");
    }
}

/// A database for one test: a SQLite file in a temporary directory, or a
/// fresh PostgreSQL schema, dropped with everything in it when this is.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: Option<TempDir>,
    pg_schema: Option<String>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("url", &self.url).finish()
    }
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                TestDb {
                    url: format!("sqlite://{}", dir.path().join("server.db").display()),
                    backend,
                    _dir: Some(dir),
                    pg_schema: None,
                }
            }
            Backend::Postgres => {
                pg_test_database();
                let schema = format!("bothy_test_{}", uuid::Uuid::new_v4().simple());
                pg_run(PG_TEST_DATABASE, format!("CREATE SCHEMA {schema}"))
                    .unwrap_or_else(|e| panic!("{e}"));
                TestDb {
                    url: format!(
                        "{}/{PG_TEST_DATABASE}?options=-c%20search_path%3D{schema}",
                        pg_server_url()
                    ),
                    backend,
                    _dir: None,
                    pg_schema: Some(schema),
                }
            }
        }
    }

    pub fn open(&self) -> Arc<dyn Storage> {
        storage::open(&self.url).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(schema) = &self.pg_schema {
            let dropped = pg_run(
                PG_TEST_DATABASE,
                format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            );
            if let Err(e) = dropped {
                eprintln!("could not drop the test schema {schema}: {e}");
            }
        }
    }
}

/// Turn `async fn name(backend: Backend)` tests into one `#[tokio::test]`
/// per backend: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                /// Needs PostgreSQL at `BOTHY_PG_URL` (default
                /// `postgres://postgres@127.0.0.1:5432`); fails if it is unreachable.
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}

/// Who is who in the test partnership.
#[derive(Debug, Clone, Copy)]
pub struct People {
    /// Social worker, lead professional for `child`.
    pub social_worker: PersonId,
    /// Health visitor, named person for `child`.
    pub health_visitor: PersonId,
    /// Social work team manager, supervises the social worker.
    pub supervisor: PersonId,
    /// The young person `child` is.
    pub young_person: PersonId,
    /// A police officer on `other_child`'s team only.
    pub police_officer: PersonId,
    pub child: ChildId,
    pub other_child: ChildId,
}

/// Build the test partnership with the same admin operations the CLI uses.
pub fn seed(storage: &dyn Storage) -> People {
    let at = now();
    let child = directory::add_child(storage, ChildId::random(), "Test Child", at)
        .unwrap()
        .id;
    let other_child = directory::add_child(storage, ChildId::random(), "Other Child", at)
        .unwrap()
        .id;
    let person = |name: &str, kind: PersonKind, agency: Option<Agency>| {
        directory::add_person(storage, PersonId::random(), name, kind, agency)
            .unwrap()
            .id
    };
    let social_worker = person(
        "Morag Social",
        PersonKind::Practitioner,
        Some(Agency::SocialWork),
    );
    let health_visitor = person(
        "Aileen Health",
        PersonKind::Practitioner,
        Some(Agency::Health),
    );
    let supervisor = person(
        "Iain Manager",
        PersonKind::Supervisor,
        Some(Agency::SocialWork),
    );
    let young_person = person("Skye", PersonKind::YoungPerson { child }, None);
    let police_officer = person(
        "Ross Police",
        PersonKind::Practitioner,
        Some(Agency::Police),
    );
    directory::add_team_member(
        storage,
        child,
        social_worker,
        TeamRole::LeadProfessional,
        at,
    )
    .unwrap();
    directory::add_team_member(storage, child, health_visitor, TeamRole::NamedPerson, at).unwrap();
    directory::add_team_member(
        storage,
        other_child,
        police_officer,
        TeamRole::LeadProfessional,
        at,
    )
    .unwrap();
    directory::set_supervisor(storage, supervisor, social_worker).unwrap();
    People {
        social_worker,
        health_visitor,
        supervisor,
        young_person,
        police_officer,
        child,
        other_child,
    }
}

pub fn code_for(storage: &dyn Storage, person: PersonId) -> String {
    auth::issue_enrol_code(storage, person, Duration::from_secs(3600), now()).unwrap()
}

/// A server on a random loopback port, over a database in a temporary
/// directory; stops when dropped.
pub struct TestServer {
    pub base: String,
    pub db_url: String,
    pub storage: Arc<dyn Storage>,
    pub people: People,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), bothy_server::ServerError>>>,
    /// Dropped last: the server lets go of the database first.
    db: Arc<TestDb>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(
        backend: Backend,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        let db = Arc::new(TestDb::new(backend));
        let storage = db.open();
        let people = seed(storage.as_ref());
        Self::launch(db, storage, people, adjust).await
    }

    /// Another server (another instance) on this one's database, with its
    /// own storage connection and document cache.
    pub async fn another_instance(&self) -> TestServer {
        let storage = self.db.open();
        Self::launch(self.db.clone(), storage, self.people, |_| {}).await
    }

    async fn launch(
        db: Arc<TestDb>,
        storage: Arc<dyn Storage>,
        people: People,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = ServerConfig::for_tests(&db.url);
        adjust(&mut config);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(bothy_server::launch_with_storage(
            config,
            storage.clone(),
            listener,
            async move {
                let _ = rx.await;
            },
        ));
        let server = TestServer {
            base,
            db_url: db.url.clone(),
            storage,
            people,
            shutdown: Some(tx),
            task: Some(task),
            db,
        };
        server.wait_ready().await;
        server
    }

    /// The listener is bound before the server task starts, so the first
    /// request queues until it is served: no sleeping needed.
    async fn wait_ready(&self) {
        let resp = reqwest::get(format!("{}/health", self.base)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }

    pub fn code_for(&self, person: PersonId) -> String {
        code_for(self.storage.as_ref(), person)
    }

    pub async fn enrol(&self, person: PersonId) -> TestDevice {
        TestDevice::enrol(&self.base, &self.code_for(person), "test phone")
            .await
            .unwrap()
    }

    pub async fn health(&self) -> StatusCode {
        reqwest::get(format!("{}/health", self.base))
            .await
            .unwrap()
            .status()
    }

    /// Stop gracefully and wait for the server task to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

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
    Transport(String),
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
pub struct TestDevice {
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

impl std::fmt::Debug for TestDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDevice")
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

impl TestDevice {
    pub async fn enrol(
        base: &str,
        code: &str,
        name: &str,
    ) -> Result<TestDevice, (StatusCode, ErrorBody)> {
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
        Ok(TestDevice {
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
    ) -> Result<(StatusCode, Vec<u8>), String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers.pairs() {
            req = req.header(name, value);
        }
        if !body.is_empty() {
            req = req.header("content-type", wire::CBOR_CONTENT_TYPE);
        }
        let resp = req.body(body).send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| e.to_string())?;
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
    ) -> Result<(StatusCode, Vec<u8>), String> {
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

    /// As [`TestDevice::sync`], but a server that goes away mid-run is an
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
pub fn add_visit(dev: &mut TestDevice, key: DocKey, words: &str) -> ItemId {
    let id = ItemId::random();
    let (person, name) = (dev.person, dev.directory.me.name.clone());
    let agency = dev.directory.me.agency.unwrap();
    dev.edit(key, |doc| {
        let mut record: RecordDoc = read_document(&*doc, &key).unwrap();
        record.visits.insert(
            id,
            Visit {
                id,
                at: Timestamp::now(),
                place: "Home".into(),
                kind: VisitKind::Home,
                practitioner: person,
                practitioner_name: name,
                agency,
                present: vec!["Mum".into()],
                child_seen: true,
                seen_alone: false,
                observations: Text::with_value(words),
                analysis: Text::default(),
                child_said: Text::default(),
                next_steps: Text::default(),
                linked_actions: vec![],
                sharing: if matches!(key, DocKey::Agency(..)) {
                    Sharing::Agency
                } else {
                    Sharing::Team
                },
                significant: false,
                finalised: None,
                addenda: BTreeMap::new(),
            },
        );
        write_document(doc, &key, &record).unwrap();
    });
    id
}

/// The visits of a record document.
pub fn visits(doc: &AutoCommit, key: DocKey) -> BTreeMap<ItemId, Visit> {
    read_document::<RecordDoc, _>(doc, &key).unwrap().visits
}
