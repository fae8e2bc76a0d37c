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
//! - Refusals (`rejected`, `denied`) never block: the refused change is set
//!   aside (kept in the store with its bytes, rule, explanation and words),
//!   the document is rebuilt from what the server holds and the later
//!   honest edits are remade on top and sent in the same run
//!   ([`set_aside`]); the refused work stays on the device, never dropped.
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
mod engine;
mod enrol;
mod local;
mod outbox;
mod report;
pub mod set_aside;
mod status;
mod transport;
mod wipe;

use std::fmt;
use std::time::Duration;

use automerge::AutomergeError;
use automerge::sync::ReadMessageError;
use bothy_shared::docs::DocKey;
use bothy_shared::robust::MalformedError;
use bothy_shared::signing::{SigningError, VerifyError};
use bothy_shared::wire::{self, CborError, ErrorCode};

/// What [`LocalReplica::record_rejection`] keeps.
pub use crate::store::tx::NewRejection;
pub use directory::directory_from_view;
pub use engine::SyncEngine;
pub use enrol::{enrol, enrolled_server, last_sync, request_enrolment};
pub use local::{LocalReplica, SERVER_PEER};
pub use report::{
    Arrival, DocSyncState, Enrolment, Refusal, SyncOutcome, SyncPhase, SyncProgress, SyncReport,
    TeamOutcome, WipeReport,
};
pub use set_aside::{RefusedChanges, SetAsideOutcome};
pub use status::{RefusalView, SyncStatus};
pub use transport::{HttpExchange, Observer, RetryPolicy, Traffic, TryFailure};
pub use wipe::wipe_device;
pub(crate) use wipe::wipe_dir;

use crate::error::ServiceError;
use crate::store::StoreError;

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
///
/// Where a cause exists it is kept as the error's `source`, and the message
/// leaves it out: the `bothy` command prints the whole chain (`a: b: c`),
/// the app [`SyncError::in_words`], both in the same words as ever.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server could not be reached (every try failed in transit or with
    /// a retryable status). Nothing is lost; sync again later. The last
    /// try's failure is in the message (in a few words, never the address);
    /// its transport error is that failure's `source`.
    #[error("the server could not be reached ({attempts} tries; last: {last_error})")]
    Unreachable {
        attempts: u32,
        last_error: TryFailure,
    },
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
    /// The server's answer could not be read (or a request not written).
    /// Boxed: it is rare, and large.
    #[error("the server's answer could not be read")]
    BadResponse(#[source] Box<BadResponse>),
    #[error("`{0}` is not an http:// or https:// address")]
    BadServerUrl(String),
    #[error("this device is not enrolled with a server")]
    NotEnrolled,
    /// The device key could not be used (or generated).
    #[error("the device key")]
    Signing(#[source] SigningError),
    /// The signature headers could not be written.
    #[error("the device key")]
    SignatureHeader(#[source] VerifyError),
    /// The HTTP client could not be built (its TLS set-up failed).
    #[error("setting up HTTP")]
    Http(#[source] reqwest::Error),
    /// A document kept exchanging messages past the limit on rounds.
    #[error("sync did not settle after {0} rounds")]
    DidNotSettle(usize),
    #[error(transparent)]
    Local(#[from] ServiceError),
    #[error("wiping the local data: {0}")]
    Wipe(#[source] std::io::Error),
}

impl SyncError {
    /// [`SyncError::BadResponse`], for what was wrong.
    pub(crate) fn bad(what: impl Into<BadResponse>) -> SyncError {
        SyncError::BadResponse(Box::new(what.into()))
    }

    /// The message and its causes in one line (`a: b: c`), as the app shows
    /// it. A cause whose words the message already ends with is not repeated.
    pub fn in_words(&self) -> String {
        let mut words = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(e) = cause {
            let more = e.to_string();
            if !words.ends_with(&more) {
                words.push_str(": ");
                words.push_str(&more);
            }
            cause = e.source();
        }
        words
    }
}

/// What was wrong with a server's answer.
#[derive(Debug, thiserror::Error)]
pub enum BadResponse {
    /// Not the CBOR the protocol says (or a request that could not be written).
    #[error(transparent)]
    Cbor(#[from] CborError),
    /// A refusal without the JSON error body every refusal carries.
    #[error("status {0} without an error body")]
    NoErrorBody(reqwest::StatusCode),
    #[error("the replies do not match the documents sent")]
    RepliesDoNotMatch,
    #[error("the run ended without an answer to what changed")]
    NoAnswer,
    /// A document's sync message could not be decoded.
    #[error("sync message for {key}")]
    Message {
        key: DocKey,
        #[source]
        source: ReadMessageError,
    },
    /// A document's sync message could not be applied to it.
    #[error("sync message for {key} could not be applied")]
    NotApplied {
        key: DocKey,
        #[source]
        source: NotApplied,
    },
}

/// Why Automerge could not apply a sync message.
#[derive(Debug, thiserror::Error)]
pub enum NotApplied {
    #[error(transparent)]
    Automerge(#[from] AutomergeError),
    /// Automerge failed on the message (a panic, contained).
    #[error(transparent)]
    Contained(#[from] MalformedError),
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
    /// Documents new to the device are asked for a few at a time, as many
    /// as make a response of about this many bytes (by what documents of
    /// the same kind weighed so far), so that each reply is stored before the
    /// next is asked for and a cut loses one response at most.
    pub arrival_bytes: usize,
    /// The most message rounds in one run before giving up (rounds that
    /// ask for new documents do not count: each one makes progress).
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
            .field("arrival_bytes", &self.arrival_bytes)
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
            arrival_bytes: 256 * 1024,
            max_rounds: 64,
            reuse_connections: true,
            observer: None,
        }
    }
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
