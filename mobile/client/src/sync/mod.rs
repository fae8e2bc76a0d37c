//! Enrolment and sync with the Bothy server (`docs/sync-protocol.md`).
//!
//! This module owns the device's half of the protocol:
//! - [`enrol`]: a one-time code from an administrator plus a new Ed25519
//!   key make this device known to the server. The key, the server's
//!   address and the directory go into the encrypted store, in one
//!   transaction; none of them is ever logged or printed.
//! - [`SyncEngine::sync`]: one full sync run. Documents with local changes
//!   the server has not acknowledged, documents others changed since the
//!   stored cursor and documents new to the device are exchanged as
//!   Automerge sync messages, many per `/v1/sync` request, until both sides
//!   are quiet. Which documents others changed is asked inside the first
//!   `/v1/sync` request when there is work to push (so a push is one round
//!   trip), or with `/v1/changed` when there is not. What arrives goes through
//!   [`Client::merge_remote`] (on a copy, inside `robust::contain`); each
//!   document's sync state is persisted right after the document it
//!   describes; the cursor only when the run is complete. A connection cut
//!   at any byte therefore loses nothing (nothing is acknowledged that the
//!   server does not hold) and duplicates nothing (changes are content
//!   addressed on both sides).
//! - Refusals (`rejected`, `denied`) are kept in the store with the rule and
//!   its explanation; the refused work stays on the device, never dropped.
//! - A revoked device offers its unsynced changes (`/v1/offer`), then
//!   [`wipe_device`] removes the store; [`SyncEngine::sync_or_wipe`] does both.
//! - Progress (documents done of total, bytes each way, each document's
//!   state) is published on a [`tokio::sync::watch`] channel for the app.
//!
//! ```no_run
//! # async fn example(mut client: bothy_client::Client) -> Result<(), bothy_client::sync::SyncError> {
//! use bothy_client::sync::{SyncEngine, SyncOptions};
//! let engine = SyncEngine::new(&client, SyncOptions::default())?;
//! let progress = engine.progress();
//! let report = engine.sync(&mut client).await?;
//! println!("sent {} change(s), received {}", report.acknowledged, report.received);
//! # let _ = progress; Ok(())
//! # }
//! ```

mod directory;
mod local;
mod outbox;
mod status;
mod transport;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use automerge::sync::{self as am_sync, SyncDoc};
use automerge::{Automerge, ChangeHash};
use bothy_shared::docs::DocKey;
use bothy_shared::ids::{DeviceId, PersonId};
use bothy_shared::robust;
use bothy_shared::signing::{self, RequestSigner};
use bothy_shared::wire::{
    self, ChangedRequest, ChangedResponse, DirectoryView, DocMessage, DocReply, DocStatus,
    EnrolRequest, EnrolResponse, ErrorCode, OfferRequest, OfferResponse, OfferedDoc, SyncRequest,
    SyncResponse,
};
use tokio::sync::watch;
use zeroize::Zeroizing;

pub use directory::directory_from_view;
pub use local::{LocalReplica, SERVER_PEER};
pub use status::{RefusalView, SyncStatus};
pub use transport::{HttpExchange, Observer, RetryPolicy, Traffic};

use crate::error::ServiceError;
use crate::services::{Client, DIRECTORY_META};
use crate::store::tx::{self, NewRejection};
use crate::store::{DATABASE_FILE_NAME, KEY_FILE_NAME, Store, StoreError, THROTTLE_FILE_NAME};
use transport::Transport;

/// Meta keys (in the encrypted store).
pub mod meta {
    /// The server's base URL.
    pub const SERVER: &str = "sync.server";
    /// This device's id.
    pub const DEVICE: &str = "sync.device";
    /// The device's Ed25519 key, PKCS#8. Secret.
    pub const DEVICE_KEY: &str = "sync.device-key";
    /// The cursor from the last complete run.
    pub const CURSOR: &str = "sync.cursor";
    /// Documents deleted after `gone`, to acknowledge in the next run's
    /// `/v1/changed` question.
    pub const DROPPED: &str = "sync.dropped";
    /// Unix seconds of the last complete run.
    pub const LAST_SYNC: &str = "sync.last-sync";
    /// Unix seconds of the last directory refresh.
    pub const DIRECTORY_AT: &str = "sync.directory-at";
    /// Prefix of "heads when refused" per document (see the engine).
    pub const REFUSED_PREFIX: &str = "sync.refused/";
}

/// Why enrolment or a sync run failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server could not be reached (every try failed in transit or with
    /// a retryable status). Nothing is lost; sync again later.
    #[error("the server could not be reached ({attempts} tries; last: {last_error})")]
    Unreachable { attempts: u32, last_error: String },
    /// The device was revoked by an administrator. `offered` is how many
    /// unsynced changes the server took into quarantine (`None`: not offered yet).
    #[error("this device was revoked by an administrator")]
    Revoked { offered: Option<u64> },
    /// The server refused the request (a 4xx other than revocation).
    #[error("the server refused the request ({status} {}): {message}", code.as_str())]
    Refused {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// The server's answer could not be read.
    #[error("the server's answer could not be read: {0}")]
    BadResponse(String),
    #[error("`{0}` is not an http:// or https:// address")]
    BadServerUrl(String),
    #[error("this device is not enrolled with a server")]
    NotEnrolled,
    /// The device key could not be used (or generated).
    #[error("the device key: {0}")]
    Signing(String),
    #[error("setting up HTTP: {0}")]
    Http(String),
    /// A document kept exchanging messages past the limit on rounds.
    #[error("sync did not settle after {0} rounds")]
    DidNotSettle(usize),
    #[error(transparent)]
    Local(#[from] ServiceError),
    #[error("wiping the local data: {0}")]
    Wipe(#[source] std::io::Error),
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Local(ServiceError::Store(e))
    }
}

/// How the engine talks to the server.
#[derive(Clone)]
pub struct SyncOptions {
    pub retry: RetryPolicy,
    /// The longest one request may take.
    pub request_timeout: Duration,
    /// Refresh the directory at least this often (it is refreshed anyway
    /// when documents appear or go).
    pub directory_max_age: Duration,
    /// The most documents in one `/v1/sync` request (the protocol allows 256).
    pub max_docs_per_request: usize,
    /// Start a new request once a batch's messages reach this many bytes.
    pub max_batch_bytes: usize,
    /// The most message rounds in one run before giving up.
    pub max_rounds: usize,
    /// Keep connections open between requests (HTTP keep-alive). Off, every
    /// request opens its own connection (tests that cut connections).
    pub reuse_connections: bool,
    /// Sees every request and answer (tests).
    pub observer: Option<Observer>,
}

impl fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncOptions")
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .field("directory_max_age", &self.directory_max_age)
            .field("max_docs_per_request", &self.max_docs_per_request)
            .field("max_batch_bytes", &self.max_batch_bytes)
            .field("max_rounds", &self.max_rounds)
            .field("reuse_connections", &self.reuse_connections)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(60),
            directory_max_age: Duration::from_secs(15 * 60),
            max_docs_per_request: wire::MAX_DOCS_PER_REQUEST,
            max_batch_bytes: 2 * 1024 * 1024,
            max_rounds: 64,
            reuse_connections: true,
            observer: None,
        }
    }
}

// ---------------------------------------------------------------- progress

/// Where a sync run is, for the app's sync screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SyncPhase {
    #[default]
    Idle,
    /// Asking which documents changed.
    Checking,
    /// Exchanging documents.
    Exchanging,
    /// Finished at this time (unix seconds).
    Done { at: i64 },
    /// The server cannot be reached; the next try is after `retry_in`.
    Offline { attempt: u32, retry_in: Duration },
    /// The device was revoked; unsynced work was offered, the data wiped.
    Revoked,
    /// The run failed for another reason (in words for the person).
    Failed(String),
}

/// One document's state in the current run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocSyncState {
    Waiting,
    Exchanging,
    Synced,
    /// Changes refused: the rule named.
    Refused {
        rule: String,
    },
    /// The server does not offer this document (any more).
    Unavailable,
    /// The server could not read what was sent.
    Malformed,
}

/// What the app shows while syncing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub docs_done: usize,
    pub docs_total: usize,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub documents: BTreeMap<DocKey, DocSyncState>,
}

// ---------------------------------------------------------------- reports

/// A change the server refused in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub key: DocKey,
    pub status: DocStatus,
    /// The policy rule (for `denied`, the rule the server names).
    pub rule: String,
    /// Where in the document (empty when not named).
    pub path: String,
    /// Lowercase hex of the refused change's hash (empty when not named).
    pub change: String,
    /// The rule explained in plain words.
    pub explanation: String,
}

/// What one sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Documents others changed since the last run.
    pub changed: usize,
    /// Documents new to this device.
    pub new: usize,
    /// Documents deleted because the device may no longer read them.
    pub gone: Vec<DocKey>,
    /// Documents exchanged in this run.
    pub documents: usize,
    /// Local changes the server now holds (acknowledged in this run).
    pub acknowledged: usize,
    /// Changes received from the server.
    pub received: usize,
    /// Changes refused in this run (also kept in the store).
    pub refused: Vec<Refusal>,
    /// `/v1/sync` requests made (the first may carry the `/v1/changed` question).
    pub sync_requests: u32,
    /// Every request (with `/v1/changed` and `/v1/directory`), bytes each way, retries.
    pub traffic: Traffic,
    pub directory_refreshed: bool,
    /// How long the run took.
    pub elapsed: Duration,
}

/// What [`enrol`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub server: String,
    pub device: DeviceId,
    pub person: PersonId,
    pub directory: DirectoryView,
}

/// What [`wipe_device`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WipeReport {
    pub dir: PathBuf,
    pub removed: Vec<PathBuf>,
    /// Unsynced changes the server took into quarantine before the wipe.
    pub offered: u64,
}

/// The result of [`SyncEngine::sync_or_wipe`].
#[derive(Debug)]
pub enum SyncOutcome {
    Synced {
        client: Client,
        report: SyncReport,
    },
    /// The run failed; the client is intact (sync again later).
    Failed {
        client: Client,
        error: SyncError,
    },
    /// The device was revoked: its unsynced work was offered and its store wiped.
    Wiped(WipeReport),
}

// ---------------------------------------------------------------- enrolment

/// The device's credentials, as kept in the store. Debug never shows the key.
struct Credentials {
    server: String,
    device: DeviceId,
    pkcs8: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

fn text_meta<L: LocalReplica>(local: &L, key: &str) -> Result<Option<String>, SyncError> {
    Ok(local
        .meta(key)?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

fn credentials<L: LocalReplica>(local: &L) -> Result<Credentials, SyncError> {
    let server = text_meta(local, meta::SERVER)?.ok_or(SyncError::NotEnrolled)?;
    let device = text_meta(local, meta::DEVICE)?
        .and_then(|d| d.parse().ok())
        .ok_or(SyncError::NotEnrolled)?;
    let pkcs8 = Zeroizing::new(
        local
            .meta(meta::DEVICE_KEY)?
            .ok_or(SyncError::NotEnrolled)?,
    );
    Ok(Credentials {
        server,
        device,
        pkcs8,
    })
}

/// The server URL this device is enrolled with, if any.
pub fn enrolled_server(store: &Store) -> Result<Option<String>, SyncError> {
    Ok(store
        .meta(meta::SERVER)?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// Ask the server to enrol a new device with `code`. Returns the enrolment
/// and the new device key (PKCS#8, secret): keep both, or use [`enrol`].
pub async fn request_enrolment(
    server: &str,
    code: &str,
    device_name: &str,
    options: &SyncOptions,
) -> Result<(Enrolment, Zeroizing<Vec<u8>>), SyncError> {
    let base = transport::normalise_base(server)?;
    let pkcs8 = Zeroizing::new(
        signing::generate_device_key().map_err(|e| SyncError::Signing(e.to_string()))?,
    );
    // The device id is not known yet: only the public key is needed now.
    let unenrolled = RequestSigner::from_pkcs8(DeviceId::random(), &pkcs8)
        .map_err(|e| SyncError::Signing(e.to_string()))?;
    let body = wire::to_cbor(&EnrolRequest {
        code: code.to_owned(),
        public_key: unenrolled.public_key(),
        device_name: device_name.to_owned(),
    })
    .map_err(|e| SyncError::BadResponse(e.to_string()))?;
    let http = transport::http_client(options.request_timeout, options.reuse_connections)?;
    // Sent once: a code is used up with the device's creation, so retrying
    // after a lost answer could only fail.
    let resp = http
        .post(format!("{base}{}", wire::PATH_ENROL))
        .header(reqwest::header::CONTENT_TYPE, wire::CBOR_CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .map_err(|e| SyncError::Unreachable {
            attempts: 1,
            last_error: if e.is_connect() {
                "could not connect".to_owned()
            } else {
                "the connection failed".to_owned()
            },
        })?;
    let status = resp.status();
    let answer = resp.bytes().await.map_err(|_| SyncError::Unreachable {
        attempts: 1,
        last_error: "the connection dropped during the answer".to_owned(),
    })?;
    if !status.is_success() {
        return Err(transport::error_from(status, &answer));
    }
    let resp: EnrolResponse =
        wire::from_cbor(&answer).map_err(|e| SyncError::BadResponse(e.to_string()))?;
    Ok((
        Enrolment {
            server: base,
            device: resp.device,
            person: resp.person,
            directory: resp.directory,
        },
        pkcs8,
    ))
}

/// Enrol the device whose store is `store` with a one-time `code`: the key,
/// the server's address, the device id and the directory are saved in one
/// transaction, so a crash leaves the device either enrolled or not.
pub async fn enrol(
    store: &mut Store,
    server: &str,
    code: &str,
    device_name: &str,
    options: &SyncOptions,
) -> Result<Enrolment, SyncError> {
    let (enrolment, pkcs8) = request_enrolment(server, code, device_name, options).await?;
    let dir = directory_from_view(&enrolment.directory, enrolment.device, None)?;
    let dir_bytes = serde_json::to_vec(&dir).map_err(ServiceError::Directory)?;
    let device = enrolment.device.to_string();
    store.transaction(|t| {
        tx::put_meta(t, meta::SERVER, enrolment.server.as_bytes())?;
        tx::put_meta(t, meta::DEVICE, device.as_bytes())?;
        tx::put_meta(t, meta::DEVICE_KEY, &pkcs8)?;
        tx::put_meta(t, DIRECTORY_META, &dir_bytes)?;
        tx::put_meta(t, meta::DIRECTORY_AT, now_secs().to_string().as_bytes())?;
        Ok::<_, StoreError>(())
    })?;
    Ok(enrolment)
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix seconds of the last complete sync run, if any.
pub fn last_sync<L: LocalReplica>(local: &L) -> Result<Option<i64>, SyncError> {
    Ok(text_meta(local, meta::LAST_SYNC)?.and_then(|s| s.parse().ok()))
}

// ---------------------------------------------------------------- wipe

/// Lock the store and delete this device's data: the wrapped key first (the
/// database is unreadable without it), then the database and its journal
/// files, then the unlock-attempt file. For a revoked device, after its
/// unsynced work was offered. A platform keystore's copy of the key is the
/// app's to delete.
pub fn wipe_device(client: Client, offered: u64) -> Result<WipeReport, SyncError> {
    let dir = client.store().dir().to_path_buf();
    client.lock()?;
    wipe_dir(&dir, offered)
}

fn wipe_dir(dir: &Path, offered: u64) -> Result<WipeReport, SyncError> {
    let db = DATABASE_FILE_NAME;
    let names = [
        KEY_FILE_NAME.to_owned(),
        db.to_owned(),
        format!("{db}-wal"),
        format!("{db}-shm"),
        format!("{db}-journal"),
        THROTTLE_FILE_NAME.to_owned(),
    ];
    let mut removed = Vec::new();
    for name in names {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(SyncError::Wipe(e)),
        }
    }
    Ok(WipeReport {
        dir: dir.to_path_buf(),
        removed,
        offered,
    })
}

// ---------------------------------------------------------------- the engine

/// Syncs one enrolled device with its server. Holds no document and no
/// secret beyond the signing key; the replica is passed to each run.
pub struct SyncEngine {
    transport: Transport,
    device: DeviceId,
    options: SyncOptions,
    progress: watch::Sender<SyncProgress>,
}

impl fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncEngine")
            .field("server", &self.transport.base())
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// One document in a run.
struct Active {
    state: am_sync::State,
    /// Whether the device holds local changes the server has not acknowledged.
    unacknowledged: bool,
}

/// The documents of one run.
#[derive(Default)]
struct Run {
    /// Being exchanged.
    active: BTreeMap<DocKey, Active>,
    /// Refused, unavailable or gone in this run: not sent again in it.
    settled: BTreeSet<DocKey>,
    /// Every document exchanged in this run.
    seen: BTreeSet<DocKey>,
}

impl Run {
    /// Add `key` to the exchange, its state resumed from what was persisted.
    fn activate<L: LocalReplica>(
        &mut self,
        local: &L,
        key: DocKey,
        unacknowledged: bool,
    ) -> Result<(), SyncError> {
        let state = wire::resume_sync_state(local.sync_state(&key)?.as_deref());
        self.active.insert(
            key,
            Active {
                state,
                unacknowledged,
            },
        );
        self.seen.insert(key);
        Ok(())
    }
}

/// Hash bytes of `heads`, concatenated (how refused heads are remembered).
fn heads_bytes(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

impl SyncEngine {
    /// An engine for the device whose enrolment `local` holds.
    pub fn new<L: LocalReplica>(local: &L, options: SyncOptions) -> Result<SyncEngine, SyncError> {
        let creds = credentials(local)?;
        let signer = RequestSigner::from_pkcs8(creds.device, &creds.pkcs8)
            .map_err(|e| SyncError::Signing(e.to_string()))?;
        let transport = Transport::new(
            creds.server,
            signer,
            options.retry,
            options.request_timeout,
            options.reuse_connections,
            options.observer.clone(),
        )?;
        Ok(SyncEngine {
            transport,
            device: creds.device,
            options,
            progress: watch::Sender::new(SyncProgress::default()),
        })
    }

    /// The server this engine syncs with.
    pub fn server(&self) -> &str {
        self.transport.base()
    }

    /// Progress of the current (or last) run, for the app to show.
    pub fn progress(&self) -> watch::Receiver<SyncProgress> {
        self.progress.subscribe()
    }

    fn publish(&self, f: impl FnOnce(&mut SyncProgress)) {
        self.progress.send_modify(f);
    }

    /// One full sync run; see the module documentation. On revocation the
    /// unsynced work is offered first and `Revoked { offered }` returned:
    /// then call [`wipe_device`] (or use [`Self::sync_or_wipe`]).
    pub async fn sync<L: LocalReplica>(&self, local: &mut L) -> Result<SyncReport, SyncError> {
        let started = Instant::now();
        let mut report = SyncReport::default();
        self.publish(|p| {
            *p = SyncProgress {
                phase: SyncPhase::Checking,
                ..SyncProgress::default()
            }
        });
        let result = self.run(local, &mut report).await;
        report.elapsed = started.elapsed();
        match result {
            Ok(()) => Ok(report),
            Err(SyncError::Revoked { .. }) => {
                let offered = self.offer(local).await?;
                self.publish(|p| p.phase = SyncPhase::Revoked);
                Err(SyncError::Revoked {
                    offered: Some(offered),
                })
            }
            Err(e) => {
                let words = e.to_string();
                self.publish(|p| p.phase = SyncPhase::Failed(words));
                Err(e)
            }
        }
    }

    /// Sync until a run completes, waiting (exponential backoff with jitter,
    /// capped at `max_delay`) while the server is unreachable, at most
    /// `max_runs` runs. Other errors end it at once.
    pub async fn sync_when_reachable<L: LocalReplica>(
        &self,
        local: &mut L,
        max_runs: u32,
        backoff: RetryPolicy,
    ) -> Result<SyncReport, SyncError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.sync(local).await {
                Err(SyncError::Unreachable { .. }) if attempt < max_runs.max(1) => {
                    let retry_in = backoff.delay(attempt);
                    self.publish(|p| p.phase = SyncPhase::Offline { attempt, retry_in });
                    tokio::time::sleep(retry_in).await;
                }
                other => return other,
            }
        }
    }

    /// [`Self::sync`], and on revocation wipe the device after offering its
    /// unsynced work.
    pub async fn sync_or_wipe(&self, mut client: Client) -> Result<SyncOutcome, SyncError> {
        match self.sync(&mut client).await {
            Ok(report) => Ok(SyncOutcome::Synced { client, report }),
            Err(SyncError::Revoked {
                offered: Some(offered),
            }) => Ok(SyncOutcome::Wiped(wipe_device(client, offered)?)),
            Err(error) => Ok(SyncOutcome::Failed { client, error }),
        }
    }

    /// `POST /v1/offer` every change made here that the server never
    /// acknowledged. Returns how many the server kept.
    pub async fn offer<L: LocalReplica>(&self, local: &mut L) -> Result<u64, SyncError> {
        let mut docs = Vec::new();
        for key in local.docs_with_unacknowledged_changes()? {
            let changes: Vec<Vec<u8>> = local
                .unacknowledged_changes(&key)?
                .into_iter()
                .map(|c| c.bytes)
                .collect();
            if !changes.is_empty() {
                docs.push(OfferedDoc { key, changes });
            }
        }
        let mut received = 0;
        let mut traffic = Traffic::default();
        for chunk in docs.chunks(self.options.max_docs_per_request.max(1)) {
            let resp: OfferResponse = self
                .transport
                .post(
                    wire::PATH_OFFER,
                    &OfferRequest {
                        docs: chunk.to_vec(),
                    },
                    &mut traffic,
                )
                .await?;
            received += resp.received;
        }
        Ok(received)
    }

    /// Fetch the directory and store it on the device.
    pub async fn refresh_directory<L: LocalReplica>(
        &self,
        local: &mut L,
        traffic: &mut Traffic,
    ) -> Result<(), SyncError> {
        let view: DirectoryView = self.transport.get(wire::PATH_DIRECTORY, traffic).await?;
        local.update_directory(&view)?;
        local.put_meta(meta::DIRECTORY_AT, now_secs().to_string().as_bytes())?;
        Ok(())
    }

    async fn run<L: LocalReplica>(
        &self,
        local: &mut L,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        // 1. The question `/v1/changed` answers, asked with the first
        //    `/v1/sync` request when there is work to push (one round trip),
        //    or on its own when there is not.
        let question = ChangedRequest {
            cursor: text_meta(local, meta::CURSOR)?,
            dropped: local
                .meta(meta::DROPPED)?
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default(),
        };
        let mut answer: Option<ChangedResponse> = None;

        // 2. Documents with local changes the server has not acknowledged,
        //    except those refused before and unchanged since: sending them
        //    again would only be refused again (unless others changed them,
        //    which the answer says).
        let unacknowledged: BTreeSet<DocKey> = local
            .docs_with_unacknowledged_changes()?
            .into_iter()
            .collect();
        let mut run = Run::default();
        for key in &unacknowledged {
            if !self.still_refused(local, key)? {
                run.activate(local, *key, true)?;
            }
        }
        if !run.active.is_empty() {
            self.publish_active(&run);
        }

        // 3. Exchange messages until both sides are quiet and the question
        //    is answered.
        let empty = Automerge::new();
        let mut rounds = 0;
        loop {
            rounds += 1;
            if rounds > self.options.max_rounds {
                return Err(SyncError::DidNotSettle(self.options.max_rounds));
            }
            let mut batch: Vec<DocMessage> = Vec::new();
            let mut quiet = Vec::new();
            for (key, doc_state) in run.active.iter_mut() {
                let state = &mut doc_state.state;
                // A push's first message, from the outbox's bytes when it can
                // be (see `outbox`); otherwise Automerge builds it.
                let from_outbox = if doc_state.unacknowledged && !state.have_responded {
                    let kept = local.unacknowledged_changes(key)?;
                    local
                        .with_document(key, |doc| {
                            robust::contain("message from the outbox", || {
                                outbox::from_outbox(doc, state, &kept)
                            })
                        })?
                        .transpose()
                        .map_err(ServiceError::from)?
                        .flatten()
                } else {
                    None
                };
                let generated = match from_outbox {
                    Some(message) => Some(message),
                    None => {
                        let mut generate = |doc: &Automerge| {
                            robust::contain("generate sync message", || {
                                doc.generate_sync_message(state)
                            })
                        };
                        match local.with_document(key, &mut generate)? {
                            Some(generated) => generated,
                            None => generate(&empty),
                        }
                        .map_err(ServiceError::from)?
                    }
                };
                match generated {
                    Some(m) => batch.push(DocMessage {
                        key: *key,
                        message: m.encode(),
                    }),
                    None => quiet.push(*key),
                }
            }
            for key in quiet {
                run.active.remove(&key);
                self.publish(|p| {
                    p.docs_done += 1;
                    p.documents.insert(key, DocSyncState::Synced);
                });
            }
            if batch.is_empty() {
                if answer.is_some() {
                    break;
                }
                // Nothing to push (or a server that did not answer the
                // question with `/v1/sync`): ask on its own.
                let changed: ChangedResponse = self
                    .transport
                    .post(wire::PATH_CHANGED, &question, &mut report.traffic)
                    .await?;
                self.take_answer(local, &changed, &unacknowledged, &mut run, report)
                    .await?;
                answer = Some(changed);
                continue;
            }
            for chunk in self.batches(batch) {
                for m in &chunk {
                    self.publish(|p| {
                        p.documents.insert(m.key, DocSyncState::Exchanging);
                    });
                }
                let sent: Vec<DocKey> = chunk.iter().map(|m| m.key).collect();
                let request = SyncRequest {
                    docs: chunk,
                    changed: answer.is_none().then(|| question.clone()),
                };
                let resp: SyncResponse = self
                    .transport
                    .post(wire::PATH_SYNC, &request, &mut report.traffic)
                    .await?;
                report.sync_requests += 1;
                if resp.docs.len() != sent.len()
                    || resp.docs.iter().zip(&sent).any(|(r, k)| r.key != *k)
                {
                    return Err(SyncError::BadResponse(
                        "the replies do not match the documents sent".to_owned(),
                    ));
                }
                for reply in resp.docs {
                    self.apply_reply(local, &mut run, reply, report)?;
                }
                if let (None, Some(changed)) = (&answer, resp.changed) {
                    self.take_answer(local, &changed, &unacknowledged, &mut run, report)
                        .await?;
                    answer = Some(changed);
                }
                let traffic = report.traffic;
                self.publish(|p| {
                    p.bytes_sent = traffic.bytes_sent;
                    p.bytes_received = traffic.bytes_received;
                });
            }
        }
        report.documents = run.seen.len();

        // 4. The run is complete: only now move the cursor.
        // The loop only ends once the question is answered.
        let Some(answer) = answer else {
            return Err(SyncError::BadResponse(
                "the run ended without an answer to what changed".to_owned(),
            ));
        };
        local.put_meta(meta::CURSOR, answer.cursor.as_bytes())?;
        let at = now_secs();
        local.put_meta(meta::LAST_SYNC, at.to_string().as_bytes())?;
        let traffic = report.traffic;
        self.publish(|p| {
            p.phase = SyncPhase::Done { at };
            p.docs_done = p.docs_total;
            p.bytes_sent = traffic.bytes_sent;
            p.bytes_received = traffic.bytes_received;
        });
        Ok(())
    }

    /// Act on the `/v1/changed` answer (on its own or from `/v1/sync`):
    /// delete what may no longer be read (and acknowledge it next run),
    /// refresh the directory when documents came or went or it is old, and
    /// add the documents others changed and the new ones to the run.
    async fn take_answer<L: LocalReplica>(
        &self,
        local: &mut L,
        changed: &ChangedResponse,
        unacknowledged: &BTreeSet<DocKey>,
        run: &mut Run,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        report.changed = changed.changed.len();
        report.new = changed.new.len();
        for key in &changed.gone {
            local.forget_document(key)?;
            local.put_meta(&format!("{}{key}", meta::REFUSED_PREFIX), &[])?;
            if run.active.remove(key).is_some() {
                self.publish(|p| {
                    p.docs_done += 1;
                    p.documents.insert(*key, DocSyncState::Unavailable);
                });
            }
            run.settled.insert(*key);
        }
        let dropped_json = serde_json::to_vec(&changed.gone).map_err(ServiceError::Directory)?;
        local.put_meta(meta::DROPPED, &dropped_json)?;
        report.gone = changed.gone.clone();

        let directory_at: i64 = text_meta(local, meta::DIRECTORY_AT)?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let max_age = i64::try_from(self.options.directory_max_age.as_secs()).unwrap_or(i64::MAX);
        if !changed.new.is_empty()
            || !changed.gone.is_empty()
            || now_secs().saturating_sub(directory_at) >= max_age
        {
            self.refresh_directory(local, &mut report.traffic).await?;
            report.directory_refreshed = true;
        }

        for key in changed.changed.iter().chain(&changed.new) {
            // Already in the run (its exchange goes on), or refused or
            // unavailable in this run (not sent again in it).
            if run.active.contains_key(key) || run.settled.contains(key) {
                continue;
            }
            // Synced quietly earlier in this run and changed by others:
            // exchanged again from its persisted state.
            run.activate(local, *key, unacknowledged.contains(key))?;
        }
        self.publish_active(run);
        Ok(())
    }

    /// Show the documents of the run on the progress channel.
    fn publish_active(&self, run: &Run) {
        let total = run.seen.len();
        self.publish(|p| {
            p.phase = SyncPhase::Exchanging;
            p.docs_total = total;
            for key in run.active.keys() {
                p.documents.entry(*key).or_insert(DocSyncState::Waiting);
            }
        });
    }

    /// Split messages into requests within the document and byte limits.
    fn batches(&self, messages: Vec<DocMessage>) -> Vec<Vec<DocMessage>> {
        let max_docs = self
            .options
            .max_docs_per_request
            .clamp(1, wire::MAX_DOCS_PER_REQUEST);
        let mut out: Vec<Vec<DocMessage>> = Vec::new();
        let mut current = Vec::new();
        let mut bytes = 0;
        for m in messages {
            if !current.is_empty()
                && (current.len() >= max_docs
                    || bytes + m.message.len() > self.options.max_batch_bytes)
            {
                out.push(std::mem::take(&mut current));
                bytes = 0;
            }
            bytes += m.message.len();
            current.push(m);
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }

    /// Whether `key` was refused before and has not changed locally since.
    fn still_refused<L: LocalReplica>(
        &self,
        local: &mut L,
        key: &DocKey,
    ) -> Result<bool, SyncError> {
        let Some(refused) = local.meta(&format!("{}{key}", meta::REFUSED_PREFIX))? else {
            return Ok(false);
        };
        if refused.is_empty() {
            return Ok(false);
        }
        let heads = local.with_document(key, |d| heads_bytes(&d.get_heads()))?;
        Ok(heads.as_deref() == Some(refused.as_slice()))
    }

    fn apply_reply<L: LocalReplica>(
        &self,
        local: &mut L,
        run: &mut Run,
        reply: DocReply,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let key = reply.key;
        let Some(doc_state) = run.active.get_mut(&key) else {
            return Ok(());
        };
        if let Some(bytes) = &reply.message {
            let message =
                robust::contain("decode sync message", || am_sync::Message::decode(bytes))
                    .map_err(ServiceError::from)?
                    .map_err(|e| SyncError::BadResponse(format!("sync message for {key}: {e}")))?;
            // Receive on a copy: if Automerge fails (or panics) half way,
            // neither the stored document nor the state has moved. A
            // message without changes (the usual reply to a push) only
            // reads the document, so it needs no copy.
            let state_before = doc_state.state.clone();
            let (received, added) = local.merge_remote(key, move |doc| {
                let outcome = if message.changes.is_empty() {
                    robust::contain("receive sync message", move || {
                        let mut state = state_before;
                        doc.receive_sync_message(&mut state, message)
                            .map(|()| state)
                    })
                } else {
                    let mut copy = doc.clone();
                    robust::contain("receive sync message", move || {
                        let mut state = state_before;
                        copy.receive_sync_message(&mut state, message)
                            .map(|()| (copy, state))
                    })
                    .map(|received| {
                        received.map(|(copy, state)| {
                            *doc = copy;
                            state
                        })
                    })
                };
                match outcome {
                    Ok(Ok(state)) => Ok(state),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            })?;
            doc_state.state = received.map_err(|e| {
                SyncError::BadResponse(format!("sync message for {key} could not be applied: {e}"))
            })?;
            report.received += added;
            // The document is persisted: now its state may be.
            local.put_sync_state(&key, &doc_state.state.encode())?;
            if doc_state.unacknowledged {
                let (acknowledged, remaining) =
                    self.acknowledge(local, &key, &doc_state.state.shared_heads)?;
                report.acknowledged += acknowledged;
                doc_state.unacknowledged = remaining > 0;
            }
        }
        let refused_state = match reply.status {
            DocStatus::Ok => None,
            DocStatus::Rejected | DocStatus::Denied => {
                let refusal = refusal_of(&reply);
                let hash = hex::decode(&refusal.change).ok();
                local.record_rejection(&NewRejection {
                    doc_key: &key.to_string(),
                    change_hash: hash.as_deref().filter(|h| !h.is_empty()),
                    rule: &refusal.rule,
                    path: &refusal.path,
                    message: &refusal.explanation,
                })?;
                let heads = local.with_document(&key, |d| heads_bytes(&d.get_heads()))?;
                if let Some(heads) = heads {
                    local.put_meta(&format!("{}{key}", meta::REFUSED_PREFIX), &heads)?;
                }
                let rule = refusal.rule.clone();
                report.refused.push(refusal);
                Some(DocSyncState::Refused { rule })
            }
            DocStatus::Unavailable => {
                // Not (or no longer) readable. Work made here is never
                // dropped: a document with unsynced changes stays until the
                // server says `gone` and the person has seen the refusal.
                if local.unacknowledged_changes(&key)?.is_empty() {
                    local.forget_document(&key)?;
                }
                Some(DocSyncState::Unavailable)
            }
            DocStatus::Malformed => Some(DocSyncState::Malformed),
        };
        if let Some(state) = refused_state {
            // Do not send this document again in this run.
            run.active.remove(&key);
            run.settled.insert(key);
            self.publish(|p| {
                p.docs_done += 1;
                p.documents.insert(key, state);
            });
        }
        Ok(())
    }

    /// Mark the local changes of `key` the server holds (every change not
    /// after the shared heads) as acknowledged. Returns (marked, still unacknowledged).
    fn acknowledge<L: LocalReplica>(
        &self,
        local: &mut L,
        key: &DocKey,
        shared_heads: &[ChangeHash],
    ) -> Result<(usize, usize), SyncError> {
        if shared_heads.is_empty() {
            let n = local.unacknowledged_changes(key)?.len();
            return Ok((0, n));
        }
        let lacks = local.with_document(key, |doc| {
            robust::contain("changes after heads", || {
                doc.get_changes_meta(shared_heads)
                    .into_iter()
                    .map(|m| m.hash)
                    .collect::<BTreeSet<ChangeHash>>()
            })
        })?;
        let Some(lacks) = lacks else {
            return Ok((0, 0));
        };
        let server_lacks = lacks.map_err(ServiceError::from)?;
        let pending = local.unacknowledged_changes(key)?;
        let held: Vec<&[u8]> = pending
            .iter()
            .filter(|c| {
                ChangeHash::try_from(c.hash.as_slice())
                    .map(|h| !server_lacks.contains(&h))
                    .unwrap_or(false)
            })
            .map(|c| c.hash.as_slice())
            .collect();
        let remaining = pending.len() - held.len();
        let marked = if held.is_empty() {
            0
        } else {
            local.mark_acknowledged(key, &held)?
        };
        Ok((marked, remaining))
    }
}

fn refusal_of(reply: &DocReply) -> Refusal {
    match (&reply.rejection, reply.status) {
        (Some(r), _) => Refusal {
            key: reply.key,
            status: reply.status,
            rule: r.rule.clone(),
            path: r.path.clone(),
            change: r.change.clone(),
            explanation: reply.detail.clone().unwrap_or_default(),
        },
        (None, DocStatus::Denied) => {
            let rule = reply.detail.clone().unwrap_or_else(|| "denied".to_owned());
            Refusal {
                key: reply.key,
                status: reply.status,
                explanation: format!("You may read this document but not change it ({rule})."),
                rule,
                path: String::new(),
                change: String::new(),
            }
        }
        (None, status) => Refusal {
            key: reply.key,
            status,
            rule: "refused".to_owned(),
            path: String::new(),
            change: String::new(),
            explanation: reply.detail.clone().unwrap_or_default(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show_the_key() {
        let creds = Credentials {
            server: "https://bothy.example".into(),
            device: DeviceId::random(),
            pkcs8: Zeroizing::new(vec![0xAB; 83]),
        };
        let shown = format!("{creds:?}");
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab, ab"));
        assert!(shown.contains("bothy.example"));
    }

    #[test]
    fn wiping_removes_the_key_and_database_files_only() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            KEY_FILE_NAME,
            DATABASE_FILE_NAME,
            "bothy.db-wal",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let report = wipe_dir(dir.path(), 3).unwrap();
        assert_eq!(report.removed.len(), 3);
        assert!(!dir.path().join(KEY_FILE_NAME).exists());
        assert!(!dir.path().join(DATABASE_FILE_NAME).exists());
        assert!(dir.path().join("notes.txt").exists());
    }
}
